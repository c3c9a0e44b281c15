//! Property tests: no function panics on arbitrary input, and a few round-trip invariants.

use super::*;
use proptest::prelude::*;

/// Strings biased towards the characters the parsers care about.
fn structured() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("{".to_string()),
            Just("}".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just(":".to_string()),
            Just(",".to_string()),
            Just("=".to_string()),
            Just(" ".to_string()),
            Just("<a>".to_string()),
            Just("<_>".to_string()),
            Just("\\u".to_string()),
            Just("\\ud800".to_string()),
            Just("\u{FFFD}".to_string()),
            Just("null".to_string()),
            Just("true".to_string()),
            "[a-z0-9._-]{0,4}",
            any::<char>().prop_map(|c| c.to_string()),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), structured()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn json_all_never_panics(line in any_text()) {
        let mut n = 0usize;
        let _ = json_all(&line, &mut |k, _| {
            assert!(!k.is_empty());
            assert!(k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
            n += 1;
        });
        prop_assert!(n <= line.len());
    }

    #[test]
    fn json_extract_never_panics(line in any_text(), expr in any_text()) {
        let _ = JsonPath::parse(&expr);
        let paths: Vec<(String, JsonPath)> = ["a", "a.b", "[0]", "a[1][\"x y\"]"]
            .iter()
            .filter_map(|p| JsonPath::parse(p).ok().map(|j| (p.to_string(), j)))
            .collect();
        let mut n = 0usize;
        let r = json_extract(&line, &paths, &mut |_, _| n += 1);
        prop_assert!(n == 0 || n == paths.len());
        if line.is_empty() { prop_assert!(r.is_ok()); }
    }

    #[test]
    fn unpack_never_panics(line in any_text()) {
        let _ = unpack(&line, &mut |_, _| {});
    }

    #[test]
    fn logfmt_never_panics(line in any_text(), strict in any::<bool>(), keep in any::<bool>(), ex in any::<bool>()) {
        let extractions = if ex { vec![("l".to_string(), "a".to_string())] } else { vec![] };
        let mut n = 0usize;
        let r = logfmt(&line, strict, keep, &extractions, &mut |k, _| {
            assert!(!k.is_empty());
            n += 1;
        });
        if !strict { prop_assert!(r.is_ok()); }
        if ex { prop_assert_eq!(n, 1); }
    }

    #[test]
    fn pattern_never_panics(text in any_text(), line in any_text()) {
        if let Ok(p) = Pattern::parse(&text) {
            if let Some(caps) = p.captures(&line) {
                prop_assert!(caps.len() <= p.names().len());
            }
            let _ = p.matches(&line);
        }
        if let Ok(p) = Pattern::parse_line_filter(&text) {
            let _ = p.matches(&line);
        }
    }

    #[test]
    fn conversions_never_panic(s in any_text()) {
        let _ = parse_duration_seconds(&s);
        let _ = parse_bytes(&s);
        let _ = parse_number(&s);
        let _ = sanitize_key(&s);
    }

    #[test]
    fn numbers_round_trip(x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
        prop_assert_eq!(parse_number(&format!("{x:e}")), Some(x));
    }

    #[test]
    fn durations_in_ms_round_trip(ms in 0u32..1_000_000_000) {
        let got = parse_duration_seconds(&format!("{ms}ms"));
        prop_assert_eq!(got, Some(f64::from(ms) * 1_000_000.0 / 1e9));
    }

    #[test]
    fn logfmt_round_trips_quoted_values(key in "[a-z][a-z0-9_]{0,8}", value in "[ -~]{1,20}") {
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        let line = format!("x=1 {key}=\"{escaped}\" y=2");
        let mut got = Vec::new();
        logfmt(&line, true, false, &[], &mut |k, v| got.push((k.to_string(), v.to_string()))).expect("valid logfmt");
        let found = got.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
        if key != "x" && key != "y" {
            prop_assert_eq!(found, Some(value));
        }
    }
}
