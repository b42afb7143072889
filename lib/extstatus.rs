//! `supervise/svkit-status`: the state runit's 20-byte record cannot carry.
//!
//! One `key=value` per line, written atomically next to `status` (after it,
//! so a reader that sees a new `starts` also sees the matching `status`).
//! runit's tools never open it; `svctl` uses it for `--json`, readiness and
//! race-free waiting (the `starts` counter changes on every start of `run`).
//! Unknown keys are ignored when reading so the format can grow.

use crate::tai64n::Tai64n;

pub const FILE_NAME: &str = "svkit-status";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LastExit {
    #[default]
    None,
    Code(i32),
    Signal(i32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WantWord {
    #[default]
    Up,
    Down,
    Exit,
    /// Taken up with `o`: run once, never restarted.
    Once,
}

impl WantWord {
    pub fn word(self) -> &'static str {
        match self {
            WantWord::Up => "up",
            WantWord::Down => "down",
            WantWord::Exit => "exit",
            WantWord::Once => "once",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "up" => WantWord::Up,
            "down" => WantWord::Down,
            "exit" => WantWord::Exit,
            "once" => WantWord::Once,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ExtStatus {
    /// `down`, `run` or `finish`, as in `stat`.
    pub state: String,
    pub want: WantWord,
    pub pid: u32,
    /// Start time of `pid` in clock ticks since boot (/proc/PID/stat field
    /// 22): with the pid it identifies the process across pid reuse, which
    /// a restarted supervisor needs to adopt a still-running service.
    pub pid_start_ticks: u64,
    pub paused: bool,
    /// Time of the last state change (start, exit, finish done, ready).
    pub since: Tai64n,
    /// The service declared readiness (notification-fd) for the current run.
    pub ready: bool,
    pub ready_since: Option<Tai64n>,
    /// Number of times `run` has been started by this supervisor directory.
    pub starts: u64,
    /// Consecutive automatic restarts since the service last ran long enough
    /// (or since the last explicit `u`).
    pub restarts: u64,
    pub last_exit: LastExit,
    /// The restart limit was reached; the service is no longer restarted.
    pub failed: bool,
    pub normally_up: bool,
    pub supervisor_pid: u32,
}

impl ExtStatus {
    pub fn encode(&self) -> String {
        let last_exit = match self.last_exit {
            LastExit::None => "none".to_string(),
            LastExit::Code(c) => format!("exit {c}"),
            LastExit::Signal(s) => format!("signal {s}"),
        };
        let ready_since = self
            .ready_since
            .map(|t| t.to_hex_label())
            .unwrap_or_default();
        format!(
            "version=1\nstate={}\nwant={}\npid={}\npid_start_ticks={}\npaused={}\nsince={}\nready={}\nready_since={}\nstarts={}\nrestarts={}\nlast_exit={}\nfailed={}\nnormally={}\nsupervisor_pid={}\n",
            self.state,
            self.want.word(),
            self.pid,
            self.pid_start_ticks,
            self.paused as u8,
            self.since.to_hex_label(),
            self.ready as u8,
            ready_since,
            self.starts,
            self.restarts,
            last_exit,
            self.failed as u8,
            if self.normally_up { "up" } else { "down" },
            self.supervisor_pid,
        )
    }

    /// Parses the file; `None` if it is not a version-1 record.
    pub fn decode(text: &str) -> Option<Self> {
        let mut s = ExtStatus::default();
        let mut version_ok = false;
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key {
                "version" => version_ok = value == "1",
                "state" => s.state = value.to_string(),
                "want" => s.want = WantWord::parse(value)?,
                "pid" => s.pid = value.parse().ok()?,
                "pid_start_ticks" => s.pid_start_ticks = value.parse().ok()?,
                "paused" => s.paused = value == "1",
                "since" => s.since = Tai64n::parse_hex_label(value)?,
                "ready" => s.ready = value == "1",
                "ready_since" => s.ready_since = Tai64n::parse_hex_label(value),
                "starts" => s.starts = value.parse().ok()?,
                "restarts" => s.restarts = value.parse().ok()?,
                "last_exit" => {
                    s.last_exit = if let Some(c) = value.strip_prefix("exit ") {
                        LastExit::Code(c.parse().ok()?)
                    } else if let Some(n) = value.strip_prefix("signal ") {
                        LastExit::Signal(n.parse().ok()?)
                    } else {
                        LastExit::None
                    }
                }
                "failed" => s.failed = value == "1",
                "normally" => s.normally_up = value == "up",
                "supervisor_pid" => s.supervisor_pid = value.parse().ok()?,
                _ => {}
            }
        }
        version_ok.then_some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = ExtStatus {
            state: "run".into(),
            want: WantWord::Once,
            pid: 42,
            pid_start_ticks: 1234,
            paused: false,
            since: Tai64n::from_unix(1_700_000_000, 5),
            ready: true,
            ready_since: Some(Tai64n::from_unix(1_700_000_001, 7)),
            starts: 3,
            restarts: 1,
            last_exit: LastExit::Signal(9),
            failed: false,
            normally_up: true,
            supervisor_pid: 7,
        };
        assert_eq!(ExtStatus::decode(&s.encode()), Some(s));
        assert_eq!(ExtStatus::decode("state=run\n"), None);
    }
}
