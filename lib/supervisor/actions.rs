//! The event loop's hands: carrying out the machine's actions (fork/exec
//! of `run` and `finish`, signals, `control/X` scripts, the status files)
//! and feeding back the answers the machine waits for.

use super::event_loop::{dir_gone, Supervise};
use super::machine::{Action, Event, Notice, Which};
use super::spawn::{spawn, Exec};
use super::{control_script, status_files, PROG};
use crate::atomic_file::Mode;
use crate::errstr::{io_error_str, runit_error_str};
use crate::msg;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

impl Supervise {
    /// Carries out `out` in order. An action that needs an answer feeds it
    /// back at once; the answer's actions are appended and carried out too.
    pub(super) fn perform(&mut self, out: &mut Vec<Action>) -> Option<i32> {
        let mut i = 0;
        while let Some(&action) = out.get(i) {
            i += 1;
            let answer = match action {
                Action::SpawnRun {
                    which,
                    notification_fd,
                    control_u,
                } => Some(self.spawn_run(which, notification_fd, control_u)),
                Action::SpawnFinish { code, status } => Some(self.spawn_finish(code, status)),
                Action::RunScript(byte) => Some(Event::ScriptDone {
                    handled: self.run_script(byte),
                }),
                Action::Signal { pid, sig } => {
                    crate::child::signal(pid, sig);
                    None
                }
                Action::KillGroup { pid } => {
                    crate::child::signal_group(pid, libc::SIGKILL);
                    crate::child::signal(pid, libc::SIGKILL);
                    None
                }
                Action::WriteStatus(w) => {
                    self.io(w).dirty = true;
                    None
                }
                Action::CloseLogPipe => {
                    self.pipe = None;
                    None
                }
                Action::Notify(n) => {
                    self.notify(n);
                    None
                }
                Action::Exit(code) => {
                    self.flush(Mode::InPlace);
                    return Some(code);
                }
            };
            if let Some(ev) = answer {
                self.machine.step(ev, self.now(), out);
            }
        }
        out.clear();
        None
    }

    pub(super) fn notify(&self, n: Notice) {
        match n {
            Notice::RestartLimit {
                which,
                count,
                window,
            } => {
                let label = match which {
                    Which::Main => &self.main.label,
                    Which::Log => self.log.as_ref().map_or(&self.main.label, |l| &l.label),
                };
                msg::warn(
                    PROG,
                    format_args!(
                        "{label}: restart limit reached ({count} restarts in {}s); service marked failed",
                        window.as_secs()
                    ),
                );
            }
            Notice::FinishTimedOut => msg::warn(
                PROG,
                format_args!("{}: ./finish timed out, killed", self.main.label),
            ),
            Notice::DirRemoved => msg::warn(
                PROG,
                format_args!(
                    "{}: service directory removed; stopping the service and exiting",
                    self.main.label
                ),
            ),
        }
    }

    pub(super) fn stdout_fd(&self) -> Option<i32> {
        self.pipe.as_ref().map(|p| p.w.as_raw_fd())
    }

    /// Starts `./run` (cwd DIR or DIR/log). A failed exec still leaves a
    /// child that exits 111, exactly as runsv's.
    pub(super) fn spawn_run(
        &mut self,
        w: Which,
        notification_fd: Option<i32>,
        control_u: bool,
    ) -> Event {
        let stdout = self.stdout_fd();
        if control_u {
            if let Some(path) = control_script::find(b'u') {
                self.flush(Mode::Replace);
                control_script::run(&path, b'u', stdout, &self.main.label);
            }
        }
        let notify = notification_fd.and_then(|n| match readiness_pipe() {
            Ok((r, wr)) => Some((r, wr, n)),
            Err(e) => {
                msg::warn_why(
                    PROG,
                    format_args!("{}: unable to create readiness pipe", self.io(w).label),
                    io_error_str(&e),
                );
                None
            }
        });
        let exec = Exec {
            argv: &[c"./run"],
            cwd: (w == Which::Log).then_some(c"log"),
            stdin: match w {
                Which::Log => self.pipe.as_ref().map(|p| p.r.as_raw_fd()),
                Which::Main => None,
            },
            stdout: if w == Which::Main { stdout } else { None },
            extra: notify.as_ref().map(|(_, wr, n)| (wr.as_raw_fd(), *n)),
            setsid: true,
        };
        let io = self.io(w);
        match spawn(&exec) {
            Ok(s) => {
                if let Some(e) = s.exec_error {
                    msg::warn_why(
                        PROG,
                        format_args!("{}: unable to start ./run", io.label),
                        runit_error_str(e),
                    );
                }
                io.notify_r = notify.map(|(r, _, _)| r);
                Event::Spawned {
                    which: w,
                    pid: s.pid,
                    start_ticks: crate::procfs::start_ticks(s.pid as u32).unwrap_or(0),
                }
            }
            Err(e) => {
                msg::warn_why(
                    PROG,
                    format_args!("{}: unable to fork for ./run", io.label),
                    runit_error_str(e),
                );
                Event::SpawnFailed(w)
            }
        }
    }

