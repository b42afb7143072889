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

/// Writes `YYYY-MM-DD?HH:MM:SS.` into `out[..20]` (the calendar from the
/// `time` crate; a year past 9999 cannot be written in 4 digits and shows
/// as `9999-12-31?23:59:59.`).
fn write_date_time(out: &mut [u8; STAMP_LEN], secs: u64, sep: u8) {
    /// 9999-12-31 23:59:59 UTC.
    const LAST_FOUR_DIGIT_SECOND: i64 = 253_402_300_799;
    let secs =
        i64::try_from(secs).map_or(LAST_FOUR_DIGIT_SECOND, |s| s.min(LAST_FOUR_DIGIT_SECOND));
    let t =
        time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let put = |out: &mut [u8; STAMP_LEN], at: usize, v: u32, width: usize| {
        let mut v = v;
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(out, 0, t.year().unsigned_abs(), 4);
    out[4] = b'-';
    put(out, 5, u32::from(u8::from(t.month())), 2);
    out[7] = b'-';
    put(out, 8, u32::from(t.day()), 2);
    out[10] = sep;
    put(out, 11, u32::from(t.hour()), 2);
    out[13] = b':';
    put(out, 14, u32::from(t.minute()), 2);
    out[16] = b':';
    put(out, 17, u32::from(t.second()), 2);
    out[19] = b'.';
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
        let mut s = Stamper::new(StampKind::Human);
        assert_eq!(s.format(at(0, 0)), b"1970-01-01_00:00:00.00000 ");
        assert_eq!(s.format(at(951_782_400, 0)), b"2000-02-29_00:00:00.00000 ");
        assert_eq!(
            s.format(at(1_772_323_200, 0)),
            b"2026-03-01_00:00:00.00000 "
        );
        // Past year 9999: the last second that fits.
        assert_eq!(
            s.format(at(300_000_000_000, 0)),
            b"9999-12-31_23:59:59.00000 "
        );
    }
}
