//! Kill -9 durability: every sample the import API acknowledged survives SIGKILL at random
//! moments, and the store always reopens cleanly.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use tsdb::db::{Db, DbOptions};
use tsdb::{MatchType, Matcher};

const SERIES: usize = 40;
const CYCLES: usize = 24;

/// (series index, timestamp) → value of every acknowledged sample.
type Acked = BTreeMap<(usize, i64), f64>;

/// One acknowledged sample: (series index, timestamp) and value.
type AckedSample = ((usize, i64), f64);

fn batch_body(first_t: i64, points: i64, seed: u64) -> (String, Vec<AckedSample>) {
    let mut body = String::new();
    let mut samples = Vec::new();
    for series in 0..SERIES {
        for k in 0..points {
            let t = first_t + k * 1000;
            let value = ((seed as i64 * 31 + series as i64 * 7 + k) % 1000) as f64 + 0.25;
            body.push_str(&format!(
                "crash_test{{series=\"{series}\",job=\"crash\"}} {value} {t}\n"
            ));
            samples.push(((series, t), value));
        }
    }
    // A brand-new series in every batch: series records, their garbage collection after a cut and
    // the checkpoint's series filter all get exercised between kills.
    let fresh = SERIES + seed as usize;
    body.push_str(&format!(
        "crash_test{{series=\"{fresh}\",job=\"crash\"}} 1.5 {first_t}\n"
    ));
    samples.push(((fresh, first_t), 1.5));
    (body, samples)
}

#[test]
fn acknowledged_samples_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("loupe.yml");
    // One-minute blocks and frequent maintenance, so kills also land during block cuts,
    // compactions and WAL checkpoints.
    std::fs::write(
        &config,
        "storage:\n  tsdb:\n    block_duration: 1m\n    wal_segment_size: 64KiB\n",
    )
    .expect("config");
    let data = dir.path().join("data");
    let config_arg = config.to_str().expect("utf-8 path");
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x10_u64);
    let mut acked = Acked::new();
    let mut next_t: i64 = 1_700_000_000_000;
    let mut seed = 0u64;
    for cycle in 0..CYCLES {
        let server = common::Server::start(&data, &["--config", config_arg, "--maintenance-interval", "100ms"]);
        let acked_now = Arc::new(Mutex::new(Vec::new()));
        let url = format!("{}/api/v1/import/prometheus", server.base);
        let writer_acked = acked_now.clone();
        let start_t = next_t;
        let first_seed = seed;
        let writer = std::thread::spawn(move || {
            let client = common::client();
            let mut t = start_t;
            let mut seed = first_seed;
            loop {
                let (body, samples) = batch_body(t, 5, seed);
                t += 5 * 1000;
                seed += 1;
                match client.post(&url).body(body).send() {
                    Ok(response) if response.status().as_u16() == 204 => {
                        writer_acked.lock().expect("lock").extend(samples);
                    }
                    Ok(response) => panic!("import failed: {} {:?}", response.status(), response.text()),
                    Err(_) => return (t, seed),
                }
            }
        });
        std::thread::sleep(Duration::from_millis(rng.random_range(80..500)));
        server.kill();
        let (t, s) = writer.join().expect("writer thread");
        next_t = t;
        seed = s;
        acked.extend(acked_now.lock().expect("lock").drain(..));

        let db = Db::open(
            &data,
            DbOptions {
                block_range: 60_000,
                ..DbOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("cycle {cycle}: store did not reopen: {e}"));
        let stored = read_all(&db);
        let missing: Vec<_> = acked
            .iter()
            .filter(|(k, v)| stored.get(k).map(|s| s.to_bits()) != Some(v.to_bits()))
            .take(5)
            .collect();
        assert!(
            missing.is_empty(),
            "cycle {cycle}: acknowledged samples lost or changed: {missing:?} (acked {}, stored {})",
            acked.len(),
            stored.len()
        );
        drop(db);
    }
    assert!(
        acked.len() > 10_000,
        "the test wrote too little to mean anything: {}",
        acked.len()
    );
}

fn read_all(db: &Db) -> Acked {
    let matcher = Matcher::new(MatchType::Equal, "__name__", "crash_test").expect("matcher");
    let mut out = Acked::new();
    for series in db.querier(i64::MIN, i64::MAX).select(&[matcher]).expect("select") {
        let index: usize = series
            .labels()
            .get("series")
            .and_then(|s| s.parse().ok())
            .expect("series label");
        for sample in series.iter() {
            out.insert((index, sample.t), sample.v);
        }
    }
    out
}
