//! Parsing of LogQL stream selectors and pipelines: line filters, parsers, label filters,
//! formatters, `drop` / `keep`, `decolorize` and `unwrap`, with Loki's parse-time checks
//! (regexes compile, `regexp` has named groups, `pattern` has captures, templates close their
//! actions, a selector has a matcher that cannot match the empty string).

use tsdb::{MatchType, Matcher};

use super::ast::{
    CmpOp, Extraction, FilterValue, LabelFilterExpr, LabelFormat, LabelFormatValue, LabelSelect, LineFilterOp, LogExpr,
    ParserStage, Stage, UnwrapConversion,
};
use super::lexer::TokenKind;
use super::parser::{PResult, Parser, is_label_name};

/// Loki's message for a selector whose matchers all match the empty string.
pub const EMPTY_SELECTOR: &str = "queries require at least one regexp or equality matcher that does not have an \
     empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

impl Parser<'_> {
    /// `{matchers} pipeline`; `allow_unwrap` inside range aggregations.
    pub(super) fn log_expr(&mut self, allow_unwrap: bool) -> PResult<LogExpr> {
        let matchers = self.selector()?;
        let mut stages = Vec::new();
        self.pipeline(&mut stages, allow_unwrap)?;
        Ok(LogExpr { matchers, stages })
    }

    /// `{a="b", c=~"d"}`: at least one matcher, one of which is `=` or `=~` and does not match
    /// the empty string.
    fn selector(&mut self) -> PResult<Vec<Matcher>> {
        let start = self.start();
        self.expect(&TokenKind::LBrace, "OPEN_BRACE")?;
        let mut matchers = Vec::new();
        loop {
            let m = self.matcher()?;
            matchers.push(m);
            match self.kind() {
                TokenKind::Comma => self.bump(),
                TokenKind::RBrace => break,
                _ => return Err(self.unexpected("COMMA or CLOSE_BRACE")),
            }
        }
        self.bump();
        let selective = matchers
            .iter()
            .any(|m| matches!(m.match_type(), MatchType::Equal | MatchType::Regex) && !m.matches_empty());
        if !selective {
            return Err(self.error(start, EMPTY_SELECTOR));
        }
        Ok(matchers)
    }

    /// `name op "value"` with `= != =~ !~`; regexes are checked. With `required_op` false, a
    /// bare name is allowed and returned as `Err(name)` (for `drop` / `keep`).
    fn matcher_or_name(&mut self, required_op: bool) -> PResult<Result<Matcher, String>> {
        if self.kind() != &TokenKind::Ident || !is_label_name(self.text()) {
            return Err(self.unexpected("IDENTIFIER"));
        }
        let name = self.text().to_string();
        self.bump();
        let mt = match self.kind() {
            TokenKind::Eq => MatchType::Equal,
            TokenKind::Neq => MatchType::NotEqual,
            TokenKind::Re => MatchType::Regex,
            TokenKind::Nre => MatchType::NotRegex,
            _ if !required_op => return Ok(Err(name)),
            _ => return Err(self.unexpected("EQ or NEQ or RE or NRE")),
        };
        self.bump();
        let (value, pos) = self.string()?;
        self.build_matcher(mt, name, value, pos).map(Ok)
    }

    /// `name op "value"` (the operator is required).
    fn matcher(&mut self) -> PResult<Matcher> {
        match self.matcher_or_name(true)? {
            Ok(m) => Ok(m),
            Err(_) => Err(self.unexpected("EQ")),
        }
    }

    /// A matcher, checking its regex first so errors read like Go's.
    fn build_matcher(&self, mt: MatchType, name: String, value: String, pos: usize) -> PResult<Matcher> {
        if matches!(mt, MatchType::Regex | MatchType::NotRegex) {
            check_regex(&value).map_err(|e| self.error(pos, e))?;
        }
        Matcher::new(mt, name, value).map_err(|e| self.error(pos, e.to_string()))
    }

    /// Any number of stages. After `| unwrap`, only label filters may follow.
    pub(super) fn pipeline(&mut self, stages: &mut Vec<Stage>, allow_unwrap: bool) -> PResult<()> {
        loop {
            let unwrapped = stages.iter().any(|s| matches!(s, Stage::Unwrap { .. }));
            let op = match self.kind() {
                TokenKind::PipeExact => LineFilterOp::Contains,
                TokenKind::Neq => LineFilterOp::NotContains,
                TokenKind::PipeMatch => LineFilterOp::Regex,
                TokenKind::Nre => LineFilterOp::NotRegex,
                TokenKind::PipePattern => LineFilterOp::Pattern,
                TokenKind::NotPattern => LineFilterOp::NotPattern,
                TokenKind::Pipe => {
                    let pos = self.start();
                    self.bump();
                    let stage = self.stage_after_pipe(allow_unwrap && !unwrapped)?;
                    if unwrapped && !matches!(stage, Stage::LabelFilter(_)) {
                        return Err(self.error(pos, "syntax error: only label filters may follow unwrap"));
                    }
                    stages.push(stage);
                    continue;
                }
                _ => return Ok(()),
            };
            // `!=` is also the binary operator: only a string or `ip(` makes it a line filter.
            let is_filter = matches!(self.peek_kind(1), TokenKind::Str(_))
                || (self.peek_text(1) == "ip" && self.peek_kind(2) == &TokenKind::LParen);
            if !is_filter {
                if op == LineFilterOp::NotContains {
                    return Ok(());
                }
                self.bump();
                return Err(self.unexpected("STRING or IP"));
            }
            if unwrapped {
                return Err(self.unexpected("PIPE"));
            }
            self.bump();
            self.line_filter(op, stages)?;
        }
    }

    /// The values of a line filter after its operator: `"a" or ip("b") or …`.
    fn line_filter(&mut self, op: LineFilterOp, stages: &mut Vec<Stage>) -> PResult<()> {
        let mut values = Vec::new();
        loop {
            values.push(self.filter_value(op)?);
            let more =
                self.at_keyword("or") && (matches!(self.peek_kind(1), TokenKind::Str(_)) || self.peek_text(1) == "ip");
            if !more {
                break;
            }
            self.bump();
        }
        if op.is_negative() {
            // !(a or b) == !a and !b: Loki rewrites the chain into separate filters.
            stages.extend(values.into_iter().map(|v| Stage::LineFilter { op, values: vec![v] }));
        } else {
            stages.push(Stage::LineFilter { op, values });
        }
        Ok(())
    }

    fn filter_value(&mut self, op: LineFilterOp) -> PResult<FilterValue> {
        if self.at_keyword("ip") {
            if !matches!(op, LineFilterOp::Contains | LineFilterOp::NotContains) {
                return Err(self.unexpected("STRING"));
            }
            self.bump();
            self.expect(&TokenKind::LParen, "OPEN_PARENTHESIS")?;
            let (pattern, pos) = self.string()?;
            self.expect(&TokenKind::RParen, "CLOSE_PARENTHESIS")?;
            check_ip(&pattern).map_err(|e| self.error(pos, e))?;
            return Ok(FilterValue::Ip(pattern));
        }
        let (s, pos) = self.string()?;
        match op {
            LineFilterOp::Regex | LineFilterOp::NotRegex => check_regex(&s).map_err(|e| self.error(pos, e))?,
            LineFilterOp::Pattern | LineFilterOp::NotPattern => {
                let captures = pattern_captures(&s).map_err(|e| self.error(pos, format!("invalid pattern: {e}")))?;
                if captures.iter().any(|c| *c != "_") {
                    return Err(self.error(pos, "invalid pattern: named captures are not allowed in line filters"));
                }
            }
            LineFilterOp::Contains | LineFilterOp::NotContains => {}
        }
        Ok(FilterValue::Str(s))
    }

    /// The stage after `|`: a parser, formatter, label filter, `drop`, `keep`, `decolorize` or
    /// (when allowed) `unwrap`.
    fn stage_after_pipe(&mut self, allow_unwrap: bool) -> PResult<Stage> {
        if self.kind() == &TokenKind::LParen {
            return Ok(Stage::LabelFilter(self.label_filter_or()?.0));
        }
        if self.kind() != &TokenKind::Ident {
            return Err(self.unexpected("IDENTIFIER"));
        }
        // A keyword directly followed by a comparison is a label of that name, except before
        // `!=` / `!~`, which may be line filters after an argument-less stage (`| unpack != "x"`).
        let keyword = matches!(self.text(), "json" | "logfmt" | "unpack" | "decolorize");
        let line_filter_op = matches!(self.peek_kind(1), TokenKind::Neq | TokenKind::Nre);
        if is_comparison(self.peek_kind(1)) && !(keyword && line_filter_op) {
            return Ok(Stage::LabelFilter(self.label_filter_or()?.0));
        }
        let stage = match self.text() {
            "json" => {
                self.bump();
                Stage::Parser(ParserStage::Json(self.extractions()?))
            }
            "logfmt" => {
                self.bump();
                let (mut strict, mut keep_empty) = (false, false);
                while self.kind() == &TokenKind::Flag {
                    match self.text() {
                        "--strict" => strict = true,
                        "--keep-empty" => keep_empty = true,
                        flag => return Err(self.error(self.start(), format!("invalid logfmt flag: {flag}"))),
                    }
                    self.bump();
                }
                let extractions = self.extractions()?;
                Stage::Parser(ParserStage::Logfmt {
                    strict,
                    keep_empty,
                    extractions,
                })
            }
            "regexp" => {
                self.bump();
                let (re, pos) = self.string()?;
                check_regexp_parser(&re).map_err(|e| self.error(pos, e))?;
                Stage::Parser(ParserStage::Regexp(re))
            }
            "pattern" => {
                self.bump();
                let (p, pos) = self.string()?;
                let captures =
                    pattern_captures(&p).map_err(|e| self.error(pos, format!("invalid pattern parser: {e}")))?;
                let mut named: Vec<&str> = captures.into_iter().filter(|c| *c != "_").collect();
                if named.is_empty() {
                    return Err(self.error(pos, "invalid pattern parser: at least one capture is required"));
                }
                named.sort_unstable();
                if let Some(w) = named.windows(2).find(|w| w[0] == w[1]) {
                    let msg = format!("invalid pattern parser: duplicate capture name ({})", w[0]);
                    return Err(self.error(pos, msg));
                }
                Stage::Parser(ParserStage::Pattern(p))
            }
            "unpack" => {
                self.bump();
                Stage::Parser(ParserStage::Unpack)
            }
            "decolorize" => {
                self.bump();
                Stage::Decolorize
            }
            "line_format" => {
                self.bump();
                let (t, pos) = self.string()?;
                check_template(&t).map_err(|e| self.error(pos, format!("invalid line_format template: {e}")))?;
                Stage::LineFormat(t)
            }
            "label_format" => {
                self.bump();
                Stage::LabelFormat(self.label_formats()?)
            }
            "drop" | "keep" => {
                let drop = self.text() == "drop";
                self.bump();
                let mut items = Vec::new();
                loop {
                    items.push(match self.matcher_or_name(false)? {
                        Ok(m) => LabelSelect::Matcher(m),
                        Err(name) => LabelSelect::Name(name),
                    });
                    if self.kind() != &TokenKind::Comma {
                        break;
                    }
                    self.bump();
                }
                if drop { Stage::Drop(items) } else { Stage::Keep(items) }
            }
            "unwrap" => {
                if !allow_unwrap {
                    return Err(self.unexpected(""));
                }
                self.bump();
                self.unwrap_stage()?
            }
            _ => Stage::LabelFilter(self.label_filter_or()?.0),
        };
        Ok(stage)
    }

    /// `x`, `duration(x)`, `duration_seconds(x)` or `bytes(x)` after `unwrap`.
    fn unwrap_stage(&mut self) -> PResult<Stage> {
        let conversion = match self.text() {
            "bytes" => Some(UnwrapConversion::Bytes),
            "duration" => Some(UnwrapConversion::Duration),
            "duration_seconds" => Some(UnwrapConversion::DurationSeconds),
            _ => None,
        }
        .filter(|_| self.kind() == &TokenKind::Ident && self.peek_kind(1) == &TokenKind::LParen);
        if conversion.is_some() {
            self.bump();
            self.bump();
        }
        let label = self.ident()?;
        if conversion.is_some() {
            self.expect(&TokenKind::RParen, "CLOSE_PARENTHESIS")?;
        }
        Ok(Stage::Unwrap { label, conversion })
    }

    /// `a="p.q", b, …` after `json` / `logfmt` (possibly none).
    fn extractions(&mut self) -> PResult<Vec<Extraction>> {
        let mut out = Vec::new();
        while self.kind() == &TokenKind::Ident {
            let label = self.ident()?;
            let expr = if self.kind() == &TokenKind::Eq {
                self.bump();
                self.string()?.0
            } else {
                label.clone()
            };
            out.push(Extraction { label, expr });
            if self.kind() != &TokenKind::Comma {
                break;
            }
            self.bump();
            if self.kind() != &TokenKind::Ident {
                return Err(self.unexpected("IDENTIFIER"));
            }
        }
        Ok(out)
    }

    /// `dst=src, dst="{{template}}", …` after `label_format`.
    fn label_formats(&mut self) -> PResult<Vec<LabelFormat>> {
        let mut out: Vec<LabelFormat> = Vec::new();
        loop {
            let pos = self.start();
            let dst = self.ident()?;
            self.expect(&TokenKind::Eq, "EQ")?;
            let value = match self.kind().clone() {
                TokenKind::Ident => LabelFormatValue::Rename(self.ident()?),
                TokenKind::Str(_) => {
                    let (t, tpos) = self.string()?;
                    check_template(&t).map_err(|e| self.error(tpos, format!("invalid label_format template: {e}")))?;
                    LabelFormatValue::Template(t)
                }
                _ => return Err(self.unexpected("IDENTIFIER or STRING")),
            };
            if out.iter().any(|f| f.dst == dst) {
                return Err(self.error(pos, format!("multiple label name '{dst}' appears in formatting")));
            }
            out.push(LabelFormat { dst, value });
            if self.kind() != &TokenKind::Comma {
                return Ok(out);
            }
            self.bump();
        }
    }

    /// `a or b or …` over and-chains; returns the filter and its tree height.
    fn label_filter_or(&mut self) -> PResult<(LabelFilterExpr, u32)> {
        let start = self.start();
        let (mut lhs, mut h) = self.label_filter_and()?;
        while self.at_keyword("or") {
            self.bump();
            let (rhs, rh) = self.label_filter_and()?;
            h = h.max(rh) + 1;
            self.check_height(h, start)?;
            lhs = LabelFilterExpr::Or(Box::new(lhs), Box::new(rhs));
        }
        Ok((lhs, h))
    }

    /// `a and b`, `a, b` or `a b`; binds tighter than `or`.
    fn label_filter_and(&mut self) -> PResult<(LabelFilterExpr, u32)> {
        let start = self.start();
        let (mut lhs, mut h) = self.label_filter_primary()?;
        loop {
            if self.at_keyword("and") || self.kind() == &TokenKind::Comma {
                self.bump();
            } else if !self.at_label_filter_start() {
                return Ok((lhs, h));
            }
            let (rhs, rh) = self.label_filter_primary()?;
            h = h.max(rh) + 1;
            self.check_height(h, start)?;
            lhs = LabelFilterExpr::And(Box::new(lhs), Box::new(rhs));
        }
    }

    /// True at `(` or at `name <comparison>`, where a juxtaposed label filter may start.
    fn at_label_filter_start(&self) -> bool {
        self.kind() == &TokenKind::LParen || (self.kind() == &TokenKind::Ident && is_comparison(self.peek_kind(1)))
    }

    /// `( filter )` or `name op value`.
    fn label_filter_primary(&mut self) -> PResult<(LabelFilterExpr, u32)> {
        if self.kind() == &TokenKind::LParen {
            self.bump();
            self.enter()?;
            let inner = self.label_filter_or()?;
            self.leave();
            self.expect(&TokenKind::RParen, "CLOSE_PARENTHESIS")?;
            return Ok(inner);
        }
        if self.kind() != &TokenKind::Ident || !is_label_name(self.text()) {
            return Err(self.unexpected("IDENTIFIER"));
        }
        let label = self.text().to_string();
        self.bump();
        let op_kind = self.kind().clone();
        if !is_comparison(&op_kind) {
            return Err(self.unexpected("EQ or NEQ or RE or NRE or CMP_EQ or GT or GTE or LT or LTE"));
        }
        self.bump();
        let cmp = match op_kind {
            TokenKind::Eq | TokenKind::CmpEq => CmpOp::Eq,
            TokenKind::Neq => CmpOp::Neq,
            TokenKind::Gt => CmpOp::Gt,
            TokenKind::Gte => CmpOp::Gte,
            TokenKind::Lt => CmpOp::Lt,
            _ => CmpOp::Lte,
        };
        let string_op = match op_kind {
            TokenKind::Eq => Some(MatchType::Equal),
            TokenKind::Neq => Some(MatchType::NotEqual),
            TokenKind::Re => Some(MatchType::Regex),
            TokenKind::Nre => Some(MatchType::NotRegex),
            _ => None,
        };
        let filter = match (self.kind().clone(), string_op) {
            (TokenKind::Str(value), Some(mt)) => {
                let pos = self.start();
                self.bump();
                LabelFilterExpr::Matcher(self.build_matcher(mt, label, value, pos)?)
            }
            (TokenKind::Ident, Some(mt @ (MatchType::Equal | MatchType::NotEqual)))
                if self.at_keyword("ip") && self.peek_kind(1) == &TokenKind::LParen =>
            {
                self.bump();
                self.bump();
                let (pattern, pos) = self.string()?;
                self.expect(&TokenKind::RParen, "CLOSE_PARENTHESIS")?;
                check_ip(&pattern).map_err(|e| self.error(pos, e))?;
                LabelFilterExpr::Ip {
                    label,
                    negated: mt == MatchType::NotEqual,
                    pattern,
                }
            }
            (_, Some(MatchType::Regex | MatchType::NotRegex)) => return Err(self.unexpected("STRING")),
            (TokenKind::Duration(ns), _) => {
                self.bump();
                LabelFilterExpr::Duration { label, op: cmp, ns }
            }
            (TokenKind::Bytes(bytes), _) => {
                self.bump();
                LabelFilterExpr::Bytes { label, op: cmp, bytes }
            }
            (TokenKind::Number(_) | TokenKind::Sub | TokenKind::Add, _) => {
                let negative = self.kind() == &TokenKind::Sub;
                if matches!(self.kind(), TokenKind::Sub | TokenKind::Add) {
                    self.bump();
                }
                let TokenKind::Number(v) = *self.kind() else {
                    return Err(self.unexpected("NUMBER"));
                };
                self.bump();
                let value = if negative { -v } else { v };
                LabelFilterExpr::Number { label, op: cmp, value }
            }
            _ => return Err(self.unexpected("STRING or NUMBER or DURATION or BYTES")),
        };
        Ok((filter, 1))
    }
}

