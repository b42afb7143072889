//! `svctl metrics` output (lib/metrics.rs) passes Prometheus's own linter,
//! `promtool check metrics`, where promtool is installed (Debian package
//! `prometheus`); without it this test says so and the strict parser of
//! lib/metrics.rs's unit tests is the check.

use std::io::Write;
use std::process::{Command, Stdio};
use svkit::extstatus::{ExtStatus, LastExit, WantWord};
use svkit::metrics::{render, HealthRecord, Record};
use svkit::tai64n::Tai64n;

fn promtool() -> Option<&'static str> {
    ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

#[test]
fn promtool_accepts_the_exposition() {
    let Some(promtool) = promtool() else {
        if std::env::var_os("SVKIT_TEST_REQUIRE_ALL").is_some_and(|v| v == "1") {
            panic!("promtool missing (Debian package prometheus) and SVKIT_TEST_REQUIRE_ALL=1 forbids skipping");
        }
        eprintln!("svkit tests: promtool not installed (Debian package prometheus): metrics checked by the unit-test parser only");
        return;
    };
    let status = |state: &str, last_exit| ExtStatus {
        state: state.into(),
        want: WantWord::Up,
        since: Tai64n::from_unix(1_800_000_000, 0),
        ready: state == "run",
        starts: 4,
        restarts: 1,
        last_exit,
        ..ExtStatus::default()
    };
    let (a, b, c) = (
        status("run", LastExit::Code(3)),
        status("down", LastExit::Signal(15)),
        status("finish", LastExit::None),
    );
    let records = [
        Record {
            name: "web",
            status: &a,
            health: Some(HealthRecord {
                healthy: true,
                failures: 0,
            }),
            restarts_total: Some(3),
        },
        Record {
            name: "we\"ird\\name\nx",
            status: &b,
            health: None,
            restarts_total: Some(0),
        },
        Record {
            name: "db",
            status: &c,
            health: Some(HealthRecord {
                healthy: false,
                failures: 7,
            }),
            restarts_total: None,
        },
    ];
    let text = render(&records, Tai64n::from_unix(1_800_000_100, 250_000_000));
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool: {said}\n{text}");
    // Lint findings are printed even on success.
    assert_eq!(said.trim(), "", "promtool lint: {said}\n{text}");
}
