//! svctl on hostile input (issue 13, finding 7): a wait far beyond what
//! `Instant` can hold is saturated, never an abort.

mod common;

use common::TempDir;
use std::process::Command;

#[test]
fn huge_svwait_does_not_abort() {
    let tmp = TempDir::new("svctl-huge-wait");
    // No service directory: svctl reports the service as failed at once;
    // before the fix it aborted computing the deadline first.
    for (env, extra) in [
        ("99999999999999999999", &[][..]),
        ("18446744073709551615", &[][..]),
        ("1", &["-w", "99999999999999999999"][..]),
    ] {
        let mut args = vec!["-v"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["up", "web"]);
        let out = Command::new(common::bin("svctl"))
            .args(&args)
            .env("SVDIR", tmp.path())
            .env("SVWAIT", env)
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&out.stderr);
        let o = String::from_utf8_lossy(&out.stdout);
        assert!(!e.contains("panicked"), "{e}");
        assert!(out.status.code().is_some_and(|c| c != 101), "{e}");
        assert!(o.contains("web"), "{o}{e}");
    }
}
