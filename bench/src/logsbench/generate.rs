//! The synthetic Docker tree: `<root>/<64-hex id>/<id>-json.log` plus a `config.v2.json` per container,
//! generated deterministically from a seed and a start time.
//!
//! Every line is what Docker's json-file driver writes for one line of output:
//! `{"log":"<escaped text>\n","stream":"stdout","time":"2026-11-20T10:00:00.123456789Z"}`, with the text
//! escaped the way Go's JSON encoder does it (including `<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`)
//! and the time in `RFC3339Nano` (trailing zeros dropped). Each container writes about 1000 lines a
//! second, its times strictly increasing; the text comes from [`super::content`]. One line carries
//! the *needle*, a UUID found nowhere else, for search benchmarks.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::content::{LineSource, Style, push_rfc3339_nano, push_uuid};
use crate::Result;

/// Average gap between two lines of one container, nanoseconds (about 1000 lines a second).
const MEAN_GAP_NS: i64 = 1_000_000;
/// Average bytes of one Docker line, used only to place the default start time.
const TYPICAL_LINE_BYTES: u64 = 300;
/// Nanoseconds in a day.
const DAY_NS: i64 = 86_400_000_000_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GenerateConfig {
    /// Containers (at least 1).
    pub containers: usize,
    /// Total bytes of the json-file logs, split evenly between containers; each stops at the first
    /// line that reaches its share.
    pub size_bytes: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Time of the first lines, nanoseconds since the Unix epoch.
    pub start_ns: i64,
}

/// One generated container.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ContainerFigures {
    /// The 64-hex container id.
    pub id: String,
    /// Its name without the leading `/`.
    pub name: String,
    /// Its primary log style.
    pub style: Style,
    /// Lines written.
    pub lines: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// What was generated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Generated {
    /// The root directory (Docker's `containers` directory).
    pub root: PathBuf,
    /// Every container.
    pub containers: Vec<ContainerFigures>,
    /// Lines written, all containers.
    pub lines: u64,
    /// Lines on stderr.
    pub stderr_lines: u64,
    /// Bytes of all json-file logs.
    pub raw_bytes: u64,
    /// The UUID found in exactly one line.
    pub needle: String,
    /// The container whose log holds the needle.
    pub needle_container: String,
    /// Earliest line time, nanoseconds since the Unix epoch.
    pub first_ns: i64,
    /// Latest line time, nanoseconds since the Unix epoch.
    pub last_ns: i64,
    /// Seconds the generation took.
    pub seconds: f64,
}

/// Parses a size: plain bytes or a number with `KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB` (or `K`, `M`, `G`
/// as binary units), e.g. `256MiB`, `1.5GiB`, `1GB`.
pub fn parse_size(text: &str) -> Result<u64> {
    let invalid = || format!("invalid size {text:?} (e.g. 256MiB, 1GiB, 500MB)");
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(invalid().into()),
    };
    let bytes = number * multiplier as f64;
    if !(1.0..=(1u64 << 44) as f64).contains(&bytes) {
        return Err(format!("size {text:?} out of range (1 byte to 16 TiB)").into());
    }
    Ok(bytes.round() as u64)
}

/// The default start time for data generated at `now_ns`: the lines of `size_bytes` spread over
/// `containers` straddle the midnight (UTC) that began yesterday, so they fill the ends of two daily
/// windows one and two days old.
pub fn default_start_ns(now_ns: i64, size_bytes: u64, containers: usize) -> i64 {
    let lines_each = size_bytes / TYPICAL_LINE_BYTES / containers.max(1) as u64;
    let span_ns = i64::try_from(lines_each).unwrap_or(i64::MAX / MEAN_GAP_NS) * MEAN_GAP_NS;
    let midnight = now_ns.div_euclid(DAY_NS) * DAY_NS - DAY_NS;
    midnight - span_ns / 2
}

