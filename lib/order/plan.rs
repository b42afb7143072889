//! The start-order planner: a pure state machine that svscan's loop
//! drives. [`Event`]s in, with the time passed in ([`Now`]); [`Action`]s
//! out. No clock, no process, no file.
//!
//! Rules:
//! - A wanted atomic service starts as soon as everything it needs is up,
//!   in the same step as the event that made it so: as many in parallel
//!   as the graph allows, and nothing waits for an unrelated service.
//! - "Up" is: a longrun ready (its `notification-fd` line or its `check`,
//!   as the loop reports with [`Event::Ready`]; a longrun with neither is
//!   up once [`Event::Started`]); a oneshot whose `up` exited 0 (an empty
//!   `up` is up at once); an external name the loop reports ready.
//! - A oneshot whose `up` fails (non-zero, killed, or past `timeout-up`,
//!   then killed with [`Action::Kill`]) is failed: what needs it never
//!   starts, and the failure policy (`SVSCAN_INIT_FAIL`) decides: `stop`
//!   emits [`Action::Exit`] with its code (once), `warn` a warning line,
//!   `ignore` nothing. A longrun with a `timeout-up` that is not ready by
//!   then fails the same way (s6-rc's rule); one without waits, and what
//!   needs it waits too, with one warning per waiting service naming
//!   what it waits for after [`Config::wait_warning`] (10 s by default).
//!   A late readiness still starts what waits.
//! - Refused services (see [`super::graph`]) never start; what needs a
//!   refused or failed service is blocked and reported once.
//! - [`Event::Shutdown`] stops in reverse order within its one deadline:
//!   a service is stopped once everything started that needs it is down;
//!   a oneshot's `down` runs once everything that needs it is down. At
//!   the deadline whatever is left is killed, `down` scripts not yet run
//!   are skipped (one warning each), and [`Action::Done`] follows.

use super::graph::{Graph, NodeKind};
use super::script::Script;
use super::source::Readiness;
use crate::container::scripts::{Outcome, Policy};
use crate::tai64n::Tai64n;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// When an event happened: the monotonic clock for decisions, the wall
/// clock for what status shows (supervise's and health's pair).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub mono: Instant,
    pub wall: Tai64n,
}

/// Default for [`Config::wait_warning`].
pub const WAIT_WARNING: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// What a failed oneshot (or a longrun past its `timeout-up`) does to
    /// the container (`SVSCAN_INIT_FAIL`).
    pub on_failure: Policy,
    /// How long a service waits before one warning names what it waits
    /// for.
    pub wait_warning: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            on_failure: Policy::Stop,
            wait_warning: WAIT_WARNING,
        }
    }
}

/// What the loop saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A longrun's `run` was started (supervise reports it up).
    Started(String),
    /// A longrun became ready, or an external name came up.
    Ready(String),
    /// A longrun's process went down (while running, supervise restarts
    /// it; during shutdown this is the end of its stop).
    Down(String),
    /// A oneshot's `up` or `down` ended, or an external name finished.
    Exited { name: String, outcome: Outcome },
    /// Stop everything, in reverse order, by `deadline`.
    Shutdown { deadline: Instant },
    /// Time passed (a deadline from [`Planner::next_deadline`] is due).
    Tick,
}

/// What the loop is to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Bring a longrun up (supervise's `u`).
    Start(String),
    /// Run a oneshot's `up`; [`Action::Kill`] follows if it is still
    /// running at `deadline`.
    RunUp {
        name: String,
        script: Script,
        deadline: Option<Instant>,
    },
    /// Bring a longrun down (supervise's `d`).
    Stop(String),
    /// Run a oneshot's `down`.
    RunDown {
        name: String,
        script: Script,
        deadline: Option<Instant>,
    },
    /// Kill what runs for this name (a oneshot's script, or a longrun's
    /// process group at its `timeout-down`), with its process group. A
    /// later result for it is ignored.
    Kill(String),
    /// Print one warning line (without the program prefix).
    Warn(String),
    /// The failure policy says stop: shut down and exit with this code.
    Exit(u8),
    /// Shutdown finished: everything is down.
    Done,
}

