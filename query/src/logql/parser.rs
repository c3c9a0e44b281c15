//! The LogQL parser: tokens to a checked [`Expr`].
//!
//! Recursive descent, with precedence climbing for binary operators (PromQL's precedence, `^`
//! right-associative). Log pipelines are parsed in `parser_pipeline`, aggregations and binary
//! operations in `parser_ops`. Nodes are checked as they are built, with Loki's messages where
//! Loki has one (`invalid aggregation sum_over_time without unwrap`, …). Syntax errors read like
//! Loki's (goyacc's) `syntax error: unexpected IDENTIFIER, expecting STRING`. Recursion and tree
//! height are bounded, so hostile input yields an error rather than a stack overflow.

use std::fmt;

use super::ast::{Expr, LogExpr, MetricExpr, RangeOp, VectorOp};
use super::lexer::{Token, TokenKind, tokenize};
use crate::promql::{MAX_NESTING, MAX_TREE_HEIGHT};

/// A syntax or semantic error, at a byte offset of the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the query where the error was detected.
    pub pos: usize,
    /// 1-based line of `pos`.
    pub line: usize,
    /// 1-based column (in bytes) of `pos` within its line.
    pub col: usize,
    /// What went wrong, worded like Loki.
    pub message: String,
}

impl ParseError {
    /// Builds an error at byte `pos` of `input`, computing its line and column.
    pub fn new(input: &str, pos: usize, message: impl Into<String>) -> ParseError {
        let e = crate::promql::ParseError::new(input, pos, message);
        ParseError {
            pos: e.pos,
            line: e.line,
            col: e.col,
            message: e.message,
        }
    }
}

impl fmt::Display for ParseError {
    /// Formats like Loki: `parse error at line 1, col 7: syntax error: unexpected IDENTIFIER`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "parse error at line {}, col {}: {}",
            self.line, self.col, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses a LogQL query (a log query or a metric query).
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(input)?;
    let mut p = Parser {
        input,
        tokens,
        idx: 0,
        nesting: 0,
    };
    let node = p.binary(0)?;
    if p.kind() != &TokenKind::Eof {
        return Err(p.unexpected(""));
    }
    Ok(match node.expr {
        Parsed::Log(log) => Expr::Log(log),
        Parsed::Metric(m) => Expr::Metric(m),
    })
}

/// What a sub-expression parsed into.
pub(super) enum Parsed {
    /// A selector with its pipeline.
    Log(LogExpr),
    /// A metric expression.
    Metric(MetricExpr),
}

/// A parsed sub-expression with its byte span and tree height.
pub(super) struct Node {
    pub(super) expr: Parsed,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) height: u32,
}

pub(super) type PResult<T> = Result<T, ParseError>;

/// Parser state over the token list.
pub(super) struct Parser<'a> {
    pub(super) input: &'a str,
    pub(super) tokens: Vec<Token>,
    pub(super) idx: usize,
    nesting: u32,
}

/// Keywords and their token names in Loki's grammar, for error messages.
const KEYWORDS: [(&str, &str); 27] = [
    ("by", "BY"),
    ("without", "WITHOUT"),
    ("bool", "BOOL"),
    ("on", "ON"),
    ("ignoring", "IGNORING"),
    ("group_left", "GROUP_LEFT"),
    ("group_right", "GROUP_RIGHT"),
    ("offset", "OFFSET"),
    ("and", "AND"),
    ("or", "OR"),
    ("unless", "UNLESS"),
    ("json", "JSON"),
    ("logfmt", "LOGFMT"),
    ("regexp", "REGEXP"),
    ("pattern", "PATTERN"),
    ("unpack", "UNPACK"),
    ("line_format", "LINE_FMT"),
    ("label_format", "LABEL_FMT"),
    ("drop", "DROP"),
    ("keep", "KEEP"),
    ("decolorize", "DECOLORIZE"),
    ("unwrap", "UNWRAP"),
    ("ip", "IP"),
    ("vector", "VECTOR"),
    ("label_replace", "LABEL_REPLACE"),
    ("bytes", "BYTES_CONV"),
    ("duration", "DURATION_CONV"),
];

