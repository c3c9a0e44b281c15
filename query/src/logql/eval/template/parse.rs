//! Parser: tokens to a tree of text, actions, `if`/`with` branches and (alert templates) `range` loops.
//! Checks function names against the dialect and variables, bounds nesting, and compiles literal
//! regular expressions once.

use std::sync::Arc;

use regex::Regex;

use super::funcs::{self, Dialect, Func};
use super::lex::{Tok, Token, lex};

/// Deepest nesting of blocks and parentheses a template may use.
pub(super) const MAX_DEPTH: usize = 64;
/// Largest compiled size of a regular expression used by a template.
pub(super) const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A node of the template body.
#[derive(Debug, Clone)]
pub(super) enum Node {
    /// Literal text.
    Text(String),
    /// `{{ pipeline }}`: printed unless it declares a variable.
    Action(Pipe),
    /// `{{ if }}` / `{{ with }}` with then and else lists.
    Branch {
        with: bool,
        pipe: Pipe,
        then: Vec<Node>,
        els: Vec<Node>,
    },
    /// `{{ range [$k, ]$v := pipe }}` (alert templates): the body per element, `els` when empty.
    Range {
        vars: Vec<String>,
        pipe: Pipe,
        body: Vec<Node>,
        els: Vec<Node>,
    },
}

/// A pipeline: optional variable declaration/assignment, then commands joined by `|`.
#[derive(Debug, Clone)]
pub(super) struct Pipe {
    /// `$x :=` (declare = true) or `$x =`.
    pub var: Option<(String, bool)>,
    /// The commands.
    pub cmds: Vec<Cmd>,
    /// Line of the pipeline, for error messages.
    pub line: usize,
}

/// One command: a function with arguments, or a single operand.
#[derive(Debug, Clone)]
pub(super) struct Cmd {
    /// Operands; the first is the function when it is a [`Arg::Func`].
    pub args: Vec<Arg>,
    /// The regex of `regexReplaceAll`/`regexReplaceAllLiteral`/`count`/`match`/`reReplaceAll` when its
    /// pattern is a literal (in alert templates only when it compiles: Prometheus fails at render time).
    pub regex: Option<Arc<Regex>>,
}

/// An operand.
#[derive(Debug, Clone)]
pub(super) enum Arg {
    /// A function by name.
    Func(Func, String),
    /// `.a.b`: fields of dot.
    Field(Vec<String>),
    /// `.`.
    Dot,
    /// `$x.a.b`.
    Var(String, Vec<String>),
    /// A string literal.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `nil`.
    Nil,
    /// `( pipeline ).a.b`.
    Paren(Box<Pipe>, Vec<String>),
}

impl Arg {
    /// Source-like text of the operand, for error messages.
    pub fn describe(&self) -> String {
        let path = |p: &[String]| p.iter().map(|f| format!(".{f}")).collect::<String>();
        match self {
            Arg::Func(_, name) => name.clone(),
            Arg::Field(p) => path(p),
            Arg::Dot => ".".to_string(),
            Arg::Var(v, p) => format!("{v}{}", path(p)),
            Arg::Str(s) => format!("{s:?}"),
            Arg::Int(i) => i.to_string(),
            Arg::Float(f) => f.to_string(),
            Arg::Bool(b) => b.to_string(),
            Arg::Nil => "nil".to_string(),
            Arg::Paren(_, p) => format!("(...){}", path(p)),
        }
    }
}

/// Builds a compiled regex with the template size limit.
pub(super) fn compile_regex(pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("error parsing regexp {pattern:?}: {e}"))
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    vars: Vec<String>,
    depth: usize,
    dialect: Dialect,
}

/// The end of a list: `{{ end }}`, `{{ else ... }}` (pointing after `else`) or the end of input.
enum ListEnd {
    End,
    Else,
    Eof,
}

