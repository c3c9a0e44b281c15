//! The benchmark's results: a serialisable [`Report`] and its markdown rendering.

use std::fmt::Write;

use serde::Serialize;

use crate::codec::CodecFigures;
use crate::dataset::{DatasetConfig, INTERVAL_MS, Kind};
use crate::deflate::DeflateFigures;
use crate::disk::DiskFigures;
use crate::load::{AppendFigures, MemoryFigures};
use crate::query::QueryFigures;

/// Targets the figures are judged against.
pub const TARGET_BYTES_PER_SAMPLE: f64 = 1.0;
/// Appended samples per second per core.
pub const TARGET_APPEND_PER_CORE: f64 = 2_000_000.0;
/// Head bytes per active series.
pub const TARGET_HEAD_BYTES_PER_SERIES: f64 = 1024.0;

/// What was generated.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetFigures {
    /// The configuration.
    pub config: DatasetConfig,
    /// Scrape interval, ms.
    pub interval_ms: i64,
    /// Targets (one commit per target and scrape round).
    pub targets: usize,
    /// Scrape rounds.
    pub steps: usize,
    /// Samples generated.
    pub samples: u64,
    /// Series per kind.
    pub series_by_kind: Vec<(Kind, usize)>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The dataset.
    pub dataset: DatasetFigures,
    /// Phase a.
    pub append: AppendFigures,
    /// Phase b.
    pub memory: MemoryFigures,
    /// Phase c.
    pub disk: DiskFigures,
    /// Phase d.
    pub queries: Vec<QueryFigures>,
    /// Phase e.
    pub deflate: Vec<DeflateFigures>,
    /// Phase f (`None` when skipped).
    pub codec: Option<CodecFigures>,
    /// Total wall time of the run, seconds.
    pub total_seconds: f64,
}

/// `✅` or `❌` with the distance to a target.
fn verdict(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

/// A number with thousands separators.
fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n.round());
    let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

