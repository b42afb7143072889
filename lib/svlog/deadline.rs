//! Moments computed from durations someone else chose (`t` and `a` in
//! `config`, the TAI64N time in a rotated file's name). `Instant` and
//! `SystemTime` panic when an addition overflows, so every such sum here is
//! checked: a moment beyond what the clock can hold is "never", which is
//! what a rotation time or age of 10^19 seconds means anyway.

use super::config::DirConfig;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// When `current` is next rotated by `t` (None: no `t`, or never).
pub fn rotation_after(cfg: &DirConfig, now: Instant) -> Option<Instant> {
    now.checked_add(cfg.rotate_every?)
}

/// When a file made at `made` passes the age limit `a` (None: never).
pub fn expiry(made: SystemTime, age: Duration) -> Option<SystemTime> {
    made.checked_add(age)
}

/// The `Instant` at which wall time reaches `at` (None: never).
pub fn instant_at(at: SystemTime, now: SystemTime, mono_now: Instant) -> Option<Instant> {
    mono_now.checked_add(at.duration_since(now).unwrap_or_default())
}

/// Unix time of `secs`.`nanos`, None past what `SystemTime` can hold (an
/// archive named `@ffffffffffffffff…`).
pub fn unix_time(secs: u64, nanos: u32) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos.min(999_999_999)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_durations_mean_never() {
        let now = Instant::now();
        let cfg = DirConfig {
            rotate_every: Some(Duration::from_secs(u64::MAX)),
            ..DirConfig::default()
        };
        assert_eq!(rotation_after(&cfg, now), None);
        let cfg = DirConfig {
            rotate_every: Some(Duration::from_secs(60)),
            ..DirConfig::default()
        };
        assert_eq!(
            rotation_after(&cfg, now),
            Some(now + Duration::from_secs(60))
        );
        assert_eq!(rotation_after(&DirConfig::default(), now), None);
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(expiry(t, Duration::from_secs(u64::MAX)), None);
        assert_eq!(
            expiry(t, Duration::from_secs(5)),
            Some(t + Duration::from_secs(5))
        );
    }

    #[test]
    fn far_wall_times() {
        assert_eq!(unix_time(u64::MAX, 0), None);
        assert_eq!(
            unix_time(10, 2_000_000_000),
            Some(UNIX_EPOCH + Duration::new(10, 999_999_999))
        );
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mono = Instant::now();
        // Far but representable: no panic whichever way it goes.
        let far = UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 - 10);
        let _ = instant_at(far, now, mono);
        let past = now - Duration::from_secs(9);
        assert_eq!(instant_at(past, now, mono), Some(mono));
        let soon = now + Duration::from_secs(9);
        assert_eq!(
            instant_at(soon, now, mono),
            Some(mono + Duration::from_secs(9))
        );
    }
}