/// Parses template text with the functions of `dialect`; errors are `(line, message)`.
pub(super) fn parse(src: &str, dialect: Dialect) -> Result<Vec<Node>, (usize, String)> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        vars: vec!["$".to_string()],
        depth: 0,
        dialect,
    };
    let (nodes, end) = p.list()?;
    match end {
        ListEnd::Eof => Ok(nodes),
        ListEnd::End => Err((p.line(), "unexpected {{end}}".to_string())),
        ListEnd::Else => Err((p.line(), "unexpected {{else}}".to_string())),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|t| &t.tok)
    }

    fn line(&self) -> usize {
        self.toks.get(self.pos).or(self.toks.last()).map_or(1, |t| t.line)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn err<T>(&self, msg: impl Into<String>) -> Result<T, (usize, String)> {
        Err((self.line(), msg.into()))
    }

    fn expect_close(&mut self, what: &str) -> Result<(), (usize, String)> {
        match self.next().map(|t| t.tok) {
            Some(Tok::Close) => Ok(()),
            Some(t) => self.err(format!("unexpected {t:?} in {what}")),
            None => self.err("unclosed action"),
        }
    }

    fn enter(&mut self) -> Result<(), (usize, String)> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.err(format!("template nested deeper than {MAX_DEPTH} levels"))
        } else {
            Ok(())
        }
    }

    /// Parses nodes up to `{{end}}`, `{{else}}` or the end of input.
    fn list(&mut self) -> Result<(Vec<Node>, ListEnd), (usize, String)> {
        let mut nodes = Vec::new();
        loop {
            match self.next().map(|t| t.tok) {
                None => return Ok((nodes, ListEnd::Eof)),
                Some(Tok::Text(s)) => nodes.push(Node::Text(s)),
                Some(Tok::Open) => {
                    let keyword = match self.peek() {
                        Some(Tok::Ident(w)) => w.clone(),
                        _ => String::new(),
                    };
                    match keyword.as_str() {
                        "end" => {
                            self.pos += 1;
                            self.expect_close("end")?;
                            return Ok((nodes, ListEnd::End));
                        }
                        "else" => {
                            self.pos += 1;
                            return Ok((nodes, ListEnd::Else));
                        }
                        "if" | "with" => {
                            self.pos += 1;
                            nodes.push(self.branch(keyword == "with")?);
                        }
                        "range" if self.dialect == Dialect::Alert => {
                            self.pos += 1;
                            nodes.push(self.range()?);
                        }
                        "range" | "define" | "template" | "block" | "break" | "continue" => {
                            let kind = match self.dialect {
                                Dialect::LogQl => "LogQL",
                                Dialect::Alert => "Loupe's",
                            };
                            return self.err(format!("{{{{{keyword}}}}} is not supported in {kind} templates"));
                        }
                        _ => {
                            let pipe = self.pipeline(true)?;
                            self.expect_close("command")?;
                            nodes.push(Node::Action(pipe));
                        }
                    }
                }
                Some(t) => return self.err(format!("unexpected {t:?}")),
            }
        }
    }

    /// Parses `if`/`with` after the keyword, through its `{{end}}` (shared by `else if` chains).
    fn branch(&mut self, with: bool) -> Result<Node, (usize, String)> {
        self.enter()?;
        let scope = self.vars.len();
        let pipe = self.pipeline(false)?;
        self.expect_close(if with { "with" } else { "if" })?;
        let (then, end) = self.list()?;
        let els = match end {
            ListEnd::Eof => return self.err("unexpected EOF"),
            ListEnd::End => Vec::new(),
            ListEnd::Else => match self.peek() {
                Some(Tok::Ident(w)) if w == "if" || w == "with" => {
                    let nested_with = w == "with";
                    self.pos += 1;
                    vec![self.branch(nested_with)?]
                }
                _ => {
                    self.expect_close("else")?;
                    match self.list()? {
                        (els, ListEnd::End) => els,
                        (_, ListEnd::Else) => return self.err("expected end; found {{else}}"),
                        (_, ListEnd::Eof) => return self.err("unexpected EOF"),
                    }
                }
            },
        };
        self.vars.truncate(scope);
        self.depth -= 1;
        Ok(Node::Branch { with, pipe, then, els })
    }

    /// Parses `range` after the keyword, through its `{{end}}`: `$v :=` / `$k, $v :=`, a pipeline, the
    /// body and an optional `{{else}}` list.
    fn range(&mut self) -> Result<Node, (usize, String)> {
        self.enter()?;
        let scope = self.vars.len();
        let mut vars = Vec::new();
        match (self.peek(), self.peek_at(1), self.peek_at(2), self.peek_at(3)) {
            (Some(Tok::Var(k)), Some(Tok::Comma), Some(Tok::Var(v)), Some(Tok::Declare)) => {
                vars = vec![k.clone(), v.clone()];
                self.pos += 4;
            }
            (Some(Tok::Var(v)), Some(Tok::Declare), ..) => {
                vars = vec![v.clone()];
                self.pos += 2;
            }
            _ => {}
        }
        self.vars.extend(vars.iter().cloned());
        let pipe = self.pipeline(false)?;
        if pipe.var.is_some() {
            return self.err("range can only declare variables before its pipeline");
        }
        self.expect_close("range")?;
        let (body, end) = self.list()?;
        let els = match end {
            ListEnd::Eof => return self.err("unexpected EOF"),
            ListEnd::End => Vec::new(),
            ListEnd::Else => {
                self.expect_close("else")?;
                match self.list()? {
                    (els, ListEnd::End) => els,
                    (_, ListEnd::Else) => return self.err("expected end; found {{else}}"),
                    (_, ListEnd::Eof) => return self.err("unexpected EOF"),
                }
            }
        };
        self.vars.truncate(scope);
        self.depth -= 1;
        Ok(Node::Range { vars, pipe, body, els })
    }

    /// Parses a pipeline up to (not including) `}}` or `)`.
    fn pipeline(&mut self, top: bool) -> Result<Pipe, (usize, String)> {
        let line = self.line();
        let mut var = None;
        if let (Some(Tok::Var(name)), Some(op @ (Tok::Declare | Tok::Assign))) = (self.peek(), self.peek_at(1)) {
            let declare = *op == Tok::Declare;
            let name = name.clone();
            if !declare && !self.vars.contains(&name) {
                return self.err(format!("undefined variable {name:?}"));
            }
            self.pos += 2;
            if declare {
                self.vars.push(name.clone());
            }
            var = Some((name, declare));
        }
        let mut cmds = Vec::new();
        loop {
            cmds.push(self.command(cmds.is_empty())?);
            match self.peek() {
                Some(Tok::Pipe) => self.pos += 1,
                Some(Tok::Close) if top || !cmds.is_empty() => break,
                Some(Tok::RParen) if !top => break,
                Some(t) => return self.err(format!("unexpected {t:?} in operand")),
                None => return self.err("unclosed action"),
            }
        }
        Ok(Pipe { var, cmds, line })
    }

    fn command(&mut self, first: bool) -> Result<Cmd, (usize, String)> {
        let mut args = Vec::new();
        while let Some(t) = self.peek() {
            if matches!(t, Tok::Close | Tok::RParen | Tok::Pipe) {
                break;
            }
            if !args.is_empty() && !self.toks[self.pos].spaced {
                return self.err(format!("missing space before {t:?}"));
            }
            args.push(self.operand()?);
        }
        let Some(head) = args.first() else {
            return self.err("missing value for command");
        };
        match head {
            Arg::Func(..) => {}
            Arg::Nil => return self.err("nil is not a command"),
            other if args.len() > 1 || !first => {
                return self.err(format!("can't give argument to non-function {}", other.describe()));
            }
            _ => {}
        }
        let mut regex = None;
        if let (Arg::Func(f, _), Some(Arg::Str(pattern))) = (head, args.get(1))
            && funcs::takes_regex(*f)
        {
            regex = match compile_regex(pattern) {
                Ok(r) => Some(Arc::new(r)),
                Err(_) if self.dialect == Dialect::Alert => None,
                Err(e) => return self.err(e),
            };
        }
        Ok(Cmd { args, regex })
    }

    /// An operand: a term followed by chained `.field`s without spaces.
    fn operand(&mut self) -> Result<Arg, (usize, String)> {
        let Some(tok) = self.next() else {
            return self.err("unclosed action");
        };
        let mut arg = match tok.tok {
            Tok::Ident(name) => match funcs::lookup_in(&name, self.dialect) {
                Ok(f) => Arg::Func(f, name),
                Err(msg) => return self.err(msg),
            },
            Tok::Field(f) => Arg::Field(vec![f]),
            Tok::Dot => Arg::Dot,
            Tok::Var(v) => {
                if !self.vars.contains(&v) {
                    return self.err(format!("undefined variable {v:?}"));
                }
                Arg::Var(v, Vec::new())
            }
            Tok::Str(s) => Arg::Str(s),
            Tok::Number(n) => number(&n).ok_or((tok.line, format!("bad number syntax: {n:?}")))?,
            Tok::Char(c) => Arg::Int(c),
            Tok::Bool(b) => Arg::Bool(b),
            Tok::Nil => Arg::Nil,
            Tok::LParen => {
                self.enter()?;
                let pipe = self.pipeline(false)?;
                if self.next().map(|t| t.tok) != Some(Tok::RParen) {
                    return self.err("unclosed left paren");
                }
                self.depth -= 1;
                Arg::Paren(Box::new(pipe), Vec::new())
            }
            t => return self.err(format!("unexpected {t:?} in operand")),
        };
        while let Some(Tok::Field(f)) = self.peek() {
            if self.toks[self.pos].spaced {
                break;
            }
            let f = f.clone();
            self.pos += 1;
            match &mut arg {
                Arg::Field(p) | Arg::Var(_, p) | Arg::Paren(_, p) => p.push(f),
                other => return self.err(format!("unexpected . after term {}", other.describe())),
            }
        }
        Ok(arg)
    }
}

