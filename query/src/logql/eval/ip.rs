//! The `ip("…")` filter: a single address, a range `a-b` or a CIDR block, IPv4 or IPv6.
//!
//! As a label filter it tests the label's value as one address. As a line filter it looks for any
//! address in the line: candidate tokens are runs of hex digits, `.` and `:` (so
//! `connect to 10.0.0.1:443` yields `10.0.0.1:443`, then `10.0.0.1` once the port is cut).

use std::net::IpAddr;

/// A compiled `ip("…")` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpPattern {
    lo: IpAddr,
    hi: IpAddr,
}

impl IpPattern {
    /// Parses `192.168.0.1`, `192.168.0.1-192.168.0.9` or `10.0.0.0/8` (and the IPv6 forms).
    pub fn parse(text: &str) -> Result<IpPattern, String> {
        let text = text.trim();
        let bad = || format!("invalid ip pattern {text:?}");
        if let Some((addr, bits)) = text.split_once('/') {
            let addr: IpAddr = addr.trim().parse().map_err(|_| bad())?;
            let bits: u32 = bits.trim().parse().map_err(|_| bad())?;
            return match addr {
                IpAddr::V4(a) if bits <= 32 => {
                    let v = u32::from(a);
                    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
                    Ok(IpPattern {
                        lo: IpAddr::V4((v & mask).into()),
                        hi: IpAddr::V4((v | !mask).into()),
                    })
                }
                IpAddr::V6(a) if bits <= 128 => {
                    let v = u128::from(a);
                    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
                    Ok(IpPattern {
                        lo: IpAddr::V6((v & mask).into()),
                        hi: IpAddr::V6((v | !mask).into()),
                    })
                }
                _ => Err(bad()),
            };
        }
        if let Some((a, b)) = text.split_once('-') {
            let lo: IpAddr = a.trim().parse().map_err(|_| bad())?;
            let hi: IpAddr = b.trim().parse().map_err(|_| bad())?;
            if lo.is_ipv4() != hi.is_ipv4() || lo > hi {
                return Err(bad());
            }
            return Ok(IpPattern { lo, hi });
        }
        let addr: IpAddr = text.parse().map_err(|_| bad())?;
        Ok(IpPattern { lo: addr, hi: addr })
    }

    /// True when `value` is one address inside the pattern.
    pub fn matches_value(&self, value: &str) -> bool {
        value.trim().parse::<IpAddr>().is_ok_and(|a| self.contains(a))
    }

    fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv4() == self.lo.is_ipv4() && addr >= self.lo && addr <= self.hi
    }

    /// True when some address in `line` is inside the pattern.
    pub fn matches_line(&self, line: &str) -> bool {
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if !is_ip_byte(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && is_ip_byte(bytes[i]) {
                i += 1;
            }
            // The run is ASCII, so slicing on these byte offsets is on char boundaries.
            if self.run_matches(&line[start..i]) {
                return true;
            }
        }
        false
    }

    fn run_matches(&self, run: &str) -> bool {
        if self.matches_value(run) {
            return true;
        }
        // `10.0.0.1:443` or `::1.` — cut a trailing port or punctuation and try again.
        let trimmed = run.trim_end_matches(['.', ':']);
        if trimmed != run && self.matches_value(trimmed) {
            return true;
        }
        if trimmed.contains('.')
            && let Some((host, _port)) = trimmed.rsplit_once(':')
        {
            let host = host.rsplit(':').next().unwrap_or(host);
            return self.matches_value(host);
        }
        false
    }
}

fn is_ip_byte(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b'.' || b == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_range_and_cidr() {
        let single = IpPattern::parse("192.168.4.5").expect("single");
        assert!(single.matches_value("192.168.4.5"));
        assert!(!single.matches_value("192.168.4.6"));
        let range = IpPattern::parse("192.168.4.5-192.168.4.20").expect("range");
        assert!(range.matches_value("192.168.4.20"));
        assert!(!range.matches_value("192.168.4.21"));
        let cidr = IpPattern::parse("10.0.0.0/8").expect("cidr");
        assert!(cidr.matches_value("10.255.1.2"));
        assert!(!cidr.matches_value("11.0.0.1"));
        let v6 = IpPattern::parse("2001:db8::/32").expect("v6");
        assert!(v6.matches_value("2001:db8::1"));
        assert!(!v6.matches_value("2001:db9::1"));
        assert!(!v6.matches_value("10.0.0.1"));
        assert!(IpPattern::parse("10.0.0.0/33").is_err());
        assert!(IpPattern::parse("nope").is_err());
        assert!(IpPattern::parse("10.0.0.9-10.0.0.1").is_err());
    }

    #[test]
    fn finds_addresses_in_lines() {
        let cidr = IpPattern::parse("10.0.0.0/8").expect("cidr");
        assert!(cidr.matches_line("connect from 10.1.2.3 failed"));
        assert!(cidr.matches_line("dial tcp 10.1.2.3:443: refused"));
        assert!(cidr.matches_line("peer=10.1.2.3."));
        assert!(!cidr.matches_line("connect from 192.168.1.1"));
        assert!(!cidr.matches_line("version 10.1 released"));
        let v6 = IpPattern::parse("::1").expect("loopback");
        assert!(v6.matches_line("listening on ::1 port 80"));
        assert!(!v6.matches_line(""));
    }
}
