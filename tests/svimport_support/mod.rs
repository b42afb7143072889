//! Helpers for the svimport tests: the root gate and running the binary.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Tests that need root (PID namespaces) call this first. As a non-root
/// user they are skipped with a printed reason, unless
/// `SVKIT_TEST_REQUIRE_ALL=1`, where a skip is a failure.
pub fn require_root(group: &str) -> bool {
    if crate::common::is_root() {
        return true;
    }
    if std::env::var("SVKIT_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!("{group}: needs root, and SVKIT_TEST_REQUIRE_ALL=1 forbids skipping");
    }
    eprintln!("skipped {group}: needs root (private PID namespaces)");
    false
}

pub fn svimport_bin() -> &'static str {
    env!("CARGO_BIN_EXE_svimport")
}

/// Runs svimport with `args`, in `cwd`.
pub fn svimport(cwd: &Path, args: &[&str]) -> Output {
    Command::new(svimport_bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run svimport")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `PATH` with the directory of the built binaries first, so generated
/// run scripts find `chpst` and `svlog`.
pub fn path_with_bins() -> String {
    let dir = Path::new(svimport_bin())
        .parent()
        .unwrap()
        .display()
        .to_string();
    format!(
        "{dir}:{}",
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    )
}
