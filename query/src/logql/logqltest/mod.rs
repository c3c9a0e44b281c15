//! The LogQL conformance runner: scripts that load log lines, evaluate LogQL queries against
//! the [engine](crate::logql::eval) over a [`MemorySource`](crate::logql::eval::MemorySource), and
//! check streams, samples or errors. Same spirit as Prometheus's promqltest.
//!
//! # Script format
//!
//! Lines are trimmed. A blank line ends a block; `#` lines are comments and are skipped (they do
//! not end a block). A block is a command line followed by body lines.
//!
//! - `load {a="b", ...}` — body lines `<time> [{metadata k="v", ...}] <text>` add lines to that
//!   stream. `<time>` is a duration from 0 (`0`, `10s`, `1m30s`, `250ms`; a bare integer is
//!   seconds) or an expansion `<start>+<step>x<N>`: N+1 lines, `step` apart, where `{{i}}` in the
//!   text becomes 0..N. The text is taken as written, unless it starts with `"`: then it is one
//!   quoted string with escapes `\\ \" \n \t \r \e \xHH \u{HEX}`. Loads add up.
//! - `clear` — drop every loaded line.
//! - `eval instant at <t> <metric query>` — body lines `{labels} <value>` (order-insensitive
//!   unless `expect ordered`), or a bare number for a scalar result.
//! - `eval range from <t> to <t> step <d> <metric query>` — body lines `{labels} v1 v2 ...`, one
//!   value per step (`_` = no point; `_xK`, `vxK`, `a+bxK`, `a-bxK` expand to K+1 values as in
//!   promqltest). The series must be exactly these; their values exactly these, within a relative
//!   error of 1e-6 (NaN equals NaN).
//! - `eval logs from <t> to <t> [limit N] [forward|backward] <log query>` — body lines
//!   `{all labels} <time> <text>` (text as in `load`): the entries in result order. Defaults:
//!   `limit 100`, `backward` (as Loki). The range is `[from, to)`.
//! - Body expectations for any eval: `expect empty` (no series/entries), `expect fail` or
//!   `expect fail msg: <text>` (the query must fail to parse or run; the error must contain
//!   `<text>`), `expect ordered`. An eval with no expectation is a script error.
//! - `eval_skip ...` — same syntax, parsed but not run: counted as skipped, with the reason from
//!   the nearest `# KNOWN: <reason>` comment above it in the same block.
//!
//! ```text
//! load {app="web"}
//!   0s+10sx5 GET /item/{{i}} 200
//!   15s {metadata trace="t1"} POST /cart 500
//!
//! eval instant at 1m count_over_time({app="web"}[1m])
//!   {app="web"} 7
//!
//! eval logs from 0 to 20s forward {app="web"} |= "POST"
//!   {app="web", trace="t1"} 15s POST /cart 500
//! ```

mod notation;
mod run;
mod script;

#[cfg(test)]
mod tests;

pub use notation::{parse_duration_ns, parse_labels, parse_line_text, parse_values};
pub use run::{
    CaseResult, EPSILON, Outcome, Report, almost_equal, compare, render_value, run_file, run_named, run_script,
};
pub use script::{
    Command, Eval, EvalKind, Expected, ExpectedEntry, ExpectedSeries, Load, LoadEntry, Script, ScriptError,
    parse_script,
};
