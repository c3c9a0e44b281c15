//! The PromQL parser: tokens to a type-checked [`Expr`].
//!
//! A recursive-descent parser with precedence climbing for binary operators (see
//! [`BinaryOp::precedence`]). Unary `-`/`+` binds like `*`: tighter than every binary operator
//! except `^`, so `-2 ^ 2` is `-(2 ^ 2)` and `-a * b` is `(-a) * b`. Postfix modifiers (`[range]`,
//! `[range:step]`, `offset`, `@`) bind tightest. Nodes are type-checked as they are built, with
//! Prometheus's error messages. Recursion and tree height are bounded, so hostile input yields
//! an error rather than a stack overflow.

use std::fmt;

use super::ast::{
    AggregateOp, AtModifier, BinaryOp, Expr, MatrixSelector, PosRange, Subquery, UnaryOp, ValueType, VectorSelector,
};
use super::lexer::{Token, TokenKind, tokenize};

/// Deepest allowed parser recursion (nested parentheses, calls, operators).
pub const MAX_NESTING: u32 = 128;
/// Tallest allowed syntax tree (e.g. a chain of 256 binary operators).
pub const MAX_TREE_HEIGHT: u32 = 256;

/// A syntax or type error, at a byte offset of the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the query where the error was detected.
    pub pos: usize,
    /// 1-based line of `pos`.
    pub line: usize,
    /// 1-based column (in bytes) of `pos` within its line.
    pub col: usize,
    /// What went wrong, worded like Prometheus.
    pub message: String,
}

impl ParseError {
    /// Builds an error at byte `pos` of `input`, computing its line and column.
    pub fn new(input: &str, pos: usize, message: impl Into<String>) -> ParseError {
        let pos = pos.min(input.len());
        let before = input.as_bytes().get(..pos).unwrap_or_default();
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let col = pos - before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
        ParseError {
            pos,
            line,
            col,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    /// Formats like Prometheus: `1:5: parse error: unexpected <op:+>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: parse error: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a PromQL expression.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(input)?;
    if tokens.len() == 1 {
        return Err(ParseError::new(input, 0, "no expression found in input"));
    }
    let line_starts = std::iter::once(0)
        .chain(
            input
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    let mut p = Parser {
        input,
        tokens,
        idx: 0,
        nesting: 0,
        bypass_empty_check: false,
        line_starts,
    };
    let node = p.binary(0)?;
    if p.kind() != &TokenKind::Eof {
        return Err(p.unexpected("", ""));
    }
    Ok(node.expr)
}

/// A parsed expression with its byte span and tree height.
pub(super) struct Node {
    pub(super) expr: Expr,
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
    /// Set while parsing the second argument of `info()`, whose selector may match everything.
    pub(super) bypass_empty_check: bool,
    /// Byte offsets where each line of the input starts (the first is 0).
    line_starts: Vec<usize>,
}

/// Words that can never start an expression.
const MODIFIER_KEYWORDS: [&str; 5] = ["on", "ignoring", "group_left", "group_right", "bool"];

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

    pub(super) fn text(&self) -> &'a str {
        let t = self.tok();
        self.input.get(t.start..t.end).unwrap_or("")
    }

    pub(super) fn bump(&mut self) {
        if self.idx < self.tokens.len() - 1 {
            self.idx += 1;
        }
    }

    /// True when the current token is the (case-insensitive) keyword `word`.
    pub(super) fn at_keyword(&self, word: &str) -> bool {
        self.kind() == &TokenKind::Ident && self.text().eq_ignore_ascii_case(word)
    }

    /// The position of a node: its byte range and the line and column of its start.
    pub(super) fn pos_range(&self, node: &Node) -> PosRange {
        let line = self.line_starts.partition_point(|&s| s <= node.start).max(1);
        let line_start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        PosRange {
            start: node.start,
            end: node.end,
            line,
            col: node.start - line_start + 1,
        }
    }

    pub(super) fn error(&self, pos: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.input, pos, message)
    }