/// What status shows for one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum View {
    /// Not part of what is started.
    NotWanted,
    /// Never starts: the definition was refused.
    Refused(String),
    /// Waiting for these names (not up yet, or not defined yet).
    Waiting {
        waiting_for: Vec<String>,
    },
    /// Never starts unless these recover: they failed or were refused.
    Blocked {
        by: Vec<String>,
    },
    /// Started, not ready yet (longrun) / `up` running (oneshot).
    Starting {
        since: Tai64n,
    },
    /// Ready (longrun) / `up` exited 0 (oneshot: "done").
    Up {
        since: Tai64n,
    },
    Failed {
        outcome: Outcome,
        at: Tai64n,
    },
    Stopping {
        since: Tai64n,
    },
    Down {
        since: Tai64n,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    Waiting,
    Starting { deadline: Option<Instant> },
    Up,
    Failed(Outcome),
    Stopping { deadline: Option<Instant> },
    Down,
}

#[derive(Clone, Debug)]
struct Rec {
    phase: Phase,
    since: Instant,
    at: Tai64n,
    /// A longrun was started and not stopped yet (it needs a stop at
    /// shutdown even if it failed its timeout-up).
    running: bool,
    warned_wait: bool,
    warned_block: bool,
}

impl Rec {
    fn new(now: Now) -> Rec {
        Rec {
            phase: Phase::Waiting,
            since: now.mono,
            at: now.wall,
            running: false,
            warned_wait: false,
            warned_block: false,
        }
    }
}

enum Needs {
    Ready,
    Wait(Vec<String>),
    Blocked(Vec<String>),
}

/// The planner. Create it with [`Planner::new`], then feed it
/// [`Event::Tick`] once to get the first starts.
#[derive(Clone, Debug)]
pub struct Planner {
    graph: Graph,
    config: Config,
    /// `None`: start every atomic service; else these names (bundles
    /// expanded) and what they need.
    targets: Option<Vec<String>>,
    wanted: BTreeSet<String>,
    recs: BTreeMap<String, Rec>,
    /// Who needs each name (the graph's needs, reversed), for shutdown.
    dependents: BTreeMap<String, Vec<String>>,
    shutdown: Option<Instant>,
    exit_sent: bool,
    done_sent: bool,
}

