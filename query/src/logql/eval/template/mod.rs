//! The Go `text/template` subset used by LogQL's `| line_format "..."` and `| label_format dst="..."`:
//! text and `{{ }}` actions (trim markers, comments), `.label` fields (a missing label is ""),
//! `__line__`, `__timestamp__`, pipelines, parentheses, literals, variables, `if`/`else if`/`with`,
//! Go's builtins and the sprig/Loki functions Loki documents. Rendering is bounded: output is capped
//! at [`MAX_OUTPUT`] bytes, nesting at parse time, and regexes have a compiled-size limit.
//!
//! The same engine renders Prometheus alert and recording-rule templates ([`Template::parse_alert`],
//! [`Template::render_alert`], [`AlertData`]): `$labels`, `$externalLabels`, `$externalURL`, `$value`,
//! `range` over label maps, Go's builtins and Prometheus's functions (`humanize`, `match`, ...).

mod alert;
mod alertfn;
mod exec;
mod funcs;
mod lex;
mod mathfn;
mod parse;
mod printf;
mod timefmt;
mod value;

#[cfg(test)]
mod alert_tests;
#[cfg(test)]
mod tests;

pub use alert::{AlertData, check_alert_template};

use std::fmt;
use std::sync::Arc;

/// Largest output (and intermediate string) one render may produce, in bytes.
pub const MAX_OUTPUT: usize = 1 << 20;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Arc<Vec<parse::Node>>,
    cache: Arc<funcs::RegexCache>,
}

/// A template that does not parse or fails to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Go-style message, e.g. `template: line:1: function "foo" not defined`.
    pub message: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateError {}

/// What a template reads: labels by name, the line, the entry timestamp.
pub trait TemplateContext {
    /// The value of label `name`, if present.
    fn label(&self, name: &str) -> Option<&str>;
    /// The log line (`__line__`).
    fn line(&self) -> &str;
    /// The entry timestamp in nanoseconds since the epoch (`__timestamp__`).
    fn timestamp_ns(&self) -> i64;
}

impl Template {
    /// Parses template text.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let nodes = parse::parse(text, funcs::Dialect::LogQl).map_err(|(line, msg)| TemplateError {
            message: format!("template: line:{line}: {msg}"),
        })?;
        Ok(Template {
            nodes: Arc::new(nodes),
            cache: Arc::default(),
        })
    }

    /// Renders for one entry, appending to `out`. On error `out` is restored to its previous length.
    pub fn render(&self, ctx: &dyn TemplateContext, out: &mut String) -> Result<(), TemplateError> {
        let start = out.len();
        let result =
            exec::Exec::new(ctx, &self.cache, out, value::Value::Labels, "").run(&self.nodes, &value::Value::Labels);
        result.map_err(|e| {
            out.truncate(start);
            TemplateError {
                message: format!("template: line:{}: executing \"line\": {}", e.line, e.message),
            }
        })
    }

    /// Label names the template reads via `.name`, `$.name` or `index . "name"` (for optimisations);
    /// approximate: `{{ . }}` or computed `index` keys are not listed.
    pub fn referenced_labels(&self) -> Vec<String> {
        let mut out = Vec::new();
        parse::referenced_labels(&self.nodes, &mut out);
        let mut seen = std::collections::HashSet::new();
        out.retain(|name| seen.insert(name.clone()));
        out
    }
}
