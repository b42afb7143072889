//! Control bytes, with runsv's semantics (protocol §3.2, §5.6, §5.8) and
//! its quirks fixed: `k` kills whatever runs (run or finish) and the state
//! follows when it is reaped (Q4); the stop signal is `down-signal`, with
//! `timeout-kill` escalation (Q5).

use super::control_script;
use super::lifecycle::{kill, Supervisor, Which};
use crate::control::Command;
use crate::status::{State, Want};
use std::os::fd::AsRawFd;
use std::time::Instant;

impl Supervisor {
    /// Runs `control/<byte>` for the main service; false for the logger.
    fn script(&mut self, w: Which, byte: u8) -> bool {
        if w != Which::Main || self.vanished {
            return false;
        }
        let Some(path) = control_script::find(byte) else {
            return false;
        };
        // The script sees (and may read) the state the command asked for.
        self.flush_status();
        let stdout = self.pipe.as_ref().map(|p| p.w.as_raw_fd());
        control_script::run(&path, byte, stdout, &self.label)
    }

    /// One control byte for service `w`. Unknown bytes are ignored.
    pub fn command(&mut self, w: Which, byte: u8, now: Instant) {
        let Some(cmd) = Command::from_byte(byte) else {
            return;
        };
        match cmd {
            Command::Up => {
                let svc = self.svc(w);
                svc.want = Want::Up;
                svc.once = false;
                // An explicit `u` forgives past crashes.
                svc.failed = false;
                svc.restarts = 0;
                svc.restart_times.clear();
                if let Some(t) = svc
                    .last_start
                    .map(|t| t + std::time::Duration::from_secs(1))
                {
                    svc.not_before = (t > now).then_some(t);
                } else {
                    svc.not_before = None;
                }
                self.write_status(w);
            }
            Command::Down => {
                let svc = self.svc(w);
                svc.want = Want::Down;
                svc.once = false;
                svc.start_once = false;
                self.write_status(w);
                self.stop_sequence(w, now);
            }
            Command::Once => {
                let svc = self.svc(w);
                svc.want = Want::Down;
                svc.once = true;
                svc.failed = false;
                if svc.state == State::Down && svc.pid == 0 {
                    svc.start_once = true;
                }
                self.write_status(w);
            }
            Command::Exit => {
                // runsv ignores `x` on the log's control FIFO.
                if w == Which::Log {
                    return;
                }
                let svc = self.svc(w);
                svc.want = Want::Exit;
                svc.once = false;
                svc.start_once = false;
                self.write_status(w);
                self.stop_sequence(w, now);
            }
            Command::Term => self.stop_sequence(w, now),
            Command::Kill => {
                // Unlike runsv (Q4): finish is killed too, and the state is
                // updated when the child is reaped.
                let pid = self.svc(w).pid;
                if pid != 0 && !self.script(w, b'k') {
                    kill(pid, libc::SIGKILL);
                }
            }
            Command::Pause | Command::Cont => {
                let pause = cmd == Command::Pause;
                if self.svc(w).running() && !self.script(w, byte) {
                    kill(
                        self.svc(w).pid,
                        if pause { libc::SIGSTOP } else { libc::SIGCONT },
                    );
                }
                self.svc(w).paused = pause;
                self.write_status(w);
            }
            Command::Hup
            | Command::Alarm
            | Command::Interrupt
            | Command::Quit
            | Command::Usr1
            | Command::Usr2 => {
                if self.svc(w).running() && !self.script(w, byte) {
                    if let Some(sig) = cmd.signal() {
                        kill(self.svc(w).pid, sig as i32);
                    }
                }
            }
        }
    }

    /// runsv's stop sequence for a running service: `control/t` or the
    /// stop signal (+ got TERM, + timeout-kill), then, when want is down or
    /// exit, SIGCONT and `control/d` / `control/x`.
    pub fn stop_sequence(&mut self, w: Which, now: Instant) {
        if !self.svc(w).running() {
            return;
        }
        if !self.script(w, b't') {
            let svc = self.svc(w);
            kill(svc.pid, svc.settings.down_signal);
            svc.got_term = true;
            svc.kill_at = svc.settings.timeout_kill.map(|d| now + d);
            self.write_status(w);
        }
        let want = self.svc(w).want;
        let after = match want {
            Want::Up => return,
            Want::Down => b'd',
            Want::Exit => b'x',
        };
        if self.svc(w).pid != 0 {
            kill(self.svc(w).pid, libc::SIGCONT);
        }
        self.script(w, after);
    }
}
