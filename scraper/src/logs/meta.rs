//! Container metadata as stream labels, the `service_name` label, and Loki's `detected_level`.
//!
//! - [`docker_labels`] reads moby's `config.v2.json` (next to the json-file log).
//! - [`cri_labels`] takes the directory names of `/var/log/pods/<ns>_<pod>_<uid>/<container>/`.
//! - [`service_name`] follows Loki's `discover_service_name` default order.
//! - [`detected_level`] follows Loki's ingest-time level detection (distributor field detection):
//!   a level field in a JSON object (searched two object levels deep) or a logfmt line, else a
//!   level word in the line. It is a hand-written scanner, no regex, as it runs on every line.

use std::collections::HashMap;

use serde::Deserialize;

use crate::{Error, Result};

/// The parts of moby's `config.v2.json` that become labels; everything else is ignored.
#[derive(Deserialize)]
struct DockerConfigV2 {
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "Config", default)]
    config: Option<DockerConfig>,
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(rename = "Image", default)]
    image: Option<String>,
    #[serde(rename = "Labels", default)]
    labels: Option<HashMap<String, Option<String>>>,
}

/// Container labels that map to stream labels, in the order they are looked up.
const DOCKER_LABEL_MAP: [(&str, &str); 5] = [
    ("com.docker.compose.service", "service"),
    ("com.docker.compose.project", "project"),
    ("io.kubernetes.pod.namespace", "namespace"),
    ("io.kubernetes.pod.name", "pod"),
    ("io.kubernetes.container.name", "container"),
];

