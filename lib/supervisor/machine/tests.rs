//! The machine driven event by event with synthetic time and no
//! processes: the restart rules, `finish`, the timeouts, readiness,
//! adoption, the exit sequence and every control byte in every state.

use super::*;
use crate::supervisor::settings::{Backoff, Limit, Settings};
use std::collections::HashMap;

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);

/// A machine and a stand-in for the event loop that answers spawns and
/// scripts the way the real one would.
struct H {
    m: Machine,
    t: Duration,
    next_pid: i32,
    /// `control/X` scripts that exist, and whether each handles its command.
    scripts: HashMap<u8, bool>,
    finish: bool,
    fork_fails: bool,
}

fn settings() -> Settings {
    Settings::default()
}

fn h_with(main: Settings, log: Option<Settings>, pipe: Pipe) -> H {
    let wall = Tai64n::from_unix(1_000_000, 0);
    let m = Machine::new(
        Service::new(main, true, wall),
        log.map(|s| Service::new(s, true, wall)),
        pipe,
    );
    H {
        m,
        t: Duration::ZERO,
        next_pid: 100,
        scripts: HashMap::new(),
        finish: false,
        fork_fails: false,
    }
}

/// A started machine whose main service (and logger) run.
fn running(main: Settings) -> H {
    let mut h = h_with(main, None, Pipe::None);
    h.begin();
    h
}

impl H {
    fn now(&self) -> Now {
        Now {
            mono: self.t,
            wall: Tai64n::from_unix(1_000_000 + self.t.as_secs(), self.t.subsec_nanos()),
        }
    }

    fn begin(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        self.m.begin(self.now(), &mut out);
        self.answer(out)
    }

    /// Feeds `ev`; answers what needs an answer; returns every action.
    fn feed(&mut self, ev: Event) -> Vec<Action> {
        let mut out = Vec::new();
        self.m.step(ev, self.now(), &mut out);
        self.answer(out)
    }

    fn answer(&mut self, mut out: Vec<Action>) -> Vec<Action> {
        let mut i = 0;
        while let Some(&a) = out.get(i) {
            i += 1;
            let ev = match a {
                Action::SpawnRun { which, .. } => Some(self.spawned(which)),
                Action::SpawnFinish { .. } if !self.finish => Some(Event::FinishMissing),
                Action::SpawnFinish { .. } => Some(self.spawned(Which::Main)),
                Action::RunScript(b) => Some(Event::ScriptDone {
                    handled: self.scripts.get(&b).copied().unwrap_or(false),
                }),
                _ => None,
            };
            if let Some(ev) = ev {
                // Nothing may follow an action that needs an answer.
                assert_eq!(i, out.len(), "{a:?} ends its batch: {out:?}");
                let now = self.now();
                self.m.step(ev, now, &mut out);
            }
        }
        out
    }

    fn spawned(&mut self, which: Which) -> Event {
        if self.fork_fails {
            return Event::SpawnFailed(which);
        }
        self.next_pid += 1;
        Event::Spawned {
            which,
            pid: self.next_pid,
            start_ticks: 7,
        }
    }

    fn at(&mut self, t: Duration) {
        self.t = t;
    }

    /// Advances to the machine's deadline and fires it.
    fn timer(&mut self) -> Vec<Action> {
        let d = self.m.deadline().expect("a deadline is set");
        assert!(d >= self.t, "deadline in the past");
        self.t = d;
        self.feed(Event::Timer)
    }

    fn byte(&mut self, b: u8) -> Vec<Action> {
        self.feed(Event::Control(Which::Main, b))
    }

    fn bytes(&mut self, bs: &[u8]) -> Vec<Action> {
        bs.iter().flat_map(|&b| self.byte(b)).collect()
    }

    fn exit(&mut self, how: Exit) -> Vec<Action> {
        self.feed(Event::Exited(Which::Main, Some(how)))
    }

    fn main(&self) -> &Service {
        &self.m.main
    }

    fn log(&self) -> &Service {
        self.m.log.as_ref().unwrap()
    }

    fn pid(&self) -> i32 {
        self.main().pid
    }
}

fn spawns(actions: &[Action]) -> Vec<Which> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SpawnRun { which, .. } => Some(*which),
            _ => None,
        })
        .collect()
}

fn signals(actions: &[Action]) -> Vec<(i32, i32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Signal { pid, sig } => Some((*pid, *sig)),
            _ => None,
        })
        .collect()
}

