//! A compiled log pipeline: the stages of a log query, run left to right on each line.
//!
//! A stage either drops the line (a filter that fails) or changes the line or its labels. Parser
//! and formatter failures keep the line and record `__error__` (Loki's names: `JSONParserErr`,
//! `LogfmtParserErr`, `TemplateFormatErr`, …). For metric queries, `| unwrap` ends the pipeline:
//! [`Pipeline::extract`] reads the sample value from a label and then runs the label filters
//! written after the unwrap.

use regex::Regex;

use super::filters::{LabelFilter, LineFilter, REGEX_SIZE_LIMIT};
use super::labels::{Category, LineLabels};
use super::parsers::{self, JsonPath, Pattern};
use super::template::{Template, TemplateContext};
use crate::error::Error;
use crate::logql::ast::{LabelFormatValue, LabelSelect, ParserStage, Stage, UnwrapConversion};

#[derive(Debug, Clone)]
enum Compiled {
    LineFilter(LineFilter),
    JsonAll,
    JsonPaths(Vec<(String, JsonPath)>),
    Logfmt {
        strict: bool,
        keep_empty: bool,
        extractions: Vec<(String, String)>,
    },
    Regexp(Regex),
    Pattern(Pattern),
    Unpack,
    LabelFilter(LabelFilter),
    LineFormat(Template),
    LabelFormat(Vec<(String, FormatOp)>),
    Drop(Vec<LabelSelect>),
    Keep(Vec<LabelSelect>),
    Decolorize,
}

#[derive(Debug, Clone)]
enum FormatOp {
    Rename(String),
    Template(Template),
}

/// `| unwrap` and the label filters after it.
#[derive(Debug, Clone)]
struct Unwrap {
    label: String,
    conversion: Option<UnwrapConversion>,
    post: Vec<LabelFilter>,
}

/// A compiled pipeline.
#[derive(Debug, Clone, Default)]
pub struct Pipeline {
    stages: Vec<Compiled>,
    unwrap: Option<Unwrap>,
}

impl Pipeline {
    /// Compiles the stages of a log query (an `Unwrap` stage and the label filters after it are
    /// kept for [`Pipeline::extract`]).
    pub fn compile(stages: &[Stage]) -> Result<Pipeline, Error> {
        let mut out = Pipeline::default();
        for stage in stages {
            if let Some(unwrap) = &mut out.unwrap {
                match stage {
                    Stage::LabelFilter(f) => unwrap.post.push(LabelFilter::compile(f)?),
                    other => {
                        return Err(Error::Execution(format!(
                            "unexpected stage after unwrap: {}",
                            stage_name(other)
                        )));
                    }
                }
                continue;
            }
            let compiled = match stage {
                Stage::LineFilter { op, values } => Compiled::LineFilter(LineFilter::compile(*op, values)?),
                Stage::Parser(ParserStage::Json(extractions)) if extractions.is_empty() => Compiled::JsonAll,
                Stage::Parser(ParserStage::Json(extractions)) => {
                    let mut paths = Vec::with_capacity(extractions.len());
                    for e in extractions {
                        let path = JsonPath::parse(&e.expr)
                            .map_err(|msg| Error::Execution(format!("invalid json expression {:?}: {msg}", e.expr)))?;
                        paths.push((e.label.clone(), path));
                    }
                    Compiled::JsonPaths(paths)
                }
                Stage::Parser(ParserStage::Logfmt {
                    strict,
                    keep_empty,
                    extractions,
                }) => Compiled::Logfmt {
                    strict: *strict,
                    keep_empty: *keep_empty,
                    extractions: extractions.iter().map(|e| (e.label.clone(), e.expr.clone())).collect(),
                },
                Stage::Parser(ParserStage::Regexp(re)) => {
                    let regex = regex::RegexBuilder::new(re)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .build()
                        .map_err(|e| Error::Execution(format!("invalid regexp parser {re:?}: {e}")))?;
                    if !regex.capture_names().any(|n| n.is_some()) {
                        return Err(Error::Execution(format!(
                            "regexp parser {re:?}: at least one named capture must be supplied"
                        )));
                    }
                    Compiled::Regexp(regex)
                }
                Stage::Parser(ParserStage::Pattern(p)) => {
                    Compiled::Pattern(Pattern::parse(p).map_err(Error::Execution)?)
                }
                Stage::Parser(ParserStage::Unpack) => Compiled::Unpack,
                Stage::LabelFilter(f) => Compiled::LabelFilter(LabelFilter::compile(f)?),
                Stage::LineFormat(t) => Compiled::LineFormat(template(t)?),
                Stage::LabelFormat(formats) => {
                    let mut ops = Vec::with_capacity(formats.len());
                    for f in formats {
                        let op = match &f.value {
                            LabelFormatValue::Rename(src) => FormatOp::Rename(src.clone()),
                            LabelFormatValue::Template(t) => FormatOp::Template(template(t)?),
                        };
                        ops.push((f.dst.clone(), op));
                    }
                    Compiled::LabelFormat(ops)
                }
                Stage::Drop(sel) => Compiled::Drop(sel.clone()),
                Stage::Keep(sel) => Compiled::Keep(sel.clone()),
                Stage::Decolorize => Compiled::Decolorize,
                Stage::Unwrap { label, conversion } => {
                    out.unwrap = Some(Unwrap {
                        label: label.clone(),
                        conversion: *conversion,
                        post: Vec::new(),
                    });
                    continue;
                }
            };
            out.stages.push(compiled);
        }
        Ok(out)
    }

