//! WAL records: their in-memory form, payload encoding, and the length+CRC frame around each payload.
//!
//! Layouts are specified in `tsdb/docs/wal.md`. Encoders split long slices into records of about
//! [`TARGET_RECORD_SIZE`] bytes; decoders validate everything and never allocate more than the payload
//! justifies.

use crate::encoding::{self, put_uvarint, put_varint};
use crate::labels::Labels;

/// Bytes of the frame header: `u32 LE length | u32 LE crc32c`.
pub const HEADER_SIZE: usize = 8;
/// Largest payload a frame may carry; a larger length in a file counts as corruption.
pub const MAX_RECORD_SIZE: usize = 64 << 20;
/// Encoders stop adding entries to a record once its payload reaches this size.
pub const TARGET_RECORD_SIZE: usize = 1 << 20;

const TYPE_SERIES: u8 = 1;
const TYPE_SAMPLES: u8 = 2;
const TYPE_TOMBSTONES: u8 = 3;
/// Smallest encoded sample: one-byte ref delta, one-byte time delta, eight value bytes.
const MIN_SAMPLE_SIZE: usize = 10;
/// Smallest encoded series: one-byte ref, one-byte length, empty labels.
const MIN_SERIES_SIZE: usize = 2;

/// One WAL record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// New series: their refs and label sets.
    Series(Vec<SeriesRecord>),
    /// Float samples of series announced earlier.
    Samples(Vec<SampleRecord>),
    /// Deleted time ranges of series announced earlier.
    Tombstones(Vec<TombstoneRecord>),
}

/// A deleted range of a head series: samples with `mint <= t <= maxt` are hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TombstoneRecord {
    /// The head's reference of the series.
    pub series_ref: u64,
    /// First deleted timestamp.
    pub mint: i64,
    /// Last deleted timestamp (inclusive, at least `mint`).
    pub maxt: i64,
}

/// A series announced in the WAL: later samples refer to it by `series_ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRecord {
    /// The head's reference of the series.
    pub series_ref: u64,
    /// The series' labels.
    pub labels: Labels,
}

/// One float sample of a series.
#[derive(Debug, Clone, Copy)]
pub struct SampleRecord {
    /// The head's reference of the series.
    pub series_ref: u64,
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value, stored bit-exact (NaN payloads and the stale marker survive).
    pub v: f64,
}

impl PartialEq for SampleRecord {
    /// Compares values by bits, so a NaN equals the same NaN.
    fn eq(&self, other: &Self) -> bool {
        self.series_ref == other.series_ref && self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

fn get_uvarint(data: &[u8], pos: &mut usize) -> Result<u64, &'static str> {
    encoding::get_uvarint(data, pos).ok_or("truncated or overlong varint")
}

fn get_varint(data: &[u8], pos: &mut usize) -> Result<i64, &'static str> {
    encoding::get_varint(data, pos).ok_or("truncated or overlong varint")
}

/// Reserves a frame header at the end of `out` and returns where the frame starts.
pub fn begin_frame(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_SIZE]);
    start
}