fn scripts(actions: &[Action]) -> Vec<u8> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RunScript(b) => Some(*b),
            _ => None,
        })
        .collect()
}

const CODE0: Exit = Exit::Code(0);
const TERMED: Exit = Exit::Signal {
    sig: libc::SIGTERM,
    core: false,
};

// ---- start-up ------------------------------------------------------------

#[test]
fn begin_writes_status_and_starts_run_after_control_u() {
    let mut h = h_with(settings(), None, Pipe::None);
    let a = h.begin();
    assert_eq!(a[0], Action::WriteStatus(Which::Main));
    assert_eq!(
        a[1],
        Action::SpawnRun {
            which: Which::Main,
            notification_fd: None,
            control_u: true
        }
    );
    assert_eq!(h.main().state, State::Run);
    assert_eq!(h.main().pid, 101);
    assert_eq!(h.main().pid_start_ticks, 7);
    assert_eq!(h.main().starts, 1);
    assert_eq!(a.last(), Some(&Action::WriteStatus(Which::Main)));
    assert_eq!(h.m.deadline(), None, "nothing due: sleep");
}

#[test]
fn the_logger_starts_first_and_gets_no_control_scripts() {
    let mut h = h_with(settings(), Some(settings()), Pipe::Own);
    let a = h.begin();
    assert_eq!(spawns(&a), vec![Which::Log, Which::Main]);
    assert!(a.contains(&Action::SpawnRun {
        which: Which::Log,
        notification_fd: None,
        control_u: false
    }));
    assert!(h.log().running() && h.main().running());
}

#[test]
fn a_down_file_keeps_the_service_down_until_u() {
    let wall = Tai64n::from_unix(1_000_000, 0);
    let mut h = running(settings());
    h.m = Machine::new(Service::new(settings(), false, wall), None, Pipe::None);
    let a = h.begin();
    assert!(spawns(&a).is_empty());
    assert_eq!(h.main().want, Want::Down);
    assert_eq!(spawns(&h.byte(b'u')), vec![Which::Main]);
}

#[test]
fn notification_fd_is_asked_for_the_main_service_only() {
    let s = Settings {
        notification_fd: Some(3),
        ..settings()
    };
    let mut h = h_with(s, Some(s), Pipe::Own);
    let a = h.begin();
    assert!(a.contains(&Action::SpawnRun {
        which: Which::Main,
        notification_fd: Some(3),
        control_u: true
    }));
    assert!(a.contains(&Action::SpawnRun {
        which: Which::Log,
        notification_fd: None,
        control_u: false
    }));
}

// ---- the 1-second rule and operator restarts -------------------------------

#[test]
fn a_service_dying_within_a_second_restarts_one_second_after_its_start() {
    let mut h = running(settings());
    h.at(300 * MS);
    let a = h.exit(Exit::Code(1));
    assert!(spawns(&a).is_empty());
    assert_eq!(h.main().state, State::Down);
    assert!(
        a.contains(&Action::WriteStatus(Which::Main)),
        "down is shown"
    );
    assert_eq!(h.m.deadline(), Some(SEC));
    h.at(999 * MS);
    assert!(spawns(&h.feed(Event::Timer)).is_empty(), "not early");
    let a = h.timer();
    assert_eq!(h.t, SEC);
    assert_eq!(spawns(&a), vec![Which::Main]);
    assert_eq!(h.main().starts, 2);
    assert_eq!(h.main().restarts, 1);
}

#[test]
fn a_service_that_ran_a_while_restarts_at_once_without_a_down_write() {
    let mut h = running(settings());
    h.at(5 * SEC);
    let a = h.exit(CODE0);
    assert_eq!(spawns(&a), vec![Which::Main]);
    // The down state would be overwritten at once: one write, for the start.
    let writes = a
        .iter()
        .filter(|a| **a == Action::WriteStatus(Which::Main))
        .count();
    assert_eq!(writes, 1);
    assert_eq!(h.main().restarts, 1, "a run of 5 s starts the count anew");
}

#[test]
fn an_operator_restart_is_carried_out_at_once_every_time() {
    let mut h = running(settings());
    for round in 1..=3u64 {
        h.at(h.t + 10 * MS);
        let pid = h.pid();
        // svctl restart = `tcu`.
        let a = h.bytes(b"tcu");
        assert_eq!(
            signals(&a),
            vec![(pid, libc::SIGTERM), (pid, libc::SIGCONT)],
            "round {round}"
        );
        assert!(h.main().got_term);
        h.at(h.t + MS);
        let a = h.exit(TERMED);
        assert_eq!(spawns(&a), vec![Which::Main], "round {round}: no 1 s wait");
        assert_eq!(h.main().restarts, 0, "an operator restart is no crash");
        assert_eq!(h.main().starts, 1 + round);
    }
}

