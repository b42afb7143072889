//! When a cron expression next fires, as a Unix time, in a zone.
//!
//! Cron reads its expression against the local wall clock, one minute at a
//! time, so daylight-saving changes need a rule. svkit's is cronie's (and
//! ISC cron's), which sorts jobs by whether the minute or hour field
//! starts with `*` ([`CronExpr::is_wildcard`]):
//!
//! - Spring forward (local times that never happen, 02:00-02:59 in most
//!   of Europe): a **fixed-time** job due then (`30 2 * * *`) runs once at
//!   the change itself, so a daily job is not lost; a **wildcard** job
//!   (`*/10 * * * *`, `30 * * * *`) simply has no runs in the missing hour,
//!   as its real-time rhythm is unchanged.
//! - Fall back (local times that happen twice): a fixed-time job runs at
//!   the first occurrence only; a wildcard job runs at both, following the
//!   clock (every 10 real minutes stays every 10 real minutes).
//!
//! Checked against Debian's cron 3.0pl1 under a faked clock (spring and
//! fall 2026, Europe/Berlin): the same runs, except that cron starts a
//! fixed-time job once per skipped matching minute, all at once
//! (`0,30 2 * * *` twice at 03:00), where svkit, which never overlaps a
//! job, starts it once.
//!
//! In UTC (no `TZ`) there is no such change and every rule is plain.
//! [`next_after`] never returns a time at or before the one it is given,
//! so a caller that feeds back each result never runs a time twice.

use super::civil::{Minute, MINUTE_SECS};
use super::cron::CronExpr;
use super::zone::Zone;

/// Spacing of the offset samples across a local minute's possible
/// instants: shorter than any two real transitions are apart.
const SAMPLE_SECS: i64 = 1800;
/// The range of Unix times [`next_after`] answers for.
pub const LIMIT_SECS: i64 = 1 << 40;

/// The first time after `t` (Unix seconds) at which `expr` fires in
/// `zone`; `None` if it never does (`0 0 30 2 *`).
pub fn next_after(expr: &CronExpr, zone: &Zone, t: i64) -> Option<i64> {
    // Far outside any clock (about ±34,000 years): no answer, no overflow.
    if !(-LIMIT_SECS..=LIMIT_SECS).contains(&t) {
        return None;
    }
    let (min_off, max_off) = zone.offset_range();
    // Any instant u > t has local time u + offset(u) > t + min_off.
    let mut local = Minute::from_unix(t, min_off);
    let mut best: Option<i64> = None;
    loop {
        let m = expr.next_match(local)?;
        let start = m.index().checked_mul(MINUTE_SECS)?;
        // Every instant of this local minute is at least start - max_off.
        if best.is_some_and(|b| start - i64::from(max_off) > b) {
            return best;
        }
        for u in instants(expr, zone, start).into_iter().flatten() {
            if u > t && best.map_or(true, |b| u < b) {
                best = Some(u);
            }
        }
        local = Minute::from_index(m.index() + 1);
    }
}

/// The instants at which `expr` fires for the local minute starting at
/// `local` (seconds on the local clock since 1970): one normally, two for
/// a wildcard job in a repeated hour, the change itself for a fixed job in
/// a skipped hour, else none.
fn instants(expr: &CronExpr, zone: &Zone, local: i64) -> [Option<i64>; 2] {
    let (min_off, max_off) = zone.offset_range();
    let lo = local - i64::from(max_off);
    let hi = local - i64::from(min_off);
    let mut found: [Option<i64>; 2] = [None, None];
    let mut n = 0;
    let mut offsets: Vec<i32> = Vec::new();
    let mut s = lo;
    loop {
        let o = zone.offset_at(s);
        if !offsets.contains(&o) {
            offsets.push(o);
        }
        if s >= hi {
            break;
        }
        s = (s + SAMPLE_SECS).min(hi);
    }
    let mut candidates: Vec<i64> = offsets
        .iter()
        .map(|&o| local - i64::from(o))
        .filter(|&u| u + i64::from(zone.offset_at(u)) == local)
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    if candidates.is_empty() {
        if !expr.is_wildcard() {
            found[0] = Some(change_into(zone, local, lo, hi));
        }
        return found;
    }
    for u in candidates {
        if n == 2 || (n == 1 && !expr.is_wildcard()) {
            break;
        }
        found[n] = Some(u);
        n += 1;
    }
    found
}

