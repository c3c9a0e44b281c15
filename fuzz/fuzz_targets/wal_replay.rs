//! Fuzzes WAL replay: arbitrary bytes as the only segment must open without panicking, keep
//! whatever intact records precede the damage, and leave a WAL that accepts appends.
//!
//! Run with `cargo +nightly fuzz run wal_replay` from `fuzz/`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tsdb::wal::{SampleRecord, Wal, WalOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let wal_dir = dir.path().join("wal");
    if std::fs::create_dir_all(&wal_dir).is_err() || std::fs::write(wal_dir.join("00000001"), data).is_err() {
        return;
    }
    let mut records = 0u64;
    let Ok((mut wal, stats)) = Wal::open(&wal_dir, WalOptions::default(), |_| {
        records += 1;
        Ok(())
    }) else {
        return;
    };
    assert_eq!(stats.records, records);
    assert!(stats.truncated_bytes <= data.len() as u64);
    wal.log_samples(&[SampleRecord {
        series_ref: 1,
        t: 1,
        v: 1.0,
    }])
    .expect("append after repair");
    drop(wal);
    let mut again = 0u64;
    Wal::open(&wal_dir, WalOptions::default(), |_| {
        again += 1;
        Ok(())
    })
    .expect("reopen after repair");
    assert_eq!(again, records + 1, "repair kept the intact records and the new one");
});
