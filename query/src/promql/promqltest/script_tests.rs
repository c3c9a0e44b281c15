use super::*;

fn parse(text: &str) -> Vec<Command> {
    parse_script(text).unwrap().commands
}

fn only_eval(text: &str) -> Eval {
    match parse(text).pop() {
        Some(Command::Eval(e)) => e,
        other => panic!("not an eval: {other:?}"),
    }
}

#[test]
fn load_clear_and_eval() {
    let cmds = parse(
        "# comment\nload 5m\n  http_requests{job=\"api\"} 0+10x2\n  # inner comment ends the block\n\nclear\n\
         eval instant at 10m http_requests\n  {job=\"api\"} 20\n",
    );
    assert_eq!(cmds.len(), 3);
    let Command::Load(load) = &cmds[0] else {
        panic!("{cmds:?}")
    };
    assert_eq!((load.line, load.step_ms, load.with_nhcb), (2, 300_000, false));
    assert_eq!(load.series.len(), 1);
    assert_eq!(
        load.series[0].values,
        vec![SeqValue::Float(0.0), SeqValue::Float(10.0), SeqValue::Float(20.0)]
    );
    assert_eq!(cmds[1], Command::Clear);
    let Command::Eval(e) = &cmds[2] else { panic!("{cmds:?}") };
    assert_eq!(e.line, 7);
    assert_eq!(e.expr, "http_requests");
    assert_eq!(e.time, EvalTime::Instant(600_000));
    assert_eq!(e.series.len(), 1);
    assert_eq!(e.series[0].labels.get("job"), Some("api"));
    assert_eq!(e.series[0].pos, 1);
}

#[test]
fn clear_needs_no_blank_line_and_load_with_nhcb() {
    let cmds = parse("clear\nload_with_nhcb 1m\n  m_bucket{le=\"1\"} 1\n  m_count 1\n");
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    let Command::Load(load) = &cmds[1] else {
        panic!("{cmds:?}")
    };
    assert!(load.with_nhcb);
    assert_eq!(load.series.len(), 2);
}

#[test]
fn range_eval_with_gaps() {
    let e = only_eval("eval range from 0 to 10m step 5m  sum(rate(x[5m]))\n  {} 1 _ 3\n");
    assert_eq!(
        e.time,
        EvalTime::Range {
            start: 0,
            end: 600_000,
            step: 300_000
        }
    );
    assert_eq!(e.expr, "sum(rate(x[5m]))");
    assert_eq!(
        e.series[0].values,
        vec![SeqValue::Float(1.0), SeqValue::Omitted, SeqValue::Float(3.0)]
    );
}

#[test]
fn expectations() {
    let e = only_eval(
        "eval instant at 1m foo\n  expect fail msg:vector cannot contain metrics\n  expect warn msg: PromQL warning: x (1:1)\n  expect warn\n  expect info regex: counter.*\n  expect ordered\n",
    );
    assert_eq!(
        e.expect.fail,
        Some(MessageMatch::Exact("vector cannot contain metrics".into()))
    );
    assert_eq!(
        e.expect.warn,
        vec![MessageMatch::Exact("PromQL warning: x (1:1)".into()), MessageMatch::Any]
    );
    assert_eq!(e.expect.info, vec![MessageMatch::Regex("counter.*".into())]);
    assert!(e.expect.ordered && !e.expect.no_warn);
}

#[test]
fn info_and_no_info_conflict() {
    let r = parse_script("eval instant at 1m foo\n  expect info\n  expect no_info\n");
    assert_eq!(r.map_err(|e| e.line), Err(3));
    let r = parse_script("eval instant at 1m foo\n  expect fail\n  expect fail\n");
    assert!(r.is_err());
    let r = parse_script("eval instant at 1m foo\n  expect bogus\n");
    assert!(r.is_err());
}

