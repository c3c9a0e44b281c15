//! Sorted label sets in a compact, single-allocation encoding.
//!
//! A [`Labels`] holds its pairs sorted by name in one boxed byte buffer:
//! for each label `uvarint(len(name)) name uvarint(len(value)) value`. That costs one
//! allocation and about `2 + len(name) + len(value)` bytes per label, which keeps the head's
//! memory per series low, and the buffer doubles as the stable on-disk form used by the WAL.

use std::cmp::Ordering;
use std::fmt;

use crate::encoding::{get_uvarint, put_uvarint};
use crate::error::{Error, Result};

/// The label that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One label, borrowed from a [`Labels`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label<'a> {
    /// The label name.
    pub name: &'a str,
    /// The label value (never empty inside a [`Labels`]).
    pub value: &'a str,
}

/// A sorted set of labels with unique names and non-empty values.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Labels {
    data: Box<[u8]>,
}

impl Labels {
    /// The empty label set.
    pub fn empty() -> Self {
        Labels::default()
    }

    /// Builds a label set from pairs in any order. Pairs with an empty value are dropped
    /// (an empty value means "no such label"). Duplicate names are an error.
    pub fn new<N: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (N, V)>) -> Result<Self> {
        let mut pairs: Vec<(N, V)> = pairs.into_iter().filter(|(_, v)| !v.as_ref().is_empty()).collect();
        pairs.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        for window in pairs.windows(2) {
            if window[0].0.as_ref() == window[1].0.as_ref() {
                let labels = Self::encode(pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
                return Err(Error::InvalidLabels {
                    labels: labels.to_string(),
                    reason: format!("duplicate label name {:?}", window[0].0.as_ref()),
                });
            }
        }
        for (name, _) in &pairs {
            if name.as_ref().is_empty() {
                let labels = Self::encode(pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
                return Err(Error::InvalidLabels {
                    labels: labels.to_string(),
                    reason: "empty label name".into(),
                });
            }
        }
        Ok(Self::encode(pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))))
    }

    /// Builds a label set from pairs already sorted by name, unique, with non-empty values.
    /// The caller guarantees the invariants (checked in debug builds).
    pub fn from_sorted<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let labels = Self::encode(pairs);
        debug_assert!(
            labels.iter().zip(labels.iter().skip(1)).all(|(a, b)| a.name < b.name),
            "BUG: unsorted labels"
        );
        labels
    }

    fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut data = Vec::new();
        for (name, value) in pairs {
            put_uvarint(&mut data, name.len() as u64);
            data.extend_from_slice(name.as_bytes());
            put_uvarint(&mut data, value.len() as u64);
            data.extend_from_slice(value.as_bytes());
        }
        Labels {
            data: data.into_boxed_slice(),
        }
    }

    /// Decodes a label set from its [`Labels::as_bytes`] form, validating everything.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut pos = 0;
        let mut previous: Option<&str> = None;
        while pos < bytes.len() {
            let name = read_str(bytes, &mut pos)?;
            let value = read_str(bytes, &mut pos)?;
            if name.is_empty() || value.is_empty() || previous.is_some_and(|p| p >= name) {
                return None;
            }
            previous = Some(name);
        }
        Some(Labels { data: bytes.into() })
    }

    /// The encoded form: a stable byte string, used for hashing and persistence.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Iterates over the labels in name order.
    pub fn iter(&self) -> LabelsIter<'_> {
        LabelsIter {
            data: &self.data,
            pos: 0,
        }
    }

    /// The value of label `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|l| l.name == name).map(|l| l.value)
    }

    /// The metric name (`__name__`), if present.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// A stable 64-bit hash (xxh3 of the encoded form). Equal label sets hash equally across
    /// processes and versions; different sets may collide, so callers compare labels too.
    pub fn stable_hash(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&self.data)
    }

    /// Bytes of heap memory this label set uses.
    pub fn heap_size(&self) -> usize {
        self.data.len()
    }

    /// Returns a copy without the labels for which `drop` returns true.
    pub fn without(&self, mut drop: impl FnMut(&str) -> bool) -> Labels {
        Labels::encode(self.iter().filter(|l| !drop(l.name)).map(|l| (l.name, l.value)))
    }
}

fn read_str<'a>(data: &'a [u8], pos: &mut usize) -> Option<&'a str> {
    let len = usize::try_from(get_uvarint(data, pos)?).ok()?;
    let end = pos.checked_add(len)?;
    let bytes = data.get(*pos..end)?;
    *pos = end;
    std::str::from_utf8(bytes).ok()
}

