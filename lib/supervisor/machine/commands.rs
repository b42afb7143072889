//! Control bytes, with runsv's semantics (protocol §3.2, §5.6, §5.8) and
//! its quirks fixed: `k` kills whatever runs (run or finish) and the state
//! follows when it is reaped (Q4); the stop signal is `down-signal`, with
//! `timeout-kill` escalation (Q5). `control/X` scripts are consulted for
//! the main service only; the machine asks for one with `RunScript` and
//! goes on in `after_script` with its answer.

use super::{Action, Machine, Now, Pending, Which};
use crate::control::Command;
use crate::status::{State, Want};

/// What a script's answer continues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterScript {
    /// `control/t` of runit's stop sequence: unless handled, the stop
    /// signal; then the rest of the sequence.
    Stop(Which),
    /// `control/d` or `control/x`: the answer does not matter.
    Ignore,
    /// A signalling command: unless handled, send `sig` to the pid.
    Signal { which: Which, sig: i32 },
    /// `p`/`c`: unless handled, SIGSTOP/SIGCONT; the flag follows in any
    /// case.
    Pause { which: Which, pause: bool },
}

impl Machine {
    /// One control byte for service `w`. Unknown bytes are ignored.
    pub(super) fn command(&mut self, w: Which, byte: u8, now: Now, out: &mut Vec<Action>) {
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
                // The 1-second rule still holds for a service that died on
                // its own; one an operator stopped starts at once.
                svc.not_before = None;
                if !svc.stop_requested {
                    svc.not_before = svc
                        .last_start
                        .map(|t| t + super::restart::MIN_RUN_SPACING)
                        .filter(|t| *t > now.mono);
                }
                out.push(Action::WriteStatus(w));
            }
            Command::Down => {
                let svc = self.svc(w);
                svc.want = Want::Down;
                svc.once = false;
                svc.start_once = false;
                out.push(Action::WriteStatus(w));
                self.stop_sequence(w, now, out);
            }
            Command::Once => {
                let svc = self.svc(w);
                svc.want = Want::Down;
                svc.once = true;
                svc.failed = false;
                if svc.state == State::Down && svc.pid == 0 {
                    svc.start_once = true;
                }
                out.push(Action::WriteStatus(w));
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
                out.push(Action::WriteStatus(w));
                self.stop_sequence(w, now, out);
            }
            Command::Term => self.stop_sequence(w, now, out),
            Command::Kill => {
                // Unlike runsv (Q4): finish is killed too, and the state is
                // updated when the child is reaped.
                let svc = self.svc(w);
                if svc.pid != 0 {
                    if svc.state == State::Run {
                        svc.stop_requested = true;
                    }
                    let then = AfterScript::Signal {
                        which: w,
                        sig: libc::SIGKILL,
                    };
                    self.script(w, byte, then, now, out);
                }
            }
            Command::Pause | Command::Cont => {
                let pause = cmd == Command::Pause;
                let then = AfterScript::Pause { which: w, pause };
                if self.svc(w).running() {
                    self.script(w, byte, then, now, out);
                } else {
                    self.after_script(then, true, now, out);
                }
            }
            Command::Hup
            | Command::Alarm
            | Command::Interrupt
            | Command::Quit
            | Command::Usr1
            | Command::Usr2 => {
                if let (true, Some(sig)) = (self.svc(w).running(), cmd.signal()) {
                    let then = AfterScript::Signal {
                        which: w,
                        sig: sig as i32,
                    };
                    self.script(w, byte, then, now, out);
                }
            }
        }
    }

    /// runsv's stop sequence for a running service: `control/t` or the
    /// stop signal (+ got TERM, + timeout-kill), then, when want is down or
    /// exit, SIGCONT and `control/d` / `control/x`.
    fn stop_sequence(&mut self, w: Which, now: Now, out: &mut Vec<Action>) {
        let svc = self.svc(w);
        if !svc.running() {
            return;
        }
        svc.stop_requested = true;
        self.script(w, b't', AfterScript::Stop(w), now, out);
    }

    /// Asks for `control/<byte>` (main service only, not once the
    /// directory is gone); without one, goes on as "not handled".
    fn script(&mut self, w: Which, byte: u8, then: AfterScript, now: Now, out: &mut Vec<Action>) {
        if w == Which::Main && !self.vanished {
            self.pending = Some(Pending::Script(then));
            out.push(Action::RunScript(byte));
        } else {
            self.after_script(then, false, now, out);
        }
    }

    pub(super) fn after_script(
        &mut self,
        then: AfterScript,
        handled: bool,
        now: Now,
        out: &mut Vec<Action>,
    ) {
        match then {
            AfterScript::Ignore => {}
            AfterScript::Signal { which, sig } => {
                let pid = self.svc(which).pid;
                if !handled && pid != 0 {
                    out.push(Action::Signal { pid, sig });
                }
            }
            AfterScript::Pause { which, pause } => {
                let svc = self.svc(which);
                if !handled && svc.running() {
                    let sig = if pause { libc::SIGSTOP } else { libc::SIGCONT };
                    out.push(Action::Signal { pid: svc.pid, sig });
                }
                svc.paused = pause;
                out.push(Action::WriteStatus(which));
            }
            AfterScript::Stop(w) => {
                let svc = self.svc(w);
                if !handled && svc.pid != 0 {
                    out.push(Action::Signal {
                        pid: svc.pid,
                        sig: svc.settings.down_signal,
                    });
                    svc.got_term = true;
                    svc.kill_at = svc.settings.timeout_kill.map(|d| now.mono + d);
                    out.push(Action::WriteStatus(w));
                }
                let after = match svc.want {
                    Want::Up => return,
                    Want::Down => b'd',
                    Want::Exit => b'x',
                };
                if svc.pid != 0 {
                    out.push(Action::Signal {
                        pid: svc.pid,
                        sig: libc::SIGCONT,
                    });
                }
                self.script(w, after, AfterScript::Ignore, now, out);
            }
        }
    }
}