    /// Starts `./finish CODE STATUS` if there is one (runsv tests for it
    /// with open(2), not an exec-bit test).
    pub(super) fn spawn_finish(&mut self, code: i32, status: i32) -> Event {
        if std::fs::File::open("finish").is_err() {
            return Event::FinishMissing;
        }
        let code = CString::new(code.to_string()).unwrap_or_default();
        let status = CString::new(status.to_string()).unwrap_or_default();
        let exec = Exec {
            argv: &[c"./finish", &code, &status],
            cwd: None,
            stdin: None,
            stdout: self.stdout_fd(),
            extra: None,
            setsid: true,
        };
        let label = &self.main.label;
        match spawn(&exec) {
            Ok(s) => {
                if let Some(e) = s.exec_error {
                    msg::warn_why(
                        PROG,
                        format_args!("{label}: unable to start ./finish"),
                        runit_error_str(e),
                    );
                }
                Event::Spawned {
                    which: Which::Main,
                    pid: s.pid,
                    start_ticks: crate::procfs::start_ticks(s.pid as u32).unwrap_or(0),
                }
            }
            Err(e) => {
                msg::warn_why(
                    PROG,
                    format_args!("{label}: unable to fork for ./finish"),
                    runit_error_str(e),
                );
                Event::SpawnFailed(Which::Main)
            }
        }
    }

    /// Runs `control/<byte>` if there is one; true iff it handled the
    /// command (exited 0).
    pub(super) fn run_script(&mut self, byte: u8) -> bool {
        let Some(path) = control_script::find(byte) else {
            return false;
        };
        // The script sees (and may read) the state the command asked for.
        self.flush(Mode::Replace);
        control_script::run(&path, byte, self.stdout_fd(), &self.main.label)
    }

    /// Writes the status files marked out of date. Each file write is a
    /// new inode (write + rename) in `Replace` mode, so the several state
    /// changes one event makes cost one set of files. `InPlace` is for the
    /// last write before exiting: nothing reads these files once supervise
    /// is gone (sv and svctl check `ok`), and a thousand services stopping
    /// at once spent most of their time allocating inodes on ext4.
    pub(super) fn flush(&mut self, mode: Mode) {
        let Supervise {
            machine,
            main,
            log,
            my_pid,
            gone,
            ..
        } = self;
        // (A copy: the loop below borrows `main` mutably.)
        let main_label = main.label.clone();
        for (w, io) in [(Which::Main, Some(&mut *main)), (Which::Log, log.as_mut())] {
            let (Some(svc), Some(io)) = (machine.service(w), io) else {
                continue;
            };
            if !io.dirty {
                continue;
            }
            io.dirty = false;
            let r =
                status_files::write(svc, &io.held.state_dir, &mut io.pid_written, *my_pid, mode);
            if let Err(e) = r {
                if dir_gone() {
                    *gone = true;
                } else {
                    msg::warn_why(
                        PROG,
                        format_args!("{main_label}: unable to update {}status", io.held.state_dir),
                        io_error_str(&e),
                    );
                }
            }
        }
    }
}

fn readiness_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    // Only our end is non-blocking (the flag is per open file description).
    rustix::fs::fcntl_setfl(&r, rustix::fs::OFlags::NONBLOCK)?;
    Ok((r, w))
}
