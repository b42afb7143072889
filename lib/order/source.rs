//! Reading an s6-rc source directory: one subdirectory per service
//! definition, one small file per setting (s6-rc-compile's source format).
//!
//! For every definition directory NAME (entries starting with `.` and
//! non-directories are skipped, as s6-rc-compile does):
//! - `type`: `longrun`, `oneshot` or `bundle`. s6-rc requires it; svkit
//!   defaults to `longrun`, so a plain runit service directory reads as a
//!   longrun with no dependencies, and a directory with `contents.d/` but
//!   neither `type` nor `run` as a bundle.
//! - `dependencies.d/` (one empty file per name) and the older
//!   `dependencies` file (one name per line, leading blanks ignored, `#`
//!   lines ignored): what an atomic service needs. Both are read.
//! - bundles: `contents.d/` and the older `contents` file, the same way.
//! - `timeout-up`, `timeout-down`: milliseconds, `0` or absent = none.
//! - oneshots: `up` (required) and `down` (optional); see [`super::script`].
//! - longruns: `run` (a regular file), `notification-fd` / `check`
//!   (how readiness is known), `producer-for`, `consumer-for` and
//!   `pipeline-name` (s6-rc pipelines).
//! - `flag-essential`: present = essential.
//!
//! A definition that cannot be used becomes a [`Problem`] naming it and
//! the file; the rest of the tree is still read.

use super::script::{self, Script};
use crate::servicedir;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

// File names of s6-rc's source format (svkit's servicedir.rs owns the
// runit/s6 ones: run, check, notification-fd).
pub const TYPE: &str = "type";
pub const DEPENDENCIES_DIR: &str = "dependencies.d";
pub const DEPENDENCIES_FILE: &str = "dependencies";
pub const CONTENTS_DIR: &str = "contents.d";
pub const CONTENTS_FILE: &str = "contents";
pub const UP: &str = "up";
pub const DOWN: &str = "down";
pub const TIMEOUT_UP: &str = "timeout-up";
pub const TIMEOUT_DOWN: &str = "timeout-down";
pub const PRODUCER_FOR: &str = "producer-for";
pub const CONSUMER_FOR: &str = "consumer-for";
pub const PIPELINE_NAME: &str = "pipeline-name";
pub const FLAG_ESSENTIAL: &str = "flag-essential";

/// Name prefixes s6-rc reserves for its own services.
pub const RESERVED_PREFIXES: [&str; 2] = ["s6rc-", "s6-rc-"];

/// What a definition is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A supervised service (`run`).
    Longrun { readiness: Readiness },
    /// A job run to completion: `up` at start, `down` at shutdown.
    Oneshot { up: Script, down: Script },
    /// A name for a group.
    Bundle { contents: Vec<String> },
}

/// When a started longrun counts as up for what depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// The first line on its `notification-fd`.
    NotificationFd,
    /// Its `check` exiting 0.
    Check,
    /// Once started.
    Started,
}

/// One service definition, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    pub dir: PathBuf,
    pub kind: Kind,
    /// Direct dependencies, sorted, without duplicates (empty for bundles:
    /// s6-rc gives bundles none).
    pub dependencies: Vec<String>,
    pub timeout_up: Option<Duration>,
    pub timeout_down: Option<Duration>,
    pub essential: bool,
    /// Longruns: the consumer this one's stdout feeds.
    pub producer_for: Option<String>,
    /// Longruns: the producers whose stdout this one reads.
    pub consumer_for: Vec<String>,
    /// Longruns that are a last consumer: a bundle of the whole pipeline.
    pub pipeline_name: Option<String>,
}

impl Definition {
    /// A longrun with default settings (used for programmatic trees and
    /// tests).
    pub fn longrun(name: &str, readiness: Readiness, dependencies: &[&str]) -> Self {
        Self::new(name, Kind::Longrun { readiness }, dependencies)
    }

    /// A oneshot with the given scripts.
    pub fn oneshot(name: &str, up: Script, down: Script, dependencies: &[&str]) -> Self {
        Self::new(name, Kind::Oneshot { up, down }, dependencies)
    }

    /// A bundle.
    pub fn bundle(name: &str, contents: &[&str]) -> Self {
        let contents = contents.iter().map(|s| s.to_string()).collect();
        Self::new(name, Kind::Bundle { contents }, &[])
    }

    fn new(name: &str, kind: Kind, dependencies: &[&str]) -> Self {
        let deps: BTreeSet<String> = dependencies.iter().map(|s| s.to_string()).collect();
        Definition {
            name: name.to_string(),
            dir: PathBuf::from(name),
            kind,
            dependencies: deps.into_iter().collect(),
            timeout_up: None,
            timeout_down: None,
            essential: false,
            producer_for: None,
            consumer_for: Vec::new(),
            pipeline_name: None,
        }
    }
}

/// A definition (or one of its files) that cannot be used, as one line:
/// `NAME: why` (the why names the file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub service: String,
    pub why: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.service, self.why)
    }
}

