//! Turning label matchers into sorted series-reference lists ("postings"), for any index.
//!
//! Both the head and the blocks implement [`PostingsSource`]; [`postings_for_matchers`] applies
//! Prometheus's algorithm: intersect the postings of matchers that need a label, then subtract
//! the series whose value fails a matcher that also accepts an absent label.

use crate::error::Result;
use crate::labels::{MatchType, Matcher};

/// An inverted index from label pairs to sorted, unique series references.
pub trait PostingsSource {
    /// Series having label `name` with exactly `value`.
    fn postings(&self, name: &str, value: &str) -> Result<Vec<u64>>;
    /// Union of the postings of every value of `name` for which `accept` is true.
    fn postings_matching(&self, name: &str, accept: &mut dyn FnMut(&str) -> bool) -> Result<Vec<u64>>;
    /// Every series.
    fn all_postings(&self) -> Result<Vec<u64>>;
}

/// Sorted references of the series matching all `matchers`.
pub fn postings_for_matchers(source: &dyn PostingsSource, matchers: &[Matcher]) -> Result<Vec<u64>> {
    let (needs_label, accepts_absent): (Vec<&Matcher>, Vec<&Matcher>) =
        matchers.iter().partition(|m| !m.matches_empty());
    let mut result: Option<Vec<u64>> = None;
    for matcher in &needs_label {
        let postings = positive_postings(source, matcher)?;
        result = Some(match result {
            None => postings,
            Some(current) => intersect(&current, &postings),
        });
        if result.as_ref().is_some_and(|r| r.is_empty()) {
            return Ok(Vec::new());
        }
    }
    let mut result = match result {
        Some(r) => r,
        None => source.all_postings()?,
    };
    for matcher in &accepts_absent {
        // The matcher accepts series without the label; drop those whose value it rejects.
        if matcher.match_type() == MatchType::Regex && matcher.value() == ".*" {
            continue;
        }
        let rejected = source.postings_matching(matcher.name(), &mut |value| !matcher.matches(value))?;
        result = subtract(&result, &rejected);
        if result.is_empty() {
            break;
        }
    }
    Ok(result)
}

fn positive_postings(source: &dyn PostingsSource, matcher: &Matcher) -> Result<Vec<u64>> {
    if matches!(matcher.match_type(), MatchType::Equal | MatchType::Regex)
        && let Some(values) = matcher.set_matches()
    {
        let mut lists = Vec::with_capacity(values.len());
        for value in values {
            lists.push(source.postings(matcher.name(), value)?);
        }
        return Ok(union_all(lists));
    }
    source.postings_matching(matcher.name(), &mut |value| matcher.matches(value))
}

/// Intersection of two sorted lists.
pub fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// `a` without the elements of `b` (both sorted).
pub fn subtract(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}

/// Sorted, deduplicated union of sorted lists.
pub fn union_all(lists: Vec<Vec<u64>>) -> Vec<u64> {
    let mut lists: Vec<Vec<u64>> = lists.into_iter().filter(|l| !l.is_empty()).collect();
    match lists.len() {
        0 => Vec::new(),
        1 => lists.pop().unwrap_or_default(),
        _ => {
            let mut all: Vec<u64> = lists.concat();
            all.sort_unstable();
            all.dedup();
            all
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A toy index: series id → labels.
    struct Toy(BTreeMap<u64, Vec<(&'static str, &'static str)>>);

    impl PostingsSource for Toy {
        fn postings(&self, name: &str, value: &str) -> Result<Vec<u64>> {
            Ok(self
                .0
                .iter()
                .filter(|(_, l)| l.contains(&(name, value)))
                .map(|(id, _)| *id)
                .collect())
        }
        fn postings_matching(&self, name: &str, accept: &mut dyn FnMut(&str) -> bool) -> Result<Vec<u64>> {
            Ok(self
                .0
                .iter()
                .filter(|(_, l)| l.iter().any(|(n, v)| *n == name && accept(v)))
                .map(|(id, _)| *id)
                .collect())
        }
        fn all_postings(&self) -> Result<Vec<u64>> {
            Ok(self.0.keys().copied().collect())
        }
    }

    fn toy() -> Toy {
        Toy(BTreeMap::from([
            (1, vec![("__name__", "up"), ("job", "a")]),
            (2, vec![("__name__", "up"), ("job", "b")]),
            (3, vec![("__name__", "up")]),
            (4, vec![("__name__", "down"), ("job", "a")]),
        ]))
    }

    fn select(matchers: &[(MatchType, &str, &str)]) -> Vec<u64> {
        let matchers: Vec<Matcher> = matchers
            .iter()
            .map(|(t, n, v)| Matcher::new(*t, *n, *v).expect("valid matcher"))
            .collect();
        postings_for_matchers(&toy(), &matchers).expect("select")
    }

    #[test]
    fn prometheus_matcher_semantics() {
        use MatchType::*;
        assert_eq!(select(&[(Equal, "__name__", "up")]), vec![1, 2, 3]);
        assert_eq!(select(&[(Equal, "__name__", "up"), (Equal, "job", "")]), vec![3]);
        assert_eq!(select(&[(Equal, "__name__", "up"), (NotEqual, "job", "a")]), vec![2, 3]);
        assert_eq!(select(&[(Equal, "__name__", "up"), (NotEqual, "job", "")]), vec![1, 2]);
        assert_eq!(select(&[(Regex, "job", "a|b")]), vec![1, 2, 4]);
        assert_eq!(select(&[(NotRegex, "job", "a|b")]), vec![3]);
        assert_eq!(select(&[(Regex, "job", ".*"), (Equal, "__name__", "down")]), vec![4]);
        assert_eq!(select(&[(Equal, "__name__", "nope")]), Vec::<u64>::new());
    }

    #[test]
    fn list_operations() {
        assert_eq!(intersect(&[1, 3, 5, 7], &[3, 4, 5]), vec![3, 5]);
        assert_eq!(subtract(&[1, 3, 5, 7], &[3, 4, 5]), vec![1, 7]);
        assert_eq!(union_all(vec![vec![1, 4], vec![2, 4], vec![]]), vec![1, 2, 4]);
    }
}
