//! The `config` file of a log directory: one directive per line, chosen by
//! the first byte, the rest of the line is the argument (not trimmed).
//!
//! svlogd's directives: `sSIZE[k|m]`, `nNUM`, `NMIN`, `tSECS[m|h]`, `!CMD`,
//! `ua.b.c.d[:port]`, `Ua.b.c.d[:port]`, `pPREFIX`, `+PAT`, `-PAT`, `ePAT`,
//! `EPAT`. svkit adds `STOTAL[k|m|g]` (cap on the bytes of rotated files plus
//! `current`), `aAGE[m|h|d]` (delete rotated files older than AGE) and
//! `o[PREFIX]` (copy selected lines to standard output).
//! Empty lines and `#` comments are ignored. A line svlog cannot use is
//! reported (by line number) and skipped; the other lines still apply.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

/// What a log directory's `config` asked for (svlogd's defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirConfig {
    /// `s`: rotate when `current` reaches this many bytes; 0 = never.
    pub size_max: u64,
    /// `n`: keep at most this many rotated files; 0 = keep all.
    pub keep_max: u64,
    /// `N`: on a full disk, delete old files while more than this many exist.
    pub keep_min: u64,
    /// `t`: rotate a non-empty `current` this long after the last rotation.
    pub rotate_every: Option<Duration>,
    /// `!`: processor command run by `/bin/sh -c` on each rotated file.
    pub processor: Option<String>,
    /// `u`/`U`: send selected lines as UDP datagrams here.
    pub udp: Option<SocketAddrV4>,
    /// `U`: UDP only, do not write to `current`.
    pub udp_only: bool,
    /// `p`: prefix after the timestamp.
    pub prefix: Vec<u8>,
    /// `+`/`-`/`e`/`E` lines in file order: (kind, pattern).
    pub patterns: Vec<(u8, Vec<u8>)>,
    /// `S` (svkit): total bytes for rotated files plus `current`; 0 = no cap.
    pub total_max: u64,
    /// `a` (svkit): delete rotated files older than this.
    pub max_age: Option<Duration>,
    /// `o` (svkit): copy selected lines to stdout; `Some(prefix)` when the
    /// line had an argument.
    pub tee: Option<Option<Vec<u8>>>,
}

impl Default for DirConfig {
    fn default() -> Self {
        DirConfig {
            size_max: 1_000_000,
            keep_max: 10,
            keep_min: 10,
            rotate_every: None,
            processor: None,
            udp: None,
            udp_only: false,
            prefix: Vec::new(),
            patterns: Vec::new(),
            total_max: 0,
            max_age: None,
            tee: None,
        }
    }
}

impl DirConfig {
    /// Does any pattern decide about the log (`+`/`-`) or stderr (`e`/`E`)?
    pub fn has_patterns(&self) -> bool {
        !self.patterns.is_empty()
    }
}

/// A config line svlog skipped, with its 1-based number and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    pub number: usize,
    pub text: String,
    pub why: &'static str,
}

/// Parses `config` contents. Never fails as a whole: bad lines are returned
/// for the caller to report.
pub fn parse(text: &[u8]) -> (DirConfig, Vec<BadLine>) {
    let mut cfg = DirConfig::default();
    let mut bad = Vec::new();
    for (idx, line) in text.split(|&b| b == b'\n').enumerate() {
        if let Err(why) = apply_line(&mut cfg, line) {
            bad.push(BadLine {
                number: idx + 1,
                text: String::from_utf8_lossy(line).into_owned(),
                why,
            });
        }
    }
    (cfg, bad)
}

fn apply_line(cfg: &mut DirConfig, line: &[u8]) -> Result<(), &'static str> {
    let Some((&kind, arg)) = line.split_first() else {
        return Ok(());
    };
    match kind {
        b'#' => {}
        b'+' | b'-' | b'e' | b'E' => cfg.patterns.push((kind, arg.to_vec())),
        b's' => cfg.size_max = sized(arg, "bad size")?,
        b'S' => cfg.total_max = sized(arg, "bad total size")?,
        b'n' => cfg.keep_max = number(arg).ok_or("bad number of files")?,
        b'N' => cfg.keep_min = number(arg).ok_or("bad minimum number of files")?,
        b't' => cfg.rotate_every = duration(arg).ok_or("bad rotation time")?,
        b'a' => cfg.max_age = duration(arg).ok_or("bad maximum age")?,
        b'!' => {
            if !arg.is_empty() {
                let cmd = std::str::from_utf8(arg).map_err(|_| "processor is not UTF-8")?;
                cfg.processor = Some(cmd.to_string());
            }
        }
        b'u' | b'U' => {
            cfg.udp = Some(udp_addr(arg).ok_or("bad UDP address")?);
            cfg.udp_only = kind == b'U';
        }
        b'p' => {
            if !arg.is_empty() {
                cfg.prefix = arg.to_vec();
            }
        }
        b'o' => cfg.tee = Some((!arg.is_empty()).then(|| arg.to_vec())),
        _ => return Err("unknown directive"),
    }
    Ok(())
}