#[test]
fn a_restart_through_finish_is_at_once_too() {
    let mut h = running(settings());
    h.finish = true;
    h.at(20 * MS);
    h.bytes(b"tcu");
    let a = h.exit(TERMED);
    assert!(a.contains(&Action::SpawnFinish {
        code: -1,
        status: libc::SIGTERM
    }));
    assert_eq!(h.main().state, State::Finish);
    h.at(30 * MS);
    let a = h.exit(CODE0);
    assert_eq!(spawns(&a), vec![Which::Main]);
}

#[test]
fn k_by_an_operator_restarts_at_once() {
    let mut h = running(settings());
    h.at(10 * MS);
    let pid = h.pid();
    assert_eq!(signals(&h.byte(b'k')), vec![(pid, libc::SIGKILL)]);
    let a = h.exit(Exit::Signal {
        sig: libc::SIGKILL,
        core: false,
    });
    assert_eq!(spawns(&a), vec![Which::Main]);
}

#[test]
fn u_after_d_starts_at_once_but_u_after_a_crash_keeps_the_rule() {
    let mut h = running(settings());
    h.at(10 * MS);
    h.byte(b'd');
    h.exit(TERMED);
    assert_eq!(h.main().state, State::Down);
    assert_eq!(spawns(&h.byte(b'u')), vec![Which::Main]);

    // Now a crash 10 ms after the start, then `d` and `u` at once.
    h.at(20 * MS);
    h.exit(Exit::Code(1));
    h.byte(b'd');
    assert!(spawns(&h.byte(b'u')).is_empty(), "1-second rule holds");
    assert_eq!(h.m.deadline(), Some(10 * MS + SEC));
    assert_eq!(spawns(&h.timer()), vec![Which::Main]);
}

#[test]
fn the_logger_follows_the_same_rule() {
    let mut h = h_with(settings(), Some(settings()), Pipe::Own);
    h.begin();
    h.at(100 * MS);
    let log = h.log().pid;
    let a = h.feed(Event::Exited(Which::Log, Some(CODE0)));
    assert!(spawns(&a).is_empty());
    assert!(
        !a.iter().any(|a| matches!(a, Action::SpawnFinish { .. })),
        "no finish for the logger"
    );
    assert_eq!(h.m.deadline(), Some(SEC));
    assert_eq!(spawns(&h.timer()), vec![Which::Log]);
    assert_ne!(h.log().pid, log);
}

#[test]
fn a_failed_fork_is_retried_a_second_later() {
    let mut h = h_with(settings(), None, Pipe::None);
    h.fork_fails = true;
    let a = h.begin();
    assert_eq!(spawns(&a), vec![Which::Main]);
    assert_eq!(h.main().state, State::Down);
    assert_eq!(h.m.deadline(), Some(restart::FORK_RETRY));
    h.fork_fails = false;
    assert_eq!(spawns(&h.timer()), vec![Which::Main]);
    assert!(h.main().running());
}

// ---- finish ------------------------------------------------------------------

#[test]
fn finish_gets_runsvs_arguments() {
    for (how, args) in [
        (Exit::Code(3), (3, 0)),
        (Exit::Code(111), (111, 0)),
        (
            Exit::Signal {
                sig: 9,
                core: false,
            },
            (-1, 9),
        ),
        (
            Exit::Signal {
                sig: 11,
                core: true,
            },
            (-1, 139),
        ),
    ] {
        assert_eq!(finish_args(Some(how)), args);
    }
    assert_eq!(finish_args(None), (-1, 0), "adopted: no wait status");
}

#[test]
fn finish_runs_after_run_and_the_restart_waits_for_it() {
    let mut h = running(settings());
    h.finish = true;
    h.at(5 * SEC);
    let a = h.exit(Exit::Code(3));
    assert!(a.contains(&Action::SpawnFinish { code: 3, status: 0 }));
    assert!(spawns(&a).is_empty());
    assert_eq!(h.main().state, State::Finish);
    assert_eq!(h.main().last_exit, LastExit::Code(3));
    assert_eq!(h.m.deadline(), Some(10 * SEC), "timeout-finish");
    h.at(6 * SEC);
    let a = h.exit(CODE0);
    assert_eq!(spawns(&a), vec![Which::Main]);
}

