//! `| pattern "<ip> - <_> <status>"` and the `|>` / `!>` pattern line filters.

/// One element of a pattern: a literal run or a capture (`None` for the unnamed `<_>`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Literal(String),
    Capture(Option<String>),
}

/// The most captures a pattern may have (a bound on the work and memory a match takes).
const MAX_CAPTURES: usize = 1024;

/// A compiled pattern expression (Loki's `pattern` package).
///
/// Syntax: `<name>` with `name` matching `[A-Za-z_][A-Za-z0-9_]*` is a named capture, `<_>` is the unnamed
/// capture, and every other character (including a `<` that does not start a capture) is literal text.
/// A pattern is invalid when two captures are adjacent (`<a><b>`), a name is used twice, or (for the
/// `| pattern` parser, [`Pattern::parse`]) it has no named capture. The line filters use
/// [`Pattern::parse_line_filter`], which instead forbids named captures and accepts the empty pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    nodes: Vec<Node>,
    names: Vec<String>,
}

impl Pattern {
    /// Compiles a `| pattern` parser expression: it needs at least one named capture, no adjacent captures
    /// and no duplicate names. Errors name the pattern and Loki's reason.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let pattern = Pattern::lex(text)?;
        if pattern.names.is_empty() {
            return Err(format!("invalid pattern {text:?}: at least one capture is required"));
        }
        pattern.check_adjacent(text)?;
        for (i, name) in pattern.names.iter().enumerate() {
            if pattern.names[..i].contains(name) {
                return Err(format!(
                    "invalid pattern {text:?}: duplicate capture name ({name}): invalid expression"
                ));
            }
        }
        Ok(pattern)
    }

    /// Compiles a `|>` / `!>` line-filter pattern: only unnamed `<_>` captures, none adjacent. The empty
    /// pattern is accepted and matches only the empty line.
    pub fn parse_line_filter(text: &str) -> Result<Pattern, String> {
        let pattern = Pattern::lex(text)?;
        pattern.check_adjacent(text)?;
        if !pattern.names.is_empty() {
            return Err(format!("invalid pattern {text:?}: named captures are not allowed"));
        }
        Ok(pattern)
    }

    /// Splits the text into literal runs and captures.
    fn lex(text: &str) -> Result<Pattern, String> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut names = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(name) = capture_at(rest) {
                if nodes.len() >= 2 * MAX_CAPTURES {
                    return Err(format!("invalid pattern {text:?}: more than {MAX_CAPTURES} captures"));
                }
                rest = &rest[name.len() + 2..];
                if name == "_" {
                    nodes.push(Node::Capture(None));
                } else {
                    names.push(name.to_string());
                    nodes.push(Node::Capture(Some(name.to_string())));
                }
                continue;
            }
            let Some(c) = rest.chars().next() else { break };
            if let Some(Node::Literal(lit)) = nodes.last_mut() {
                lit.push(c);
            } else {
                nodes.push(Node::Literal(c.to_string()));
            }
            rest = &rest[c.len_utf8()..];
        }
        Ok(Pattern { nodes, names })
    }

    fn check_adjacent(&self, text: &str) -> Result<(), String> {
        let adjacent = self
            .nodes
            .windows(2)
            .any(|w| matches!(w, [Node::Capture(_), Node::Capture(_)]));
        if adjacent {
            return Err(format!(
                "invalid pattern {text:?}: found consecutive capture: invalid expression"
            ));
        }
        Ok(())
    }

    /// The named captures, in pattern order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The literal runs, in pattern order (useful to pre-filter lines by substring).
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().filter_map(|n| match n {
            Node::Literal(l) => Some(l.as_str()),
            Node::Capture(_) => None,
        })
    }

    /// As the `| pattern` parser: the captured `(name, value)` pairs, in pattern order.
    ///
    /// Loki's matching rules: the pattern is anchored at the start of the line (a leading literal must be a
    /// prefix of the line, else `None`); each capture extends to the *first* occurrence of the literal that
    /// follows it (no backtracking), and a trailing capture takes the rest of the line. When a literal is not
    /// found, the capture before it takes the rest of the line and matching stops, so only the captures up
    /// to there are returned (`Some` of a shorter list; Loki sets no error label). Captures may be empty.
    /// An empty line gives `None`.
    pub fn captures<'a>(&self, line: &'a str) -> Option<Vec<(&str, &'a str)>> {
        if line.is_empty() || self.nodes.is_empty() {
            return None;
        }
        let mut nodes = self.nodes.as_slice();
        let mut rest = line;
        if let [Node::Literal(lit), tail @ ..] = nodes {
            rest = rest.strip_prefix(lit.as_str())?;
            nodes = tail;
        }
        if nodes.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(self.names.len());
        while let [Node::Capture(name), tail @ ..] = nodes {
            let Some((Node::Literal(lit), after)) = tail.split_first() else {
                // A trailing capture takes the rest of the line.
                if let Some(name) = name {
                    out.push((name.as_str(), rest));
                }
                break;
            };
            let Some(at) = rest.find(lit.as_str()) else {
                if let Some(name) = name {
                    out.push((name.as_str(), rest));
                }
                break;
            };
            if let Some(name) = name {
                out.push((name.as_str(), &rest[..at]));
            }
            rest = &rest[at + lit.len()..];
            nodes = after;
        }
        Some(out)
    }

    /// As a line filter (`|>`; `!>` negates it): whether the whole line matches.
    ///
    /// Each literal is searched for at its first occurrence after the previous one (no backtracking); every
    /// capture must match at least one byte; a pattern starting with a literal must match at the start of
    /// the line, and one ending with a literal must match at its end. The empty pattern matches only the
    /// empty line. (Loki's `Test` does not anchor a leading literal; we do, as its docs describe patterns as
    /// anchored at the start.)
    pub fn matches(&self, line: &str) -> bool {
        if self.nodes.is_empty() || line.is_empty() {
            return self.nodes.is_empty() && line.is_empty();
        }
        let mut off = 0;
        for (i, node) in self.nodes.iter().enumerate() {
            let Node::Literal(lit) = node else { continue };
            let Some(at) = line[off..].find(lit.as_str()) else {
                return false;
            };
            if i == 0 && at != 0 {
                return false;
            }
            if i != 0 && at == 0 {
                // The capture before this literal would be empty.
                return false;
            }
            off += at + lit.len();
        }
        let ends_with_capture = matches!(self.nodes.last(), Some(Node::Capture(_)));
        ends_with_capture == (off != line.len())
    }
}

/// If `text` starts with `<name>` (`name` = `[A-Za-z_][A-Za-z0-9_]*`), returns `name`.
fn capture_at(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    if b.first() != Some(&b'<') || !b.get(1).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') {
        return None;
    }
    let end = b[1..].iter().position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))? + 1;
    (b[end] == b'>').then(|| &text[1..end])
}
