//! The labels of one log line as it goes through a pipeline.
//!
//! A line starts with its stream's labels (indexed) and its structured metadata. Parsers add
//! parsed labels, `label_format` sets or renames labels, `drop`/`keep` remove them, and failed
//! parsers or conversions set `__error__` / `__error_details__`. Loki keeps the three categories
//! apart because the `categorize-labels` response encoding reports them separately; so do we.
//!
//! Lookup order is Loki's: a label set by a stage on a stream label's name wins over the stream
//! label, stream labels win over everything else, and a parsed label replaces structured metadata
//! of the same name. Metadata and parsed keys that clash with a stream label are renamed
//! `<key>_extracted`. An empty value means "no label".

use std::sync::Arc;

use tsdb::Labels;

/// Where a label came from (in lookup precedence order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Set by a stage on a stream label's name (`label_format` of an indexed label).
    Stream,
    /// Extracted by a parser or set by `label_format`.
    Parsed,
    /// Structured metadata of the entry.
    Metadata,
}

/// The error label Loki adds when a stage fails.
pub const ERROR_LABEL: &str = "__error__";
/// The label with the failure's details.
pub const ERROR_DETAILS_LABEL: &str = "__error_details__";

/// Labels by category: (indexed stream labels, structured metadata, parsed labels).
pub type Categorized = (Labels, Vec<(String, String)>, Vec<(String, String)>);

/// The label state of one line.
#[derive(Debug, Clone)]
pub struct LineLabels {
    stream: Arc<Labels>,
    /// Stream label names removed by `drop`, `keep` or a `label_format` rename.
    deleted: Vec<String>,
    /// Labels added by stages, in insertion order, with their category.
    added: Vec<(String, String, Category)>,
}

impl LineLabels {
    /// Starts from a stream and the entry's structured metadata. Metadata whose name is a stream
    /// label is renamed `<name>_extracted`; of repeated names the first is kept.
    pub fn new(stream: Arc<Labels>, metadata: &[(String, String)]) -> LineLabels {
        let mut added: Vec<(String, String, Category)> = Vec::with_capacity(metadata.len());
        for (name, value) in metadata {
            let name = if stream.get(name).is_some() {
                format!("{name}_extracted")
            } else {
                name.clone()
            };
            if !added.iter().any(|(n, _, _)| *n == name) {
                added.push((name, value.clone(), Category::Metadata));
            }
        }
        LineLabels {
            stream,
            deleted: Vec::new(),
            added,
        }
    }

    /// The stream's original labels.
    pub fn stream(&self) -> &Arc<Labels> {
        &self.stream
    }

    /// The current value of `name`, if set (empty values count as unset by callers that care).
    pub fn get(&self, name: &str) -> Option<&str> {
        let mut best: Option<(&str, Category)> = None;
        for (n, v, c) in &self.added {
            if n == name && best.is_none_or(|(_, bc)| *c < bc) {
                best = Some((v.as_str(), *c));
            }
        }
        if let Some((v, Category::Stream)) = best {
            return Some(v);
        }
        if !self.deleted.iter().any(|d| d == name)
            && let Some(v) = self.stream.get(name)
        {
            return Some(v);
        }
        best.map(|(v, _)| v)
    }

    /// True when the stream (not counting stage changes) has `name`.
    pub fn stream_has(&self, name: &str) -> bool {
        self.stream.get(name).is_some()
    }

    /// Sets `name` in `category`, replacing a value of the same name and category.
    pub fn set(&mut self, category: Category, name: &str, value: &str) {
        let category = if category == Category::Parsed && self.stream_has(name) && !self.is_deleted(name) {
            Category::Stream
        } else {
            category
        };
        if category == Category::Parsed {
            // A parsed label replaces structured metadata of the same name.
            self.added.retain(|(n, _, c)| !(n == name && *c == Category::Metadata));
        }
        if let Some(slot) = self.added.iter_mut().find(|(n, _, c)| n == name && *c == category) {
            value.clone_into(&mut slot.1);
            return;
        }
        self.added.push((name.to_string(), value.to_string(), category));
    }

    /// Sets a label extracted by a parser: a key that clashes with a stream label gets the
    /// `_extracted` suffix.
    pub fn set_parsed(&mut self, name: &str, value: &str) {
        if self.stream_has(name) {
            let renamed = format!("{name}_extracted");
            self.set(Category::Parsed, &renamed, value);
        } else {
            self.set(Category::Parsed, name, value);
        }
    }

    fn is_deleted(&self, name: &str) -> bool {
        self.deleted.iter().any(|d| d == name)
    }

    /// Removes `name` wherever it is.
    pub fn delete(&mut self, name: &str) {
        self.added.retain(|(n, _, _)| n != name);
        if self.stream_has(name) && !self.is_deleted(name) {
            self.deleted.push(name.to_string());
        }
    }

    /// Records a stage failure (the first one wins, as in Loki).
    pub fn set_error(&mut self, kind: &str, details: &str) {
        if self.has_error() {
            return;
        }
        self.set(Category::Parsed, ERROR_LABEL, kind);
        if !details.is_empty() {
            self.set(Category::Parsed, ERROR_DETAILS_LABEL, details);
        }
    }

    /// True when a stage failed and the error label is still there.
    pub fn has_error(&self) -> bool {
        self.get(ERROR_LABEL).is_some_and(|v| !v.is_empty())
    }

