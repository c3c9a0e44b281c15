//! The head's inverted index: label name → value → sorted series references.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::labels::Labels;

/// In-memory postings of the head.
#[derive(Debug, Default)]
pub(crate) struct MemPostings {
    by_name: FxHashMap<Box<str>, FxHashMap<Box<str>, Vec<u64>>>,
    all: Vec<u64>,
}

fn insert_sorted(list: &mut Vec<u64>, series_ref: u64) {
    // References are allocated in increasing order, so this is almost always a push.
    match list.last() {
        Some(&last) if last > series_ref => {
            if let Err(position) = list.binary_search(&series_ref) {
                list.insert(position, series_ref);
            }
        }
        Some(&last) if last == series_ref => {}
        _ => list.push(series_ref),
    }
}

impl MemPostings {
    /// Indexes a new series.
    pub fn add(&mut self, series_ref: u64, labels: &Labels) {
        for label in labels {
            let values = match self.by_name.get_mut(label.name) {
                Some(values) => values,
                None => self.by_name.entry(label.name.into()).or_default(),
            };
            let list = match values.get_mut(label.value) {
                Some(list) => list,
                None => values.entry(label.value.into()).or_default(),
            };
            insert_sorted(list, series_ref);
        }
        insert_sorted(&mut self.all, series_ref);
    }

    /// Removes series (garbage collection), in one pass over the affected lists.
    pub fn remove<'a>(&mut self, removed: impl Iterator<Item = (u64, &'a Labels)>) {
        let mut refs = FxHashSet::default();
        let mut pairs: FxHashSet<(&str, &str)> = FxHashSet::default();
        for (series_ref, labels) in removed {
            refs.insert(series_ref);
            pairs.extend(labels.iter().map(|l| (l.name, l.value)));
        }
        if refs.is_empty() {
            return;
        }
        for (name, value) in pairs {
            if let Some(values) = self.by_name.get_mut(name) {
                if let Some(list) = values.get_mut(value) {
                    list.retain(|r| !refs.contains(r));
                    if list.is_empty() {
                        values.remove(value);
                    }
                }
                if values.is_empty() {
                    self.by_name.remove(name);
                }
            }
        }
        self.all.retain(|r| !refs.contains(r));
    }

    /// Series with `name` = `value`.
    pub fn get(&self, name: &str, value: &str) -> Vec<u64> {
        self.by_name
            .get(name)
            .and_then(|v| v.get(value))
            .cloned()
            .unwrap_or_default()
    }

    /// Union over the values of `name` accepted by `accept`.
    pub fn matching(&self, name: &str, accept: &mut dyn FnMut(&str) -> bool) -> Vec<u64> {
        let Some(values) = self.by_name.get(name) else {
            return Vec::new();
        };
        let lists: Vec<Vec<u64>> = values
            .iter()
            .filter(|(v, _)| accept(v))
            .map(|(_, list)| list.clone())
            .collect();
        crate::postings::union_all(lists)
    }

    /// Every series.
    pub fn all(&self) -> Vec<u64> {
        self.all.clone()
    }

    /// Sorted label names.
    pub fn label_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_name.keys().map(|n| n.to_string()).collect();
        names.sort_unstable();
        names
    }

    /// Sorted values of `name`.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .by_name
            .get(name)
            .map(|v| v.keys().map(|v| v.to_string()).collect())
            .unwrap_or_default();
        values.sort_unstable();
        values
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        let mut total = self.all.capacity() * 8 + self.by_name.capacity() * 48;
        for (name, values) in &self.by_name {
            total += name.len() + values.capacity() * 48;
            for (value, list) in values {
                total += value.len() + list.capacity() * 8;
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_get_remove() {
        let a = Labels::new([("__name__", "up"), ("job", "a")]).expect("valid");
        let b = Labels::new([("__name__", "up"), ("job", "b")]).expect("valid");
        let mut postings = MemPostings::default();
        postings.add(2, &b);
        postings.add(1, &a);
        assert_eq!(postings.get("__name__", "up"), vec![1, 2]);
        assert_eq!(postings.matching("job", &mut |v| v != "a"), vec![2]);
        assert_eq!(postings.label_values("job"), vec!["a", "b"]);
        postings.remove([(1, &a)].into_iter());
        assert_eq!(postings.get("__name__", "up"), vec![2]);
        assert_eq!(postings.label_values("job"), vec!["b"]);
        assert_eq!(postings.all(), vec![2]);
    }
}
