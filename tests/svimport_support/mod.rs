//! Helpers for the svimport tests: running the binary and reading its output.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

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
