//! `svctl metrics`: every service's state in the Prometheus text
//! exposition format (version 0.0.4), from what `supervise/svkit-status`
//! holds ([`crate::extstatus`]) plus the health check's state.
//!
//! One family per metric, each with `# HELP` and `# TYPE`, one sample per
//! service labelled `service="NAME"`; counters end in `_total`. Label
//! values are escaped as the format requires (`\\`, `\"`, `\n`), so any
//! directory name is a valid label. The families:
//!
//! | metric | type | value |
//! |---|---|---|
//! | `svkit_service_up` | gauge | 1 while `run` runs (state `run`) |
//! | `svkit_service_ready` | gauge | 1 once it declared readiness |
//! | `svkit_service_healthy` | gauge | 1 healthy, 0 starting or unhealthy; only services with a `health` file |
//! | `svkit_service_health_failures` | gauge | consecutive probe failures; same services |
//! | `svkit_service_failed` | gauge | 1 when the restart limit was reached |
//! | `svkit_service_starts_total` | counter | times `run` was started |
//! | `svkit_service_restarts_total` | counter | automatic restarts; only where the supervisor counts them ([`Record::restarts_total`]) |
//! | `svkit_service_consecutive_restarts` | gauge | automatic restarts since it last ran long enough |
//! | `svkit_service_last_exit_code` | gauge | last exit code, 128+N for signal N; absent before the first exit |
//! | `svkit_service_last_exit_signal` | gauge | N if the last exit was by signal N, else 0; absent before the first exit |
//! | `svkit_service_state_seconds` | gauge | seconds since the last state change |
//!
//! Families with no sample (no service has a health check) are left out.

use crate::extstatus::{ExtStatus, LastExit};
use crate::tai64n::Tai64n;
use std::fmt::Write as _;

/// The `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The health-check state of a service that has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthRecord {
    pub healthy: bool,
    pub failures: u32,
}

/// One service as the metrics see it.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// The service's name (its directory's name).
    pub name: &'a str,
    pub status: &'a ExtStatus,
    /// `None`: no health check.
    pub health: Option<HealthRecord>,
    /// A monotonic count of automatic restarts, where the supervisor keeps
    /// one. (`ExtStatus::restarts` resets when the service runs long
    /// enough, so it is exported as a gauge, not as this counter.)
    pub restarts_total: Option<u64>,
}

#[derive(Clone, Copy)]
enum Type {
    Gauge,
    Counter,
}

struct Family {
    name: &'static str,
    help: &'static str,
    kind: Type,
    value: fn(&Record, Tai64n) -> Option<Value>,
}

enum Value {
    Int(i128),
    Seconds(f64),
}

const FAMILIES: &[Family] = &[
    Family {
        name: "svkit_service_up",
        help: "1 if the service's run process is running.",
        kind: Type::Gauge,
        value: |r, _| Some(Value::Int(i128::from(r.status.state == "run"))),
    },
    Family {
        name: "svkit_service_ready",
        help: "1 if the service declared readiness since it was started.",
        kind: Type::Gauge,
        value: |r, _| Some(Value::Int(i128::from(r.status.ready))),
    },
    Family {
        name: "svkit_service_healthy",
        help: "1 if the service's health check passes, 0 while starting or unhealthy.",
        kind: Type::Gauge,
        value: |r, _| r.health.map(|h| Value::Int(i128::from(h.healthy))),
    },
    Family {
        name: "svkit_service_health_failures",
        help: "Consecutive failed health probes.",
        kind: Type::Gauge,
        value: |r, _| r.health.map(|h| Value::Int(i128::from(h.failures))),
    },
    Family {
        name: "svkit_service_failed",
        help: "1 if the service reached its restart limit and is no longer restarted.",
        kind: Type::Gauge,
        value: |r, _| Some(Value::Int(i128::from(r.status.failed))),
    },
    Family {
        name: "svkit_service_starts_total",
        help: "Times the service's run was started by this supervisor.",
        kind: Type::Counter,
        value: |r, _| Some(Value::Int(i128::from(r.status.starts))),
    },
    Family {
        name: "svkit_service_restarts_total",
        help: "Automatic restarts of the service.",
        kind: Type::Counter,
        value: |r, _| r.restarts_total.map(|n| Value::Int(i128::from(n))),
    },
    Family {
        name: "svkit_service_consecutive_restarts",
        help: "Automatic restarts since the service last ran long enough.",
        kind: Type::Gauge,
        value: |r, _| Some(Value::Int(i128::from(r.status.restarts))),
    },
    Family {
        name: "svkit_service_last_exit_code",
        help: "Exit code of the last run (128+N for signal N).",
        kind: Type::Gauge,
        value: |r, _| match r.status.last_exit {
            LastExit::None => None,
            LastExit::Code(c) => Some(Value::Int(i128::from(c))),
            LastExit::Signal(s) => Some(Value::Int(i128::from(crate::exit::for_signal(s)))),
        },
    },
    Family {
        name: "svkit_service_last_exit_signal",
        help: "Signal that ended the last run, 0 if it exited.",
        kind: Type::Gauge,
        value: |r, _| match r.status.last_exit {
            LastExit::None => None,
            LastExit::Code(_) => Some(Value::Int(0)),
            LastExit::Signal(s) => Some(Value::Int(i128::from(s))),
        },
    },
    Family {
        name: "svkit_service_state_seconds",
        help: "Seconds since the service's last state change.",
        kind: Type::Gauge,
        value: |r, now| Some(Value::Seconds(seconds_between(r.status.since, now))),
    },
];

