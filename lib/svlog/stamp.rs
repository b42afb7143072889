//! Line timestamps as svlogd writes them, formatted without allocation:
//!
//! | option | shape (always followed by one space) |
//! |---|---|
//! | `-t`   | `@400000006b0226cb2009a324` (TAI64N, 24 hex digits) |
//! | `-tt`  | `2026-11-21_23:18:17.54503` (UTC, 5 fractional digits, truncated) |
//! | `-ttt` | `2026-11-21T23:18:17.54503` |
//!
//! The date-and-seconds part is cached per second, so a stamp costs a few
//! byte copies.

use crate::tai64n::Tai64n;
use std::time::{SystemTime, UNIX_EPOCH};

/// Which prefix `-t`, `-tt` or `-ttt` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StampKind {
    #[default]
    None,
    Tai64n,
    Human,
    Iso,
}

/// Length of every stamp including its trailing space.
pub const STAMP_LEN: usize = 26;

/// Formats stamps; remembers the last second it formatted.
#[derive(Debug)]
pub struct Stamper {
    kind: StampKind,
    cached_sec: Option<u64>,
    buf: [u8; STAMP_LEN],
}

impl Stamper {
    pub fn new(kind: StampKind) -> Self {
        Stamper {
            kind,
            cached_sec: None,
            buf: [b' '; STAMP_LEN],
        }
    }

    pub fn kind(&self) -> StampKind {
        self.kind
    }

    /// The stamp for `t` (empty when no timestamps were asked for).
    pub fn format(&mut self, t: SystemTime) -> &[u8] {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let (secs, nanos) = (d.as_secs(), d.subsec_nanos());
        match self.kind {
            StampKind::None => return &[],
            StampKind::Tai64n => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.buf[0] = b'@';
                let bytes = Tai64n::from_unix(secs, nanos).to_bytes();
                for (i, b) in bytes.iter().enumerate() {
                    self.buf[1 + 2 * i] = HEX[(b >> 4) as usize];
                    self.buf[2 + 2 * i] = HEX[(b & 15) as usize];
                }
                self.buf[25] = b' ';
            }
            StampKind::Human | StampKind::Iso => {
                if self.cached_sec != Some(secs) {
                    let sep = if self.kind == StampKind::Iso {
                        b'T'
                    } else {
                        b'_'
                    };
                    write_date_time(&mut self.buf, secs, sep);
                    self.cached_sec = Some(secs);
                }
                let mut frac = nanos / 10_000;
                for i in (20..25).rev() {
                    self.buf[i] = b'0' + (frac % 10) as u8;
                    frac /= 10;
                }
                self.buf[25] = b' ';
            }
        }
        &self.buf
    }
}

/// Writes `YYYY-MM-DD?HH:MM:SS.` into `out[..20]`.
fn write_date_time(out: &mut [u8; STAMP_LEN], secs: u64, sep: u8) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let put = |out: &mut [u8; STAMP_LEN], at: usize, v: u64, width: usize| {
        let mut v = v;
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(out, 0, y as u64, 4);
    out[4] = b'-';
    put(out, 5, m as u64, 2);
    out[7] = b'-';
    put(out, 8, d as u64, 2);
    out[10] = sep;
    put(out, 11, rem / 3600, 2);
    out[13] = b':';
    put(out, 14, rem / 60 % 60, 2);
    out[16] = b':';
    put(out, 17, rem % 60, 2);
    out[19] = b'.';
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// days-to-civil algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn human_and_iso_shapes() {
        // 2026-11-21 23:18:17 UTC
        let t = at(1_795_303_097, 545_039_999);
        let mut s = Stamper::new(StampKind::Human);
        assert_eq!(s.format(t), b"2026-11-21_23:18:17.54503 ");
        let mut s = Stamper::new(StampKind::Iso);
        assert_eq!(s.format(t), b"2026-11-21T23:18:17.54503 ");
        // cached date, new fraction
        assert_eq!(
            s.format(at(1_795_303_097, 7_000_000)),
            b"2026-11-21T23:18:17.00700 "
        );
    }

    #[test]
    fn tai64n_shape() {
        let mut s = Stamper::new(StampKind::Tai64n);
        let t = Tai64n::parse_hex_label("@400000006b0226cb2009a324").unwrap();
        assert_eq!(s.format(t.to_system_time()), b"@400000006b0226cb2009a324 ");
    }

    #[test]
    fn leap_year_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
    }
}
