//! Instances of one service (issue 16): a directory named `NAME@` is a
//! template, and its file `instances` says which instances svscan runs,
//! as services named `NAME@INSTANCE`, each with [`ENV_INSTANCE`] set and
//! its own supervise state under the runtime directory (the template
//! directory is shared and may be read-only).
//!
//! `instances` holds either a count (one line `N`: instances `1`..`N`) or
//! a list of names, one per line; `#` comments and blank lines are
//! skipped. An instance name is 1-64 of `A-Za-z0-9._-`, not starting with
//! `.` or `-`. A list of one number is a count: write `3` for three
//! instances, and names like `a`, `b` for named ones.
//!
//! Pure: [`parse`], [`plan`] (what to start and stop when the file
//! changes) and [`Selector`] (how `svctl` names them: `worker@3`,
//! `worker@`, `worker@*`, any `*`/`?` pattern).

use std::collections::BTreeSet;
use std::fmt;

/// Set in each instance's environment to its instance name.
pub const ENV_INSTANCE: &str = "SVKIT_INSTANCE";
/// Most instances one template may have.
pub const MAX_INSTANCES: usize = 4096;
/// Longest instance name.
pub const MAX_NAME: usize = 64;
/// Bytes read of `instances` at most.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;

/// The template's base name: `worker` for a directory `worker@`.
pub fn template_base(dir_name: &str) -> Option<&str> {
    let base = dir_name.strip_suffix('@')?;
    (!base.is_empty() && !base.contains('@') && !base.starts_with('.')).then_some(base)
}

/// `worker@3` -> (`worker`, `3`).
pub fn split_instance(service: &str) -> Option<(&str, &str)> {
    let (base, inst) = service.split_once('@')?;
    (!base.is_empty() && is_instance_name(inst)).then_some((base, inst))
}

/// The service name of instance `inst` of template `base`.
pub fn service_name(base: &str, inst: &str) -> String {
    format!("{base}@{inst}")
}

pub fn is_instance_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && !s.starts_with(['.', '-'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstancesError {
    /// A count or list longer than [`MAX_INSTANCES`].
    TooMany(u64),
    BadName {
        line: usize,
        text: String,
    },
    Duplicate(String),
}

impl fmt::Display for InstancesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstancesError::TooMany(n) => write!(f, "{n} instances, more than {MAX_INSTANCES}"),
            InstancesError::BadName { line, text } => write!(
                f,
                "line {line}: {text:?} is not an instance name (1-{MAX_NAME} of A-Z a-z 0-9 . _ -)"
            ),
            InstancesError::Duplicate(n) => write!(f, "instance {n:?} listed twice"),
        }
    }
}

impl std::error::Error for InstancesError {}

/// The instance names `instances` asks for, in the file's order (a count
/// gives `1`..`N`).
pub fn parse(text: &str) -> Result<Vec<String>, InstancesError> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if let [(_, only)] = lines[..] {
        if only.bytes().all(|b| b.is_ascii_digit()) {
            let n: u64 = if only.len() > 19 {
                u64::MAX
            } else {
                only.parse().unwrap_or(u64::MAX)
            };
            if n > MAX_INSTANCES as u64 {
                return Err(InstancesError::TooMany(n));
            }
            return Ok((1..=n).map(|i| i.to_string()).collect());
        }
    }
    if lines.len() > MAX_INSTANCES {
        return Err(InstancesError::TooMany(lines.len() as u64));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(lines.len());
    for (line, name) in lines {
        if !is_instance_name(name) {
            return Err(InstancesError::BadName {
                line,
                text: name.to_string(),
            });
        }
        if !seen.insert(name) {
            return Err(InstancesError::Duplicate(name.to_string()));
        }
        out.push(name.to_string());
    }
    Ok(out)
}

/// What to do so that the running instances match the wanted ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// In the file's order.
    pub start: Vec<String>,
    /// In name order.
    pub stop: Vec<String>,
}

/// `running`: instance names supervised now; `wanted`: [`parse`]'s result,
/// or `None` when the template directory is gone (all stop). A template
/// without an `instances` file has no instances. When `instances` becomes
/// invalid, the caller keeps the last good list and warns, so a typo
/// while editing does not stop every worker.
pub fn plan(running: &BTreeSet<String>, wanted: Option<&[String]>) -> Plan {
    let wanted: &[String] = wanted.unwrap_or(&[]);
    let want: BTreeSet<&String> = wanted.iter().collect();
    Plan {
        start: wanted
            .iter()
            .filter(|w| !running.contains(*w))
            .cloned()
            .collect(),
        stop: running
            .iter()
            .filter(|r| !want.contains(r))
            .cloned()
            .collect(),
    }
}

