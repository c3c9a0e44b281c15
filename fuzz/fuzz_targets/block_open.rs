//! Fuzzes the block reader: arbitrary bytes as a block's `index` (beside a valid `meta.json` and
//! an empty chunk file) must open or fail cleanly, and every lookup on an opened block must
//! return or fail without panicking.
//!
//! Run with `cargo +nightly fuzz run block_open` from `fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tsdb::Labels;
use tsdb::block::{Block, BlockWriter};

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    // Build a valid empty block, then replace its index with the input.
    let Ok(writer) = BlockWriter::create(dir.path(), 0, 1000, 1, Vec::new()) else {
        return;
    };
    let Ok((_, path)) = writer.finish() else { return };
    if std::fs::write(path.join("index"), data).is_err() {
        return;
    }
    let Ok(block) = Block::open(&path) else { return };
    for name in block.label_names() {
        for value in block.label_values(&name) {
            let _ = block.postings(&name, &value);
        }
    }
    if let Ok(all) = block.all_postings() {
        for id in all.into_iter().take(10_000) {
            if let Ok((labels, chunks)) = block.series(id) {
                let _: &Labels = &labels;
                for meta in chunks {
                    let _ = block.chunk(&meta);
                }
            }
        }
    }
});
