//! Executes a parsed template against one entry or alert: walks the tree, evaluates pipelines (the piped
//! value is the last argument of the next command), keeps variables in scoped frames, and bounds the
//! output and the number of executed nodes (`range` loops).

use super::funcs::{self, Env, Func, RegexCache};
use super::parse::{Arg, Cmd, Node, Pipe};
use super::value::{ALERT_TYPE, Value, map_get};
use super::{MAX_OUTPUT, TemplateContext};

/// Execution state for one render.
pub(super) struct Exec<'a> {
    ctx: &'a dyn TemplateContext,
    cache: &'a RegexCache,
    out: &'a mut String,
    start: usize,
    vars: Vec<(String, Value)>,
    external_url: &'a str,
    steps: usize,
    line: usize,
}

/// Most nodes (and `range` iterations) one render may execute.
pub(super) const MAX_STEPS: usize = 1_000_000;

/// An execution error with the line of the failing pipeline.
pub(super) struct ExecError {
    /// 1-based template line.
    pub line: usize,
    /// What failed.
    pub message: String,
}

type Result<T> = std::result::Result<T, ExecError>;

impl<'a> Exec<'a> {
    /// Prepares to append to `out`; `root` is `$` (the dot [`Exec::run`] should start with).
    pub fn new(
        ctx: &'a dyn TemplateContext,
        cache: &'a RegexCache,
        out: &'a mut String,
        root: Value,
        external_url: &'a str,
    ) -> Exec<'a> {
        let start = out.len();
        Exec {
            ctx,
            cache,
            out,
            start,
            vars: vec![("$".to_string(), root)],
            external_url,
            steps: 0,
            line: 1,
        }
    }

    /// Counts one executed node; `line` 0 (text) reports the line of the last pipeline.
    fn step(&mut self, line: usize) -> Result<()> {
        self.steps += 1;
        if line > 0 {
            self.line = line;
        }
        if self.steps > MAX_STEPS {
            return Err(ExecError {
                line: self.line,
                message: format!("template executes more than {MAX_STEPS} steps"),
            });
        }
        Ok(())
    }

    /// Runs a list of nodes with `dot` as the current value.
    pub fn run(&mut self, nodes: &[Node], dot: &Value) -> Result<()> {
        for node in nodes {
            let line = match node {
                Node::Text(_) => 0,
                Node::Action(pipe) | Node::Branch { pipe, .. } | Node::Range { pipe, .. } => pipe.line,
            };
            self.step(line)?;
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
                Node::Range { vars, pipe, body, els } => {
                    let scope = self.vars.len();
                    let v = self.pipe(pipe, dot)?;
                    let result = self.range(vars, pipe.line, &v, body, els, dot);
                    self.vars.truncate(scope);
                    result?;
                }
            }
        }
        Ok(())
    }

    /// Runs a `range` body per entry of a label map (sorted by name), or `els` when there is none.
    fn range(
        &mut self,
        vars: &[String],
        line: usize,
        v: &Value,
        body: &[Node],
        els: &[Node],
        dot: &Value,
    ) -> Result<()> {
        let map = match v {
            Value::Map(m) if !m.is_empty() => m,
            Value::Map(_) | Value::Nil => return self.run(els, dot),
            other => {
                return Err(ExecError {
                    line,
                    message: format!("range can't iterate over {}", other.to_text()),
                });
            }
        };
        for (k, val) in map.iter() {
            self.step(line)?;
            let scope = self.vars.len();
            match vars {
                [v] => self.vars.push((v.clone(), Value::Str(val.clone()))),
                [k_var, v_var] => {
                    self.vars.push((k_var.clone(), Value::Str(k.clone())));
                    self.vars.push((v_var.clone(), Value::Str(val.clone())));
                }
                _ => {}
            }
            let result = self.run(body, &Value::Str(val.clone()));
            self.vars.truncate(scope);
            result?;
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
            external_url: self.external_url,
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
                    external_url: self.external_url,
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

    /// Follows `.a.b`: a field of a label map is that label ("" when missing, Go's missingkey=zero);
    /// the alert data has the fields `Labels`, `ExternalLabels`, `ExternalURL` and `Value`.
    fn fields(&self, mut v: Value, path: &[String]) -> std::result::Result<Value, String> {
        for f in path {
            v = match v {
                Value::Labels => Value::Str(self.ctx.label(f).unwrap_or("").to_string()),
                Value::Map(m) => Value::Str(map_get(&m, f).unwrap_or("").to_string()),
                Value::Alert(a) => match f.as_str() {
                    "Labels" => Value::Map(a.labels.clone()),
                    "ExternalLabels" => Value::Map(a.external_labels.clone()),
                    "ExternalURL" => Value::Str(a.external_url.clone()),
                    "Value" => Value::Float(a.value),
                    _ => return Err(format!("can't evaluate field {f} in type {ALERT_TYPE}")),
                },
                Value::Nil => return Err(format!("nil pointer evaluating interface {{}}.{f}")),
                other => return Err(format!("can't evaluate field {f} in type {}", other.type_name())),
            };
        }
        Ok(v)
    }
}
