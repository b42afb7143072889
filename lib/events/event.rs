//! One state change of one service: the [`Event`] type and its line form.
//!
//! The **line** is what travels through the event FIFOs (from supervise to
//! svscan and to `svctl events`) and what `svctl events` prints with the
//! time shown as RFC 3339 instead of TAI64N:
//!
//! ```text
//! @4000000069a8f1c00000000a 17 web exited pid=123 exit=3 restarts=2
//! TAI64N                    SEQ SERVICE KIND FIELDS...
//! ```
//!
//! - TAI64N: `@` and 24 hex digits (lib/tai64n.rs), when it happened.
//! - SEQ: the event's number, counted by the supervise that wrote it from 1
//!   (a gap tells a subscriber it lost events; a smaller number, that the
//!   supervisor restarted).
//! - SERVICE: the service directory's name.
//! - KIND: one of [`Kind::word`]'s words.
//! - FIELDS: `key=value` in a fixed order, only those the kind has:
//!   `pid`, `exit` (code) or `signal` (number), `delay_ms`, `reason`,
//!   `failures`, `output`, then always `restarts`. Readers ignore keys they
//!   do not know, so fields can be added.
//!
//! SERVICE and values are escaped so that a line is always one line of
//! space-separated words: a space, a control byte, DEL and `\` are written
//! as `\xNN`. A line is at most [`MAX_LINE`] bytes (PIPE_BUF, so a write of
//! it to a FIFO is atomic); to guarantee it, SERVICE is cut at 255 bytes
//! (NAME_MAX) and `output` at [`MAX_OUTPUT`].

use crate::tai64n::Tai64n;
use std::fmt;
use std::time::Duration;

/// Longest encoded line, newline included (PIPE_BUF on Linux).
pub const MAX_LINE: usize = 4096;
/// Bytes of a service name kept in an event (NAME_MAX).
pub const MAX_SERVICE: usize = 255;
/// Bytes of a probe's output line kept in an event.
pub const MAX_OUTPUT: usize = 200;

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Code(i32),
    Signal(i32),
}

impl From<crate::child::Exit> for Ended {
    fn from(e: crate::child::Exit) -> Ended {
        match e {
            crate::child::Exit::Code(c) => Ended::Code(c),
            crate::child::Exit::Signal { sig, .. } => Ended::Signal(sig),
        }
    }
}

/// Why a service gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// `restart-limit` was reached: it is no longer restarted.
    RestartLimit,
    /// A oneshot (issue "Start order") ended unsuccessfully.
    Oneshot(Ended),
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `run` was started.
    Started {
        pid: u32,
    },
    /// The service is up (runit's meaning: `run` is running and is not
    /// being stopped).
    Up {
        pid: u32,
    },
    /// The service declared readiness (notification-fd or `check`).
    Ready {
        pid: u32,
    },
    /// `run` ended.
    Exited {
        pid: u32,
        how: Ended,
    },
    /// A restart is due after `delay`.
    RestartScheduled {
        delay: Duration,
    },
    Failed {
        reason: FailReason,
    },
    /// RETRIES consecutive probe failures; `output` is the last one's line.
    Unhealthy {
        failures: u32,
        output: String,
    },
    Healthy,
    /// The service is down and stays down (wanted down, or finished).
    Down,
    /// A oneshot ended successfully.
    Done,
}

impl Kind {
    /// The event's name: `started`, `up`, `ready`, `exited`,
    /// `restart-scheduled`, `failed`, `unhealthy`, `healthy`, `down`, `done`.
    pub fn word(&self) -> &'static str {
        match self {
            Kind::Started { .. } => "started",
            Kind::Up { .. } => "up",
            Kind::Ready { .. } => "ready",
            Kind::Exited { .. } => "exited",
            Kind::RestartScheduled { .. } => "restart-scheduled",
            Kind::Failed { .. } => "failed",
            Kind::Unhealthy { .. } => "unhealthy",
            Kind::Healthy => "healthy",
            Kind::Down => "down",
            Kind::Done => "done",
        }
    }

    /// Every event name, in [`Kind::word`]'s order.
    pub const WORDS: [&'static str; 10] = [
        "started",
        "up",
        "ready",
        "exited",
        "restart-scheduled",
        "failed",
        "unhealthy",
        "healthy",
        "down",
        "done",
    ];

    pub fn pid(&self) -> Option<u32> {
        match self {
            Kind::Started { pid } | Kind::Up { pid } | Kind::Ready { pid } => Some(*pid),
            Kind::Exited { pid, .. } => Some(*pid),
            _ => None,
        }
    }

    /// How the process ended, for `exited` and a failed oneshot.
    pub fn ended(&self) -> Option<Ended> {
        match self {
            Kind::Exited { how, .. } => Some(*how),
            Kind::Failed {
                reason: FailReason::Oneshot(how),
            } => Some(*how),
            _ => None,
        }
    }
}

