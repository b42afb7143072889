//! PID-1 duties: reap every child (services' orphans and `docker exec`
//! leftovers included), and find the processes a shutdown may signal.
//! As PID 1 that is the whole namespace; otherwise svscan is a child
//! subreaper and touches only its own descendants.

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::collections::{HashMap, HashSet};

/// Reaps every child that has exited; calls `f` for each. Returns true
/// when svscan has no children left at all (ECHILD).
pub fn reap(mut f: impl FnMut(i32, WaitStatus)) -> bool {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => return false,
            Ok(st) => {
                if let Some(pid) = st.pid() {
                    f(pid.as_raw(), st);
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return true,
        }
    }
}

/// Which processes svscan is responsible for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// PID 1 of a PID namespace: everything in it.
    Namespace,
    /// Child subreaper: only descendants.
    Descendants,
}

impl Scope {
    /// Becomes responsible for orphans: nothing to do as PID 1; otherwise
    /// registers as child subreaper so orphans of services come to us.
    pub fn establish() -> (Scope, Option<std::io::Error>) {
        if std::process::id() == 1 {
            return (Scope::Namespace, None);
        }
        // Any non-zero argument sets the flag; our own pid is one.
        let err = rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
            .err()
            .map(std::io::Error::from);
        (Scope::Descendants, err)
    }
}

/// Parent of every process, from /proc. Empty when /proc is not the
/// procfs of svscan's own PID namespace (then pids would name strangers).
pub fn parent_map() -> HashMap<i32, i32> {
    let mut map = HashMap::new();
    let me = std::process::id() as i32;
    let self_pid = std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str().and_then(|s| s.parse::<i32>().ok()));
    if self_pid != Some(me) {
        return map;
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return map;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some(ppid) = read_ppid(pid) {
            map.insert(pid, ppid);
        }
    }
    map
}

fn read_ppid(pid: i32) -> Option<i32> {
    crate::procfs::Stat::read(pid)?.field(4)?.try_into().ok()
}

/// All descendants of the `roots` (not the roots themselves).
pub fn descendants(parents: &HashMap<i32, i32>, roots: &[i32]) -> HashSet<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (&pid, &ppid) in parents {
        children.entry(ppid).or_default().push(pid);
    }
    let mut out = HashSet::new();
    let mut stack: Vec<i32> = roots.to_vec();
    while let Some(p) = stack.pop() {
        if let Some(kids) = children.get(&p) {
            for &k in kids {
                if out.insert(k) {
                    stack.push(k);
                }
            }
        }
    }
    out
}

/// The processes in svscan's scope other than svscan itself.
pub fn in_scope(scope: Scope, parents: &HashMap<i32, i32>) -> HashSet<i32> {
    let me = std::process::id() as i32;
    match scope {
        Scope::Namespace => parents.keys().copied().filter(|&p| p != me).collect(),
        Scope::Descendants => descendants(parents, &[me]),
    }
}

/// Sends `sig` to `pid` (callers only pass pids in their scope, or -1 as
/// PID 1); true if it was delivered.
pub fn kill(pid: i32, sig: i32) -> bool {
    crate::sys::kill(pid, sig).is_ok()
}

/// Sends `sig` to every process in scope except svscan; true if any
/// process was signalled. As PID 1 this is one kill(-1).
pub fn signal_scope(scope: Scope, sig: i32) -> bool {
    match scope {
        Scope::Namespace => kill(-1, sig),
        Scope::Descendants => {
            let mut any = false;
            for pid in in_scope(scope, &parent_map()) {
                any |= kill(pid, sig);
            }
            any
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_of_a_tree() {
        let parents: HashMap<i32, i32> = [(2, 1), (3, 2), (4, 3), (5, 1), (6, 99)].into();
        let d = descendants(&parents, &[2]);
        assert_eq!(d, [3, 4].into());
        let d = descendants(&parents, &[1]);
        assert_eq!(d, [2, 3, 4, 5].into());
    }

    #[test]
    fn proc_view_includes_self_parent() {
        let map = parent_map();
        let me = std::process::id() as i32;
        assert_eq!(
            map.get(&me).copied(),
            Some(std::os::unix::process::parent_id() as i32)
        );
    }
}
