//! Rule files in Prometheus's format: parsing (with the line of every error), validation and
//! compilation into groups ready to evaluate.
//!
//! The format is Prometheus's, unchanged: `groups:` with `name`, `interval`, `limit`,
//! `query_offset`, `labels` and `rules:` (`record` or `alert`, `expr`, `for`, `keep_firing_for`,
//! `labels`, `annotations`). One key is Loupe's own: a group with `lang: logql` holds LogQL metric
//! queries, evaluated over the log store like Loki's ruler (a group-level key because some
//! expressions, such as `sum(rate({job="a"}[5m]))`, are valid in both languages).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use query::logql::eval::template::Template;

/// The language of a group's expressions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// PromQL over the TSDB (the default).
    #[default]
    Promql,
    /// LogQL metric queries over the log store.
    Logql,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: Spanned<String>,
    #[serde(default)]
    interval: Option<Spanned<String>>,
    #[serde(default)]
    query_offset: Option<Spanned<String>>,
    #[serde(default)]
    limit: usize,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    lang: Lang,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    record: Option<Spanned<String>>,
    #[serde(default)]
    alert: Option<Spanned<String>>,
    expr: Spanned<String>,
    #[serde(default, rename = "for")]
    for_: Option<Spanned<String>>,
    #[serde(default)]
    keep_firing_for: Option<Spanned<String>>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// A parsed expression, in its group's language.
#[derive(Debug, Clone)]
pub enum Expr {
    /// PromQL.
    Promql(query::promql::Expr),
    /// A LogQL metric query.
    Logql(query::logql::ast::Expr),
}

/// What a rule produces.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// A recording rule: its output series are named `record`.
    Recording {
        /// The output metric name.
        record: String,
    },
    /// An alerting rule.
    Alerting {
        /// The alert name (`alertname`).
        name: String,
        /// How long the condition must hold before the alert fires.
        hold: Duration,
        /// How long the alert keeps firing after the condition stops.
        keep_firing_for: Duration,
        /// Annotations: name, template text and the parsed template.
        annotations: Vec<(String, String, Template)>,
    },
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    /// Recording or alerting, with what that needs.
    pub kind: RuleKind,
    /// The expression as written (trimmed).
    pub expr_text: String,
    /// The parsed expression.
    pub expr: Expr,
    /// Labels added to the output (group labels overridden by the rule's); values are templates
    /// for alerting rules.
    pub labels: Vec<(String, String, Option<Template>)>,
}

impl RuleSpec {
    /// The rule's name: `record` or `alert`.
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Recording { record } => record,
            RuleKind::Alerting { name, .. } => name,
        }
    }

    /// The rule's labels as written, for matching rules across reloads (with the name).
    pub fn labels_key(&self) -> Vec<(&str, &str)> {
        self.labels.iter().map(|(k, v, _)| (k.as_str(), v.as_str())).collect()
    }

    /// The expression printed canonically (Prometheus's `query` field).
    pub fn query(&self) -> String {
        match &self.expr {
            Expr::Promql(e) => e.to_string(),
            Expr::Logql(e) => e.to_string(),
        }
    }

    /// A string identifying the rule's definition (to tell whether a group changed on reload).
    pub fn identity(&self) -> String {
        let labels: Vec<String> = self.labels.iter().map(|(k, v, _)| format!("{k}={v}")).collect();
        match &self.kind {
            RuleKind::Recording { record } => format!("record:{record}|{}|{}", self.expr_text, labels.join(",")),
            RuleKind::Alerting {
                name,
                hold,
                keep_firing_for,
                annotations,
            } => {
                let notes: Vec<String> = annotations.iter().map(|(k, v, _)| format!("{k}={v}")).collect();
                format!(
                    "alert:{name}|{}|{}|{:?}|{:?}|{}",
                    self.expr_text,
                    labels.join(","),
                    hold,
                    keep_firing_for,
                    notes.join(",")
                )
            }
        }
    }
}

