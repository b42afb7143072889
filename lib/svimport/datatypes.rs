//! supervisord's value types (its `datatypes.py`): how a string in the
//! file becomes a boolean, a number, a size, a signal, a list of exit
//! codes or an environment. Errors are the ones supervisord would refuse
//! to start with.

use super::shellwords::{tokens_classic, ShlexError};

pub type Result<T> = std::result::Result<T, String>;

const TRUTHY: [&str; 4] = ["yes", "true", "on", "1"];
const FALSY: [&str; 4] = ["no", "false", "off", "0"];

pub fn boolean(s: &str) -> Result<bool> {
    let l = s.to_lowercase();
    if TRUTHY.contains(&l.as_str()) {
        Ok(true)
    } else if FALSY.contains(&l.as_str()) {
        Ok(false)
    } else {
        Err(format!("not a valid boolean value: {s:?}"))
    }
}

/// Python's `int(s)`: surrounding whitespace, a sign, `_` between digits.
pub fn integer(s: &str) -> Result<i64> {
    int_radix(s, 10).ok_or_else(|| format!("not an integer: {s:?}"))
}

fn int_radix(s: &str, radix: u32) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = if radix == 8 {
        digits
            .strip_prefix("0o")
            .or_else(|| digits.strip_prefix("0O"))
            .unwrap_or(digits)
    } else {
        digits
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    let v = i64::from_str_radix(&clean, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// `octal_type`: `int(s, 8)`, e.g. `022` or `0o22`.
pub fn octal(s: &str) -> Result<u32> {
    int_radix(s, 8)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("{s} can not be converted to an octal type"))
}

/// `byte_size`: a number with an optional `KB`, `MB` or `GB` suffix (any
/// case; 1024-based).
pub fn byte_size(s: &str) -> Result<u64> {
    let l = s.to_lowercase();
    let (num, mult) = if let Some(n) = l.strip_suffix("kb") {
        (n, 1024)
    } else if let Some(n) = l.strip_suffix("mb") {
        (n, 1024 * 1024)
    } else if let Some(n) = l.strip_suffix("gb") {
        (n, 1024 * 1024 * 1024)
    } else {
        (l.as_str(), 1)
    };
    let n = int_radix(num, 10).ok_or_else(|| format!("not a byte size: {s:?}"))?;
    // A negative size means "no limit" to supervisord's rotation (it only
    // rotates when maxbytes > 0); keep it as 0, which svlog reads the same.
    Ok(u64::try_from(n).unwrap_or(0).saturating_mul(mult))
}

/// `autorestart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoRestart {
    Always,
    Never,
    Unexpected,
}

pub fn auto_restart(s: &str) -> Result<AutoRestart> {
    let l = s.to_lowercase();
    if TRUTHY.contains(&l.as_str()) {
        Ok(AutoRestart::Always)
    } else if FALSY.contains(&l.as_str()) {
        Ok(AutoRestart::Never)
    } else if l == "unexpected" {
        Ok(AutoRestart::Unexpected)
    } else {
        Err(format!("invalid 'autorestart' value {l:?}"))
    }
}

/// `list_of_exitcodes`: comma-separated integers 0..=255.
pub fn exit_codes(s: &str) -> Result<Vec<u8>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|p| {
            int_radix(p, 10)
                .and_then(|v| u8::try_from(v).ok())
                .ok_or_else(|| format!("not a valid list of exit codes: {s:?}"))
        })
        .collect()
}

/// `list_of_strings`: comma-separated, each stripped.
pub fn strings(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',').map(|p| p.trim().to_string()).collect()
}

/// Linux signal names and numbers, as Python's `signal` module has them.
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// `signal_number`: a number or a name with or without `SIG`. Returns the
/// number and the name (without `SIG`) when there is one.
pub fn signal(s: &str) -> Result<(i32, Option<&'static str>)> {
    if let Some(n) = int_radix(s, 10) {
        let n =
            i32::try_from(n).map_err(|_| format!("value {s:?} is not a valid signal number"))?;
        if !(1..=64).contains(&n) {
            return Err(format!("value {s:?} is not a valid signal number"));
        }
        let name = SIGNALS.iter().find(|(_, v)| *v == n).map(|(k, _)| *k);
        return Ok((n, name));
    }
    let up = s.trim().to_uppercase();
    let bare = up.strip_prefix("SIG").unwrap_or(&up);
    SIGNALS
        .iter()
        .find(|(k, _)| *k == bare)
        .map(|(k, v)| (*v, Some(*k)))
        .ok_or_else(|| format!("value {s:?} is not a valid signal name"))
}

/// `dict_of_key_value_pairs`: `KEY=val,KEY2="val, 2"`, lexed with
/// `tokens_classic`; quotes around a value (and a key) are stripped. As in
/// supervisord, the token after each value is skipped whatever it is (it
/// is meant to be the comma); the second list names every skipped token
/// that was not a comma, because supervisord silently misreads such a
/// value (`A=$HOME` gives A the value `$`).
pub type Pairs = (Vec<(String, String)>, Vec<String>);