impl<'a> Parser<'a> {
    pub(super) fn tok(&self) -> &Token {
        &self.tokens[self.idx.min(self.tokens.len() - 1)]
    }

    pub(super) fn kind(&self) -> &TokenKind {
        &self.tok().kind
    }

    pub(super) fn peek_kind(&self, n: usize) -> &TokenKind {
        &self.tokens[(self.idx + n).min(self.tokens.len() - 1)].kind
    }

    /// The text of the token `n` places ahead.
    pub(super) fn peek_text(&self, n: usize) -> &'a str {
        let t = &self.tokens[(self.idx + n).min(self.tokens.len() - 1)];
        self.input.get(t.start..t.end).unwrap_or("")
    }

    pub(super) fn text(&self) -> &'a str {
        self.peek_text(0)
    }

    pub(super) fn start(&self) -> usize {
        self.tok().start
    }

    /// End offset of the previous token.
    pub(super) fn prev_end(&self) -> usize {
        self.tokens[self.idx.saturating_sub(1)].end
    }

    pub(super) fn bump(&mut self) {
        if self.idx < self.tokens.len() - 1 {
            self.idx += 1;
        }
    }

    /// True when the current token is the keyword `word` (case-sensitive, as in Loki).
    pub(super) fn at_keyword(&self, word: &str) -> bool {
        self.kind() == &TokenKind::Ident && self.text() == word
    }

    pub(super) fn error(&self, pos: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.input, pos, message)
    }

    /// `syntax error: unexpected <token>[, expecting <expected>]` at the current token.
    pub(super) fn unexpected(&self, expected: &str) -> ParseError {
        let mut msg = format!("syntax error: unexpected {}", self.describe());
        if !expected.is_empty() {
            msg.push_str(", expecting ");
            msg.push_str(expected);
        }
        self.error(self.start(), msg)
    }

    /// The current token's name in Loki's grammar.
    fn describe(&self) -> String {
        let name = match self.kind() {
            TokenKind::Eof => "$end",
            TokenKind::Number(_) => "NUMBER",
            TokenKind::Duration(_) => "DURATION",
            TokenKind::Bytes(_) => "BYTES",
            TokenKind::Str(_) => "STRING",
            TokenKind::Flag => "PARSER_FLAG",
            TokenKind::Ident => {
                let text = self.text();
                if let Some((_, name)) = KEYWORDS.iter().find(|(k, _)| *k == text) {
                    name
                } else if RangeOp::from_name(text).is_some() || VectorOp::from_name(text).is_some() {
                    return text.to_ascii_uppercase();
                } else {
                    "IDENTIFIER"
                }
            }
            TokenKind::LParen => "OPEN_PARENTHESIS",
            TokenKind::RParen => "CLOSE_PARENTHESIS",
            TokenKind::LBrace => "OPEN_BRACE",
            TokenKind::RBrace => "CLOSE_BRACE",
            TokenKind::LBracket => "OPEN_BRACKET",
            TokenKind::RBracket => "CLOSE_BRACKET",
            TokenKind::Comma => "COMMA",
            TokenKind::Pipe => "PIPE",
            TokenKind::PipeExact => "PIPE_EXACT",
            TokenKind::PipeMatch => "PIPE_MATCH",
            TokenKind::PipePattern => "PIPE_PATTERN",
            TokenKind::Neq => "NEQ",
            TokenKind::Nre => "NRE",
            TokenKind::NotPattern => "NPA",
            TokenKind::Eq => "EQ",
            TokenKind::CmpEq => "CMP_EQ",
            TokenKind::Re => "RE",
            TokenKind::Gt => "GT",
            TokenKind::Gte => "GTE",
            TokenKind::Lt => "LT",
            TokenKind::Lte => "LTE",
            TokenKind::Add => "ADD",
            TokenKind::Sub => "SUB",
            TokenKind::Mul => "MUL",
            TokenKind::Div => "DIV",
            TokenKind::Mod => "MOD",
            TokenKind::Pow => "POW",
        };
        name.to_string()
    }

    /// Consumes a token of `kind` or fails with `expected`.
    pub(super) fn expect(&mut self, kind: &TokenKind, expected: &str) -> PResult<usize> {
        if self.kind() != kind {
            return Err(self.unexpected(expected));
        }
        let end = self.tok().end;
        self.bump();
        Ok(end)
    }

    /// Consumes an identifier and returns its text.
    pub(super) fn ident(&mut self) -> PResult<String> {
        if self.kind() != &TokenKind::Ident {
            return Err(self.unexpected("IDENTIFIER"));
        }
        let s = self.text().to_string();
        self.bump();
        Ok(s)
    }

    /// Consumes a string literal and returns its value and start offset.
    pub(super) fn string(&mut self) -> PResult<(String, usize)> {
        let TokenKind::Str(s) = self.kind().clone() else {
            return Err(self.unexpected("STRING"));
        };
        let start = self.start();
        self.bump();
        Ok((s, start))
    }

    /// Enters one level of recursion, failing past [`MAX_NESTING`].
    pub(super) fn enter(&mut self) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.error(
                self.start(),
                format!("expression is nested too deeply (more than {MAX_NESTING} levels)"),
            ));
        }
        Ok(())
    }

    /// Leaves a level entered with [`Parser::enter`].
    pub(super) fn leave(&mut self) {
        self.nesting = self.nesting.saturating_sub(1);
    }

    /// Fails when a tree of `height` would be taller than [`MAX_TREE_HEIGHT`].
    pub(super) fn check_height(&self, height: u32, pos: usize) -> PResult<()> {
        if height > MAX_TREE_HEIGHT {
            return Err(self.error(
                pos,
                format!("expression is nested too deeply (more than {MAX_TREE_HEIGHT} levels)"),
            ));
        }
        Ok(())
    }

    /// Unwraps a metric node, failing on a log query.
    pub(super) fn metric(&self, node: Node) -> PResult<(MetricExpr, usize, u32)> {
        match node.expr {
            Parsed::Metric(m) => Ok((m, node.start, node.height)),
            Parsed::Log(_) => Err(self.error(
                node.start,
                "syntax error: unexpected log query, expecting a metric query",
            )),
        }
    }

    /// A primary expression: a literal, a parenthesised expression, a log query, an aggregation,
    /// `vector(…)` or `label_replace(…)`.
    pub(super) fn primary(&mut self) -> PResult<Node> {
        let start = self.start();
        match self.kind().clone() {
            TokenKind::Number(v) => {
                self.bump();
                Ok(self.literal(v, start))
            }
            TokenKind::Add | TokenKind::Sub => {
                let negative = self.kind() == &TokenKind::Sub;
                self.bump();
                let v = self.number_literal()?;
                Ok(self.literal(if negative { -v } else { v }, start))
            }
            TokenKind::LParen => {
                self.bump();
                self.enter()?;
                let mut inner = self.binary(0)?;
                self.leave();
                inner.end = self.expect(&TokenKind::RParen, "CLOSE_PARENTHESIS")?;
                inner.start = start;
                Ok(inner)
            }
            TokenKind::LBrace => {
                let log = self.log_expr(false)?;
                Ok(Node {
                    expr: Parsed::Log(log),
                    start,
                    end: self.prev_end(),
                    height: 1,
                })
            }
            TokenKind::Ident => {
                let word = self.text();
                if word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("nan") {
                    let v = self.number_literal()?;
                    return Ok(self.literal(v, start));
                }
                let next = self.peek_kind(1);
                let next_is_grouping = next == &TokenKind::Ident && matches!(self.peek_text(1), "by" | "without");
                if let Some(op) = RangeOp::from_name(word)
                    && next == &TokenKind::LParen
                {
                    return self.range_aggregation(op);
                }
                if let Some(op) = VectorOp::from_name(word)
                    && (next == &TokenKind::LParen || next_is_grouping)
                {
                    return self.vector_aggregation(op);
                }
                match word {
                    "vector" => self.vector(),
                    "label_replace" => self.label_replace(),
                    _ => Err(self.unexpected("")),
                }
            }
            _ => Err(self.unexpected("")),
        }
    }

    /// A number (or `Inf` / `NaN`, which Loki's lexer lacks but its printer emits).
    pub(super) fn number_literal(&mut self) -> PResult<f64> {
        let v = match self.kind() {
            TokenKind::Number(v) => *v,
            TokenKind::Ident if self.text().eq_ignore_ascii_case("inf") => f64::INFINITY,
            TokenKind::Ident if self.text().eq_ignore_ascii_case("nan") => f64::NAN,
            _ => return Err(self.unexpected("NUMBER")),
        };
        self.bump();
        Ok(v)
    }

    fn literal(&self, v: f64, start: usize) -> Node {
        Node {
            expr: Parsed::Metric(MetricExpr::Literal(v)),
            start,
            end: self.prev_end(),
            height: 1,
        }
    }

    /// `[duration]`; returns nanoseconds.
    pub(super) fn range(&mut self) -> PResult<i64> {
        self.expect(&TokenKind::LBracket, "RANGE")?;
        let TokenKind::Duration(ns) = *self.kind() else {
            return Err(self.unexpected("DURATION"));
        };
        self.bump();
        self.expect(&TokenKind::RBracket, "CLOSE_BRACKET")?;
        Ok(ns)
    }

    /// An optional `offset duration`; returns nanoseconds (0 when absent).
    pub(super) fn offset(&mut self) -> PResult<i64> {
        if !self.at_keyword("offset") {
            return Ok(0);
        }
        self.bump();
        let TokenKind::Duration(ns) = *self.kind() else {
            return Err(self.unexpected("DURATION"));
        };
        self.bump();
        Ok(ns)
    }

    /// The log part of a range aggregation: a selector, a pipeline (which may end with
    /// `| unwrap`), a range and an optional offset, in any of the orders Loki accepts:
    /// `sel pipe [r]`, `sel [r] pipe`, `(sel pipe) [r]`, `(sel pipe [r])`.
    pub(super) fn log_range(&mut self) -> PResult<(LogExpr, i64, i64)> {
        let (log, range) = self.log_range_inner()?;
        match range {
            Some((range, offset)) => Ok((log, range, offset)),
            None => {
                let range = self.range()?;
                let offset = self.offset()?;
                Ok((log, range, offset))
            }
        }
    }

    /// Like [`Parser::log_range`], but the range may be missing (it then follows a `)`).
    fn log_range_inner(&mut self) -> PResult<(LogExpr, Option<(i64, i64)>)> {
        if self.kind() == &TokenKind::LParen {
            self.bump();
            self.enter()?;
            let (log, range) = self.log_range_inner()?;
            self.leave();
            self.expect(&TokenKind::RParen, "CLOSE_PARENTHESIS")?;
            return Ok((log, range));
        }
        if self.kind() != &TokenKind::LBrace {
            return Err(self.unexpected("OPEN_BRACE"));
        }
        let mut log = self.log_expr(true)?;
        if self.kind() != &TokenKind::LBracket {
            return Ok((log, None));
        }
        let range = self.range()?;
        let offset = self.offset()?;
        if log.stages.is_empty() {
            self.pipeline(&mut log.stages, true)?;
        }
        Ok((log, Some((range, offset))))
    }
}

/// True for a label name `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(super) fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
