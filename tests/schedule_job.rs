//! Properties of the job state machine under random event sequences and
//! random clocks (synthetic time, no processes): it never starts a run
//! while one is going, counts what it says it counts, starts nothing
//! while paused, and, woken at its own deadlines with no clock trouble,
//! runs a cron job at exactly the due times `next_after` gives.

use std::time::{Duration, Instant};
use svkit::schedule::civil::{days_from_civil, DAY_SECS};
use svkit::schedule::cron::CronExpr;
use svkit::schedule::job::{
    Action, Event, Job, Now, Overlap, Reason, RunResult, State, CLOCK_CHECK,
};
use svkit::schedule::next::next_after;
use svkit::schedule::posixtz::PosixTz;
use svkit::schedule::spec::Spec;
use svkit::schedule::zone::Zone;

struct Rng(u64);

impl Rng {
    fn new(salt: u64) -> Rng {
        let seed = std::env::var("SVKIT_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x0dd_ba11_u64);
        Rng((seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)).max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SPECS: &[&str] = &[
    "* * * * *",
    "*/7 * * * *",
    "30 2 * * *",
    "0 9-17 * * mon-fri",
    "0 0 29 2 *",
    "@hourly",
    "@every 1s",
    "@every 90s",
    "@every 1h",
    "@reboot",
];

struct Clock {
    base: Instant,
    mono: Duration,
    anchor: i64,
}

impl Clock {
    fn now(&self) -> Now {
        Now {
            mono: self.base + self.mono,
            wall: self.anchor + self.mono.as_secs() as i64,
        }
    }
}

#[test]
fn random_event_sequences_keep_the_invariants() {
    let zones = [
        Zone::Utc,
        Zone::Rule(PosixTz::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap()),
    ];
    for case in 0..150u64 {
        let mut rng = Rng::new(case);
        let spec = Spec::parse(SPECS[rng.below(SPECS.len() as u64) as usize]).unwrap();
        let zone = zones[rng.below(2) as usize].clone();
        let overlap = if rng.below(2) == 0 {
            Overlap::Skip
        } else {
            Overlap::Kill
        };
        let mut job = Job::new(spec.clone(), zone, overlap);
        let mut c = Clock {
            base: Instant::now(),
            mono: Duration::ZERO,
            anchor: days_from_civil(2026, 3, 28) * DAY_SECS + rng.below(3 * DAY_SECS as u64) as i64,
        };
        let mut running = false;
        let mut stopping = false;
        let mut starts = 0u64;
        let paused_at_start = rng.below(4) == 0;
        let mut steps = Vec::new();
        for step in 0..200 {
            let event = match rng.below(12) {
                0 if step > 0 => Event::Once,
                1 => Event::Up,
                2 => Event::Down,
                3 | 4 if running => Event::RunExited(RunResult::Exited(rng.below(3) as i32)),
                5 => Event::RunExited(RunResult::Exited(0)), // may be stray
                _ if step == 0 => Event::Start {
                    paused: paused_at_start,
                },
                _ => Event::Tick,
            };
            // Time: usually to the deadline, sometimes a random step,
            // sometimes a wall-clock jump.
            match rng.below(40) {
                0..=25 => {
                    if let Some(d) = job.deadline() {
                        let now = c.base + c.mono;
                        assert!(
                            d + Duration::from_secs(1) >= now || matches!(spec, Spec::Every(_)),
                            "deadline in the past"
                        );
                        if matches!(spec, Spec::Cron(_)) {
                            assert!(
                                d <= now + CLOCK_CHECK,
                                "cron deadline beyond the clock check"
                            );
                        }
                        c.mono = c.mono.max(d - c.base);
                    }
                }
                26..=33 => c.mono += Duration::from_millis(rng.below(7_200_000)),
                34..=38 => c.anchor += rng.below(8 * 3600) as i64 - 4 * 3600,
                _ => c.anchor += rng.below(10 * DAY_SECS as u64) as i64 - 5 * DAY_SECS,
            }
            // An exit while nothing runs is stray and must be ignored (the
            // time that passed may still start a due run).
            if let Event::RunExited(_) = event {
                running = false;
                stopping = false;
            }
            let actions = job.handle(c.now(), event);
            steps.push((event, actions.clone()));
            let mut started_here = 0;
            for a in &actions {
                match a {
                    Action::StartRun(_) => {
                        assert!(
                            !running,
                            "case {case}: run started while one is going: {steps:?}"
                        );
                        running = true;
                        started_here += 1;
                        starts += 1;
                    }
                    Action::StopRun => {
                        assert!(running && !stopping, "case {case}: stop without a run");
                        stopping = true;
                    }
                    _ => {}
                }
            }
            assert!(started_here <= 1);
            let v = job.view(c.now());
            assert_eq!(v.runs, starts, "case {case}");
            assert_eq!(v.state == State::Running, running, "case {case}: {steps:?}");
            if v.state == State::Paused {
                assert_eq!(v.next_due, None);
                assert_eq!(job.deadline(), None);
            }
            if matches!(event, Event::Tick) && v.state == State::Paused {
                assert_eq!(started_here, 0);
            }
        }
    }
}

#[test]
fn woken_at_its_deadlines_a_cron_job_runs_at_exactly_the_due_times() {
    let zone = Zone::Rule(PosixTz::parse("CET-1CEST,M3.5.0,M10.5.0/3").unwrap());
    for (i, text) in [
        "*/7 * * * *",
        "30 2 * * *",
        "15 1-3 * * *",
        "0 */5 * * *",
        "45 23 31 * *",
    ]
    .iter()
    .enumerate()
    {
        let expr = CronExpr::parse(text).unwrap();
        let mut rng = Rng::new(1000 + i as u64);
        // Across the spring change.
        let start = days_from_civil(2026, 3, 28) * DAY_SECS + rng.below(3600) as i64;
        let mut c = Clock {
            base: Instant::now(),
            mono: Duration::ZERO,
            anchor: start,
        };
        let mut job = Job::new(Spec::Cron(expr), zone.clone(), Overlap::Skip);
        job.handle(c.now(), Event::Start { paused: false });
        let end = start + 40 * DAY_SECS;
        let mut got = Vec::new();
        while let Some(d) = job.deadline() {
            c.mono = d - c.base;
            if c.now().wall > end {
                break;
            }
            for a in job.handle(c.now(), Event::Tick) {
                match a {
                    Action::StartRun(Reason::Due(Some(due))) => {
                        assert_eq!(c.now().wall, due, "{text}: woken late");
                        got.push(due);
                        // Runs take a second.
                        c.mono += Duration::from_secs(1);
                        job.handle(c.now(), Event::RunExited(RunResult::Exited(0)));
                    }
                    Action::StartRun(r) => panic!("{text}: {r:?}"),
                    Action::Missed { .. } | Action::Skipped { .. } | Action::ClockJump { .. } => {
                        panic!("{text}: {a:?} without clock trouble")
                    }
                    _ => {}
                }
            }
        }
        let mut want = Vec::new();
        let mut t = start;
        while let Some(u) = next_after(&CronExpr::parse(text).unwrap(), &zone, t) {
            if u > end {
                break;
            }
            want.push(u);
            t = u;
        }
        assert!(!want.is_empty());
        assert_eq!(got, want, "{text}");
    }
}
