//! The time zone a cron expression is read in: UTC, or the zone `TZ`
//! names when its data is present (a TZif file under `$TZDIR` or
//! `/usr/share/zoneinfo`, or a POSIX rule string). A zone is only a
//! function from a Unix time to an offset; [`super::next`] turns that into
//! local-time decisions.
//!
//! [`Tzif::parse`] reads RFC 8536 version 1-4 files: the 64-bit block when
//! there is one, the footer rule for times after the last transition, and
//! no leap seconds (the `right/` zones are read as if they had none).

use super::civil::Minute;
use super::posixtz::PosixTz;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where zone files are looked for when `TZDIR` is unset.
pub const DEFAULT_TZDIR: &str = "/usr/share/zoneinfo";
/// Largest zone file read (the biggest real ones are under 4 KiB).
pub const MAX_TZIF_BYTES: u64 = 256 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Zone {
    Utc,
    Tzif(Tzif),
    Rule(PosixTz),
}

/// A parsed zone file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tzif {
    /// Transition times, ascending, with the offset from each on.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition.
    initial: i32,
    footer: Option<PosixTz>,
    /// Smallest and largest offset the zone ever uses.
    range: (i32, i32),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneError {
    /// `TZ` names no file and is not a rule.
    NotFound(String),
    /// `TZ` has `..` or is otherwise not a zone name.
    BadName(String),
    /// The file is not TZif.
    Malformed {
        path: PathBuf,
        why: &'static str,
    },
    Io {
        path: PathBuf,
        why: String,
    },
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZoneError::NotFound(n) => write!(f, "no zone data for TZ={n:?}"),
            ZoneError::BadName(n) => write!(f, "TZ={n:?} is not a zone name"),
            ZoneError::Malformed { path, why } => {
                write!(f, "{}: not a zone file: {why}", path.display())
            }
            ZoneError::Io { path, why } => write!(f, "{}: {why}", path.display()),
        }
    }
}

impl std::error::Error for ZoneError {}

impl Zone {
    /// Seconds east of UTC at Unix time `t`.
    pub fn offset_at(&self, t: i64) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Tzif(z) => z.offset_at(t),
            Zone::Rule(r) => r.offset_at(t),
        }
    }

    /// Smallest and largest offset the zone ever uses.
    pub fn offset_range(&self) -> (i32, i32) {
        match self {
            Zone::Utc => (0, 0),
            Zone::Tzif(z) => z.range,
            Zone::Rule(r) => match r.dst {
                None => (r.std_offset, r.std_offset),
                Some(d) => (r.std_offset.min(d.offset), r.std_offset.max(d.offset)),
            },
        }
    }

    /// Unix time `t` as local time with its offset, for status:
    /// `2026-12-05 02:30:00 +0100`.
    pub fn format(&self, t: i64) -> String {
        let off = self.offset_at(t);
        let m = Minute::from_unix(t, off);
        let sign = if off < 0 { '-' } else { '+' };
        let a = off.unsigned_abs();
        format!(
            "{m}:{:02} {sign}{:02}{:02}",
            t.saturating_add(i64::from(off)).rem_euclid(60),
            a / 3600,
            a / 60 % 60
        )
    }

    /// The zone `TZ` (its value, `None` when unset) selects, zone files
    /// being under `tzdir`. Unset, empty, `UTC`-like names without a file
    /// and `:` alone are UTC.
    pub fn from_tz(tz: Option<&str>, tzdir: &Path) -> Result<Zone, ZoneError> {
        let Some(tz) = tz else { return Ok(Zone::Utc) };
        let name = tz.strip_prefix(':').unwrap_or(tz);
        if name.is_empty() {
            return Ok(Zone::Utc);
        }
        let path = if name.starts_with('/') {
            PathBuf::from(name)
        } else {
            if name.split('/').any(|c| c == ".." || c.is_empty()) || name.contains('\0') {
                return Err(ZoneError::BadName(tz.to_string()));
            }
            tzdir.join(name)
        };
        match read_bounded(&path) {
            Ok(bytes) => Tzif::parse(&bytes)
                .map(Zone::Tzif)
                .map_err(|why| ZoneError::Malformed { path, why }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(rule) = PosixTz::parse(name) {
                    return Ok(Zone::Rule(rule));
                }
                if matches!(name, "UTC" | "UCT" | "GMT" | "Etc/UTC" | "Etc/GMT" | "Zulu") {
                    return Ok(Zone::Utc);
                }
                Err(ZoneError::NotFound(tz.to_string()))
            }
            Err(e) => Err(ZoneError::Io {
                path,
                why: e.to_string(),
            }),
        }
    }

    /// [`Zone::from_tz`] with the process's `TZ` and `TZDIR`.
    pub fn from_env() -> Result<Zone, ZoneError> {
        let tz = std::env::var("TZ").ok();
        let dir = match std::env::var_os("TZDIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => PathBuf::from(DEFAULT_TZDIR),
        };
        Zone::from_tz(tz.as_deref(), &dir)
    }
}

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_TZIF_BYTES)
        .read_to_end(&mut out)?;
    Ok(out)
}

