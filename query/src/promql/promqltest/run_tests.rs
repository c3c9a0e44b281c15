use std::collections::BTreeMap;

use super::*;
use crate::promql::eval::Storage;

/// A tiny engine for the runner's own tests: number literals and plain selectors with a 5m
/// left-open lookback; a selector named `panic_now` panics, `warn_me` adds a warning, anything
/// else is an error. `broken_range` makes range queries return nothing.
struct FakeEngine {
    broken_range: bool,
}

impl FakeEngine {
    fn at(&self, storage: &MemoryStorage, expr: &Expr, t: i64) -> Result<QueryResult, Error> {
        let (value, warnings) = match expr {
            Expr::NumberLiteral(v) => (Value::Scalar { t, v: *v }, vec![]),
            Expr::VectorSelector(vs) => {
                if vs.name.as_deref() == Some("panic_now") {
                    panic!("fake engine panic");
                }
                let mut out = Vec::new();
                for s in storage.select(t - 300_000 + 1, t, &vs.matchers)? {
                    if let Some(p) = s.samples.last().filter(|p| !tsdb::is_stale_nan(p.v)) {
                        out.push(InstantSample {
                            labels: s.labels.clone(),
                            t,
                            v: p.v,
                        });
                    }
                }
                let w = if vs.name.as_deref() == Some("warn_me") {
                    vec!["PromQL warning: careful".into()]
                } else {
                    vec![]
                };
                (Value::Vector(out), w)
            }
            _ => {
                return Err(Error::Execution(
                    format!("unsupported: {expr:?}").chars().take(40).collect(),
                ));
            }
        };
        Ok(QueryResult {
            value,
            warnings,
            infos: vec![],
        })
    }
}

impl QueryEngine for FakeEngine {
    fn eval_instant(&self, storage: &MemoryStorage, expr: &Expr, t_ms: i64) -> Result<QueryResult, Error> {
        self.at(storage, expr, t_ms)
    }

    fn eval_range(
        &self,
        storage: &MemoryStorage,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, Error> {
        let mut by_labels: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
        let mut t = start;
        while t <= end && !self.broken_range {
            match self.at(storage, expr, t)?.value {
                Value::Scalar { v, .. } => by_labels.entry(Labels::empty()).or_default().push(Sample::new(t, v)),
                Value::Vector(v) => {
                    for s in v {
                        by_labels.entry(s.labels).or_default().push(Sample::new(t, s.v));
                    }
                }
                _ => return Err(Error::Execution("bad range".into())),
            }
            t += step;
        }
        let m = by_labels
            .into_iter()
            .map(|(labels, samples)| Series { labels, samples })
            .collect();
        Ok(QueryResult {
            value: Value::Matrix(m),
            warnings: vec![],
            infos: vec![],
        })
    }
}

fn run(text: &str) -> Vec<(usize, Outcome)> {
    run_with(text, false, RunOptions::default())
}

fn run_with(text: &str, broken_range: bool, opts: RunOptions) -> Vec<(usize, Outcome)> {
    let script = parse_script(text).unwrap();
    run_script(&script, &FakeEngine { broken_range }, &opts)
        .into_iter()
        .map(|c| (c.line, c.outcome))
        .collect()
}

const SCRIPT: &str = r#"
load 1m
  m{a="1"} 1 2 3 stale
  m{a="2"} 10+10x2
  h {{schema:0 sum:1 count:1}}x3

eval instant at 2m m
  m{a="1"} 3
  m{a="2"} 30

eval instant at 2m m
  m{a="1"} 3

eval instant at 3m m
  m{a="2"} 30

eval instant at 1m h

eval instant at 1m sum(m)
  expect fail regex: unsupported

eval instant at 1m m
  expect fail

eval range from 0 to 2m step 1m m{a="1"}
  m{a="1"} 1 2 3

eval instant at 0 7
  7

eval instant at 0 m +
"#;

#[test]
fn outcomes_per_case() {
    let got = run(SCRIPT);
    let lines: Vec<usize> = got.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, vec![7, 11, 14, 17, 19, 22, 25, 28, 31]);
    assert_eq!(got[0].1, Outcome::Passed);
    assert!(
        matches!(&got[1].1, Outcome::Failed(m) if m.contains("unexpected metric")),
        "{:?}",
        got[1]
    );
    // The stale marker at 3m hides m{a="1"}.
    assert_eq!(got[2].1, Outcome::Passed);
    assert_eq!(got[3].1, Outcome::Skipped(SkipReason::NativeHistograms));
    assert_eq!(got[4].1, Outcome::Passed);
    assert!(
        matches!(&got[5].1, Outcome::Failed(m) if m.contains("expected an error")),
        "{:?}",
        got[5]
    );
    assert_eq!(got[6].1, Outcome::Passed);
    assert_eq!(got[7].1, Outcome::Passed);
    assert!(
        matches!(&got[8].1, Outcome::Failed(m) if m.contains("does not parse")),
        "{:?}",
        got[8]
    );
}

