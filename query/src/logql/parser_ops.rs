//! Parsing of LogQL's metric operations: binary operators (with `bool`, `on` / `ignoring`,
//! `group_left` / `group_right`), range and vector aggregations, `vector()` and
//! `label_replace()`.

use super::ast::{
    BinaryOp, Cardinality, Grouping, MetricExpr, RangeAggregation, RangeOp, Stage, VectorAggregation, VectorMatching,
    VectorOp,
};
use super::lexer::TokenKind;
use super::parser::{Node, PResult, Parsed, Parser, is_label_name};
use super::parser_pipeline::check_regex;

/// The modifiers written after a binary operator.
struct BinModifiers {
    return_bool: bool,
    matching: Option<VectorMatching>,
}

impl Parser<'_> {
    /// Precedence climbing over binary operators of at least `min_prec`.
    pub(super) fn binary(&mut self, min_prec: u8) -> PResult<Node> {
        self.enter()?;
        let mut lhs = self.primary()?;
        while let Some(op) = self.peek_binop() {
            if op.precedence() < min_prec {
                break;
            }
            let op_pos = self.start();
            self.bump();
            let mods = self.bin_modifiers()?;
            let next = if op == BinaryOp::Pow {
                op.precedence()
            } else {
                op.precedence() + 1
            };
            let rhs = self.binary(next)?;
            lhs = self.make_binary(lhs, op, op_pos, mods, rhs)?;
        }
        self.leave();
        Ok(lhs)
    }

    fn peek_binop(&self) -> Option<BinaryOp> {
        Some(match self.kind() {
            TokenKind::Add => BinaryOp::Add,
            TokenKind::Sub => BinaryOp::Sub,
            TokenKind::Mul => BinaryOp::Mul,
            TokenKind::Div => BinaryOp::Div,
            TokenKind::Mod => BinaryOp::Mod,
            TokenKind::Pow => BinaryOp::Pow,
            TokenKind::CmpEq => BinaryOp::Eql,
            TokenKind::Neq => BinaryOp::Neq,
            TokenKind::Gt => BinaryOp::Gtr,
            TokenKind::Gte => BinaryOp::Gte,
            TokenKind::Lt => BinaryOp::Lss,
            TokenKind::Lte => BinaryOp::Lte,
            TokenKind::Ident => match self.text() {
                "and" => BinaryOp::And,
                "or" => BinaryOp::Or,
                "unless" => BinaryOp::Unless,
                _ => return None,
            },
            _ => return None,
        })
    }

    /// `[bool] [on|ignoring (labels) [group_left|group_right [(labels)]]]`.
    fn bin_modifiers(&mut self) -> PResult<BinModifiers> {
        let return_bool = self.at_keyword("bool");
        if return_bool {
            self.bump();
        }
        let mut matching = None;
        if self.at_keyword("on") || self.at_keyword("ignoring") {
            let on = self.at_keyword("on");
            self.bump();
            let labels = self.label_list()?;
            let mut card = Cardinality::OneToOne;
            let mut include = Vec::new();
            if self.at_keyword("group_left") || self.at_keyword("group_right") {
                card = if self.at_keyword("group_left") {
                    Cardinality::ManyToOne
                } else {
                    Cardinality::OneToMany
                };
                self.bump();
                if self.kind() == &TokenKind::LParen {
                    include = self.label_list()?;
                }
            }
            matching = Some(VectorMatching {
                on,
                labels,
                card,
                include,
            });
        }
        Ok(BinModifiers { return_bool, matching })
    }

    /// Builds and checks `lhs op rhs`; two literals fold into one, as in Loki.
    fn make_binary(&self, lhs: Node, op: BinaryOp, op_pos: usize, m: BinModifiers, rhs: Node) -> PResult<Node> {
        let end = rhs.end;
        let (l, start, lh) = self.metric(lhs)?;
        let (r, rstart, rh) = self.metric(rhs)?;
        if m.return_bool && !op.is_comparison() {
            return Err(self.error(op_pos, "bool modifier can only be used on comparison operators"));
        }
        if op.is_set_operator() {
            for (side, e, pos) in [("left", &l, start), ("right", &r, rstart)] {
                if let MetricExpr::Literal(v) = e {
                    let msg = format!(
                        "unexpected literal for {side} leg of logical/set binary operation ({}): {v:.6}",
                        op.as_str()
                    );
                    return Err(self.error(pos, msg));
                }
            }
            if m.matching.as_ref().is_some_and(|vm| vm.card != Cardinality::OneToOne) {
                return Err(self.error(op_pos, format!("no grouping allowed for {:?} operation", op.as_str())));
            }
        }
        if let Some(vm) = &m.matching
            && vm.on
            && let Some(dup) = vm.labels.iter().find(|l| vm.include.contains(l))
        {
            return Err(self.error(
                op_pos,
                format!("label {dup:?} must not occur in ON and GROUP clause at once"),
            ));
        }
        let height = lh.max(rh) + 1;
        self.check_height(height, start)?;
        let expr = match (&l, &r) {
            (MetricExpr::Literal(a), MetricExpr::Literal(b)) => MetricExpr::Literal(fold(op, *a, *b)),
            _ => MetricExpr::Binary {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r),
                return_bool: m.return_bool,
                matching: m.matching,
            },
        };
        Ok(Node {
            expr: Parsed::Metric(expr),
            start,
            end,
            height,
        })
    }

    /// `(label, …)`; a trailing comma is allowed.
    pub(super) fn label_list(&mut self) -> PResult<Vec<String>> {
        self.expect(&TokenKind::LParen, "OPEN_PARENTHESIS")?;
        let mut labels = Vec::new();
        while self.kind() != &TokenKind::RParen {
            if self.kind() != &TokenKind::Ident || !is_label_name(self.text()) {
                return Err(self.unexpected("IDENTIFIER"));
            }
            labels.push(self.text().to_string());
            self.bump();
            match self.kind() {
                TokenKind::Comma => self.bump(),
                TokenKind::RParen => {}
                _ => return Err(self.unexpected("COMMA or CLOSE_PARENTHESIS")),
            }
        }
        self.bump();
        Ok(labels)
    }

    /// An optional `by (…)` / `without (…)`.
    fn grouping(&mut self) -> PResult<Option<Grouping>> {
        if !(self.at_keyword("by") || self.at_keyword("without")) {
            return Ok(None);
        }
        let without = self.at_keyword("without");
        self.bump();
        let labels = self.label_list()?;
        Ok(Some(Grouping { labels, without }))
    }

    /// `op([φ,] log-range) [by|without (…)]`; the operation is the current token.
    pub(super) fn range_aggregation(&mut self, op: RangeOp) -> PResult<Node> {
        let start = self.start();
        self.bump();
        self.expect(&TokenKind::LParen, "OPEN_PARENTHESIS")?;
        let mut param = None;
        if let (TokenKind::Number(v), TokenKind::Comma) = (self.kind().clone(), self.peek_kind(1)) {
            if op != RangeOp::QuantileOverTime {
                let msg = format!("parameter {} not supported for operation {}", self.text(), op.as_str());
                return Err(self.error(self.start(), msg));
            }
            param = Some(v);
            self.bump();
            self.bump();
        }
        if op == RangeOp::QuantileOverTime && param.is_none() {
            return Err(self.error(start, format!("parameter required for operation {}", op.as_str())));
        }
        self.enter()?;
        let (log, range_ns, offset_ns) = self.log_range()?;
        self.leave();
        self.expect(&TokenKind::RParen, "CLOSE_PARENTHESIS")?;
        let grouping = self.grouping()?;
        if grouping.is_some() && !op.allows_grouping() {
            return Err(self.error(start, format!("grouping not allowed for {} aggregation", op.as_str())));
        }
        let unwrapped = log.stages.iter().any(|s| matches!(s, Stage::Unwrap { .. }));
        if unwrapped && !op.allows_unwrap() {
            return Err(self.error(start, format!("invalid aggregation {} with unwrap", op.as_str())));
        }
        if !unwrapped && !op.allows_plain() {
            return Err(self.error(start, format!("invalid aggregation {} without unwrap", op.as_str())));
        }
        let agg = RangeAggregation {
            op,
            param,
            log,
            range_ns,
            offset_ns,
            grouping,
        };
        Ok(Node {
            expr: Parsed::Metric(MetricExpr::RangeAggregation(agg)),
            start,
            end: self.prev_end(),
            height: 1,
        })
    }

    /// `op [by|without (…)] ([k,] expr) [by|without (…)]`; the operation is the current token.
    pub(super) fn vector_aggregation(&mut self, op: VectorOp) -> PResult<Node> {
        let start = self.start();
        self.bump();
        let before = self.grouping()?;
        self.expect(&TokenKind::LParen, "OPEN_PARENTHESIS")?;
        let mut param = None;
        if let (TokenKind::Number(v), TokenKind::Comma) = (self.kind().clone(), self.peek_kind(1)) {
            let text = self.text();
            let pos = self.start();
            if !op.takes_param() {
                let msg = format!("unsupported parameter for operation {}({text},", op.as_str());
                return Err(self.error(pos, msg));
            }
            if v.fract() != 0.0 || v.abs() > 9.0e15 {
                return Err(self.error(pos, format!("invalid parameter {}({text},", op.as_str())));
            }
            if v <= 0.0 {
                let msg = format!("invalid parameter (must be greater than 0) {}({text}", op.as_str());
                return Err(self.error(pos, msg));
            }
            param = Some(v as i64);
            self.bump();
            self.bump();
        } else if op.takes_param() {
            return Err(self.error(start, format!("parameter required for operation {}", op.as_str())));
        }
        let inner = self.binary(0)?;
        let (expr, _, height) = self.metric(inner)?;
        self.expect(&TokenKind::RParen, "CLOSE_PARENTHESIS")?;
        let grouping = match before {
            Some(g) => Some(g),
            None => self.grouping()?,
        };
        if op == VectorOp::ApproxTopk && grouping.is_some() {
            return Err(self.error(start, "grouping not allowed for approx_topk aggregation"));
        }
        // `by ()` means the same as no grouping; keep one form so printing round-trips.
        let grouping = grouping.filter(|g| g.without || !g.labels.is_empty());
        self.check_height(height + 1, start)?;
        let agg = VectorAggregation {
            op,
            param,
            grouping,
            expr: Box::new(expr),
        };
        Ok(Node {
            expr: Parsed::Metric(MetricExpr::VectorAggregation(agg)),
            start,
            end: self.prev_end(),
            height: height + 1,
        })
    }

    /// `vector(number)`.
    pub(super) fn vector(&mut self) -> PResult<Node> {
        let start = self.start();
        self.bump();
        self.expect(&TokenKind::LParen, "OPEN_PARENTHESIS")?;
        let negative = self.kind() == &TokenKind::Sub;
        if matches!(self.kind(), TokenKind::Sub | TokenKind::Add) {
            self.bump();
        }
        let v = self.number_literal()?;
        let end = self.expect(&TokenKind::RParen, "CLOSE_PARENTHESIS")?;
        Ok(Node {
            expr: Parsed::Metric(MetricExpr::Vector(if negative { -v } else { v })),
            start,
            end,
            height: 1,
        })
    }

    /// `label_replace(expr, "dst", "replacement", "src", "regex")`.
    pub(super) fn label_replace(&mut self) -> PResult<Node> {
        let start = self.start();
        self.bump();
        self.expect(&TokenKind::LParen, "OPEN_PARENTHESIS")?;
        let inner = self.binary(0)?;
        let (expr, _, height) = self.metric(inner)?;
        let mut args = Vec::with_capacity(4);
        for _ in 0..4 {
            self.expect(&TokenKind::Comma, "COMMA")?;
            args.push(self.string()?);
        }
        let end = self.expect(&TokenKind::RParen, "CLOSE_PARENTHESIS")?;
        let [(dst, _), (replacement, _), (src, _), (regex, regex_pos)] = <[(String, usize); 4]>::try_from(args)
            .map_err(|_| self.error(start, "label_replace needs 4 string arguments"))?;
        check_regex(&format!("^(?:{regex})$"))
            .map_err(|e| self.error(regex_pos, format!("invalid regex in label_replace: {e}")))?;
        self.check_height(height + 1, start)?;
        let expr = MetricExpr::LabelReplace {
            expr: Box::new(expr),
            dst,
            replacement,
            src,
            regex,
        };
        Ok(Node {
            expr: Parsed::Metric(expr),
            start,
            end,
            height: height + 1,
        })
    }
}

/// `a op b` for two literals, as Loki's `MergeBinOp` computes it (comparisons give 0 or 1,
/// division and modulo by zero give NaN).
fn fold(op: BinaryOp, a: f64, b: f64) -> f64 {
    let truth = |t: bool| if t { 1.0 } else { 0.0 };
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div if b == 0.0 => f64::NAN,
        BinaryOp::Div => a / b,
        BinaryOp::Mod if b == 0.0 => f64::NAN,
        BinaryOp::Mod => a % b,
        BinaryOp::Pow => a.powf(b),
        // Not a LogQL operator (the lexer never produces it).
        BinaryOp::Atan2 => a.atan2(b),
        BinaryOp::Eql => truth(a == b),
        BinaryOp::Neq => truth(a != b),
        BinaryOp::Gtr => truth(a > b),
        BinaryOp::Gte => truth(a >= b),
        BinaryOp::Lss => truth(a < b),
        BinaryOp::Lte => truth(a <= b),
        // Rejected before folding: set operators may not have literal legs.
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => f64::NAN,
    }
}
