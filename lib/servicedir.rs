//! Names inside a service directory, and where service directories live.
//! Every program resolves these the same way; nothing else spells them.

use std::path::{Path, PathBuf};

pub const RUN: &str = "run";
pub const FINISH: &str = "finish";
pub const CHECK: &str = "check";
pub const DOWN: &str = "down";
pub const LOG_DIR: &str = "log";
pub const CONTROL_SCRIPTS: &str = "control";
pub const SUPERVISE_DIR: &str = "supervise";

// s6-style per-service settings, one small file each.
pub const DOWN_SIGNAL: &str = "down-signal";
pub const TIMEOUT_KILL: &str = "timeout-kill";
pub const TIMEOUT_FINISH: &str = "timeout-finish";
pub const NOTIFICATION_FD: &str = "notification-fd";
pub const MAX_DEATH_TALLY: &str = "max-death-tally";
// svkit's own settings.
pub const RESTART_BACKOFF: &str = "restart-backoff";
pub const RESTART_LIMIT: &str = "restart-limit";
pub const ESSENTIAL: &str = "essential";
// Health checks (lib/health): timing, built-in probe, what failing does.
pub const HEALTH: &str = "health";
pub const HEALTH_PROBE: &str = "health-probe";
pub const HEALTH_ACTION: &str = "health-action";
// Scheduled jobs and instances (lib/schedule, lib/instances).
pub const SCHEDULE: &str = "schedule";
pub const SCHEDULE_OVERLAP: &str = "schedule-overlap";
pub const INSTANCES: &str = "instances";

/// Files under `supervise/` (runit's public protocol plus svkit's extra).
pub mod supervise_files {
    pub const LOCK: &str = "lock";
    pub const CONTROL: &str = "control";
    pub const OK: &str = "ok";
    pub const STATUS: &str = "status";
    pub const STAT: &str = "stat";
    pub const PID: &str = "pid";
    pub const EXT_STATUS: &str = crate::extstatus::FILE_NAME;
    /// The event fifodir (lib/events/fifodir.rs): one FIFO per subscriber.
    pub const EVENT: &str = "event";
}

/// Default scan directory (Debian's runit default).
pub const DEFAULT_SVDIR: &str = "/etc/service";

/// `$SVDIR` if set and non-empty, else `/etc/service`.
pub fn svdir_from_env() -> PathBuf {
    match std::env::var_os("SVDIR") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_SVDIR),
    }
}

/// `DIR/supervise/NAME`.
pub fn supervise_file(service: &Path, name: &str) -> PathBuf {
    service.join(SUPERVISE_DIR).join(name)
}
