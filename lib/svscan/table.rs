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
use std::collections::VecDeque;
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

/// The entries, the start queue, and the few services waiting for `run`
/// on a short side list instead of a field in every entry. (Throttled
/// restarts are in `schedule::Restarts`, the one restart schedule.)
#[derive(Default)]
pub struct Table {
    slots: Vec<Option<Service>>,
    /// Each slot's generation (the high half of its ids).
    generations: Vec<u32>,
    /// Empty slots in `slots` (reused before the vector grows).
    free: usize,
    /// Waiting for `run` to become usable (inotify watch on the dir).
    watches: Vec<(Id, WatchDescriptor)>,
    /// Services whose supervise is to be started, in order.
    queue: VecDeque<Id>,
}

/// What a supervise's exit means for its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exited {
    /// Not a supervise of ours (an orphan, the main command).
    NotOurs,
    /// Its service had left the scan directory: the entry is gone.
    Removed,
    /// Its service is still there: start a new supervise.
    Restart {
        id: Id,
        name: OsString,
        started: Option<Instant>,
    },
}

/// What reconciling names with the scan directory asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// New services: start them.
    pub new: Vec<Id>,
    /// Services whose directory left the scan directory: retire them.
    pub gone: Vec<Id>,
}

/// What retiring a service asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retired {
    /// Its supervise runs: stop it (the entry goes when it exits).
    Stop(i32),
    /// No supervise: the entry is gone already.
    Removed,
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

    /// Queues a start of `id`'s supervise (once).
    pub fn enqueue(&mut self, id: Id) {
        if let Some(s) = self.get_mut(id) {
            if !s.queued {
                s.queued = true;
                self.queue.push_back(id);
            }
        }
    }

    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// The next queued service still in the table.
    pub fn dequeue(&mut self) -> Option<Id> {
        while let Some(id) = self.queue.pop_front() {
            if let Some(s) = self.get_mut(id) {
                s.queued = false;
                return Some(id);
            }
        }
        // Drained: give back the buffer a big start-up needed.
        if self.queue.capacity() > 0 {
            self.queue = VecDeque::new();
        }
        None
    }

    /// Drops every queued start (the shutdown began).
    pub fn clear_queue(&mut self) {
        while self.dequeue().is_some() {}
    }

    /// Could `id` get a supervise now: in the scan directory, none
    /// running, none queued? (A pending restart is the schedule's.)
    pub fn startable(&self, id: Id) -> Option<&OsStr> {
        let s = self.get(id)?;
        if s.pid.is_some() || s.queued {
            return None;
        }
        s.name.as_deref()
    }

    /// Services in the scan directory with no supervise and no start
    /// queued (a full rescan starts them).
    pub fn idle(&self) -> Vec<Id> {
        self.services()
            .filter(|(_, s)| s.name.is_some() && s.pid.is_none() && !s.queued)
            .map(|(id, _)| id)
            .collect()
    }

    /// The supervise `pid` exited.
    pub fn on_exit(&mut self, pid: i32) -> Exited {
        let Some(id) = self.by_pid(pid) else {
            return Exited::NotOurs;
        };
        self.set_pid(id, None);
        let Some(svc) = self.get(id) else {
            return Exited::NotOurs;
        };
        match svc.name.clone() {
            Some(name) => Exited::Restart {
                id,
                name,
                started: svc.started_at,
            },
            None => {
                // Removed from the scan directory: its supervise is done.
                self.remove(id);
                Exited::Removed
            }
        }
    }

    /// Brings the table in line with what the scan directory holds now
    /// for `names` (sorted, deduplicated): each name with the identity of
    /// its directory, `None` if it is no service. `still(name)` looks at
    /// a name again (two names for one directory are one service).
    ///
    /// Services are identified by directory identity, so `mv a b` keeps
    /// b's supervise running, and a directory replaced under the same
    /// name is a new service.
    pub fn reconcile(
        &mut self,
        names: Vec<(OsString, Option<DevIno>)>,
        still: &mut dyn FnMut(&OsStr) -> Option<DevIno>,
    ) -> Reconciled {
        let mut found = Vec::with_capacity(names.len());
        let mut detached = Vec::new();
        for (name, devino) in names {
            if let Some(id) = self.by_name(&name) {
                if self.get(id).map(|s| s.devino) != devino {
                    self.unbind_name(id);
                    detached.push(id);
                }
            }
            if let Some(d) = devino {
                found.push((name, d));
            }
        }
        let mut out = Reconciled::default();
        for (name, d) in found {
            if self.by_name(&name).is_some() {
                continue;
            }
            match self.by_devino(d) {
                Some(id) => {
                    let other = self.get(id).and_then(|s| s.name.clone());
                    if other.is_some_and(|o| still(&o) == Some(d)) {
                        // Two names for one directory: one service.
                        continue;
                    }
                    self.bind_name(id, name);
                }
                None => out.new.push(self.insert(name, d)),
            }
        }
        out.gone = detached
            .into_iter()
            .filter(|&id| self.get(id).is_some_and(|s| s.name.is_none()))
            .collect();
        out
    }

    /// The service left the scan directory: forget its identity (a new
    /// directory with it is a new service) and its pipes and watches (the
    /// caller closes what they name), and stop or remove it.
    pub fn retire(&mut self, id: Id) -> Retired {
        self.forget_devino(id);
        self.set_watch(id, None);
        let Some(svc) = self.get_mut(id) else {
            return Retired::Removed;
        };
        svc.log_pipe = None;
        svc.prefix_pipes = None;
        match svc.pid {
            Some(pid) => Retired::Stop(pid),
            None => {
                self.remove(id);
                Retired::Removed
            }
        }
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

    fn entries(list: &[(&str, Option<DevIno>)]) -> Vec<(OsString, Option<DevIno>)> {
        list.iter().map(|&(n, d)| (OsString::from(n), d)).collect()
    }

    #[test]
    fn new_directories_are_new_services_and_removed_ones_retire() {
        let mut t = Table::default();
        let r = t.reconcile(
            entries(&[("a", Some((1, 1))), ("b", Some((1, 2)))]),
            &mut |_| None,
        );
        assert_eq!(r.new.len(), 2);
        let a = t.by_name(OsStr::new("a")).unwrap();
        t.set_pid(a, Some(10));
        let r = t.reconcile(entries(&[("a", None)]), &mut |_| None);
        assert_eq!(
            r,
            Reconciled {
                new: vec![],
                gone: vec![a]
            }
        );
        assert_eq!(t.retire(a), Retired::Stop(10));
        assert_eq!(t.by_devino((1, 1)), None, "a new directory there is new");
        assert_eq!(t.on_exit(10), Exited::Removed);
        assert!(t.get(a).is_none());
        let b = t.by_name(OsStr::new("b")).unwrap();
        t.reconcile(entries(&[("b", None)]), &mut |_| None);
        assert_eq!(t.retire(b), Retired::Removed);
        assert!(t.ids().is_empty());
    }

    #[test]
    fn a_rename_keeps_the_service() {
        let mut t = Table::default();
        t.reconcile(entries(&[("a", Some((1, 1)))]), &mut |_| None);
        let a = t.by_name(OsStr::new("a")).unwrap();
        t.set_pid(a, Some(10));
        // mv a b: both names reported; a is gone, b has a's identity.
        let r = t.reconcile(entries(&[("a", None), ("b", Some((1, 1)))]), &mut |_| None);
        assert_eq!(r, Reconciled::default());
        assert_eq!(t.by_name(OsStr::new("b")), Some(a));
        assert_eq!(t.get(a).unwrap().pid, Some(10));
    }

    #[test]
    fn two_names_for_one_directory_are_one_service() {
        let mut t = Table::default();
        t.reconcile(entries(&[("a", Some((1, 1)))]), &mut |_| None);
        // `ln -s a link`: a still is that directory.
        let r = t.reconcile(entries(&[("link", Some((1, 1)))]), &mut |_| Some((1, 1)));
        assert_eq!(r, Reconciled::default());
        assert_eq!(t.by_name(OsStr::new("link")), None);
        assert_eq!(t.name_count(), 1);
    }

    #[test]
    fn a_directory_replaced_under_its_name_is_a_new_service() {
        let mut t = Table::default();
        t.reconcile(entries(&[("a", Some((1, 1)))]), &mut |_| None);
        let old = t.by_name(OsStr::new("a")).unwrap();
        let r = t.reconcile(entries(&[("a", Some((1, 9)))]), &mut |_| None);
        assert_eq!(r.gone, [old]);
        assert_eq!(r.new.len(), 1);
        assert_ne!(r.new[0], old);
    }

    #[test]
    fn exits_restart_services_still_there() {
        let mut t = Table::default();
        let a = t.insert("a".into(), (1, 1));
        let t0 = Instant::now();
        t.get_mut(a).unwrap().started_at = Some(t0);
        t.set_pid(a, Some(7));
        assert_eq!(t.on_exit(8), Exited::NotOurs);
        assert_eq!(
            t.on_exit(7),
            Exited::Restart {
                id: a,
                name: "a".into(),
                started: Some(t0)
            }
        );
        assert_eq!(t.startable(a), Some(OsStr::new("a")));
        assert_eq!(t.idle(), [a]);
    }

    #[test]
    fn the_queue_starts_each_service_once_and_skips_removed_ones() {
        let mut t = Table::default();
        let a = t.insert("a".into(), (1, 1));
        let b = t.insert("b".into(), (1, 2));
        t.enqueue(a);
        t.enqueue(a);
        t.enqueue(b);
        assert_eq!(t.startable(a), None, "queued");
        assert!(t.idle().is_empty());
        t.remove(a);
        assert_eq!(t.dequeue(), Some(b));
        assert_eq!(t.dequeue(), None);
        assert_eq!(t.queue_len(), 0);
        t.enqueue(b);
        t.clear_queue();
        assert_eq!(t.startable(b), Some(OsStr::new("b")));
    }
}
