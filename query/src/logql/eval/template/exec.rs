//! Executes a parsed template against one entry: walks the tree, evaluates pipelines (the piped value
//! is the last argument of the next command), keeps variables in scoped frames, and bounds the output.

use super::funcs::{self, Env, Func, RegexCache};
use super::parse::{Arg, Cmd, Node, Pipe};
use super::value::Value;
use super::{MAX_OUTPUT, TemplateContext};

/// Execution state for one render.
pub(super) struct Exec<'a> {
    ctx: &'a dyn TemplateContext,
    cache: &'a RegexCache,
    out: &'a mut String,
    start: usize,
    vars: Vec<(String, Value)>,
}

/// An execution error with the line of the failing pipeline.
pub(super) struct ExecError {
    /// 1-based template line.
    pub line: usize,
    /// What failed.
    pub message: String,
}

type Result<T> = std::result::Result<T, ExecError>;

impl<'a> Exec<'a> {
    /// Prepares to append to `out`.
    pub fn new(ctx: &'a dyn TemplateContext, cache: &'a RegexCache, out: &'a mut String) -> Exec<'a> {
        let start = out.len();
        Exec {
            ctx,
            cache,
            out,
            start,
            vars: vec![("$".to_string(), Value::Labels)],
        }
    }

    /// Runs a list of nodes with `dot` as the current value.
    pub fn run(&mut self, nodes: &[Node], dot: &Value) -> Result<()> {
        for node in nodes {
            match node {
                Node::Text(t) => self.write(t, 0)?,
                Node::Action(pipe) => {
                    let v = self.pipe(pipe, dot)?;
                    if pipe.var.is_none() {
                        let mut s = String::new();
                        v.write_to(&mut s).map_err(|message| ExecError {
                            line: pipe.line,
                            message,
                        })?;
                        self.write(&s, pipe.line)?;
                    }
                }
                Node::Branch { with, pipe, then, els } => {
                    let scope = self.vars.len();
                    let v = self.pipe(pipe, dot)?;
                    let result = if v.truth() {
                        if *with { self.run(then, &v) } else { self.run(then, dot) }
                    } else {
                        self.run(els, dot)
                    };
                    self.vars.truncate(scope);
                    result?;
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, s: &str, line: usize) -> Result<()> {
        if self.out.len() - self.start + s.len() > MAX_OUTPUT {
            return Err(ExecError {
                line,
                message: format!("output exceeds {MAX_OUTPUT} bytes"),
            });
        }
        self.out.push_str(s);
        Ok(())
    }

    fn pipe(&mut self, pipe: &Pipe, dot: &Value) -> Result<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.cmd(cmd, dot, value).map_err(|message| ExecError {
                line: pipe.line,
                message,
            })?);
        }
        let value = value.unwrap_or(Value::Nil);
        if let Some((name, declare)) = &pipe.var {
            if *declare {
                self.vars.push((name.clone(), value.clone()));
            } else if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                slot.1 = value.clone();
            }
        }
        Ok(value)
    }

    fn cmd(&mut self, cmd: &Cmd, dot: &Value, piped: Option<Value>) -> std::result::Result<Value, String> {
        let Some(head) = cmd.args.first() else {
            return Ok(Value::Nil);
        };
        let Arg::Func(f, name) = head else {
            if piped.is_some() {
                return Err(format!("can't give argument to non-function {}", head.describe()));
            }
            return self.arg(head, dot);
        };
        let rest = &cmd.args[1..];
        // `and` / `or` stop at the first deciding operand (the piped value comes last).
        if matches!(f, Func::And | Func::Or) {
            let total = rest.len() + usize::from(piped.is_some());
            if total == 0 {
                return Err(format!("wrong number of args for {name}: want at least 1 got 0"));
            }
            let mut last = Value::Nil;
            for a in rest {
                last = self.arg(a, dot)?;
                if last.truth() == (*f == Func::Or) {
                    return Ok(last);
                }
            }
            return Ok(piped.unwrap_or(last));
        }
        let mut values = Vec::with_capacity(rest.len() + 1);
        for a in rest {
            values.push(self.arg(a, dot)?);
        }
        values.extend(piped);
        let env = Env {
            ctx: self.ctx,
            cache: self.cache,
            regex: cmd.regex.as_ref(),
        };
        funcs::call(*f, name, values, &env).map_err(|e| format!("error calling {name}: {e}"))
    }

    fn arg(&mut self, arg: &Arg, dot: &Value) -> std::result::Result<Value, String> {
        match arg {
            Arg::Func(f, name) => {
                let env = Env {
                    ctx: self.ctx,
                    cache: self.cache,
                    regex: None,
                };
                funcs::call(*f, name, Vec::new(), &env).map_err(|e| format!("error calling {name}: {e}"))
            }
            Arg::Field(path) => self.fields(dot.clone(), path),
            Arg::Dot => Ok(dot.clone()),
            Arg::Var(name, path) => {
                let v = self.vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone());
                let v = v.ok_or_else(|| format!("undefined variable: {name}"))?;
                self.fields(v, path)
            }
            Arg::Str(s) => Ok(Value::Str(s.clone())),
            Arg::Int(i) => Ok(Value::Int(*i)),
            Arg::Float(f) => Ok(Value::Float(*f)),
            Arg::Bool(b) => Ok(Value::Bool(*b)),
            Arg::Nil => Ok(Value::Nil),
            Arg::Paren(pipe, path) => {
                let v = self.pipe(pipe, dot).map_err(|e| e.message)?;
                self.fields(v, path)
            }
        }
    }

    /// Follows `.a.b`: a field of the label map is that label ("" when missing, Go's missingkey=zero).
    fn fields(&self, mut v: Value, path: &[String]) -> std::result::Result<Value, String> {
        for f in path {
            v = match v {
                Value::Labels => Value::Str(self.ctx.label(f).unwrap_or("").to_string()),
                Value::Nil => return Err(format!("nil pointer evaluating interface {{}}.{f}")),
                other => return Err(format!("can't evaluate field {f} in type {}", other.type_name())),
            };
        }
        Ok(v)
    }
}
