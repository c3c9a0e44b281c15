//! Label functions: `label_replace`, `label_join`, `sort_by_label`, `sort_by_label_desc`.

use std::cmp::Ordering;

use regex::Regex;
use tsdb::{LabelsBuilder, METRIC_NAME};

use super::aggregate::valid_label_name;
use super::calls::arg;
use super::engine::{Elem, Evaluator, Val, check_unique};
use crate::error::Error;
use crate::promql::ast::Expr;

/// Evaluates one of the label functions at `t`.
pub(super) fn eval(ev: &mut Evaluator<'_>, name: &str, args: &[Expr], t: i64) -> Result<Val, Error> {
    let vec = ev.eval_vector(arg(args, 0)?, t)?;
    let mut strings = Vec::with_capacity(args.len().saturating_sub(1));
    for a in &args[1..] {
        strings.push(ev.eval_string(a, t)?);
    }
    let out = match name {
        "label_replace" => {
            let re = match strings.get(3) {
                Some(src) => match ev.regexes.get(src) {
                    Some(re) => re.clone(),
                    None => {
                        let re = compile(src)?;
                        ev.regexes.insert(src.clone(), re.clone());
                        re
                    }
                },
                None => return Err(Error::Execution("label_replace() needs 5 arguments".into())),
            };
            label_replace(vec, &strings, &re)?
        }
        "label_join" => label_join(vec, &strings)?,
        _ => sort_by_label(vec, &strings, name == "sort_by_label_desc"),
    };
    Ok(Val::Vector(out))
}

/// Compiles a `label_replace` regex, anchored at both ends with `.` matching newlines.
fn compile(regex: &str) -> Result<Regex, Error> {
    Regex::new(&format!("^(?s:{regex})$"))
        .map_err(|e| Error::Execution(format!("invalid regular expression in label_replace(): {e}")))
}

fn label_replace(vec: Vec<Elem>, s: &[String], re: &Regex) -> Result<Vec<Elem>, Error> {
    let [dst, replacement, src, _] = s else {
        return Err(Error::Execution("label_replace() needs 5 arguments".into()));
    };
    if !valid_label_name(dst) {
        return Err(Error::Execution(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut out = Vec::with_capacity(vec.len());
    for mut e in vec {
        let value = e.labels.get(src).unwrap_or("");
        if let Some(caps) = re.captures(value) {
            let mut res = String::new();
            caps.expand(replacement, &mut res);
            let mut b = LabelsBuilder::new(&e.labels);
            b.set(dst, &res);
            e.labels = b.labels();
            if dst == METRIC_NAME {
                e.drop_name = false;
            }
        }
        out.push(e);
    }
    check_unique(out.iter().map(|e| &e.labels))?;
    Ok(out)
}

fn label_join(vec: Vec<Elem>, s: &[String]) -> Result<Vec<Elem>, Error> {
    let [dst, sep, srcs @ ..] = s else {
        return Err(Error::Execution("label_join() needs at least 3 arguments".into()));
    };
    if !valid_label_name(dst) {
        return Err(Error::Execution(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    for src in srcs {
        if !valid_label_name(src) {
            return Err(Error::Execution(format!(
                "invalid source label name in label_join(): {src}"
            )));
        }
    }
    let mut out = Vec::with_capacity(vec.len());
    for mut e in vec {
        let joined = srcs
            .iter()
            .map(|n| e.labels.get(n).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(sep);
        let mut b = LabelsBuilder::new(&e.labels);
        b.set(dst, &joined);
        e.labels = b.labels();
        if dst == METRIC_NAME {
            e.drop_name = false;
        }
        out.push(e);
    }
    check_unique(out.iter().map(|e| &e.labels))?;
    Ok(out)
}

/// Compares strings in natural order: runs of digits compare by numeric value.
pub(super) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (&a[..da], &b[..db]);
                let ta = trim_zeros(na);
                let tb = trim_zeros(nb);
                let ord = ta
                    .len()
                    .cmp(&tb.len())
                    .then_with(|| ta.cmp(tb))
                    .then_with(|| da.cmp(&db));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|c| **c == b'0').count();
    &d[n..]
}

fn sort_by_label(mut vec: Vec<Elem>, names: &[String], desc: bool) -> Vec<Elem> {
    vec.sort_by(|a, b| {
        let mut ord = Ordering::Equal;
        for n in names {
            let (x, y) = (a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
            ord = natural_cmp(x, y);
            if ord != Ordering::Equal {
                break;
            }
        }
        let ord = ord.then_with(|| a.labels.cmp(&b.labels));
        if desc { ord.reverse() } else { ord }
    });
    vec
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsdb::Labels;

    fn el(pairs: &[(&str, &str)]) -> Elem {
        Elem {
            labels: Labels::new(pairs.iter().copied()).expect("valid labels"),
            v: 1.0,
            drop_name: true,
        }
    }

    fn strs(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    fn replace(v: Vec<Elem>, s: &[&str]) -> Result<Vec<Elem>, Error> {
        label_replace(v, &strs(s), &compile(s[3])?)
    }

    #[test]
    fn replace_with_groups_and_name() {
        let v = vec![el(&[("__name__", "m"), ("src", "source-value-10")])];
        let out = replace(v.clone(), &["dst", "value-$1", "src", "source-value-(.*)"]).expect("ok");
        assert_eq!(out[0].labels.get("dst"), Some("value-10"));
        let out = replace(v.clone(), &["dst", "value-$1", "src", "nomatch(.*)"]).expect("ok");
        assert_eq!(out[0].labels.get("dst"), None);
        let out = replace(v.clone(), &["__name__", "new_$1", "src", "source-value-(.*)"]).expect("ok");
        assert_eq!((out[0].labels.metric_name(), out[0].drop_name), (Some("new_10"), false));
        assert!(compile("(.*").is_err());
        assert!(replace(v, &["\u{FFFD}", "x", "src", "(.*)"]).is_err());
    }

    #[test]
    fn join_and_collisions() {
        let v = vec![el(&[("a", "1"), ("b", "2")]), el(&[("a", "1"), ("b", "3")])];
        let out = label_join(v.clone(), &strs(&["c", "-", "a", "b", "missing"])).expect("ok");
        assert_eq!(out[1].labels.get("c"), Some("1-3-"));
        let err = label_join(v, &strs(&["b", "", "a"])).expect_err("collision");
        assert_eq!(err.to_string(), "vector cannot contain metrics with the same labelset");
    }

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("a10", "a10"), Ordering::Equal);
        assert_eq!(natural_cmp("b", "a10"), Ordering::Greater);
    }
}
