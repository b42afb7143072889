//! TAI64N timestamps as runit and daemontools write them.
//!
//! runit assumes TAI − UTC = 10 s and has no leap-second table, so a label is
//! `2^62 + 10 + unix_seconds`. The same 12 bytes appear in `supervise/status`,
//! in svlog's `-t` prefixes and in rotated log file names (`@` + 24 hex digits).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TAI_BASE: u64 = (1u64 << 62) + 10;

/// A TAI64N label: seconds label plus nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Tai64n {
    pub label: u64,
    pub nanos: u32,
}

impl Tai64n {
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    pub fn from_system_time(t: SystemTime) -> Self {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        Self::from_unix(d.as_secs(), d.subsec_nanos())
    }

    pub fn from_unix(secs: u64, nanos: u32) -> Self {
        Tai64n {
            label: TAI_BASE + secs,
            nanos,
        }
    }

    /// Unix seconds, clamped at 0 for labels before the epoch.
    pub fn unix_secs(&self) -> u64 {
        self.label.saturating_sub(TAI_BASE)
    }

    pub fn to_system_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::new(self.unix_secs(), self.nanos.min(999_999_999))
    }

    pub fn to_bytes(&self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..8].copy_from_slice(&self.label.to_be_bytes());
        b[8..].copy_from_slice(&self.nanos.to_be_bytes());
        b
    }

    pub fn from_bytes(b: &[u8; 12]) -> Self {
        let mut label = [0u8; 8];
        label.copy_from_slice(&b[..8]);
        let mut nanos = [0u8; 4];
        nanos.copy_from_slice(&b[8..]);
        Tai64n {
            label: u64::from_be_bytes(label),
            nanos: u32::from_be_bytes(nanos),
        }
    }

    /// `@` followed by 24 lowercase hex digits, as svlogd writes it.
    pub fn to_hex_label(&self) -> String {
        let mut s = String::with_capacity(25);
        s.push('@');
        self.write_hex(&mut s);
        s
    }

    /// Appends the 24 hex digits (no `@`) to `out` without allocating.
    pub fn write_hex(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for byte in self.to_bytes() {
            out.push(HEX[(byte >> 4) as usize] as char);
            out.push(HEX[(byte & 15) as usize] as char);
        }
    }

    /// Parses `@` + 24 hex digits (the `@` is optional).
    pub fn parse_hex_label(s: &str) -> Option<Self> {
        let hex = s.strip_prefix('@').unwrap_or(s);
        if hex.len() != 24 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let mut b = [0u8; 12];
        for (i, out) in b.iter_mut().enumerate() {
            *out = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self::from_bytes(&b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runit_sample_decodes() {
        // From a real runsv status file (protocol notes §2.3).
        let b = [
            0x40, 0, 0, 0, 0x6b, 0x02, 0x25, 0x82, 0x33, 0xb2, 0xd3, 0x3c,
        ];
        let t = Tai64n::from_bytes(&b);
        assert_eq!(t.unix_secs(), 1795302776);
        assert_eq!(t.nanos, 867357500);
        assert_eq!(t.to_bytes(), b);
    }

    #[test]
    fn hex_round_trip() {
        let t = Tai64n::parse_hex_label("@400000006b0226cb2009a324").unwrap();
        assert_eq!(t.to_hex_label(), "@400000006b0226cb2009a324");
        assert!(Tai64n::parse_hex_label("@40000000").is_none());
        assert!(Tai64n::parse_hex_label("@400000006b0226cb2009a32g").is_none());
    }
}
