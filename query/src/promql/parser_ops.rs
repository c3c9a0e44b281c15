//! Parser parts for operators and lists: binary-operator modifiers and type checks,
//! aggregations, function calls, grouping label lists and label matchers.

use tsdb::{MatchType, Matcher};

use super::ast::{AggregateOp, BinaryOp, Cardinality, Expr, ValueType, VectorMatching};
use super::functions::function;
use super::lexer::TokenKind;
use super::parser::{Node, PResult, Parser};

/// The modifiers written after a binary operator.
pub(super) struct BinModifiers {
    return_bool: bool,
    on: bool,
    matching_labels: Vec<String>,
    card: Cardinality,
    include: Vec<String>,
}

/// True for a legacy label name `[a-zA-Z_][a-zA-Z0-9_]*`.
pub(super) fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Parser<'_> {
    /// `[bool] [on|ignoring (labels) [group_left|group_right [(labels)]]]`.
    pub(super) fn bin_modifiers(&mut self) -> PResult<BinModifiers> {
        let mut mods = BinModifiers {
            return_bool: false,
            on: false,
            matching_labels: Vec::new(),
            card: Cardinality::OneToOne,
            include: Vec::new(),
        };
        if self.at_keyword("bool") {
            self.bump();
            mods.return_bool = true;
        }
        if self.at_keyword("on") || self.at_keyword("ignoring") {
            mods.on = self.at_keyword("on");
            self.bump();
            mods.matching_labels = self.grouping_labels()?;
            if self.at_keyword("group_left") || self.at_keyword("group_right") {
                mods.card = if self.at_keyword("group_left") {
                    Cardinality::ManyToOne
                } else {
                    Cardinality::OneToMany
                };
                self.bump();
                if self.kind() == &TokenKind::LParen {
                    mods.include = self.grouping_labels()?;
                }
            }
        }
        Ok(mods)
    }

    /// Builds and type-checks `lhs op rhs` like Prometheus's checks on binary expressions.
    pub(super) fn make_binary(
        &self,
        lhs: Node,
        op: BinaryOp,
        op_pos: usize,
        m: BinModifiers,
        rhs: Node,
    ) -> PResult<Node> {
        let (lt, rt) = (lhs.expr.value_type(), rhs.expr.value_type());
        if m.return_bool && !op.is_comparison() {
            return Err(self.error(op_pos, "bool modifier can only be used on comparison operators"));
        }
        if op.is_comparison() && !m.return_bool && lt == ValueType::Scalar && rt == ValueType::Scalar {
            return Err(self.error(op_pos, "comparisons between scalars must use BOOL modifier"));
        }
        let card = if op.is_set_operator() && m.card == Cardinality::OneToOne {
            Cardinality::ManyToMany
        } else {
            m.card
        };
        if m.on
            && let Some(l) = m.matching_labels.iter().find(|l| m.include.contains(l))
        {
            return Err(self.error(
                op_pos,
                format!("label {l:?} must not occur in ON and GROUP clause at once"),
            ));
        }
        if lt != ValueType::Scalar && lt != ValueType::Vector {
            return Err(self.error(
                lhs.start,
                "binary expression must contain only scalar and instant vector types",
            ));
        }
        if rt != ValueType::Scalar && rt != ValueType::Vector {
            return Err(self.error(
                rhs.start,
                "binary expression must contain only scalar and instant vector types",
            ));
        }
        let both_vectors = lt == ValueType::Vector && rt == ValueType::Vector;
        if !both_vectors && !m.matching_labels.is_empty() {
            return Err(self.error(lhs.start, "vector matching only allowed between instant vectors"));
        }
        if both_vectors && op.is_set_operator() && card != Cardinality::ManyToMany {
            return Err(self.error(
                lhs.start,
                format!("no grouping allowed for {:?} operation", op.as_str()),
            ));
        }
        if !both_vectors && op.is_set_operator() {
            let msg = format!("set operator {:?} not allowed in binary scalar expression", op.as_str());
            return Err(self.error(lhs.start, msg));
        }
        let matching = both_vectors.then_some(VectorMatching {
            card,
            matching_labels: m.matching_labels,
            on: m.on,
            include: m.include,
        });
        let height = lhs.height.max(rhs.height) + 1;
        let expr = Expr::Binary {
            op,
            lhs: Box::new(lhs.expr),
            rhs: Box::new(rhs.expr),
            return_bool: m.return_bool,
            matching,
        };
        self.node(expr, lhs.start, rhs.end, height)
    }

    /// `(label, …)` with an optional trailing comma; labels may be quoted.
    pub(super) fn grouping_labels(&mut self) -> PResult<Vec<String>> {
        self.expect(&TokenKind::LParen, "grouping opts", "\"(\"")?;
        let mut labels = Vec::new();
        loop {
            match self.kind().clone() {
                TokenKind::RParen => break,
                TokenKind::Ident if is_label_name(self.text()) => labels.push(self.text().to_string()),
                TokenKind::Str(s) => labels.push(s),
                _ => return Err(self.unexpected("grouping opts", "label")),
            }
            self.bump();
            match self.kind() {
                TokenKind::Comma => self.bump(),
                TokenKind::RParen => break,
                _ => return Err(self.unexpected("grouping opts", "\",\" or \")\"")),
            }
        }
        self.bump();
        Ok(labels)
    }

    /// `(arg, …)` of a call or aggregation; `(` is the current token. Returns the args and the end offset.
    fn call_args(&mut self, info: bool) -> PResult<(Vec<Node>, usize)> {
        self.bump();
        let mut args = Vec::new();
        if self.kind() == &TokenKind::RParen {
            let end = self.tok().end;
            self.bump();
            return Ok((args, end));
        }
        loop {
            self.bypass_empty_check = info && args.len() == 1;
            args.push(self.binary(0)?);
            match self.kind() {
                TokenKind::Comma => {
                    self.bump();
                    if self.kind() == &TokenKind::RParen {
                        let pos = self.tokens[self.idx - 1].start;
                        return Err(self.error(pos, "trailing commas not allowed in function call args"));
                    }
                }
                TokenKind::RParen => {
                    let end = self.tok().end;
                    self.bump();
                    return Ok((args, end));
                }
                _ => return Err(self.unexpected("", "")),
            }
        }
    }

    /// `op [by|without (…)] (args) [by|without (…)]`; the operator is the current token.
    pub(super) fn aggregate(&mut self, op: AggregateOp) -> PResult<Node> {
        let start = self.tok().start;
        self.bump();
        let mut grouping = None;
        let mut parse_grouping = |p: &mut Self| -> PResult<()> {
            if p.at_keyword("by") || p.at_keyword("without") {
                let without = p.at_keyword("without");
                p.bump();
                grouping = Some((p.grouping_labels()?, without));
            }
            Ok(())
        };
        parse_grouping(self)?;
        let before = grouping.is_some();
        if self.kind() != &TokenKind::LParen {
            return Err(self.unexpected("aggregation", ""));
        }
        let (mut args, mut end) = self.call_args(false)?;
        if !before {
            let mut after = None;
            if self.at_keyword("by") || self.at_keyword("without") {
                let without = self.at_keyword("without");
                self.bump();
                after = Some((self.grouping_labels()?, without));
                end = self.tokens[self.idx - 1].end;
            }
            grouping = after;
        }
        let (grouping, without) = grouping.unwrap_or_default();
        let wanted = if op.param_type().is_some() { 2 } else { 1 };
        if args.len() != wanted {
            let msg = format!(
                "wrong number of arguments for aggregate expression provided, expected {wanted}, got {}",
                args.len()
            );
            return Err(self.error(start, msg));
        }
        let expr = args
            .pop()
            .ok_or_else(|| self.error(start, "missing aggregation argument"))?;
        let param = args.pop();
        let et = expr.expr.value_type();
        if et != ValueType::Vector {
            let msg = format!(
                "expected type instant vector in aggregation expression, got {}",
                et.documented()
            );
            return Err(self.error(expr.start, msg));
        }
        if let (Some(want), Some(p)) = (op.param_type(), &param) {
            let pt = p.expr.value_type();
            if pt != want {
                let msg = format!(
                    "expected type {} in aggregation parameter, got {}",
                    want.documented(),
                    pt.documented()
                );
                return Err(self.error(p.start, msg));
            }
        }
        let height = expr.height.max(param.as_ref().map_or(0, |p| p.height)) + 1;
        let param_pos = param.as_ref().map(|p| self.pos_range(p)).unwrap_or_default();
        let agg = Expr::Aggregate {
            op,
            expr: Box::new(expr.expr),
            param: param.map(|p| Box::new(p.expr)),
            grouping,
            without,
            param_pos,
        };
        self.node(agg, start, end, height)
    }

    /// `name(args)`; the name is the current token and `(` follows.
    pub(super) fn call(&mut self) -> PResult<Node> {
        let start = self.tok().start;
        let name = self.text();
        let func = function(name).ok_or_else(|| self.error(start, format!("unknown function with name {name:?}")))?;
        self.bump();
        let (args, end) = self.call_args(func.name == "info")?;
        let n = args.len();
        if func.variadic == 0 {
            if n != func.arg_types.len() {
                let msg = format!(
                    "expected {} argument(s) in call to {:?}, got {n}",
                    func.arg_types.len(),
                    func.name
                );
                return Err(self.error(start, msg));
            }
        } else if n < func.min_args() {
            let msg = format!(
                "expected at least {} argument(s) in call to {:?}, got {n}",
                func.min_args(),
                func.name
            );
            return Err(self.error(start, msg));
        } else if let Some(max) = func.max_args()
            && n > max
        {
            return Err(self.error(
                start,
                format!("expected at most {max} argument(s) in call to {:?}, got {n}", func.name),
            ));
        }
        if func.name == "info"
            && let Some(arg) = args.get(1)
        {
            match &arg.expr {
                Expr::VectorSelector(vs) if vs.name.is_some() => {
                    return Err(self.error(arg.start, "expected label selectors only, got vector selector instead"));
                }
                Expr::VectorSelector(_) => {}
                _ => return Err(self.error(arg.start, "expected label selectors only")),
            }
        }
        for (i, arg) in args.iter().enumerate() {
            let (Some(want), got) = (func.arg_type(i), arg.expr.value_type()) else {
                break;
            };
            if want != got {
                let msg = format!(
                    "expected type {} in call to function {:?}, got {}",
                    want.documented(),
                    func.name,
                    got.documented()
                );
                return Err(self.error(arg.start, msg));
            }
        }
        let height = args.iter().map(|a| a.height).max().unwrap_or(0) + 1;
        let arg_pos = args.iter().map(|a| self.pos_range(a)).collect();
        let expr = Expr::Call {
            func,
            args: args.into_iter().map(|a| a.expr).collect(),
            arg_pos,
        };
        self.node(expr, start, end, height)
    }

    /// The inside of `{…}` after `{`; returns the end offset of `}`. A lone quoted string is a
    /// metric name: it becomes a `__name__="…"` matcher in place, and its index goes to `names`.
    pub(super) fn label_matchers(&mut self, matchers: &mut Vec<Matcher>, names: &mut Vec<usize>) -> PResult<usize> {
        loop {
            let label_start = self.tok().start;
            let label = match self.kind().clone() {
                TokenKind::RBrace => break,
                TokenKind::Ident if is_label_name(self.text()) => self.text().to_string(),
                TokenKind::Str(s) => s,
                _ => return Err(self.unexpected("label matching", "identifier or \"}\"")),
            };
            let quoted = matches!(self.kind(), TokenKind::Str(_));
            self.bump();
            let match_type = match self.kind() {
                TokenKind::Assign => Some(MatchType::Equal),
                TokenKind::Neq => Some(MatchType::NotEqual),
                TokenKind::EqlRegex => Some(MatchType::Regex),
                TokenKind::NeqRegex => Some(MatchType::NotRegex),
                TokenKind::Comma | TokenKind::RBrace if quoted => None,
                _ => return Err(self.unexpected("label matching", "label matching operator")),
            };
            match match_type {
                None => {
                    let m = Matcher::new(MatchType::Equal, tsdb::METRIC_NAME, label)
                        .map_err(|e| self.error(label_start, e.to_string()))?;
                    names.push(matchers.len());
                    matchers.push(m);
                }
                Some(mt) => {
                    self.bump();
                    let TokenKind::Str(value) = self.kind().clone() else {
                        return Err(self.unexpected("label matching", "string"));
                    };
                    let m = Matcher::new(mt, label, value).map_err(|e| self.error(label_start, e.to_string()))?;
                    matchers.push(m);
                    self.bump();
                }
            }
            match self.kind() {
                TokenKind::Comma => self.bump(),
                TokenKind::RBrace => break,
                _ => return Err(self.unexpected("label matching", "\",\" or \"}\"")),
            }
        }
        let end = self.tok().end;
        self.bump();
        Ok(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names() {
        assert!(is_label_name("_a1"));
        assert!(is_label_name("job"));
        assert!(!is_label_name("1a"));
        assert!(!is_label_name("a:b"));
        assert!(!is_label_name(""));
        assert!(!is_label_name("a.b"));
    }
}
