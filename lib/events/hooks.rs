//! svscan's event hooks: the executables in `event.d/` (default
//! [`DEFAULT_DIR`], `SVSCAN_EVENT_DIR` to change it), each run once per
//! event with the event in its environment ([`super::hookenv`]).
//!
//! The [`Dispatcher`] is the pure policy; svscan's loop does the
//! spawning, killing and reaping:
//! - Each hook runs one event at a time, in order; each hook has its own
//!   queue, so a slow hook holds back only itself.
//! - A run is bounded by the hook timeout (`SVSCAN_EVENT_TIMEOUT`, default
//!   [`DEFAULT_TIMEOUT`]); at it the hook is killed with its process group
//!   and reported.
//! - A queue holds at most [`QUEUE_BOUND`] events; beyond that events are
//!   dropped and counted, with one warning per overflow and one summary
//!   line when it is over.
//! - At shutdown ([`Input::Shutdown`]) hooks keep running (a `down` hook
//!   that deregisters a service is exactly what should run then), but
//!   nothing runs past the shutdown deadline: at it, running hooks are
//!   killed and queued events dropped. So hooks never delay the deadline.
//! - A failing hook (non-zero exit, signal) is reported and changes
//!   nothing else.

use super::event::Event;
use super::queue::{Bounded, Pushed};
use crate::child::Exit;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const DEFAULT_DIR: &str = "/etc/svscan/event.d";
/// Environment variable naming the hook directory (empty: no hooks).
pub const ENV_DIR: &str = "SVSCAN_EVENT_DIR";
/// Environment variable with the hook timeout in milliseconds.
pub const ENV_TIMEOUT: &str = "SVSCAN_EVENT_TIMEOUT";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Events queued per hook at most.
pub const QUEUE_BOUND: usize = 256;

/// The hooks in `dir`: regular files executable by someone, not starting
/// with `.`, sorted by name (so `10-consul` runs its events independently
/// of, but is listed before, `20-webhook`). A missing directory has none.
pub fn list(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    use std::os::unix::fs::PermissionsExt;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut hooks = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        let path = entry.path();
        // Follows symlinks: a hook may be a link into /usr/share.
        if std::fs::metadata(&path)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        {
            hooks.push(path);
        }
    }
    hooks.sort();
    Ok(hooks)
}

/// Index of a hook in the list the [`Dispatcher`] was made with.
pub type HookId = usize;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// An event from a service: every hook gets it.
    Event(Event),
    /// A hook's run ended (`how`: its wait status).
    Exited { hook: HookId, how: Exit },
    /// Time passed.
    Tick,
    /// svscan is shutting down: nothing may run past `deadline`.
    Shutdown { deadline: Instant },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Run `hook` for `event`, in a process group of its own.
    Run {
        hook: HookId,
        event: Event,
    },
    /// Kill `hook`'s process group (SIGKILL); an [`Input::Exited`] follows
    /// when it is reaped.
    Kill {
        hook: HookId,
    },
    Warn(Warning),
}

/// What svscan reports about its hooks (one line each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// The first event dropped in an overflow of `hook`'s queue.
    QueueFull { hook: HookId },
    /// The overflow is over: `count` events were dropped for `hook`.
    Dropped { hook: HookId, count: u64 },
    /// `hook` failed on an event (`event` is its kind word).
    Failed {
        hook: HookId,
        event: &'static str,
        how: Exit,
    },
    /// `hook` ran past its time limit and is being killed.
    TimedOut { hook: HookId, event: &'static str },
    /// At the shutdown deadline, `count` queued events of `hook` were
    /// dropped.
    DroppedAtShutdown { hook: HookId, count: usize },
}

impl Warning {
    /// The line after `svscan: warning: `; `names` are the hooks' names.
    pub fn describe(&self, names: &[String]) -> String {
        let name = |h: &HookId| names.get(*h).map_or("?", String::as_str);
        match self {
            Warning::QueueFull { hook } => format!(
                "hook {}: {QUEUE_BOUND} events queued, dropping events",
                name(hook)
            ),
            Warning::Dropped { hook, count } => {
                format!("hook {}: {count} events were dropped", name(hook))
            }
            Warning::Failed { hook, event, how } => {
                format!("hook {}: {how} on event {event}", name(hook))
            }
            Warning::TimedOut { hook, event } => {
                format!("hook {}: timed out on event {event}, killed", name(hook))
            }
            Warning::DroppedAtShutdown { hook, count } => format!(
                "hook {}: shutdown deadline: {count} queued events dropped",
                name(hook)
            ),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(&[]))
    }
}