/// One compiled group.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    /// The file it came from.
    pub file: PathBuf,
    /// Its name (unique within the file).
    pub name: String,
    /// Evaluation interval (the group's, else `global.evaluation_interval`).
    pub interval: Duration,
    /// Evaluate this far in the past (`query_offset`, else the global `rule_query_offset`).
    pub query_offset: Duration,
    /// Most series (recording) or alerts (alerting) one rule may produce; 0 = no limit.
    pub limit: usize,
    /// PromQL or LogQL.
    pub lang: Lang,
    /// The rules, in order.
    pub rules: Vec<RuleSpec>,
}

impl GroupSpec {
    /// True when `other` defines the same group (a reload can keep it running as it is).
    pub fn same_as(&self, other: &GroupSpec) -> bool {
        self.file == other.file
            && self.name == other.name
            && self.interval == other.interval
            && self.query_offset == other.query_offset
            && self.limit == other.limit
            && self.lang == other.lang
            && self.rules.len() == other.rules.len()
            && self
                .rules
                .iter()
                .zip(&other.rules)
                .all(|(a, b)| a.identity() == b.identity())
    }
}

/// Defaults taken from the main configuration.
#[derive(Debug, Clone, Copy)]
pub struct Defaults {
    /// `global.evaluation_interval` (Prometheus's default 1m).
    pub interval: Duration,
    /// `global.rule_query_offset` (default 0).
    pub query_offset: Duration,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            interval: Duration::from_secs(60),
            query_offset: Duration::ZERO,
        }
    }
}

/// Problems found in one file, each `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileErrors {
    /// The file.
    pub file: PathBuf,
    /// The problems.
    pub errors: Vec<String>,
}

impl std::fmt::Display for FileErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.errors.join("; "))
    }
}

impl std::error::Error for FileErrors {}

/// Most bytes of one rule file.
pub const MAX_FILE_BYTES: usize = 16 << 20;

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses and validates one rule file's text. `file` names it in messages.
pub fn parse_file(file: &Path, text: &str, defaults: Defaults) -> Result<Vec<GroupSpec>, FileErrors> {
    let shown = file.display().to_string();
    let fail = |errors: Vec<String>| FileErrors {
        file: file.to_path_buf(),
        errors,
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(fail(vec![format!("{shown}: file exceeds {MAX_FILE_BYTES} bytes")]));
    }
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let raw: RawFile = serde_saphyr::from_str(text).map_err(|e| fail(vec![format!("{shown}: {e}")]))?;
    let mut errors = Vec::new();
    let mut groups = Vec::new();
    let mut names = HashSet::new();
    for group in raw.groups {
        let at = |loc: &serde_saphyr::Location| format!("{shown}:{}:{}", loc.line(), loc.column());
        let gname = group.name.value.clone();
        if gname.is_empty() {
            errors.push(format!("{}: group name must not be empty", at(&group.name.referenced)));
        } else if !names.insert(gname.clone()) {
            errors.push(format!(
                "{}: {gname:?}: repeated group name",
                at(&group.name.referenced)
            ));
        }
        let duration = |value: &Option<Spanned<String>>, what: &str, errors: &mut Vec<String>| -> Option<Duration> {
            let v = value.as_ref()?;
            match crate::config::parse_duration(&v.value) {
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(format!("{}: group {gname:?}: {what}: {e:#}", at(&v.referenced)));
                    None
                }
            }
        };
        // A zero interval means the default, as in Prometheus.
        let interval = duration(&group.interval, "interval", &mut errors)
            .filter(|d| !d.is_zero())
            .unwrap_or(defaults.interval);
        let query_offset = duration(&group.query_offset, "query_offset", &mut errors).unwrap_or(defaults.query_offset);
        for name in group.labels.keys() {
            if !is_label_name(name) {
                errors.push(format!("{shown}: group {gname:?}: invalid label name {name:?}"));
            }
        }
        let mut rules = Vec::new();
        for (i, rule) in group.rules.into_iter().enumerate() {
            let n = i + 1;
            match compile_rule(rule, &group.labels, group.lang, &shown, &gname, n) {
                Ok(r) => rules.push(r),
                Err(mut e) => errors.append(&mut e),
            }
        }
        groups.push(GroupSpec {
            file: file.to_path_buf(),
            name: gname,
            interval,
            query_offset,
            limit: group.limit,
            lang: group.lang,
            rules,
        });
    }
    if errors.is_empty() {
        Ok(groups)
    } else {
        Err(fail(errors))
    }
}

