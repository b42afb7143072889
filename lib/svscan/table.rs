//! The service table: one entry per service directory svscan knows.
//!
//! It is one vector of compact entries and nothing else: svscan idles for
//! the life of the container, and a hash index per key (name, directory
//! identity, pid, watch) cost several times the entries themselves in
//! resident heap. Lookups are linear scans over the entries, which for a
//! thousand services is a few microseconds, small next to the system
//! calls each event costs anyway.

use super::essential::StatusWatch;
use super::logpipe::LogPipe;
use super::prefix::PrefixPipes;
use super::scan::DevIno;
use nix::sys::inotify::WatchDescriptor;
use std::ffi::{OsStr, OsString};
use std::time::Instant;

/// A service's handle: slot index in the low 32 bits, the slot's
/// generation in the high ones, so a stale id (a restart scheduled for a
/// service since removed) never finds the slot's next occupant.
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
    /// In the start queue.
    pub queued: bool,
    /// Pipes to svscan's prefixing copier (`--log-prefix`, no `log/`).
    pub prefix_pipes: Option<PrefixPipes>,
    /// Watched `supervise/` state (essential services, readiness gate);
    /// boxed: few services have it.
    pub status: Option<Box<StatusWatch>>,
}

/// The entries, plus the few services in a passing state (a throttled
/// restart pending, waiting for `run`) on short side lists instead of a
/// field in every entry.
#[derive(Default)]
pub struct Table {
    slots: Vec<Option<Service>>,
    /// Each slot's generation (the high half of its ids).
    generations: Vec<u32>,
    /// Empty slots in `slots` (reused before the vector grows).
    free: usize,
    /// A throttled restart is due at this time.
    restarts: Vec<(Id, Instant)>,
    /// Waiting for `run` to become usable (inotify watch on the dir).
    watches: Vec<(Id, WatchDescriptor)>,
}

fn id_of(index: usize, generation: u32) -> Id {
    (u64::from(generation) << 32) | index as u64
}

fn index_of(id: Id) -> usize {
    (id & 0xffff_ffff) as usize
}

/// Sets or clears `id`'s entry in a side list; returns the old value.
fn set_side<T: Copy>(list: &mut Vec<(Id, T)>, id: Id, value: Option<T>) -> Option<T> {
    let old = list
        .iter()
        .position(|&(i, _)| i == id)
        .map(|at| list.swap_remove(at).1);
    match value {
        Some(v) => list.push((id, v)),
        // Emptied: give the buffer back.
        None if list.is_empty() => *list = Vec::new(),
        None => {}
    }
    old
}

fn side<T: Copy>(list: &[(Id, T)], id: Id) -> Option<T> {
    list.iter().find(|&&(i, _)| i == id).map(|&(_, v)| v)
}

impl Table {
    /// Room for `more` services at once (one allocation instead of a
    /// series of doublings that leave holes in svscan's small heap).
    pub fn reserve(&mut self, more: usize) {
        let more = more.saturating_sub(self.free);
        self.slots.reserve(more);
        self.generations.reserve(more);
    }

    pub fn insert(&mut self, name: OsString, devino: DevIno) -> Id {
        let service = Service {
            name: Some(name),
            devino,
            pid: None,
            log_pipe: None,
            started_at: None,
            queued: false,
            prefix_pipes: None,
            status: None,
        };
        if self.free > 0 {
            if let Some(i) = self.slots.iter().position(Option::is_none) {
                self.free -= 1;
                self.slots[i] = Some(service);
                return id_of(i, self.generations[i]);
            }
        }
        self.slots.push(Some(service));
        self.generations.push(0);
        id_of(self.slots.len() - 1, 0)
    }

    fn live(&self, id: Id) -> bool {
        let i = index_of(id);
        self.generations
            .get(i)
            .is_some_and(|&g| u64::from(g) == id >> 32)
    }

    pub fn get(&self, id: Id) -> Option<&Service> {
        if !self.live(id) {
            return None;
        }
        self.slots[index_of(id)].as_ref()
    }

    pub fn get_mut(&mut self, id: Id) -> Option<&mut Service> {
        if !self.live(id) {
            return None;
        }
        self.slots[index_of(id)].as_mut()
    }

