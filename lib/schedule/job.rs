//! One scheduled job's decisions, as a pure state machine that its
//! supervisor drives: [`Event`]s in, each with the time ([`Now`]),
//! [`Action`]s out, and one deadline to be woken by ([`Job::deadline`]).
//! No clock, no process, no system call.
//!
//! The rules:
//! - **No overlap.** A due time that comes while the previous run is still
//!   going is skipped and counted ([`Overlap::Skip`], the default), or,
//!   with `schedule-overlap` saying `kill`, stops the old run and starts a
//!   new one once it has exited ([`Overlap::Kill`]).
//! - **Late wake-ups coalesce.** However many due times passed since the
//!   last look, a job that is not running starts once; the others are
//!   counted as missed.
//! - **`once` / `up` run now**; `up` also resumes a paused schedule,
//!   `down` pauses it and stops a running run. A run started by `once`
//!   while paused leaves the job paused.
//! - **`@every`** runs on a grid of the monotonic clock anchored when the
//!   job is brought up (or resumed): first run one period later.
//! - **`@reboot`** runs once when the job is first brought up (unless it
//!   starts paused, with a `down` file), and never by the clock.
//! - **Wall-clock jumps** (cron expressions only; `@every` does not see
//!   the wall clock). At each event the wall clock's advance is compared
//!   with the monotonic clock's; a difference over [`JUMP_TOLERANCE`] is
//!   a jump, reported ([`Action::ClockJump`]).
//!   - Forward up to [`RESET_THRESHOLD`] (3 h, cron's limit): the due times
//!     jumped over run once, at once (the rest counted as missed).
//!   - Backward up to 3 h: nothing runs twice; the next due time stays the
//!     one after the last due time handled, however long that now takes.
//!   - Over 3 h either way the clock was set, not adjusted (a container
//!     that booted with a wrong clock): the schedule restarts from the new
//!     time; due times since the last look are counted as missed, not run.
//!
//!   So a jump never floods runs (at most one) and never loses a due time
//!   without saying so. The deadline is at most [`CLOCK_CHECK`] away, so a
//!   jump is noticed within a minute.

use super::next::next_after;
use super::spec::Spec;
use super::zone::Zone;
use std::time::{Duration, Instant};

/// Wall and monotonic clocks may disagree by this much before it counts as
/// a jump (the wall clock is read in whole seconds).
pub const JUMP_TOLERANCE: i64 = 5;
/// Jumps larger than this reset the schedule instead of catching up.
pub const RESET_THRESHOLD: i64 = 3 * 3600;
/// The longest sleep while a cron schedule is active, so that wall-clock
/// jumps are seen.
pub const CLOCK_CHECK: Duration = Duration::from_secs(60);
/// Missed due times are counted up to this many per event.
pub const COUNT_CAP: u64 = 10_000;

/// When an event happened: the monotonic clock for `@every` and timers,
/// the wall clock (Unix seconds) for cron expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub mono: Instant,
    pub wall: i64,
}

/// What a due time does while the previous run is still going
/// (`schedule-overlap`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Overlap {
    /// Skip it and count it (`skip`, the default).
    #[default]
    Skip,
    /// Stop the old run, then start a new one (`kill`).
    Kill,
}

