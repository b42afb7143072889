//! The state of one supervised service (the main one or its logger): what
//! runit's status record says plus what svkit adds, and the timers that
//! belong to it.

use super::settings::Settings;
use super::setup::Held;
use crate::extstatus::LastExit;
use crate::status::{State, Want};
use crate::tai64n::Tai64n;
use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::time::Instant;

pub struct Service {
    pub is_log: bool,
    pub held: Held,
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

    // Machinery.
    /// pidfd of an adopted `run` (not our child: its exit is seen here,
    /// its wait status is not).
    pub adopted: Option<OwnedFd>,
    /// Read end of the readiness pipe of the current `run`.
    pub notify_r: Option<OwnedFd>,
    /// `o` arrived while down: start once.
    pub start_once: bool,
    pub last_start: Option<Instant>,
    pub run_exited: Option<Instant>,
    /// No start before this (the 1-second rule or the backoff delay).
    pub not_before: Option<Instant>,
    /// SIGKILL the process group of `run` at this time (timeout-kill).
    pub kill_at: Option<Instant>,
    /// SIGKILL `finish` at this time (timeout-finish).
    pub finish_kill_at: Option<Instant>,
    /// Times of automatic restarts inside the restart-limit window.
    pub restart_times: VecDeque<Instant>,
    /// The pid last written to `supervise/pid` (runsv rewrites it only on
    /// change).
    pub pid_written: Option<i32>,
    /// The status files are out of date (see `Supervisor::write_status`).
    pub status_pending: bool,
}

impl Service {
    pub fn new(is_log: bool, held: Held, settings: Settings, normally_up: bool) -> Self {
        let now = Tai64n::now();
        Service {
            is_log,
            held,
            settings,
            state: State::Down,
            want: if normally_up { Want::Up } else { Want::Down },
            paused: false,
            got_term: false,
            pid: 0,
            stamp: now,
            once: false,
            pid_start_ticks: 0,
            since: now,
            ready: false,
            ready_since: None,
            starts: 0,
            restarts: 0,
            last_exit: LastExit::None,
            failed: false,
            normally_up,
            adopted: None,
            notify_r: None,
            start_once: false,
            last_start: None,
            run_exited: None,
            not_before: None,
            kill_at: None,
            finish_kill_at: None,
            restart_times: VecDeque::new(),
            pid_written: None,
            status_pending: false,
        }
    }

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