/// How svctl names services: one, all instances of a template, or a
/// glob pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// A plain name (`web`, `worker@3`).
    One(String),
    /// `worker@`: every instance of `worker`.
    Template(String),
    /// A pattern with `*` (any run) or `?` (one character).
    Glob(String),
}

impl Selector {
    pub fn parse(arg: &str) -> Selector {
        if arg.contains(['*', '?']) {
            return Selector::Glob(arg.to_string());
        }
        match template_base(arg) {
            Some(base) => Selector::Template(base.to_string()),
            None => Selector::One(arg.to_string()),
        }
    }

    pub fn matches(&self, service: &str) -> bool {
        match self {
            Selector::One(n) => n == service,
            Selector::Template(base) => split_instance(service).is_some_and(|(b, _)| b == base),
            Selector::Glob(p) => glob(p.as_bytes(), service.as_bytes()),
        }
    }

    /// The services of `all` this selects, in `all`'s order.
    pub fn select<'a>(&self, all: &'a [String]) -> Vec<&'a String> {
        all.iter().filter(|s| self.matches(s)).collect()
    }
}

/// `*` and `?` matching, iterative (no backtracking blow-up).
fn glob(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn counts_and_lists() {
        assert_eq!(parse("3\n").unwrap(), ["1", "2", "3"]);
        assert_eq!(parse("# workers\n 2 \n\n").unwrap(), ["1", "2"]);
        assert_eq!(parse("0").unwrap(), Vec::<String>::new());
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
        assert_eq!(
            parse("eu\nus-east\n# off: ap\nv1.2_x\n").unwrap(),
            ["eu", "us-east", "v1.2_x"]
        );
        assert_eq!(parse("1\n2\n").unwrap(), ["1", "2"]);
        assert_eq!(parse("4097"), Err(InstancesError::TooMany(4097)));
        assert_eq!(
            parse("99999999999999999999999"),
            Err(InstancesError::TooMany(u64::MAX))
        );
        assert_eq!(
            parse("a\nb c\n"),
            Err(InstancesError::BadName {
                line: 2,
                text: "b c".into()
            })
        );
        assert_eq!(
            parse("../x"),
            Err(InstancesError::BadName {
                line: 1,
                text: "../x".into()
            })
        );
        assert_eq!(
            parse("-x"),
            Err(InstancesError::BadName {
                line: 1,
                text: "-x".into()
            })
        );
        assert_eq!(parse("a\na"), Err(InstancesError::Duplicate("a".into())));
    }

    #[test]
    fn names() {
        assert_eq!(template_base("worker@"), Some("worker"));
        assert_eq!(template_base("worker"), None);
        assert_eq!(template_base("@"), None);
        assert_eq!(template_base("a@b@"), None);
        assert_eq!(split_instance("worker@3"), Some(("worker", "3")));
        assert_eq!(split_instance("worker@"), None);
        assert_eq!(split_instance("worker"), None);
        assert_eq!(service_name("worker", "3"), "worker@3");
    }

    #[test]
    fn three_to_one_stops_two() {
        let three = parse("3").unwrap();
        let p = plan(&set(&[]), Some(&three));
        assert_eq!(p.start, ["1", "2", "3"]);
        assert!(p.stop.is_empty());
        let one = parse("1").unwrap();
        let p = plan(&set(&["1", "2", "3"]), Some(&one));
        assert!(p.start.is_empty());
        assert_eq!(p.stop, ["2", "3"]);
        // The template removed: all stop.
        assert_eq!(plan(&set(&["1", "2"]), None).stop, ["1", "2"]);
        // Unchanged: nothing.
        assert_eq!(plan(&set(&["1", "2", "3"]), Some(&three)), Plan::default());
    }

    #[test]
    fn selectors() {
        let all: Vec<String> = [
            "web",
            "worker@1",
            "worker@2",
            "worker@10",
            "workers",
            "mail@1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let names = |arg: &str| {
            Selector::parse(arg)
                .select(&all)
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(names("worker@*"), ["worker@1", "worker@2", "worker@10"]);
        assert_eq!(names("worker@"), ["worker@1", "worker@2", "worker@10"]);
        assert_eq!(names("worker@3"), Vec::<String>::new());
        assert_eq!(names("worker@2"), ["worker@2"]);
        assert_eq!(names("worker@?"), ["worker@1", "worker@2"]);
        assert_eq!(names("*@1"), ["worker@1", "mail@1"]);
        assert_eq!(names("w*s"), ["workers"]);
        assert!(!glob(b"a*a*a*a*a*b", &[b'a'; 40]));
    }
}