/// Every metric name [`render`] may write.
pub fn names() -> impl Iterator<Item = &'static str> {
    FAMILIES.iter().map(|f| f.name)
}

/// `now - since` in seconds, 0 if `since` is in the future (a clock step).
fn seconds_between(since: Tai64n, now: Tai64n) -> f64 {
    if now <= since {
        return 0.0;
    }
    let secs = now.label - since.label;
    let (secs, nanos) = if now.nanos >= since.nanos {
        (secs, now.nanos - since.nanos)
    } else {
        (secs - 1, 1_000_000_000 + now.nanos - since.nanos)
    };
    secs as f64 + f64::from(nanos.min(999_999_999)) / 1e9
}

/// Appends `value` escaped as a label value.
fn push_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// The exposition of `services` at time `now`, in the order given
/// (callers sort by name for a stable output).
pub fn render(services: &[Record], now: Tai64n) -> String {
    let mut out = String::with_capacity(256 + services.len() * 600);
    for family in FAMILIES {
        let mut samples = services
            .iter()
            .filter_map(|r| (family.value)(r, now).map(|v| (r.name, v)))
            .peekable();
        if samples.peek().is_none() {
            continue;
        }
        let kind = match family.kind {
            Type::Gauge => "gauge",
            Type::Counter => "counter",
        };
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} {kind}", family.name);
        for (name, value) in samples {
            out.push_str(family.name);
            out.push_str("{service=\"");
            push_label_value(&mut out, name);
            out.push_str("\"} ");
            match value {
                Value::Int(n) => {
                    let _ = write!(out, "{n}");
                }
                Value::Seconds(s) => {
                    let _ = write!(out, "{s:.3}");
                }
            }
            out.push('\n');
        }
    }
    out
}

