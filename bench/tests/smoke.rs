//! Runs every benchmark phase in-process on a tiny dataset and checks the figures make sense.

use loupe_bench::Config;
use loupe_bench::dataset::{DatasetConfig, Kind};

#[test]
fn every_phase_reports_sane_figures() {
    let config = Config {
        dataset: DatasetConfig {
            series: 50,
            hours: 4,
            // Unaligned timestamps, so the "without jitter" figure has something to remove.
            jitter_ms: 2,
            ..DatasetConfig::default()
        },
        deflate_levels: vec![1, 6],
        ..Config::default()
    };
    let report = loupe_bench::run(&config, |_| {}).expect("benchmark runs");
    let generated = 50 * 4 * 240;
    assert_eq!(report.dataset.samples, generated);
    assert_eq!(report.dataset.targets, 1);

    // a. Every generated sample was accepted, one commit per target and round.
    let a = &report.append;
    assert_eq!(a.samples, generated);
    assert_eq!(a.generated, generated);
    assert_eq!(a.rejected, 0);
    assert_eq!(a.commits, 4 * 240);
    assert!(a.samples_per_second_wall > 0.0);

    // b. Measured after 3 h, before any block was cut.
    let m = &report.memory;
    assert_eq!(m.hours_loaded, 3.0);
    assert_eq!(m.active_series, 50);
    assert_eq!(m.head_samples, 50 * 3 * 240);
    assert!(m.head_bytes_per_series > 0.0 && m.head_bytes_per_series < 100_000.0);

    // c. The 4 h span leaves the first 2 h block; block + head hold every sample.
    let disk = &report.disk;
    assert_eq!(disk.blocks.len(), 1);
    assert_eq!(disk.block_samples, 50 * 2 * 240);
    assert_eq!(disk.block_samples + disk.head_samples, generated);
    assert!(disk.chunk_bytes_per_sample > 0.0 && disk.chunk_bytes_per_sample < 16.0);
    assert!(disk.all_bytes_per_sample > disk.chunk_bytes_per_sample && disk.all_bytes_per_sample < 16.0);
    let kinds: Vec<Kind> = disk.by_kind.iter().map(|k| k.kind).collect();
    assert_eq!(kinds, Kind::ALL);
    assert_eq!(disk.by_kind.iter().map(|k| k.samples).sum::<u64>(), disk.block_samples);
    let counter = &disk.by_kind[0];
    assert!(counter.bytes_per_sample > 0.0 && counter.bytes_per_sample < 16.0);
    assert!(counter.bytes_per_sample_without_jitter < counter.bytes_per_sample);

    // d. Every selector returns all samples of the series it selects.
    assert_eq!(report.queries.len(), 4);
    for q in &report.queries {
        assert!(q.expected_series > 0, "{}", q.selector);
        assert_eq!(q.series, q.expected_series, "{}", q.selector);
        assert_eq!(q.samples, q.expected_samples, "{}", q.selector);
    }
    assert_eq!(report.queries[3].samples, generated);

    // e. Two levels × two modes, each restoring the chunk files byte for byte (checked inside).
    assert_eq!(report.deflate.len(), 4);
    for f in &report.deflate {
        // Whole files include the 8-byte header, groups only the chunks.
        let expected = if f.mode == "whole file" {
            disk.chunk_file_bytes
        } else {
            disk.chunk_file_bytes - 8
        };
        assert_eq!(f.input_bytes, expected, "{f:?}");
        assert!(f.ratio > 0.0 && f.ratio < 1.5, "{f:?}");
    }

    // f. Every block chunk re-encoded as XOR (and checked bit for bit inside).
    let codec = report.codec.as_ref().expect("phase f runs by default");
    assert_eq!(codec.total.samples, disk.block_samples);
    assert_eq!(codec.total.chunks, disk.blocks.iter().map(|b| b.chunks).sum::<u64>());
    let kinds: Vec<Kind> = codec.by_kind.iter().filter_map(|k| k.kind).collect();
    assert_eq!(kinds, Kind::ALL);
    for (c, d) in codec.by_kind.iter().zip(&disk.by_kind) {
        assert_eq!((c.samples, c.stored_bytes), (d.samples, d.chunk_bytes), "{:?}", c.kind);
    }
    assert!(codec.total.stored_bytes_per_sample < codec.total.xor_bytes_per_sample);
    assert!(codec.total.packed_chunks > 0, "counters and buckets are stored packed");

    let markdown = report.to_markdown();
    assert!(markdown.contains("## c. Disk after compaction"));
    assert!(markdown.contains("## f. Block encodings against XOR only"));
    assert!(markdown.contains("±2 ms"));
    let json = serde_json::to_value(&report).expect("serialisable");
    assert_eq!(json["append"]["samples"], generated);
}