    fn services(&self) -> impl Iterator<Item = (Id, &Service)> + '_ {
        self.slots
            .iter()
            .zip(&self.generations)
            .enumerate()
            .filter_map(|(i, (s, &g))| s.as_ref().map(|svc| (id_of(i, g), svc)))
    }

    fn find(&self, f: impl Fn(&Service) -> bool) -> Option<Id> {
        self.services().find(|(_, s)| f(s)).map(|(id, _)| id)
    }

    pub fn by_name(&self, name: &OsStr) -> Option<Id> {
        self.find(|s| s.name.as_deref() == Some(name))
    }

    /// The service with this directory identity that is not being retired.
    pub fn by_devino(&self, d: DevIno) -> Option<Id> {
        self.find(|s| s.devino == d)
    }

    pub fn by_pid(&self, pid: i32) -> Option<Id> {
        self.find(|s| s.pid == Some(pid))
    }

    pub fn by_watch(&self, wd: WatchDescriptor) -> Option<Id> {
        self.watches
            .iter()
            .find(|&&(_, w)| w == wd)
            .map(|&(id, _)| id)
    }

    /// The watch on the service's directory while it waits for `run`.
    pub fn watch_of(&self, id: Id) -> Option<WatchDescriptor> {
        side(&self.watches, id)
    }

    /// When the service's throttled restart is due, if one is pending.
    pub fn restart_at(&self, id: Id) -> Option<Instant> {
        side(&self.restarts, id)
    }

    pub fn set_restart_at(&mut self, id: Id, at: Option<Instant>) {
        if self.get(id).is_some() {
            set_side(&mut self.restarts, id, at);
        }
    }

    /// Gives the service a (new) name, e.g. after `mv a b` in the scan dir.
    /// Another service holding the name loses it.
    pub fn bind_name(&mut self, id: Id, name: OsString) {
        if self.get(id).is_none() {
            return;
        }
        if let Some(other) = self.by_name(&name).filter(|&o| o != id) {
            self.unbind_name(other);
        }
        if let Some(s) = self.get_mut(id) {
            s.name = Some(name);
        }
    }

    /// The name no longer refers to this service.
    pub fn unbind_name(&mut self, id: Id) {
        if let Some(s) = self.get_mut(id) {
            s.name = None;
        }
    }

    /// Forget the directory identity (the service is being retired; a new
    /// directory with the same identity becomes a new service).
    pub fn forget_devino(&mut self, id: Id) {
        if let Some(s) = self.get_mut(id) {
            s.devino = RETIRED;
        }
    }

    pub fn set_pid(&mut self, id: Id, pid: Option<i32>) {
        if let Some(s) = self.get_mut(id) {
            s.pid = pid;
        }
    }

    pub fn set_watch(&mut self, id: Id, wd: Option<WatchDescriptor>) -> Option<WatchDescriptor> {
        self.get(id)?;
        set_side(&mut self.watches, id, wd)
    }

    pub fn remove(&mut self, id: Id) -> Option<Service> {
        self.get(id)?;
        set_side(&mut self.watches, id, None);
        set_side(&mut self.restarts, id, None);
        let i = index_of(id);
        // The slot stays (with its new generation) for the next service:
        // dropping it would let a new slot's ids repeat a stale one.
        self.generations[i] = self.generations[i].wrapping_add(1);
        self.free += 1;
        let mut service = self.slots[i].take()?;
        service.name = None;
        service.pid = None;
        Some(service)
    }

    // The lists are made at their final size: a growing vector leaves
    // freed buffers of every size behind.
    pub fn ids(&self) -> Vec<Id> {
        let mut ids = Vec::with_capacity(self.slots.len() - self.free);
        ids.extend(self.services().map(|(id, _)| id));
        ids
    }

    pub fn names(&self) -> Vec<OsString> {
        let mut names = Vec::with_capacity(self.name_count());
        names.extend(self.services().filter_map(|(_, s)| s.name.clone()));
        names
    }

    /// How many names the table holds.
    pub fn name_count(&self) -> usize {
        self.services().filter(|(_, s)| s.name.is_some()).count()
    }

    pub fn supervise_pids(&self) -> impl Iterator<Item = i32> + '_ {
        self.services().filter_map(|(_, s)| s.pid)
    }

    pub fn running(&self) -> usize {
        self.supervise_pids().count()
    }
}

/// The identity of a retired service: no directory has inode 0.
const RETIRED: DevIno = (u64::MAX, 0);

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