impl Planner {
    /// A planner over `graph`, starting `targets` (and what they need), or
    /// every atomic service when `targets` is `None`.
    pub fn new(graph: Graph, targets: Option<Vec<String>>, config: Config, now: Now) -> Planner {
        let mut p = Planner {
            graph: Graph::default(),
            config,
            targets,
            wanted: BTreeSet::new(),
            recs: BTreeMap::new(),
            dependents: BTreeMap::new(),
            shutdown: None,
            exit_sent: false,
            done_sent: false,
        };
        p.set_graph(graph, now);
        p
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Replaces the graph (a service was added, changed or removed; the
    /// scan found it): states are kept by name, new names start waiting,
    /// and whatever can start now does.
    pub fn replace_graph(&mut self, graph: Graph, now: Now) -> Vec<Action> {
        self.set_graph(graph, now);
        self.step(Event::Tick, now)
    }

    fn set_graph(&mut self, graph: Graph, now: Now) {
        self.graph = graph;
        self.wanted = match &self.targets {
            None => self.graph.closure(self.graph.atoms().collect::<Vec<_>>()),
            Some(t) => self.graph.closure(t.iter().map(|s| s.as_str())),
        };
        for n in &self.wanted {
            self.recs.entry(n.clone()).or_insert_with(|| Rec::new(now));
        }
        self.dependents.clear();
        for name in self.graph.names() {
            if let Some(n) = self.graph.node(name) {
                for d in &n.needs {
                    self.dependents
                        .entry(d.clone())
                        .or_default()
                        .push(name.to_string());
                }
            }
        }
    }

    /// Whether shutdown has begun.
    pub fn shutting_down(&self) -> bool {
        self.shutdown.is_some()
    }

    /// The earliest time at which [`Event::Tick`] has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut best: Option<Instant> = self.shutdown.filter(|_| !self.done_sent);
        let mut consider = |t: Instant| {
            best = Some(best.map_or(t, |b| b.min(t)));
        };
        let never = self.never_up();
        for (name, r) in &self.recs {
            match r.phase {
                Phase::Starting { deadline: Some(d) } | Phase::Stopping { deadline: Some(d) } => {
                    consider(d)
                }
                Phase::Waiting
                    if self.shutdown.is_none() && !r.warned_wait && self.is_startable(name) =>
                {
                    if let Needs::Wait(_) = self.needs(name, &never) {
                        consider(r.since + self.config.wait_warning);
                    }
                }
                _ => {}
            }
        }
        best
    }

    /// What status shows for `name`.
    pub fn view(&self, name: &str) -> View {
        if let Some(why) = self.graph.node(name).and_then(|n| n.refused.clone()) {
            return View::Refused(why);
        }
        let Some(r) = self.recs.get(name) else {
            return View::NotWanted;
        };
        match &r.phase {
            Phase::Waiting => match self.needs(name, &self.never_up()) {
                Needs::Blocked(by) => View::Blocked { by },
                Needs::Wait(w) => View::Waiting { waiting_for: w },
                // Its turn has come; the loop has not reported it yet
                // (an external name, or not defined yet).
                Needs::Ready => View::Waiting {
                    waiting_for: if self.graph.node(name).is_none() {
                        vec![name.to_string()]
                    } else {
                        Vec::new()
                    },
                },
            },
            Phase::Starting { .. } => View::Starting { since: r.at },
            Phase::Up => View::Up { since: r.at },
            Phase::Failed(o) => View::Failed {
                outcome: o.clone(),
                at: r.at,
            },
            Phase::Stopping { .. } => View::Stopping { since: r.at },
            Phase::Down => View::Down { since: r.at },
        }
    }

    /// Feeds one event; returns what to do, in order.
    pub fn step(&mut self, ev: Event, now: Now) -> Vec<Action> {
        let mut out = Vec::new();
        match ev {
            Event::Started(n) => self.on_started(&n, now),
            Event::Ready(n) => self.on_ready(&n, now),
            Event::Down(n) => self.on_down(&n, now),
            Event::Exited { name, outcome } => self.on_exited(&name, outcome, now, &mut out),
            Event::Shutdown { deadline } => self.on_shutdown(deadline, now, &mut out),
            Event::Tick => {}
        }
        if self.shutdown.is_some() {
            self.advance_shutdown(now, &mut out);
        } else {
            self.advance(now, &mut out);
        }
        out
    }

    fn set(&mut self, name: &str, phase: Phase, now: Now) {
        if let Some(r) = self.recs.get_mut(name) {
            r.phase = phase;
            r.since = now.mono;
            r.at = now.wall;
        }
    }

    fn phase(&self, name: &str) -> Option<&Phase> {
        self.recs.get(name).map(|r| &r.phase)
    }

    fn kind(&self, name: &str) -> Option<&NodeKind> {
        self.graph.node(name).map(|n| &n.kind)
    }

    fn on_started(&mut self, name: &str, now: Now) {
        let Some(NodeKind::Longrun { readiness }) = self.kind(name).cloned() else {
            return;
        };
        let Some(r) = self.recs.get_mut(name) else {
            return;
        };
        r.running = true;
        match r.phase {
            // Late after its timeout-up counts too, as a late readiness does.
            Phase::Waiting | Phase::Starting { .. } | Phase::Failed(Outcome::TimedOut)
                if readiness == Readiness::Started =>
            {
                self.set(name, Phase::Up, now)
            }
            // Started by hand before its turn: it runs, and its timeout-up
            // no longer applies (nobody here asked for it).
            Phase::Waiting => self.set(name, Phase::Starting { deadline: None }, now),
            _ => {}
        }
    }

    fn on_ready(&mut self, name: &str, now: Now) {
        let up_now = matches!(
            (self.kind(name), self.phase(name)),
            (
                Some(NodeKind::Longrun { .. } | NodeKind::External),
                Some(Phase::Waiting | Phase::Starting { .. })
            ) | (
                Some(NodeKind::Longrun { .. }),
                Some(Phase::Failed(Outcome::TimedOut))
            )
        );
        if up_now && self.shutdown.is_none() {
            if let Some(r) = self.recs.get_mut(name) {
                r.running = r.running
                    || matches!(
                        self.graph.node(name).map(|n| &n.kind),
                        Some(NodeKind::Longrun { .. })
                    );
            }
            self.set(name, Phase::Up, now);
        }
    }

    fn on_down(&mut self, name: &str, now: Now) {
        if !matches!(self.kind(name), Some(NodeKind::Longrun { .. })) {
            return;
        }
        if self.shutdown.is_none() {
            // supervise restarts it; start order is about the first start,
            // so what already runs stays.
            return;
        }
        let Some(r) = self.recs.get_mut(name) else {
            return;
        };
        r.running = false;
        if !matches!(r.phase, Phase::Down) {
            self.set(name, Phase::Down, now);
        }
    }

    fn on_exited(&mut self, name: &str, outcome: Outcome, now: Now, out: &mut Vec<Action>) {
        let kind = self.kind(name).cloned();
        let phase = self.phase(name).cloned();
        match (kind, phase) {
            (
                Some(NodeKind::Oneshot { .. } | NodeKind::External),
                Some(Phase::Starting { .. }),
            )
            // An external name has no start of ours to wait for; a
            // oneshot's result counts only for an `up` the planner ran.
            | (Some(NodeKind::External), Some(Phase::Waiting))
                if self.shutdown.is_none() =>
            {
                if outcome.is_success() {
                    self.set(name, Phase::Up, now);
                } else {
                    self.fail(name, outcome, now, out);
                }
            }
            (Some(NodeKind::Oneshot { .. }), Some(Phase::Stopping { .. })) => {
                if !outcome.is_success() {
                    out.push(Action::Warn(format!("{name}: down {outcome}")));
                }
                self.set(name, Phase::Down, now);
            }
            _ => {}
        }
    }

    fn fail(&mut self, name: &str, outcome: Outcome, now: Now, out: &mut Vec<Action>) {
        let what = match self.kind(name) {
            Some(NodeKind::Longrun { .. }) => "not ready within timeout-up",
            _ => "up",
        };
        let line = if matches!(self.kind(name), Some(NodeKind::Longrun { .. })) {
            format!("{name}: {what}")
        } else {
            format!("{name}: {what} {outcome}")
        };
        let code = Policy::exit_code(&outcome);
        self.set(name, Phase::Failed(outcome), now);
        match self.config.on_failure {
            Policy::Stop => {
                if !self.exit_sent {
                    self.exit_sent = true;
                    out.push(Action::Warn(line));
                    out.push(Action::Exit(code.unwrap_or(111)));
                }
            }
            Policy::Warn => out.push(Action::Warn(line)),
            Policy::Ignore => {}
        }
    }

    /// Whether `name` is something this planner starts (an atomic,
    /// non-refused, non-external definition that is wanted).
    fn is_startable(&self, name: &str) -> bool {
        self.wanted.contains(name)
            && self.graph.node(name).is_some_and(|n| {
                n.refused.is_none()
                    && matches!(n.kind, NodeKind::Longrun { .. } | NodeKind::Oneshot { .. })
            })
    }

    /// Where `name` stands with what it needs, given the names that can
    /// never come up ([`Planner::never_up`]). Blocked wins over waiting:
    /// a need that can never come up is the news.
    fn needs(&self, name: &str, never: &BTreeSet<String>) -> Needs {
        let mut wait = Vec::new();
        let mut blocked = Vec::new();
        let Some(node) = self.graph.node(name) else {
            return Needs::Ready;
        };
        for d in &node.needs {
            if never.contains(d) {
                blocked.push(d.clone());
            } else if !matches!(self.phase(d), Some(Phase::Up)) {
                wait.push(d.clone());
            }
        }
        if !blocked.is_empty() {
            Needs::Blocked(blocked)
        } else if !wait.is_empty() {
            Needs::Wait(wait)
        } else {
            Needs::Ready
        }
    }

    /// Every name that can never come up: refused, failed, or waiting on
    /// one of those (transitively). One pass over the graph, so that each
    /// step costs O(services + dependencies).
    fn never_up(&self) -> BTreeSet<String> {
        let mut memo: BTreeMap<&str, bool> = BTreeMap::new();
        for name in self.graph.names() {
            self.never_up_one(name, &mut memo);
        }
        memo.into_iter()
            .filter(|(_, v)| *v)
            .map(|(k, _)| k.to_string())
            .collect()
    }

    fn never_up_one<'a>(&'a self, name: &'a str, memo: &mut BTreeMap<&'a str, bool>) -> bool {
        if let Some(&v) = memo.get(name) {
            return v;
        }
        // Provisionally false: cycles are refused already, so a loop here
        // can only run through refused names, which answer first.
        memo.insert(name, false);
        let Some(node) = self.graph.node(name) else {
            return false;
        };
        let v = if node.refused.is_some() {
            true
        } else {
            match self.phase(name) {
                Some(Phase::Failed(_)) => true,
                Some(Phase::Waiting) => node.needs.iter().any(|d| self.never_up_one(d, memo)),
                _ => false,
            }
        };
        memo.insert(name, v);
        v
    }

