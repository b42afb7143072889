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
