//! Label matchers with Prometheus semantics.
//!
//! A [`Matcher`] tests one label value: `=` and `!=` compare literally, `=~` and `!~` use a
//! regular expression that is fully anchored and in which `.` also matches a newline. A label
//! that a series does not have counts as the empty string, so `{a=""}` selects series without
//! `a` and `{a=~".*"}` selects every series.
//!
//! Regular expressions are analysed once, when the matcher is built. Common shapes are matched
//! without the regex engine: `.*`, `.+`, literal alternations such as `a|b|c` or `(a|b)`,
//! prefixes `foo.*`, suffixes `.*foo`, substrings `.*foo.*` and plain literals. The analysis is
//! deliberately conservative: it only accepts literal characters (escaped metacharacters such as
//! `a\.b` included), `.*`, `.+`, `|` and one group around an alternation. Anything else (flags,
//! classes, other escapes, repetitions) goes to the compiled regex.

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::error::{Error, Result};
use crate::labels::Labels;

/// Upper bound on the memory a compiled regex may use; bigger patterns are rejected.
const REGEX_SIZE_LIMIT: usize = 10 << 20;

/// Largest literal alternation served by [`Matcher::set_matches`]; bigger ones use the regex.
const MAX_SET_MATCHES: usize = 256;

/// Literal sets up to this size are scanned linearly rather than binary searched.
const LINEAR_SCAN_MAX: usize = 8;

/// Characters that have a meaning in a regex outside a character class.
const META: &[char] = &['\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$'];

/// How a [`Matcher`] compares a label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchType {
    /// `=`: the value equals the text.
    Equal,
    /// `!=`: the value differs from the text.
    NotEqual,
    /// `=~`: the value matches the anchored regular expression.
    Regex,
    /// `!~`: the value does not match the anchored regular expression.
    NotRegex,
}

impl MatchType {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regex => "=~",
            MatchType::NotRegex => "!~",
        }
    }

    /// True for `!=` and `!~`.
    pub fn is_negative(self) -> bool {
        matches!(self, MatchType::NotEqual | MatchType::NotRegex)
    }

    /// The operator with the opposite meaning (`=` ↔ `!=`, `=~` ↔ `!~`).
    pub fn inverse(self) -> MatchType {
        match self {
            MatchType::Equal => MatchType::NotEqual,
            MatchType::NotEqual => MatchType::Equal,
            MatchType::Regex => MatchType::NotRegex,
            MatchType::NotRegex => MatchType::Regex,
        }
    }
}

impl fmt::Display for MatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the positive form of a matcher decides; negative types invert the result.
#[derive(Debug, Clone)]
enum Kind {
    /// Matches every value (`.*`).
    All,
    /// Matches every non-empty value (`.+`).
    NonEmpty,
    /// Matches exactly these values; sorted and deduplicated.
    Literals(Vec<String>),
    /// Matches values starting with the text (`foo.*`).
    Prefix(String),
    /// Matches values ending with the text (`.*foo`).
    Suffix(String),
    /// Matches values containing the text (`.*foo.*`).
    Contains(String),
    /// Anything else: the anchored, compiled regex.
    Regex(regex::Regex),
}

impl Kind {
    fn matches(&self, value: &str) -> bool {
        match self {
            Kind::All => true,
            Kind::NonEmpty => !value.is_empty(),
            Kind::Literals(set) if set.len() <= LINEAR_SCAN_MAX => set.iter().any(|s| s == value),
            Kind::Literals(set) => set.binary_search_by(|s| s.as_str().cmp(value)).is_ok(),
            Kind::Prefix(prefix) => value.starts_with(prefix.as_str()),
            Kind::Suffix(suffix) => value.ends_with(suffix.as_str()),
            Kind::Contains(needle) => value.contains(needle.as_str()),
            Kind::Regex(regex) => regex.is_match(value),
        }
    }
}

/// A condition on one label: its name, an operator and a value or regular expression.
///
/// Equality and hashing use the operator, the name and the original text of the value.
#[derive(Debug, Clone)]
pub struct Matcher {
    match_type: MatchType,
    name: String,
    value: String,
    matches_empty: bool,
    kind: Kind,
}