pub fn key_value_pairs(s: &str) -> Result<Pairs> {
    let tokens = tokens_classic(s).map_err(|e: ShlexError| format!("{e} in {s:?}"))?;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut odd = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let kv = &tokens[i..tokens.len().min(i + 3)];
        if kv.len() != 3 || kv[1] != "=" {
            return Err(format!("unexpected end of key/value pairs in value {s:?}"));
        }
        let key = kv[0].clone();
        let value = kv[2].trim_matches(['\'', '"']).to_string();
        if let Some(sep) = tokens.get(i + 3) {
            if sep != "," {
                odd.push(format!(
                    "{sep:?} after {key}={} is skipped as if it were the comma",
                    kv[2]
                ));
            }
        }
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => out.push((key, value)),
        }
        i += 4;
    }
    Ok((out, odd))
}

/// `logfile_name` without the directory check (the target machine is not
/// this one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFile {
    None,
    Auto,
    Syslog,
    Path(String),
}

pub fn logfile(s: &str) -> LogFile {
    match s.to_lowercase().as_str() {
        "none" | "off" => LogFile::None,
        "auto" => LogFile::Auto,
        "syslog" => LogFile::Syslog,
        _ => LogFile::Path(s.to_string()),
    }
}

/// `process_or_group_name`: stripped; no space, `:` or `/`.
pub fn process_name(s: &str) -> Result<String> {
    let t = s.trim();
    for c in [' ', ':', '/'] {
        if t.contains(c) {
            return Err(format!("invalid name {s:?} because of character {c:?}"));
        }
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_and_numbers() {
        assert_eq!(boolean("TRUE"), Ok(true));
        assert_eq!(boolean("off"), Ok(false));
        assert!(boolean("maybe").is_err());
        assert_eq!(integer(" 10 "), Ok(10));
        assert_eq!(integer("1_000"), Ok(1000));
        assert_eq!(integer("-3"), Ok(-3));
        assert!(integer("1.5").is_err());
        assert!(integer("").is_err());
        assert_eq!(octal("022"), Ok(0o22));
        assert_eq!(octal("0o77"), Ok(0o77));
        assert!(octal("9").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(byte_size("50MB"), Ok(50 * 1024 * 1024));
        assert_eq!(byte_size("1kb"), Ok(1024));
        assert_eq!(byte_size("2GB"), Ok(2 << 30));
        assert_eq!(byte_size("123"), Ok(123));
        assert_eq!(byte_size("0"), Ok(0));
        assert!(byte_size("10M").is_err());
    }

    #[test]
    fn restart_codes_signals() {
        assert_eq!(auto_restart("Unexpected"), Ok(AutoRestart::Unexpected));
        assert_eq!(auto_restart("true"), Ok(AutoRestart::Always));
        assert_eq!(auto_restart("0"), Ok(AutoRestart::Never));
        assert!(auto_restart("sometimes").is_err());
        assert_eq!(exit_codes("0,2"), Ok(vec![0, 2]));
        assert_eq!(exit_codes("0, 2"), Ok(vec![0, 2]));
        assert!(exit_codes("256").is_err());
        assert!(exit_codes("a").is_err());
        assert_eq!(signal("TERM"), Ok((15, Some("TERM"))));
        assert_eq!(signal("sigquit"), Ok((3, Some("QUIT"))));
        assert_eq!(signal("9"), Ok((9, Some("KILL"))));
        assert_eq!(signal("40"), Ok((40, None)));
        assert!(signal("NOPE").is_err());
        assert!(signal("0").is_err());
    }

    #[test]
    fn environment_pairs_with_quoting() {
        let p = |s| key_value_pairs(s).unwrap().0;
        assert_eq!(
            p("A=1,B=\"two, three\",C='x'"),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two, three".into()),
                ("C".into(), "x".into())
            ]
        );
        assert_eq!(
            p("PATH=\"/opt/bin:/usr/bin\",\nHOME=/home/app"),
            vec![
                ("PATH".into(), "/opt/bin:/usr/bin".into()),
                ("HOME".into(), "/home/app".into())
            ]
        );
        assert_eq!(p("A=1,A=2"), vec![("A".into(), "2".into())]);
        assert_eq!(p(""), Vec::<(String, String)>::new());
        // Quote-stripping takes every quote at either end, as str.strip.
        assert_eq!(p("Q=\"'x'\""), vec![("Q".into(), "x".into())]);
        // An unquoted `$` is a token of its own: supervisord reads A=$
        // and skips HOME as the separator; the skip is reported.
        let (pairs, odd) = key_value_pairs("A=$HOME").unwrap();
        assert_eq!(pairs, vec![("A".into(), "$".into())]);
        assert_eq!(odd.len(), 1, "{odd:?}");
        assert!(key_value_pairs("A=").is_err());
        assert!(key_value_pairs("A=\"open").is_err());
        // The token after a value is skipped whatever it is (meant to be
        // the comma), and a space is no separator.
        assert_eq!(p("A=1;B=2").len(), 2);
        assert!(key_value_pairs("A=1 B=2").is_err());
    }

    #[test]
    fn names_and_logfiles() {
        assert_eq!(process_name(" web "), Ok("web".into()));
        assert!(process_name("a b").is_err());
        assert!(process_name("a:b").is_err());
        assert_eq!(logfile("AUTO"), LogFile::Auto);
        assert_eq!(logfile("NONE"), LogFile::None);
        assert_eq!(logfile("/dev/stdout"), LogFile::Path("/dev/stdout".into()));
    }
}