/// [`read_str`] for a [`Labels`] buffer, whose strings were checked when it was made: skips the
/// UTF-8 check that iterating would otherwise repeat on every label of every visit.
#[inline]
fn read_valid_str<'a>(data: &'a [u8], pos: &mut usize) -> Option<&'a str> {
    let len = usize::try_from(get_uvarint(data, pos)?).ok()?;
    let end = pos.checked_add(len)?;
    let bytes = data.get(*pos..end)?;
    *pos = end;
    debug_assert!(std::str::from_utf8(bytes).is_ok());
    // SAFETY: a `Labels` buffer is only made by `Labels::encode` from `&str`s or by
    // `Labels::from_bytes` after `read_str` checked every string in it, and the buffer is never
    // changed afterwards. Reading it from the start lands on exactly those strings' bytes, so
    // `bytes` is one of them and valid UTF-8.
    Some(unsafe { std::str::from_utf8_unchecked(bytes) })
}

/// Iterator over the labels of a [`Labels`].
#[derive(Clone)]
pub struct LabelsIter<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for LabelsIter<'a> {
    type Item = Label<'a>;

    fn next(&mut self) -> Option<Label<'a>> {
        if self.pos >= self.data.len() {
            return None;
        }
        // The buffer was built from `&str`s or validated by `from_bytes`, so decoding cannot fail.
        let name = read_valid_str(self.data, &mut self.pos)?;
        let value = read_valid_str(self.data, &mut self.pos)?;
        Some(Label { name, value })
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = Label<'a>;
    type IntoIter = LabelsIter<'a>;
    fn into_iter(self) -> LabelsIter<'a> {
        self.iter()
    }
}

impl Ord for Labels {
    fn cmp(&self, other: &Self) -> Ordering {
        let mut left = self.iter();
        let mut right = other.iter();
        loop {
            match (left.next(), right.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(a), Some(b)) => match a.name.cmp(b.name).then_with(|| a.value.cmp(b.value)) {
                    Ordering::Equal => continue,
                    other => return other,
                },
            }
        }
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Labels {
    /// Formats as `{__name__="up", job="node"}`, with Go-style escaping of values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, label) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", label.name, label.value)?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Builds a new [`Labels`] by changing an existing one.
#[derive(Debug, Default, Clone)]
pub struct LabelsBuilder {
    pairs: Vec<(String, String)>,
}

impl LabelsBuilder {
    /// Starts from `base`.
    pub fn new(base: &Labels) -> Self {
        LabelsBuilder {
            pairs: base.iter().map(|l| (l.name.to_string(), l.value.to_string())).collect(),
        }
    }

    /// Sets `name` to `value`; an empty value deletes the label.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.pairs.retain(|(n, _)| n != name);
        if !value.is_empty() {
            self.pairs.push((name.to_string(), value.to_string()));
        }
        self
    }

    /// Deletes `name`.
    pub fn del(&mut self, name: &str) -> &mut Self {
        self.pairs.retain(|(n, _)| n != name);
        self
    }

    /// The current value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Produces the sorted label set.
    pub fn labels(&self) -> Labels {
        let mut sorted: Vec<(&str, &str)> = self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        sorted.sort_unstable();
        Labels::from_sorted(sorted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_drops_empty_values() {
        let labels = Labels::new([("job", "node"), ("__name__", "up"), ("empty", "")]).expect("valid");
        let pairs: Vec<(&str, &str)> = labels.iter().map(|l| (l.name, l.value)).collect();
        assert_eq!(pairs, vec![("__name__", "up"), ("job", "node")]);
        assert_eq!(labels.metric_name(), Some("up"));
        assert_eq!(labels.to_string(), r#"{__name__="up", job="node"}"#);
    }

    #[test]
    fn rejects_duplicates_and_empty_names() {
        assert!(Labels::new([("a", "1"), ("a", "2")]).is_err());
        assert!(Labels::new([("", "1")]).is_err());
    }

    #[test]
    fn orders_label_by_label() {
        let a = Labels::new([("a", "1")]).expect("valid");
        let ab = Labels::new([("a", "1"), ("b", "1")]).expect("valid");
        let a2 = Labels::new([("a", "2")]).expect("valid");
        assert!(a < ab && ab < a2);
    }

    #[test]
    fn bytes_round_trip_and_reject_garbage() {
        let labels = Labels::new([("a", "1"), ("b", "ü")]).expect("valid");
        assert_eq!(Labels::from_bytes(labels.as_bytes()), Some(labels.clone()));
        assert_eq!(Labels::from_bytes(&[5, b'a']), None);
        assert_eq!(
            Labels::from_bytes(&[1, b'b', 1, b'1', 1, b'a', 1, b'1']),
            None,
            "unsorted"
        );
        assert_eq!(labels.stable_hash(), xxhash_rust::xxh3::xxh3_64(labels.as_bytes()));
    }

    #[test]
    fn builder_sets_and_deletes() {
        let base = Labels::new([("a", "1"), ("b", "2")]).expect("valid");
        let changed = LabelsBuilder::new(&base).set("c", "3").del("a").set("b", "").labels();
        assert_eq!(changed, Labels::new([("c", "3")]).expect("valid"));
    }
}