impl FailReason {
    /// `restart-limit` or `oneshot`.
    pub fn word(self) -> &'static str {
        match self {
            FailReason::RestartLimit => "restart-limit",
            FailReason::Oneshot(_) => "oneshot",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub seq: u64,
    pub time: Tai64n,
    pub service: String,
    pub kind: Kind,
    /// Consecutive automatic restarts at the time of the event (as in
    /// `svkit-status`).
    pub restarts: u64,
}

/// The facts of an event as `(key, value)` in line order, unescaped: the
/// one list the line, JSON and hook forms are all made from.
pub(crate) fn fields(e: &Event) -> Vec<(&'static str, String)> {
    let mut f = Vec::with_capacity(4);
    if let Some(pid) = e.kind.pid() {
        f.push(("pid", pid.to_string()));
    }
    match e.kind.ended() {
        Some(Ended::Code(c)) => f.push(("exit", c.to_string())),
        Some(Ended::Signal(s)) => f.push(("signal", s.to_string())),
        None => {}
    }
    match &e.kind {
        Kind::RestartScheduled { delay } => f.push(("delay_ms", delay.as_millis().to_string())),
        Kind::Failed { reason } => f.push(("reason", reason.word().to_string())),
        Kind::Unhealthy { failures, output } => {
            f.push(("failures", failures.to_string()));
            f.push(("output", cut(output, MAX_OUTPUT).to_string()));
        }
        _ => {}
    }
    f.push(("restarts", e.restarts.to_string()));
    f
}

/// `s` cut to at most `max` bytes at a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        if c == '\\' || c == ' ' || c.is_ascii_control() {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
}

fn unescape(s: &str) -> Result<String, DecodeError> {
    if !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut bytes = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b != b'\\' {
            bytes.push(b);
            rest = tail;
            continue;
        }
        let hex = tail
            .strip_prefix(b"x")
            .and_then(|t| t.get(..2))
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or(DecodeError::BadEscape)?;
        bytes.push(hex);
        rest = &tail[3..];
    }
    String::from_utf8(bytes).map_err(|_| DecodeError::BadEscape)
}

