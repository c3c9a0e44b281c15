//! Prometheus relabeling (`relabel_configs` / `metric_relabel_configs`).
//!
//! Semantics follow Prometheus 3.x `model/relabel`:
//!
//! * A rule's `regex` is fully anchored: Prometheus compiles `^(?s:<regex>)$`, so `.` also matches a
//!   newline. The pattern is RE2 (Go) syntax; [`RelabelConfig::new`] translates it to the Rust `regex`
//!   dialect first so that `\d`, `\w`, `\s`, `\b` stay ASCII-only, `\Q…\E`, octal escapes, `\p{^X}` and a
//!   `{` that is not a repetition keep Go's meaning, and Rust-only syntax (class set operations, `\<`,
//!   the `x`/`R`/`u` flags) is not accepted.
//! * The source label values are joined with `separator` (default `;`); a missing label is `""`.
//! * `replacement` and a templated `target_label` are expanded like Go's `Regexp.Expand`: `$1`, `${1}`,
//!   `$name`, `${name}`, `$$` for a literal `$`; `$1x` names the group `1x` (which does not exist, so it
//!   expands to nothing) — write `${1}x`.
//! * `hashmod` hashes the joined value with MD5 and takes the **last** 8 bytes of the digest as a
//!   big-endian `u64`, modulo `modulus` (Prometheus keeps that layout for compatibility).
//! * `lowercase` / `uppercase` use Go's per-character simple case mapping (`ß` stays `ß`).
//! * Label names are validated with the UTF-8 scheme, Prometheus 3's default: any non-empty string is a
//!   valid name. [`NameValidation::Legacy`] selects the old `[a-zA-Z_][a-zA-Z0-9_]*` rule instead.
//!
//! ```
//! use scraper::relabel::{RelabelConfig, RelabelSpec, process};
//! use tsdb::Labels;
//!
//! let rule = RelabelConfig::new(RelabelSpec {
//!     source_labels: vec!["__address__".into()],
//!     regex: Some("(.*):\\d+".into()),
//!     target_label: Some("host".into()),
//!     ..RelabelSpec::default()
//! })?;
//! let labels = Labels::new([("__address__", "db1:9100")])?;
//! let out = process(&labels, &[rule]).expect("not dropped");
//! assert_eq!(out.get("host"), Some("db1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::LazyLock;

use md5::{Digest, Md5};
use regex::{Captures, Regex};

use go_regex::translate_go_regex;
use tsdb::{Labels, LabelsBuilder};

/// A relabel configuration could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelabelError {
    /// `action` names no relabel action.
    #[error("unknown relabel action {0:?}")]
    UnknownAction(String),
    /// `regex` does not compile.
    #[error("invalid relabel regex {regex:?}: {reason}")]
    InvalidRegex {
        /// The pattern as written.
        regex: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An entry of `source_labels` is not a valid label name.
    #[error("{0:?} is not a valid label name")]
    InvalidSourceLabel(String),
    /// `hashmod` without a non-zero `modulus`.
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    MissingModulus,
    /// The action needs a `target_label`.
    #[error("relabel configuration for {0} action requires 'target_label' value")]
    MissingTargetLabel(Action),
    /// `target_label` is not a valid label name (or template) for the action.
    #[error("{target:?} is invalid 'target_label' for {action} action")]
    InvalidTargetLabel {
        /// The target label as written.
        target: String,
        /// The rule's action.
        action: Action,
    },
    /// `replacement` was given to an action that does not use it.
    #[error("'replacement' can not be set for {0} action")]
    ReplacementNotAllowed(Action),
    /// `labelmap`'s `replacement` is not a valid label name template.
    #[error("{replacement:?} is invalid 'replacement' for {action} action")]
    InvalidReplacement {
        /// The replacement as written.
        replacement: String,
        /// The rule's action.
        action: Action,
    },
    /// `keepequal` / `dropequal` with fields other than `source_labels` and `target_label`.
    #[error("{0} action requires only 'source_labels' and `target_label`, and no other fields")]
    OnlySourceAndTarget(Action),
    /// `labeldrop` / `labelkeep` with fields other than `regex`.
    #[error("{0} action requires only 'regex', and no other fields")]
    OnlyRegex(Action),
}