#[test]
fn legacy_forms() {
    let e = only_eval("eval_fail instant at 0 -{job=\"api\"}\n");
    assert_eq!(e.expect.fail, Some(MessageMatch::Any));
    let e = only_eval("eval_fail instant at 0 x\n  expected_fail_message boom here\n");
    assert_eq!(e.expect.fail, Some(MessageMatch::Exact("boom here".into())));
    let e = only_eval("eval_fail instant at 0 x\n  expected_fail_regexp bo+m\n");
    assert_eq!(e.expect.fail, Some(MessageMatch::Regex("bo+m".into())));
    assert!(only_eval("eval_ordered instant at 0 x\n").expect.ordered);
    assert!(only_eval("eval_warn range from 0 to 1m step 1m x\n").expect.any_warn);
    assert!(only_eval("eval_info instant at 0 x\n").expect.any_info);
    assert!(parse_script("eval_ordered range from 0 to 1m step 1m x\n").is_err());
}

#[test]
fn scalar_string_and_range_vector_results() {
    assert_eq!(only_eval("eval instant at 0 1 + 2\n  3\n").scalar, Some(3.0));
    assert!(
        only_eval("eval instant at 0 0/0\n  NaN\n")
            .scalar
            .is_some_and(f64::is_nan)
    );
    assert_eq!(
        only_eval("eval instant at 0 \"a\"\n  expect string \"a\\tb\"\n")
            .string
            .as_deref(),
        Some("a\tb")
    );
    assert_eq!(
        only_eval("eval instant at 0 `a`\n  expect string `Foo`\n")
            .string
            .as_deref(),
        Some("Foo")
    );
    assert_eq!(
        only_eval("eval instant at 0 \"\"\n  expect string \"\"\n")
            .string
            .as_deref(),
        Some("")
    );
    assert!(parse_script("eval instant at 0 \"\"\n  expect string Foo\n").is_err());
    let e = only_eval("eval instant at 1m m[1m]\n  expect range vector from 0 to 1m step 30s\n  m 1 2 3\n");
    assert_eq!(e.range_vector, Some((0, 60_000, 30_000)));
    assert_eq!(e.series[0].values.len(), 3);
    // Several values in an instant eval need `expect range vector`.
    assert!(parse_script("eval instant at 1m m\n  m 1 2\n").is_err());
}

#[test]
fn start_timestamp_lines_mark_their_series() {
    let cmds = parse("load 1m\n  c{a=\"1\"}@st _ -30s\n  c{a=\"1\"} 1 2\n  d 1 2\n");
    let Command::Load(load) = &cmds[0] else { panic!() };
    let flags: Vec<bool> = load.series.iter().map(|s| s.start_timestamps).collect();
    assert_eq!(flags, vec![true, false]);
    let cmds = parse("load 1m\n  @st -1m\n  c 1 2\n  d 1 2\n");
    let Command::Load(load) = &cmds[0] else { panic!() };
    assert!(load.series.iter().all(|s| s.start_timestamps));
}

#[test]
fn histograms_in_expectations() {
    let e = only_eval("eval instant at 1m m\n  {} {{schema:0 sum:1 count:1 buckets:[1]}}\n");
    assert!(e.expects_histograms());
    assert!(!only_eval("eval instant at 1m m\n  {} 1\n").expects_histograms());
}

#[test]
fn errors_name_the_line() {
    let e = parse_script("load 1m\n  m 1\n\nbogus command\n").unwrap_err();
    assert_eq!(e.line, 4);
    assert!(e.message.contains("bogus command"), "{}", e.message);
    assert_eq!(parse_script("load 1x\n").unwrap_err().line, 1);
    assert_eq!(parse_script("load 1m\n  m{a=\"b\" 1\n").unwrap_err().line, 2);
    assert_eq!(parse_script("eval instant 1m foo\n").unwrap_err().line, 1);
    assert!(parse_script("eval range from 2m to 1m step 1m foo\n").is_err());
}

#[test]
fn duplicate_expected_series_keep_the_last() {
    let e = only_eval("eval instant at 1m m\n  m{a=\"1\"} 1\n  m{a=\"2\"} 2\n  m{a=\"1\"} 3\n");
    assert_eq!(e.series.len(), 2);
    assert_eq!(e.series[1].values, vec![SeqValue::Float(3.0)]);
    assert_eq!(e.series[1].pos, 3);
}