#[test]
fn finish_exiting_125_means_do_not_restart() {
    let mut h = running(settings());
    h.finish = true;
    h.at(5 * SEC);
    h.exit(Exit::Code(1));
    let a = h.exit(Exit::Code(restart::FINISH_NO_RESTART));
    assert!(spawns(&a).is_empty());
    assert_eq!(h.main().state, State::Down);
    assert_eq!(h.main().want, Want::Down);
    assert!(a.contains(&Action::WriteStatus(Which::Main)));
    assert_eq!(h.m.deadline(), None);
    // Any other code restarts as usual; `u` starts it again.
    assert_eq!(spawns(&h.byte(b'u')), vec![Which::Main]);
    h.at(10 * SEC);
    h.exit(Exit::Code(1));
    let a = h.exit(Exit::Code(124));
    assert_eq!(spawns(&a), vec![Which::Main]);
}

#[test]
fn a_hanging_finish_is_killed_after_timeout_finish() {
    let s = Settings {
        timeout_finish: Some(200 * MS),
        ..settings()
    };
    let mut h = running(s);
    h.finish = true;
    h.at(2 * SEC);
    h.exit(CODE0);
    let finish = h.pid();
    let a = h.timer();
    assert_eq!(h.t, 2200 * MS);
    assert!(a.contains(&Action::Notify(Notice::FinishTimedOut)));
    assert!(a.contains(&Action::KillGroup { pid: finish }));
    let a = h.exit(Exit::Signal {
        sig: libc::SIGKILL,
        core: false,
    });
    assert_eq!(spawns(&a), vec![Which::Main]);
}

#[test]
fn a_missing_or_unforkable_finish_goes_straight_down() {
    let mut h = running(settings());
    h.at(5 * SEC);
    let a = h.exit(CODE0);
    assert!(a.contains(&Action::SpawnFinish { code: 0, status: 0 }));
    assert_eq!(spawns(&a), vec![Which::Main]);

    let mut h = running(settings());
    h.finish = true;
    h.at(5 * SEC);
    let mut out = Vec::new();
    let now = h.now();
    h.m.step(Event::Exited(Which::Main, Some(CODE0)), now, &mut out);
    assert_eq!(
        out.last(),
        Some(&Action::SpawnFinish { code: 0, status: 0 })
    );
    let a = h.feed(Event::SpawnFailed(Which::Main));
    assert_eq!(spawns(&a), vec![Which::Main]);
}

// ---- restart-backoff and restart-limit ---------------------------------------

#[test]
fn restart_backoff_doubles_up_to_its_maximum_and_resets_after_a_long_run() {
    let s = Settings {
        backoff: Some(Backoff {
            initial: 100 * MS,
            max: 400 * MS,
        }),
        ..settings()
    };
    let mut h = running(s);
    let mut delays = Vec::new();
    for _ in 0..5 {
        h.at(h.t + 2 * SEC);
        let exited = h.t;
        assert!(spawns(&h.exit(Exit::Code(1))).is_empty());
        let a = h.timer();
        assert_eq!(spawns(&a), vec![Which::Main]);
        delays.push(h.t - exited);
    }
    // Each run lived 2 s, longer than the maximum: no growth.
    assert_eq!(delays, vec![100 * MS; 5]);

    delays.clear();
    for _ in 0..5 {
        h.at(h.t + 10 * MS);
        let exited = h.t;
        h.exit(Exit::Code(1));
        h.timer();
        delays.push(h.t - exited);
    }
    assert_eq!(
        delays,
        vec![200 * MS, 400 * MS, 400 * MS, 400 * MS, 400 * MS],
        "the count went on from the last run (1) and is capped"
    );
    assert_eq!(h.main().restarts, 6);
    // The backoff replaces the 1-second rule: 200 ms after a 10 ms run.
}

#[test]
fn restart_limit_marks_the_service_failed_and_u_revives_it() {
    let s = Settings {
        limit: Some(Limit {
            count: 2,
            window: 10 * SEC,
        }),
        ..settings()
    };
    let mut h = running(s);
    for _ in 0..2 {
        h.at(h.t + 2 * SEC);
        assert_eq!(spawns(&h.exit(Exit::Code(1))), vec![Which::Main]);
    }
    h.at(h.t + 2 * SEC);
    let a = h.exit(Exit::Code(1));
    assert!(spawns(&a).is_empty());
    assert!(a.contains(&Action::Notify(Notice::RestartLimit {
        which: Which::Main,
        count: 2,
        window: 10 * SEC
    })));
    assert!(h.main().failed);
    assert_eq!(h.main().want, Want::Down);
    assert_eq!(h.m.deadline(), None);
    let a = h.byte(b'u');
    assert_eq!(spawns(&a), vec![Which::Main]);
    assert!(!h.main().failed);
    assert_eq!(h.main().restarts, 0);
}