/// What a relabel rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Writes the expanded `replacement` to `target_label` when `regex` matches the joined value.
    Replace,
    /// Drops the series unless `regex` matches the joined value.
    Keep,
    /// Drops the series when `regex` matches the joined value.
    Drop,
    /// Drops the series unless `target_label`'s value equals the joined value.
    KeepEqual,
    /// Drops the series when `target_label`'s value equals the joined value.
    DropEqual,
    /// Sets `target_label` to the MD5 hash of the joined value modulo `modulus`.
    HashMod,
    /// Copies every label whose name matches `regex` to the name given by `replacement`.
    LabelMap,
    /// Removes every label whose name matches `regex`.
    LabelDrop,
    /// Removes every label whose name does not match `regex`.
    LabelKeep,
    /// Sets `target_label` to the lowercased joined value.
    Lowercase,
    /// Sets `target_label` to the uppercased joined value.
    Uppercase,
}

impl Action {
    const ALL: [Action; 11] = [
        Action::Replace,
        Action::Keep,
        Action::Drop,
        Action::KeepEqual,
        Action::DropEqual,
        Action::HashMod,
        Action::LabelMap,
        Action::LabelDrop,
        Action::LabelKeep,
        Action::Lowercase,
        Action::Uppercase,
    ];

    /// Parses an action name as written in YAML (`"replace"`, `"keepequal"`, ...). Like Prometheus,
    /// the name is lowercased first, so `"Replace"` is accepted too.
    pub fn parse(s: &str) -> Option<Action> {
        let lower = go_to_lower(s);
        Action::ALL.into_iter().find(|a| a.as_str() == lower)
    }

    /// The YAML name of the action.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which label names count as valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NameValidation {
    /// Prometheus 3's default: any non-empty UTF-8 string.
    #[default]
    Utf8,
    /// The pre-3.0 rule `[a-zA-Z_][a-zA-Z0-9_]*`.
    Legacy,
}

impl NameValidation {
    /// True when `name` is a valid label name under this scheme.
    pub fn is_valid_label_name(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => {
                let mut bytes = name.bytes();
                bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                    && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
            }
        }
    }

    /// True when `template` (which may contain `$1`, `${name}`, ...) is acceptable where a label name
    /// is expected before expansion: `target_label` of `replace`, `replacement` of `labelmap`.
    fn is_valid_template(self, template: &str) -> bool {
        static LEGACY_TEMPLATE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^(?:(?:[a-zA-Z_]|\$(?:\{[0-9A-Za-z_]+\}|[0-9A-Za-z_]+))+[0-9A-Za-z_]*)+$")
                .expect("constant regex compiles")
        });
        match self {
            NameValidation::Utf8 => !template.is_empty(),
            NameValidation::Legacy => LEGACY_TEMPLATE.is_match(template),
        }
    }
}

/// A relabel rule as written in the configuration; `None` means the key was absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelabelSpec {
    /// `source_labels`: the labels whose values are joined and matched.
    pub source_labels: Vec<String>,
    /// `separator` (default `;`).
    pub separator: Option<String>,
    /// `regex` (default `(.*)`), RE2 syntax, anchored at both ends.
    pub regex: Option<String>,
    /// `modulus`, required by `hashmod`.
    pub modulus: Option<u64>,
    /// `target_label`.
    pub target_label: Option<String>,
    /// `replacement` (default `$1`).
    pub replacement: Option<String>,
    /// `action` (default `replace`).
    pub action: Option<String>,
}

const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_REPLACEMENT: &str = "$1";

/// A validated, compiled relabel rule.
#[derive(Debug, Clone)]
pub struct RelabelConfig {
    action: Action,
    source_labels: Vec<String>,
    separator: String,
    regex_source: String,
    regex: Regex,
    modulus: u64,
    target_label: String,
    replacement: String,
    validation: NameValidation,
}

impl RelabelConfig {
    /// Applies Prometheus's defaults to `spec`, validates it like Prometheus does and compiles the
    /// regex, with UTF-8 label name validation.
    pub fn new(spec: RelabelSpec) -> Result<RelabelConfig, RelabelError> {
        RelabelConfig::with_validation(spec, NameValidation::Utf8)
    }