impl Matcher {
    /// Builds a matcher. For `=~` and `!~` the value is a regular expression (Rust `regex`
    /// syntax), anchored at both ends, with `.` matching newlines too.
    ///
    /// Fails with [`Error::InvalidRegex`] when the expression does not parse or would compile to
    /// more than 10 MiB.
    pub fn new(match_type: MatchType, name: impl Into<String>, value: impl Into<String>) -> Result<Matcher> {
        let name = name.into();
        let value = value.into();
        let kind = match match_type {
            MatchType::Equal | MatchType::NotEqual => Kind::Literals(vec![value.clone()]),
            MatchType::Regex | MatchType::NotRegex => match analyse(&value) {
                Some(kind) => kind,
                None => Kind::Regex(compile(&value)?),
            },
        };
        let matches_empty = kind.matches("") != match_type.is_negative();
        Ok(Matcher {
            match_type,
            name,
            value,
            matches_empty,
            kind,
        })
    }

    /// The label name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value or regular expression exactly as given.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The operator.
    pub fn match_type(&self) -> MatchType {
        self.match_type
    }

    /// Tests a label value; pass `""` for a label the series does not have.
    pub fn matches(&self, value: &str) -> bool {
        self.kind.matches(value) != self.match_type.is_negative()
    }

    /// True when the matcher accepts the empty string, i.e. selects series lacking the label.
    pub fn matches_empty(&self) -> bool {
        self.matches_empty
    }

    /// The exact, sorted set of values a positive matcher accepts, when it is small and known:
    /// the value of `=`, or the alternatives of a literal `=~` alternation such as `a|b|c` (at
    /// most 256). The set may contain `""`, which stands for series without the label.
    /// `None` for `!=` and `!~` (callers look up the positive form and invert) and for any
    /// other regex.
    pub fn set_matches(&self) -> Option<&[String]> {
        match (&self.kind, self.match_type) {
            (Kind::Literals(set), MatchType::Equal | MatchType::Regex) => Some(set),
            _ => None,
        }
    }

    /// For a `=~` regex of the form `prefix.*`, the literal prefix: the matcher accepts exactly
    /// the values starting with it, so an index can range-scan its sorted values. `.*` gives
    /// `Some("")`. `None` for everything else, including `!~`.
    pub fn literal_prefix(&self) -> Option<&str> {
        match (&self.kind, self.match_type) {
            (Kind::Prefix(prefix), MatchType::Regex) => Some(prefix),
            (Kind::All, MatchType::Regex) => Some(""),
            _ => None,
        }
    }

    /// The matcher with the opposite operator on the same name and value, without recompiling.
    pub fn inverse(&self) -> Matcher {
        Matcher {
            match_type: self.match_type.inverse(),
            name: self.name.clone(),
            value: self.value.clone(),
            matches_empty: !self.matches_empty,
            kind: self.kind.clone(),
        }
    }

    /// True when matching goes through the regex engine (no fast path applies).
    #[cfg(test)]
    fn uses_regex(&self) -> bool {
        matches!(self.kind, Kind::Regex(_))
    }
}

/// True when every matcher accepts its label's value in `labels` (absent labels count as `""`).
pub fn matches_labels(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels.get(m.name()).unwrap_or("")))
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.match_type == other.match_type && self.name == other.name && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Hash for Matcher {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.match_type.hash(state);
        self.name.hash(state);
        self.value.hash(state);
    }
}

impl fmt::Display for Matcher {
    /// Formats as PromQL, e.g. `job=~"a|b"`, quoting the value like Go's `%q`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.name, self.match_type)?;
        write_quoted(f, &self.value)
    }
}

/// Writes `s` in double quotes, escaping `"`, `\` and control characters as Go's `%q` does.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    use fmt::Write;
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\u{7}' => f.write_str("\\a")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\u{b}' => f.write_str("\\v")?,
            c if (c as u32) < 0x80 && c.is_control() => write!(f, "\\x{:02x}", c as u32)?,
            c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Compiles `re` anchored at both ends with `.` matching newlines.
