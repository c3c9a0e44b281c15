//! Fuzzes the exposition parser: any UTF-8 input, in both formats, must parse or fail without panicking,
//! yield at most one error (as its last item), and report 1-based positions inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scraper::{Entry, Error, Format, Parser};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let lines = input.split('\n').count();
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        let mut entries = 0usize;
        let mut parser = Parser::new(input, format);
        let mut failed = false;
        for item in parser.by_ref() {
            match item {
                Ok(entry) => {
                    entries += 1;
                    assert!(entries <= lines, "more entries than lines");
                    if let Entry::Sample(sample) = &entry {
                        // Names are unique within a label set.
                        for (i, (name, _)) in sample.labels.iter().enumerate() {
                            assert!(sample.labels[..i].iter().all(|(other, _)| other != name));
                        }
                    }
                    // Owned copies must be equal (NaN aside, which Debug renders alike).
                    let owned = entry.clone().into_owned();
                    assert_eq!(format!("{owned:?}"), format!("{entry:?}"));
                }
                Err(Error::Parse { line, column, reason }) => {
                    assert!(line >= 1 && line <= lines + 1, "line {line} outside the input");
                    assert!(column >= 1 && !reason.is_empty());
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            assert!(parser.next().is_none(), "the parser must stop after an error");
        }
    }
});
