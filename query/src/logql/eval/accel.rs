//! Index acceleration: the tokens a line must have in the full-text index to pass a query's
//! line filters.
//!
//! Every positive single-value line filter (`|= "…"`, and the literal parts of a `|~` regex that
//! every match must contain) that runs on the original line — before any stage that rewrites it
//! (`line_format`, `unpack`, `decolorize`) — is a necessary condition. Its literal text becomes
//! tokens through [`logs::schema::needle_tokens`], which keeps only tokens bounded on both sides
//! within the literal (the edges may be parts of longer tokens of the line). The store returns
//! candidates holding all of them; the pipeline then checks each candidate exactly, so the
//! pre-filter can only save work, never change an answer.

use regex_syntax::hir::{Hir, HirKind};

use crate::logql::ast::{FilterValue, LineFilterOp, LogExpr, Stage};

/// The index pre-filter of a log query: exact tokens every passing line has, and substrings
/// that some token of every passing line contains (for needles without a whole token, such as
/// `|= "error"`, where a line may hold `errors` or `ERROR_CODE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefilter {
    /// Lowercase tokens (see [`logs::schema::needle_tokens`]).
    pub tokens: Vec<String>,
    /// Lowercase ASCII substrings of tokens (see [`logs::schema::needle_substring`]).
    pub substrings: Vec<String>,
}

/// The pre-filter of `expr`'s line filters: a needle with whole tokens contributes them; one
/// without contributes its longest partial token as a substring.
pub fn prefilter(expr: &LogExpr) -> Prefilter {
    let mut out = Prefilter::default();
    for literal in literals(expr) {
        let tokens = logs::schema::needle_tokens(&literal);
        if tokens.is_empty() {
            if let Some(sub) = logs::schema::needle_substring(&literal)
                && !out.substrings.contains(&sub)
            {
                out.substrings.push(sub);
            }
            continue;
        }
        for token in tokens {
            if !out.tokens.contains(&token) {
                out.tokens.push(token);
            }
        }
    }
    // Whole tokens are cheap and selective; substrings cost a term-dictionary scan per segment.
    if !out.tokens.is_empty() {
        out.substrings.clear();
    }
    out
}

/// The lowercase index tokens every line passing `expr`'s line filters contains.
pub fn required_tokens(expr: &LogExpr) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for literal in literals(expr) {
        for token in logs::schema::needle_tokens(&literal) {
            if !tokens.contains(&token) {
                tokens.push(token);
            }
        }
    }
    tokens
}

/// The literal strings every passing line contains, from the line filters that run on the
/// original line.
fn literals(expr: &LogExpr) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for stage in &expr.stages {
        match stage {
            Stage::LineFilter { op, values } => {
                let [FilterValue::Str(value)] = values.as_slice() else {
                    continue;
                };
                match op {
                    LineFilterOp::Contains => out.push(value.clone()),
                    LineFilterOp::Regex => out.extend(regex_literals(value)),
                    _ => {}
                }
            }
            Stage::LineFormat(_) | Stage::Parser(crate::logql::ast::ParserStage::Unpack) | Stage::Decolorize => break,
            _ => {}
        }
    }
    out
}

/// Literal strings every match of `pattern` contains (exact, case-sensitive pieces).
pub fn regex_literals(pattern: &str) -> Vec<String> {
    let Ok(hir) = regex_syntax::ParserBuilder::new().build().parse(pattern) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    required(&hir, &mut out, 0);
    out
}

fn required(hir: &Hir, out: &mut Vec<String>, depth: usize) {
    if depth > 64 {
        return;
    }
    match hir.kind() {
        HirKind::Literal(lit) => {
            if let Ok(s) = std::str::from_utf8(&lit.0) {
                out.push(s.to_string());
            }
        }
        HirKind::Concat(children) => {
            for child in children {
                required(child, out, depth + 1);
            }
        }
        HirKind::Capture(cap) => required(&cap.sub, out, depth + 1),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub, out, depth + 1),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logql::ast::Expr;

    fn tokens(query: &str) -> Vec<String> {
        let Expr::Log(expr) = crate::logql::parse(query).expect("parses") else {
            panic!("not a log query")
        };
        required_tokens(&expr)
    }

    #[test]
    fn substring_filters_give_bounded_tokens() {
        // Runs under 3 bytes (`42`) are not indexed, so they are not required either.
        assert_eq!(tokens(r#"{a="b"} |= "user 42 logged in""#), vec!["logged"]);
        assert_eq!(tokens(r#"{a="b"} |= "user 421 logged in""#), vec!["421", "logged"]);
        assert_eq!(tokens(r#"{a="b"} |= "error""#), Vec::<String>::new());
        assert_eq!(
            tokens(r#"{a="b"} |= "x 149406d8-fc0e-48e6-a709-4cea8ca40db1 y""#),
            vec!["149406d8", "fc0e", "48e6", "a709", "4cea8ca40db1"]
        );
        // Negative filters and alternatives guarantee nothing.
        assert!(tokens(r#"{a="b"} != "a b c" |= "x" or "y z w""#).is_empty());
        // After a parser the line is unchanged; after line_format it is not.
        assert_eq!(tokens(r#"{a="b"} | json |= "a bbb c""#), vec!["bbb"]);
        assert!(tokens(r#"{a="b"} | line_format "{{.x}}" |= "a bbb c""#).is_empty());
    }

    #[test]
    fn needles_without_whole_tokens_give_substrings() {
        let p = |q: &str| {
            let Expr::Log(expr) = crate::logql::parse(q).expect("parses") else {
                panic!("not a log query")
            };
            prefilter(&expr)
        };
        assert_eq!(
            p(r#"{a="b"} |= "Error""#),
            Prefilter {
                tokens: vec![],
                substrings: vec!["Error".into()]
            }
        );
        assert_eq!(p(r#"{a="b"} |= "rror: time""#).substrings, vec!["rror".to_string()]);
        assert_eq!(p(r#"{a="b"} |= "ab""#), Prefilter::default());
        assert_eq!(p(r#"{a="b"} |= "é日本""#).substrings, vec!["é日本".to_string()]);
        assert_eq!(p(r#"{a="b"} |= "é""#), Prefilter::default());
        // A whole token anywhere makes substrings unnecessary.
        assert_eq!(
            p(r#"{a="b"} |= "error" |= "a bbb c""#),
            Prefilter {
                tokens: vec!["bbb".into()],
                substrings: vec![]
            }
        );
    }

    #[test]
    fn regex_literals_are_required_pieces() {
        assert_eq!(regex_literals("user (id|name)=x"), vec!["user ", "=x"]);
        assert_eq!(regex_literals("a+ b c"), vec!["a", " b c"]);
        assert!(regex_literals("(?i)error").is_empty());
        assert!(regex_literals("a|b").is_empty());
        assert!(regex_literals("(").is_empty());
        assert_eq!(
            tokens(r#"{a="b"} |~ "took [0-9]+ millis to connect via db""#),
            vec!["millis", "connect", "via"]
        );
    }
}
