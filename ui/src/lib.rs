//! Loupe's dashboard: the HTML, CSS and JavaScript modules under `ui/static/` and the built-in
//! dashboards under `ui/dashboards/`, embedded in the binary at compile time.
//!
//! There is no build step: the files are served as they are written. [`asset`] looks a file up by
//! its path below `static/` and returns its bytes, content type and an entity tag for caching;
//! [`builtin_dashboards`] returns the built-in dashboards as JSON text. A unit test checks that every
//! file on disk is listed here, so a new file cannot be forgotten.

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Path below `ui/static/`, e.g. `js/app.js`.
    pub path: &'static str,
    /// The file's bytes.
    pub bytes: &'static [u8],
    /// The `Content-Type` to serve it with.
    pub content_type: &'static str,
    /// A strong entity tag (quoted, as sent in `ETag`) derived from the bytes.
    pub etag: &'static str,
}

/// 64-bit FNV-1a, computed at compile time for entity tags.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// Formats a hash as a quoted 16-digit hex entity tag at compile time.
const fn etag_of(bytes: &[u8]) -> [u8; 18] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = fnv1a(bytes);
    let mut out = [b'"'; 18];
    let mut i = 0;
    while i < 16 {
        out[1 + i] = HEX[((hash >> (60 - 4 * i)) & 0xf) as usize];
        i += 1;
    }
    out
}

/// Content type by file extension.
const fn content_type(path: &str) -> &'static str {
    let b = path.as_bytes();
    let n = b.len();
    if n >= 5 && b[n - 5] == b'.' && b[n - 4] == b'h' && b[n - 3] == b't' && b[n - 2] == b'm' && b[n - 1] == b'l' {
        "text/html; charset=utf-8"
    } else if n >= 3 && b[n - 3] == b'.' && b[n - 2] == b'j' && b[n - 1] == b's' {
        "text/javascript; charset=utf-8"
    } else if n >= 4 && b[n - 4] == b'.' && b[n - 3] == b'c' && b[n - 2] == b's' && b[n - 1] == b's' {
        "text/css; charset=utf-8"
    } else if n >= 4 && b[n - 4] == b'.' && b[n - 3] == b's' && b[n - 2] == b'v' && b[n - 1] == b'g' {
        "image/svg+xml"
    } else {
        "application/octet-stream"
    }
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        /// Every embedded file, in path order.
        pub static ASSETS: &[Asset] = &[$(
            {
                const BYTES: &[u8] = include_bytes!(concat!("../static/", $path));
                const TAG: [u8; 18] = etag_of(BYTES);
                Asset {
                    path: $path,
                    bytes: BYTES,
                    content_type: content_type($path),
                    etag: match std::str::from_utf8(&TAG) {
                        Ok(tag) => tag,
                        Err(_) => panic!("entity tags are ascii"),
                    },
                }
            }
        ),*];
    };
}

assets![
    "css/chart.css",
    "css/complete.css",
    "css/loupe.css",
    "favicon.svg",
    "index.html",
    "js/alerts.js",
    "js/api.js",
    "js/app.js",
    "js/chart.js",
    "js/chartmath.js",
    "js/complete.js",
    "js/completecore.js",
    "js/controls.js",
    "js/dashboards.js",
    "js/dom.js",
    "js/logs.js",
    "js/metrics.js",
    "js/panels.js",
    "js/querytext.js",
    "js/status.js",
    "js/timerange.js",
];

/// The built-in dashboards, as `(id, JSON text)`.
static BUILTIN_DASHBOARDS: &[(&str, &str)] = &[
    ("loupe-health", include_str!("../dashboards/loupe-health.json")),
    ("containers", include_str!("../dashboards/containers.json")),
];

/// Looks an embedded file up by its path below `static/` (no leading slash).
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .and_then(|i| ASSETS.get(i))
}

/// The built-in dashboards as `(id, JSON text)`; the binary parses and validates them like saved ones.
pub fn builtin_dashboards() -> &'static [(&'static str, &'static str)] {
    BUILTIN_DASHBOARDS
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files_under(root, &path, out);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    #[test]
    fn every_file_on_disk_is_embedded_and_sorted() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
        let mut on_disk = Vec::new();
        files_under(&root, &root, &mut on_disk);
        on_disk.sort();
        let listed: Vec<String> = ASSETS.iter().map(|a| a.path.to_string()).collect();
        assert_eq!(
            listed, on_disk,
            "ui/src/lib.rs must list exactly the files under ui/static/, sorted"
        );
    }

    #[test]
    fn every_dashboard_file_is_builtin() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
        let mut on_disk = Vec::new();
        files_under(&root, &root, &mut on_disk);
        on_disk.sort();
        let mut listed: Vec<String> = BUILTIN_DASHBOARDS.iter().map(|(id, _)| format!("{id}.json")).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }

    #[test]
    fn lookup_types_and_tags() {
        let index = asset("index.html").expect("index.html is embedded");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert_eq!(index.etag.len(), 18);
        assert!(index.etag.starts_with('"') && index.etag.ends_with('"'));
        assert_eq!(
            asset("js/app.js").map(|a| a.content_type),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            asset("css/loupe.css").map(|a| a.content_type),
            Some("text/css; charset=utf-8")
        );
        assert_eq!(asset("favicon.svg").map(|a| a.content_type), Some("image/svg+xml"));
        assert!(asset("../Cargo.toml").is_none());
        assert!(asset("").is_none());
    }

    #[test]
    fn etags_differ_with_content() {
        assert_eq!(etag_of(b""), *b"\"cbf29ce484222325\"");
        assert_ne!(etag_of(b"a"), etag_of(b"b"));
    }
}