/// True for the operators of label filters.
fn is_comparison(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Eq
            | TokenKind::Neq
            | TokenKind::Re
            | TokenKind::Nre
            | TokenKind::CmpEq
            | TokenKind::Gt
            | TokenKind::Gte
            | TokenKind::Lt
            | TokenKind::Lte
    )
}

/// Checks that `re` compiles; the error reads like Go's: ``error parsing regexp: <why>: `re` ``.
pub(super) fn check_regex(re: &str) -> Result<(), String> {
    match regex::Regex::new(re) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("error parsing regexp: {}: `{re}`", regex_reason(&e))),
    }
}

/// The one-line reason of a regex error (the crate's syntax errors span several lines).
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once("error: ") {
        Some((_, reason)) => reason.trim().to_string(),
        None => text.lines().last().unwrap_or_default().trim().to_string(),
    }
}

/// Checks the expression of `| regexp`: it compiles and names at least one group, and every
/// name is a valid label name.
fn check_regexp_parser(re: &str) -> Result<(), String> {
    let compiled = regex::Regex::new(re).map_err(|e| {
        format!(
            "invalid regexp parser: error parsing regexp: {}: `{re}`",
            regex_reason(&e)
        )
    })?;
    let names: Vec<&str> = compiled.capture_names().flatten().collect();
    if names.is_empty() {
        return Err("invalid regexp parser: at least one named capture must be supplied".to_string());
    }
    if let Some(bad) = names.iter().find(|n| !is_label_name(n)) {
        return Err(format!("invalid regexp parser: invalid extracted label name '{bad}'"));
    }
    Ok(())
}