/// Appends `text` as the body of a JSON string the way Go's `encoding/json` writes it: `"`, `\`
/// and control characters escaped, `<`, `>`, `&`, U+2028 and U+2029 as `\u` escapes.
pub fn push_json_escaped(text: &str, out: &mut String) {
    let mut plain = 0;
    for (i, c) in text.char_indices() {
        let escape: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let needs_u = matches!(c, '\u{0}'..='\u{1f}' | '<' | '>' | '&' | '\u{2028}' | '\u{2029}');
        if escape.is_none() && !needs_u {
            continue;
        }
        out.push_str(&text[plain..i]);
        plain = i + c.len_utf8();
        match escape {
            Some(e) => out.push_str(e),
            None => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
    }
    out.push_str(&text[plain..]);
}

/// The content of a container's `config.v2.json` (the fields Loupe reads).
fn config_v2(id: &str, name: &str, image: &str) -> String {
    serde_json::json!({
        "ID": id,
        "Name": format!("/{name}"),
        "Config": {
            "Image": image,
            "Labels": {
                "com.docker.compose.service": name,
                "com.docker.compose.project": "shop",
            }
        }
    })
    .to_string()
}

/// Writes the tree under `root` (created if missing; it should be empty).
pub fn generate(config: &GenerateConfig, root: &Path) -> Result<Generated> {
    if config.containers == 0 {
        return Err("at least one container is needed".into());
    }
    let started = Instant::now();
    std::fs::create_dir_all(root).map_err(|e| format!("creating {}: {e}", root.display()))?;
    let mut master = ChaCha8Rng::seed_from_u64(config.seed);
    let mut needle = String::new();
    push_uuid(&mut master, &mut needle);
    let needle_index = master.random_range(0..config.containers);
    let n = config.containers as u64;
    let mut generated = Generated {
        root: root.to_path_buf(),
        containers: Vec::with_capacity(config.containers),
        lines: 0,
        stderr_lines: 0,
        raw_bytes: 0,
        needle: needle.clone(),
        needle_container: String::new(),
        first_ns: i64::MAX,
        last_ns: i64::MIN,
        seconds: 0.0,
    };
    for index in 0..config.containers {
        let id = format!("{:032x}{:032x}", master.random::<u128>(), master.random::<u128>());
        let style = Style::ALL[index % Style::ALL.len()];
        let name = format!("svc-{index}");
        let image = format!("shop/{}:1.{}", style.image(), index);
        let dir = root.join(&id);
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let meta = dir.join("config.v2.json");
        std::fs::write(&meta, config_v2(&id, &name, &image)).map_err(|e| format!("writing {}: {e}", meta.display()))?;
        // The remainder of the split goes to the first container.
        let budget = config.size_bytes / n + if index == 0 { config.size_bytes % n } else { 0 };
        let source = LineSource::new(style, ChaCha8Rng::seed_from_u64(master.random()));
        let offset_ns = master.random_range(0..MEAN_GAP_NS * 1000);
        let plant = (index == needle_index).then_some(needle.as_str());
        let log = dir.join(format!("{id}-json.log"));
        let written = write_log(&log, source, config.start_ns + offset_ns, budget, plant)?;
        if index == needle_index {
            generated.needle_container = id.clone();
        }
        generated.lines += written.lines;
        generated.stderr_lines += written.stderr_lines;
        generated.raw_bytes += written.bytes;
        generated.first_ns = generated.first_ns.min(written.first_ns);
        generated.last_ns = generated.last_ns.max(written.last_ns);
        generated.containers.push(ContainerFigures {
            id,
            name,
            style,
            lines: written.lines,
            bytes: written.bytes,
        });
    }
    generated.seconds = started.elapsed().as_secs_f64();
    Ok(generated)
}

/// What one log file received.
struct Written {
    lines: u64,
    stderr_lines: u64,
    bytes: u64,
    first_ns: i64,
    last_ns: i64,
}

/// Writes lines from `source` to `path` until `budget` bytes are reached; the needle, when given, is
/// the first line after half the budget that does not interrupt a stack trace.
fn write_log(path: &Path, mut source: LineSource, start_ns: i64, budget: u64, needle: Option<&str>) -> Result<Written> {
    let file = std::fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut text = String::with_capacity(1024);
    let mut line = String::with_capacity(2048);
    let mut written = Written {
        lines: 0,
        stderr_lines: 0,
        bytes: 0,
        first_ns: start_ns,
        last_ns: start_ns,
    };
    let mut needle = needle;
    let mut ts = start_ns;
    // With a tiny budget the needle may come after it: it is always written.
    while written.bytes < budget || needle.is_some() {
        text.clear();
        line.clear();
        let stream = match needle {
            Some(n) if (written.bytes >= budget / 2 && !source.in_trace()) || written.bytes >= budget => {
                needle = None;
                source.needle_line(ts, n, &mut text);
                scraper::logs::docker::LogStream::Stdout
            }
            _ => source.next_line(ts, &mut text),
        };
        line.push_str("{\"log\":\"");
        push_json_escaped(&text, &mut line);
        line.push_str("\\n\",\"stream\":\"");
        line.push_str(stream.as_str());
        line.push_str("\",\"time\":\"");
        push_rfc3339_nano(ts, &mut line);
        line.push_str("\"}\n");
        out.write_all(line.as_bytes())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        written.lines += 1;
        written.bytes += line.len() as u64;
        if stream == scraper::logs::docker::LogStream::Stderr {
            written.stderr_lines += 1;
        }
        written.last_ns = ts;
        // A stack trace's lines come out together; other lines about 1 ms apart.
        ts += if source.in_trace() {
            source.rng().random_range(1_000..60_000)
        } else {
            source.rng().random_range(1..2 * MEAN_GAP_NS)
        };
    }
    out.flush().map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::logs::docker::{DockerDecoder, LogStream};

    /// 2026-11-20T10:00:00Z.
    const START: i64 = 1_795_168_800_000_000_000;

    fn config(size_bytes: u64, seed: u64) -> GenerateConfig {
        GenerateConfig {
            containers: 4,
            size_bytes,
            seed,
            start_ns: START,
        }
    }

    /// Every log file's bytes, by container id.
    fn read_logs(generated: &Generated) -> Vec<(String, Vec<u8>)> {
        generated
            .containers
            .iter()
            .map(|c| {
                let path = generated.root.join(&c.id).join(format!("{}-json.log", c.id));
                (c.id.clone(), std::fs::read(path).expect("log file"))
            })
            .collect()
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("256MiB").ok(), Some(256 << 20));
        assert_eq!(parse_size("1GiB").ok(), Some(1 << 30));
        assert_eq!(parse_size("1.5G").ok(), Some(3 << 29));
        assert_eq!(parse_size("500MB").ok(), Some(500_000_000));
        assert_eq!(parse_size("4096").ok(), Some(4096));
        assert!(parse_size("1TiB").is_err());
        assert!(parse_size("MiB").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("-1M").is_err());
    }

    #[test]
    fn escapes_like_go() {
        let mut out = String::new();
        push_json_escaped("a \"q\" \\ <b> & \t\u{1}\u{2028}é", &mut out);
        assert_eq!(out, r#"a \"q\" \\ \u003cb\u003e \u0026 \t\u0001\u2028é"#);
    }

    #[test]
    fn formats_times_like_docker() {
        let mut out = String::new();
        push_rfc3339_nano(START + 123_456_789, &mut out);
        assert_eq!(out, "2026-11-20T10:00:00.123456789Z");
        out.clear();
        push_rfc3339_nano(START + 120_000_000, &mut out);
        assert_eq!(out, "2026-11-20T10:00:00.12Z");
        out.clear();
        push_rfc3339_nano(951_782_400_000_000_000, &mut out);
        assert_eq!(out, "2000-02-29T00:00:00Z");
    }

    #[test]
    fn default_start_straddles_yesterdays_midnight() {
        let now = START;
        let start = default_start_ns(now, 1 << 30, 8);
        let midnight = 1_795_046_400_000_000_000; // 2026-11-19T00:00:00Z
        let lines_each = (1u64 << 30) / TYPICAL_LINE_BYTES / 8;
        assert_eq!(start, midnight - lines_each as i64 * MEAN_GAP_NS / 2);
    }

    #[test]
    fn is_deterministic_for_a_seed() {
        let (a, b, c) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let first = generate(&config(200_000, 7), a.path()).expect("generates");
        let second = generate(&config(200_000, 7), b.path()).expect("generates");
        let other = generate(&config(200_000, 8), c.path()).expect("generates");
        assert_eq!(read_logs(&first), read_logs(&second));
        assert_eq!(first.needle, second.needle);
        assert_ne!(first.needle, other.needle);
        assert_ne!(read_logs(&first), read_logs(&other));
    }

    #[test]
    fn writes_valid_docker_lines_counted_exactly() {
        let dir = tempfile::tempdir().expect("dir");
        let generated = generate(&config(2 << 20, 1), dir.path()).expect("generates");
        let mut lines = 0u64;
        let mut stderr = 0u64;
        let mut needles = 0;
        let mut bytes = 0u64;
        let mut levels = [0u64; 4];
        for (id, log) in read_logs(&generated) {
            let mut decoder = DockerDecoder::new(1 << 20);
            let mut last_ts = i64::MIN;
            let mut offset = 0u64;
            bytes += log.len() as u64;
            assert!(log.ends_with(b"\n"));
            for raw in log.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let value: serde_json::Value = serde_json::from_slice(raw).expect("json");
                let object = value.as_object().expect("object");
                assert_eq!(object.len(), 3);
                let text = object["log"].as_str().expect("log");
                assert!(text.ends_with('\n') && text.len() > 1);
                let record = decoder
                    .push(raw, offset)
                    .expect("decodes")
                    .expect("one record per line");
                offset += raw.len() as u64 + 1;
                assert!(record.ts_ns > last_ts, "times increase in {id}");
                last_ts = record.ts_ns;
                assert_eq!(record.line, text[..text.len() - 1]);
                assert_eq!(object["stream"].as_str(), Some(record.stream.as_str()));
                stderr += u64::from(record.stream == LogStream::Stderr);
                needles += record.line.matches(&generated.needle).count();
                if record.line.contains(&generated.needle) {
                    assert_eq!(id, generated.needle_container);
                }
                for (i, level) in ["level=info", "level=warn", "level=error", "level=debug"]
                    .iter()
                    .enumerate()
                {
                    levels[i] += u64::from(record.line.contains(level));
                }
                lines += 1;
            }
        }
        assert_eq!(lines, generated.lines);
        assert_eq!(stderr, generated.stderr_lines);
        assert_eq!(bytes, generated.raw_bytes);
        assert_eq!(needles, 1);
        let per_container: u64 = generated.containers.iter().map(|c| c.lines).sum();
        assert_eq!(per_container, lines);
        let share = |n: u64| n as f64 / (levels.iter().sum::<u64>() as f64);
        assert!(
            (0.75..0.85).contains(&share(levels[0])),
            "info share {}",
            share(levels[0])
        );
        assert!(
            (0.05..0.10).contains(&share(levels[2])),
            "error share {}",
            share(levels[2])
        );
        let stderr_share = stderr as f64 / lines as f64;
        assert!((0.07..0.14).contains(&stderr_share), "stderr share {stderr_share}");
        assert!(generated.first_ns >= START && generated.last_ns > generated.first_ns);
    }

    #[test]
    fn size_is_within_one_percent() {
        for (size, containers) in [(1u64 << 20, 4), (3_000_000, 7), (5 << 20, 8)] {
            let dir = tempfile::tempdir().expect("dir");
            let cfg = GenerateConfig {
                containers,
                ..config(size, 3)
            };
            let generated = generate(&cfg, dir.path()).expect("generates");
            let error = (generated.raw_bytes as f64 - size as f64).abs() / size as f64;
            assert!(error < 0.01, "{} bytes for {size}", generated.raw_bytes);
            assert_eq!(generated.containers.len(), containers);
            let meta =
                std::fs::read(dir.path().join(&generated.containers[3].id).join("config.v2.json")).expect("meta");
            let labels = scraper::logs::meta::docker_labels(&meta).expect("loupe reads it");
            assert!(
                labels.iter().any(|(k, v)| k == "container" && v == "svc-3"),
                "{labels:?}"
            );
        }
    }

    #[test]
    fn plants_the_needle_even_in_a_tiny_file() {
        let dir = tempfile::tempdir().expect("dir");
        let cfg = GenerateConfig {
            containers: 1,
            ..config(10, 5)
        };
        let generated = generate(&cfg, dir.path()).expect("generates");
        let logs = read_logs(&generated);
        assert!(String::from_utf8_lossy(&logs[0].1).contains(&generated.needle));
        assert!(generate(&GenerateConfig { containers: 0, ..cfg }, dir.path()).is_err());
    }
}
