//! `status --json`: a small hand-written JSON writer (no serde needed for
//! a handful of flat fields) and the per-service object.
//!
//! Schema (one array, one object per service, in argument order):
//!
//! ```text
//! { "service": "web",              name as given
//!   "dir": "/etc/service/web",     directory used
//!   "supervised": true,            a supervisor listens on supervise/ok
//!   "error": null | "unable to open supervise/ok: file does not exist",
//!   "state": "run"|"down"|"finish"|null,
//!   "pid": 123 | null,
//!   "seconds": 42,                 since the last state change (as sv)
//!   "since": 1795302776.867,       Unix time of that change
//!   "since_utc": "2026-11-21T23:12:56.867Z",   the same in RFC 3339
//!   "normally": "up"|"down",
//!   "want": "up"|"down"|"exit"|"once"|null,
//!   "paused": false, "got_term": false,
//!   "extended": true,              svkit-status present (fields below)
//!   "ready": true|false|null, "ready_since": 1795302777.001|null,
//!   "ready_since_utc": "2026-11-21T23:12:57.001Z"|null,
//!   "starts": 3|null, "restarts": 0|null, "failed": false|null,
//!   "last_exit": {"code": 0} | {"signal": 15} | null,
//!   "log": { same fields, without "log" } | null }
//! ```

use super::probe::{settled_snapshot, Probe, Snapshot};
use crate::errstr::runit_error_str;
use crate::extstatus::LastExit;
use crate::servicedir::{DOWN, LOG_DIR};
use crate::status::Want;
use crate::tai64n::Tai64n;
use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    /// A number already formatted (e.g. fractional seconds).
    Raw(String),
    Str(String),
    Obj(Vec<(&'static str, Json)>),
    Arr(Vec<Json>),
}

impl Json {
    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Raw(s) => out.push_str(s),
            Json::Str(s) => write_str(out, s),
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
            Json::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    v.write(out);
                }
                out.push(']');
            }
        }
    }
}

/// JSON strings are written by the one escaper the event stream uses.
fn write_str(out: &mut String, s: &str) {
    crate::events::json::push_string(out, s);
}

/// Unix time with milliseconds.
fn time(t: Tai64n) -> Json {
    Json::Raw(format!(
        "{}.{:03}",
        t.unix_secs(),
        t.nanos.min(999_999_999) / 1_000_000
    ))
}

/// The same moment in RFC 3339 (UTC), for people and for tools that
/// parse dates rather than numbers.
fn utc(t: Tai64n) -> Json {
    Json::Str(crate::events::event::rfc3339(t))
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
    v.map_or(Json::Null, f)
}

/// The object for one supervised directory (main or log); `errors` counts
/// what the text output would have counted as `fail:`/`warning:`.
fn one(dir: &Path, now: Tai64n, errors: &mut u32) -> Vec<(&'static str, Json)> {
    let normally_up = !dir.join(DOWN).exists();
    let mut f: Vec<(&'static str, Json)> = Vec::new();
    let snap = match settled_snapshot(dir, Duration::from_secs(1)) {
        Ok(s) => Some(s),
        Err(Probe::NotRunning) => {
            *errors += 1;
            f.push(("supervised", Json::Bool(false)));
            f.push(("error", Json::Str("runsv not running".into())));
            None
        }
        Err(Probe::Failed { what, errno }) => {
            *errors += 1;
            let mut msg = what.to_string();
            if let Some(e) = errno {
                msg.push_str(": ");
                msg.push_str(runit_error_str(e));
            }
            f.push(("supervised", Json::Null));
            f.push(("error", Json::Str(msg)));
            None
        }
        Err(Probe::Alive(_)) => None,
    };
    let Some(Snapshot { status: st, ext }) = snap else {
        f.push((
            "normally",
            Json::Str(if normally_up { "up" } else { "down" }.into()),
        ));
        return f;
    };
    f.push(("supervised", Json::Bool(true)));
    f.push(("error", Json::Null));
    let state = st.state().map(|s| s.word());
    f.push(("state", opt(state, |s| Json::Str(s.into()))));
    f.push((
        "pid",
        if st.pid != 0 {
            Json::Int(st.pid.into())
        } else {
            Json::Null
        },
    ));
    f.push((
        "seconds",
        Json::Int(now.label.saturating_sub(st.stamp.label) as i64),
    ));
    f.push(("since", time(st.stamp)));
    f.push(("since_utc", utc(st.stamp)));
    f.push((
        "normally",
        Json::Str(if normally_up { "up" } else { "down" }.into()),
    ));
    let want = match &ext {
        Some(e) => Some(e.want.word()),
        // daemontools writes 0 after `svc -o`.
        None => match st.want_byte {
            0 => Some("once"),
            b if b == Want::Up.byte() => Some("up"),
            b if b == Want::Down.byte() => Some("down"),
            _ => None,
        },
    };
    f.push(("want", opt(want, |w| Json::Str(w.into()))));
    f.push(("paused", Json::Bool(st.paused)));
    f.push(("got_term", Json::Bool(st.got_term)));
    f.push(("extended", Json::Bool(ext.is_some())));
    let e = ext.as_ref();
    f.push(("ready", opt(e, |e| Json::Bool(e.ready))));
    f.push(("ready_since", opt(e.and_then(|e| e.ready_since), time)));
    f.push(("ready_since_utc", opt(e.and_then(|e| e.ready_since), utc)));
    f.push(("starts", opt(e, |e| Json::Int(e.starts as i64))));
    f.push(("restarts", opt(e, |e| Json::Int(e.restarts as i64))));
    f.push(("failed", opt(e, |e| Json::Bool(e.failed))));
    let last = e.and_then(|e| match e.last_exit {
        LastExit::None => None,
        LastExit::Code(c) => Some(Json::Obj(vec![("code", Json::Int(c.into()))])),
        LastExit::Signal(s) => Some(Json::Obj(vec![("signal", Json::Int(s.into()))])),
    });
    f.push(("last_exit", last.unwrap_or(Json::Null)));
    f
}

/// The JSON object of one service, with its `log` part.
pub fn service(name: &str, dir: &Path, errors: &mut u32) -> Json {
    let now = Tai64n::now();
    let mut fields = vec![
        ("service", Json::Str(name.into())),
        ("dir", Json::Str(dir.to_string_lossy().into_owned())),
    ];
    if let Err(e) = super::resolve::enter_check(dir) {
        *errors += 1;
        fields.push(("supervised", Json::Null));
        fields.push((
            "error",
            Json::Str(format!(
                "unable to change to service directory: {}",
                runit_error_str(e)
            )),
        ));
        fields.push(("log", Json::Null));
        return Json::Obj(fields);
    }
    fields.extend(one(dir, now, errors));
    let log_dir = dir.join(LOG_DIR);
    let log = if log_dir.is_dir() {
        Json::Obj(one(&log_dir, now, errors))
    } else {
        Json::Null
    };
    fields.push(("log", log));
    Json::Obj(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nests() {
        let j = Json::Arr(vec![Json::Obj(vec![
            ("a", Json::Str("q\"\\\n\u{1}".into())),
            ("b", Json::Null),
            ("c", Json::Bool(true)),
            ("d", Json::Int(-3)),
        ])]);
        let mut s = String::new();
        j.write(&mut s);
        assert_eq!(s, r#"[{"a":"q\"\\\n\u0001","b":null,"c":true,"d":-3}]"#);
    }
}