    /// `unexpected <token>[ in <context>][, expected <expected>]` at the current token.
    pub(super) fn unexpected(&self, context: &str, expected: &str) -> ParseError {
        let mut msg = format!("unexpected {}", self.describe());
        if !context.is_empty() {
            msg.push_str(" in ");
            msg.push_str(context);
        }
        if !expected.is_empty() {
            msg.push_str(", expected ");
            msg.push_str(expected);
        }
        self.error(self.tok().start, msg)
    }

    /// Describes the current token the way Prometheus's error messages do.
    fn describe(&self) -> String {
        let text = self.text();
        match self.kind() {
            TokenKind::Eof => "end of input".to_string(),
            TokenKind::Number(_) => format!("number {}", go_quote_short(text)),
            TokenKind::Duration(_) => format!("duration {}", go_quote_short(text)),
            TokenKind::Str(_) => format!("string {}", go_quote_short(text)),
            TokenKind::Ident => {
                let lower = text.to_ascii_lowercase();
                if AggregateOp::from_name(&lower).is_some() {
                    format!("<aggr:{lower}>")
                } else if matches!(lower.as_str(), "and" | "or" | "unless" | "atan2") {
                    format!("<op:{lower}>")
                } else if MODIFIER_KEYWORDS.contains(&lower.as_str())
                    || matches!(lower.as_str(), "by" | "without" | "offset" | "start" | "end")
                {
                    format!("<{lower}>")
                } else {
                    format!("identifier {text:?}")
                }
            }
            TokenKind::Add
            | TokenKind::Sub
            | TokenKind::Mul
            | TokenKind::Div
            | TokenKind::Mod
            | TokenKind::Pow
            | TokenKind::EqlC
            | TokenKind::Neq
            | TokenKind::Lte
            | TokenKind::Lss
            | TokenKind::Gte
            | TokenKind::Gtr
            | TokenKind::EqlRegex
            | TokenKind::NeqRegex => format!("<op:{text}>"),
            _ => format!("{text:?}"),
        }
    }

    /// Wraps an expression into a node, enforcing the tree-height bound.
    pub(super) fn node(&self, expr: Expr, start: usize, end: usize, height: u32) -> PResult<Node> {
        if height > MAX_TREE_HEIGHT {
            return Err(self.error(
                start,
                format!("expression is nested too deeply (more than {MAX_TREE_HEIGHT} levels)"),
            ));
        }
        Ok(Node {
            expr,
            start,
            end,
            height,
        })
    }

    pub(super) fn expect(&mut self, kind: &TokenKind, context: &str, expected: &str) -> PResult<usize> {
        if self.kind() != kind {
            return Err(self.unexpected(context, expected));
        }
        let end = self.tok().end;
        self.bump();
        Ok(end)
    }

    /// The binary operator at the current token, if any.
    fn peek_binop(&self) -> Option<BinaryOp> {
        Some(match self.kind() {
            TokenKind::Add => BinaryOp::Add,
            TokenKind::Sub => BinaryOp::Sub,
            TokenKind::Mul => BinaryOp::Mul,
            TokenKind::Div => BinaryOp::Div,
            TokenKind::Mod => BinaryOp::Mod,
            TokenKind::Pow => BinaryOp::Pow,
            TokenKind::EqlC => BinaryOp::Eql,
            TokenKind::Neq => BinaryOp::Neq,
            TokenKind::Lte => BinaryOp::Lte,
            TokenKind::Lss => BinaryOp::Lss,
            TokenKind::Gte => BinaryOp::Gte,
            TokenKind::Gtr => BinaryOp::Gtr,
            TokenKind::Ident => match self.text().to_ascii_lowercase().as_str() {
                "and" => BinaryOp::And,
                "or" => BinaryOp::Or,
                "unless" => BinaryOp::Unless,
                "atan2" => BinaryOp::Atan2,
                _ => return None,
            },
            _ => return None,
        })
    }

