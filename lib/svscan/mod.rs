//! svscan: watches a scan directory, keeps one `supervise` per service,
//! and as PID 1 (or child subreaper) reaps every zombie and turns a stop
//! request into an orderly shutdown bounded by one deadline.

mod boot;
mod cli;
mod command;
mod daemon;
mod error;
mod essential;
mod gate;
mod lock;
mod logpipe;
mod options;
mod prefix;
mod ready;
mod reaper;
mod scan;
mod schedule;
mod services;
mod shutdown;
mod signals;
mod spawn;
mod stop;
mod table;
mod watch;

pub use boot::PID_FILE;
pub use cli::{command, parse, Parsed, UsageError, USAGE};
pub use error::Fatal;
pub use logpipe::ENV_LOG_PIPE;
pub use options::*;

/// Program name in messages.
pub const PROG: &str = "svscan";

pub use signals::Signals;

/// Blocks svscan's signals and opens its signalfd. Call first thing in
/// `main`: until then a TERM to PID 1 is dropped by the kernel, and
/// nothing may be forked before it.
pub fn install_signals() -> Result<Signals, Fatal> {
    Signals::install().map_err(Fatal::Signals)
}

/// Runs svscan; returns its exit code (see svscan(8)), or why it could
/// not run.
pub fn run(opts: Options, signals: Signals) -> Result<i32, Fatal> {
    daemon::run(opts, signals)
}

#[cfg(test)]
mod tests {
    /// The modules' `use super::x` form a tree: no module reaches back to
    /// one that uses it (the event loop on top, the deciding parts below).
    #[test]
    fn no_import_cycles() {
        use std::collections::HashMap;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lib/svscan");
        let mut deps: HashMap<String, Vec<String>> = HashMap::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if name == "mod" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let mut uses: Vec<String> = code
                .match_indices("super::")
                .map(|(at, _)| {
                    code[at + 7..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect()
                })
                .filter(|m: &String| !m.is_empty() && *m != name)
                .collect();
            uses.sort();
            uses.dedup();
            deps.insert(name, uses);
        }
        assert!(deps.contains_key("daemon"), "{deps:?}");
        fn visit(m: &str, deps: &HashMap<String, Vec<String>>, path: &mut Vec<String>) {
            assert!(
                !path.iter().any(|p| p == m),
                "import cycle: {path:?} -> {m}"
            );
            path.push(m.to_string());
            for d in deps.get(m).into_iter().flatten() {
                visit(d, deps, path);
            }
            path.pop();
        }
        for m in deps.keys() {
            visit(m, &deps, &mut Vec::new());
        }
    }
}