    /// Like [`RelabelConfig::new`] with a chosen label name validation scheme.
    pub fn with_validation(spec: RelabelSpec, validation: NameValidation) -> Result<RelabelConfig, RelabelError> {
        let action = match &spec.action {
            None => Action::Replace,
            Some(name) => Action::parse(name).ok_or_else(|| RelabelError::UnknownAction(name.clone()))?,
        };
        if let Some(bad) = spec.source_labels.iter().find(|n| !validation.is_valid_label_name(n)) {
            return Err(RelabelError::InvalidSourceLabel(bad.clone()));
        }
        let regex_given = spec.regex.is_some();
        let regex_source = spec.regex.unwrap_or_else(|| DEFAULT_REGEX.to_string());
        let regex = compile_anchored(&regex_source)?;
        let config = RelabelConfig {
            action,
            source_labels: spec.source_labels,
            separator: spec.separator.unwrap_or_else(|| DEFAULT_SEPARATOR.to_string()),
            regex_source,
            regex,
            modulus: spec.modulus.unwrap_or(0),
            target_label: spec.target_label.unwrap_or_default(),
            replacement: spec.replacement.unwrap_or_else(|| DEFAULT_REPLACEMENT.to_string()),
            validation,
        };
        config.validate(regex_given)?;
        Ok(config)
    }

