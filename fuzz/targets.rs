//! The fuzz targets' bodies, shared by the cargo-fuzz binaries in
//! `fuzz/fuzz_targets/` (nightly, coverage-guided) and by
//! `tests/fuzz_corpus.rs` (stable `cargo test`, which replays every saved
//! input under `fuzz/corpus/` and `fuzz/regressions/`).
//!
//! Each body feeds arbitrary bytes to one parser of input that someone
//! else writes (a file in a service directory, a command line, a status
//! file another process wrote, a peer's HTTP answer) and checks what must
//! hold for every input: no panic, and where the format has an encoder,
//! that decoding what was encoded gives the same value back.
#![allow(dead_code)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

/// A target's body: arbitrary bytes in, a panic on a violated rule.
pub type Body = fn(&[u8]);

/// Every target by name: the name is the directory of its corpus.
pub const ALL: &[(&str, Body)] = &[
    ("status", status),
    ("extstatus", extstatus),
    ("event", event),
    ("tai64n_label", tai64n_label),
    ("svlog_config", svlog_config),
    ("svlog_args", svlog_args),
    ("chpst_args", chpst_args),
    ("svctl_args", svctl_args),
    ("envdump", envdump),
    ("exitcode", exitcode),
    ("health_url", health_url),
    ("health_config", health_config),
    ("http_head", http_head),
    ("hosts", hosts),
    ("supervisord_ini", supervisord_ini),
    ("procfile", procfile),
    ("shellwords", shellwords),
    ("fnmatch", fnmatch),
    ("schedule", schedule),
    ("tzif", tzif),
    ("posix_tz", posix_tz),
    ("instances", instances),
    ("oneshot_script", oneshot_script),
];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// Splits the input at NUL bytes into an argv (the first word is argv[0]).
fn argv(data: &[u8]) -> Vec<OsString> {
    data.split(|&b| b == 0)
        .map(|w| OsString::from_vec(w.to_vec()))
        .collect()
}

/// runit's 20-byte `supervise/status` (and daemontools' 18-byte one): any
/// bytes another process left there decode or are refused, and a decoded
/// record encodes back to the same bytes.
pub fn status(data: &[u8]) {
    if let Some(s) = svkit::status::Status::decode(data) {
        let again = svkit::status::Status::decode(&s.encode()).expect("own encoding decodes");
        assert_eq!(again.encode(), s.encode());
    }
}

/// `supervise/svkit-status`, the text record svctl reads.
pub fn extstatus(data: &[u8]) {
    if let Some(s) = svkit::extstatus::ExtStatus::decode(&text(data)) {
        let encoded = s.encode();
        let again = svkit::extstatus::ExtStatus::decode(&encoded).expect("own encoding decodes");
        assert_eq!(again.encode(), encoded);
    }
}

/// One line of the event stream, as a subscriber reads it.
pub fn event(data: &[u8]) {
    if let Ok(e) = svkit::events::event::Event::decode(&text(data)) {
        let line = e.encode();
        let again = svkit::events::event::Event::decode(&line).expect("own encoding decodes");
        assert_eq!(again.encode(), line);
    }
}

/// svlogd's `@4000...` file names in a log directory.
pub fn tai64n_label(data: &[u8]) {
    if let Some(t) = svkit::tai64n::Tai64n::parse_hex_label(&text(data)) {
        let label = t.to_hex_label();
        let again = svkit::tai64n::Tai64n::parse_hex_label(&label).expect("own label parses");
        assert_eq!(again.to_hex_label(), label);
    }
}

/// A log directory's `config` file.
pub fn svlog_config(data: &[u8]) {
    let _ = svkit::svlog::config::parse(data);
}

pub fn svlog_args(data: &[u8]) {
    let _ = svkit::svlog::options::parse(&argv(data));
}

/// chpst's command line under each of its names.
pub fn chpst_args(data: &[u8]) {
    use svkit::chpst::mode::Mode;
    let args = argv(data);
    for mode in [
        Mode::Chpst,
        Mode::Setuidgid,
        Mode::Envuidgid,
        Mode::Envdir,
        Mode::Pgrphack,
        Mode::Setlock,
        Mode::Softlimit,
    ] {
        let _ = svkit::chpst::parse::parse(mode, &args);
    }
    let _ = svkit::chpst::limits::parse_decimal(data);
    let _ = svkit::chpst::accounts::parse_id(data);
}

pub fn svctl_args(data: &[u8]) {
    let args = argv(data);
    let _ = svkit::svctl::args::parse(&args);
    let _ = svkit::svctl::exec::parse(&args);
    let _ = svkit::svctl::envcmd::parse(&args);
    let _ = svkit::svctl::halt::parse_code(&args);
    let word = text(data);
    let _ = svkit::svctl::commands::parse(&word, false);
    let _ = svkit::svctl::commands::parse(&word, true);
}