#[test]
fn range_mode_is_checked_for_instant_evals() {
    let text = "load 1m\n  m 1 2 3\n\neval instant at 2m m\n  m 3\n\neval instant at 2m m\n  expect ordered\n  m 3\n";
    let got = run_with(text, true, RunOptions::default());
    assert!(
        matches!(&got[0].1, Outcome::Failed(m) if m.starts_with("in range mode")),
        "{got:?}"
    );
    assert_eq!(
        got[1].1,
        Outcome::Passed,
        "ordered evals skip the range-mode comparison"
    );
    let relaxed = RunOptions {
        check_range_mode: false,
        ..RunOptions::default()
    };
    assert_eq!(run_with(text, true, relaxed)[0].1, Outcome::Passed);
}

#[test]
fn clear_and_additive_loads() {
    let text = "load 1m\n  m 1\n\nload 1m\n  n 5\n\neval instant at 0 m\n  m 1\n\neval instant at 0 n\n  n 5\n\nclear\n\neval instant at 0 m\n";
    let got = run(text);
    assert!(got.iter().all(|(_, o)| *o == Outcome::Passed), "{got:?}");
}

#[test]
fn later_loads_overwrite_same_timestamps() {
    let text = "load 1m\n  m 1 2\n\nload 1m\n  m _ 7\n\neval instant at 1m m\n  m 7\n";
    assert_eq!(run(text)[0].1, Outcome::Passed);
}

#[test]
fn annotations_and_panics() {
    let text = "load 1m\n  warn_me 1\n  panic_now 1\n\n\
                eval instant at 0 warn_me\n  expect warn msg: PromQL warning: careful\n  warn_me 1\n\n\
                eval instant at 0 warn_me\n  expect no_warn\n  warn_me 1\n\n\
                eval instant at 0 panic_now\n";
    let got = run(text);
    assert_eq!(got[0].1, Outcome::Passed);
    assert!(
        matches!(&got[1].1, Outcome::Failed(m) if m.contains("unexpected warnings")),
        "{got:?}"
    );
    assert!(
        matches!(&got[2].1, Outcome::Failed(m) if m.contains("engine panicked: fake engine panic")),
        "{got:?}"
    );
}

#[test]
fn nhcb_and_start_timestamps_are_skipped() {
    let text = "load_with_nhcb 1m\n  x_bucket{le=\"1\"} 1\n  x_count 1\n\n\
                eval instant at 0 x\n\n\
                eval instant at 0 x_count\n  x_count 1\n\n\
                clear\nload 1m\n  c@st -30s\n  c 1\n\n\
                eval instant at 0 c\n";
    let got = run(text);
    assert_eq!(got[0].1, Outcome::Skipped(SkipReason::NativeHistograms));
    assert_eq!(got[1].1, Outcome::Passed);
    assert_eq!(got[2].1, Outcome::Skipped(SkipReason::StartTimestamps));
}

#[test]
fn files_and_script_errors() {
    let dir = std::env::temp_dir().join(format!("loupe-promqltest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.test");
    std::fs::write(&good, "load 1m\n  m 1\n\neval instant at 0 m\n  m 1\n").unwrap();
    let bad = dir.join("bad.test");
    std::fs::write(&bad, "load 1m\n  m 1\n\nnonsense here\n").unwrap();
    let engine = FakeEngine { broken_range: false };
    let r = run_file(&good, &engine, &RunOptions::default());
    assert_eq!((r.name.as_str(), r.passed(), r.failed()), ("good.test", 1, 0));
    let r = run_file(&bad, &engine, &RunOptions::default());
    assert_eq!((r.name.as_str(), r.cases.len(), r.failed()), ("bad.test", 1, 1));
    assert_eq!(r.cases[0].line, 4);
    let r = run_file(&dir.join("missing.test"), &engine, &RunOptions::default());
    assert_eq!(r.failed(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
