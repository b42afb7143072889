//! The service table: one entry per service directory svscan knows,
//! indexed by name, by directory identity and by supervise pid, so every
//! event costs O(1) however many services there are.

use super::essential::StatusWatch;
use super::logpipe::LogPipe;
use super::prefix::PrefixPipes;
use super::scan::DevIno;
use nix::sys::inotify::WatchDescriptor;
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::time::Instant;

pub type Id = u64;

pub struct Service {
    /// Current name in the scan directory; `None` once removed.
    pub name: Option<OsString>,
    pub devino: DevIno,
    /// The running supervise.
    pub pid: Option<i32>,
    pub log_pipe: Option<LogPipe>,
    /// When the current (or last) supervise was started.
    pub started_at: Option<Instant>,
    /// A throttled restart is due at this time.
    pub restart_at: Option<Instant>,
    /// Waiting for `run` to become usable (inotify watch on the dir).
    pub waiting: Option<WatchDescriptor>,
    /// In the start queue.
    pub queued: bool,
    /// Pipes to svscan's prefixing copier (`--log-prefix`, no `log/`).
    pub prefix_pipes: Option<PrefixPipes>,
    /// Watched `supervise/` state (essential services, readiness gate).
    pub status: Option<StatusWatch>,
}

#[derive(Default)]
pub struct Table {
    next_id: Id,
    services: HashMap<Id, Service>,
    by_name: HashMap<OsString, Id>,
    by_devino: HashMap<DevIno, Id>,
    by_pid: HashMap<i32, Id>,
    by_watch: HashMap<WatchDescriptor, Id>,
}

impl Table {
    /// Room for `more` services at once (one allocation per index instead
    /// of a series of doublings that leave holes in svscan's small heap).
    pub fn reserve(&mut self, more: usize) {
        self.services.reserve(more);
        self.by_name.reserve(more);
        self.by_devino.reserve(more);
        self.by_pid.reserve(more);
    }

    pub fn insert(&mut self, name: OsString, devino: DevIno) -> Id {
        let id = self.next_id;
        self.next_id += 1;
        self.by_name.insert(name.clone(), id);
        self.by_devino.insert(devino, id);
        self.services.insert(
            id,
            Service {
                name: Some(name),
                devino,
                pid: None,
                log_pipe: None,
                started_at: None,
                restart_at: None,
                waiting: None,
                queued: false,
                prefix_pipes: None,
                status: None,
            },
        );
        id
    }

    pub fn get(&self, id: Id) -> Option<&Service> {
        self.services.get(&id)
    }

    pub fn get_mut(&mut self, id: Id) -> Option<&mut Service> {
        self.services.get_mut(&id)
    }

    pub fn by_name(&self, name: &OsStr) -> Option<Id> {
        self.by_name.get(name).copied()
    }

    pub fn by_devino(&self, d: DevIno) -> Option<Id> {
        self.by_devino.get(&d).copied()
    }

    pub fn by_pid(&self, pid: i32) -> Option<Id> {
        self.by_pid.get(&pid).copied()
    }

    pub fn by_watch(&self, wd: WatchDescriptor) -> Option<Id> {
        self.by_watch.get(&wd).copied()
    }

    /// Gives the service a (new) name, e.g. after `mv a b` in the scan dir.
    pub fn bind_name(&mut self, id: Id, name: OsString) {
        if let Some(s) = self.services.get_mut(&id) {
            if let Some(old) = s.name.replace(name.clone()) {
                if self.by_name.get(&old) == Some(&id) {
                    self.by_name.remove(&old);
                }
            }
            self.by_name.insert(name, id);
        }
    }

    /// The name no longer refers to this service.
    pub fn unbind_name(&mut self, id: Id) {
        if let Some(s) = self.services.get_mut(&id) {
            if let Some(old) = s.name.take() {
                if self.by_name.get(&old) == Some(&id) {
                    self.by_name.remove(&old);
                }
            }
        }
    }

    /// Forget the directory identity (the service is being retired; a new
    /// directory with the same identity becomes a new service).
    pub fn forget_devino(&mut self, id: Id) {
        if let Some(s) = self.services.get(&id) {
            if self.by_devino.get(&s.devino) == Some(&id) {
                self.by_devino.remove(&s.devino);
            }
        }
    }

    pub fn set_pid(&mut self, id: Id, pid: Option<i32>) {
        if let Some(s) = self.services.get_mut(&id) {
            if let Some(old) = s.pid.take() {
                self.by_pid.remove(&old);
            }
            s.pid = pid;
            if let Some(p) = pid {
                self.by_pid.insert(p, id);
            }
        }
    }

    pub fn set_watch(&mut self, id: Id, wd: Option<WatchDescriptor>) -> Option<WatchDescriptor> {
        let s = self.services.get_mut(&id)?;
        let old = s.waiting.take();
        if let Some(o) = old {
            if self.by_watch.get(&o) == Some(&id) {
                self.by_watch.remove(&o);
            }
        }
        s.waiting = wd;
        if let Some(w) = wd {
            self.by_watch.insert(w, id);
        }
        old
    }

    pub fn remove(&mut self, id: Id) -> Option<Service> {
        self.unbind_name(id);
        self.forget_devino(id);
        self.set_pid(id, None);
        self.set_watch(id, None);
        self.services.remove(&id)
    }

    pub fn ids(&self) -> Vec<Id> {
        self.services.keys().copied().collect()
    }

    pub fn names(&self) -> Vec<OsString> {
        self.by_name.keys().cloned().collect()
    }

    pub fn supervise_pids(&self) -> impl Iterator<Item = i32> + '_ {
        self.by_pid.keys().copied()
    }

    pub fn running(&self) -> usize {
        self.by_pid.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_follow_changes() {
        let mut t = Table::default();
        let a = t.insert("a".into(), (1, 10));
        t.set_pid(a, Some(100));
        assert_eq!(t.by_name(OsStr::new("a")), Some(a));
        assert_eq!(t.by_pid(100), Some(a));
        assert_eq!(t.by_devino((1, 10)), Some(a));
        t.bind_name(a, "b".into());
        assert_eq!(t.by_name(OsStr::new("a")), None);
        assert_eq!(t.by_name(OsStr::new("b")), Some(a));
        t.set_pid(a, Some(101));
        assert_eq!(t.by_pid(100), None);
        assert_eq!(t.running(), 1);
        t.unbind_name(a);
        assert!(t.names().is_empty());
        let s = t.remove(a).unwrap();
        assert_eq!(s.pid, None);
        assert!(t.ids().is_empty());
        assert_eq!(t.by_pid(101), None);
        assert_eq!(t.by_devino((1, 10)), None);
    }
}