/// What reading a tree gave: the usable definitions, the names of those
/// that were refused (they exist, so what depends on them is blocked,
/// not waiting), and one problem line each (plus warnings).
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub definitions: Vec<Definition>,
    pub refused: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl Tree {
    /// Adds another tree's definitions (s6-rc-compile takes several source
    /// directories; a name defined twice is refused the second time).
    pub fn merge(&mut self, other: Tree) {
        let mut seen: BTreeSet<String> = self.definitions.iter().map(|d| d.name.clone()).collect();
        seen.extend(self.refused.iter().map(|p| p.service.clone()));
        for d in other.definitions {
            if seen.insert(d.name.clone()) {
                self.definitions.push(d);
            } else {
                self.warnings.push(Problem {
                    why: format!("{}: duplicate definition ignored", d.dir.display()),
                    service: d.name,
                });
            }
        }
        self.refused.extend(other.refused);
        self.warnings.extend(other.warnings);
    }
}

/// Reads every definition under `root`. `execlineb` is where execlineb is
/// installed, if it is (see [`script::resolve`]).
///
/// # Errors
/// Only when `root` itself cannot be listed; a bad definition is a
/// [`Problem`] in the result.
pub fn read_tree(root: &Path, execlineb: Option<&Path>) -> std::io::Result<Tree> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let os = entry.file_name();
        if os.as_encoded_bytes().first() == Some(&b'.') {
            continue;
        }
        // Follows symlinks, as s6-rc-compile's stat does.
        if !entry.path().is_dir() {
            continue;
        }
        names.push(os);
    }
    names.sort();
    let mut tree = Tree::default();
    for os in names {
        let dir = root.join(&os);
        let Some(name) = os.to_str() else {
            tree.refused.push(Problem {
                service: os.to_string_lossy().into_owned(),
                why: format!("{}: name is not UTF-8", dir.display()),
            });
            continue;
        };
        match read_definition(&dir, name, execlineb) {
            Ok((def, warnings)) => {
                tree.definitions.push(def);
                tree.warnings.extend(warnings);
            }
            Err(p) => tree.refused.push(p),
        }
    }
    Ok(tree)
}

/// Whether `name` can name a service (s6-rc-compile's rules).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!("invalid name {name:?}"));
    }
    if name.contains('/') || name.contains('\n') {
        return Err(format!(
            "invalid name {name:?}: contains a slash or a newline"
        ));
    }
    if let Some(p) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(*p)) {
        return Err(format!("invalid name {name:?}: the prefix {p} is reserved"));
    }
    Ok(())
}