#[test]
fn restarts_outside_the_window_do_not_count() {
    let s = Settings {
        limit: Some(Limit {
            count: 2,
            window: 10 * SEC,
        }),
        ..settings()
    };
    let mut h = running(s);
    for _ in 0..10 {
        h.at(h.t + 6 * SEC);
        assert_eq!(spawns(&h.exit(Exit::Code(1))), vec![Which::Main]);
    }
    assert!(!h.main().failed);
}

#[test]
fn operator_restarts_do_not_count_towards_the_limit() {
    let s = Settings {
        limit: Some(Limit {
            count: 1,
            window: 60 * SEC,
        }),
        ..settings()
    };
    let mut h = running(s);
    for _ in 0..5 {
        h.at(h.t + 10 * MS);
        h.bytes(b"tcu");
        assert_eq!(spawns(&h.exit(TERMED)), vec![Which::Main]);
    }
    assert!(!h.main().failed);
}

// ---- once, down, exit ----------------------------------------------------------

#[test]
fn o_starts_once_and_is_not_restarted() {
    let mut h = running(settings());
    h.byte(b'd');
    h.exit(TERMED);
    h.at(5 * SEC);
    let a = h.byte(b'o');
    assert_eq!(spawns(&a), vec![Which::Main]);
    assert!(h.main().once);
    assert_eq!(h.main().want, Want::Down);
    h.at(10 * SEC);
    assert!(spawns(&h.exit(CODE0)).is_empty());
    assert_eq!(h.m.deadline(), None);
}

#[test]
fn o_while_running_only_changes_want() {
    let mut h = running(settings());
    let a = h.byte(b'o');
    assert!(signals(&a).is_empty());
    assert!(h.main().running());
    h.at(5 * SEC);
    assert!(spawns(&h.exit(CODE0)).is_empty());
}

#[test]
fn d_sends_the_down_signal_then_cont_and_timeout_kill_escalates() {
    let s = Settings {
        down_signal: libc::SIGHUP,
        timeout_kill: Some(500 * MS),
        ..settings()
    };
    let mut h = running(s);
    let pid = h.pid();
    h.at(SEC);
    let a = h.byte(b'd');
    assert_eq!(signals(&a), vec![(pid, libc::SIGHUP), (pid, libc::SIGCONT)]);
    assert_eq!(scripts(&a), vec![b't', b'd']);
    assert!(h.main().got_term);
    assert_eq!(h.m.deadline(), Some(1500 * MS));
    let a = h.timer();
    assert_eq!(a, vec![Action::KillGroup { pid }]);
    h.exit(Exit::Signal {
        sig: libc::SIGKILL,
        core: false,
    });
    assert_eq!(h.main().state, State::Down);
    assert_eq!(h.m.deadline(), None);
}

#[test]
fn timeout_kill_is_dropped_when_the_service_stops_in_time() {
    let s = Settings {
        timeout_kill: Some(500 * MS),
        ..settings()
    };
    let mut h = running(s);
    h.byte(b'd');
    h.at(100 * MS);
    h.exit(TERMED);
    assert_eq!(h.m.deadline(), None);
}

#[test]
fn x_stops_the_service_then_exits_0() {
    let mut h = running(settings());
    let pid = h.pid();
    let a = h.byte(b'x');
    assert_eq!(
        signals(&a),
        vec![(pid, libc::SIGTERM), (pid, libc::SIGCONT)]
    );
    assert_eq!(scripts(&a), vec![b't', b'x']);
    assert_eq!(h.main().want, Want::Exit);
    let a = h.exit(TERMED);
    assert!(spawns(&a).is_empty());
    assert_eq!(a.last(), Some(&Action::Exit(crate::exit::OK)));
    assert!(h.feed(Event::Control(Which::Main, b'u')).is_empty(), "done");
}

#[test]
fn sigterm_means_x() {
    let mut h = running(settings());
    let pid = h.pid();
    let a = h.feed(Event::Term);
    assert_eq!(
        signals(&a),
        vec![(pid, libc::SIGTERM), (pid, libc::SIGCONT)]
    );
    assert_eq!(h.main().want, Want::Exit);
}