impl Report {
    /// The report as markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_markdown(&mut out);
        out
    }

    fn write_markdown(&self, out: &mut String) -> std::fmt::Result {
        let d = &self.dataset;
        let c = &d.config;
        writeln!(out, "## Dataset\n")?;
        writeln!(
            out,
            "{} series in {} targets, {} h at {} s interval ({} scrape rounds, {} samples), seed {}.",
            thousands(c.series as f64),
            d.targets,
            c.hours,
            d.interval_ms / 1000,
            thousands(d.steps as f64),
            thousands(d.samples as f64),
            c.seed
        )?;
        writeln!(
            out,
            "Scrape timestamps carry uniform jitter of ±{} ms around each target's 15 s grid.",
            c.jitter_ms
        )?;
        let kinds: Vec<String> = d
            .series_by_kind
            .iter()
            .map(|(k, n)| format!("{} {}", thousands(*n as f64), k.name()))
            .collect();
        writeln!(out, "Series: {}.\n", kinds.join(", "))?;

        let a = &self.append;
        let m = &self.memory;
        let disk = &self.disk;
        writeln!(out, "## Summary\n")?;
        writeln!(out, "| figure | value | target | |")?;
        writeln!(out, "|---|---:|---:|---|")?;
        writeln!(
            out,
            "| a. append, samples/s per core (CPU time) | {} | ≥ {} | {} |",
            thousands(a.samples_per_second_per_core),
            thousands(TARGET_APPEND_PER_CORE),
            verdict(a.samples_per_second_per_core >= TARGET_APPEND_PER_CORE)
        )?;
        writeln!(
            out,
            "| a. append, samples/s (wall, incl. WAL fsync each 1 s) | {} | | |",
            thousands(a.samples_per_second_wall)
        )?;
        writeln!(
            out,
            "| b. head memory_bytes() per active series ({:.1} h loaded; mean over the last chunk cycle) | {:.0} B | ≤ {:.0} B | {} |",
            m.hours_loaded,
            m.head_bytes_per_series,
            TARGET_HEAD_BYTES_PER_SERIES,
            verdict(m.head_bytes_per_series <= TARGET_HEAD_BYTES_PER_SERIES)
        )?;
        writeln!(
            out,
            "| b. process RSS delta per active series | {:.0} B | ≤ {:.0} B | {} |",
            m.rss_delta_per_series,
            TARGET_HEAD_BYTES_PER_SERIES,
            verdict(m.rss_delta_per_series <= TARGET_HEAD_BYTES_PER_SERIES)
        )?;
        writeln!(
            out,
            "| b. head memory_bytes() per active series, largest of the 4 measurements | {:.0} B | | |",
            m.head_bytes_per_series_max
        )?;
        writeln!(
            out,
            "| c. chunk file bytes/sample (blocks) | {:.3} | ≤ {:.1} | {} |",
            disk.chunk_bytes_per_sample,
            TARGET_BYTES_PER_SAMPLE,
            verdict(disk.chunk_bytes_per_sample <= TARGET_BYTES_PER_SAMPLE)
        )?;
        writeln!(
            out,
            "| c. all block files bytes/sample | {:.3} | ≤ {:.1} | {} |",
            disk.all_bytes_per_sample,
            TARGET_BYTES_PER_SAMPLE,
            verdict(disk.all_bytes_per_sample <= TARGET_BYTES_PER_SAMPLE)
        )?;
        writeln!(
            out,
            "| c. chunk data bytes/sample as stored → re-encoded without jitter | {:.3} → {:.3} | | |",
            disk.chunk_data_bytes_per_sample, disk.chunk_data_bytes_per_sample_without_jitter
        )?;
        if let Some(codec) = &self.codec {
            let t = &codec.total;
            writeln!(
                out,
                "| f. chunk data bytes/sample: XOR only → as stored (XOR or decimal) | {:.3} → {:.3} | | |",
                t.xor_bytes_per_sample, t.stored_bytes_per_sample
            )?;
        }
        if let Some(all) = self.queries.last() {
            writeln!(
                out,
                "| d. select + decode, samples/s (`{}`) | {} | | |",
                all.selector,
                thousands(all.samples_per_second)
            )?;
        }
        writeln!(out)?;

        writeln!(out, "## a. Append\n")?;
        writeln!(
            out,
            "| samples | rejected | commits | samples/commit | wall s | CPU s | samples/s wall | samples/s/core | WAL fsyncs | maintain s | generate s |"
        )?;
        writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {:.2} | {:.2} |\n",
            thousands(a.samples as f64),
            a.rejected,
            thousands(a.commits as f64),
            a.samples_per_commit,
            a.wall_seconds,
            a.cpu_seconds,
            thousands(a.samples_per_second_wall),
            thousands(a.samples_per_second_per_core),
            a.wal_syncs,
            a.maintain_seconds,
            a.generate_seconds
        )?;

        writeln!(out, "## b. Head memory\n")?;
        writeln!(
            out,
            "| hours | series | samples | memory_bytes() | B/series | B/sample | RSS before | RSS after | RSS Δ/series |"
        )?;
        writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        writeln!(
            out,
            "| {:.1} | {} | {} | {} | {:.0} | {:.2} | {} | {} | {:.0} |\n",
            m.hours_loaded,
            thousands(m.active_series as f64),
            thousands(m.head_samples as f64),
            mib(m.head_memory_bytes),
            m.head_bytes_per_series,
            m.head_bytes_per_sample,
            mib(m.rss_before_bytes),
            mib(m.rss_after_bytes),
            m.rss_delta_per_series
        )?;

        writeln!(out, "Head memory per series by part:\n")?;
        writeln!(out, "| part | B/series |")?;
        writeln!(out, "|---|---:|")?;
        for (part, bytes) in &m.breakdown_per_series {
            writeln!(out, "| {part} | {bytes:.0} |")?;
        }
        writeln!(out)?;

        writeln!(out, "## c. Disk after compaction\n")?;
        writeln!(
            out,
            "{} maintain calls ({:.2} s) until idle. Blocks hold {} samples; the head still holds {} samples ({:.1} h), WAL {}.\n",
            disk.maintain_calls,
            disk.maintain_seconds,
            thousands(disk.block_samples as f64),
            thousands(disk.head_samples as f64),
            disk.head_hours,
            mib(disk.wal_bytes)
        )?;
        writeln!(
            out,
            "| block | hours | level | series | samples | chunks | chunks file | index | all files | chunk B/sample | all B/sample |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for b in &disk.blocks {
            let per = |bytes: u64| bytes as f64 / b.samples.max(1) as f64;
            writeln!(
                out,
                "| {} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {:.3} |",
                b.ulid,
                (b.max_time - b.min_time) as f64 / 3_600_000.0,
                b.level,
                thousands(b.series as f64),
                thousands(b.samples as f64),
                thousands(b.chunks as f64),
                mib(b.chunk_file_bytes),
                mib(b.index_bytes),
                mib(b.total_bytes),
                per(b.chunk_file_bytes),
                per(b.total_bytes)
            )?;
        }
        writeln!(
            out,
            "| **all blocks** | | | | {} | | {} | {} | {} | **{:.3}** | **{:.3}** |\n",
            thousands(disk.block_samples as f64),
            mib(disk.chunk_file_bytes),
            mib(disk.index_bytes),
            mib(disk.all_block_bytes),
            disk.chunk_bytes_per_sample,
            disk.all_bytes_per_sample
        )?;
        writeln!(
            out,
            "Chunk data by kind (without the chunks file's per-chunk framing):\n"
        )?;
        writeln!(
            out,
            "| kind | samples | chunk bytes | B/sample | share of bytes | B/sample on an exact 15 s grid |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|")?;
        for k in &disk.by_kind {
            writeln!(
                out,
                "| {} | {} | {} | {:.3} | {:.1} % | {:.3} |",
                k.kind.name(),
                thousands(k.samples as f64),
                mib(k.chunk_bytes),
                k.bytes_per_sample,
                k.share_of_chunk_bytes * 100.0,
                k.bytes_per_sample_without_jitter
            )?;
        }
        writeln!(out)?;

        writeln!(out, "## d. Select + decode (whole range)\n")?;
        writeln!(
            out,
            "| selector | series (expected) | samples (expected) | select s | iterate s | samples/s |"
        )?;
        writeln!(out, "|---|---:|---:|---:|---:|---:|")?;
        for q in &self.queries {
            writeln!(
                out,
                "| `{}` | {} ({}) | {} ({}) | {:.3} | {:.3} | {} |",
                q.selector,
                thousands(q.series as f64),
                thousands(q.expected_series as f64),
                thousands(q.samples as f64),
                thousands(q.expected_samples as f64),
                q.select_seconds,
                q.iterate_seconds,
                thousands(q.samples_per_second)
            )?;
        }
        writeln!(out)?;

        writeln!(out, "## e. DEFLATE on block chunks files\n")?;
        if let Some(first) = self.deflate.first() {
            writeln!(
                out,
                "Input: {} of the blocks' {} of chunks files (a prefix of each file when capped); B/sample is \
                 relative to the samples in that input.\n",
                mib(first.input_bytes),
                mib(disk.chunk_file_bytes)
            )?;
        }
        writeln!(
            out,
            "| level | mode | pieces | in | out | ratio | B/sample | compress MB/s | decompress MB/s | decompress samples/s |"
        )?;
        writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
        for f in &self.deflate {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {:.3} | {:.3} | {:.0} | {:.0} | {} |",
                f.level,
                f.mode,
                thousands(f.pieces as f64),
                mib(f.input_bytes),
                mib(f.output_bytes),
                f.ratio,
                f.bytes_per_sample,
                f.compress_mb_per_second,
                f.decompress_mb_per_second,
                thousands(f.decompress_samples_per_second)
            )?;
        }
        if let Some(codec) = &self.codec {
            write_codec(out, codec)?;
        }
        writeln!(
            out,
            "\nTotal run time {:.1} s. Interval {} ms.",
            self.total_seconds, INTERVAL_MS
        )?;
        Ok(())
    }
}

