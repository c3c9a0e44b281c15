//! Prometheus alert and recording-rule templates: [`Template::parse_alert`] prefixes Prometheus's
//! variable definitions and parses with the alert function set (Go builtins plus
//! [`super::alertfn`]); [`Template::render_alert`] executes with the alert data as dot.

use std::sync::Arc;

use super::funcs::Dialect;
use super::value::{AlertRoot, Value, label_map};
use super::{Template, TemplateContext, TemplateError, exec, parse};

/// Prometheus's definitions before every alert template; no newline, so error lines stay the user's.
const PRELUDE: &str =
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// Data of a Prometheus alert / recording-rule template.
#[derive(Debug, Clone, Copy)]
pub struct AlertData<'a> {
    /// The alert's labels (`$labels`, `.Labels`).
    pub labels: &'a [(String, String)],
    /// External labels (`$externalLabels`, `.ExternalLabels`).
    pub external_labels: &'a [(String, String)],
    /// The sample value (`$value`, `.Value`).
    pub value: f64,
    /// `$externalURL`, `.ExternalURL`.
    pub external_url: &'a str,
}

/// The (unused) log entry behind alert rendering: LogQL-only functions cannot be named in alert
/// templates.
struct NoEntry;

impl TemplateContext for NoEntry {
    fn label(&self, _name: &str) -> Option<&str> {
        None
    }
    fn line(&self) -> &str {
        ""
    }
    fn timestamp_ns(&self) -> i64 {
        0
    }
}

impl Template {
    /// Parses an alert template. Like Prometheus, the text is prefixed with the definitions
    /// `{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}`
    /// (error line numbers refer to the user's text). Functions needing a query engine (`query`,
    /// `first`, `label`, `value`, `sortByLabel`, `strvalue`) are rejected.
    pub fn parse_alert(text: &str) -> Result<Template, TemplateError> {
        let mut src = String::with_capacity(PRELUDE.len() + text.len());
        src.push_str(PRELUDE);
        src.push_str(text);
        let nodes = parse::parse(&src, Dialect::Alert).map_err(|(line, msg)| TemplateError {
            message: format!("template: line:{line}: {msg}"),
        })?;
        Ok(Template {
            nodes: Arc::new(nodes),
            cache: Arc::default(),
        })
    }

    /// Renders a template from [`Template::parse_alert`] with alert data, appending to `out`. On error
    /// `out` is restored to its previous length and the message reads
    /// `template: line:N: executing "alert": ...`.
    pub fn render_alert(&self, data: &AlertData<'_>, out: &mut String) -> Result<(), TemplateError> {
        let root = Value::Alert(Arc::new(AlertRoot {
            labels: label_map(data.labels),
            external_labels: label_map(data.external_labels),
            external_url: data.external_url.to_string(),
            value: data.value,
        }));
        let start = out.len();
        let result =
            exec::Exec::new(&NoEntry, &self.cache, out, root.clone(), data.external_url).run(&self.nodes, &root);
        result.map_err(|e| {
            out.truncate(start);
            TemplateError {
                message: format!("template: line:{}: executing \"alert\": {}", e.line, e.message),
            }
        })
    }
}

/// Checks that an alert annotation or label template parses (for `loupe check rules`).
pub fn check_alert_template(text: &str) -> Result<(), TemplateError> {
    Template::parse_alert(text).map(|_| ())
}