/// The whole HTTP/1.0 answer of `svctl metrics --listen` to a request
/// whose first line is `request_line`: `GET /metrics` (or `/`) gets
/// `body` (made by the caller only then: `make_body`), `HEAD` the
/// headers, another path 404, another method 405. The connection closes
/// after it.
pub fn http_reply(request_line: &[u8], make_body: impl FnOnce() -> String) -> Vec<u8> {
    let mut words = request_line.split(|&b| b == b' ');
    let method = words.next().unwrap_or_default();
    let target = words.next().unwrap_or_default();
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    let (status, body, content_type) = match (method, path) {
        (b"GET" | b"HEAD", b"/metrics" | b"/") => ("200 OK", make_body(), CONTENT_TYPE),
        (b"GET" | b"HEAD", _) => ("404 Not Found", "not found\n".to_string(), "text/plain"),
        _ => (
            "405 Method Not Allowed",
            "only GET\n".to_string(),
            "text/plain",
        ),
    };
    let mut reply = format!(
        "HTTP/1.0 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != b"HEAD" {
        reply.extend_from_slice(body.as_bytes());
    }
    reply
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::extstatus::WantWord;

    pub(crate) fn status(state: &str, starts: u64, last: LastExit) -> ExtStatus {
        ExtStatus {
            state: state.into(),
            want: WantWord::Up,
            pid: 10,
            since: Tai64n::from_unix(1_800_000_000, 500_000_000),
            ready: state == "run",
            starts,
            restarts: 1,
            last_exit: last,
            normally_up: true,
            ..ExtStatus::default()
        }
    }

    /// (service, value) samples of one family.
    type Samples = Vec<(String, String)>;
    /// (family name, type, samples).
    pub(crate) type ParsedFamily = (String, String, Samples);

    /// A strict reader of the text format, as far as this module writes
    /// it: returns (family, type, samples) or says what is wrong.
    pub(crate) fn parse(text: &str) -> Result<Vec<ParsedFamily>, String> {
        let mut families: Vec<ParsedFamily> = Vec::new();
        let mut help_for: Option<String> = None;
        for (n, line) in text.lines().enumerate() {
            let err = |why: &str| format!("line {}: {why}: {line}", n + 1);
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, _) = rest
                    .split_once(' ')
                    .ok_or_else(|| err("HELP without text"))?;
                if families.iter().any(|f| f.0 == name) {
                    return Err(err("family repeated"));
                }
                help_for = Some(name.to_string());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest
                    .split_once(' ')
                    .ok_or_else(|| err("TYPE without type"))?;
                if help_for.as_deref() != Some(name) {
                    return Err(err("TYPE not after its HELP"));
                }
                if !["gauge", "counter"].contains(&kind) {
                    return Err(err("unknown type"));
                }
                if kind == "counter" && !name.ends_with("_total") {
                    return Err(err("counter not ending in _total"));
                }
                families.push((name.to_string(), kind.to_string(), Vec::new()));
            } else if line.starts_with('#') || line.is_empty() {
                return Err(err("unexpected comment or blank line"));
            } else {
                let open = line.find('{').ok_or_else(|| err("no labels"))?;
                let name = &line[..open];
                let fam = families
                    .last_mut()
                    .ok_or_else(|| err("sample before TYPE"))?;
                if fam.0 != name {
                    return Err(err("sample outside its family"));
                }
                let rest = line[open + 1..]
                    .strip_prefix("service=\"")
                    .ok_or_else(|| err("no service label"))?;
                // Read an escaped label value up to its closing quote.
                let mut value = String::new();
                let mut chars = rest.char_indices();
                let end = loop {
                    match chars.next() {
                        Some((_, '\\')) => match chars.next() {
                            Some((_, '\\')) => value.push('\\'),
                            Some((_, '"')) => value.push('"'),
                            Some((_, 'n')) => value.push('\n'),
                            _ => return Err(err("bad escape")),
                        },
                        Some((i, '"')) => break i,
                        Some((_, c)) => value.push(c),
                        None => return Err(err("unterminated label")),
                    }
                };
                let sample = rest[end + 1..]
                    .strip_prefix("} ")
                    .ok_or_else(|| err("no value"))?;
                sample
                    .parse::<f64>()
                    .map_err(|_| err("value not a number"))?;
                if fam.2.iter().any(|(s, _)| *s == value) {
                    return Err(err("duplicate sample"));
                }
                fam.2.push((value, sample.to_string()));
            }
        }
        if !text.ends_with('\n') && !text.is_empty() {
            return Err("no final newline".into());
        }
        Ok(families)
    }

    fn value<'a>(parsed: &'a [ParsedFamily], family: &str, service: &str) -> Option<&'a str> {
        parsed
            .iter()
            .find(|f| f.0 == family)
            .and_then(|f| f.2.iter().find(|s| s.0 == service))
            .map(|s| s.1.as_str())
    }

    #[test]
    fn golden_exposition() {
        let web = status("run", 3, LastExit::Code(3));
        let records = [Record {
            name: "web",
            status: &web,
            health: Some(HealthRecord {
                healthy: true,
                failures: 0,
            }),
            restarts_total: Some(2),
        }];
        let now = Tai64n::from_unix(1_800_000_012, 750_000_000);
        let text = render(&records, now);
        let want = "\
# HELP svkit_service_up 1 if the service's run process is running.
# TYPE svkit_service_up gauge
svkit_service_up{service=\"web\"} 1
# HELP svkit_service_ready 1 if the service declared readiness since it was started.
# TYPE svkit_service_ready gauge
svkit_service_ready{service=\"web\"} 1
# HELP svkit_service_healthy 1 if the service's health check passes, 0 while starting or unhealthy.
# TYPE svkit_service_healthy gauge
svkit_service_healthy{service=\"web\"} 1
# HELP svkit_service_health_failures Consecutive failed health probes.
# TYPE svkit_service_health_failures gauge
svkit_service_health_failures{service=\"web\"} 0
# HELP svkit_service_failed 1 if the service reached its restart limit and is no longer restarted.
# TYPE svkit_service_failed gauge
svkit_service_failed{service=\"web\"} 0
# HELP svkit_service_starts_total Times the service's run was started by this supervisor.
# TYPE svkit_service_starts_total counter
svkit_service_starts_total{service=\"web\"} 3
# HELP svkit_service_restarts_total Automatic restarts of the service.
# TYPE svkit_service_restarts_total counter
svkit_service_restarts_total{service=\"web\"} 2
# HELP svkit_service_consecutive_restarts Automatic restarts since the service last ran long enough.
# TYPE svkit_service_consecutive_restarts gauge
svkit_service_consecutive_restarts{service=\"web\"} 1
# HELP svkit_service_last_exit_code Exit code of the last run (128+N for signal N).
# TYPE svkit_service_last_exit_code gauge
svkit_service_last_exit_code{service=\"web\"} 3
# HELP svkit_service_last_exit_signal Signal that ended the last run, 0 if it exited.
# TYPE svkit_service_last_exit_signal gauge
svkit_service_last_exit_signal{service=\"web\"} 0
# HELP svkit_service_state_seconds Seconds since the service's last state change.
# TYPE svkit_service_state_seconds gauge
svkit_service_state_seconds{service=\"web\"} 12.250
";
        assert_eq!(text, want);
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn values_match_the_records_and_odd_names_are_escaped() {
        let a = status("run", 7, LastExit::Signal(9));
        let b = status("down", 0, LastExit::None);
        let odd_name = "we\"ird\\na\nme";
        let records = [
            Record {
                name: "a",
                status: &a,
                health: None,
                restarts_total: None,
            },
            Record {
                name: odd_name,
                status: &b,
                health: Some(HealthRecord {
                    healthy: false,
                    failures: 4,
                }),
                restarts_total: None,
            },
        ];
        // A clock that stepped back shows 0, never a negative age.
        let text = render(&records, Tai64n::from_unix(1_700_000_000, 0));
        let p = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(value(&p, "svkit_service_up", "a"), Some("1"));
        assert_eq!(value(&p, "svkit_service_up", odd_name), Some("0"));
        assert_eq!(value(&p, "svkit_service_starts_total", "a"), Some("7"));
        assert_eq!(value(&p, "svkit_service_last_exit_code", "a"), Some("137"));
        assert_eq!(value(&p, "svkit_service_last_exit_signal", "a"), Some("9"));
        assert_eq!(value(&p, "svkit_service_last_exit_code", odd_name), None);
        assert_eq!(value(&p, "svkit_service_healthy", "a"), None);
        assert_eq!(value(&p, "svkit_service_healthy", odd_name), Some("0"));
        assert_eq!(
            value(&p, "svkit_service_health_failures", odd_name),
            Some("4")
        );
        assert_eq!(value(&p, "svkit_service_state_seconds", "a"), Some("0.000"));
        assert!(!text.contains("svkit_service_restarts_total"));
        assert!(text.contains("service=\"we\\\"ird\\\\na\\nme\""));
        assert_eq!(render(&[], Tai64n::now()), "");
        assert!(names().all(|n| n.starts_with("svkit_service_")));
    }

    #[test]
    fn the_reader_catches_mistakes() {
        for bad in [
            "x{service=\"a\"} 1\n",
            "# HELP a h\n# TYPE a counter\na{service=\"x\"} 1\n",
            "# HELP a h\n# TYPE a gauge\na{service=\"x\"} one\n",
            "# HELP a h\n# TYPE a gauge\na{service=\"x\\q\"} 1\n",
            "# HELP a h\n# TYPE a gauge\na{service=\"x\"} 1\na{service=\"x\"} 2\n",
            "# HELP a h\n# TYPE a gauge\nb{service=\"x\"} 1\n",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn http_answers() {
        let ok =
            String::from_utf8(http_reply(b"GET /metrics HTTP/1.1", || "m 1\n".into())).unwrap();
        assert_eq!(
            ok,
            format!("HTTP/1.0 200 OK\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: 4\r\nConnection: close\r\n\r\nm 1\n")
        );
        let head = http_reply(b"HEAD / HTTP/1.1", || "m 1\n".into());
        assert!(head.ends_with(b"Content-Length: 4\r\nConnection: close\r\n\r\n"));
        let nf = http_reply(b"GET /x HTTP/1.1", || panic!("no body for a 404"));
        assert!(nf.starts_with(b"HTTP/1.0 404 Not Found\r\n"));
        let na = http_reply(b"POST /metrics HTTP/1.1", || panic!("no body for a 405"));
        assert!(na.starts_with(b"HTTP/1.0 405 Method Not Allowed\r\n"));
        assert!(http_reply(b"", String::new).starts_with(b"HTTP/1.0 405"));
        let q = http_reply(b"GET /metrics?x=1 HTTP/1.1", || "b\n".into());
        assert!(q.starts_with(b"HTTP/1.0 200 OK"));
    }
}
