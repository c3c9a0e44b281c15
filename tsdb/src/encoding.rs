//! Varint encodings shared by the on-disk formats (labels, WAL records, block index).

/// Appends `value` as an unsigned LEB128 varint (7 bits a byte, low groups first).
pub(crate) fn put_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads an unsigned LEB128 varint at `*pos`, advancing it; `None` if truncated or over 64 bits.
pub(crate) fn get_uvarint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut result = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*pos)?;
        *pos += 1;
        if shift == 63 && byte > 1 {
            return None;
        }
        result |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(result);
        }
    }
    None
}

/// Maps a signed integer to an unsigned one, small magnitudes to small values.
pub(crate) fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub(crate) fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Appends a signed varint (zigzag, then LEB128).
pub(crate) fn put_varint(out: &mut Vec<u8>, value: i64) {
    put_uvarint(out, zigzag(value));
}

/// Reads a signed varint; `None` if truncated or over 64 bits.
pub(crate) fn get_varint(data: &[u8], pos: &mut usize) -> Option<i64> {
    get_uvarint(data, pos).map(unzigzag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_limits() {
        for (value, bytes) in [
            (0u64, vec![0u8]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (300, vec![0xac, 0x02]),
        ] {
            let mut out = Vec::new();
            put_uvarint(&mut out, value);
            assert_eq!(out, bytes);
            assert_eq!(get_uvarint(&out, &mut 0), Some(value));
        }
        let mut max = Vec::new();
        put_uvarint(&mut max, u64::MAX);
        assert_eq!(max.len(), 10);
        assert_eq!(get_uvarint(&max, &mut 0), Some(u64::MAX));
        assert_eq!(get_uvarint(&[0xff; 10], &mut 0), None, "over 64 bits");
        assert_eq!(get_uvarint(&[0x80], &mut 0), None, "truncated");
        for value in [0i64, -1, 1, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            assert_eq!(get_varint(&out, &mut 0), Some(value));
        }
    }
}
