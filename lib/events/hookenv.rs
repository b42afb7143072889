//! The environment a hook in `event.d/` runs with: the container's
//! environment, minus every variable below, plus those the event has.
//!
//! | variable | value | when |
//! |---|---|---|
//! | `SVKIT_EVENT` | the kind: `started`, `up`, `ready`, `exited`, `restart-scheduled`, `failed`, `unhealthy`, `healthy`, `down`, `done` | always |
//! | `SVKIT_SERVICE` | the service directory's name | always |
//! | `SVKIT_SERVICE_DIR` | its absolute path | always |
//! | `SVKIT_SEQ` | the supervisor's event number | always |
//! | `SVKIT_TIME` | RFC 3339 UTC, milliseconds (`2026-11-21T23:18:17.545Z`) | always |
//! | `SVKIT_TAI64N` | `@` + 24 hex digits | always |
//! | `SVKIT_RESTARTS` | consecutive automatic restarts | always |
//! | `SVKIT_PID` | pid of `run` | started, up, ready, exited |
//! | `SVKIT_EXIT_CODE` | exit code | exited / failed oneshot, by exit |
//! | `SVKIT_EXIT_SIGNAL`, `SVKIT_EXIT_SIGNAL_NAME` | `15`, `SIGTERM` | the same, by signal |
//! | `SVKIT_DELAY_MS` | delay before the restart | restart-scheduled |
//! | `SVKIT_REASON` | `restart-limit` or `oneshot` | failed |
//! | `SVKIT_FAILURES` | consecutive probe failures | unhealthy |
//! | `SVKIT_OUTPUT` | the last failed probe's first output line | unhealthy |
//!
//! Removing all of them first means a hook never sees a stale value: an
//! `exited` by signal has no `SVKIT_EXIT_CODE` even if the container's
//! environment happened to set one.

use super::event::{fields, rfc3339, Event};
use std::ffi::CString;
use std::path::Path;

/// Every variable this module may set (and so removes from the base).
pub const VARIABLES: [&str; 15] = [
    "SVKIT_EVENT",
    "SVKIT_SERVICE",
    "SVKIT_SERVICE_DIR",
    "SVKIT_SEQ",
    "SVKIT_TIME",
    "SVKIT_TAI64N",
    "SVKIT_RESTARTS",
    "SVKIT_PID",
    "SVKIT_EXIT_CODE",
    "SVKIT_EXIT_SIGNAL",
    "SVKIT_EXIT_SIGNAL_NAME",
    "SVKIT_DELAY_MS",
    "SVKIT_REASON",
    "SVKIT_FAILURES",
    "SVKIT_OUTPUT",
];

/// The event's variables as `(name, value)`, in the table's order.
pub fn variables(e: &Event, service_dir: &Path) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("SVKIT_EVENT", e.kind.word().to_string()),
        ("SVKIT_SERVICE", e.service.clone()),
        (
            "SVKIT_SERVICE_DIR",
            service_dir.to_string_lossy().into_owned(),
        ),
        ("SVKIT_SEQ", e.seq.to_string()),
        ("SVKIT_TIME", rfc3339(e.time)),
        ("SVKIT_TAI64N", e.time.to_hex_label()),
    ];
    let mut restarts = String::new();
    for (key, value) in fields(e) {
        match key {
            "pid" => v.push(("SVKIT_PID", value)),
            "exit" => v.push(("SVKIT_EXIT_CODE", value)),
            "signal" => {
                let name = value
                    .parse()
                    .map(crate::child::signal_name)
                    .unwrap_or_default();
                v.push(("SVKIT_EXIT_SIGNAL", value));
                v.push(("SVKIT_EXIT_SIGNAL_NAME", name));
            }
            "delay_ms" => v.push(("SVKIT_DELAY_MS", value)),
            "reason" => v.push(("SVKIT_REASON", value)),
            "failures" => v.push(("SVKIT_FAILURES", value)),
            "output" => v.push(("SVKIT_OUTPUT", value)),
            "restarts" => restarts = value,
            _ => {}
        }
    }
    v.insert(6, ("SVKIT_RESTARTS", restarts));
    v
}