/// Section f.
fn write_codec(out: &mut String, codec: &CodecFigures) -> std::fmt::Result {
    writeln!(out, "\n## f. Block encodings against XOR only\n")?;
    writeln!(
        out,
        "Blocks store each chunk as the smallest of XOR, decimal (values `m / 10^e` as delta-of-delta \
         integers when the whole chunk allows it) and packed (bit-packed deltas with patched exceptions). Every \
         block chunk re-encoded as XOR and both forms checked bit for bit. Chunk data only; decode = best of {} \
         passes into a reused vector.\n",
        crate::codec::DECODE_ROUNDS
    )?;
    writeln!(
        out,
        "| kind | chunks | samples | XOR-only B/sample | stored B/sample | saved | decimal chunks | \
         packed chunks | XOR decode samples/s | stored decode samples/s |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for f in codec.by_kind.iter().chain(std::iter::once(&codec.total)) {
        let name = f.kind.map_or("**all**", Kind::name);
        writeln!(
            out,
            "| {} | {} | {} | {:.3} | {:.3} | {:.0} % | {:.1} % | {:.1} % | {} | {} |",
            name,
            thousands(f.chunks as f64),
            thousands(f.samples as f64),
            f.xor_bytes_per_sample,
            f.stored_bytes_per_sample,
            (1.0 - f.stored_bytes as f64 / f.xor_bytes.max(1) as f64) * 100.0,
            f.decimal_share * 100.0,
            f.packed_share * 100.0,
            thousands(f.xor_decode_samples_per_second),
            thousands(f.stored_decode_samples_per_second)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234.0), "1,234");
        assert_eq!(thousands(-1_234_567.0), "-1,234,567");
    }
}
