//! Append and decode throughput of 120-sample XOR chunks, for a counter and a random-walk gauge.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tsdb::chunk::{XorAppender, XorIter, decode};

/// Samples per chunk, as the head cuts them.
const SAMPLES: usize = 120;
/// Scrape interval in milliseconds.
const INTERVAL: i64 = 15_000;

/// A deterministic pseudo-random generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Scrape jitter of a few milliseconds around zero.
    fn jitter(&mut self) -> i64 {
        (self.next() % 5) as i64 - 2
    }
}

/// A request counter: integral increments, scraped with a little jitter.
fn counter() -> Vec<(i64, f64)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut t, mut v) = (1_700_000_000_000i64, 0.0f64);
    (0..SAMPLES)
        .map(|_| {
            t += INTERVAL + rng.jitter();
            v += (rng.next() % 50) as f64;
            (t, v)
        })
        .collect()
}

/// A gauge that moves by a random fraction each scrape (memory in bytes, temperature…).
fn gauge() -> Vec<(i64, f64)> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut t, mut v) = (1_700_000_000_000i64, 500.0f64);
    (0..SAMPLES)
        .map(|_| {
            t += INTERVAL + rng.jitter();
            v += ((rng.next() >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 10.0;
            (t, v)
        })
        .collect()
}

fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
    let mut app = XorAppender::new();
    for &(t, v) in samples {
        app.append(t, v);
    }
    app.into_bytes()
}

fn bench_chunks(c: &mut Criterion) {
    for (name, samples) in [("counter", counter()), ("gauge", gauge())] {
        let chunk = encode(&samples);
        let mut group = c.benchmark_group(format!("chunk/{name}"));
        group.throughput(Throughput::Elements(SAMPLES as u64));
        group.bench_function("append", |b| {
            b.iter(|| {
                let mut app = XorAppender::new();
                for &(t, v) in black_box(&samples[..]) {
                    app.append(t, v);
                }
                black_box(app.bytes().len())
            })
        });
        group.bench_function("iterate", |b| {
            b.iter(|| {
                let mut sum = 0.0;
                let mut last = 0;
                for (t, v) in XorIter::new(black_box(&chunk[..])) {
                    sum += v;
                    last = t;
                }
                black_box((sum, last))
            })
        });
        group.bench_function("decode_vec", |b| b.iter(|| black_box(decode(black_box(&chunk[..])))));
        group.finish();
    }
}

criterion_group!(benches, bench_chunks);
criterion_main!(benches);
