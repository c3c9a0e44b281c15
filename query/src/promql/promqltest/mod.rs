//! The PromQL conformance runner: Prometheus's `promqltest` script format.
//!
//! A script `load`s series (`metric{a="b"} 0+10x5`), `clear`s them, and `eval`s queries with
//! expected results, errors and annotations (see the notes in `promqltest-format.md`). Each eval
//! is one case, named `file.test:LINE`. [`run_file`] parses and runs a script against an engine
//! and returns a [`FileReport`]; cases that need features Loupe does not implement (native
//! histograms, flagged syntax, start timestamps, `info()`) are [skipped](SkipReason), not failed.
//! [`judge`] and [`bless`] maintain the list of known failures.
//!
//! ```no_run
//! use query::promql::eval::{Engine, EngineOptions};
//! use query::promql::promqltest::{RunOptions, run_file};
//! let engine = Engine::new(EngineOptions::default());
//! let report = run_file(std::path::Path::new("selectors.test"), &engine, &RunOptions::default());
//! println!("{}", report.summary_line());
//! ```

mod classify;
mod compare;
mod report;
mod run;
mod script;
mod series;

pub use classify::{LoadedFeatures, SkipReason, classify};
pub use compare::{EPSILON, almost_equal, compare_result};
pub use report::{DEFAULT_REASON, ExpectedFailures, FileReport, Verdict, bless, judge, totals_line};
pub use run::{CaseResult, Outcome, QueryEngine, RunOptions, run_file, run_script};
pub use script::{
    Command, Eval, EvalTime, Expectations, ExpectedSeries, Load, LoadSeries, MessageMatch, Script, parse_script,
};
pub use series::{SeqValue, parse_duration_ms, parse_series_line};