    /// True when the pipeline has an `unwrap`.
    pub fn has_unwrap(&self) -> bool {
        self.unwrap.is_some()
    }

    /// True when the pipeline changes neither lines nor labels (only line filters), so a line's
    /// labels are its stream's.
    pub fn only_line_filters(&self) -> bool {
        self.stages.iter().all(|s| matches!(s, Compiled::LineFilter(_))) && self.unwrap.is_none()
    }

    /// Runs the stages before any `unwrap` on one line: false when the line is filtered out.
    /// `line` and `labels` are updated in place.
    pub fn process(&self, ts_ns: i64, line: &mut String, labels: &mut LineLabels) -> bool {
        for stage in &self.stages {
            match stage {
                Compiled::LineFilter(f) => {
                    if !f.keep(line) {
                        return false;
                    }
                }
                Compiled::JsonAll => {
                    if let Err(e) = parsers::json_all(line, &mut |k, v| labels.set_parsed(k, v)) {
                        labels.set_error(e.kind, &e.details);
                    }
                }
                Compiled::JsonPaths(paths) => {
                    if let Err(e) = parsers::json_extract(line, paths, &mut |k, v| labels.set_parsed(k, v)) {
                        labels.set_error(e.kind, &e.details);
                    }
                }
                Compiled::Logfmt {
                    strict,
                    keep_empty,
                    extractions,
                } => {
                    let result = parsers::logfmt(line, *strict, *keep_empty, extractions, &mut |k, v| {
                        labels.set_parsed(k, v)
                    });
                    if let Err(e) = result {
                        labels.set_error(e.kind, &e.details);
                    }
                }
                Compiled::Regexp(re) => {
                    if let Some(caps) = re.captures(line) {
                        for name in re.capture_names().flatten() {
                            if let Some(m) = caps.name(name) {
                                labels.set_parsed(&parsers::sanitize_key(name), m.as_str());
                            }
                        }
                    }
                }
                Compiled::Pattern(p) => {
                    if let Some(caps) = p.captures(line) {
                        for (name, value) in caps {
                            labels.set_parsed(name, value);
                        }
                    }
                }
                Compiled::Unpack => match parsers::unpack(line, &mut |k, v| labels.set_parsed(k, v)) {
                    Ok(Some(entry)) => *line = entry,
                    Ok(None) => {}
                    Err(e) => labels.set_error(e.kind, &e.details),
                },
                Compiled::LabelFilter(f) => {
                    if !f.keep(labels) {
                        return false;
                    }
                }
                Compiled::LineFormat(t) => {
                    let mut out = String::new();
                    let ctx = Ctx { labels, line, ts_ns };
                    match t.render(&ctx, &mut out) {
                        Ok(()) => *line = out,
                        Err(e) => labels.set_error("TemplateFormatErr", &e.message),
                    }
                }
                Compiled::LabelFormat(ops) => label_format(ops, ts_ns, line, labels),
                Compiled::Drop(selects) => {
                    for sel in selects {
                        match sel {
                            LabelSelect::Name(n) => labels.delete(n),
                            LabelSelect::Matcher(m) => {
                                if labels.get(m.name()).is_some_and(|v| m.matches(v)) {
                                    labels.delete(m.name());
                                }
                            }
                        }
                    }
                }
                Compiled::Keep(selects) => labels.retain(|name, value| {
                    name == super::labels::ERROR_LABEL
                        || name == super::labels::ERROR_DETAILS_LABEL
                        || selects.iter().any(|sel| match sel {
                            LabelSelect::Name(n) => n == name,
                            LabelSelect::Matcher(m) => m.name() == name && m.matches(value),
                        })
                }),
                Compiled::Decolorize => {
                    if line.contains('\u{1b}') {
                        *line = decolorize(line);
                    }
                }
            }
        }
        true
    }

