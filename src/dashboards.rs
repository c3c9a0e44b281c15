//! Dashboards: the built-in ones embedded with the UI, and the user's own, saved through the API as
//! one JSON file each under `<data-dir>/dashboards/`.
//!
//! A dashboard is a title, optional variables (label values offered as a selector and substituted
//! as `$name` in queries) and a list of panels, each a PromQL or LogQL query. Saved files are
//! written atomically (temporary file, fsync, rename, fsync of the directory), so a crash leaves
//! either the old or the new dashboard. Everything that comes in is validated against explicit
//! limits before it touches the disk.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Largest accepted dashboard document, in bytes.
pub const MAX_DASHBOARD_BYTES: usize = 256 * 1024;
/// Most panels in one dashboard.
pub const MAX_PANELS: usize = 100;
/// Most variables in one dashboard.
pub const MAX_VARIABLES: usize = 20;
/// Most saved dashboards.
pub const MAX_SAVED: usize = 1000;
/// Longest query text of a panel.
const MAX_QUERY_CHARS: usize = 16 * 1024;
/// Longest title, description, unit or variable field.
const MAX_TEXT_CHARS: usize = 1024;

/// Why a dashboard request failed.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The id is not `[a-z0-9][a-z0-9_-]{0,63}`.
    #[error(
        "invalid dashboard id {0:?}: use 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit"
    )]
    InvalidId(String),
    /// The document is not a valid dashboard.
    #[error("invalid dashboard: {0}")]
    Invalid(String),
    /// A built-in dashboard cannot be overwritten or deleted.
    #[error("dashboard {0:?} is built in and cannot be changed; save a copy under another id")]
    BuiltIn(String),
    /// No dashboard has that id.
    #[error("dashboard {0:?} not found")]
    NotFound(String),
    /// Too many saved dashboards.
    #[error("too many saved dashboards (limit {MAX_SAVED})")]
    TooMany,
    /// Reading or writing the directory failed.
    #[error("dashboard storage {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// One dashboard, as stored and served.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// Shown at the top.
    pub title: String,
    /// Shown under the title.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Selectors offered above the panels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    /// The panels, in order.
    pub panels: Vec<Panel>,
}

/// A dashboard variable: its values are the values of a label in the TSDB and the log store
/// together; `$name` in queries is replaced by the selection (a regex alternation; "all" is `.+`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// Name used as `$name` in queries.
    pub name: String,
    /// The label whose values are offered.
    pub label: String,
    /// Optional series selector narrowing the values (`match[]`).
    #[serde(default, rename = "match", skip_serializing_if = "String::is_empty")]
    pub matcher: String,
}

/// A panel: one query drawn as a graph, a table or log lines.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    /// Panel heading.
    pub title: String,
    /// The query.
    pub query: String,
    /// Its language.
    #[serde(default)]
    pub lang: Lang,
    /// How it is drawn.
    #[serde(default)]
    pub kind: PanelKind,
    /// Unit of the values: "", "bytes", "seconds", "percent", "percent100".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
    /// Stack the series.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stacked: bool,
}

/// Query language of a panel or variable.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// PromQL over the TSDB.
    #[default]
    Promql,
    /// LogQL over the log store.
    Logql,
}

/// How a panel draws its query.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    /// A time-series graph (range query).
    #[default]
    Graph,
    /// A table of the latest values (instant query).
    Table,
    /// Log lines (LogQL log query).
    Logs,
}

/// A dashboard in a listing.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Whether it is built in (read-only).
    pub builtin: bool,
}

/// Checks an id: 1–64 of `a-z 0-9 - _`, starting with a letter or digit.
pub fn check_id(id: &str) -> Result<(), DashboardError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(DashboardError::InvalidId(id.to_string()))
    }
}

/// Parses and validates a dashboard document.
pub fn parse(body: &[u8]) -> Result<Dashboard, DashboardError> {
    if body.len() > MAX_DASHBOARD_BYTES {
        return Err(DashboardError::Invalid(format!(
            "document of {} bytes exceeds the limit of {MAX_DASHBOARD_BYTES}",
            body.len()
        )));
    }
    let dashboard: Dashboard = serde_json::from_slice(body).map_err(|e| DashboardError::Invalid(e.to_string()))?;
    validate(&dashboard)?;
    Ok(dashboard)
}