struct Header {
    version: u8,
    isutcnt: usize,
    isstdcnt: usize,
    leapcnt: usize,
    timecnt: usize,
    typecnt: usize,
    charcnt: usize,
}

const HEADER_LEN: usize = 44;

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn header(b: &[u8]) -> Result<Header, &'static str> {
    if b.len() < HEADER_LEN || &b[..4] != b"TZif" {
        return Err("no TZif header");
    }
    let n = |i: usize| be32(&b[20 + 4 * i..]) as usize;
    Ok(Header {
        version: b[4],
        isutcnt: n(0),
        isstdcnt: n(1),
        leapcnt: n(2),
        timecnt: n(3),
        typecnt: n(4),
        charcnt: n(5),
    })
}

impl Header {
    fn data_len(&self, time_size: usize) -> Option<usize> {
        let parts = [
            self.timecnt.checked_mul(time_size)?,
            self.timecnt,
            self.typecnt.checked_mul(6)?,
            self.charcnt,
            self.leapcnt.checked_mul(time_size + 4)?,
            self.isstdcnt,
            self.isutcnt,
        ];
        parts.iter().try_fold(0usize, |a, &p| a.checked_add(p))
    }
}

impl Tzif {
    pub fn parse(b: &[u8]) -> Result<Tzif, &'static str> {
        let h1 = header(b)?;
        let v1_len = h1.data_len(4).ok_or("sizes overflow")?;
        let (h, data, time_size, rest) = if h1.version >= b'2' {
            let second = HEADER_LEN.checked_add(v1_len).ok_or("sizes overflow")?;
            let b2 = b.get(second..).ok_or("truncated")?;
            let h2 = header(b2)?;
            let len = h2.data_len(8).ok_or("sizes overflow")?;
            let data = b2.get(HEADER_LEN..HEADER_LEN + len).ok_or("truncated")?;
            let rest = &b2[HEADER_LEN + len..];
            (h2, data, 8, rest)
        } else {
            let data = b.get(HEADER_LEN..HEADER_LEN + v1_len).ok_or("truncated")?;
            (h1, data, 4, &[][..])
        };
        if h.typecnt == 0 {
            return Err("no local time types");
        }
        let times = &data[..h.timecnt * time_size];
        let idx = &data[h.timecnt * time_size..h.timecnt * (time_size + 1)];
        let types = &data[h.timecnt * (time_size + 1)..][..h.typecnt * 6];
        let offset_of = |i: usize| be32(&types[6 * i..]) as i32;
        // RFC 8536's bounds (-24:59:59 .. +25:59:59): a wild offset would
        // make every local-time search span days.
        if (0..h.typecnt).any(|i| !(-89_999..=93_599).contains(&offset_of(i))) {
            return Err("offset out of range");
        }
        let mut transitions = Vec::with_capacity(h.timecnt);
        for i in 0..h.timecnt {
            let t = if time_size == 8 {
                let s = &times[8 * i..8 * i + 8];
                i64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])
            } else {
                i64::from(be32(&times[4 * i..]) as i32)
            };
            let ty = usize::from(idx[i]);
            if ty >= h.typecnt {
                return Err("transition to a missing type");
            }
            if transitions.last().is_some_and(|&(p, _)| p >= t) {
                return Err("transitions out of order");
            }
            transitions.push((t, offset_of(ty)));
        }
        // The footer: "\nRULE\n"; an empty rule means none.
        let footer = match rest.strip_prefix(b"\n") {
            Some(r) => {
                let end = r
                    .iter()
                    .position(|&c| c == b'\n')
                    .ok_or("footer unterminated")?;
                let text = std::str::from_utf8(&r[..end]).map_err(|_| "footer not text")?;
                if text.is_empty() {
                    None
                } else {
                    Some(PosixTz::parse(text).ok_or("footer rule malformed")?)
                }
            }
            None => None,
        };
        let mut lo = i32::MAX;
        let mut hi = i32::MIN;
        for i in 0..h.typecnt {
            lo = lo.min(offset_of(i));
            hi = hi.max(offset_of(i));
        }
        if let Some(f) = footer {
            let r = Zone::Rule(f).offset_range();
            lo = lo.min(r.0);
            hi = hi.max(r.1);
        }
        Ok(Tzif {
            transitions,
            initial: offset_of(0),
            footer,
            range: (lo, hi),
        })
    }

    pub fn offset_at(&self, t: i64) -> i32 {
        match self.transitions.partition_point(|&(at, _)| at <= t) {
            0 => self.initial,
            n if n == self.transitions.len() => match &self.footer {
                Some(rule) => rule.offset_at(t),
                None => self.transitions[n - 1].1,
            },
            n => self.transitions[n - 1].1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::civil::{days_from_civil, DAY_SECS, HOUR_SECS};

    /// A version-2 file with the given transitions and footer.
    pub(crate) fn tzif(transitions: &[(i64, u8)], types: &[i32], footer: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let head = |out: &mut Vec<u8>, timecnt: usize, typecnt: usize| {
            out.extend_from_slice(b"TZif2");
            out.extend_from_slice(&[0; 15]);
            for n in [0, 0, 0, timecnt, typecnt, 1] {
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
        };
        // An empty v1 block (one type, as RFC 8536 permits for v2 readers).
        head(&mut out, 0, 1);
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]);
        head(&mut out, transitions.len(), types.len());
        for (t, _) in transitions {
            out.extend_from_slice(&t.to_be_bytes());
        }
        for (_, i) in transitions {
            out.push(*i);
        }
        for off in types {
            out.extend_from_slice(&off.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
        }
        out.push(0);
        out.push(b'\n');
        out.extend_from_slice(footer.as_bytes());
        out.push(b'\n');
        out
    }

    #[test]
    fn synthetic_file_and_footer() {
        let t0 = days_from_civil(2000, 1, 1) * DAY_SECS;
        let t1 = days_from_civil(2000, 6, 1) * DAY_SECS;
        let bytes = tzif(
            &[(t0, 1), (t1, 0)],
            &[3600, 7200],
            "CET-1CEST,M3.5.0,M10.5.0/3",
        );
        let z = Tzif::parse(&bytes).unwrap();
        // Before the first transition: type 0.
        assert_eq!(z.offset_at(t0 - 1), 3600);
        assert_eq!(z.offset_at(t0), 7200);
        assert_eq!(z.offset_at(t1 - 1), 7200);
        // After the table, the footer rule: January is CET.
        assert_eq!(z.offset_at(days_from_civil(2030, 1, 10) * DAY_SECS), 3600);
        assert_eq!(z.offset_at(days_from_civil(2030, 7, 10) * DAY_SECS), 7200);
        assert_eq!(z.range, (3600, 7200));
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        let good = tzif(&[(0, 0)], &[0], "UTC0");
        for cut in 0..good.len() - 1 {
            let _ = Tzif::parse(&good[..cut]);
        }
        assert!(Tzif::parse(b"TZif").is_err());
        assert!(Tzif::parse(b"nope").is_err());
        let mut bad = good.clone();
        let idx_pos = 44 + 7 + 44 + 8; // the one transition's type index
        bad[idx_pos] = 9;
        assert_eq!(Tzif::parse(&bad), Err("transition to a missing type"));
    }

    #[test]
    fn formatting() {
        let t = days_from_civil(2026, 12, 5) * DAY_SECS + 90 * 60 + 7;
        assert_eq!(Zone::Utc.format(t), "2026-12-05 01:30:07 +0000");
        let ny = Zone::Rule(PosixTz::parse("EST5EDT").unwrap());
        assert_eq!(ny.format(t), "2026-12-04 20:30:07 -0500");
        let ist = Zone::Rule(PosixTz::parse("IST-5:30").unwrap());
        assert_eq!(ist.format(t), "2026-12-05 07:00:07 +0530");
        // Extremes format, however oddly, without overflow.
        let _ = ist.format(i64::MAX);
        let _ = ist.format(i64::MIN);
    }

    #[test]
    fn tz_values() {
        let dir = Path::new("/nonexistent-zoneinfo");
        assert_eq!(Zone::from_tz(None, dir), Ok(Zone::Utc));
        assert_eq!(Zone::from_tz(Some(""), dir), Ok(Zone::Utc));
        assert_eq!(Zone::from_tz(Some("UTC"), dir), Ok(Zone::Utc));
        assert!(matches!(
            Zone::from_tz(Some("EST5EDT"), dir),
            Ok(Zone::Rule(_))
        ));
        assert!(matches!(
            Zone::from_tz(Some("../etc/passwd"), dir),
            Err(ZoneError::BadName(_))
        ));
        assert!(matches!(
            Zone::from_tz(Some("Mars/Olympus"), dir),
            Err(ZoneError::NotFound(_))
        ));
    }

    /// The system's own zone data, where installed (not a requirement:
    /// the synthetic tests above cover the parser).
    #[test]
    fn system_berlin_if_present() {
        let dir = Path::new(DEFAULT_TZDIR);
        if !dir.join("Europe/Berlin").exists() {
            eprintln!("skipped: no {DEFAULT_TZDIR}/Europe/Berlin");
            return;
        }
        let z = Zone::from_tz(Some(":Europe/Berlin"), dir).unwrap();
        let spring = days_from_civil(2026, 3, 29) * DAY_SECS + HOUR_SECS;
        assert_eq!(z.offset_at(spring - 1), 3600);
        assert_eq!(z.offset_at(spring), 7200);
        // Far past the file's table: the footer.
        let y2100 = days_from_civil(2100, 7, 1) * DAY_SECS;
        assert_eq!(z.offset_at(y2100), 7200);
        let ny = Zone::from_tz(Some("America/New_York"), dir).unwrap();
        assert_eq!(
            ny.offset_at(days_from_civil(2026, 12, 4) * DAY_SECS),
            -5 * 3600
        );
    }
}