#[derive(Clone, Debug)]
struct Running {
    event: &'static str,
    deadline: Instant,
    killed: bool,
}

#[derive(Clone, Debug)]
struct Hook {
    queue: Bounded<Event>,
    running: Option<Running>,
}

#[derive(Clone, Debug)]
pub struct Dispatcher {
    hooks: Vec<Hook>,
    timeout: Duration,
    shutdown: Option<Instant>,
}

impl Dispatcher {
    /// A dispatcher for `count` hooks, each run bounded by `timeout`.
    pub fn new(count: usize, timeout: Duration) -> Dispatcher {
        Dispatcher {
            hooks: (0..count)
                .map(|_| Hook {
                    queue: Bounded::new(QUEUE_BOUND),
                    running: None,
                })
                .collect(),
            timeout,
            shutdown: None,
        }
    }

    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        match input {
            Input::Event(event) => {
                if self.shutdown.is_some_and(|d| now >= d) {
                    return out;
                }
                for id in 0..self.hooks.len() {
                    if self.hooks[id].running.is_none() {
                        self.start(id, event.clone(), now, &mut out);
                    } else {
                        match self.hooks[id].queue.push(event.clone()) {
                            Pushed::Queued | Pushed::Dropped => {}
                            Pushed::DroppedWarn => {
                                out.push(Output::Warn(Warning::QueueFull { hook: id }))
                            }
                        }
                    }
                }
            }
            Input::Exited { hook, how } => {
                let Some(run) = self.hooks.get_mut(hook).and_then(|h| h.running.take()) else {
                    return out;
                };
                if !run.killed && !how.success() {
                    out.push(Output::Warn(Warning::Failed {
                        hook,
                        event: run.event,
                        how,
                    }));
                }
                self.next(hook, now, &mut out);
            }
            Input::Tick => {
                let past_shutdown = self.shutdown.is_some_and(|d| now >= d);
                for id in 0..self.hooks.len() {
                    let h = &mut self.hooks[id];
                    if let Some(run) = h.running.as_mut() {
                        if !run.killed && now >= run.deadline {
                            run.killed = true;
                            out.push(Output::Warn(Warning::TimedOut {
                                hook: id,
                                event: run.event,
                            }));
                            out.push(Output::Kill { hook: id });
                        }
                    }
                    if past_shutdown {
                        let count = h.queue.clear();
                        if count > 0 {
                            out.push(Output::Warn(Warning::DroppedAtShutdown { hook: id, count }));
                        }
                    }
                }
            }
            Input::Shutdown { deadline } => {
                let deadline = self.shutdown.map_or(deadline, |d| d.min(deadline));
                self.shutdown = Some(deadline);
                for h in &mut self.hooks {
                    if let Some(run) = h.running.as_mut() {
                        run.deadline = run.deadline.min(deadline);
                    }
                }
            }
        }
        out
    }

    fn start(&mut self, id: HookId, event: Event, now: Instant, out: &mut Vec<Output>) {
        let mut deadline = now + self.timeout;
        if let Some(d) = self.shutdown {
            deadline = deadline.min(d);
        }
        self.hooks[id].running = Some(Running {
            event: event.kind.word(),
            deadline,
            killed: false,
        });
        out.push(Output::Run { hook: id, event });
    }

    fn next(&mut self, id: HookId, now: Instant, out: &mut Vec<Output>) {
        if self.shutdown.is_some_and(|d| now >= d) {
            let count = self.hooks[id].queue.clear();
            if count > 0 {
                out.push(Output::Warn(Warning::DroppedAtShutdown { hook: id, count }));
            }
            return;
        }
        if let Some(event) = self.hooks[id].queue.pop() {
            self.start(id, event, now, out);
        }
        if let Some(count) = self.hooks[id].queue.overflow_over() {
            out.push(Output::Warn(Warning::Dropped { hook: id, count }));
        }
    }

    /// When the loop must send [`Input::Tick`]: the earliest time limit of
    /// a running hook, or the shutdown deadline while anything is queued.
    /// `None` when no hook runs: no timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        let runs = self
            .hooks
            .iter()
            .filter_map(|h| h.running.as_ref())
            .filter(|r| !r.killed)
            .map(|r| r.deadline);
        let queued = self.hooks.iter().any(|h| !h.queue.is_empty());
        let shutdown = self.shutdown.filter(|_| queued);
        runs.chain(shutdown).min()
    }

    /// Nothing runs and nothing is queued (shutdown need not wait).
    pub fn idle(&self) -> bool {
        self.hooks
            .iter()
            .all(|h| h.running.is_none() && h.queue.is_empty())
    }

    /// Events dropped so far by `hook` (for metrics).
    pub fn dropped(&self, hook: HookId) -> u64 {
        self.hooks.get(hook).map_or(0, |h| h.queue.dropped_total())
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::tests::ev;
    use super::super::event::Kind;
    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    fn event(seq: u64) -> Event {
        let mut e = ev(Kind::Started { pid: 1 });
        e.seq = seq;
        e
    }

    fn runs(out: &[Output]) -> Vec<(HookId, u64)> {
        out.iter()
            .filter_map(|o| match o {
                Output::Run { hook, event } => Some((*hook, event.seq)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn one_event_at_a_time_per_hook_in_order() {
        let t = Instant::now();
        let mut d = Dispatcher::new(2, Duration::from_secs(10));
        assert_eq!(d.next_deadline(), None);
        assert_eq!(runs(&d.handle(Input::Event(event(1)), t)), [(0, 1), (1, 1)]);
        assert_eq!(d.next_deadline(), Some(at(t, 10_000)));
        assert!(runs(&d.handle(Input::Event(event(2)), t)).is_empty());
        assert!(runs(&d.handle(Input::Event(event(3)), t)).is_empty());
        // Hook 1 finishes first: it moves on without waiting for hook 0.
        let ok = Exit::Code(0);
        assert_eq!(
            runs(&d.handle(Input::Exited { hook: 1, how: ok }, at(t, 5))),
            [(1, 2)]
        );
        assert_eq!(
            runs(&d.handle(Input::Exited { hook: 1, how: ok }, at(t, 6))),
            [(1, 3)]
        );
        assert!(runs(&d.handle(Input::Exited { hook: 1, how: ok }, at(t, 7))).is_empty());
        assert_eq!(
            runs(&d.handle(Input::Exited { hook: 0, how: ok }, at(t, 8))),
            [(0, 2)]
        );
        assert!(!d.idle());
        d.handle(Input::Exited { hook: 0, how: ok }, at(t, 9));
        d.handle(Input::Exited { hook: 0, how: ok }, at(t, 9));
        assert!(d.idle());
        assert_eq!(d.next_deadline(), None);
        // A stray exit (no run) is ignored.
        assert!(d
            .handle(Input::Exited { hook: 5, how: ok }, at(t, 9))
            .is_empty());
    }

    #[test]
    fn failures_and_timeouts_are_reported() {
        let t = Instant::now();
        let mut d = Dispatcher::new(1, Duration::from_millis(100));
        d.handle(Input::Event(event(1)), t);
        d.handle(Input::Event(event(2)), t);
        let out = d.handle(
            Input::Exited {
                hook: 0,
                how: Exit::Code(2),
            },
            at(t, 10),
        );
        assert_eq!(
            out[0],
            Output::Warn(Warning::Failed {
                hook: 0,
                event: "started",
                how: Exit::Code(2)
            })
        );
        assert_eq!(runs(&out), [(0, 2)]);
        assert_eq!(d.next_deadline(), Some(at(t, 110)));
        assert!(d.handle(Input::Tick, at(t, 109)).is_empty());
        let out = d.handle(Input::Tick, at(t, 110));
        assert_eq!(
            out,
            [
                Output::Warn(Warning::TimedOut {
                    hook: 0,
                    event: "started"
                }),
                Output::Kill { hook: 0 }
            ]
        );
        // Killed: no second kill, no timer, and its SIGKILL is not a failure.
        assert_eq!(d.next_deadline(), None);
        assert!(d.handle(Input::Tick, at(t, 500)).is_empty());
        let killed = Exit::Signal {
            sig: 9,
            core: false,
        };
        assert!(d
            .handle(
                Input::Exited {
                    hook: 0,
                    how: killed
                },
                at(t, 111)
            )
            .is_empty());
        let names = vec!["20-webhook".to_string()];
        assert_eq!(
            Warning::Failed {
                hook: 0,
                event: "exited",
                how: Exit::Code(2)
            }
            .describe(&names),
            "hook 20-webhook: exited 2 on event exited"
        );
    }

    #[test]
    fn a_burst_is_bounded_warned_once_and_summed_up() {
        let t = Instant::now();
        let mut d = Dispatcher::new(1, Duration::from_secs(10));
        let mut warnings = Vec::new();
        for seq in 1..=1000 {
            for o in d.handle(Input::Event(event(seq)), t) {
                if let Output::Warn(w) = o {
                    warnings.push(w);
                }
            }
        }
        assert_eq!(warnings, [Warning::QueueFull { hook: 0 }]);
        let mut seen = vec![1];
        let mut summaries = Vec::new();
        while !d.idle() {
            let out = d.handle(
                Input::Exited {
                    hook: 0,
                    how: Exit::Code(0),
                },
                t,
            );
            seen.extend(runs(&out).iter().map(|r| r.1));
            summaries.extend(
                out.into_iter()
                    .filter(|o| matches!(o, Output::Warn(Warning::Dropped { .. }))),
            );
        }
        // The first event ran at once, then QUEUE_BOUND in order; the rest
        // were dropped and counted once.
        let want: Vec<u64> = (1..=1 + QUEUE_BOUND as u64).collect();
        assert_eq!(seen, want);
        let dropped = 1000 - 1 - QUEUE_BOUND as u64;
        assert_eq!(
            summaries,
            [Output::Warn(Warning::Dropped {
                hook: 0,
                count: dropped
            })]
        );
        assert_eq!(d.dropped(0), dropped);
    }

    #[test]
    fn the_summary_comes_when_the_queue_drains() {
        let t = Instant::now();
        let mut d = Dispatcher::new(1, Duration::from_secs(10));
        for seq in 0..(QUEUE_BOUND as u64 + 3) {
            d.handle(Input::Event(event(seq)), t);
        }
        let mut summaries = Vec::new();
        while !d.idle() {
            for o in d.handle(
                Input::Exited {
                    hook: 0,
                    how: Exit::Code(0),
                },
                t,
            ) {
                if let Output::Warn(w @ Warning::Dropped { .. }) = o {
                    summaries.push(w);
                }
            }
        }
        assert_eq!(summaries, [Warning::Dropped { hook: 0, count: 2 }]);
    }

    #[test]
    fn nothing_runs_past_the_shutdown_deadline() {
        let t = Instant::now();
        let mut d = Dispatcher::new(1, Duration::from_secs(60));
        d.handle(Input::Event(event(1)), t);
        d.handle(Input::Event(event(2)), t);
        d.handle(
            Input::Shutdown {
                deadline: at(t, 1000),
            },
            at(t, 10),
        );
        // The hook that sleeps forever is killed at the shutdown deadline,
        // not at its own 60 s limit.
        assert_eq!(d.next_deadline(), Some(at(t, 1000)));
        let out = d.handle(Input::Tick, at(t, 1000));
        assert!(out.contains(&Output::Kill { hook: 0 }));
        assert!(out.contains(&Output::Warn(Warning::DroppedAtShutdown {
            hook: 0,
            count: 1
        })));
        // Late events are not run.
        assert!(d.handle(Input::Event(event(3)), at(t, 1001)).is_empty());
        let killed = Exit::Signal {
            sig: 9,
            core: false,
        };
        assert!(runs(&d.handle(
            Input::Exited {
                hook: 0,
                how: killed
            },
            at(t, 1002)
        ))
        .is_empty());
        assert!(d.idle());
        // Before the deadline, hooks still run (a `down` hook at shutdown),
        // bounded by the deadline.
        let mut d = Dispatcher::new(1, Duration::from_secs(60));
        d.handle(
            Input::Shutdown {
                deadline: at(t, 1000),
            },
            t,
        );
        assert_eq!(
            runs(&d.handle(Input::Event(event(9)), at(t, 500))),
            [(0, 9)]
        );
        assert_eq!(d.next_deadline(), Some(at(t, 1000)));
        // A later Shutdown never extends the deadline.
        d.handle(
            Input::Shutdown {
                deadline: at(t, 5000),
            },
            at(t, 600),
        );
        assert_eq!(d.next_deadline(), Some(at(t, 1000)));
    }

    #[test]
    fn listing_hooks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("svkit-hooks-list-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(list(&dir).unwrap(), Vec::<PathBuf>::new());
        std::fs::create_dir_all(dir.join("subdir")).unwrap();
        for (name, mode) in [
            ("20-b", 0o755),
            ("10-a", 0o700),
            (".hidden", 0o755),
            ("notes", 0o644),
        ] {
            let p = dir.join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        assert_eq!(list(&dir).unwrap(), [dir.join("10-a"), dir.join("20-b")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