/// A value in the container environment dump (`RUNDIR/env/NAME`).
pub fn envdump(data: &[u8]) {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use svkit::container::envdump::*;
    if let Some(v) = decode_value(data) {
        let encoded = encode_value(&v);
        assert_eq!(decode_value(&encoded).as_deref(), Some(v.as_os_str()));
    }
    let _ = shell_quote(OsStr::from_bytes(data));
    let _ = is_envdir_name(OsStr::from_bytes(data));
    let _ = is_shell_name(OsStr::from_bytes(data));
}

/// `SVSCAN_EXIT_REMAP` and friends.
pub fn exitcode(data: &[u8]) {
    let _ = svkit::container::exitcode::parse_remap(&text(data));
}

/// The target line of a `health` file.
pub fn health_url(data: &[u8]) {
    let _ = svkit::health::url::Target::parse(&text(data));
}

pub fn health_config(data: &[u8]) {
    let s = text(data);
    let _ = svkit::health::config::parse_timing(&s);
    let _ = svkit::health::config::parse_action(&s);
}

/// An HTTP response head from the service being probed, whole and cut at
/// every length a slow peer could deliver.
pub fn http_head(data: &[u8]) {
    for cut in [data.len(), data.len() / 2, data.len().saturating_sub(1)] {
        let _ = svkit::health::http::parse(&data[..cut], false);
        let _ = svkit::health::http::parse(&data[..cut], true);
    }
    let mut first = svkit::health::firstline::FirstLine::new();
    first.feed(data);
    let _ = first.text();
}

/// `/etc/hosts` lines and a name to look up (split at the first NUL).
pub fn hosts(data: &[u8]) {
    let mut parts = data.splitn(2, |&b| b == 0);
    let file = text(parts.next().unwrap_or_default());
    let name = text(parts.next().unwrap_or_default());
    let _ = svkit::health::hosts::lookup(&file, &name);
}

/// A supervisord.conf, read and converted.
pub fn supervisord_ini(data: &[u8]) {
    use svkit::svimport::*;
    let mut ini = ini::Ini::default();
    if ini
        .read_str(&text(data), Path::new("/fuzz/supervisord.conf"))
        .is_ok()
    {
        let opts = supervisord::Options {
            env: Default::default(),
            host_node_name: "fuzz".into(),
        };
        let _ = supervisord::convert_ini(&ini, "/fuzz".into(), &opts, Default::default());
    }
}

pub fn procfile(data: &[u8]) {
    let _ = svkit::svimport::procfile::convert_str(&text(data), Path::new("/fuzz/Procfile"), 5000);
}

pub fn shellwords(data: &[u8]) {
    let s = text(data);
    let _ = svkit::svimport::shellwords::split_posix(&s);
    let _ = svkit::svimport::shellwords::tokens_classic(&s);
    let _ = svkit::svimport::expand::expand_with(&s, &|_| None);
}

/// A pattern and a name (split at the first NUL).
pub fn fnmatch(data: &[u8]) {
    let mut parts = data.splitn(2, |&b| b == 0);
    let pattern = text(parts.next().unwrap_or_default());
    let name = text(parts.next().unwrap_or_default());
    let _ = svkit::svimport::fnmatch::fnmatch(&pattern, &name);
}

/// A job's `schedule` file; for a cron expression, the next due times
/// from a few instants (including the extremes) never panic, and each is
/// later than the instant asked about.
pub fn schedule(data: &[u8]) {
    use svkit::schedule::{next::next_after, spec::Spec, zone::Zone};
    let s = text(data);
    let _ = svkit::schedule::spec::parse_duration(&s);
    if let Ok(Spec::Cron(expr)) = Spec::parse(&s) {
        for t in [i64::MIN, -1, 0, 1_700_000_000, i64::MAX / 2, i64::MAX] {
            if let Some(next) = next_after(&expr, &Zone::Utc, t) {
                assert!(next > t, "next {next} not after {t}");
            }
        }
    }
}

/// A TZif zone file as found under /usr/share/zoneinfo.
pub fn tzif(data: &[u8]) {
    if let Ok(z) = svkit::schedule::zone::Tzif::parse(data) {
        for t in [i64::MIN, 0, 1_700_000_000, i64::MAX] {
            let _ = z.offset_at(t);
        }
    }
}

/// A POSIX `TZ` string (`CET-1CEST,M3.5.0,M10.5.0/3`).
pub fn posix_tz(data: &[u8]) {
    if let Some(z) = svkit::schedule::posixtz::PosixTz::parse(&text(data)) {
        for t in [i64::MIN, 0, 1_700_000_000, i64::MAX] {
            let _ = z.offset_at(t);
        }
    }
}

/// A template's `instances` file and the service names made from it.
pub fn instances(data: &[u8]) {
    let s = text(data);
    if let Ok(names) = svkit::instances::parse(&s) {
        let _ = svkit::instances::plan(&Default::default(), Some(&names));
    }
    let _ = svkit::instances::Selector::parse(&s).matches(&s);
}

/// An s6-rc oneshot's `up`/`down` text and its `timeout-up` value.
pub fn oneshot_script(data: &[u8]) {
    let s = text(data);
    let _ = svkit::order::script::lex(&s);
    let _ = svkit::order::source::parse_timeout(&s);
    let _ = svkit::order::source::check_name(&s);
}