fn compile_rule(
    rule: RawRule,
    group_labels: &BTreeMap<String, String>,
    lang: Lang,
    shown: &str,
    group: &str,
    n: usize,
) -> Result<RuleSpec, Vec<String>> {
    let at = |loc: &serde_saphyr::Location| format!("{shown}:{}:{}", loc.line(), loc.column());
    let mut errors = Vec::new();
    let (name, name_loc, alerting) = match (&rule.record, &rule.alert) {
        (Some(r), None) => (r.value.clone(), r.referenced, false),
        (None, Some(a)) => (a.value.clone(), a.referenced, true),
        (Some(r), Some(_)) => {
            return Err(vec![format!(
                "{}: group {group:?}, rule {n}: only one of 'record' and 'alert' must be set",
                at(&r.referenced)
            )]);
        }
        (None, None) => {
            return Err(vec![format!(
                "{}: group {group:?}, rule {n}: one of 'record' or 'alert' must be set",
                at(&rule.expr.referenced)
            )]);
        }
    };
    let prefix = format!("group {group:?}, rule {n}, {name:?}");
    if alerting {
        if name.is_empty() {
            errors.push(format!("{}: {prefix}: alert name must not be empty", at(&name_loc)));
        }
    } else if !is_metric_name(&name) {
        errors.push(format!("{}: {prefix}: invalid recording rule name", at(&name_loc)));
    }
    if !alerting {
        for (key, value) in [("for", &rule.for_), ("keep_firing_for", &rule.keep_firing_for)] {
            if let Some(v) = value {
                errors.push(format!(
                    "{}: {prefix}: invalid field '{key}' in recording rule",
                    at(&v.referenced)
                ));
            }
        }
        if !rule.annotations.is_empty() {
            errors.push(format!(
                "{}: {prefix}: invalid field 'annotations' in recording rule",
                at(&name_loc)
            ));
        }
    }
    let expr_text = rule.expr.value.trim().to_string();
    let expr = if expr_text.is_empty() {
        errors.push(format!(
            "{}: {prefix}: field 'expr' must be set in rule",
            at(&rule.expr.referenced)
        ));
        None
    } else {
        match lang {
            Lang::Promql => match query::promql::parse(&expr_text) {
                Ok(e) => Some(Expr::Promql(e)),
                Err(e) => {
                    errors.push(format!(
                        "{}: {prefix}: could not parse expression: {e}",
                        at(&rule.expr.referenced)
                    ));
                    None
                }
            },
            Lang::Logql => match query::logql::parse(&expr_text) {
                Ok(e @ query::logql::ast::Expr::Metric(_)) => Some(Expr::Logql(e)),
                Ok(_) => {
                    errors.push(format!(
                        "{}: {prefix}: a rule needs a LogQL metric query, not a log query",
                        at(&rule.expr.referenced)
                    ));
                    None
                }
                Err(e) => {
                    errors.push(format!(
                        "{}: {prefix}: could not parse expression: {e}",
                        at(&rule.expr.referenced)
                    ));
                    None
                }
            },
        }
    };
    let duration = |value: &Option<Spanned<String>>, key: &str, errors: &mut Vec<String>| -> Duration {
        let Some(v) = value else { return Duration::ZERO };
        crate::config::parse_duration(&v.value).unwrap_or_else(|e| {
            errors.push(format!("{}: {prefix}: {key}: {e:#}", at(&v.referenced)));
            Duration::ZERO
        })
    };
    let hold = duration(&rule.for_, "for", &mut errors);
    let keep_firing_for = duration(&rule.keep_firing_for, "keep_firing_for", &mut errors);
    let mut merged = group_labels.clone();
    merged.extend(rule.labels);
    let mut labels = Vec::new();
    for (key, value) in merged {
        if !is_label_name(&key) || key == "__name__" {
            errors.push(format!("{}: {prefix}: invalid label name {key:?}", at(&name_loc)));
            continue;
        }
        let template = if alerting {
            match Template::parse_alert(&value) {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.push(format!("{}: {prefix}: label {key:?}: {e}", at(&name_loc)));
                    None
                }
            }
        } else {
            None
        };
        labels.push((key, value, template));
    }
    let mut annotations = Vec::new();
    for (key, value) in rule.annotations {
        if !is_label_name(&key) {
            errors.push(format!("{}: {prefix}: invalid annotation name {key:?}", at(&name_loc)));
            continue;
        }
        match Template::parse_alert(&value) {
            Ok(t) => annotations.push((key, value, t)),
            Err(e) => errors.push(format!("{}: {prefix}: annotation {key:?}: {e}", at(&name_loc))),
        }
    }
    let Some(expr) = expr else { return Err(errors) };
    if !errors.is_empty() {
        return Err(errors);
    }
    let kind = if alerting {
        RuleKind::Alerting {
            name,
            hold,
            keep_firing_for,
            annotations,
        }
    } else {
        RuleKind::Recording { record: name }
    };
    Ok(RuleSpec {
        kind,
        expr_text,
        expr,
        labels,
    })
}