/// Fills in the header of the frame begun at `start` (its payload is everything after the header).
/// Fails, removing the frame, when the payload is larger than [`MAX_RECORD_SIZE`].
pub fn finish_frame(out: &mut Vec<u8>, start: usize) -> Result<(), usize> {
    let payload_len = out.len() - start - HEADER_SIZE;
    if payload_len > MAX_RECORD_SIZE {
        out.truncate(start);
        return Err(payload_len);
    }
    let crc = crc32c::crc32c(&out[start + HEADER_SIZE..]);
    out[start..start + 4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    out[start + 4..start + HEADER_SIZE].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Splits a frame header into `(payload length, crc)`.
pub fn parse_header(header: &[u8; HEADER_SIZE]) -> (u32, u32) {
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    (len, crc)
}

/// Appends a series payload for a prefix of `series` (at least one entry when non-empty) and returns how
/// many entries it holds.
pub fn encode_series(out: &mut Vec<u8>, series: &[SeriesRecord]) -> usize {
    let start = out.len();
    out.push(TYPE_SERIES);
    let mut count = 0;
    for s in series {
        if count > 0 && out.len() - start >= TARGET_RECORD_SIZE {
            break;
        }
        let labels = s.labels.as_bytes();
        put_uvarint(out, s.series_ref);
        put_uvarint(out, labels.len() as u64);
        out.extend_from_slice(labels);
        count += 1;
    }
    count
}

/// Appends a samples payload for a prefix of `samples` (at least one entry; `samples` must not be empty)
/// and returns how many entries it holds.
pub fn encode_samples(out: &mut Vec<u8>, samples: &[SampleRecord]) -> usize {
    let Some(first) = samples.first() else {
        return 0;
    };
    let start = out.len();
    out.push(TYPE_SAMPLES);
    put_uvarint(out, first.series_ref);
    put_varint(out, first.t);
    let mut count = 0;
    for s in samples {
        if count > 0 && out.len() - start >= TARGET_RECORD_SIZE {
            break;
        }
        put_varint(out, s.series_ref.wrapping_sub(first.series_ref) as i64);
        put_varint(out, s.t.wrapping_sub(first.t));
        out.extend_from_slice(&s.v.to_bits().to_le_bytes());
        count += 1;
    }
    count
}

/// Appends a tombstones payload for a prefix of `tombstones` (at least one entry when non-empty)
/// and returns how many entries it holds. Entries with `maxt < mint` are written as `mint..=mint`.
pub fn encode_tombstones(out: &mut Vec<u8>, tombstones: &[TombstoneRecord]) -> usize {
    let start = out.len();
    out.push(TYPE_TOMBSTONES);
    let mut count = 0;
    for t in tombstones {
        if count > 0 && out.len() - start >= TARGET_RECORD_SIZE {
            break;
        }
        put_uvarint(out, t.series_ref);
        put_varint(out, t.mint);
        put_uvarint(out, t.maxt.max(t.mint).abs_diff(t.mint));
        count += 1;
    }
    count
}

/// Appends the payload(s) of `record`: more than one when it is larger than [`TARGET_RECORD_SIZE`].
/// Test helper for building raw segments.
#[cfg(test)]
pub fn encode_framed(out: &mut Vec<u8>, record: &Record) {
    match record {
        Record::Series(series) => {
            let mut rest = &series[..];
            while !rest.is_empty() {
                let start = begin_frame(out);
                rest = &rest[encode_series(out, rest)..];
                assert!(finish_frame(out, start).is_ok());
            }
        }
        Record::Samples(samples) => {
            let mut rest = &samples[..];
            while !rest.is_empty() {
                let start = begin_frame(out);
                rest = &rest[encode_samples(out, rest)..];
                assert!(finish_frame(out, start).is_ok());
            }
        }
        Record::Tombstones(tombstones) => {
            let mut rest = &tombstones[..];
            while !rest.is_empty() {
                let start = begin_frame(out);
                rest = &rest[encode_tombstones(out, rest)..];
                assert!(finish_frame(out, start).is_ok());
            }
        }
    }
}

/// Decodes one payload (the frame's CRC already checked). Errors describe the first problem found.
pub fn decode(payload: &[u8]) -> Result<Record, &'static str> {
    match payload.first() {
        Some(&TYPE_SERIES) => decode_series(payload).map(Record::Series),
        Some(&TYPE_SAMPLES) => decode_samples(payload).map(Record::Samples),
        Some(&TYPE_TOMBSTONES) => decode_tombstones(payload).map(Record::Tombstones),
        Some(_) => Err("unknown record type"),
        None => Err("empty record"),
    }
}

fn decode_series(payload: &[u8]) -> Result<Vec<SeriesRecord>, &'static str> {
    let mut pos = 1;
    let mut series = Vec::with_capacity((payload.len() - 1) / MIN_SERIES_SIZE);
    while pos < payload.len() {
        let series_ref = get_uvarint(payload, &mut pos)?;
        let len = usize::try_from(get_uvarint(payload, &mut pos)?).map_err(|_| "labels length too large")?;
        let end = pos.checked_add(len).ok_or("labels length too large")?;
        let bytes = payload.get(pos..end).ok_or("labels extend past the record")?;
        let labels = Labels::from_bytes(bytes).ok_or("invalid labels")?;
        pos = end;
        series.push(SeriesRecord { series_ref, labels });
    }
    Ok(series)
}

fn decode_tombstones(payload: &[u8]) -> Result<Vec<TombstoneRecord>, &'static str> {
    let mut pos = 1;
    if pos >= payload.len() {
        return Err("tombstones record without tombstones");
    }
    // Each entry takes at least three bytes.
    let mut out = Vec::with_capacity((payload.len() - 1) / 3);
    while pos < payload.len() {
        let series_ref = get_uvarint(payload, &mut pos)?;
        let mint = get_varint(payload, &mut pos)?;
        let len = get_uvarint(payload, &mut pos)?;
        let maxt = mint
            .checked_add_unsigned(len)
            .ok_or("tombstone range past the end of time")?;
        out.push(TombstoneRecord { series_ref, mint, maxt });
    }
    Ok(out)
}