impl Event {
    /// The line form (see the module doc), newline included, at most
    /// [`MAX_LINE`] bytes.
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(128);
        s.push_str(&self.time.to_hex_label());
        s.push(' ');
        self.push_rest(&mut s, &self.seq.to_string());
        s
    }

    /// The form `svctl events` prints: like the line, with the time as
    /// RFC 3339 UTC and without SEQ.
    pub fn text(&self) -> String {
        let mut s = rfc3339(self.time);
        s.push(' ');
        self.push_rest(&mut s, "");
        s.pop();
        s
    }

    fn push_rest(&self, s: &mut String, seq: &str) {
        if !seq.is_empty() {
            s.push_str(seq);
            s.push(' ');
        }
        escape_into(s, cut(&self.service, MAX_SERVICE));
        s.push(' ');
        s.push_str(self.kind.word());
        for (k, v) in fields(self) {
            s.push(' ');
            s.push_str(k);
            s.push('=');
            escape_into(s, &v);
        }
        s.push('\n');
    }

    /// Parses one line (with or without its newline).
    pub fn decode(line: &str) -> Result<Event, DecodeError> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        if line.len() >= MAX_LINE {
            return Err(DecodeError::TooLong);
        }
        let mut words = line.split(' ');
        let time = words
            .next()
            .and_then(Tai64n::parse_hex_label)
            .filter(|_| line.starts_with('@'))
            .ok_or(DecodeError::BadTime)?;
        let seq = words
            .next()
            .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|w| w.parse().ok())
            .ok_or(DecodeError::BadSeq)?;
        let service = unescape(
            words
                .next()
                .filter(|w| !w.is_empty())
                .ok_or(DecodeError::Truncated)?,
        )?;
        let word = words.next().ok_or(DecodeError::Truncated)?;
        let mut f = Facts::default();
        for w in words {
            let (k, v) = w.split_once('=').ok_or(DecodeError::BadField)?;
            f.set(k, unescape(v)?)?;
        }
        let pid = || f.pid.ok_or(DecodeError::Missing("pid"));
        let ended = || match (f.exit, f.signal) {
            (Some(c), None) => Ok(Ended::Code(c)),
            (None, Some(s)) => Ok(Ended::Signal(s)),
            _ => Err(DecodeError::Missing("exit or signal")),
        };
        let kind = match word {
            "started" => Kind::Started { pid: pid()? },
            "up" => Kind::Up { pid: pid()? },
            "ready" => Kind::Ready { pid: pid()? },
            "exited" => Kind::Exited {
                pid: pid()?,
                how: ended()?,
            },
            "restart-scheduled" => Kind::RestartScheduled {
                delay: Duration::from_millis(f.delay_ms.ok_or(DecodeError::Missing("delay_ms"))?),
            },
            "failed" => Kind::Failed {
                reason: match f.reason.as_deref() {
                    Some("restart-limit") => FailReason::RestartLimit,
                    Some("oneshot") => FailReason::Oneshot(ended()?),
                    _ => return Err(DecodeError::Missing("reason")),
                },
            },
            "unhealthy" => Kind::Unhealthy {
                failures: f.failures.ok_or(DecodeError::Missing("failures"))?,
                output: f.output.unwrap_or_default(),
            },
            "healthy" => Kind::Healthy,
            "down" => Kind::Down,
            "done" => Kind::Done,
            other => return Err(DecodeError::UnknownKind(cut(other, 32).to_string())),
        };
        Ok(Event {
            seq,
            time,
            service,
            kind,
            restarts: f.restarts.ok_or(DecodeError::Missing("restarts"))?,
        })
    }
}

/// The fields a line may carry, as parsed.
#[derive(Default)]
struct Facts {
    pid: Option<u32>,
    exit: Option<i32>,
    signal: Option<i32>,
    delay_ms: Option<u64>,
    reason: Option<String>,
    failures: Option<u32>,
    output: Option<String>,
    restarts: Option<u64>,
}

impl Facts {
    fn set(&mut self, key: &str, v: String) -> Result<(), DecodeError> {
        fn num<T: std::str::FromStr>(v: &str) -> Result<T, DecodeError> {
            v.parse().map_err(|_| DecodeError::BadField)
        }
        match key {
            "pid" => self.pid = Some(num(&v)?),
            "exit" => self.exit = Some(num(&v)?),
            "signal" => self.signal = Some(num(&v)?),
            "delay_ms" => self.delay_ms = Some(num(&v)?),
            "reason" => self.reason = Some(v),
            "failures" => self.failures = Some(num(&v)?),
            "output" => self.output = Some(v),
            "restarts" => self.restarts = Some(num(&v)?),
            _ => {} // a newer writer's field
        }
        Ok(())
    }
}

/// `2026-11-21T23:18:17.545Z`: UTC, milliseconds.
pub fn rfc3339(t: Tai64n) -> String {
    let secs = t.unix_secs();
    let millis = t.nanos.min(999_999_999) / 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp(secs.min(i64::MAX as u64) as i64) {
        Ok(d) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        ),
        // Beyond year 9999: no calendar form; say so rather than lie.
        Err(_) => format!("+{secs}.{millis:03}"),
    }
}