/// The whole environment for a hook: `base` (`NAME=value` strings, the
/// container's environment) without [`VARIABLES`], then the event's. A
/// NUL in a value (impossible in a path or service name; possible in
/// nothing svkit writes) is replaced by `?` rather than dropping the
/// variable.
pub fn environment(base: &[CString], e: &Event, service_dir: &Path) -> Vec<CString> {
    let ours = |kv: &CString| {
        let b = kv.as_bytes();
        VARIABLES.iter().any(|name| {
            b.len() > name.len() && b.starts_with(name.as_bytes()) && b[name.len()] == b'='
        })
    };
    let mut env: Vec<CString> = base.iter().filter(|kv| !ours(kv)).cloned().collect();
    for (name, value) in variables(e, service_dir) {
        let mut bytes = Vec::with_capacity(name.len() + 1 + value.len());
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(b'=');
        bytes.extend(value.bytes().map(|b| if b == 0 { b'?' } else { b }));
        if let Ok(kv) = CString::new(bytes) {
            env.push(kv);
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::super::event::tests::{ev, every_kind};
    use super::super::event::{Ended, FailReason, Kind};
    use super::*;
    use std::time::Duration;

    fn vars(k: Kind) -> Vec<(&'static str, String)> {
        variables(&ev(k), Path::new("/etc/service/web"))
    }

    fn common() -> Vec<(&'static str, String)> {
        vec![
            ("SVKIT_SERVICE", "web".into()),
            ("SVKIT_SERVICE_DIR", "/etc/service/web".into()),
            ("SVKIT_SEQ", "17".into()),
            ("SVKIT_TIME", "2026-11-21T23:18:17.545Z".into()),
            ("SVKIT_TAI64N", "@400000006b0226c3207ca67f".into()),
            ("SVKIT_RESTARTS", "2".into()),
        ]
    }

    fn expect(event: &str, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        let mut v = vec![("SVKIT_EVENT", event.to_string())];
        v.extend(common());
        v.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        v
    }

    #[test]
    fn each_kind_sets_its_facts() {
        assert_eq!(
            vars(Kind::Exited {
                pid: 42,
                how: Ended::Code(3)
            }),
            expect("exited", &[("SVKIT_PID", "42"), ("SVKIT_EXIT_CODE", "3")])
        );
        assert_eq!(
            vars(Kind::Exited {
                pid: 42,
                how: Ended::Signal(9)
            }),
            expect(
                "exited",
                &[
                    ("SVKIT_PID", "42"),
                    ("SVKIT_EXIT_SIGNAL", "9"),
                    ("SVKIT_EXIT_SIGNAL_NAME", "SIGKILL")
                ]
            )
        );
        assert_eq!(
            vars(Kind::RestartScheduled {
                delay: Duration::from_millis(250)
            }),
            expect("restart-scheduled", &[("SVKIT_DELAY_MS", "250")])
        );
        assert_eq!(
            vars(Kind::Failed {
                reason: FailReason::RestartLimit
            }),
            expect("failed", &[("SVKIT_REASON", "restart-limit")])
        );
        assert_eq!(
            vars(Kind::Unhealthy {
                failures: 3,
                output: "refused".into()
            }),
            expect(
                "unhealthy",
                &[("SVKIT_FAILURES", "3"), ("SVKIT_OUTPUT", "refused")]
            )
        );
        assert_eq!(vars(Kind::Down), expect("down", &[]));
        for k in every_kind() {
            for (name, _) in vars(k) {
                assert!(VARIABLES.contains(&name), "{name}");
            }
        }
    }

    #[test]
    fn stale_values_are_removed_and_the_rest_kept() {
        let base: Vec<CString> = [
            "PATH=/bin",
            "SVKIT_EXIT_CODE=99",
            "SVKIT_EXIT_CODEX=kept",
            "SVKIT_WEBHOOK_URL=http://x/",
            "SVKIT_PID",
        ]
        .iter()
        .map(|s| CString::new(*s).unwrap())
        .collect();
        let e = ev(Kind::Exited {
            pid: 7,
            how: Ended::Signal(15),
        });
        let env = environment(&base, &e, Path::new("/s/web"));
        let strs: Vec<&str> = env.iter().map(|c| c.to_str().unwrap()).collect();
        assert!(strs.contains(&"PATH=/bin"));
        assert!(strs.contains(&"SVKIT_EXIT_CODEX=kept"));
        assert!(strs.contains(&"SVKIT_WEBHOOK_URL=http://x/"));
        assert!(
            strs.contains(&"SVKIT_PID"),
            "not NAME=value: not ours to judge"
        );
        assert!(!strs.iter().any(|s| s.starts_with("SVKIT_EXIT_CODE=")));
        assert!(strs.contains(&"SVKIT_EXIT_SIGNAL_NAME=SIGTERM"));
        assert!(strs.contains(&"SVKIT_PID=7"));
        let mut nul = ev(Kind::Unhealthy {
            failures: 1,
            output: "a\0b".into(),
        });
        nul.service = "web".into();
        let env = environment(&[], &nul, Path::new("/s/web"));
        assert!(env.iter().any(|c| c.to_bytes() == b"SVKIT_OUTPUT=a?b"));
    }
}
