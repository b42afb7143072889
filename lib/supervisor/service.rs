//! The state of one supervised service (the main one or its logger): what
//! runit's status record says, what svkit adds, and the times the restart
//! rules and timeouts are computed from. Plain data: no descriptors, no
//! clock. The descriptors that go with it live in the event loop.

use super::settings::Settings;
use crate::extstatus::LastExit;
use crate::status::{State, Want};
use crate::tai64n::Tai64n;
use std::collections::VecDeque;
use std::time::Duration;

/// Monotonic time as the machine sees it: time since the event loop's
/// origin. A plain number, so tests can make it up.
pub type Mono = Duration;

#[derive(Clone, Debug)]
pub struct Service {
    pub settings: Settings,

    // runit's record.
    pub state: State,
    pub want: Want,
    pub paused: bool,
    pub got_term: bool,
    /// Pid of `run` (state run) or `finish` (state finish); 0 when none.
    pub pid: i32,
    pub stamp: Tai64n,

    // svkit's additions (supervise/svkit-status).
    /// Taken up with `o`: not restarted.
    pub once: bool,
    pub pid_start_ticks: u64,
    pub since: Tai64n,
    pub ready: bool,
    pub ready_since: Option<Tai64n>,
    pub starts: u64,
    pub restarts: u64,
    pub last_exit: LastExit,
    pub failed: bool,
    pub normally_up: bool,

    // What the rules are computed from.
    /// `run` was adopted from a killed supervisor: not our child, so its
    /// exit comes without a wait status.
    pub adopted: bool,
    /// `o` arrived while down: start once.
    pub start_once: bool,
    pub last_start: Option<Mono>,
    pub run_exited: Option<Mono>,
    /// The current (or last) `run` was told to stop by an operator (`t`,
    /// `d`, `x`, `k`): its exit is no crash, so neither the 1-second rule
    /// nor the restart rules apply to it.
    pub stop_requested: bool,
    /// No start before this (the 1-second rule, the backoff delay, a
    /// failed fork).
    pub not_before: Option<Mono>,
    /// SIGKILL the process group of `run` at this time (timeout-kill).
    pub kill_at: Option<Mono>,
    /// SIGKILL `finish` at this time (timeout-finish).
    pub finish_kill_at: Option<Mono>,
    /// Times of automatic restarts inside the restart-limit window.
    pub restart_times: VecDeque<Mono>,
}

impl Service {
    /// A service that is down; `stamp` is the wall time supervise started.
    pub fn new(settings: Settings, normally_up: bool, stamp: Tai64n) -> Self {
        Service {
            settings,
            state: State::Down,
            want: if normally_up { Want::Up } else { Want::Down },
            paused: false,
            got_term: false,
            pid: 0,
            stamp,
            once: false,
            pid_start_ticks: 0,
            since: stamp,
            ready: false,
            ready_since: None,
            starts: 0,
            restarts: 0,
            last_exit: LastExit::None,
            failed: false,
            normally_up,
            adopted: false,
            start_once: false,
            last_start: None,
            run_exited: None,
            stop_requested: false,
            not_before: None,
            kill_at: None,
            finish_kill_at: None,
            restart_times: VecDeque::new(),
        }
    }

    /// `run` is up ("if running" in runit's command table).
    pub fn running(&self) -> bool {
        self.state == State::Run && self.pid != 0
    }

    /// Should a start happen once `not_before` has passed?
    pub fn wants_start(&self) -> bool {
        self.state == State::Down
            && self.pid == 0
            && ((self.want == Want::Up && !self.failed) || self.start_once)
    }
}
