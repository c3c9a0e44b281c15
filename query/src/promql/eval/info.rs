//! The experimental `info(v [, selector])` function: adds the data labels of info metrics
//! (`target_info` by default) that share the identifying labels `instance` and `job` with a series.
//!
//! The selector's `__name__` matchers choose the info metrics (without a positive one, any
//! `*_info` metric not excluded); its other matchers choose and filter the data labels. Input
//! series that are themselves such info metrics pass unchanged. Of several series of one info
//! metric the one with the newest sample wins; two info metrics giving a label different values
//! is an error. When no info series matches, the input series passes unchanged unless a data
//! matcher rejects the empty value, in which case it is dropped. Info series are looked up at
//! the evaluation time (Prometheus also follows `@` and `offset` of the argument; not done here).

use std::collections::HashMap;

use tsdb::{Labels, LabelsBuilder, METRIC_NAME, MatchType, Matcher};

use super::calls::arg;
use super::engine::{Elem, Evaluator, Val};
use super::selectors;
use crate::error::Error;
use crate::promql::ast::Expr;

/// The labels that tie a series to its info series.
const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// The matchers of an `info` call: `(__name__ matchers, data matchers, selection matchers)`.
pub(super) fn matchers(args: &[Expr]) -> (Vec<Matcher>, Vec<Matcher>, Vec<Matcher>) {
    let given: Vec<Matcher> = match args.get(1) {
        Some(Expr::VectorSelector(vs)) => vs.matchers.clone(),
        _ => Vec::new(),
    };
    let (mut names, data): (Vec<Matcher>, Vec<Matcher>) = given.into_iter().partition(|m| m.name() == METRIC_NAME);
    if names.is_empty() {
        names.extend(Matcher::new(MatchType::Equal, METRIC_NAME, "target_info"));
    } else if !names.iter().any(|m| !m.match_type().is_negative()) {
        names.extend(Matcher::new(MatchType::Regex, METRIC_NAME, ".+_info"));
    }
    let mut select = names.clone();
    select.extend(data.iter().cloned());
    (names, data, select)
}

/// The key under which the info series of a call are preloaded.
pub(super) fn key(args: &[Expr]) -> usize {
    args.as_ptr() as usize
}

/// Evaluates `info(v [, selector])` at `t`.
pub(super) fn eval(ev: &mut Evaluator<'_>, args: &[Expr], t: i64) -> Result<Val, Error> {
    let base = ev.eval_vector(arg(args, 0)?, t)?;
    let (names, data, _) = matchers(args);
    let infos = selectors::instant_of_key(ev, key(args), t);
    ev.add_samples(infos.len())?;
    // Per identifying values, per info metric name: the newest series.
    let mut by_ident: HashMap<Vec<String>, HashMap<String, (i64, Labels)>> = HashMap::new();
    for (e, st) in infos {
        let ident: Vec<String> = IDENTIFYING
            .iter()
            .map(|n| e.labels.get(n).unwrap_or("").to_string())
            .collect();
        let name = e.labels.metric_name().unwrap_or("").to_string();
        let slot = by_ident.entry(ident).or_default();
        match slot.get(&name) {
            Some((t0, _)) if *t0 >= st => {}
            _ => {
                slot.insert(name, (st, e.labels));
            }
        }
    }
    let data_required = data.iter().any(|m| !m.matches(""));
    let mut out = Vec::with_capacity(base.len());
    for e in base {
        let own_name = e.labels.metric_name().unwrap_or("");
        if names.iter().all(|m| m.matches(own_name)) {
            out.push(e);
            continue;
        }
        let ident: Vec<String> = IDENTIFYING
            .iter()
            .map(|n| e.labels.get(n).unwrap_or("").to_string())
            .collect();
        let matched = by_ident.get(&ident).filter(|m| !m.is_empty());
        let Some(matched) = matched else {
            if !data_required {
                out.push(e);
            }
            continue;
        };
        let mut added: Vec<(String, String)> = Vec::new();
        let mut sources: Vec<&(i64, Labels)> = matched.values().collect();
        sources.sort_by(|a, b| a.1.cmp(&b.1));
        for (_, info) in sources {
            for l in info.iter() {
                if l.name == METRIC_NAME || IDENTIFYING.contains(&l.name) || e.labels.get(l.name).is_some() {
                    continue;
                }
                if !data.is_empty() && !data.iter().any(|m| m.name() == l.name) {
                    continue;
                }
                match added.iter().find(|(n, _)| n == l.name) {
                    Some((_, v)) if v != l.value => {
                        return Err(Error::Execution(format!(
                            "conflicting label: {:?} has values {v:?} and {:?} in different info metrics",
                            l.name, l.value
                        )));
                    }
                    Some(_) => {}
                    None => added.push((l.name.to_string(), l.value.to_string())),
                }
            }
        }
        let mut b = LabelsBuilder::new(&e.labels);
        for (n, v) in &added {
            b.set(n, v);
        }
        out.push(Elem {
            labels: b.labels(),
            v: e.v,
            drop_name: e.drop_name,
        });
    }
    Ok(Val::Vector(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::promql::parse;

    fn call_args(q: &str) -> Vec<Expr> {
        match parse(q).expect("parses") {
            Expr::Call { args, .. } => args,
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn default_and_implicit_name_matchers() {
        let (names, data, select) = matchers(&call_args("info(up)"));
        assert_eq!((names.len(), data.len(), select.len()), (1, 0, 1));
        assert!(names[0].matches("target_info") && !names[0].matches("build_info"));
        let (names, data, _) = matchers(&call_args("info(up, {__name__!=\"target_info\", x=~\".+\"})"));
        assert_eq!(data.len(), 1);
        assert!(names.iter().all(|m| m.matches("build_info")));
        assert!(!names.iter().all(|m| m.matches("target_info")));
        assert!(!names.iter().all(|m| m.matches("metric")));
    }
}
