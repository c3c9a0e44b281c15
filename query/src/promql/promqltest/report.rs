//! Per-file pass counts and the expected-failures list.
//!
//! A case is named `file.test:LINE` (file name without directory, line of its `eval`). The
//! expected-failures file lists known failures, one per line: `file.test:LINE  reason`; `#` lines
//! and blank lines are ignored. [`judge`] compares a run with the list: an unlisted failure, or a
//! listed case (of a file that ran) that passed, was skipped or no longer exists, is an error, so
//! the list can only shrink. [`bless`] rebuilds the list from a run, keeping known reasons.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::classify::SkipReason;
use super::run::{CaseResult, Outcome};

/// The reason written for a newly listed failure.
pub const DEFAULT_REASON: &str = "not yet investigated";

/// The results of one script file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    /// The file name (no directory).
    pub name: String,
    /// One entry per case, in file order.
    pub cases: Vec<CaseResult>,
}

impl FileReport {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.outcome == Outcome::Passed).count()
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
            .count()
    }

    /// Cases skipped for `reason`.
    pub fn skipped_by(&self, reason: SkipReason) -> usize {
        self.cases
            .iter()
            .filter(|c| c.outcome == Outcome::Skipped(reason))
            .count()
    }

    /// Cases skipped for any reason.
    pub fn skipped(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Skipped(_)))
            .count()
    }

    /// The id of the case at `line`: `file.test:LINE`.
    pub fn case_id(&self, line: usize) -> String {
        format!("{}:{line}", self.name)
    }

    /// `name  passed/run passed, F failed (S skipped: N native histograms, ...)`, where `run`
    /// excludes skipped cases.
    pub fn summary_line(&self) -> String {
        summary(&self.name, std::slice::from_ref(self))
    }
}

fn summary(label: &str, reports: &[FileReport]) -> String {
    let passed: usize = reports.iter().map(FileReport::passed).sum();
    let failed: usize = reports.iter().map(FileReport::failed).sum();
    let skipped: usize = reports.iter().map(FileReport::skipped).sum();
    let mut line = format!(
        "{label:<32} {passed:>5}/{:<5} passed, {failed:>4} failed",
        passed + failed
    );
    if skipped > 0 {
        let parts: Vec<String> = SkipReason::ALL
            .iter()
            .filter_map(|&r| {
                let n: usize = reports.iter().map(|f| f.skipped_by(r)).sum();
                (n > 0).then(|| format!("{n} {}", r.as_str()))
            })
            .collect();
        let _ = write!(line, " ({skipped} skipped: {})", parts.join(", "));
    }
    line
}

/// The summary line over all files.
pub fn totals_line(reports: &[FileReport]) -> String {
    summary("TOTAL", reports)
}

/// The expected-failures list: case id (file, line) to reason.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpectedFailures {
    /// Entries keyed by (file name, line).
    pub entries: BTreeMap<(String, usize), String>,
}

/// Splits `file.test:LINE` into its parts.
fn parse_id(id: &str) -> Option<(String, usize)> {
    let (file, line) = id.rsplit_once(':')?;
    Some((file.to_string(), line.parse().ok()?))
}

impl ExpectedFailures {
    /// Parses the list; lines that do not start with `file:LINE` are errors (1-based line).
    pub fn parse(text: &str) -> Result<ExpectedFailures, String> {
        let mut entries = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (id, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            let key = parse_id(id).ok_or_else(|| format!("expected failures line {}: bad case id {id:?}", i + 1))?;
            let reason = reason.trim();
            entries.insert(key, if reason.is_empty() { DEFAULT_REASON } else { reason }.to_string());
        }
        Ok(ExpectedFailures { entries })
    }

    /// Renders the list in the file format, sorted by file then line.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# PromQL conformance cases known to fail: `file.test:LINE  reason`.\n\
             # Regenerate with LOUPE_PROMQL_BLESS=1 cargo test -p query --test promql_conformance\n",
        );
        for ((file, line), reason) in &self.entries {
            let _ = writeln!(out, "{:<40} {reason}", format!("{file}:{line}"));
        }
        out
    }

    /// True when the case is listed.
    pub fn contains(&self, file: &str, line: usize) -> bool {
        self.entries.contains_key(&(file.to_string(), line))
    }
}

/// How a run compares with the expected-failures list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdict {
    /// Failures not in the list: (case id, expression, why).
    pub unexpected_failures: Vec<(String, String, String)>,
    /// Listed cases that passed: (case id, expression).
    pub unexpected_passes: Vec<(String, String)>,
    /// Listed cases of a file that ran that were skipped or do not exist: (case id, what).
    pub stale: Vec<(String, String)>,
    /// Listed cases that failed as expected.
    pub expected_failures: usize,
}

impl Verdict {
    /// True when the run matches the list exactly.
    pub fn ok(&self) -> bool {
        self.unexpected_failures.is_empty() && self.unexpected_passes.is_empty() && self.stale.is_empty()
    }
}