#[test]
fn x_while_down_exits_at_once() {
    let wall = Tai64n::from_unix(1_000_000, 0);
    let mut h = running(settings());
    h.m = Machine::new(Service::new(settings(), false, wall), None, Pipe::None);
    h.begin();
    assert_eq!(h.byte(b'x').last(), Some(&Action::Exit(0)));
}

#[test]
fn x_with_a_logger_closes_the_pipe_and_waits_for_the_logger() {
    let mut h = h_with(settings(), Some(settings()), Pipe::Own);
    h.begin();
    h.byte(b'x');
    let a = h.exit(TERMED);
    assert!(a.contains(&Action::CloseLogPipe));
    assert!(!a.iter().any(|a| matches!(a, Action::Exit(_))));
    assert_eq!(h.log().want, Want::Exit);
    assert!(signals(&a).is_empty(), "the logger is not signalled");
    assert_eq!(h.m.deadline(), None, "own pipe: EOF will come");
    let a = h.feed(Event::Exited(Which::Log, Some(CODE0)));
    assert!(spawns(&a).is_empty());
    assert_eq!(a.last(), Some(&Action::Exit(0)));
}

#[test]
fn x_with_an_inherited_pipe_gives_the_logger_its_stop_signal_after_a_grace() {
    let log = Settings {
        down_signal: libc::SIGINT,
        ..settings()
    };
    let mut h = h_with(settings(), Some(log), Pipe::Inherited);
    h.begin();
    let logger = h.log().pid;
    h.byte(b'x');
    h.exit(TERMED);
    assert_eq!(h.m.deadline(), Some(LOG_EOF_GRACE));
    let a = h.timer();
    assert_eq!(
        signals(&a),
        vec![(logger, libc::SIGINT), (logger, libc::SIGCONT)]
    );
    assert_eq!(
        h.feed(Event::Exited(Which::Log, Some(CODE0))).last(),
        Some(&Action::Exit(0))
    );
}

#[test]
fn x_on_the_log_fifo_is_ignored() {
    let mut h = h_with(settings(), Some(settings()), Pipe::Own);
    h.begin();
    let a = h.feed(Event::Control(Which::Log, b'x'));
    assert!(a.is_empty());
    assert_eq!(h.log().want, Want::Up);
}

#[test]
fn log_commands_never_ask_for_scripts() {
    let mut h = h_with(settings(), Some(settings()), Pipe::Own);
    h.begin();
    h.scripts.insert(b't', true);
    let log = h.log().pid;
    let a = h.feed(Event::Control(Which::Log, b'd'));
    assert!(scripts(&a).is_empty());
    assert_eq!(
        signals(&a),
        vec![(log, libc::SIGTERM), (log, libc::SIGCONT)]
    );
}

// ---- readiness and adoption -----------------------------------------------

#[test]
fn readiness_is_recorded_once_and_cleared_by_the_next_start() {
    let mut h = running(settings());
    h.at(300 * MS);
    let a = h.feed(Event::Ready);
    assert_eq!(a, vec![Action::WriteStatus(Which::Main)]);
    assert!(h.main().ready);
    assert_eq!(h.main().ready_since, Some(h.now().wall));
    assert!(h.feed(Event::Ready).is_empty(), "once");
    h.at(5 * SEC);
    h.exit(CODE0);
    assert!(!h.main().ready);
    assert_eq!(h.main().ready_since, None);
}

#[test]
fn readiness_after_the_exit_is_ignored() {
    let mut h = running(settings());
    h.byte(b'd');
    h.exit(TERMED);
    assert!(h.feed(Event::Ready).is_empty());
    assert!(!h.main().ready);
}

#[test]
fn an_adopted_run_is_supervised_and_its_exit_has_no_status() {
    let wall = Tai64n::from_unix(1_000_000, 0);
    let mut svc = Service::new(settings(), true, wall);
    svc.state = State::Run;
    svc.pid = 4242;
    svc.adopted = true;
    svc.starts = 3;
    let mut h = running(settings());
    h.m = Machine::new(svc, None, Pipe::None);
    h.finish = true;
    let a = h.begin();
    assert!(spawns(&a).is_empty(), "no second copy");
    assert_eq!(
        signals(&h.byte(b'h')),
        vec![(4242, libc::SIGHUP)],
        "commands reach it"
    );
    let a = h.feed(Event::Exited(Which::Main, None));
    assert!(a.contains(&Action::SpawnFinish {
        code: -1,
        status: 0
    }));
    assert_eq!(h.main().last_exit, LastExit::None);
    assert!(!h.main().adopted);
    h.exit(CODE0);
    assert_eq!(h.main().starts, 4);
}