fn compile(re: &str) -> Result<regex::Regex> {
    let invalid = |reason: String| Error::InvalidRegex {
        regex: re.to_string(),
        reason,
    };
    // The expression must be valid on its own: otherwise an unbalanced `)` could close the
    // anchoring group early (`a)|(b` would become `^(?s:a)|(b)$`). A size limit of zero makes
    // this check stop right after parsing, so a "too big" error here means the syntax is fine.
    match regex::RegexBuilder::new(re).size_limit(0).build() {
        Ok(_) | Err(regex::Error::CompiledTooBig(_)) => {}
        Err(err) => return Err(invalid(err.to_string())),
    }
    regex::RegexBuilder::new(&format!("^(?s:{re})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|err| invalid(err.to_string()))
}

/// One piece of a regex as far as the fast-path analysis understands it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A character matching itself.
    Literal(char),
    /// `.*`
    AnyStar,
    /// `.+`
    AnyPlus,
    /// `|`
    Pipe,
    /// `(` or `(?:`
    Open,
    /// `)`
    Close,
}

/// Splits `re` into tokens, or `None` if it uses anything beyond [`Token`]'s vocabulary.
fn tokenize(re: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = re.chars().peekable();
    while let Some(c) = chars.next() {
        let token = match c {
            '\\' => match chars.next() {
                Some(escaped) if META.contains(&escaped) => Token::Literal(escaped),
                _ => return None,
            },
            '.' => match chars.next() {
                Some('*') => Token::AnyStar,
                Some('+') => Token::AnyPlus,
                _ => return None,
            },
            '|' => Token::Pipe,
            ')' => Token::Close,
            '(' => {
                if chars.peek() == Some(&'?') {
                    chars.next();
                    if chars.next() != Some(':') {
                        return None;
                    }
                }
                Token::Open
            }
            c if META.contains(&c) => return None,
            c => Token::Literal(c),
        };
        tokens.push(token);
    }
    Some(tokens)
}

/// Finds a fast path equivalent to the anchored regex `re`, if there is one.
fn analyse(re: &str) -> Option<Kind> {
    let tokens = tokenize(re)?;
    let literal = |tokens: &[Token]| -> Option<String> {
        tokens
            .iter()
            .map(|t| if let Token::Literal(c) = t { Some(*c) } else { None })
            .collect()
    };

    let has_dots = tokens.iter().any(|t| matches!(t, Token::AnyStar | Token::AnyPlus));
    if !has_dots {
        // A literal alternation, optionally wrapped in one group.
        let inner = match tokens.as_slice() {
            [Token::Open, inner @ .., Token::Close] => inner,
            all => all,
        };
        if inner.iter().any(|t| matches!(t, Token::Open | Token::Close)) {
            return None;
        }
        let mut set = inner
            .split(|t| *t == Token::Pipe)
            .map(literal)
            .collect::<Option<Vec<String>>>()?;
        set.sort_unstable();
        set.dedup();
        return (set.len() <= MAX_SET_MATCHES).then_some(Kind::Literals(set));
    }

    match tokens.as_slice() {
        [Token::AnyStar] => Some(Kind::All),
        [Token::AnyPlus] => Some(Kind::NonEmpty),
        [Token::AnyStar, middle @ .., Token::AnyStar] => {
            let needle = literal(middle)?;
            Some(if needle.is_empty() {
                Kind::All
            } else {
                Kind::Contains(needle)
            })
        }
        [Token::AnyStar, rest @ ..] => literal(rest).map(Kind::Suffix),
        [rest @ .., Token::AnyStar] => literal(rest).map(Kind::Prefix),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(match_type: MatchType, value: &str) -> Matcher {
        Matcher::new(match_type, "a", value).expect("valid matcher")
    }

    fn anchored(re: &str) -> regex::Regex {
        regex::Regex::new(&format!("^(?s:{re})$")).expect("valid regex")
    }

    #[test]
    fn equal_and_not_equal_with_absent_labels() {
        assert!(m(MatchType::Equal, "x").matches("x"));
        assert!(!m(MatchType::Equal, "x").matches("xy"));
        assert!(!m(MatchType::Equal, "x").matches(""));
        assert!(m(MatchType::Equal, "").matches(""));
        assert!(!m(MatchType::Equal, "").matches("x"));
        assert!(m(MatchType::NotEqual, "x").matches("y"));
        assert!(m(MatchType::NotEqual, "x").matches(""));
        assert!(!m(MatchType::NotEqual, "x").matches("x"));
        assert!(!m(MatchType::NotEqual, "").matches(""));
        assert!(m(MatchType::NotEqual, "").matches("x"));
        assert!(m(MatchType::Equal, "").matches_empty());
        assert!(!m(MatchType::NotEqual, "").matches_empty());
        assert!(m(MatchType::NotEqual, "x").matches_empty());
    }

    #[test]
    fn regex_and_not_regex_with_absent_labels() {
        assert!(m(MatchType::Regex, ".*").matches(""));
        assert!(m(MatchType::Regex, ".*").matches_empty());
        assert!(!m(MatchType::Regex, ".+").matches(""));
        assert!(m(MatchType::Regex, ".+").matches("x"));
        assert!(m(MatchType::Regex, "a[0-9]").matches("a7"));
        assert!(!m(MatchType::Regex, "a[0-9]").matches(""));
        assert!(m(MatchType::NotRegex, "a[0-9]").matches(""));
        assert!(m(MatchType::NotRegex, "a[0-9]").matches("b7"));
        assert!(!m(MatchType::NotRegex, "a[0-9]").matches("a7"));
        assert!(!m(MatchType::NotRegex, ".*").matches(""));
        assert!(!m(MatchType::NotRegex, ".*").matches_empty());
        assert!(m(MatchType::NotRegex, ".+").matches_empty());
    }

    #[test]
    fn regex_is_anchored_and_dot_matches_newline() {
        assert!(!m(MatchType::Regex, "b").matches("abc"));
        assert!(!m(MatchType::Regex, "b[c]").matches("abc"));
        assert!(m(MatchType::Regex, "a.c").matches("a\nc"));
        assert!(m(MatchType::Regex, ".*").matches("x\ny"));
        assert!(m(MatchType::Regex, "x.*").matches("x\ny"));
        assert!(m(MatchType::Regex, "(?:x|y)\\n?.").matches("x\n\n"));
    }

    #[test]
    fn unbalanced_groups_cannot_escape_the_anchors() {
        for re in ["a)|(b", "a)|(?:b", "(", ")", "a|b)", "x)(y", "(?x)a #"] {
            let err = Matcher::new(MatchType::Regex, "a", re).expect_err(re);
            assert!(
                matches!(err, Error::InvalidRegex { ref regex, .. } if regex == re),
                "{re}: {err}"
            );
        }
    }

    #[test]
    fn invalid_regex_is_reported() {
        let err = Matcher::new(MatchType::Regex, "job", "(").expect_err("unclosed group");
        match &err {
            Error::InvalidRegex { regex, reason } => {
                assert_eq!(regex, "(");
                assert!(!reason.is_empty());
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().starts_with("invalid regular expression \"(\": "));
        assert!(Matcher::new(MatchType::NotRegex, "job", "a{1,2").is_err());
    }

    #[test]
    fn huge_regex_is_rejected() {
        let err = Matcher::new(MatchType::Regex, "a", "(?:\\w{100}){100}").expect_err("too big");
        assert!(matches!(err, Error::InvalidRegex { .. }), "{err}");
    }

    #[test]
    fn fast_paths_are_chosen() {
        let kinds = [
            (".*", "All"),
            (".+", "NonEmpty"),
            ("foo", "Literals"),
            ("a|b|c", "Literals"),
            ("(a|b)", "Literals"),
            ("(?:a|b)", "Literals"),
            ("a\\.b|c", "Literals"),
            ("", "Literals"),
            ("foo.*", "Prefix"),
            (".*foo", "Suffix"),
            (".*foo.*", "Contains"),
            (".*.*", "All"),
        ];
        for (re, want) in kinds {
            let kind = format!("{:?}", m(MatchType::Regex, re).kind);
            assert!(kind.starts_with(want), "{re}: {kind}");
        }
        for re in [
            "(?i)foo", "foo.*?", "a*", ".", "a.b", "[ab]", "\\d", "a\\-b", "^a$", "(a)(b)", "((a|b))", "(a|b).*",
            "foo.+", ".*a|b", "a\\.*", "a{2}", "(?s)a", "(?x)a b",
        ] {
            assert!(m(MatchType::Regex, re).uses_regex(), "{re} must use the regex");
        }
    }

    #[test]
    fn fast_paths_agree_with_the_regex() {
        let patterns = [
            ".*", ".+", "foo", "a|b|c", "(a|b)", "(?:a|bc)", "a\\.b", "a|", "|", "()", "(?:)", "", "foo.*", ".*foo",
            ".*foo.*", ".*.*", "a\\.b.*", ".*\\*", "x\\|y|z", "(é|ü)", "a\\(b\\)", "a b", "#-&~",
        ];
        let inputs = [
            "", "a", "b", "c", "bc", "ab", "foo", "foobar", "barfoo", "xfooy", "fo", "a.b", "axb", "a.bc", "*", "x*",
            "x|y", "z", "é", "ü", "a(b)", "a b", "#-&~", "\n", "foo\n", "\nfoo", "|",
        ];
        for re in patterns {
            let regex = anchored(re);
            for match_type in [MatchType::Regex, MatchType::NotRegex] {
                let matcher = m(match_type, re);
                assert!(!matcher.uses_regex(), "{re} should take a fast path");
                for input in inputs {
                    let want = regex.is_match(input) != match_type.is_negative();
                    assert_eq!(matcher.matches(input), want, "{match_type} {re:?} on {input:?}");
                }
                assert_eq!(
                    matcher.matches_empty(),
                    regex.is_match("") != match_type.is_negative(),
                    "{re:?}"
                );
            }
        }
    }

    #[test]
    fn set_matches_outputs() {
        let set = |t, re| m(t, re).set_matches().map(|s| s.to_vec());
        let strings = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(set(MatchType::Equal, "x"), strings(&["x"]));
        assert_eq!(set(MatchType::Equal, ""), strings(&[""]));
        assert_eq!(set(MatchType::Equal, ".*"), strings(&[".*"]));
        assert_eq!(set(MatchType::Regex, "c|a|b|a"), strings(&["a", "b", "c"]));
        assert_eq!(set(MatchType::Regex, "(x|y)"), strings(&["x", "y"]));
        assert_eq!(set(MatchType::Regex, "a\\.b|c"), strings(&["a.b", "c"]));
        assert_eq!(set(MatchType::Regex, "foo|"), strings(&["", "foo"]));
        assert_eq!(set(MatchType::Regex, "foo"), strings(&["foo"]));
        assert_eq!(set(MatchType::NotEqual, "x"), None);
        assert_eq!(set(MatchType::NotRegex, "a|b"), None);
        assert_eq!(set(MatchType::Regex, "a.*"), None);
        assert_eq!(set(MatchType::Regex, "a[bc]"), None);
        assert_eq!(set(MatchType::Regex, "(?i)a|b"), None);

        let many: Vec<String> = (0..300).map(|i| format!("v{i}")).collect();
        let big = m(MatchType::Regex, &many.join("|"));
        assert_eq!(big.set_matches(), None);
        assert!(big.matches("v299") && !big.matches("v300"));
        let some: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
        let medium = m(MatchType::Regex, &some.join("|"));
        assert_eq!(medium.set_matches().map(|s| s.len()), Some(100));
        assert!(medium.matches("v42") && medium.matches("v99") && !medium.matches("v100") && !medium.matches(""));
    }

    #[test]
    fn literal_prefix_outputs() {
        assert_eq!(m(MatchType::Regex, "foo.*").literal_prefix(), Some("foo"));
        assert_eq!(m(MatchType::Regex, "a\\.b.*").literal_prefix(), Some("a.b"));
        assert_eq!(m(MatchType::Regex, ".*").literal_prefix(), Some(""));
        assert_eq!(m(MatchType::Regex, "foo").literal_prefix(), None);
        assert_eq!(m(MatchType::Regex, "foo.+").literal_prefix(), None);
        assert_eq!(m(MatchType::Regex, ".*foo").literal_prefix(), None);
        assert_eq!(m(MatchType::Regex, "(?i)foo.*").literal_prefix(), None);
        assert_eq!(m(MatchType::NotRegex, "foo.*").literal_prefix(), None);
        assert_eq!(m(MatchType::Equal, "foo.*").literal_prefix(), None);
    }

    #[test]
    fn display_quotes_like_prometheus() {
        assert_eq!(
            Matcher::new(MatchType::Regex, "job", "a|b").expect("valid").to_string(),
            r#"job=~"a|b""#
        );
        assert_eq!(
            Matcher::new(MatchType::Equal, "x", "").expect("valid").to_string(),
            r#"x="""#
        );
        assert_eq!(
            Matcher::new(MatchType::NotEqual, "x", "say \"hi\"")
                .expect("valid")
                .to_string(),
            r#"x!="say \"hi\"""#
        );
        assert_eq!(
            Matcher::new(MatchType::NotRegex, "x", "a\\.b")
                .expect("valid")
                .to_string(),
            r#"x!~"a\\.b""#
        );
        assert_eq!(
            Matcher::new(MatchType::Equal, "x", "l1\nl2\t\u{1}\u{7f}\u{85}é")
                .expect("valid")
                .to_string(),
            r#"x="l1\nl2\t\x01\x7f\u0085é""#
        );
        assert_eq!(MatchType::NotRegex.to_string(), "!~");
    }

    #[test]
    fn equality_and_hash_use_the_original_text() {
        use std::collections::HashSet;
        let a = m(MatchType::Regex, "a|b");
        let b = m(MatchType::Regex, "b|a");
        assert_ne!(a, b, "same set, different text");
        assert_eq!(a, a.clone());
        assert_ne!(a, m(MatchType::NotRegex, "a|b"));
        assert_ne!(a, Matcher::new(MatchType::Regex, "z", "a|b").expect("valid"));
        // Hashing ignores the compiled regex, so its interior mutability cannot change a key.
        #[allow(clippy::mutable_key_type)]
        let set: HashSet<Matcher> = [a.clone(), a.clone(), b].into_iter().collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn inverse_flips_the_operator() {
        let positive = m(MatchType::Regex, "a.*");
        let negative = positive.inverse();
        assert_eq!(negative, m(MatchType::NotRegex, "a.*"));
        assert!(negative.matches("") && !negative.matches("ab"));
        assert_eq!(negative.matches_empty(), m(MatchType::NotRegex, "a.*").matches_empty());
        assert_eq!(m(MatchType::NotEqual, "").inverse(), m(MatchType::Equal, ""));
    }

    #[test]
    fn matches_labels_treats_absent_as_empty() {
        let labels = Labels::new([("__name__", "up"), ("job", "node")]).expect("valid");
        let matcher = |t, n: &str, v: &str| Matcher::new(t, n, v).expect("valid");
        assert!(matches_labels(&[], &labels));
        assert!(matches_labels(&[matcher(MatchType::Equal, "job", "node")], &labels));
        assert!(matches_labels(&[matcher(MatchType::Equal, "env", "")], &labels));
        assert!(!matches_labels(&[matcher(MatchType::NotEqual, "env", "")], &labels));
        assert!(matches_labels(&[matcher(MatchType::Regex, "env", ".*")], &labels));
        assert!(!matches_labels(&[matcher(MatchType::Regex, "env", ".+")], &labels));
        assert!(
            !matches_labels(
                &[
                    matcher(MatchType::Equal, "__name__", "up"),
                    matcher(MatchType::NotRegex, "job", "no.*")
                ],
                &labels
            ),
            "one failing matcher rejects the series"
        );
    }

    /// Escapes exactly the characters the fast-path tokenizer treats as metacharacters.
    fn escape(literal: &str) -> String {
        let mut out = String::new();
        for c in literal.chars() {
            if META.contains(&c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    fn literal_strategy() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[ab.|*()\\\\\né]{0,4}").expect("valid strategy")
    }

    /// A fast-path pattern built from random literals, together with those literals.
    fn pattern_strategy() -> impl Strategy<Value = (String, Vec<String>)> {
        let alternation = (proptest::collection::vec(literal_strategy(), 1..5), 0..3usize).prop_map(|(lits, wrap)| {
            let body = lits.iter().map(|l| escape(l)).collect::<Vec<_>>().join("|");
            let pattern = match wrap {
                0 => body,
                1 => format!("({body})"),
                _ => format!("(?:{body})"),
            };
            (pattern, lits)
        });
        let affix = (literal_strategy(), 0..3usize).prop_map(|(lit, shape)| {
            let pattern = match shape {
                0 => format!("{}.*", escape(&lit)),
                1 => format!(".*{}", escape(&lit)),
                _ => format!(".*{}.*", escape(&lit)),
            };
            (pattern, vec![lit])
        });
        let fixed = prop_oneof![Just(".*".to_string()), Just(".+".to_string())].prop_map(|p| (p, vec![String::new()]));
        prop_oneof![alternation, affix, fixed]
    }

    proptest! {
        #[test]
        fn fast_path_equals_anchored_regex(
            (pattern, literals) in pattern_strategy(),
            randoms in proptest::collection::vec(literal_strategy(), 1..4),
            glue in literal_strategy(),
        ) {
            let matcher = m(MatchType::Regex, &pattern);
            prop_assert!(!matcher.uses_regex(), "no fast path for {:?}", pattern);
            let regex = anchored(&pattern);
            // Random inputs rarely hit a pattern, so also try its literals with random text around.
            let mut inputs = randoms;
            for literal in &literals {
                inputs.push(literal.clone());
                inputs.push(format!("{literal}{glue}"));
                inputs.push(format!("{glue}{literal}"));
                inputs.push(format!("{glue}{literal}{glue}"));
            }
            for input in &inputs {
                prop_assert_eq!(matcher.matches(input), regex.is_match(input), "{:?} on {:?}", pattern, input);
                prop_assert_eq!(m(MatchType::NotRegex, &pattern).matches(input), !regex.is_match(input));
            }
            prop_assert_eq!(matcher.matches_empty(), regex.is_match(""));
        }
    }
}