/// The capture names of a Loki pattern (`_` for `<_>`), failing when two captures touch
/// (`<a><b>`), which Loki rejects as an invalid expression.
pub(super) fn pattern_captures(p: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = p;
    let mut last_was_capture = false;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<')
            && let Some(close) = after.find('>')
            && (after[..close] == *"_" || is_label_name(&after[..close]))
        {
            if last_was_capture {
                return Err("invalid expression: consecutive captures".to_string());
            }
            out.push(&after[..close]);
            last_was_capture = true;
            rest = &after[close + 1..];
            continue;
        }
        last_was_capture = false;
        let step = rest.chars().next().map_or(1, char::len_utf8);
        rest = &rest[step..];
    }
    Ok(out)
}

/// A light check of a Go template: every `{{` action is closed by `}}` and is not empty.
/// (Full template parsing happens when the pipeline is built.)
pub(super) fn check_template(t: &str) -> Result<(), String> {
    let mut rest = t;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err("unclosed action".to_string());
        };
        let body = after[..close].trim_matches(|c: char| c == '-' || c.is_whitespace());
        if body.is_empty() {
            return Err("missing value for command".to_string());
        }
        rest = &after[close + 2..];
    }
    Ok(())
}

/// Checks an `ip("…")` pattern: an address, a CIDR range or an `a-b` range.
fn check_ip(p: &str) -> Result<(), String> {
    use std::net::IpAddr;
    let bad = || format!("invalid ip filter pattern {p:?}");
    if let Some((addr, bits)) = p.split_once('/') {
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
        let bits: u8 = bits.trim().parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        return if bits <= max { Ok(()) } else { Err(bad()) };
    }
    if let Some((a, b)) = p.split_once('-') {
        let a: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let b: IpAddr = b.trim().parse().map_err(|_| bad())?;
        return if a.is_ipv4() == b.is_ipv4() && a <= b {
            Ok(())
        } else {
            Err(bad())
        };
    }
    p.trim().parse::<IpAddr>().map(|_| ()).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(pattern_captures("<a> - <_> \"<b>\""), Ok(vec!["a", "_", "b"]));
        assert_eq!(pattern_captures("<a <b"), Ok(vec![]));
        assert!(pattern_captures("<a><b>").is_err());
        assert_eq!(pattern_captures("é<x>"), Ok(vec!["x"]));
    }

    #[test]
    fn templates_and_ips() {
        assert!(check_template("{{.a}} {{ .b | upper }}").is_ok());
        assert!(check_template("plain }} text").is_ok());
        assert_eq!(check_template("{{.a"), Err("unclosed action".to_string()));
        assert_eq!(check_template("{{ }}"), Err("missing value for command".to_string()));
        assert!(check_ip("10.0.0.0/8").is_ok());
        assert!(check_ip("192.168.0.1-192.168.0.9").is_ok());
        assert!(check_ip("::1").is_ok());
        assert!(check_ip("10.0.0.0/33").is_err());
        assert!(check_ip("nope").is_err());
    }

    #[test]
    fn regex_errors() {
        assert_eq!(
            check_regex("(a"),
            Err("error parsing regexp: unclosed group: `(a`".to_string())
        );
        assert!(check_regexp_parser("(?P<a>x)").is_ok());
        assert!(check_regexp_parser("(x)").is_err());
    }
}
