//! Scheduled jobs (issue 16): a service directory with a `schedule` file
//! is a job, whose `run` starts at the times given there rather than
//! being kept up. This module holds the pure core, for svscan/supervise
//! to drive:
//! - [`spec`]: the `schedule` file (cron expression, `@every`, `@reboot`);
//! - [`cron`]: Vixie/ISC cron's five-field grammar and its matcher;
//! - [`next`]: the next due time in a zone, with cronie's rule at
//!   daylight-saving changes;
//! - [`zone`] / [`posixtz`]: `TZ` (TZif files and POSIX rule strings);
//! - [`civil`]: calendar arithmetic on minutes;
//! - [`job`]: the job's state machine (time and events in, actions out:
//!   overlap, `once`, pause, wall-clock jumps).

pub mod civil;
pub mod cron;
pub mod job;
pub mod next;
pub mod posixtz;
pub mod spec;
pub mod zone;

// How to drive it (for supervise, which owns a job's process):
// - At start: `spec::Spec::load(dir)` (None: a daemon, as today),
//   `zone::Zone::from_env()` (on Err warn once and use `Zone::Utc`),
//   `job::Overlap::parse` of `schedule-overlap` (default Skip), then
//   `Job::new` and `handle(now, Event::Start { paused: down file })`.
// - `now` is `Now { mono: Instant::now(), wall: unix seconds }`, read once
//   per loop iteration; poll with `Job::deadline()` as one more timeout
//   and pass `Event::Tick` when it expires.
// - Control bytes: `o` -> Once, `u` -> Up, `d` -> Down; the run's reaped
//   status (after `finish`) -> RunExited. `StartRun` starts `run` the way
//   a service's is started (no restart, no backoff, no restart-limit);
//   `StopRun` stops it with down-signal / timeout-kill.
// - `Publish`: write `View::status_lines()` into svkit-status (and the
//   runit status as down/run); `Skipped`, `Missed`, `ClockJump`: warning
//   lines and events. svctl shows `View::summary(zone)`.