    /// Precedence climbing over binary operators of at least `min_prec`.
    pub(super) fn binary(&mut self, min_prec: u8) -> PResult<Node> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.error(
                self.tok().start,
                format!("expression is nested too deeply (more than {MAX_NESTING} levels)"),
            ));
        }
        let mut lhs = self.unary()?;
        while let Some(op) = self.peek_binop() {
            if op.precedence() < min_prec {
                break;
            }
            let op_pos = self.tok().start;
            self.bump();
            let mods = self.bin_modifiers()?;
            let next = if op.is_right_assoc() {
                op.precedence()
            } else {
                op.precedence() + 1
            };
            let rhs = self.binary(next)?;
            lhs = self.make_binary(lhs, op, op_pos, mods, rhs)?;
        }
        self.nesting -= 1;
        Ok(lhs)
    }

    /// `-x`, `+x` (binding like `*`), or a postfix expression.
    fn unary(&mut self) -> PResult<Node> {
        let op = match self.kind() {
            TokenKind::Sub => UnaryOp::Neg,
            TokenKind::Add => UnaryOp::Pos,
            _ => return self.postfix(),
        };
        let start = self.tok().start;
        self.bump();
        let operand = self.binary(BinaryOp::Pow.precedence())?;
        if let Expr::NumberLiteral(v) = operand.expr {
            let v = if op == UnaryOp::Neg { -v } else { v };
            return self.node(Expr::NumberLiteral(v), start, operand.end, operand.height);
        }
        let t = operand.expr.value_type();
        if t != ValueType::Scalar && t != ValueType::Vector {
            return Err(self.error(
                start,
                format!(
                    "unary expression only allowed on expressions of type scalar or instant vector, got {:?}",
                    t.documented()
                ),
            ));
        }
        let expr = Expr::Unary {
            op,
            expr: Box::new(operand.expr),
        };
        self.node(expr, start, operand.end, operand.height + 1)
    }

    /// A primary expression followed by any `[range]`, `[range:step]`, `offset` and `@`.
    fn postfix(&mut self) -> PResult<Node> {
        let mut node = self.primary()?;
        loop {
            node = match self.kind() {
                TokenKind::LBracket => self.range_or_subquery(node)?,
                TokenKind::At => self.at_modifier(node)?,
                TokenKind::Ident if self.at_keyword("offset") => self.offset(node)?,
                _ => return Ok(node),
            };
        }
    }

    fn primary(&mut self) -> PResult<Node> {
        let bypass = std::mem::take(&mut self.bypass_empty_check);
        let (start, end) = (self.tok().start, self.tok().end);
        let expr = match self.kind().clone() {
            TokenKind::Number(v) => Expr::NumberLiteral(v),
            TokenKind::Duration(ms) => Expr::NumberLiteral(ms as f64 / 1000.0),
            TokenKind::Str(s) => Expr::StringLiteral(s),
            TokenKind::LParen => {
                self.bump();
                let inner = self.binary(0)?;
                let end = self.expect(&TokenKind::RParen, "", "")?;
                return self.node(Expr::Paren(Box::new(inner.expr)), start, end, inner.height + 1);
            }
            TokenKind::LBrace => return self.selector(None, start, bypass),
            TokenKind::Ident => {
                let word = self.text();
                let next = self.peek_kind(1);
                let next_is_group = self.tokens.get(self.idx + 1).is_some_and(|t| {
                    t.kind == TokenKind::Ident && {
                        let w = self.input.get(t.start..t.end).unwrap_or("");
                        w.eq_ignore_ascii_case("by") || w.eq_ignore_ascii_case("without")
                    }
                });
                if let Some(op) = AggregateOp::from_name(word)
                    && (next == &TokenKind::LParen || next_is_group)
                {
                    return self.aggregate(op);
                }
                if MODIFIER_KEYWORDS.iter().any(|k| word.eq_ignore_ascii_case(k)) {
                    return Err(self.unexpected("", ""));
                }
                if next == &TokenKind::LParen {
                    return self.call();
                }
                self.bump();
                return self.selector(Some(word.to_string()), start, bypass);
            }
            _ => return Err(self.unexpected("", "")),
        };
        self.bump();
        self.node(expr, start, end, 1)
    }

    /// A duration (or a number of seconds) inside brackets or after `offset`.
    fn duration_value(&mut self, context: &str, expected: &str) -> PResult<i64> {
        let ms = match *self.kind() {
            TokenKind::Duration(ms) => ms,
            TokenKind::Number(secs) => {
                if !secs.is_finite() || secs.abs() > 9.2e9 {
                    return Err(self.error(self.tok().start, "duration out of range"));
                }
                (secs * 1000.0).round() as i64
            }
            _ => return Err(self.unexpected(context, expected)),
        };
        self.bump();
        Ok(ms)
    }

    fn range_or_subquery(&mut self, node: Node) -> PResult<Node> {
        let open = self.tok().start;
        self.bump();
        let range = self.duration_value("subquery selector", "duration")?;
        if range <= 0 {
            return Err(self.error(open, "duration must be greater than 0"));
        }
        match self.kind() {
            TokenKind::RBracket => {
                let end = self.tok().end;
                self.bump();
                let vs = match node.expr {
                    Expr::VectorSelector(vs) => vs,
                    _ => return Err(self.error(open, "ranges only allowed for vector selectors")),
                };
                if vs.offset != 0 {
                    return Err(self.error(open, "no offset modifiers allowed before range"));
                }
                if vs.at.is_some() {
                    return Err(self.error(open, "no @ modifiers allowed before range"));
                }
                self.node(
                    Expr::MatrixSelector(MatrixSelector { vs, range }),
                    node.start,
                    end,
                    node.height,
                )
            }
            TokenKind::Colon => {
                self.bump();
                let step = match self.kind() {
                    TokenKind::RBracket => None,
                    _ => Some(self.duration_value("subquery selector", "duration or \"]\"")?),
                };
                if step.is_some_and(|s| s <= 0) {
                    return Err(self.error(open, "duration must be greater than 0"));
                }
                let end = self.expect(&TokenKind::RBracket, "subquery selector", "\"]\"")?;
                let t = node.expr.value_type();
                if t != ValueType::Vector {
                    let msg = format!("subquery is only allowed on instant vector, got {} instead", t.as_str());
                    return Err(self.error(node.start, msg));
                }
                let sq = Subquery {
                    expr: Box::new(node.expr),
                    range,
                    step,
                    offset: 0,
                    at: None,
                };
                self.node(Expr::Subquery(sq), node.start, end, node.height + 1)
            }
            _ => Err(self.unexpected("subquery or range", "\":\" or \"]\"")),
        }
    }

    fn offset(&mut self, mut node: Node) -> PResult<Node> {
        self.bump();
        let negative = self.kind() == &TokenKind::Sub;
        if negative {
            self.bump();
        }
        let ms = self.duration_value("offset", "duration")?;
        let ms = if negative { -ms } else { ms };
        let end = self.tokens[self.idx.saturating_sub(1)].end;
        let slot = match &mut node.expr {
            Expr::VectorSelector(vs) => &mut vs.offset,
            Expr::MatrixSelector(ms) => &mut ms.vs.offset,
            Expr::Subquery(sq) => &mut sq.offset,
            _ => {
                let msg = "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery";
                return Err(self.error(node.start, msg));
            }
        };
        if *slot != 0 {
            return Err(self.error(node.start, "offset may not be set multiple times"));
        }
        *slot = ms;
        node.end = end;
        Ok(node)
    }

    fn at_modifier(&mut self, mut node: Node) -> PResult<Node> {
        self.bump();
        let at = if self.at_keyword("start") || self.at_keyword("end") {
            let at = if self.at_keyword("start") {
                AtModifier::Start
            } else {
                AtModifier::End
            };
            self.bump();
            self.expect(&TokenKind::LParen, "@", "\"(\"")?;
            self.expect(&TokenKind::RParen, "@", "\")\"")?;
            at
        } else {
            let negative = self.kind() == &TokenKind::Sub;
            if matches!(self.kind(), TokenKind::Sub | TokenKind::Add) {
                self.bump();
            }
            let v = match *self.kind() {
                TokenKind::Number(v) => v,
                TokenKind::Duration(ms) => ms as f64 / 1000.0,
                _ => return Err(self.unexpected("@", "timestamp")),
            };
            let ts = if negative { -v } else { v };
            let ms = ts * 1000.0;
            if !ms.is_finite() || ms >= i64::MAX as f64 || ms <= i64::MIN as f64 {
                return Err(self.error(node.start, format!("timestamp out of bounds for @ modifier: {ts:.6}")));
            }
            self.bump();
            AtModifier::Timestamp(ms.round() as i64)
        };
        let slot = match &mut node.expr {
            Expr::VectorSelector(vs) => &mut vs.at,
            Expr::MatrixSelector(ms) => &mut ms.vs.at,
            Expr::Subquery(sq) => &mut sq.at,
            _ => {
                let msg =
                    "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery";
                return Err(self.error(node.start, msg));
            }
        };
        if slot.is_some() {
            return Err(self.error(node.start, "@ <timestamp> may not be set multiple times"));
        }
        *slot = Some(at);
        node.end = self.tokens[self.idx.saturating_sub(1)].end;
        Ok(node)
    }

    /// A vector selector: an optional metric name already consumed, then optional `{…}`.
    ///
    /// Like Prometheus 3, a name outside the braces may not be repeated by any `__name__` matcher
    /// inside them, but names inside them (quoted, or `__name__` matchers) may repeat. A single
    /// quoted name inside the braces with no other `__name__` matcher counts as the metric name.
    fn selector(&mut self, name: Option<String>, start: usize, bypass: bool) -> PResult<Node> {
        let mut end = self.tokens[self.idx.saturating_sub(1)].end;
        let mut matchers = Vec::new();
        let mut inner_names = Vec::new();
        if self.kind() == &TokenKind::LBrace {
            self.bump();
            end = self.label_matchers(&mut matchers, &mut inner_names)?;
        }
        let name_matchers = matchers.iter().filter(|m| m.name() == tsdb::METRIC_NAME).count();
        let name = match (name, inner_names.as_slice()) {
            (Some(outer), _) => {
                if let Some(m) = matchers.iter().find(|m| m.name() == tsdb::METRIC_NAME) {
                    return Err(self.error(
                        start,
                        format!("metric name must not be set twice: {outer:?} or {:?}", m.value()),
                    ));
                }
                Some(outer)
            }
            (None, &[i]) if name_matchers == 1 => Some(matchers.remove(i).value().to_string()),
            (None, _) => None,
        };
        if let Some(n) = &name {
            let m = tsdb::Matcher::new(tsdb::MatchType::Equal, tsdb::METRIC_NAME, n.as_str())
                .map_err(|e| self.error(start, e.to_string()))?;
            matchers.push(m);
        } else if !bypass && matchers.iter().all(|m| m.matches_empty()) {
            return Err(self.error(start, "vector selector must contain at least one non-empty matcher"));
        }
        let vs = VectorSelector {
            name,
            matchers,
            offset: 0,
            at: None,
        };
        self.node(Expr::VectorSelector(vs), start, end, 1)
    }
}

/// Go's `%.10q`: the first ten characters quoted, then `...` when the text was longer.
fn go_quote_short(s: &str) -> String {
    if s.chars().count() > 10 {
        let head: String = s.chars().take(10).collect();
        format!("{head:?}...")
    } else {
        format!("{s:?}")
    }
}