// ---- the directory vanishing ---------------------------------------------------

#[test]
fn a_vanished_directory_stops_the_service_with_escalation_and_exits_111() {
    let mut h = running(settings());
    h.scripts.insert(b't', true);
    h.finish = true;
    let pid = h.pid();
    let a = h.feed(Event::DirGone);
    assert_eq!(a[0], Action::Notify(Notice::DirRemoved));
    assert!(
        scripts(&a).is_empty(),
        "nothing runs from a removed directory"
    );
    assert_eq!(
        signals(&a),
        vec![(pid, libc::SIGTERM), (pid, libc::SIGCONT)]
    );
    assert_eq!(h.m.deadline(), Some(VANISHED_KILL));
    assert_eq!(h.timer(), vec![Action::KillGroup { pid }]);
    let a = h.exit(Exit::Signal {
        sig: libc::SIGKILL,
        core: false,
    });
    assert!(!a.iter().any(|a| matches!(a, Action::SpawnFinish { .. })));
    assert_eq!(a.last(), Some(&Action::Exit(crate::exit::SYSTEM)));
}

#[test]
fn a_vanished_directory_is_handled_once() {
    let mut h = running(settings());
    h.feed(Event::DirGone);
    assert!(h.feed(Event::DirGone).is_empty());
}

// ---- control scripts -------------------------------------------------------------

#[test]
fn a_handling_control_t_replaces_the_stop_signal() {
    let mut h = running(settings());
    h.scripts.insert(b't', true);
    let pid = h.pid();
    let a = h.byte(b't');
    assert!(signals(&a).is_empty());
    assert!(!h.main().got_term);
    // d: control/t replaces TERM, SIGCONT always, then control/d.
    let a = h.byte(b'd');
    assert_eq!(signals(&a), vec![(pid, libc::SIGCONT)]);
    assert_eq!(scripts(&a), vec![b't', b'd']);
}

#[test]
fn a_failing_control_script_still_lets_the_signal_through() {
    let mut h = running(settings());
    h.scripts.insert(b'h', false);
    let pid = h.pid();
    let a = h.byte(b'h');
    assert_eq!(scripts(&a), vec![b'h']);
    assert_eq!(signals(&a), vec![(pid, libc::SIGHUP)]);
}

#[test]
fn handled_p_and_c_still_set_the_paused_flag() {
    let mut h = running(settings());
    h.scripts.insert(b'p', true);
    h.scripts.insert(b'c', true);
    assert!(signals(&h.byte(b'p')).is_empty());
    assert!(h.main().paused);
    assert!(signals(&h.byte(b'c')).is_empty());
    assert!(!h.main().paused);
}

#[test]
fn handled_k_sends_no_kill() {
    let mut h = running(settings());
    h.scripts.insert(b'k', true);
    assert!(signals(&h.byte(b'k')).is_empty());
    assert!(h.main().running());
}

// ---- every control byte in every state ------------------------------------

#[derive(Clone, Copy, Debug)]
enum St {
    /// Up and running.
    Run,
    /// `finish` running (want up).
    Finish,
    /// Down, want down.
    Down,
    /// Down within the 1-second rule, want up.
    Throttled,
}

fn in_state(st: St) -> H {
    let mut h = running(settings());
    h.finish = true;
    match st {
        St::Run => {}
        St::Finish => {
            h.at(5 * SEC);
            h.exit(CODE0);
            assert_eq!(h.main().state, State::Finish);
        }
        St::Down => {
            h.finish = false;
            h.byte(b'd');
            h.exit(TERMED);
            assert_eq!(h.main().want, Want::Down);
        }
        St::Throttled => {
            h.finish = false;
            h.at(100 * MS);
            h.exit(Exit::Code(1));
            assert_eq!(h.main().state, State::Down);
            assert_eq!(h.main().want, Want::Up);
        }
    }
    h.finish = false;
    h
}

