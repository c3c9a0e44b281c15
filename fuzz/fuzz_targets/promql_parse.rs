//! Fuzzes the PromQL parser and printer: any UTF-8 input must parse or fail without panicking,
//! errors must point inside the input, and a parsed query must print to text that parses again
//! to the same canonical text and the same tree (positions aside).
#![no_main]

use libfuzzer_sys::fuzz_target;
use query::promql::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let expr = match parse(input) {
        Ok(expr) => expr,
        Err(e) => {
            assert!(e.pos <= input.len(), "error offset {} past the input", e.pos);
            assert!(e.line >= 1 && e.col >= 1 && !e.message.is_empty());
            return;
        }
    };
    let printed = expr.to_string();
    let again = match parse(&printed) {
        Ok(again) => again,
        Err(e) => panic!("{input:?} printed as {printed:?}, which does not parse: {e}"),
    };
    assert_eq!(
        again.value_type(),
        expr.value_type(),
        "{input:?} printed as {printed:?}"
    );
    assert_eq!(again.to_string(), printed, "{input:?}: printing is not stable");
    // Trees must match too (Debug, since NaN literals are not equal to themselves).
    let (mut a, mut b) = (expr, again);
    a.clear_positions();
    b.clear_positions();
    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{input:?} printed as {printed:?}");
});