    /// Every current label name, each once (stream labels first).
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for l in self.stream.iter() {
            if !self.is_deleted(l.name) {
                out.push(l.name.to_string());
            }
        }
        for (n, _, _) in &self.added {
            if !out.iter().any(|o| o == n) {
                out.push(n.clone());
            }
        }
        out
    }

    /// All labels as one set (what a line's stream is in a plain response, and a sample's series).
    pub fn to_labels(&self) -> Labels {
        if self.added.is_empty() && self.deleted.is_empty() {
            return (*self.stream).clone();
        }
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(self.stream.len() + self.added.len());
        for name in self.names_iter() {
            if let Some(v) = self.get(name)
                && !v.is_empty()
            {
                pairs.push((name, v));
            }
        }
        pairs.sort_unstable();
        pairs.dedup_by(|a, b| a.0 == b.0);
        Labels::from_sorted(pairs)
    }

    fn names_iter(&self) -> impl Iterator<Item = &str> {
        self.stream
            .iter()
            .map(|l| l.name)
            .chain(self.added.iter().map(|(n, _, _)| n.as_str()))
    }

    /// The labels by category, for the `categorize-labels` encoding: (indexed stream labels,
    /// structured metadata, parsed labels), each sorted, empty values left out.
    pub fn categorized(&self) -> Categorized {
        let mut stream: Vec<(&str, &str)> = Vec::new();
        for l in self.stream.iter() {
            if self.is_deleted(l.name) {
                continue;
            }
            let v = self
                .added
                .iter()
                .find(|(n, _, c)| n == l.name && *c == Category::Stream)
                .map_or(l.value, |(_, v, _)| v.as_str());
            if !v.is_empty() {
                stream.push((l.name, v));
            }
        }
        let mut metadata = Vec::new();
        let mut parsed = Vec::new();
        for (n, v, c) in &self.added {
            if v.is_empty() || stream.iter().any(|(s, _)| s == n) {
                continue;
            }
            match c {
                Category::Stream => stream.push((n, v)),
                Category::Metadata => metadata.push((n.clone(), v.clone())),
                Category::Parsed => parsed.push((n.clone(), v.clone())),
            }
        }
        stream.sort_unstable();
        stream.dedup_by(|a, b| a.0 == b.0);
        metadata.sort();
        parsed.sort();
        parsed.dedup_by(|a, b| a.0 == b.0);
        (Labels::from_sorted(stream), metadata, parsed)
    }

    /// Keeps only the labels `keep` accepts (by name and current value).
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        for name in self.names() {
            let value = self.get(&name).unwrap_or("").to_string();
            if !keep(&name, &value) {
                self.delete(&name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> Arc<Labels> {
        Arc::new(Labels::new([("app", "web"), ("level", "info")]).expect("labels"))
    }

    #[test]
    fn stream_wins_over_metadata_and_parsed_keys_are_renamed() {
        let meta = vec![
            ("level".to_string(), "debug".to_string()),
            ("trace".to_string(), "t1".to_string()),
        ];
        let mut l = LineLabels::new(stream(), &meta);
        assert_eq!(l.get("level"), Some("info"));
        assert_eq!(l.get("level_extracted"), Some("debug"));
        assert_eq!(l.get("trace"), Some("t1"));
        l.set_parsed("app", "api");
        l.set_parsed("status", "200");
        assert_eq!(l.get("app"), Some("web"));
        assert_eq!(l.get("app_extracted"), Some("api"));
        assert_eq!(
            l.to_labels().to_string(),
            r#"{app="web", app_extracted="api", level="info", level_extracted="debug", status="200", trace="t1"}"#
        );
        let (s, m, p) = l.categorized();
        assert_eq!(s.to_string(), r#"{app="web", level="info"}"#);
        assert_eq!(
            m,
            vec![
                ("level_extracted".to_string(), "debug".to_string()),
                ("trace".to_string(), "t1".to_string())
            ]
        );
        assert_eq!(
            p,
            vec![
                ("app_extracted".to_string(), "api".to_string()),
                ("status".to_string(), "200".to_string())
            ]
        );
    }

    #[test]
    fn parsed_labels_replace_metadata() {
        let meta = vec![("trace_id".to_string(), "m".to_string())];
        let mut l = LineLabels::new(stream(), &meta);
        l.set_parsed("trace_id", "p");
        assert_eq!(l.get("trace_id"), Some("p"));
        let (_, m, p) = l.categorized();
        assert!(m.is_empty());
        assert_eq!(p, vec![("trace_id".to_string(), "p".to_string())]);
    }

    #[test]
    fn set_overrides_stream_label_and_delete_removes_it() {
        let mut l = LineLabels::new(stream(), &[]);
        l.set(Category::Parsed, "level", "warn");
        assert_eq!(l.get("level"), Some("warn"));
        assert_eq!(l.to_labels().to_string(), r#"{app="web", level="warn"}"#);
        assert_eq!(l.categorized().0.to_string(), r#"{app="web", level="warn"}"#);
        l.delete("level");
        assert_eq!(l.get("level"), None);
        assert_eq!(l.to_labels().to_string(), r#"{app="web"}"#);
    }

    #[test]
    fn first_error_wins_and_can_be_dropped() {
        let mut l = LineLabels::new(stream(), &[]);
        l.set_error("JSONParserErr", "bad json");
        l.set_error("LogfmtParserErr", "");
        assert_eq!(l.get(ERROR_LABEL), Some("JSONParserErr"));
        assert_eq!(l.get(ERROR_DETAILS_LABEL), Some("bad json"));
        assert!(l.has_error());
        l.delete(ERROR_LABEL);
        assert!(!l.has_error());
        l.retain(|n, _| n != "level");
        assert_eq!(
            l.to_labels().to_string(),
            r#"{__error_details__="bad json", app="web"}"#
        );
    }
}