    /// After [`Pipeline::process`] kept a line, the sample value of a metric query with `unwrap`:
    /// `None` when the line has no value for the label or a post-unwrap filter drops it. The
    /// unwrapped label is removed from `labels`. A value that does not convert gives 0 and
    /// records `SampleExtractionErr`.
    pub fn extract(&self, labels: &mut LineLabels) -> Option<f64> {
        let unwrap = self.unwrap.as_ref()?;
        let raw = labels.get(&unwrap.label).unwrap_or("");
        if raw.is_empty() {
            return None;
        }
        let converted = match unwrap.conversion {
            None => parsers::parse_number(raw),
            Some(UnwrapConversion::Duration | UnwrapConversion::DurationSeconds) => {
                parsers::parse_duration_seconds(raw)
            }
            Some(UnwrapConversion::Bytes) => parsers::parse_bytes(raw),
        };
        let value = match converted {
            Some(v) => v,
            None => {
                let details = format!("cannot convert {raw:?} to a number");
                labels.set_error("SampleExtractionErr", &details);
                0.0
            }
        };
        labels.delete(&unwrap.label);
        for f in &unwrap.post {
            if !f.keep(labels) {
                return None;
            }
        }
        Some(value)
    }
}

fn template(text: &str) -> Result<Template, Error> {
    Template::parse(text).map_err(|e| Error::Execution(format!("invalid template {text:?}: {}", e.message)))
}

fn stage_name(stage: &Stage) -> &'static str {
    match stage {
        Stage::LineFilter { .. } => "line filter",
        Stage::Parser(_) => "parser",
        Stage::LabelFilter(_) => "label filter",
        Stage::LineFormat(_) => "line_format",
        Stage::LabelFormat(_) => "label_format",
        Stage::Drop(_) => "drop",
        Stage::Keep(_) => "keep",
        Stage::Decolorize => "decolorize",
        Stage::Unwrap { .. } => "unwrap",
    }
}

/// What templates read.
struct Ctx<'a> {
    labels: &'a LineLabels,
    line: &'a str,
    ts_ns: i64,
}

impl TemplateContext for Ctx<'_> {
    fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name)
    }

    fn line(&self) -> &str {
        self.line
    }

    fn timestamp_ns(&self) -> i64 {
        self.ts_ns
    }
}

/// `label_format`: every operation of the stage reads the labels as they were before the stage.
fn label_format(ops: &[(String, FormatOp)], ts_ns: i64, line: &str, labels: &mut LineLabels) {
    let before = labels.clone();
    let mut renamed: Vec<&str> = Vec::new();
    for (dst, op) in ops {
        match op {
            FormatOp::Rename(src) => {
                let value = before.get(src).unwrap_or("").to_string();
                labels.set(Category::Parsed, dst, &value);
                if src != dst {
                    renamed.push(src);
                }
            }
            FormatOp::Template(t) => {
                let mut out = String::new();
                let ctx = Ctx {
                    labels: &before,
                    line,
                    ts_ns,
                };
                match t.render(&ctx, &mut out) {
                    Ok(()) => labels.set(Category::Parsed, dst, &out),
                    Err(e) => labels.set_error("TemplateFormatErr", &e.message),
                }
            }
        }
    }
    for src in renamed {
        if !ops.iter().any(|(dst, _)| dst == src) {
            labels.delete(src);
        }
    }
}