    /// Prometheus's `Config.Validate`, check for check in the same order.
    fn validate(&self, regex_given: bool) -> Result<(), RelabelError> {
        use Action::*;
        let action = self.action;
        let target = &self.target_label;
        let invalid_target = || RelabelError::InvalidTargetLabel {
            target: target.clone(),
            action,
        };
        let writes_plain_target = matches!(action, Lowercase | Uppercase | KeepEqual | DropEqual);
        if action == HashMod && self.modulus == 0 {
            return Err(RelabelError::MissingModulus);
        }
        if matches!(
            action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && target.is_empty()
        {
            return Err(RelabelError::MissingTargetLabel(action));
        }
        if action == Replace {
            let valid = if target.contains('$') {
                self.validation.is_valid_template(target)
            } else {
                self.validation.is_valid_label_name(target)
            };
            if !valid {
                return Err(invalid_target());
            }
        }
        if writes_plain_target && !self.validation.is_valid_label_name(target) {
            return Err(invalid_target());
        }
        if writes_plain_target && self.replacement != DEFAULT_REPLACEMENT {
            return Err(RelabelError::ReplacementNotAllowed(action));
        }
        if action == LabelMap && !self.validation.is_valid_template(&self.replacement) {
            return Err(RelabelError::InvalidReplacement {
                replacement: self.replacement.clone(),
                action,
            });
        }
        if action == HashMod && !self.validation.is_valid_label_name(target) {
            return Err(invalid_target());
        }
        let other_fields_default =
            self.modulus == 0 && self.separator == DEFAULT_SEPARATOR && self.replacement == DEFAULT_REPLACEMENT;
        // Prometheus compares the compiled regex by identity, so any explicit `regex` is "set".
        if matches!(action, KeepEqual | DropEqual) && (regex_given || !other_fields_default) {
            return Err(RelabelError::OnlySourceAndTarget(action));
        }
        if matches!(action, LabelDrop | LabelKeep)
            && (!self.source_labels.is_empty() || !target.is_empty() || !other_fields_default)
        {
            return Err(RelabelError::OnlyRegex(action));
        }
        Ok(())
    }

    /// The rule's action.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The source labels, in order.
    pub fn source_labels(&self) -> &[String] {
        &self.source_labels
    }

    /// The separator between joined source values.
    pub fn separator(&self) -> &str {
        &self.separator
    }

    /// The regex as written (without the anchors Prometheus adds).
    pub fn regex(&self) -> &str {
        &self.regex_source
    }

    /// The hashmod modulus (0 when unset).
    pub fn modulus(&self) -> u64 {
        self.modulus
    }

    /// The target label (possibly a template; empty when unset).
    pub fn target_label(&self) -> &str {
        &self.target_label
    }

    /// The replacement template.
    pub fn replacement(&self) -> &str {
        &self.replacement
    }

    /// The label name validation scheme the rule was compiled with.
    pub fn name_validation(&self) -> NameValidation {
        self.validation
    }

    /// Applies the rule; false when the series is dropped.
    fn apply(&self, work: &mut Work<'_>) -> bool {
        let value = self.joined_value(work);
        match self.action {
            Action::Drop => return !self.regex.is_match(&value),
            Action::Keep => return self.regex.is_match(&value),
            Action::DropEqual => return work.get(&self.target_label) != value,
            Action::KeepEqual => return work.get(&self.target_label) == value,
            Action::Replace => {
                let Some(caps) = self.regex.captures(&value) else {
                    return true;
                };
                let target = go_expand(&self.target_label, &caps);
                if !self.validation.is_valid_label_name(&target) {
                    return true;
                }
                let result = go_expand(&self.replacement, &caps);
                work.set(&target, &result);
            }
            Action::Lowercase => work.set(&self.target_label, &go_to_lower(&value)),
            Action::Uppercase => work.set(&self.target_label, &go_to_upper(&value)),
            Action::HashMod => {
                let digest = Md5::digest(value.as_bytes());
                let mut tail = [0u8; 8];
                tail.copy_from_slice(&digest[8..16]);
                let hashed = u64::from_be_bytes(tail) % self.modulus.max(1);
                work.set(&self.target_label, &hashed.to_string());
            }
            Action::LabelMap => {
                for (name, value) in work.snapshot() {
                    if let Some(caps) = self.regex.captures(&name) {
                        let new_name = go_expand(&self.replacement, &caps);
                        // Prometheus would set a label with an empty name here (and reject the series
                        // later); an empty name cannot exist in a `Labels`, so it is skipped.
                        if !new_name.is_empty() {
                            work.set(&new_name, &value);
                        }
                    }
                }
            }
            Action::LabelDrop | Action::LabelKeep => {
                let drop_on_match = self.action == Action::LabelDrop;
                for (name, _) in work.snapshot() {
                    if self.regex.is_match(&name) == drop_on_match {
                        work.del(&name);
                    }
                }
            }
        }
        true
    }

    fn joined_value(&self, work: &Work<'_>) -> String {
        let mut joined = String::new();
        for (i, name) in self.source_labels.iter().enumerate() {
            if i > 0 {
                joined.push_str(&self.separator);
            }
            joined.push_str(work.get(name));
        }
        joined
    }
}

/// Applies `rules` in order to the labels in `builder`. Returns false when a rule dropped the series
/// (the builder is then left unchanged); otherwise the builder holds the relabeled labels.
pub fn relabel(builder: &mut LabelsBuilder, rules: &[RelabelConfig]) -> bool {
    if rules.is_empty() {
        return true;
    }
    let start = builder.labels();
    let mut work = Work::new(&start);
    if !rules.iter().all(|rule| rule.apply(&mut work)) {
        return false;
    }
    for name in &work.del {
        builder.del(name);
    }
    for (name, value) in &work.add {
        builder.set(name, value);
    }
    true
}

/// Applies `rules` to `labels`; `None` when the series is dropped.
pub fn process(labels: &Labels, rules: &[RelabelConfig]) -> Option<Labels> {
    let mut builder = LabelsBuilder::new(labels);
    relabel(&mut builder, rules).then(|| builder.labels())
}

/// The label set being relabeled, tracked like Prometheus's `labels.Builder` (untouched base labels,
/// then added labels in the order they were first set) so that `labelmap` visits labels in the same
/// order and the last write wins the same way when two names map to one.
struct Work<'a> {
    base: Vec<(&'a str, &'a str)>,
    add: Vec<(String, String)>,
    del: Vec<String>,
}

impl<'a> Work<'a> {
    fn new(base: &'a Labels) -> Self {
        Work {
            base: base.iter().map(|l| (l.name, l.value)).collect(),
            add: Vec::new(),
            del: Vec::new(),
        }
    }