fn number(arg: &[u8]) -> Option<u64> {
    if arg.is_empty() || !arg.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(arg).ok()?.parse().ok()
}

fn split_unit(arg: &[u8]) -> Option<(u64, &[u8])> {
    let digits = arg.iter().take_while(|b| b.is_ascii_digit()).count();
    Some((number(&arg[..digits])?, &arg[digits..]))
}

/// `SECS[m|h|d]`; 0 means off (`None`).
fn duration(arg: &[u8]) -> Option<Option<Duration>> {
    let (n, unit) = split_unit(arg)?;
    let secs = match unit {
        b"" => n,
        b"m" => n.saturating_mul(60),
        b"h" => n.saturating_mul(3600),
        b"d" => n.saturating_mul(86_400),
        _ => return None,
    };
    Some((secs > 0).then(|| Duration::from_secs(secs)))
}

fn sized(arg: &[u8], why: &'static str) -> Result<u64, &'static str> {
    let (n, unit) = split_unit(arg).ok_or(why)?;
    let mul = match unit {
        b"" => 1,
        b"k" => 1024,
        b"m" => 1024 * 1024,
        b"g" => 1024 * 1024 * 1024,
        _ => return Err(why),
    };
    Ok(n.saturating_mul(mul))
}

fn udp_addr(arg: &[u8]) -> Option<SocketAddrV4> {
    let text = std::str::from_utf8(arg).ok()?;
    let (ip, port) = match text.split_once(':') {
        Some((ip, port)) => (
            ip,
            number(port.as_bytes()).filter(|p| (1..=65535).contains(p))?,
        ),
        None => (text, 514),
    };
    let ip: Ipv4Addr = ip.parse().ok()?;
    Some(SocketAddrV4::new(ip, port as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svlogd_lines() {
        let (c, bad) = parse(
            b"# comment\n\ns100k\nn3\nN1\nt2m\n!gzip\nu127.0.0.1:9999\npPFX: \n-*skip*\ne*ERR*\n",
        );
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(c.size_max, 102_400);
        assert_eq!((c.keep_max, c.keep_min), (3, 1));
        assert_eq!(c.rotate_every, Some(Duration::from_secs(120)));
        assert_eq!(c.processor.as_deref(), Some("gzip"));
        assert_eq!(c.udp, Some("127.0.0.1:9999".parse().unwrap()));
        assert!(!c.udp_only);
        assert_eq!(c.prefix, b"PFX: ");
        assert_eq!(c.patterns.len(), 2);
    }

    #[test]
    fn svkit_lines() {
        let (c, bad) = parse(b"S5m\no\na2d\n");
        assert!(bad.is_empty());
        assert_eq!(c.max_age, Some(Duration::from_secs(2 * 86_400)));
        assert_eq!(c.total_max, 5 << 20);
        assert_eq!(c.tee, Some(None));
        let (c, _) = parse(b"oweb | \nU10.0.0.1");
        assert_eq!(c.tee, Some(Some(b"web | ".to_vec())));
        assert!(c.udp_only);
        assert_eq!(c.udp.unwrap().port(), 514);
    }

    #[test]
    fn bad_lines_are_reported_and_the_rest_applies() {
        let (c, bad) = parse(b"sfoo\nn5\nx what\nu1.2.3:4\nt5y\ns7\n");
        assert_eq!(c.keep_max, 5);
        assert_eq!(c.size_max, 7);
        let numbers: Vec<usize> = bad.iter().map(|b| b.number).collect();
        assert_eq!(numbers, vec![1, 3, 4, 5]);
        assert_eq!(bad[0].text, "sfoo");
    }
}