/// Expands `rule_files` globs (relative ones against `base`) into files, sorted, without repeats.
pub fn expand_globs(patterns: &[String], base: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for pattern in patterns {
        let full = if Path::new(pattern).is_absolute() {
            pattern.clone()
        } else {
            base.join(pattern).to_string_lossy().into_owned()
        };
        let paths = glob::glob(&full).map_err(|e| format!("rule_files: invalid pattern {pattern:?}: {e}"))?;
        for path in paths {
            let path = path.map_err(|e| format!("rule_files: {e}"))?;
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Reads and compiles every file. All problems of all files are reported together.
pub fn load_files(files: &[PathBuf], defaults: Defaults) -> Result<Vec<GroupSpec>, Vec<FileErrors>> {
    let mut groups = Vec::new();
    let mut failures = Vec::new();
    for file in files {
        let text = match std::fs::read(file) {
            Ok(bytes) if bytes.len() > MAX_FILE_BYTES => {
                failures.push(FileErrors {
                    file: file.clone(),
                    errors: vec![format!("{}: file exceeds {MAX_FILE_BYTES} bytes", file.display())],
                });
                continue;
            }
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                failures.push(FileErrors {
                    file: file.clone(),
                    errors: vec![format!("{}: {e}", file.display())],
                });
                continue;
            }
        };
        match parse_file(file, &text, defaults) {
            Ok(mut g) => groups.append(&mut g),
            Err(e) => failures.push(e),
        }
    }
    if failures.is_empty() { Ok(groups) } else { Err(failures) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<GroupSpec>, Vec<String>> {
        parse_file(Path::new("r.yml"), text, Defaults::default()).map_err(|e| e.errors)
    }

    #[test]
    fn parses_prometheus_rule_files() {
        let groups = parse(
            "groups:\n  - name: api\n    interval: 30s\n    limit: 10\n    labels: {team: shop}\n    rules:\n      - record: job:http_requests:rate5m\n        expr: sum by (job) (rate(http_requests_total[5m]))\n      - alert: HighErrors\n        expr: job:http_requests:rate5m > 1\n        for: 5m\n        keep_firing_for: 1m\n        labels:\n          severity: page\n        annotations:\n          summary: \"{{ $labels.job }} has {{ $value }} errors\"\n",
        )
        .expect("valid");
        assert_eq!(groups.len(), 1);
        let g = &groups[0];
        assert_eq!(
            (g.name.as_str(), g.interval, g.limit, g.lang),
            ("api", Duration::from_secs(30), 10, Lang::Promql)
        );
        assert_eq!(g.rules[0].name(), "job:http_requests:rate5m");
        assert_eq!(
            g.rules[0].labels.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
            ["team"]
        );
        let RuleKind::Alerting {
            name,
            hold,
            keep_firing_for,
            annotations,
        } = &g.rules[1].kind
        else {
            panic!("alerting rule expected");
        };
        assert_eq!(
            (name.as_str(), *hold, *keep_firing_for),
            ("HighErrors", Duration::from_secs(300), Duration::from_secs(60))
        );
        assert_eq!(annotations[0].0, "summary");
        let names: Vec<&str> = g.rules[1].labels.iter().map(|l| l.0.as_str()).collect();
        assert_eq!(names, ["severity", "team"]);
    }

    #[test]
    fn logql_groups() {
        let groups = parse(
            "groups:\n  - name: logs\n    lang: logql\n    rules:\n      - alert: ShopErrors\n        expr: sum by (container) (rate({namespace=\"shop\"} |= \"error\" [5m])) > 1\n",
        )
        .expect("valid");
        assert!(matches!(groups[0].rules[0].expr, Expr::Logql(_)));
        let errors = parse(
            "groups:\n  - name: logs\n    lang: logql\n    rules:\n      - alert: A\n        expr: '{a=\"b\"}'\n",
        )
        .expect_err("log query");
        assert!(errors[0].contains("needs a LogQL metric query"), "{errors:?}");
        // The same text is not PromQL.
        let errors = parse(
            "groups:\n  - name: p\n    rules:\n      - alert: A\n        expr: 'rate({a=\"b\"} |= \"x\" [5m])'\n",
        )
        .expect_err("not promql");
        assert!(
            errors[0].starts_with("r.yml:5:15: group \"p\", rule 1, \"A\": could not parse expression: 1:"),
            "{errors:?}"
        );
    }

    #[test]
    fn reports_every_problem_with_its_line() {
        let errors = parse(
            "groups:\n  - name: g\n    rules:\n      - record: 'bad name'\n        expr: up\n      - alert: A\n        expr: 'sum(up'\n      - record: r\n        expr: up\n        for: 5m\n  - name: g\n    rules:\n      - alert: B\n        expr: up\n        annotations:\n          x: '{{ .Foo'\n      - expr: up\n",
        )
        .expect_err("invalid");
        assert_eq!(errors.len(), 6, "{errors:#?}");
        assert!(
            errors[0].starts_with("r.yml:4:17: group \"g\", rule 1, \"bad name\": invalid recording rule name"),
            "{errors:?}"
        );
        assert!(
            errors[1].starts_with("r.yml:7:15: group \"g\", rule 2, \"A\": could not parse expression: 1:"),
            "{errors:?}"
        );
        assert!(
            errors[2].starts_with("r.yml:10:14: group \"g\", rule 3, \"r\": invalid field 'for' in recording rule"),
            "{errors:?}"
        );
        assert!(errors[3].contains("\"g\": repeated group name"), "{errors:?}");
        assert!(errors[4].contains("annotation \"x\": template:"), "{errors:?}");
        assert!(
            errors[5].contains("one of 'record' or 'alert' must be set"),
            "{errors:?}"
        );
    }

    #[test]
    fn rejects_unknown_keys_and_bad_yaml() {
        let errors = parse("groups:\n  - name: g\n    rulez: []\n").expect_err("unknown key");
        assert!(errors[0].contains("rulez"), "{errors:?}");
        assert!(parse("groups: [").is_err());
        assert!(parse("").expect("empty").is_empty());
    }
}