/// The first instant in [lo, hi] whose local time is at or past `local`:
/// the change that skipped it.
fn change_into(zone: &Zone, local: i64, mut lo: i64, mut hi: i64) -> i64 {
    let past = |u: i64| u + i64::from(zone.offset_at(u)) >= local;
    if past(lo) {
        return lo;
    }
    // Invariant: !past(lo) && past(hi).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if past(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::civil::{days_from_civil, DAY_SECS, HOUR_SECS};
    use crate::schedule::posixtz::PosixTz;

    fn berlin() -> Zone {
        Zone::Rule(PosixTz::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap())
    }

    fn utc(y: i32, mo: u8, d: u8, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo, d) * DAY_SECS + h * HOUR_SECS + mi * 60
    }

    fn series(expr: &str, zone: &Zone, from: i64, n: usize) -> Vec<i64> {
        let e = CronExpr::parse(expr).unwrap();
        let mut out = Vec::new();
        let mut t = from;
        for _ in 0..n {
            t = next_after(&e, zone, t).unwrap();
            out.push(t);
        }
        out
    }

    #[test]
    fn utc_basics() {
        let z = Zone::Utc;
        // Fixed clock: Friday 2026-12-04 21:11:23.
        let now = utc(2026, 12, 4, 21, 11) + 23;
        assert_eq!(
            series("*/15 * * * *", &z, now, 2),
            [utc(2026, 12, 4, 21, 15), utc(2026, 12, 4, 21, 30)]
        );
        assert_eq!(series("0 0 * * *", &z, now, 1), [utc(2026, 12, 5, 0, 0)]);
        assert_eq!(
            series("0 9 * * mon-fri", &z, now, 2),
            [utc(2026, 12, 7, 9, 0), utc(2026, 12, 8, 9, 0)]
        );
        assert_eq!(
            series("0 0 31 * *", &z, now, 3),
            [
                utc(2026, 12, 31, 0, 0),
                utc(2027, 1, 31, 0, 0),
                utc(2027, 3, 31, 0, 0)
            ]
        );
        assert_eq!(
            series("0 0 29 2 *", &z, now, 2),
            [utc(2028, 2, 29, 0, 0), utc(2032, 2, 29, 0, 0)]
        );
        assert_eq!(series("@yearly", &z, now, 1), [utc(2027, 1, 1, 0, 0)]);
        // Strictly after: a time exactly on a due minute gives the next.
        assert_eq!(
            series("* * * * *", &z, utc(2026, 12, 4, 21, 15), 1),
            [utc(2026, 12, 4, 21, 16)]
        );
        assert_eq!(
            next_after(&CronExpr::parse("0 0 30 2 *").unwrap(), &z, now),
            None
        );
    }

    #[test]
    fn spring_forward_fixed_job_runs_at_the_change() {
        // 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC.
        let z = berlin();
        let before = utc(2026, 3, 28, 12, 0);
        let change = utc(2026, 3, 29, 1, 0);
        // 02:30 on the 28th (01:30 UTC) is before `before`; on the 29th
        // 02:30 never happens, so it runs at the change (03:00 CEST).
        assert_eq!(
            series("30 2 * * *", &z, before, 3),
            [change, utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]
        );
        // Several fixed minutes in the gap still run once.
        assert_eq!(
            series("0,30 2 * * *", &z, utc(2026, 3, 29, 0, 0), 2),
            [change, utc(2026, 3, 30, 0, 0)]
        );
    }

    #[test]
    fn spring_forward_wildcard_job_skips_the_missing_hour() {
        let z = berlin();
        // Hourly at :30: 01:30 CET, then 03:30 CEST (02:30 does not exist).
        assert_eq!(
            series("30 * * * *", &z, utc(2026, 3, 29, 0, 0), 2),
            [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30)]
        );
        // Every 20 minutes keeps its real-time rhythm.
        assert_eq!(
            series("*/20 * * * *", &z, utc(2026, 3, 29, 0, 30), 3),
            [
                utc(2026, 3, 29, 0, 40),
                utc(2026, 3, 29, 1, 0),
                utc(2026, 3, 29, 1, 20)
            ]
        );
    }

    #[test]
    fn fall_back() {
        // 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC, so 02:xx
        // happens at 00:xx and 01:xx UTC.
        let z = berlin();
        let from = utc(2026, 10, 24, 23, 0);
        // Fixed: once, at the first 02:30.
        assert_eq!(
            series("30 2 * * *", &z, from, 2),
            [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
        );
        // Wildcard: both.
        assert_eq!(
            series("30 * * * *", &z, from, 4),
            [
                utc(2026, 10, 24, 23, 30), // 01:30 CEST
                utc(2026, 10, 25, 0, 30),  // 02:30 CEST
                utc(2026, 10, 25, 1, 30),  // 02:30 CET
                utc(2026, 10, 25, 2, 30),  // 03:30 CET
            ]
        );
    }

    #[test]
    fn southern_hemisphere_and_half_hours() {
        // Lord Howe moves by 30 minutes: 02:00 -> 02:30 on the first
        // Sunday of October.
        let z = Zone::Rule(PosixTz::parse("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0").unwrap());
        // 2026-10-04 02:00 +1030 = 2026-10-03 15:30 UTC.
        let change = utc(2026, 10, 3, 15, 30);
        assert_eq!(series("15 2 * * *", &z, change - 3600, 1), [change]);
        assert_eq!(
            series("45 2 * * *", &z, change - 3600, 1),
            [change + 15 * 60]
        );
    }
}