/// Removes ANSI escape sequences (CSI `ESC [ … final`, and two-byte `ESC x`).
pub fn decolorize(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('[') => {
                chars.next();
                // Parameters and intermediates, then one final byte in '@'..='~'.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(_) => {
                chars.next();
            }
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::logql::ast::Expr;
    use tsdb::Labels;

    fn run(query: &str, line: &str) -> Option<(String, String)> {
        let Expr::Log(expr) = crate::logql::parse(query).expect("parses") else {
            panic!("not a log query")
        };
        let p = Pipeline::compile(&expr.stages).expect("compiles");
        let mut labels = LineLabels::new(Arc::new(Labels::new([("app", "web")]).expect("labels")), &[]);
        let mut line = line.to_string();
        p.process(7_000_000_000, &mut line, &mut labels)
            .then(|| (line, labels.to_labels().to_string()))
    }

    #[test]
    fn filters_parsers_and_formatters() {
        assert_eq!(run(r#"{app="web"} |= "x""#, "abc"), None);
        assert_eq!(
            run(r#"{app="web"} | logfmt | status >= 500"#, "status=503 msg=boom"),
            Some((
                "status=503 msg=boom".into(),
                r#"{app="web", msg="boom", status="503"}"#.into()
            ))
        );
        assert_eq!(run(r#"{app="web"} | logfmt | status >= 500"#, "status=200"), None);
        assert_eq!(
            run(
                r#"{app="web"} | json | line_format "{{.msg}}""#,
                r#"{"msg":"hi","app":"x"}"#
            ),
            Some(("hi".into(), r#"{app="web", app_extracted="x", msg="hi"}"#.into()))
        );
        assert_eq!(
            run(r#"{app="web"} | json"#, "not json"),
            Some((
                "not json".into(),
                run(r#"{app="web"} | json"#, "not json").expect("kept").1
            ))
        );
        let (_, labels) = run(r#"{app="web"} | json"#, "not json").expect("kept");
        assert!(labels.contains(r#"__error__="JSONParserErr""#), "{labels}");
        assert_eq!(run(r#"{app="web"} | json | __error__ = """#, "not json"), None);
        assert_eq!(
            run(
                r#"{app="web"} | regexp "(?P<verb>[A-Z]+) (?P<path>/\\S*)" | drop path"#,
                "GET /x"
            ),
            Some(("GET /x".into(), r#"{app="web", verb="GET"}"#.into()))
        );
        assert_eq!(
            run(r#"{app="web"} | label_format who=app, app="{{.app}}!""#, "l"),
            Some(("l".into(), r#"{app="web!", who="web"}"#.into()))
        );
        assert_eq!(
            run(r#"{app="web"} | logfmt | keep a"#, "a=1 b=2"),
            Some(("a=1 b=2".into(), r#"{a="1"}"#.into()))
        );
        assert_eq!(
            run(r#"{app="web"} | decolorize"#, "\u{1b}[31mred\u{1b}[0m"),
            Some(("red".into(), r#"{app="web"}"#.into()))
        );
    }

    #[test]
    fn unwrap_reads_converts_and_flags() {
        let Expr::Metric(crate::logql::ast::MetricExpr::RangeAggregation(ra)) = crate::logql::parse(
            r#"sum_over_time({app="web"} | logfmt | unwrap duration(took) | took_extracted="" [1m])"#,
        )
        .expect("parses") else {
            panic!("not a range aggregation")
        };
        let p = Pipeline::compile(&ra.log.stages).expect("compiles");
        assert!(p.has_unwrap());
        let stream = Arc::new(Labels::new([("app", "web")]).expect("labels"));
        let mut labels = LineLabels::new(Arc::clone(&stream), &[]);
        let mut line = "took=1.5s path=/".to_string();
        assert!(p.process(0, &mut line, &mut labels));
        assert_eq!(p.extract(&mut labels), Some(1.5));
        assert_eq!(labels.to_labels().to_string(), r#"{app="web", path="/"}"#);
        let mut labels = LineLabels::new(Arc::clone(&stream), &[]);
        let mut line = "took=soon".to_string();
        assert!(p.process(0, &mut line, &mut labels));
        assert_eq!(p.extract(&mut labels), Some(0.0));
        assert!(labels.has_error());
        let mut labels = LineLabels::new(stream, &[]);
        let mut line = "path=/".to_string();
        assert!(p.process(0, &mut line, &mut labels));
        assert_eq!(p.extract(&mut labels), None);
    }

    #[test]
    fn decolorize_strips_sequences() {
        assert_eq!(decolorize("\u{1b}[1;32mok\u{1b}[0m done"), "ok done");
        assert_eq!(decolorize("plain"), "plain");
        assert_eq!(decolorize("trailing \u{1b}"), "trailing ");
    }
}