    /// The current value of `name`, `""` when absent.
    fn get(&self, name: &str) -> &str {
        if let Some((_, v)) = self.add.iter().find(|(n, _)| n == name) {
            return v;
        }
        if self.del.iter().any(|n| n == name) {
            return "";
        }
        self.base.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v)
    }

    /// Sets `name` to `value`; an empty value deletes the label.
    fn set(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            return self.del(name);
        }
        match self.add.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => value.clone_into(&mut entry.1),
            None => self.add.push((name.to_string(), value.to_string())),
        }
    }

    fn del(&mut self, name: &str) {
        self.add.retain(|(n, _)| n != name);
        if !self.del.iter().any(|n| n == name) {
            self.del.push(name.to_string());
        }
    }

    /// The current labels: base labels neither deleted nor overwritten (in name order), then the added
    /// ones in the order they were first set.
    fn snapshot(&self) -> Vec<(String, String)> {
        let untouched = self
            .base
            .iter()
            .filter(|(name, _)| !self.del.iter().any(|n| n == name) && !self.add.iter().any(|(n, _)| n == name));
        untouched
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .chain(self.add.iter().cloned())
            .collect()
    }
}

/// Expands `template` with the groups of `caps` following Go's `Regexp.Expand`.
fn go_expand(template: &str, caps: &Captures<'_>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        rest = &rest[dollar + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some((name, after)) = go_template_name(rest) else {
            out.push('$');
            continue;
        };
        rest = after;
        let group = match go_group_number(name) {
            Some(index) => caps.get(index),
            None => caps.name(name),
        };
        if let Some(m) = group {
            out.push_str(m.as_str());
        }
    }
    out.push_str(rest);
    out
}

/// Splits the group reference after a `$`: `name` or `{name}`, where a name is a run of Unicode
/// letters, decimal digits and `_`. `None` when malformed (the `$` is then literal text).
fn go_template_name(s: &str) -> Option<(&str, &str)> {
    static NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\A[\p{L}\p{Nd}_]+").expect("constant regex compiles"));
    let (braced, body) = match s.strip_prefix('{') {
        Some(inner) => (true, inner),
        None => (false, s),
    };
    let len = NAME.find(body)?.end();
    let (name, after) = body.split_at(len);
    if braced {
        Some((name, after.strip_prefix('}')?))
    } else {
        Some((name, after))
    }
}

/// Go treats a name of only ASCII digits, without a leading zero and below 10^8, as a group number.
fn go_group_number(name: &str) -> Option<usize> {
    let digits_only = name.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (name.len() > 1 && name.starts_with('0')) || name.len() > 8 {
        return None;
    }
    name.parse().ok()
}

/// Go's `strings.ToLower`: per-character simple lowercase mapping.
fn go_to_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .map(|c| {
            let mut mapped = c.to_lowercase();
            match (mapped.next(), mapped.next()) {
                (Some(lower), None) => lower,
                // Only U+0130 has a multi-character full lowercase; its simple mapping is `i`.
                _ if c == '\u{130}' => 'i',
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.ToUpper`: per-character simple uppercase mapping.
fn go_to_upper(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_uppercase();
    }
    s.chars()
        .map(|c| {
            let mut mapped = c.to_uppercase();
            match (mapped.next(), mapped.next()) {
                (Some(upper), None) => upper,
                // Characters whose full uppercase is several characters (`ß` -> `SS`): the simple
                // mapping is the character itself, except Greek letters with ypogegrammeni, which map
                // to their prosgegrammeni capitals.
                _ => {
                    let shift = match u32::from(c) {
                        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => 8,
                        0x1FB3 | 0x1FC3 | 0x1FF3 => 9,
                        _ => 0,
                    };
                    char::from_u32(u32::from(c) + shift).unwrap_or(c)
                }
            }
        })
        .collect()
}

/// Compiles a Prometheus relabel regex: RE2 syntax, anchored as `^(?s:<regex>)$`.
fn compile_anchored(source: &str) -> Result<Regex, RelabelError> {
    let invalid = |reason: String| RelabelError::InvalidRegex {
        regex: source.to_string(),
        reason,
    };
    let translated = translate_go_regex(source).map_err(invalid)?;
    Regex::new(&format!("^(?s:{translated})$")).map_err(|e| {
        let text = e.to_string();
        let reason = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or(&text);
        invalid(reason.to_string())
    })
}

mod go_regex;
#[cfg(test)]
mod tests;