/// Reads one definition directory. Returns it with its warnings, or the
/// one problem that makes it unusable.
pub fn read_definition(
    dir: &Path,
    name: &str,
    execlineb: Option<&Path>,
) -> Result<(Definition, Vec<Problem>), Problem> {
    let refuse = |why: String| Problem {
        service: name.to_string(),
        why,
    };
    check_name(name).map_err(&refuse)?;
    let mut warnings = Vec::new();
    let file = |f: &str| dir.join(f);
    let exists = |f: &str| file(f).symlink_metadata().is_ok();

    let kind_word = match read_small(&file(TYPE)).map_err(&refuse)? {
        Some(t) => t.trim().to_string(),
        None if !exists(servicedir::RUN) && (exists(CONTENTS_DIR) || exists(CONTENTS_FILE)) => {
            "bundle".to_string()
        }
        None => "longrun".to_string(),
    };
    let mut dependencies = read_names(dir, DEPENDENCIES_DIR, DEPENDENCIES_FILE).map_err(&refuse)?;
    let kind = match kind_word.as_str() {
        "longrun" => {
            let run = file(servicedir::RUN);
            match std::fs::metadata(&run) {
                Ok(m) if m.is_file() => {}
                Ok(_) => return Err(refuse(format!("{}: not a regular file", run.display()))),
                Err(e) => return Err(refuse(format!("{}: {e}", run.display()))),
            }
            let readiness = if exists(servicedir::NOTIFICATION_FD) {
                Readiness::NotificationFd
            } else if exists(servicedir::CHECK) {
                Readiness::Check
            } else {
                Readiness::Started
            };
            Kind::Longrun { readiness }
        }
        "oneshot" => {
            let up_file = file(UP);
            if !exists(UP) {
                return Err(refuse(format!(
                    "{}: missing (a oneshot needs one)",
                    up_file.display()
                )));
            }
            let up = script::resolve(&up_file, execlineb).map_err(|e| refuse(e.to_string()))?;
            let down =
                script::resolve(&file(DOWN), execlineb).map_err(|e| refuse(e.to_string()))?;
            Kind::Oneshot { up, down }
        }
        "bundle" => {
            let contents = read_names(dir, CONTENTS_DIR, CONTENTS_FILE).map_err(&refuse)?;
            if !dependencies.is_empty() {
                warnings.push(refuse(format!(
                    "{}: ignored (a bundle has no dependencies; its members do)",
                    file(DEPENDENCIES_DIR).display()
                )));
                dependencies.clear();
            }
            Kind::Bundle { contents }
        }
        other => {
            return Err(refuse(format!(
                "{}: unknown type {other:?} (want longrun, oneshot or bundle)",
                file(TYPE).display()
            )))
        }
    };
    let atomic = !matches!(kind, Kind::Bundle { .. });
    let longrun = matches!(kind, Kind::Longrun { .. });
    let (timeout_up, timeout_down) = if atomic {
        (
            read_timeout(&file(TIMEOUT_UP)).map_err(&refuse)?,
            read_timeout(&file(TIMEOUT_DOWN)).map_err(&refuse)?,
        )
    } else {
        (None, None)
    };
    let mut producer_for = None;
    let mut consumer_for = Vec::new();
    let mut pipeline_name = None;
    if longrun {
        let p = read_names(dir, "", PRODUCER_FOR).map_err(&refuse)?;
        if exists(PRODUCER_FOR) && p.len() != 1 {
            return Err(refuse(format!(
                "{}: must contain exactly one service name",
                file(PRODUCER_FOR).display()
            )));
        }
        producer_for = p.into_iter().next();
        consumer_for = read_names(dir, "", CONSUMER_FOR).map_err(&refuse)?;
        if exists(PIPELINE_NAME) {
            let n = read_names(dir, "", PIPELINE_NAME).map_err(&refuse)?;
            if producer_for.is_none() && !consumer_for.is_empty() {
                if n.len() != 1 {
                    return Err(refuse(format!(
                        "{}: must contain exactly one name",
                        file(PIPELINE_NAME).display()
                    )));
                }
                pipeline_name = n.into_iter().next();
            } else {
                warnings.push(refuse(format!(
                    "{}: ignored (only a last consumer names a pipeline)",
                    file(PIPELINE_NAME).display()
                )));
            }
        }
    }
    if let Some(me) = dependencies.iter().find(|d| *d == name) {
        return Err(refuse(format!(
            "{}: depends on itself ({me})",
            file(DEPENDENCIES_DIR).display()
        )));
    }
    Ok((
        Definition {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            kind,
            dependencies,
            timeout_up,
            timeout_down,
            essential: exists(FLAG_ESSENTIAL),
            producer_for,
            consumer_for,
            pipeline_name,
        },
        warnings,
    ))
}

/// A small settings file's text, `None` if it does not exist.
fn read_small(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: unable to read: {e}", path.display())),
    }
}

/// s6-rc's timeout files: an unsigned 32-bit count of milliseconds after
/// trailing newlines are removed; 0 means no timeout.
fn read_timeout(path: &Path) -> Result<Option<Duration>, String> {
    let Some(text) = read_small(path)? else {
        return Ok(None);
    };
    parse_timeout(&text).map_err(|why| format!("{}: {why}", path.display()))
}

/// Parses a timeout file's text (see [`read_timeout`]).
pub fn parse_timeout(text: &str) -> Result<Option<Duration>, String> {
    let t = text.trim_end_matches('\n');
    match t.parse::<u32>() {
        Ok(0) => Ok(None),
        Ok(ms) if t.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(Duration::from_millis(ms.into())))
        }
        _ => Err(format!(
            "invalid timeout {t:?}: want milliseconds (0 for none)"
        )),
    }
}

/// The names in `dir/SUBDIR/` (one entry each, dot-files skipped) and in
/// the list file `dir/FILE` (one per line, leading blanks and `#` lines
/// ignored, as s6-rc-compile reads them), sorted and deduplicated.
fn read_names(dir: &Path, subdir: &str, list: &str) -> Result<Vec<String>, String> {
    let mut out = BTreeSet::new();
    if !subdir.is_empty() {
        let d = dir.join(subdir);
        match std::fs::read_dir(&d) {
            Ok(entries) => {
                for e in entries {
                    let e = e.map_err(|e| format!("{}: unable to read: {e}", d.display()))?;
                    let os = e.file_name();
                    if os.as_encoded_bytes().first() == Some(&b'.') {
                        continue;
                    }
                    let Some(n) = os.to_str() else {
                        return Err(format!("{}: {:?}: name is not UTF-8", d.display(), os));
                    };
                    check_name(n).map_err(|why| format!("{}: {why}", d.display()))?;
                    out.insert(n.to_string());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: unable to read: {e}", d.display())),
        }
    }
    let f = dir.join(list);
    if let Some(text) = read_small(&f)? {
        for line in text.lines() {
            let n = line.trim_start_matches([' ', '\t']);
            if n.is_empty() || n.starts_with('#') {
                continue;
            }
            check_name(n).map_err(|why| format!("{}: {why}", f.display()))?;
            out.insert(n.to_string());
        }
    }
    Ok(out.into_iter().collect())
}
