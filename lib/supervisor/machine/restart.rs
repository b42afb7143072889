//! What happens when `run` or `finish` ends: `finish` (and s6's rule that
//! a `finish` exiting 125 means "do not restart"), then the down state and
//! the restart rules: runit's 1-second rule, restart-backoff and
//! restart-limit. All three are for a service that died on its own; one an
//! operator stopped (`t`, `d`, `x`, `k`, as `svctl restart` = `tcu` does)
//! comes back at once.

use super::{finish_args, last_exit, Action, Machine, Notice, Now, Pending, Which};
use crate::child::Exit;
use crate::status::{State, Want};
use std::time::Duration;

/// The 1-second rule (§5.3): no automatic start earlier than 1 s after the
/// last one.
pub const MIN_RUN_SPACING: Duration = Duration::from_secs(1);
/// Used when fork itself fails.
pub const FORK_RETRY: Duration = Duration::from_secs(1);
/// s6-supervise's rule: `finish` exiting with this means "do not restart".
pub const FINISH_NO_RESTART: i32 = 125;

impl Machine {
    /// `run` or `finish` of `w` ended.
    pub(super) fn on_exit(&mut self, w: Which, how: Option<Exit>, now: Now, out: &mut Vec<Action>) {
        let vanished = self.vanished;
        let svc = self.svc(w);
        match svc.state {
            State::Run if svc.pid != 0 => {
                svc.pid = 0;
                svc.adopted = false;
                svc.ready = false;
                svc.got_term = false;
                svc.kill_at = None;
                svc.run_exited = Some(now.mono);
                svc.last_exit = last_exit(how);
                if w == Which::Main && !vanished {
                    let (code, status) = finish_args(how);
                    self.pending = Some(Pending::Finish);
                    out.push(Action::SpawnFinish { code, status });
                } else {
                    self.become_down(w, now, out);
                }
            }
            State::Finish if svc.pid != 0 => {
                svc.finish_kill_at = None;
                if how == Some(Exit::Code(FINISH_NO_RESTART)) && svc.want == Want::Up {
                    svc.want = Want::Down;
                    svc.once = false;
                }
                self.become_down(w, now, out);
            }
            _ => {}
        }
    }

    pub(super) fn become_down(&mut self, w: Which, now: Now, out: &mut Vec<Action>) {
        let svc = self.svc(w);
        svc.state = State::Down;
        svc.pid = 0;
        svc.pid_start_ticks = 0;
        svc.stamp = now.wall;
        svc.since = now.wall;
        svc.got_term = false;
        svc.not_before = None;
        if !svc.stop_requested {
            // runit's rule holds whatever comes next, explicit `u`
            // included, unless an operator stopped the service.
            svc.not_before = svc
                .last_start
                .map(|t| t + MIN_RUN_SPACING)
                .filter(|t| *t > now.mono);
            if svc.want == Want::Up {
                self.plan_restart(w, now, out);
            }
        }
        // A restart that is due right now writes the status when it forks:
        // the down state would be overwritten a moment later anyway, and
        // skipping it gets the service back ~4 file replacements sooner.
        let main_exiting = self.main.want == Want::Exit;
        let may_start = self.may_start(w);
        let svc = self.svc(w);
        let restart_now = svc.wants_start()
            && svc.not_before.is_none()
            && may_start
            && (w == Which::Main || !main_exiting);
        if !restart_now {
            out.push(Action::WriteStatus(w));
        }
    }

    /// Applies restart-backoff and restart-limit to an automatic restart.
    fn plan_restart(&mut self, w: Which, now: Now, out: &mut Vec<Action>) {
        let svc = self.svc(w);
        let lived = match (svc.last_start, svc.run_exited) {
            (Some(s), Some(e)) => e.saturating_sub(s),
            _ => Duration::MAX,
        };
        let long_enough = svc
            .settings
            .backoff
            .map_or(MIN_RUN_SPACING, |b| b.max.max(MIN_RUN_SPACING));
        if lived >= long_enough {
            svc.restarts = 0;
        }
        if let Some(limit) = svc.settings.limit {
            while svc
                .restart_times
                .front()
                .is_some_and(|t| now.mono.saturating_sub(*t) >= limit.window)
            {
                svc.restart_times.pop_front();
            }
            if svc.restart_times.len() >= limit.count as usize {
                svc.failed = true;
                svc.want = Want::Down;
                svc.not_before = None;
                out.push(Action::Notify(Notice::RestartLimit {
                    which: w,
                    count: limit.count,
                    window: limit.window,
                }));
                return;
            }
            svc.restart_times.push_back(now.mono);
        }
        svc.restarts += 1;
        if let Some(b) = svc.settings.backoff {
            svc.not_before = Some(now.mono + b.delay(svc.restarts));
        }
    }
}