/// Stream labels of a Docker container, from its `config.v2.json`, sorted by name.
///
/// `Name` (without its leading `/`) gives `container`, `Config.Image` gives `image`, and the
/// container labels `com.docker.compose.service` / `com.docker.compose.project` give `service` /
/// `project`. Kubernetes labels (`io.kubernetes.pod.namespace`, `io.kubernetes.pod.name`,
/// `io.kubernetes.container.name`, set on containers the dockershim created) give `namespace`,
/// `pod` and `container`, the last one replacing the Docker name. Empty values are left out;
/// missing fields (even `Config.Labels`) are fine. Invalid JSON is an error.
pub fn docker_labels(config_v2_json: &[u8]) -> Result<Vec<(String, String)>> {
    let parsed: DockerConfigV2 = serde_json::from_slice(config_v2_json)
        .map_err(|e| Error::LogFormat(format!("container config.v2.json: invalid json: {e}")))?;
    let mut out: Vec<(String, String)> = Vec::with_capacity(6);
    let mut set = |name: &str, value: &str| {
        if value.is_empty() {
            return;
        }
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.to_owned(),
            None => out.push((name.to_owned(), value.to_owned())),
        }
    };
    if let Some(name) = &parsed.name {
        set("container", name.strip_prefix('/').unwrap_or(name));
    }
    if let Some(config) = &parsed.config {
        if let Some(image) = &config.image {
            set("image", image);
        }
        if let Some(labels) = &config.labels {
            for (key, label) in DOCKER_LABEL_MAP {
                if let Some(Some(value)) = labels.get(key) {
                    set(label, value);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Stream labels of a Kubernetes container from its log directory names:
/// `<namespace>_<pod>_<uid>` and `<container>` give `namespace`, `pod` and `container`.
///
/// Namespace, pod and container names are DNS-1123 names and the uid a UUID (or a hash for static
/// pods), none of which may contain `_`, so the pod directory must split into exactly three
/// non-empty parts. The uid is not a label (it would only add cardinality).
pub fn cri_labels(pod_dir_name: &str, container_dir_name: &str) -> Result<Vec<(String, String)>> {
    let bad = |what: &str| Error::LogFormat(format!("pod log directory {pod_dir_name:?}: {what}"));
    let mut parts = pod_dir_name.split('_');
    let (Some(namespace), Some(pod), Some(uid), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected <namespace>_<pod>_<uid>"));
    };
    if namespace.is_empty() || pod.is_empty() || uid.is_empty() {
        return Err(bad("empty namespace, pod or uid"));
    }
    if container_dir_name.is_empty() || container_dir_name.contains(['/', '_']) {
        return Err(Error::LogFormat(format!(
            "container log directory {container_dir_name:?}: not a container name"
        )));
    }
    Ok(vec![
        ("container".to_owned(), container_dir_name.to_owned()),
        ("namespace".to_owned(), namespace.to_owned()),
        ("pod".to_owned(), pod.to_owned()),
    ])
}

/// Label names tried for `service_name`, in Loki's default `discover_service_name` order.
const SERVICE_NAME_SOURCES: [&str; 13] = [
    "service",
    "app",
    "application",
    "app_name",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "k8s_container_name",
    "component",
    "workload",
    "job",
    "k8s_job_name",
];

/// The `service_name` of a stream: an existing non-empty `service_name` label, else the first
/// non-empty label of Loki's default `discover_service_name` list (`service`, `app`,
/// `application`, `app_name`, `name`, `app_kubernetes_io_name`, `container`, `container_name`,
/// `k8s_container_name`, `component`, `workload`, `job`, `k8s_job_name`), else `unknown_service`.
pub fn service_name(labels: &[(String, String)]) -> String {
    let get = |name: &str| {
        labels
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    get("service_name")
        .or_else(|| SERVICE_NAME_SOURCES.iter().find_map(|name| get(name)))
        .unwrap_or_else(|| "unknown_service".to_owned())
}

/// Loki's level field names (`log_level_fields` default), matched exactly in JSON.
const LEVEL_FIELDS: [&str; 12] = [
    "level",
    "LEVEL",
    "Level",
    "Severity",
    "severity",
    "SEVERITY",
    "lvl",
    "LVL",
    "Lvl",
    "severity_text",
    "Severity_Text",
    "SEVERITY_TEXT",
];

/// How deep the JSON search descends: the top-level object is depth 0 (Loki's default 2).
const JSON_MAX_DEPTH: usize = 2;

/// Words that name a level in free text, in Loki's precedence order (first match wins).
const LEVEL_WORDS: [(&str, &str); 9] = [
    ("trace", "trace"),
    ("debug", "debug"),
    ("fatal", "fatal"),
    ("critical", "critical"),
    ("error", "error"),
    ("err", "error"),
    ("warning", "warn"),
    ("warn", "warn"),
    ("info", "info"),
];

/// The level of a log line as Loki's `detected_level` would have it: one of `trace`, `debug`,
/// `info`, `warn`, `error`, `critical`, `fatal`, or `None` (the caller shows `unknown`).
///
/// - A line that looks like a JSON object (`{` ... `}`) is searched, in document order and two
///   object levels deep, for a string field named `level`, `severity`, `lvl` or `severity_text`
///   (lower-case, capitalised or upper-case spellings).
/// - Otherwise a line with `=` is read as logfmt, and the value of the key `level` (then
///   `severity`, `lvl`, `severity_text`; keys compared case-insensitively) is taken.
/// - A found value is normalised case-insensitively: `trace`/`trc`, `debug`/`dbg`,
///   `info`/`inf`/`information`, `warn`/`wrn`/`warning`, `error`/`err`, `critical`, `fatal`.
/// - Without a field, or with a value that is none of those, the line's words are searched
///   (case-insensitively, whole words only) for, by precedence: trace, debug, fatal, critical,
///   error, err, warning, warn, info. `panic` is deliberately not a level word, as in Loki.
///
/// One difference from Loki: Loki checks only the first occurrence of each word, so `errors err`
/// is unknown there but `error` here.
pub fn detected_level(line: &str) -> Option<&'static str> {
    let field = if looks_like_json(line) {
        json_level_field(line)
    } else if line.contains('=') {
        logfmt_level_field(line)
    } else {
        None
    };
    field
        .and_then(|v| normalize_level(v.as_bytes()))
        .or_else(|| level_word(line.as_bytes()))
}

/// Maps a level value to Loki's level names, case-insensitively.
fn normalize_level(v: &[u8]) -> Option<&'static str> {
    const NAMES: [(&str, &str); 14] = [
        ("trace", "trace"),
        ("trc", "trace"),
        ("debug", "debug"),
        ("dbg", "debug"),
        ("info", "info"),
        ("inf", "info"),
        ("information", "info"),
        ("warn", "warn"),
        ("wrn", "warn"),
        ("warning", "warn"),
        ("error", "error"),
        ("err", "error"),
        ("critical", "critical"),
        ("fatal", "fatal"),
    ];
    NAMES
        .iter()
        .find(|(name, _)| v.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, level)| *level)
}

/// The first level word in `line` by precedence, matching whole words case-insensitively.
fn level_word(line: &[u8]) -> Option<&'static str> {
    // A word is a maximal run of letters, digits, `_` and non-ASCII bytes.
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut best: Option<usize> = None;
    let mut i = 0;
    while i < line.len() {
        if !is_word(line[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && is_word(line[i]) {
            i += 1;
        }
        let word = &line[start..i];
        // Cheap rejections first: the length and the first letter of some level word.
        if (3..=8).contains(&word.len())
            && matches!(word[0] | 0x20, b't' | b'd' | b'f' | b'c' | b'e' | b'w' | b'i')
            && let Some(rank) = LEVEL_WORDS
                .iter()
                .position(|(w, _)| w.len() == word.len() && word.eq_ignore_ascii_case(w.as_bytes()))
            && best.is_none_or(|b| rank < b)
        {
            if rank == 0 {
                return Some(LEVEL_WORDS[0].1);
            }
            best = Some(rank);
        }
    }
    best.map(|rank| LEVEL_WORDS[rank].1)
}

fn looks_like_json(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('{') && t.ends_with('}')
}

/// The value of the first level field of a JSON object line (document order, nested objects
/// searched up to [`JSON_MAX_DEPTH`]); `None` for invalid JSON or no such string field.
fn json_level_field(line: &str) -> Option<String> {
    let mut found = None;
    let mut de = serde_json::Deserializer::from_str(line);
    // Parsing stops with an error as soon as a field is found, so the result is ignored.
    let _ = serde::de::DeserializeSeed::deserialize(
        LevelSeek {
            depth: 0,
            found: &mut found,
        },
        &mut de,
    );
    found
}

/// A serde visitor that walks a JSON value looking for a level field, without building it.
struct LevelSeek<'f> {
    depth: usize,
    found: &'f mut Option<String>,
}

impl<'de> serde::de::DeserializeSeed<'de> for LevelSeek<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> std::result::Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for LevelSeek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a json value")
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        use serde::de::Error as _;
        if self.depth >= JSON_MAX_DEPTH {
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            return Ok(());
        }
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if LEVEL_FIELDS.contains(&&*key) {
                // Only a string value counts; anything else is skipped like Loki does.
                if let Some(value) = map.next_value::<Option<StrOrOther>>()?.and_then(|v| v.0) {
                    *self.found = Some(value);
                    return Err(A::Error::custom("level found"));
                }
            } else {
                map.next_value_seed(LevelSeek {
                    depth: self.depth + 1,
                    found: self.found,
                })?;
                if self.found.is_some() {
                    return Err(A::Error::custom("level found"));
                }
            }
        }
        Ok(())
    }
}