/// Compares a run with the expected-failures list. Entries for files that did not run are ignored.
pub fn judge(reports: &[FileReport], expected: &ExpectedFailures) -> Verdict {
    let mut v = Verdict::default();
    for r in reports {
        for c in &r.cases {
            let listed = expected.contains(&r.name, c.line);
            match (&c.outcome, listed) {
                (Outcome::Failed(why), false) => {
                    v.unexpected_failures
                        .push((r.case_id(c.line), c.expr.clone(), why.clone()))
                }
                (Outcome::Failed(_), true) => v.expected_failures += 1,
                (Outcome::Passed, true) => v.unexpected_passes.push((r.case_id(c.line), c.expr.clone())),
                (Outcome::Skipped(reason), true) => v
                    .stale
                    .push((r.case_id(c.line), format!("now skipped ({})", reason.as_str()))),
                (_, false) => {}
            }
        }
        for (file, line) in expected.entries.keys() {
            if *file == r.name && !r.cases.iter().any(|c| c.line == *line) {
                v.stale.push((r.case_id(*line), "no such case".into()));
            }
        }
    }
    v
}

/// The list a run implies: its failures, with reasons from `previous` where known; entries of
/// files that did not run are kept.
pub fn bless(reports: &[FileReport], previous: &ExpectedFailures) -> ExpectedFailures {
    let mut entries: BTreeMap<(String, usize), String> = previous
        .entries
        .iter()
        .filter(|((file, _), _)| !reports.iter().any(|r| &r.name == file))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for r in reports {
        for c in &r.cases {
            if matches!(c.outcome, Outcome::Failed(_)) {
                let key = (r.name.clone(), c.line);
                let reason = previous
                    .entries
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| DEFAULT_REASON.to_string());
                entries.insert(key, reason);
            }
        }
    }
    ExpectedFailures { entries }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn case(line: usize, outcome: Outcome) -> CaseResult {
        CaseResult {
            line,
            expr: format!("q{line}"),
            outcome,
        }
    }

    fn report() -> FileReport {
        FileReport {
            name: "a.test".into(),
            cases: vec![
                case(3, Outcome::Passed),
                case(7, Outcome::Failed("boom".into())),
                case(9, Outcome::Skipped(SkipReason::NativeHistograms)),
                case(12, Outcome::Failed("bang".into())),
                case(20, Outcome::Passed),
            ],
        }
    }

    #[test]
    fn counts_and_summary() {
        let r = report();
        assert_eq!((r.passed(), r.failed(), r.skipped()), (2, 2, 1));
        assert_eq!(r.skipped_by(SkipReason::NativeHistograms), 1);
        assert_eq!(r.case_id(7), "a.test:7");
        let line = r.summary_line();
        assert!(line.starts_with("a.test"), "{line}");
        assert!(
            line.contains("2/4     passed,    2 failed (1 skipped: 1 native histograms)"),
            "{line}"
        );
        assert!(totals_line(&[r.clone(), r]).contains("4/8"));
    }

    #[test]
    fn parse_and_render_round_trip() {
        let text = "# header\n\nb.test:100  wrong sign\na.test:7\ta.test reason\n a.test:20 \n";
        let e = ExpectedFailures::parse(text).unwrap();
        assert_eq!(e.entries.len(), 3);
        assert_eq!(e.entries[&("a.test".to_string(), 7)], "a.test reason");
        assert_eq!(e.entries[&("a.test".to_string(), 20)], DEFAULT_REASON);
        let rendered = e.render();
        let order: Vec<&str> = rendered.lines().filter(|l| !l.starts_with('#')).collect();
        assert!(
            order[0].starts_with("a.test:7 ") && order[2].starts_with("b.test:100 "),
            "{order:?}"
        );
        assert_eq!(ExpectedFailures::parse(&rendered).unwrap(), e);
        assert!(ExpectedFailures::parse("a.test  x").is_err());
        assert!(ExpectedFailures::parse("a.test:x  y").is_err());
    }

    #[test]
    fn judge_finds_every_mismatch() {
        let e = ExpectedFailures::parse(
            "a.test:7 known\na.test:20 fixed?\na.test:9 h\na.test:99 gone\nz.test:1 other file\n",
        )
        .unwrap();
        let v = judge(&[report()], &e);
        assert!(!v.ok());
        assert_eq!(v.expected_failures, 1);
        assert_eq!(
            v.unexpected_failures,
            vec![("a.test:12".to_string(), "q12".to_string(), "bang".to_string())]
        );
        assert_eq!(v.unexpected_passes, vec![("a.test:20".to_string(), "q20".to_string())]);
        let stale: Vec<&str> = v.stale.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(stale, vec!["a.test:9", "a.test:99"]);
        let exact = ExpectedFailures::parse("a.test:7 x\na.test:12 y\n").unwrap();
        assert!(judge(&[report()], &exact).ok());
    }

    #[test]
    fn bless_keeps_reasons_and_other_files() {
        let prev = ExpectedFailures::parse("a.test:7 known\na.test:3 was failing\nz.test:1 other file\n").unwrap();
        let b = bless(&[report()], &prev);
        let got: Vec<(String, usize, String)> =
            b.entries.iter().map(|((f, l), r)| (f.clone(), *l, r.clone())).collect();
        assert_eq!(
            got,
            vec![
                ("a.test".to_string(), 7, "known".to_string()),
                ("a.test".to_string(), 12, DEFAULT_REASON.to_string()),
                ("z.test".to_string(), 1, "other file".to_string()),
            ]
        );
        assert!(judge(&[report()], &b).ok());
    }
}
