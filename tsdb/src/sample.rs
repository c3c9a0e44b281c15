//! Samples and the special float values that must survive storage bit-exact.

/// Bit pattern of Prometheus's staleness marker, a NaN distinct from the ordinary one.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker value: written when a series disappears, it ends the series for queries.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// True when `value` is the staleness marker (compared by bits: other NaNs are ordinary values).
pub fn is_stale_nan(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

/// One float sample: a timestamp in milliseconds since the Unix epoch and a value.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t: i64,
    /// The value; compared by bits in [`Sample::same_as`].
    pub v: f64,
}

impl Sample {
    /// Builds a sample.
    pub fn new(t: i64, v: f64) -> Self {
        Sample { t, v }
    }

    /// True when both timestamp and value bits are equal (so NaN equals the same NaN).
    pub fn same_as(&self, other: &Sample) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

impl PartialEq for Sample {
    fn eq(&self, other: &Self) -> bool {
        self.same_as(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_a_distinct_nan() {
        assert!(stale_nan().is_nan());
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
        assert_eq!(Sample::new(1, f64::NAN), Sample::new(1, f64::NAN));
        assert_ne!(Sample::new(1, f64::NAN), Sample::new(1, stale_nan()));
    }
}