fn decode_samples(payload: &[u8]) -> Result<Vec<SampleRecord>, &'static str> {
    let mut pos = 1;
    let base_ref = get_uvarint(payload, &mut pos)?;
    let base_t = get_varint(payload, &mut pos)?;
    if pos >= payload.len() {
        return Err("samples record without samples");
    }
    let mut samples = Vec::with_capacity((payload.len() - pos) / MIN_SAMPLE_SIZE);
    while pos < payload.len() {
        let series_ref = base_ref.wrapping_add(get_varint(payload, &mut pos)? as u64);
        let t = base_t.wrapping_add(get_varint(payload, &mut pos)?);
        let end = pos + 8;
        let bits = payload.get(pos..end).ok_or("sample value extends past the record")?;
        let mut value = [0u8; 8];
        value.copy_from_slice(bits);
        pos = end;
        samples.push(SampleRecord {
            series_ref,
            t,
            v: f64::from_bits(u64::from_le_bytes(value)),
        });
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::stale_nan;
    use proptest::prelude::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied()).unwrap_or_default()
    }

    fn payload_of(framed: &[u8]) -> &[u8] {
        &framed[HEADER_SIZE..]
    }

    #[test]
    fn samples_layout_is_compact_and_exact() {
        let samples = [
            SampleRecord {
                series_ref: 5,
                t: 1000,
                v: 1.5,
            },
            SampleRecord {
                series_ref: 4,
                t: 1001,
                v: 2.0,
            },
        ];
        let mut out = Vec::new();
        assert_eq!(encode_samples(&mut out, &samples), 2);
        let mut expected = vec![TYPE_SAMPLES, 5, 0xd0, 0x0f]; // ref 5, zigzag(1000) = 2000
        expected.extend_from_slice(&[0, 0]);
        expected.extend_from_slice(&1.5f64.to_bits().to_le_bytes());
        expected.extend_from_slice(&[1, 2]); // zigzag(-1) = 1, zigzag(1) = 2
        expected.extend_from_slice(&2.0f64.to_bits().to_le_bytes());
        assert_eq!(out, expected);
        assert_eq!(decode(&out), Ok(Record::Samples(samples.to_vec())));
    }

    #[test]
    fn series_layout() {
        let l = labels(&[("a", "b")]);
        let mut out = Vec::new();
        assert_eq!(
            encode_series(
                &mut out,
                &[SeriesRecord {
                    series_ref: 300,
                    labels: l.clone()
                }]
            ),
            1
        );
        let mut expected = vec![TYPE_SERIES, 0xac, 0x02, l.as_bytes().len() as u8];
        expected.extend_from_slice(l.as_bytes());
        assert_eq!(out, expected);
    }

    #[test]
    fn frame_header_holds_length_and_crc() {
        let mut out = vec![0xee];
        let start = begin_frame(&mut out);
        encode_samples(
            &mut out,
            &[SampleRecord {
                series_ref: 1,
                t: 2,
                v: 3.0,
            }],
        );
        assert_eq!(finish_frame(&mut out, start), Ok(()));
        let header: [u8; HEADER_SIZE] = out[1..9].try_into().unwrap_or_default();
        let (len, crc) = parse_header(&header);
        assert_eq!(len as usize, out.len() - 9);
        assert_eq!(crc, crc32c::crc32c(&out[9..]));
    }

    #[test]
    fn oversized_frame_is_refused_and_removed() {
        let mut out = vec![7];
        let start = begin_frame(&mut out);
        out.resize(out.len() + MAX_RECORD_SIZE + 1, 0);
        assert_eq!(finish_frame(&mut out, start), Err(MAX_RECORD_SIZE + 1));
        assert_eq!(out, vec![7]);
    }

    #[test]
    fn tombstones_round_trip_over_any_range() {
        let tombstones = vec![
            TombstoneRecord {
                series_ref: 7,
                mint: -5,
                maxt: 10,
            },
            TombstoneRecord {
                series_ref: u64::MAX,
                mint: i64::MIN,
                maxt: i64::MAX,
            },
        ];
        let mut out = Vec::new();
        assert_eq!(encode_tombstones(&mut out, &tombstones), 2);
        assert_eq!(out[..4], [TYPE_TOMBSTONES, 7, 9, 15]); // ref 7, zigzag(-5) = 9, length 15
        assert_eq!(decode(&out), Ok(Record::Tombstones(tombstones)));
        assert!(decode(&[TYPE_TOMBSTONES]).is_err());
        assert!(decode(&[TYPE_TOMBSTONES, 1, 2]).is_err());
        // A range past the end of time is corruption, not a wrap-around.
        let mut past = vec![TYPE_TOMBSTONES, 1];
        crate::encoding::put_varint(&mut past, i64::MAX);
        crate::encoding::put_uvarint(&mut past, 1);
        assert!(decode(&past).is_err());
    }

    #[test]
    fn nan_payloads_and_stale_markers_are_bit_exact() {
        let odd_nan = f64::from_bits(0x7ff8_dead_beef_0001);
        let neg_nan = f64::from_bits(0xfff0_0000_0000_0001);
        let samples: Vec<SampleRecord> = [stale_nan(), f64::NAN, odd_nan, neg_nan, -0.0, f64::INFINITY]
            .iter()
            .enumerate()
            .map(|(i, &v)| SampleRecord {
                series_ref: i as u64,
                t: i as i64,
                v,
            })
            .collect();
        let mut out = Vec::new();
        encode_framed(&mut out, &Record::Samples(samples.clone()));
        let Ok(Record::Samples(decoded)) = decode(payload_of(&out)) else {
            panic!("decode failed")
        };
        let bits: Vec<u64> = decoded.iter().map(|s| s.v.to_bits()).collect();
        assert_eq!(bits, samples.iter().map(|s| s.v.to_bits()).collect::<Vec<_>>());
    }

    #[test]
    fn extreme_refs_and_timestamps_round_trip() {
        let samples = vec![
            SampleRecord {
                series_ref: u64::MAX,
                t: i64::MIN,
                v: 0.0,
            },
            SampleRecord {
                series_ref: 0,
                t: i64::MAX,
                v: 1.0,
            },
            SampleRecord {
                series_ref: 1 << 63,
                t: 0,
                v: 2.0,
            },
        ];
        let mut out = Vec::new();
        encode_samples(&mut out, &samples);
        assert_eq!(decode(&out), Ok(Record::Samples(samples)));
    }

    #[test]
    fn large_batches_split_into_bounded_records() {
        let samples: Vec<SampleRecord> = (0..200_000)
            .map(|i| SampleRecord {
                series_ref: i * 1000,
                t: i as i64 * 15_000,
                v: i as f64,
            })
            .collect();
        let mut out = Vec::new();
        encode_framed(&mut out, &Record::Samples(samples.clone()));
        let mut decoded = Vec::new();
        let mut pos = 0;
        let mut records = 0;
        while pos < out.len() {
            let header: [u8; HEADER_SIZE] = out[pos..pos + HEADER_SIZE].try_into().unwrap_or_default();
            let len = parse_header(&header).0 as usize;
            assert!(len <= TARGET_RECORD_SIZE + 64);
            let Ok(Record::Samples(s)) = decode(&out[pos + HEADER_SIZE..pos + HEADER_SIZE + len]) else {
                panic!("bad record at {pos}")
            };
            decoded.extend(s);
            pos += HEADER_SIZE + len;
            records += 1;
        }
        assert!(records > 1);
        assert_eq!(decoded, samples);
    }

    #[test]
    fn malformed_payloads_are_errors() {
        assert_eq!(decode(&[]), Err("empty record"));
        assert_eq!(decode(&[9]), Err("unknown record type"));
        assert_eq!(decode(&[TYPE_SAMPLES, 1, 2]), Err("samples record without samples"));
        assert_eq!(
            decode(&[TYPE_SAMPLES, 1, 2, 0, 0, 1]),
            Err("sample value extends past the record")
        );
        assert_eq!(decode(&[TYPE_SERIES, 1, 5, 1]), Err("labels extend past the record"));
        assert_eq!(decode(&[TYPE_SERIES, 1, 2, 0, 0]), Err("invalid labels"));
        assert_eq!(
            decode(&[TYPE_SERIES, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]).err(),
            Some("truncated or overlong varint")
        );
        assert_eq!(decode(&[TYPE_SERIES]), Ok(Record::Series(Vec::new())));
    }

    fn arb_labels() -> impl Strategy<Value = Labels> {
        proptest::collection::btree_map("[a-z_]{1,8}", "[ -~]{1,12}", 0..5)
            .prop_map(|m| Labels::new(m.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap_or_default())
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        prop_oneof![
            proptest::collection::vec(
                (any::<u64>(), arb_labels()).prop_map(|(series_ref, labels)| SeriesRecord { series_ref, labels }),
                1..20
            )
            .prop_map(Record::Series),
            proptest::collection::vec(
                (any::<u64>(), any::<i64>(), any::<u64>()).prop_map(|(series_ref, t, bits)| SampleRecord {
                    series_ref,
                    t,
                    v: f64::from_bits(bits)
                }),
                1..50
            )
            .prop_map(Record::Samples),
        ]
    }

    proptest! {
        #[test]
        fn records_round_trip(record in arb_record()) {
            let mut out = Vec::new();
            encode_framed(&mut out, &record);
            prop_assert_eq!(decode(payload_of(&out)), Ok(record));
        }

        #[test]
        fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn decoding_mutated_records_never_panics(record in arb_record(), index in any::<usize>(), byte in any::<u8>()) {
            let mut out = Vec::new();
            encode_framed(&mut out, &record);
            let payload = &mut out[HEADER_SIZE..];
            let i = index % payload.len();
            payload[i] = byte;
            let _ = decode(payload);
        }
    }
}