#[test]
fn every_control_byte_in_every_state() {
    use St::*;
    // (byte, state, signals sent (as signal numbers, to the current pid),
    //  want afterwards, a start follows at once)
    let u = Want::Up;
    let d = Want::Down;
    let x = Want::Exit;
    let (term, cont, kill) = (libc::SIGTERM, libc::SIGCONT, libc::SIGKILL);
    #[rustfmt::skip]
    let table: &[(u8, St, &[i32], Want, bool)] = &[
        (b'u', Run, &[], u, false), (b'u', Finish, &[], u, false),
        (b'u', Down, &[], u, true), (b'u', Throttled, &[], u, false),
        (b'd', Run, &[term, cont], d, false), (b'd', Finish, &[], d, false),
        (b'd', Down, &[], d, false), (b'd', Throttled, &[], d, false),
        (b'o', Run, &[], d, false), (b'o', Finish, &[], d, false),
        (b'o', Down, &[], d, true), (b'o', Throttled, &[], d, false),
        (b'x', Run, &[term, cont], x, false), (b'x', Finish, &[], x, false),
        (b'x', Down, &[], x, false), (b'x', Throttled, &[], x, false),
        (b't', Run, &[term], u, false), (b't', Finish, &[], u, false),
        (b't', Down, &[], d, false), (b't', Throttled, &[], u, false),
        (b'k', Run, &[kill], u, false), (b'k', Finish, &[kill], u, false),
        (b'k', Down, &[], d, false), (b'k', Throttled, &[], u, false),
        (b'p', Run, &[libc::SIGSTOP], u, false), (b'p', Finish, &[], u, false),
        (b'p', Down, &[], d, false), (b'p', Throttled, &[], u, false),
        (b'c', Run, &[cont], u, false), (b'c', Finish, &[], u, false),
        (b'c', Down, &[], d, false), (b'c', Throttled, &[], u, false),
        (b'h', Run, &[libc::SIGHUP], u, false), (b'a', Run, &[libc::SIGALRM], u, false),
        (b'i', Run, &[libc::SIGINT], u, false), (b'q', Run, &[libc::SIGQUIT], u, false),
        (b'1', Run, &[libc::SIGUSR1], u, false), (b'2', Run, &[libc::SIGUSR2], u, false),
    ];
    for &(byte, st, sigs, want, starts) in table {
        let mut h = in_state(st);
        let pid = h.pid();
        let a = h.byte(byte);
        let what = format!("{} in {st:?}: {a:?}", byte as char);
        let sent: Vec<(i32, i32)> = sigs.iter().map(|&s| (pid, s)).collect();
        assert_eq!(signals(&a), sent, "{what}");
        assert_eq!(h.main().want, want, "{what}");
        assert_eq!(!spawns(&a).is_empty(), starts, "{what}");
        // Signals go to existing processes only.
        assert!(signals(&a).iter().all(|(p, _)| *p > 0), "{what}");
    }
    // The signalling bytes do nothing unless `run` runs (runsv: "if running").
    for byte in *b"haiq12" {
        for st in [Finish, Down, Throttled] {
            let mut h = in_state(st);
            let before = h.main().clone();
            let a = h.byte(byte);
            assert!(signals(&a).is_empty(), "{} in {st:?}", byte as char);
            assert_eq!(h.main().want, before.want);
        }
    }
    // `o` within the 1-second rule starts once the rule allows.
    let mut h = in_state(Throttled);
    h.byte(b'o');
    assert_eq!(spawns(&h.timer()), vec![Which::Main]);
    assert_eq!(h.t, SEC);
    // Bytes runsv ignores (`e` is only sv's word for `x`) change nothing.
    for byte in *b"ewsX\n\0" {
        for st in [Run, Finish, Down, Throttled] {
            let mut h = in_state(st);
            let before = format!("{:?}", h.main());
            let a = h.byte(byte);
            assert!(a.is_empty(), "{:?} in {st:?}: {a:?}", byte as char);
            assert_eq!(format!("{:?}", h.main()), before);
        }
    }
}

#[test]
fn p_and_c_set_the_flag_in_every_state() {
    for st in [St::Run, St::Finish, St::Down, St::Throttled] {
        let mut h = in_state(st);
        h.byte(b'p');
        assert!(h.main().paused, "{st:?}");
        h.byte(b'c');
        assert!(!h.main().paused, "{st:?}");
    }
}

#[test]
fn a_new_start_clears_pause_and_got_term() {
    let mut h = running(settings());
    h.bytes(b"pt");
    assert!(h.main().paused && h.main().got_term);
    h.exit(TERMED);
    assert!(!h.main().paused && !h.main().got_term);
    assert!(h.main().running());
}