/// A JSON value that is kept only when it is a string.
struct StrOrOther(Option<String>);

impl<'de> Deserialize<'de> for StrOrOther {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = StrOrOther;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a json value")
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<StrOrOther, E> {
                Ok(StrOrOther(Some(s.to_owned())))
            }
            fn visit_unit<E>(self) -> std::result::Result<StrOrOther, E> {
                Ok(StrOrOther(None))
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<StrOrOther, E> {
                Ok(StrOrOther(None))
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<StrOrOther, E> {
                Ok(StrOrOther(None))
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<StrOrOther, E> {
                Ok(StrOrOther(None))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<StrOrOther, E> {
                Ok(StrOrOther(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> std::result::Result<StrOrOther, A::Error> {
                serde::de::Visitor::visit_seq(serde::de::IgnoredAny, seq).map(|_| StrOrOther(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> std::result::Result<StrOrOther, A::Error> {
                serde::de::Visitor::visit_map(serde::de::IgnoredAny, map).map(|_| StrOrOther(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The value of the preferred level key of a logfmt line (`level` > `severity` > `lvl` >
/// `severity_text`, keys case-insensitive), or `None`. Quoted values may contain spaces; escapes
/// inside them are kept as written (a level never has any).
fn logfmt_level_field(line: &str) -> Option<String> {
    const KEYS: [&str; 4] = ["level", "severity", "lvl", "severity_text"];
    let b = line.as_bytes();
    let mut best: Option<(usize, &str)> = None;
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] <= b' ' {
            i += 1;
        }
        let key_start = i;
        while i < b.len() && b[i] > b' ' && b[i] != b'=' && b[i] != b'"' {
            i += 1;
        }
        let key = &line[key_start..i];
        if i < b.len() && b[i] == b'"' {
            // A quote inside a key: not logfmt from here on (Loki's decoder stops too).
            break;
        }
        if key.is_empty() && (i >= b.len() || b[i] != b'=') {
            break;
        }
        let mut value = "";
        if i < b.len() && b[i] == b'=' {
            i += 1;
            if i < b.len() && b[i] == b'"' {
                i += 1;
                let start = i;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(b.len());
                value = line.get(start..end).unwrap_or("");
                i = end + 1;
            } else {
                let start = i;
                while i < b.len() && b[i] > b' ' {
                    i += 1;
                }
                value = &line[start..i];
            }
        }
        if let Some(rank) = KEYS.iter().position(|k| key.eq_ignore_ascii_case(k))
            && best.is_none_or(|(r, _)| rank < r)
        {
            if rank == 0 {
                return Some(value.to_owned());
            }
            best = Some((rank, value));
        }
    }
    best.map(|(_, v)| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    const COMPOSE_CONFIG: &str = r#"{
        "StreamConfig": {},
        "State": {"Running": true, "Paused": false, "Pid": 4242, "StartedAt": "2024-05-01T10:00:00.123456789Z"},
        "ID": "4f1c2ab4b0d2a8f0c2d1e6f9b3a7c5d8e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5",
        "Created": "2024-05-01T09:59:59.5Z",
        "Managed": false,
        "Path": "docker-entrypoint.sh",
        "Args": ["postgres"],
        "Config": {
            "Hostname": "4f1c2ab4b0d2",
            "User": "",
            "Env": ["POSTGRES_PASSWORD=secret", "PATH=/usr/local/bin:/usr/bin"],
            "Cmd": ["postgres"],
            "Image": "postgres:16-alpine",
            "Volumes": {"/var/lib/postgresql/data": {}},
            "WorkingDir": "",
            "Entrypoint": ["docker-entrypoint.sh"],
            "Labels": {
                "com.docker.compose.config-hash": "9d1f",
                "com.docker.compose.container-number": "1",
                "com.docker.compose.oneoff": "False",
                "com.docker.compose.project": "shop",
                "com.docker.compose.project.working_dir": "/home/me/shop",
                "com.docker.compose.service": "db",
                "com.docker.compose.version": "2.27.0"
            },
            "StopSignal": "SIGINT"
        },
        "Image": "sha256:0b3d0e3e1b9a",
        "NetworkSettings": {"Networks": {"shop_default": {"IPAddress": "172.18.0.2"}}},
        "LogPath": "/var/lib/docker/containers/4f1c/4f1c-json.log",
        "Name": "/shop-db-1",
        "Driver": "overlay2",
        "RestartCount": 0,
        "HostnamePath": "/var/lib/docker/containers/4f1c/hostname"
    }"#;

    #[test]
    fn docker_labels_compose() {
        let got = docker_labels(COMPOSE_CONFIG.as_bytes()).unwrap_or_default();
        assert_eq!(
            got,
            labels(&[
                ("container", "shop-db-1"),
                ("image", "postgres:16-alpine"),
                ("project", "shop"),
                ("service", "db")
            ])
        );
    }

    #[test]
    fn docker_labels_kubernetes_and_missing_fields() {
        let k8s = br#"{"Name":"/k8s_nginx_web-0_prod_uid_0","Config":{"Image":"nginx:1.27","Labels":{
            "io.kubernetes.pod.namespace":"prod","io.kubernetes.pod.name":"web-0",
            "io.kubernetes.container.name":"nginx","other":null}}}"#;
        assert_eq!(
            docker_labels(k8s).unwrap_or_default(),
            labels(&[
                ("container", "nginx"),
                ("image", "nginx:1.27"),
                ("namespace", "prod"),
                ("pod", "web-0")
            ])
        );
        let bare = br#"{"Name":"/plain","Config":{"Image":"alpine","Labels":null}}"#;
        assert_eq!(
            docker_labels(bare).unwrap_or_default(),
            labels(&[("container", "plain"), ("image", "alpine")])
        );
        assert_eq!(docker_labels(b"{}").unwrap_or_default(), labels(&[]));
        let Err(Error::LogFormat(msg)) = docker_labels(b"{\"Name\":") else {
            panic!("expected an error");
        };
        assert!(msg.starts_with("container config.v2.json: invalid json: "), "{msg}");
    }

    #[test]
    fn cri_labels_from_directories() {
        let got = cri_labels(
            "kube-system_coredns-5d78c9869d-abcde_0b6f9c3e-1f7a-4d2b-9c1e-2a3b4c5d6e7f",
            "coredns",
        );
        assert_eq!(
            got.unwrap_or_default(),
            labels(&[
                ("container", "coredns"),
                ("namespace", "kube-system"),
                ("pod", "coredns-5d78c9869d-abcde")
            ])
        );
        assert!(cri_labels("default_web", "c").is_err());
        assert!(cri_labels("default_web_uid_extra", "c").is_err());
        assert!(cri_labels("_web_uid", "c").is_err());
        assert!(cri_labels("default_web_uid", "").is_err());
        let Err(Error::LogFormat(msg)) = cri_labels("nope", "c") else {
            panic!("expected an error");
        };
        assert_eq!(msg, "pod log directory \"nope\": expected <namespace>_<pod>_<uid>");
    }

    #[test]
    fn service_name_order() {
        assert_eq!(service_name(&labels(&[])), "unknown_service");
        assert_eq!(service_name(&labels(&[("container", "c"), ("job", "j")])), "c");
        assert_eq!(
            service_name(&labels(&[("container", "c"), ("app", "a"), ("service", "")])),
            "a"
        );
        assert_eq!(service_name(&labels(&[("app", "a"), ("service", "s")])), "s");
        assert_eq!(
            service_name(&labels(&[("app", "a"), ("service_name", "given")])),
            "given"
        );
        assert_eq!(service_name(&labels(&[("k8s_job_name", "k"), ("workload", "w")])), "w");
        assert_eq!(
            service_name(&labels(&[("namespace", "n"), ("pod", "p")])),
            "unknown_service"
        );
        assert_eq!(
            service_name(&labels(&[("name", "n"), ("app_kubernetes_io_name", "k")])),
            "n"
        );
    }

    #[test]
    fn level_from_json() {
        assert_eq!(detected_level(r#"{"level":"error","msg":"boom"}"#), Some("error"));
        assert_eq!(detected_level(r#" {"msg":"x","Severity":"WARNING"} "#), Some("warn"));
        assert_eq!(detected_level(r#"{"lvl":"DBG"}"#), Some("debug"));
        assert_eq!(detected_level(r#"{"log":{"level":"fatal"}}"#), Some("fatal"));
        assert_eq!(
            detected_level(r#"{"a":{"b":{"level":"information"}}}"#),
            None,
            "deeper than 2 levels"
        );
        assert_eq!(
            detected_level(r#"{"level":30,"msg":"hello"}"#),
            None,
            "numbers do not count"
        );
        assert_eq!(
            detected_level(r#"{"level":30,"msg":"an error"}"#),
            Some("error"),
            "falls back to words"
        );
        assert_eq!(detected_level(r#"{"level":"notice","msg":"x"}"#), None);
        assert_eq!(detected_level(r#"{"severity_text":"Information"}"#), Some("info"));
        assert_eq!(
            detected_level(r#"{"a":{"level":"trc"},"level":"error"}"#),
            Some("trace"),
            "document order"
        );
        assert_eq!(
            detected_level(r#"{"msg":"caf\u00e9","level":"crItical"}"#),
            Some("critical")
        );
        assert_eq!(detected_level(r#"{not json but says warn}"#), Some("warn"));
    }

    #[test]
    fn level_from_logfmt() {
        assert_eq!(
            detected_level("ts=1 level=warn msg=\"disk is full, error soon\""),
            Some("warn")
        );
        assert_eq!(detected_level("LEVEL=Error msg=x"), Some("error"));
        assert_eq!(
            detected_level("lvl=info severity=debug"),
            Some("debug"),
            "severity ranks above lvl"
        );
        assert_eq!(
            detected_level("msg=\"level=error inside quotes\" lvl=inf"),
            Some("info")
        );
        assert_eq!(detected_level("level=\"warning\""), Some("warn"));
        assert_eq!(detected_level("level=dbug msg=hello"), None);
        assert_eq!(detected_level("a=b c=d"), None);
        assert_eq!(detected_level("x=1 something failed: ERROR"), Some("error"));
    }

    #[test]
    fn level_from_words() {
        assert_eq!(detected_level("2024-01-01 ERROR something broke"), Some("error"));
        assert_eq!(detected_level("[warn] low disk"), Some("warn"));
        assert_eq!(detected_level("WARN  low disk"), Some("warn"));
        assert_eq!(detected_level("E0101 err: boom"), Some("error"));
        assert_eq!(detected_level("INFO starting"), Some("info"));
        assert_eq!(
            detected_level("info: no error here"),
            Some("error"),
            "error outranks info"
        );
        assert_eq!(
            detected_level("ERROR with stack trace"),
            Some("trace"),
            "Loki's precedence puts trace first"
        );
        assert_eq!(detected_level("Critical: meltdown"), Some("critical"));
        assert_eq!(detected_level("information is not a level word"), None);
        assert_eq!(detected_level("errors_total increased, debugging"), None);
        assert_eq!(
            detected_level("panic: runtime error: index out of range"),
            Some("error")
        );
        assert_eq!(detected_level("panic: oops"), None);
        assert_eq!(detected_level(""), None);
        assert_eq!(detected_level("GET /index.html 200"), None);
        assert_eq!(detected_level("ünïcode wärn"), None);
    }
}