/// Why a line is not an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    TooLong,
    BadTime,
    BadSeq,
    Truncated,
    BadEscape,
    BadField,
    /// A kind this reader does not know (a newer writer).
    UnknownKind(String),
    Missing(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooLong => write!(f, "longer than {MAX_LINE} bytes"),
            DecodeError::BadTime => f.write_str("no TAI64N time stamp"),
            DecodeError::BadSeq => f.write_str("no sequence number"),
            DecodeError::Truncated => f.write_str("truncated"),
            DecodeError::BadEscape => f.write_str("invalid \\x escape"),
            DecodeError::BadField => f.write_str("invalid field"),
            DecodeError::UnknownKind(k) => write!(f, "unknown event: {k}"),
            DecodeError::Missing(what) => write!(f, "missing {what}"),
        }
    }
}

impl std::error::Error for DecodeError {}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn at() -> Tai64n {
        // 2026-11-21T23:18:17.545Z
        Tai64n::from_unix(1_795_303_097, 545_039_999)
    }

    pub(crate) fn ev(kind: Kind) -> Event {
        Event {
            seq: 17,
            time: at(),
            service: "web".into(),
            kind,
            restarts: 2,
        }
    }

    pub(crate) fn every_kind() -> Vec<Kind> {
        vec![
            Kind::Started { pid: 123 },
            Kind::Up { pid: 123 },
            Kind::Ready { pid: 123 },
            Kind::Exited {
                pid: 123,
                how: Ended::Code(3),
            },
            Kind::Exited {
                pid: 123,
                how: Ended::Signal(15),
            },
            Kind::RestartScheduled {
                delay: Duration::from_millis(1500),
            },
            Kind::Failed {
                reason: FailReason::RestartLimit,
            },
            Kind::Failed {
                reason: FailReason::Oneshot(Ended::Code(1)),
            },
            Kind::Unhealthy {
                failures: 3,
                output: "curl: (7) Failed to connect\\ =x".into(),
            },
            Kind::Healthy,
            Kind::Down,
            Kind::Done,
        ]
    }

    #[test]
    fn golden_lines() {
        let label = at().to_hex_label();
        let cases = [
            (
                Kind::Started { pid: 123 },
                "17 web started pid=123 restarts=2",
            ),
            (
                Kind::Exited {
                    pid: 123,
                    how: Ended::Code(3),
                },
                "17 web exited pid=123 exit=3 restarts=2",
            ),
            (
                Kind::Exited {
                    pid: 9,
                    how: Ended::Signal(9),
                },
                "17 web exited pid=9 signal=9 restarts=2",
            ),
            (
                Kind::RestartScheduled {
                    delay: Duration::from_millis(1500),
                },
                "17 web restart-scheduled delay_ms=1500 restarts=2",
            ),
            (
                Kind::Failed {
                    reason: FailReason::Oneshot(Ended::Code(1)),
                },
                "17 web failed exit=1 reason=oneshot restarts=2",
            ),
            (
                Kind::Unhealthy {
                    failures: 3,
                    output: "HTTP/1.1 500 Oops\\".into(),
                },
                "17 web unhealthy failures=3 output=HTTP/1.1\\x20500\\x20Oops\\x5c restarts=2",
            ),
            (Kind::Down, "17 web down restarts=2"),
        ];
        for (kind, want) in cases {
            assert_eq!(ev(kind).encode(), format!("{label} {want}\n"));
        }
        assert_eq!(
            ev(Kind::Ready { pid: 5 }).text(),
            "2026-11-21T23:18:17.545Z web ready pid=5 restarts=2"
        );
    }

    #[test]
    fn every_kind_round_trips() {
        for kind in every_kind() {
            let e = ev(kind);
            assert_eq!(Event::decode(&e.encode()), Ok(e.clone()), "{e:?}");
        }
        for (i, w) in Kind::WORDS.iter().enumerate() {
            assert!(every_kind().iter().any(|k| k.word() == *w), "{i} {w}");
        }
    }

    #[test]
    fn odd_service_names_and_long_output_stay_one_bounded_line() {
        let mut e = ev(Kind::Unhealthy {
            failures: 1,
            output: "é".repeat(5000),
        });
        e.service = "a b\n\\c\u{7f}é".into();
        let line = e.encode();
        assert_eq!(line.matches('\n').count(), 1);
        assert!(line.contains(" a\\x20b\\x0a\\x5cc\\x7fé unhealthy "));
        let back = Event::decode(&line).unwrap();
        assert_eq!(back.service, e.service);
        let Kind::Unhealthy { output, .. } = back.kind else {
            panic!()
        };
        assert_eq!(output.len(), MAX_OUTPUT);
        // The worst case: a 255-byte name of spaces and long output.
        e.service = " ".repeat(10_000);
        e.kind = Kind::Unhealthy {
            failures: u32::MAX,
            output: "\u{1}".repeat(10_000),
        };
        e.seq = u64::MAX;
        e.restarts = u64::MAX;
        assert!(e.encode().len() <= MAX_LINE, "{}", e.encode().len());
    }

    #[test]
    fn readers_skip_unknown_fields_and_refuse_damage() {
        let label = at().to_hex_label();
        let newer = format!("{label} 1 web down zone=eu restarts=0\n");
        assert_eq!(Event::decode(&newer).unwrap().kind, Kind::Down);
        let bad: &[(&str, DecodeError)] = &[
            ("", DecodeError::BadTime),
            (
                "4000000069a8f1c00000000a 1 web down restarts=0",
                DecodeError::BadTime,
            ),
            ("@40 1 web down restarts=0", DecodeError::BadTime),
        ];
        for (l, want) in bad {
            assert_eq!(Event::decode(l).as_ref(), Err(want), "{l:?}");
        }
        let with = |rest: &str| Event::decode(&format!("{label} {rest}"));
        assert_eq!(with("x web down restarts=0"), Err(DecodeError::BadSeq));
        assert_eq!(with("-1 web down restarts=0"), Err(DecodeError::BadSeq));
        assert_eq!(with("1 web"), Err(DecodeError::Truncated));
        assert_eq!(with("1  down"), Err(DecodeError::Truncated));
        assert_eq!(with("1 w\\x2 down restarts=0"), Err(DecodeError::BadEscape));
        assert_eq!(
            with("1 w\\xff down restarts=0"),
            Err(DecodeError::BadEscape)
        );
        assert_eq!(
            with("1 w\\x+f down restarts=0"),
            Err(DecodeError::BadEscape)
        );
        assert_eq!(with("1 web down restarts"), Err(DecodeError::BadField));
        assert_eq!(with("1 web down restarts=x"), Err(DecodeError::BadField));
        assert_eq!(with("1 web down"), Err(DecodeError::Missing("restarts")));
        assert_eq!(
            with("1 web exited pid=1 restarts=0"),
            Err(DecodeError::Missing("exit or signal"))
        );
        assert_eq!(
            with("1 web exited pid=1 exit=1 signal=2 restarts=0"),
            Err(DecodeError::Missing("exit or signal"))
        );
        assert_eq!(
            with("1 web failed restarts=0"),
            Err(DecodeError::Missing("reason"))
        );
        assert_eq!(
            with("1 web exploded restarts=0"),
            Err(DecodeError::UnknownKind("exploded".into()))
        );
        assert_eq!(with(&"x".repeat(MAX_LINE)), Err(DecodeError::TooLong));
    }

    #[test]
    fn decode_never_panics_on_prefixes_and_bytes() {
        let line = ev(every_kind()[8].clone()).encode();
        for i in 0..=line.len() {
            if line.is_char_boundary(i) {
                let _ = Event::decode(&line[..i]);
            }
        }
        for b in 0u8..128 {
            let mut l = line.clone().into_bytes();
            l[30] = b;
            if let Ok(s) = String::from_utf8(l) {
                let _ = Event::decode(&s);
            }
        }
    }

    #[test]
    fn time_forms() {
        assert_eq!(rfc3339(Tai64n::from_unix(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(Tai64n::from_unix(951_782_400, 999_999_999)),
            "2000-02-29T00:00:00.999Z"
        );
        assert_eq!(
            rfc3339(Tai64n { label: 0, nanos: 0 }),
            "1970-01-01T00:00:00.000Z"
        );
        assert!(rfc3339(Tai64n {
            label: u64::MAX,
            nanos: u32::MAX
        })
        .starts_with('+'));
    }
}