impl Overlap {
    /// The contents of `schedule-overlap`: `skip` or `kill`, blanks and a
    /// newline around it allowed.
    pub fn parse(text: &str) -> Option<Overlap> {
        match text.trim() {
            "skip" => Some(Overlap::Skip),
            "kill" => Some(Overlap::Kill),
            _ => None,
        }
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunResult {
    Exited(i32),
    Signaled(i32),
}

impl RunResult {
    pub fn ok(self) -> bool {
        self == RunResult::Exited(0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// svscan brought the job up; `paused` when its directory has `down`.
    Start { paused: bool },
    /// Time passed (the deadline, or any wake-up).
    Tick,
    /// `svctl once`: run now.
    Once,
    /// `svctl up`: resume the schedule and run now.
    Up,
    /// `svctl down`: pause, and stop a running run.
    Down,
    /// The run (with its `finish`) is over.
    RunExited(RunResult),
}

/// Why a run starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A due time: the wall time for cron, `None` for `@every`.
    Due(Option<i64>),
    /// `once` or `up`.
    Asked,
    /// `@reboot`.
    Boot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start `run` (as supervise starts a service's).
    StartRun(Reason),
    /// Stop the running run (its `down-signal`, then `timeout-kill`); a
    /// [`Event::RunExited`] follows.
    StopRun,
    /// A due time came while a run was going and was skipped; `total`
    /// skipped so far.
    Skipped { total: u64 },
    /// Due times passed with no run of their own (late wake-up, clock
    /// jump); `count` this time (at most [`COUNT_CAP`]).
    Missed { count: u64 },
    /// The wall clock moved `by` seconds against the monotonic clock;
    /// `reset` when that restarted the schedule.
    ClockJump { by: i64, reset: bool },
    /// What [`Job::view`] shows changed.
    Publish,
}

/// The job's state as status shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for its next due time (`scheduled`).
    Scheduled,
    /// `down`: no due times.
    Paused,
    Running,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastRun {
    pub result: RunResult,
    /// Wall time it started and ended.
    pub started: i64,
    pub ended: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    pub state: State,
    /// Next due time as a wall time (an estimate for `@every`); `None`
    /// when paused, for `@reboot`, or for an expression that never fires.
    pub next_due: Option<i64>,
    pub last: Option<LastRun>,
    pub runs: u64,
    pub skipped: u64,
    pub missed: u64,
}

impl State {
    /// The word status shows: `scheduled`, `paused`, `running`.
    pub fn word(self) -> &'static str {
        match self {
            State::Scheduled => "scheduled",
            State::Paused => "paused",
            State::Running => "running",
        }
    }
}

impl RunResult {
    /// `exit N` / `signal N`, as `last_exit=` in `supervise/svkit-status`.
    pub fn describe(self) -> String {
        match self {
            RunResult::Exited(n) => format!("exit {n}"),
            RunResult::Signaled(n) => format!("signal {n}"),
        }
    }
}

impl View {
    /// `key=value` lines for `supervise/svkit-status` (readers ignore
    /// unknown keys): `job=`, `next_due=` (Unix seconds or `none`),
    /// `last_run=`, `last_run_started=`, `last_run_ended=`, `runs=`,
    /// `skipped=`, `missed=`.
    pub fn status_lines(&self) -> String {
        let opt = |v: Option<i64>| v.map_or_else(|| "none".to_string(), |t| t.to_string());
        format!(
            "job={}\nnext_due={}\nlast_run={}\nlast_run_started={}\nlast_run_ended={}\nruns={}\nskipped={}\nmissed={}\n",
            self.state.word(),
            opt(self.next_due),
            self.last.map_or_else(|| "none".to_string(), |l| l.result.describe()),
            opt(self.last.map(|l| l.started)),
            opt(self.last.map(|l| l.ended)),
            self.runs,
            self.skipped,
            self.missed
        )
    }

    /// The human summary svctl shows:
    /// `scheduled, next 2026-12-05 02:30:00 +0100, last exit 0 at 2026-12-04 02:30:00 +0100, 2 skipped`.
    pub fn summary(&self, zone: &Zone) -> String {
        let mut out = self.state.word().to_string();
        match self.next_due {
            Some(t) => out += &format!(", next {}", zone.format(t)),
            None if self.state != State::Paused => out += ", not due again",
            None => {}
        }
        if let Some(l) = self.last {
            out += &format!(
                ", last {} at {}",
                l.result.describe(),
                zone.format(l.started)
            );
        }
        if self.skipped > 0 {
            out += &format!(", {} skipped", self.skipped);
        }
        if self.missed > 0 {
            out += &format!(", {} missed", self.missed);
        }
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Run {
    Idle,
    Running {
        started: i64,
    },
    /// Being stopped; `again` starts a new run once it exits.
    Stopping {
        started: i64,
        again: bool,
    },
}

#[derive(Clone, Debug)]
pub struct Job {
    spec: Spec,
    zone: Zone,
    overlap: Overlap,
    started: bool,
    active: bool,
    run: Run,
    cron_next: Option<i64>,
    every_next: Option<Instant>,
    seen: Option<Now>,
    last: Option<LastRun>,
    runs: u64,
    skipped: u64,
    missed: u64,
}

impl Job {
    pub fn new(spec: Spec, zone: Zone, overlap: Overlap) -> Job {
        Job {
            spec,
            zone,
            overlap,
            started: false,
            active: false,
            run: Run::Idle,
            cron_next: None,
            every_next: None,
            seen: None,
            last: None,
            runs: 0,
            skipped: 0,
            missed: 0,
        }
    }

    pub fn handle(&mut self, now: Now, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        self.observe(now, &mut out);
        match event {
            Event::Start { paused } => {
                if !self.started {
                    self.started = true;
                    self.active = !paused;
                    if self.active {
                        self.arm(now);
                        if self.spec == Spec::Reboot {
                            self.start(now, Reason::Boot, &mut out);
                        }
                    }
                    out.push(Action::Publish);
                }
            }
            Event::Tick => {}
            Event::Once => self.start(now, Reason::Asked, &mut out),
            Event::Up => {
                if !self.active {
                    self.active = true;
                    self.arm(now);
                    out.push(Action::Publish);
                }
                self.start(now, Reason::Asked, &mut out);
            }
            Event::Down => {
                if self.active {
                    self.active = false;
                    self.cron_next = None;
                    self.every_next = None;
                    out.push(Action::Publish);
                }
                match self.run {
                    Run::Running { started } => {
                        self.run = Run::Stopping {
                            started,
                            again: false,
                        };
                        out.push(Action::StopRun);
                    }
                    Run::Stopping { started, .. } => {
                        self.run = Run::Stopping {
                            started,
                            again: false,
                        };
                    }
                    Run::Idle => {}
                }
            }
            Event::RunExited(result) => {
                // An exit when nothing runs is not ours: ignored.
                let ran = match self.run {
                    Run::Idle => None,
                    Run::Running { started } => Some((started, false)),
                    Run::Stopping { started, again } => Some((started, again)),
                };
                if let Some((started, again)) = ran {
                    self.finished(now, result, started, again, &mut out);
                }
            }
        }
        if self.active {
            self.fire_due(now, &mut out);
        }
        self.seen = Some(now);
        out
    }

    /// The run that started at `started` ended; `again` starts the next
    /// one (an overlap under [`Overlap::Kill`]).
    fn finished(
        &mut self,
        now: Now,
        result: RunResult,
        started: i64,
        again: bool,
        out: &mut Vec<Action>,
    ) {
        self.last = Some(LastRun {
            result,
            started,
            ended: now.wall,
        });
        self.run = Run::Idle;
        out.push(Action::Publish);
        if again {
            let why = match self.spec {
                Spec::Cron(_) => Reason::Due(Some(now.wall)),
                _ => Reason::Due(None),
            };
            self.start(now, why, out);
        }
    }

    /// The monotonic time to be woken by, if any. A running run needs no
    /// timer of its own: its exit arrives as an event.
    pub fn deadline(&self) -> Option<Instant> {
        if !self.active {
            return None;
        }
        match self.spec {
            Spec::Every(_) => self.every_next,
            Spec::Cron(_) => {
                let seen = self.seen?;
                let due = self.cron_next?;
                let wait = Duration::from_secs(due.saturating_sub(seen.wall).max(0) as u64);
                Some(seen.mono + wait.min(CLOCK_CHECK))
            }
            Spec::Reboot => None,
        }
    }

    pub fn view(&self, now: Now) -> View {
        let next_due = if !self.active {
            None
        } else {
            match self.spec {
                Spec::Cron(_) => self.cron_next,
                Spec::Every(_) => self
                    .every_next
                    .map(|due| now.wall + due.saturating_duration_since(now.mono).as_secs() as i64),
                Spec::Reboot => None,
            }
        };
        View {
            state: match (self.run, self.active) {
                (Run::Idle, true) => State::Scheduled,
                (Run::Idle, false) => State::Paused,
                _ => State::Running,
            },
            next_due,
            last: self.last,
            runs: self.runs,
            skipped: self.skipped,
            missed: self.missed,
        }
    }

    /// (Re)starts the schedule from `now`.
    fn arm(&mut self, now: Now) {
        match &self.spec {
            Spec::Cron(e) => self.cron_next = next_after(e, &self.zone, now.wall),
            Spec::Every(period) => self.every_next = Some(now.mono + *period),
            Spec::Reboot => {}
        }
    }

    /// Detects a wall-clock jump since the last event (cron only).
    fn observe(&mut self, now: Now, out: &mut Vec<Action>) {
        let (Some(seen), Spec::Cron(expr)) = (self.seen, &self.spec) else {
            return;
        };
        let elapsed = now.mono.saturating_duration_since(seen.mono).as_secs() as i64;
        let expected = seen.wall.saturating_add(elapsed);
        let by = now.wall.saturating_sub(expected);
        if by.abs() <= JUMP_TOLERANCE {
            return;
        }
        let reset = by.abs() > RESET_THRESHOLD;
        out.push(Action::ClockJump { by, reset });
        if !reset || !self.active {
            // Forward: fire_due catches up once. Backward: cron_next stays.
            return;
        }
        if by > 0 {
            // Every due time since the last look is missed, not run.
            let n = self.count_due_through(now.wall);
            if n > 0 {
                self.missed += n;
                out.push(Action::Missed { count: n });
            }
        }
        self.cron_next = next_after(expr, &self.zone, now.wall);
    }

    /// How many due times from `cron_next` up to `through`, at most
    /// [`COUNT_CAP`].
    fn count_due_through(&self, through: i64) -> u64 {
        let Spec::Cron(expr) = &self.spec else {
            return 0;
        };
        let mut n = 0;
        let mut due = self.cron_next;
        while let Some(d) = due {
            if d > through || n == COUNT_CAP {
                break;
            }
            n += 1;
            due = next_after(expr, &self.zone, d);
        }
        n
    }

    /// Runs or skips whatever is due at `now`, and moves the schedule on.
    fn fire_due(&mut self, now: Now, out: &mut Vec<Action>) {
        let (due, count) = match &self.spec {
            Spec::Cron(expr) => {
                let Some(first) = self.cron_next.filter(|&d| d <= now.wall) else {
                    return;
                };
                let n = self.count_due_through(now.wall);
                self.cron_next = next_after(expr, &self.zone, now.wall);
                (Reason::Due(Some(first)), n)
            }
            Spec::Every(period) => {
                let Some(first) = self.every_next.filter(|&d| d <= now.mono) else {
                    return;
                };
                // Grid points passed: first, first + period, .. <= now.
                let behind = now.mono.duration_since(first).as_nanos() / period.as_nanos().max(1);
                let n = (behind as u64).saturating_add(1).min(COUNT_CAP);
                self.every_next = Some(
                    first + period.saturating_mul((behind + 1).min(u128::from(u32::MAX)) as u32),
                );
                (Reason::Due(None), n)
            }
            Spec::Reboot => return,
        };
        if self.run == Run::Idle {
            self.start(now, due, out);
            if count > 1 {
                self.missed += count - 1;
                out.push(Action::Missed { count: count - 1 });
            }
            return;
        }
        // A run is going: every due time that came is an overlap.
        let mut skip = count;
        if let (Overlap::Kill, Run::Running { started }) = (self.overlap, self.run) {
            self.run = Run::Stopping {
                started,
                again: true,
            };
            out.push(Action::StopRun);
            skip -= 1;
        }
        if skip > 0 {
            self.skipped += skip;
            out.push(Action::Skipped {
                total: self.skipped,
            });
            out.push(Action::Publish);
        }
    }

    /// Starts a run unless one is going.
    fn start(&mut self, now: Now, why: Reason, out: &mut Vec<Action>) {
        if self.run != Run::Idle {
            return;
        }
        self.run = Run::Running { started: now.wall };
        self.runs += 1;
        out.push(Action::StartRun(why));
        out.push(Action::Publish);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::civil::days_from_civil;
    use crate::schedule::cron::CronExpr;

    /// A clock the test moves: the wall clock is `anchor` plus the whole
    /// seconds of monotonic time, and a jump moves the anchor.
    struct Clock {
        base: Instant,
        mono: Duration,
        anchor: i64,
    }

    impl Clock {
        fn at(wall: i64) -> Clock {
            Clock {
                base: Instant::now(),
                mono: Duration::ZERO,
                anchor: wall,
            }
        }
        fn now(&self) -> Now {
            Now {
                mono: self.base + self.mono,
                wall: self.anchor + self.mono.as_secs() as i64,
            }
        }
        fn advance(&mut self, d: Duration) {
            self.mono += d;
        }
        fn secs(&mut self, s: u64) {
            self.advance(Duration::from_secs(s));
        }
        fn until(&mut self, t: Instant) {
            self.mono = t.duration_since(self.base).max(self.mono);
        }
        fn jump(&mut self, by: i64) {
            self.anchor += by;
        }
    }

    fn cron(expr: &str, overlap: Overlap) -> Job {
        Job::new(
            Spec::Cron(CronExpr::parse(expr).unwrap()),
            Zone::Utc,
            overlap,
        )
    }

    fn day(y: i32, m: u8, d: u8) -> i64 {
        days_from_civil(y, m, d) * 86_400
    }

    fn starts(actions: &[Action]) -> usize {
        actions
            .iter()
            .filter(|a| matches!(a, Action::StartRun(_)))
            .count()
    }

    fn missed(actions: &[Action]) -> u64 {
        actions
            .iter()
            .map(|a| match a {
                Action::Missed { count } => *count,
                _ => 0,
            })
            .sum()
    }

    #[test]
    fn every_second_never_overlaps_a_long_run() {
        // `@every 1s`, each run taking 2.5 s: runs at 1, 4, 7, 10 s; the
        // due times 2, 3, 5, 6, 8, 9 are skipped and counted.
        let mut c = Clock::at(day(2026, 12, 4));
        let mut job = Job::new(
            Spec::Every(Duration::from_secs(1)),
            Zone::Utc,
            Overlap::Skip,
        );
        let t0 = c.now().mono;
        job.handle(c.now(), Event::Start { paused: false });
        let mut run_ends: Option<Instant> = None;
        let mut started_at = Vec::new();
        let end = t0 + Duration::from_millis(10_500);
        loop {
            let next = [job.deadline(), run_ends]
                .into_iter()
                .flatten()
                .min()
                .unwrap();
            if next > end {
                break;
            }
            c.until(next);
            let event = if run_ends == Some(next) {
                run_ends = None;
                Event::RunExited(RunResult::Exited(0))
            } else {
                Event::Tick
            };
            for a in job.handle(c.now(), event) {
                if let Action::StartRun(_) = a {
                    assert!(run_ends.is_none(), "overlapping run");
                    started_at.push(next.duration_since(t0).as_millis());
                    run_ends = Some(next + Duration::from_millis(2500));
                }
            }
        }
        assert_eq!(started_at, [1000, 4000, 7000, 10_000]);
        let v = job.view(c.now());
        assert_eq!((v.runs, v.skipped, v.missed), (4, 6, 0));
    }

    #[test]
    fn cron_runs_at_due_times_and_counts_overlaps() {
        let start = day(2026, 12, 4) + 21 * 3600 + 11 * 60 + 23;
        let mut c = Clock::at(start);
        let mut job = cron("*/5 * * * *", Overlap::Skip);
        assert_eq!(
            job.handle(c.now(), Event::Start { paused: false }),
            [Action::Publish]
        );
        let due = day(2026, 12, 4) + 21 * 3600 + 15 * 60;
        assert_eq!(job.view(c.now()).next_due, Some(due));
        assert_eq!(job.view(c.now()).state, State::Scheduled);
        // The deadline is capped at a minute so clock jumps are seen.
        assert_eq!(job.deadline(), Some(c.now().mono + CLOCK_CHECK));
        c.secs(60);
        assert_eq!(starts(&job.handle(c.now(), Event::Tick)), 0);
        // Woken by each deadline in turn, the last one lands on the due time.
        let a = loop {
            c.until(job.deadline().unwrap());
            let a = job.handle(c.now(), Event::Tick);
            if !a.is_empty() {
                break a;
            }
        };
        assert_eq!(c.now().wall, due);
        assert_eq!(a[0], Action::StartRun(Reason::Due(Some(due))));
        assert_eq!(job.view(c.now()).state, State::Running);
        // Still running at the next due time: skipped.
        c.secs(300);
        let a = job.handle(c.now(), Event::Tick);
        assert_eq!(starts(&a), 0);
        assert!(a.contains(&Action::Skipped { total: 1 }));
        c.secs(10);
        job.handle(c.now(), Event::RunExited(RunResult::Exited(3)));
        let v = job.view(c.now());
        assert_eq!(v.state, State::Scheduled);
        assert_eq!(v.last.unwrap().result, RunResult::Exited(3));
        assert_eq!(v.last.unwrap().started, due);
        assert_eq!((v.runs, v.skipped), (1, 1));
        assert_eq!(v.next_due, Some(due + 600));
    }

    #[test]
    fn kill_overlap_restarts_after_the_old_run_exits() {
        let mut c = Clock::at(day(2026, 1, 1));
        let mut job = cron("* * * * *", Overlap::Kill);
        job.handle(c.now(), Event::Start { paused: false });
        c.secs(60);
        assert_eq!(starts(&job.handle(c.now(), Event::Tick)), 1);
        c.secs(60);
        let a = job.handle(c.now(), Event::Tick);
        assert!(a.contains(&Action::StopRun));
        assert_eq!(starts(&a), 0);
        c.secs(2);
        let a = job.handle(c.now(), Event::RunExited(RunResult::Signaled(15)));
        assert_eq!(starts(&a), 1);
        assert_eq!(job.view(c.now()).skipped, 0);
    }

    #[test]
    fn down_pauses_up_resumes_and_runs_now() {
        let mut c = Clock::at(day(2026, 1, 1));
        let mut job = cron("0 * * * *", Overlap::Skip);
        job.handle(c.now(), Event::Start { paused: true });
        assert_eq!(job.view(c.now()).state, State::Paused);
        assert_eq!(job.deadline(), None);
        assert_eq!(job.view(c.now()).next_due, None);
        c.secs(7200);
        assert_eq!(starts(&job.handle(c.now(), Event::Tick)), 0);
        // `once` runs it and it stays paused.
        assert_eq!(
            job.handle(c.now(), Event::Once)[0],
            Action::StartRun(Reason::Asked)
        );
        assert_eq!(
            starts(&job.handle(c.now(), Event::Once)),
            0,
            "already running"
        );
        c.secs(5);
        job.handle(c.now(), Event::RunExited(RunResult::Exited(0)));
        assert_eq!(job.view(c.now()).state, State::Paused);
        // `up` resumes and runs now.
        let a = job.handle(c.now(), Event::Up);
        assert_eq!(starts(&a), 1);
        assert_eq!(job.view(c.now()).next_due, Some(day(2026, 1, 1) + 3 * 3600));
        // `down` while running stops the run and pauses.
        let a = job.handle(c.now(), Event::Down);
        assert!(a.contains(&Action::StopRun));
        c.secs(1);
        job.handle(c.now(), Event::RunExited(RunResult::Signaled(15)));
        assert_eq!(job.view(c.now()).state, State::Paused);
        // A stray exit is ignored.
        assert!(job
            .handle(c.now(), Event::RunExited(RunResult::Exited(0)))
            .is_empty());
    }

    #[test]
    fn reboot_runs_once_at_start_unless_paused() {
        let mut c = Clock::at(day(2026, 1, 1));
        let mut job = Job::new(Spec::Reboot, Zone::Utc, Overlap::Skip);
        assert_eq!(
            job.handle(c.now(), Event::Start { paused: false })[0],
            Action::StartRun(Reason::Boot)
        );
        assert_eq!(
            starts(&job.handle(c.now(), Event::Start { paused: false })),
            0
        );
        c.secs(1);
        job.handle(c.now(), Event::RunExited(RunResult::Exited(0)));
        assert_eq!(job.deadline(), None);
        let mut job = Job::new(Spec::Reboot, Zone::Utc, Overlap::Skip);
        assert_eq!(
            starts(&job.handle(c.now(), Event::Start { paused: true })),
            0
        );
    }

    #[test]
    fn a_late_wake_up_runs_once_and_counts_the_rest() {
        let mut c = Clock::at(day(2026, 1, 1) + 30);
        let mut job = cron("* * * * *", Overlap::Skip);
        job.handle(c.now(), Event::Start { paused: false });
        // The loop was stuck for five minutes (both clocks moved).
        c.secs(300);
        let a = job.handle(c.now(), Event::Tick);
        assert_eq!(starts(&a), 1);
        assert_eq!(missed(&a), 4);
        assert!(!a.iter().any(|a| matches!(a, Action::ClockJump { .. })));
    }

    #[test]
    fn forward_jump_within_three_hours_catches_up_once() {
        // A daily 02:30 job; at 01:00 the wall clock jumps to 03:00.
        let mut c = Clock::at(day(2026, 6, 1) + 3600);
        let mut job = cron("30 2 * * *", Overlap::Skip);
        job.handle(c.now(), Event::Start { paused: false });
        c.secs(10);
        c.jump(7200 - 10);
        let a = job.handle(c.now(), Event::Tick);
        assert!(a.contains(&Action::ClockJump {
            by: 7190,
            reset: false
        }));
        assert_eq!(starts(&a), 1);
        assert_eq!(
            job.view(c.now()).next_due,
            Some(day(2026, 6, 2) + 2 * 3600 + 1800)
        );
    }

    #[test]
    fn forward_jump_over_three_hours_resets_and_reports() {
        // A clock set from 2000 to 2026 after boot: no flood, no run, but
        // the jumped-over due times are counted.
        let mut c = Clock::at(day(2000, 1, 1));
        let mut job = cron("0 * * * *", Overlap::Skip);
        job.handle(c.now(), Event::Start { paused: false });
        c.secs(1);
        c.jump(day(2000, 1, 3) - day(2000, 1, 1));
        let a = job.handle(c.now(), Event::Tick);
        assert!(a.contains(&Action::ClockJump {
            by: 2 * 86_400,
            reset: true
        }));
        assert_eq!(starts(&a), 0);
        assert_eq!(missed(&a), 48);
        assert_eq!(job.view(c.now()).next_due, Some(day(2000, 1, 3) + 3600));
        // Very far: counted up to the cap, not enumerated for ever.
        c.jump(day(2026, 1, 1) - day(2000, 1, 3));
        let a = job.handle(c.now(), Event::Tick);
        assert_eq!(missed(&a), COUNT_CAP);
    }

    #[test]
    fn backward_jump_within_three_hours_runs_nothing_twice() {
        // Hourly; runs at 12:00, then at 12:10 the clock goes back to 11:40.
        let noon = day(2026, 6, 1) + 12 * 3600;
        let mut c = Clock::at(noon - 1);
        let mut job = cron("0 * * * *", Overlap::Skip);
        job.handle(c.now(), Event::Start { paused: false });
        c.secs(1);
        assert_eq!(starts(&job.handle(c.now(), Event::Tick)), 1);
        c.secs(10);
        job.handle(c.now(), Event::RunExited(RunResult::Exited(0)));
        c.secs(590);
        c.jump(-1800);
        let a = job.handle(c.now(), Event::Tick);
        assert!(a.contains(&Action::ClockJump {
            by: -1800,
            reset: false
        }));
        assert_eq!(job.view(c.now()).next_due, Some(noon + 3600));
        // Passing 12:00 again does not run it.
        c.secs(1800);
        assert_eq!(starts(&job.handle(c.now(), Event::Tick)), 0);
    }

    #[test]
    fn backward_jump_over_three_hours_restarts_the_schedule() {
        let noon = day(2026, 6, 1) + 12 * 3600;
        let mut c = Clock::at(noon + 60);
        let mut job = cron("0 12 * * *", Overlap::Skip);
        job.handle(c.now(), Event::Start { paused: false });
        assert_eq!(job.view(c.now()).next_due, Some(noon + 86_400));
        c.secs(1);
        c.jump(-86_400);
        let a = job.handle(c.now(), Event::Tick);
        assert!(a.contains(&Action::ClockJump {
            by: -86_400,
            reset: true
        }));
        // The clock now says yesterday 12:01: next is today's noon again.
        assert_eq!(job.view(c.now()).next_due, Some(noon));
    }

    #[test]
    fn small_steps_are_not_jumps() {
        let mut c = Clock::at(day(2026, 6, 1));
        let mut job = cron("0 0 1 1 *", Overlap::Skip);
        job.handle(c.now(), Event::Start { paused: false });
        c.secs(30);
        c.jump(JUMP_TOLERANCE);
        assert!(job.handle(c.now(), Event::Tick).is_empty());
    }

    #[test]
    fn status_text() {
        let start = day(2026, 12, 4) + 2 * 3600 + 29 * 60;
        let mut c = Clock::at(start);
        let mut job = cron("30 2 * * *", Overlap::Skip);
        job.handle(c.now(), Event::Start { paused: false });
        assert_eq!(
            job.view(c.now()).summary(&Zone::Utc),
            "scheduled, next 2026-12-04 02:30:00 +0000"
        );
        c.secs(60);
        job.handle(c.now(), Event::Tick);
        c.secs(5);
        job.handle(c.now(), Event::RunExited(RunResult::Exited(0)));
        let v = job.view(c.now());
        assert_eq!(
            v.summary(&Zone::Utc),
            "scheduled, next 2026-12-05 02:30:00 +0000, last exit 0 at 2026-12-04 02:30:00 +0000"
        );
        let lines = v.status_lines();
        assert!(
            lines.starts_with("job=scheduled\nnext_due=1796437800\nlast_run=exit 0\n"),
            "{lines}"
        );
        assert!(lines.ends_with("runs=1\nskipped=0\nmissed=0\n"), "{lines}");
        job.handle(c.now(), Event::Down);
        assert_eq!(
            job.view(c.now()).summary(&Zone::Utc),
            "paused, last exit 0 at 2026-12-04 02:30:00 +0000"
        );
    }

    #[test]
    fn overlap_file() {
        assert_eq!(Overlap::parse("kill\n"), Some(Overlap::Kill));
        assert_eq!(Overlap::parse(" skip "), Some(Overlap::Skip));
        assert_eq!(Overlap::parse("queue"), None);
    }
}
