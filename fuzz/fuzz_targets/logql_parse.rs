//! Fuzzes the LogQL parser and printer: any UTF-8 input must parse or fail without panicking,
//! errors must point inside the input, and a parsed query must print to text that parses again
//! to the same canonical text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use query::logql::parse;

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
    assert_eq!(again.to_string(), printed, "{input:?}: printing is not stable");
});
