//! The processor of one log directory over time: started after a
//! rotation, reaped on SIGCHLD, committed or rerun (at most once a second)
//! on the same `.u` file, and waited for before the next rotation.

use super::logdir::{LogDir, PROCESSOR_RETRY};
use super::processor::{self, Running};
use super::signals::Signals;
use super::{info, why, PROG};
use crate::child::{Exit, Waited};
use crate::msg;
use std::os::fd::AsFd;
use std::time::Instant;

impl LogDir {
    pub(super) fn start_processor(&mut self, input: &str) {
        let Some(cmd) = self.cfg.processor.clone() else {
            return;
        };
        if self.verbose {
            info(format_args!("processing: {}/{input}", self.name));
        }
        match processor::start(self.dir.as_fd(), &self.path, &cmd, input) {
            Ok(r) => {
                self.processor = Some(r);
                self.processor_waiting = None;
            }
            Err(e) => {
                msg::warn(PROG, format_args!("{}: {}: {}", e.what, self.name, why(e)));
                self.processor_waiting =
                    Some((input.to_string(), Instant::now() + PROCESSOR_RETRY));
            }
        }
    }

    /// Books the end of a processor run: commit, or schedule a rerun on
    /// the same `.u` (at most once per second).
    pub(super) fn processor_ended(&mut self, run: Running, status: Exit) {
        if processor::succeeded(status) {
            match processor::commit(self.dir.as_fd(), &run.input) {
                Ok(done) => {
                    if self.verbose {
                        info(format_args!("processed: {}/{done}", self.name));
                    }
                }
                Err(e) => msg::warn(PROG, format_args!("{}: {}: {}", e.what, self.name, why(e))),
            }
        } else {
            msg::warn(
                PROG,
                format_args!("processor failed, restart: {}", self.name),
            );
            processor::discard(self.dir.as_fd(), &run.input);
            self.processor_waiting = Some((run.input, run.started + PROCESSOR_RETRY));
        }
    }

    /// After SIGCHLD: collects a finished processor without blocking.
    pub fn reap(&mut self) {
        let Some(run) = self.processor.as_mut() else {
            return;
        };
        if let Some(status) = run.child.try_wait() {
            let run = self.processor.take().expect("checked above");
            self.processor_ended(run, status);
        }
    }

    /// Blocks until no processor runs or waits to rerun (svlogd's guarantee:
    /// a rotated file is processed before the next one appears). After
    /// TERM, a failed run is not retried; its `.u` file stays for later.
    pub fn wait_processor(&mut self, sig: &mut Signals) {
        loop {
            if let Some(mut run) = self.processor.take() {
                // No deadline: svlogd, too, waits for its processor.
                if let Waited::Exited(status) = run.child.wait_until(None, None) {
                    self.processor_ended(run, status);
                }
            } else if let Some((input, at)) = self.processor_waiting.clone() {
                if sig.pending.term {
                    msg::warn(
                        PROG,
                        format_args!("leaving unprocessed: {}/{input}", self.name),
                    );
                    self.processor_waiting = None;
                    return;
                }
                sig.sleep_until(at);
                if !sig.pending.term {
                    self.start_processor(&input);
                }
            } else {
                return;
            }
        }
    }
}