    fn advance(&mut self, now: Now, out: &mut Vec<Action>) {
        // Timers first: a timed-out service blocks what needs it in this
        // same step.
        let due: Vec<String> = self
            .recs
            .iter()
            .filter(
                |(_, r)| matches!(r.phase, Phase::Starting { deadline: Some(d) } if d <= now.mono),
            )
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            if matches!(self.kind(&name), Some(NodeKind::Oneshot { .. })) {
                out.push(Action::Kill(name.clone()));
            }
            self.fail(&name, Outcome::TimedOut, now, out);
        }
        // Starting one service can make another startable at once (an
        // empty oneshot is up immediately), so go round until nothing moves.
        // Failures only happen above, so what can never come up is fixed
        // for the rest of this step.
        let never = self.never_up();
        loop {
            let mut moved = false;
            let waiting: Vec<String> = self
                .recs
                .iter()
                .filter(|(n, r)| r.phase == Phase::Waiting && self.is_startable(n))
                .map(|(n, _)| n.clone())
                .collect();
            for name in waiting {
                match self.needs(&name, &never) {
                    Needs::Ready => moved |= self.start(&name, now, out),
                    Needs::Blocked(by) => {
                        let r = self.recs.get_mut(&name);
                        if let Some(r) = r.filter(|r| !r.warned_block) {
                            r.warned_block = true;
                            if self.config.on_failure != Policy::Ignore || self.any_refused(&by) {
                                out.push(Action::Warn(format!(
                                    "{name}: not started: needs {}, which cannot come up",
                                    by.join(", ")
                                )));
                            }
                        }
                    }
                    Needs::Wait(w) => {
                        let warn_at = self.config.wait_warning;
                        if let Some(r) = self.recs.get_mut(&name) {
                            if !r.warned_wait && now.mono >= r.since + warn_at {
                                r.warned_wait = true;
                                out.push(Action::Warn(format!(
                                    "{name}: still waiting for {} after {} ms",
                                    w.join(", "),
                                    (now.mono - r.since).as_millis()
                                )));
                            }
                        }
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn any_refused(&self, names: &[String]) -> bool {
        names
            .iter()
            .any(|n| self.graph.node(n).is_some_and(|n| n.refused.is_some()))
    }

    /// Starts `name`; true if it is up at once (so others may follow).
    fn start(&mut self, name: &str, now: Now, out: &mut Vec<Action>) -> bool {
        let Some(node) = self.graph.node(name) else {
            return false;
        };
        let deadline = node.timeout_up.map(|t| now.mono + t);
        match node.kind.clone() {
            NodeKind::Longrun { .. } => {
                out.push(Action::Start(name.to_string()));
                if let Some(r) = self.recs.get_mut(name) {
                    r.running = true;
                }
                self.set(name, Phase::Starting { deadline }, now);
                false
            }
            NodeKind::Oneshot {
                up: Script::Empty, ..
            } => {
                self.set(name, Phase::Up, now);
                true
            }
            NodeKind::Oneshot { up, .. } => {
                out.push(Action::RunUp {
                    name: name.to_string(),
                    script: up,
                    deadline,
                });
                self.set(name, Phase::Starting { deadline }, now);
                false
            }
            NodeKind::External | NodeKind::Bundle { .. } => false,
        }
    }

    fn on_shutdown(&mut self, deadline: Instant, now: Now, out: &mut Vec<Action>) {
        if self.shutdown.is_some() {
            // A second request can only bring the deadline closer.
            self.shutdown = self.shutdown.map(|d| d.min(deadline));
            return;
        }
        self.shutdown = Some(deadline);
        let names: Vec<String> = self.recs.keys().cloned().collect();
        for name in names {
            let kind = self.kind(&name).cloned();
            let phase = self.phase(&name).cloned();
            match (kind, phase) {
                (_, Some(Phase::Waiting)) => self.set(&name, Phase::Down, now),
                // An `up` still running never completed: cancel it; its
                // `down` is not run.
                (Some(NodeKind::Oneshot { .. }), Some(Phase::Starting { .. })) => {
                    out.push(Action::Kill(name.clone()));
                    self.set(&name, Phase::Failed(Outcome::Cancelled), now);
                }
                _ => {}
            }
        }
    }

    /// Whether `name` still has to be stopped (or its `down` run).
    fn needs_stop(&self, name: &str) -> bool {
        let Some(r) = self.recs.get(name) else {
            return false;
        };
        match self.kind(name) {
            Some(NodeKind::Longrun { .. }) => {
                r.running && !matches!(r.phase, Phase::Stopping { .. } | Phase::Down)
            }
            Some(NodeKind::Oneshot { .. }) => r.phase == Phase::Up,
            _ => false,
        }
    }

    /// Whether `name` is fully down for the purpose of ordering.
    fn is_settled(&self, name: &str) -> bool {
        !self.needs_stop(name) && !matches!(self.phase(name), Some(Phase::Stopping { .. }))
    }

    fn advance_shutdown(&mut self, now: Now, out: &mut Vec<Action>) {
        if self.done_sent {
            return;
        }
        let Some(global) = self.shutdown else {
            return;
        };
        if now.mono >= global {
            self.finish_at_deadline(now, out);
            return;
        }
        // Per-service timeout-down.
        let due: Vec<String> = self
            .recs
            .iter()
            .filter(
                |(_, r)| matches!(r.phase, Phase::Stopping { deadline: Some(d) } if d <= now.mono),
            )
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            out.push(Action::Kill(name.clone()));
            out.push(Action::Warn(format!(
                "{name}: not down within timeout-down, killed"
            )));
            if let Some(r) = self.recs.get_mut(&name) {
                r.running = false;
            }
            self.set(&name, Phase::Down, now);
        }
        loop {
            let mut moved = false;
            let ready: Vec<String> = self
                .recs
                .keys()
                .filter(|n| self.needs_stop(n))
                .filter(|n| {
                    self.dependents
                        .get(*n)
                        .map_or(true, |ds| ds.iter().all(|d| self.is_settled(d)))
                })
                .cloned()
                .collect();
            for name in ready {
                let Some(node) = self.graph.node(&name) else {
                    continue;
                };
                let deadline = Some(
                    node.timeout_down
                        .map_or(global, |t| (now.mono + t).min(global)),
                );
                match node.kind.clone() {
                    NodeKind::Longrun { .. } => {
                        out.push(Action::Stop(name.clone()));
                        self.set(&name, Phase::Stopping { deadline }, now);
                    }
                    NodeKind::Oneshot {
                        down: Script::Empty,
                        ..
                    } => {
                        self.set(&name, Phase::Down, now);
                        moved = true;
                    }
                    NodeKind::Oneshot { down, .. } => {
                        out.push(Action::RunDown {
                            name: name.clone(),
                            script: down,
                            deadline,
                        });
                        self.set(&name, Phase::Stopping { deadline }, now);
                    }
                    _ => {}
                }
            }
            if !moved {
                break;
            }
        }
        if self.recs.keys().all(|n| self.is_settled(n)) {
            self.done_sent = true;
            out.push(Action::Done);
        }
    }

    fn finish_at_deadline(&mut self, now: Now, out: &mut Vec<Action>) {
        let names: Vec<String> = self.recs.keys().cloned().collect();
        for name in names {
            let stopping = matches!(self.phase(&name), Some(Phase::Stopping { .. }));
            let longrun = matches!(self.kind(&name), Some(NodeKind::Longrun { .. }));
            if stopping || (longrun && self.needs_stop(&name)) {
                out.push(Action::Kill(name.clone()));
            } else if self.needs_stop(&name) {
                out.push(Action::Warn(format!(
                    "{name}: down not run: shutdown deadline passed"
                )));
            } else {
                continue;
            }
            if let Some(r) = self.recs.get_mut(&name) {
                r.running = false;
            }
            self.set(&name, Phase::Down, now);
        }
        self.done_sent = true;
        out.push(Action::Done);
    }
}