/// A Go number literal: integers (decimal, 0x, 0o, 0b, leading-0 octal) or floats.
fn number(text: &str) -> Option<Arg> {
    let clean = text.replace('_', "");
    let body = clean.trim_start_matches(['+', '-']);
    let lower = body.to_ascii_lowercase();
    let is_hex = lower.starts_with("0x");
    if !is_hex && lower.contains(['.', 'e']) {
        return super::value::parse_go_float(&clean)
            .filter(|f| f.is_finite())
            .map(Arg::Float);
    }
    super::value::parse_go_int(&clean).map(Arg::Int)
}

/// Label names a parsed template reads through `.name`, `$.name` or `index . "name"`.
pub(super) fn referenced_labels(nodes: &[Node], out: &mut Vec<String>) {
    for n in nodes {
        match n {
            Node::Text(_) => {}
            Node::Action(p) => pipe_labels(p, out),
            Node::Branch { pipe, then, els, .. }
            | Node::Range {
                pipe, body: then, els, ..
            } => {
                pipe_labels(pipe, out);
                referenced_labels(then, out);
                referenced_labels(els, out);
            }
        }
    }
}

fn pipe_labels(p: &Pipe, out: &mut Vec<String>) {
    for cmd in &p.cmds {
        if let (Some(Arg::Func(Func::Index, _)), Some(Arg::Dot | Arg::Var(..))) = (cmd.args.first(), cmd.args.get(1)) {
            for a in &cmd.args[2..] {
                if let Arg::Str(s) = a {
                    out.push(s.clone());
                }
            }
        }
        for a in &cmd.args {
            match a {
                Arg::Field(path) | Arg::Var(_, path) => {
                    if let Some(first) = path.first() {
                        out.push(first.clone());
                    }
                }
                Arg::Paren(inner, _) => pipe_labels(inner, out),
                _ => {}
            }
        }
    }
}