fn validate(d: &Dashboard) -> Result<(), DashboardError> {
    let invalid = |m: String| Err(DashboardError::Invalid(m));
    if d.title.trim().is_empty() {
        return invalid("title is empty".into());
    }
    if d.panels.len() > MAX_PANELS {
        return invalid(format!("{} panels exceed the limit of {MAX_PANELS}", d.panels.len()));
    }
    if d.variables.len() > MAX_VARIABLES {
        return invalid(format!(
            "{} variables exceed the limit of {MAX_VARIABLES}",
            d.variables.len()
        ));
    }
    let long = |field: &str, text: &str, max: usize| {
        (text.chars().count() > max)
            .then(|| DashboardError::Invalid(format!("{field} is longer than {max} characters")))
    };
    let mut checks = vec![
        long("title", &d.title, MAX_TEXT_CHARS),
        long("description", &d.description, MAX_TEXT_CHARS),
    ];
    for (i, v) in d.variables.iter().enumerate() {
        let valid_name = !v.name.is_empty() && v.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid_name {
            return invalid(format!("variable {} has an invalid name {:?}", i + 1, v.name));
        }
        if v.label.is_empty() {
            return invalid(format!("variable {:?} has no label", v.name));
        }
        checks.push(long("variable label", &v.label, MAX_TEXT_CHARS));
        checks.push(long("variable match", &v.matcher, MAX_QUERY_CHARS));
    }
    for (i, p) in d.panels.iter().enumerate() {
        if p.query.trim().is_empty() {
            return invalid(format!("panel {} has an empty query", i + 1));
        }
        if p.kind == PanelKind::Logs && p.lang != Lang::Logql {
            return invalid(format!("panel {} shows logs but its query is not logql", i + 1));
        }
        if !matches!(p.unit.as_str(), "" | "bytes" | "seconds" | "percent" | "percent100") {
            return invalid(format!("panel {} has an unknown unit {:?}", i + 1, p.unit));
        }
        checks.push(long("panel title", &p.title, MAX_TEXT_CHARS));
        checks.push(long("panel query", &p.query, MAX_QUERY_CHARS));
    }
    match checks.into_iter().flatten().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The built-in and saved dashboards.
#[derive(Debug)]
pub struct Dashboards {
    dir: PathBuf,
    builtin: Vec<(String, Dashboard)>,
    /// Serialises writers so the count limit and the files agree.
    write_lock: parking_lot::Mutex<()>,
}

impl Dashboards {
    /// Opens the store in `dir` (created on first save) with the UI's built-in dashboards.
    ///
    /// A built-in dashboard that does not validate is a programming error caught by the tests; it
    /// is skipped with a warning rather than stopping the server.
    pub fn new(dir: PathBuf) -> Self {
        let mut builtin = Vec::new();
        for (id, text) in ui::builtin_dashboards() {
            match parse(text.as_bytes()) {
                Ok(d) => builtin.push((id.to_string(), d)),
                Err(e) => tracing::warn!(id, error = %e, "skipping invalid built-in dashboard"),
            }
        }
        Dashboards {
            dir,
            builtin,
            write_lock: parking_lot::Mutex::new(()),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn is_builtin(&self, id: &str) -> bool {
        self.builtin.iter().any(|(b, _)| b == id)
    }

    /// Lists built-in dashboards first, then saved ones by id. Unreadable files are skipped with a warning.
    pub fn list(&self) -> Result<Vec<Summary>, DashboardError> {
        let mut out: Vec<Summary> = self
            .builtin
            .iter()
            .map(|(id, d)| Summary {
                id: id.clone(),
                title: d.title.clone(),
                builtin: true,
            })
            .collect();
        let mut saved = Vec::new();
        for id in self.saved_ids()? {
            match self.get(&id) {
                Ok(d) => saved.push(Summary {
                    id,
                    title: d.title,
                    builtin: false,
                }),
                Err(e) => tracing::warn!(id, error = %e, "skipping unreadable dashboard"),
            }
        }
        saved.sort_by(|a, b| a.id.cmp(&b.id));
        out.extend(saved);
        Ok(out)
    }

    fn saved_ids(&self) -> Result<Vec<String>, DashboardError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(DashboardError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        Ok(entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let id = name.strip_suffix(".json")?;
                check_id(id).ok().map(|()| id.to_string())
            })
            .filter(|id| !self.is_builtin(id))
            .collect())
    }

    /// One dashboard by id.
    pub fn get(&self, id: &str) -> Result<Dashboard, DashboardError> {
        check_id(id)?;
        if let Some((_, d)) = self.builtin.iter().find(|(b, _)| b == id) {
            return Ok(d.clone());
        }
        let path = self.path(id);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(DashboardError::NotFound(id.to_string())),
            Err(source) => return Err(DashboardError::Io { path, source }),
        };
        parse(&bytes)
    }

    /// Saves (creates or replaces) a dashboard; returns whether it was new.
    pub fn put(&self, id: &str, body: &[u8]) -> Result<bool, DashboardError> {
        check_id(id)?;
        if self.is_builtin(id) {
            return Err(DashboardError::BuiltIn(id.to_string()));
        }
        let dashboard = parse(body)?;
        let _guard = self.write_lock.lock();
        let path = self.path(id);
        let existed = path.exists();
        if !existed && self.saved_ids()?.len() >= MAX_SAVED {
            return Err(DashboardError::TooMany);
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DashboardError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let text = serde_json::to_vec_pretty(&dashboard).map_err(|e| DashboardError::Invalid(e.to_string()))?;
        let tmp = self.dir.join(format!(".{id}.json.tmp"));
        {
            let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
            file.write_all(&text).map_err(io(&tmp))?;
            file.sync_all().map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        std::fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        Ok(!existed)
    }

    /// Deletes a saved dashboard.
    pub fn delete(&self, id: &str) -> Result<(), DashboardError> {
        check_id(id)?;
        if self.is_builtin(id) {
            return Err(DashboardError::BuiltIn(id.to_string()));
        }
        let _guard = self.write_lock.lock();
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(DashboardError::NotFound(id.to_string())),
            Err(source) => Err(DashboardError::Io { path, source }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMPLE: &str = r#"{"title":"Mine","panels":[{"title":"up","query":"up"}]}"#;

    #[test]
    fn builtins_are_valid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Dashboards::new(dir.path().join("dashboards"));
        assert_eq!(store.builtin.len(), ui::builtin_dashboards().len());
        let list = store.list().expect("list");
        let ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["loupe-health", "containers"]);
        assert!(list.iter().all(|s| s.builtin));
    }

    #[test]
    fn save_get_list_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Dashboards::new(dir.path().join("dashboards"));
        assert!(store.put("mine", SIMPLE.as_bytes()).expect("put"));
        assert!(!store.put("mine", SIMPLE.as_bytes()).expect("put again"));
        let got = store.get("mine").expect("get");
        assert_eq!(got.title, "Mine");
        assert_eq!(got.panels[0].lang, Lang::Promql);
        assert_eq!(got.panels[0].kind, PanelKind::Graph);
        let list = store.list().expect("list");
        assert_eq!(list.last().map(|s| (s.id.as_str(), s.builtin)), Some(("mine", false)));
        // A second store over the same directory sees it (it is on disk).
        let reopened = Dashboards::new(dir.path().join("dashboards"));
        assert_eq!(reopened.get("mine").expect("get").title, "Mine");
        store.delete("mine").expect("delete");
        assert!(matches!(store.get("mine"), Err(DashboardError::NotFound(_))));
        assert!(matches!(store.delete("mine"), Err(DashboardError::NotFound(_))));
    }

    #[test]
    fn rejects_bad_input() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Dashboards::new(dir.path().join("dashboards"));
        for id in ["", "Upper", "../x", "a/b", "-lead", &"x".repeat(65)] {
            assert!(
                matches!(store.put(id, SIMPLE.as_bytes()), Err(DashboardError::InvalidId(_))),
                "{id}"
            );
        }
        assert!(matches!(
            store.put("loupe-health", SIMPLE.as_bytes()),
            Err(DashboardError::BuiltIn(_))
        ));
        assert!(matches!(store.delete("containers"), Err(DashboardError::BuiltIn(_))));
        let cases = [
            (r#"{"title":"","panels":[]}"#, "title is empty"),
            (
                r#"{"title":"t","panels":[{"title":"a","query":" "}]}"#,
                "panel 1 has an empty query",
            ),
            (
                r#"{"title":"t","panels":[{"title":"a","query":"up","unit":"furlongs"}]}"#,
                "unknown unit",
            ),
            (
                r#"{"title":"t","panels":[{"title":"a","query":"up","kind":"logs"}]}"#,
                "not logql",
            ),
            (r#"{"title":"t","panels":[],"extra":1}"#, "unknown field `extra`"),
            (
                r#"{"title":"t","panels":[],"variables":[{"name":"a b","label":"x"}]}"#,
                "invalid name",
            ),
            ("not json", "expected"),
        ];
        for (body, want) in cases {
            let err = store.put("x", body.as_bytes()).expect_err(body).to_string();
            assert!(err.contains(want), "{body}: {err}");
        }
        let many = format!(
            r#"{{"title":"t","panels":[{}]}}"#,
            vec![r#"{"title":"a","query":"up"}"#; MAX_PANELS + 1].join(",")
        );
        assert!(
            store
                .put("x", many.as_bytes())
                .expect_err("too many")
                .to_string()
                .contains("panels exceed")
        );
        let huge = vec![b' '; MAX_DASHBOARD_BYTES + 1];
        assert!(
            store
                .put("x", &huge)
                .expect_err("too big")
                .to_string()
                .contains("exceeds the limit")
        );
        assert!(
            store.list().expect("list").iter().all(|s| s.builtin),
            "nothing was saved"
        );
    }
}
