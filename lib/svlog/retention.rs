//! Retention in a log directory: which rotated files go, and when.
//! `n` (count), `S` (total size), `a` (age), and on a full disk `N`.
//! The `.u` file a processor works on is never deleted (runit quirk Q16).

use super::archive::{self, Rotated};
use super::deadline;
use super::logdir::LogDir;
use super::{info, why, PROG};
use crate::msg;
use rustix::fs::AtFlags;
use std::os::fd::AsFd;
use std::time::{Instant, SystemTime};

impl LogDir {
    /// On ENOSPC with `N` < `n`: delete the oldest rotated file while more
    /// than `N` exist. Returns whether something was deleted.
    pub(super) fn delete_for_space(&mut self) -> bool {
        if self.cfg.keep_min >= self.cfg.keep_max {
            return false;
        }
        let Ok((files, _)) = archive::list(self.dir.as_fd()) else {
            return false;
        };
        let protected = self.busy_input();
        if files.len() as u64 <= self.cfg.keep_min {
            return false;
        }
        let Some(oldest) = files.iter().find(|f| Some(&f.name) != protected.as_ref()) else {
            return false;
        };
        msg::warn(
            PROG,
            format_args!("out of disk space, delete: {}/{}", self.name, oldest.name),
        );
        rustix::fs::unlinkat(&self.dir, oldest.name.as_str(), AtFlags::empty()).is_ok()
    }

    /// Deletes `.t` leftovers, then the oldest rotated files while there
    /// are more than `n` of them, they (plus a full `current`) exceed `S`,
    /// or they are older than `a`; arms the timer for the next file to
    /// pass `a`. `protected` and the `.u` a processor works on are never
    /// deleted.
    pub(super) fn prune(&mut self, protected: Option<&str>) {
        let Ok((files, leftovers)) = archive::list(self.dir.as_fd()) else {
            msg::warn(
                PROG,
                format_args!("unable to read directory: {}", self.name),
            );
            return;
        };
        let busy = self.busy_input();
        let busy = busy.as_deref();
        for t in leftovers {
            let input = format!("{}u", &t[..26]);
            if busy != Some(input.as_str()) {
                let _ = rustix::fs::unlinkat(&self.dir, t.as_str(), AtFlags::empty());
            }
        }
        let keep =
            |f: &Rotated| Some(f.name.as_str()) == protected || Some(f.name.as_str()) == busy;
        let mut count = files.len() as u64;
        let mut total: u64 = files.iter().fold(0u64, |t, f| t.saturating_add(f.size));
        let reserve = self.cfg.size_max;
        let now = SystemTime::now();
        let expires = |f: &Rotated| {
            let age = self.cfg.max_age?;
            deadline::expiry(archive::time_of(&f.name)?, age)
        };
        self.next_expiry = None;
        for f in &files {
            let over_count = self.cfg.keep_max > 0 && count > self.cfg.keep_max;
            let over_total =
                self.cfg.total_max > 0 && total.saturating_add(reserve) > self.cfg.total_max;
            let expired = expires(f).is_some_and(|t| t <= now);
            if keep(f) {
                continue;
            }
            if !over_count && !over_total && !expired {
                // Names sort by time: the first file kept by every rule
                // is the next to expire.
                self.next_expiry =
                    expires(f).and_then(|t| deadline::instant_at(t, now, Instant::now()));
                break;
            }
            if self.verbose {
                info(format_args!("delete: {}/{}", self.name, f.name));
            }
            match rustix::fs::unlinkat(&self.dir, f.name.as_str(), AtFlags::empty()) {
                Ok(()) => {
                    count -= 1;
                    total = total.saturating_sub(f.size);
                }
                Err(e) => msg::warn(
                    PROG,
                    format_args!(
                        "unable to unlink oldest logfile: {}/{}: {}",
                        self.name,
                        f.name,
                        why(e)
                    ),
                ),
            }
        }
    }
}
