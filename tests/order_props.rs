//! Property tests for start order: random graphs (cycles, bundles of
//! bundles, missing and refused names, external names, failing oneshots)
//! never make the reader, the validator or the planner panic; every start
//! comes after all that it needs is up; everything that can come up does;
//! every stop comes after all that needs it is down; shutdown ends.
//! A small fixed-seed generator keeps each run reproducible: a failure
//! names its seed.

mod common;

use common::{write_script, TempDir};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use svkit::container::scripts::{Outcome, Policy};
use svkit::order::graph::NodeKind;
use svkit::order::script::Script;
use svkit::order::source::{Definition, Problem, Readiness, Tree};
use svkit::order::{read_tree, Action, Config, Event, Graph, Now, Planner};
use svkit::tai64n::Tai64n;

/// xorshift64*: enough randomness for shapes, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn name(i: u64) -> String {
    format!("s{i}")
}

fn random_tree(rng: &mut Rng) -> (Tree, Vec<String>) {
    let n = 1 + rng.below(30);
    let mut tree = Tree::default();
    let mut externals = Vec::new();
    for i in 0..n {
        let me = name(i);
        let mut deps: Vec<String> = Vec::new();
        for _ in 0..rng.below(4) {
            // Mostly earlier names (a DAG), sometimes any (cycles), sometimes
            // names that never appear.
            let d = if rng.chance(70) && i > 0 {
                name(rng.below(i))
            } else if rng.chance(80) {
                name(rng.below(n))
            } else {
                format!("ghost{}", rng.below(3))
            };
            if d != me {
                deps.push(d);
            }
        }
        let deps_ref: Vec<&str> = deps.iter().map(|s| s.as_str()).collect();
        let mut def = match rng.below(10) {
            0..=3 => {
                let readiness = match rng.below(3) {
                    0 => Readiness::Started,
                    1 => Readiness::NotificationFd,
                    _ => Readiness::Check,
                };
                Definition::longrun(&me, readiness, &deps_ref)
            }
            4..=6 => {
                let up = if rng.chance(20) {
                    Script::Empty
                } else {
                    Script::Argv(vec![format!("up-{me}")])
                };
                let down = if rng.chance(50) {
                    Script::Empty
                } else {
                    Script::Argv(vec![format!("down-{me}")])
                };
                Definition::oneshot(&me, up, down, &deps_ref)
            }
            7 => {
                tree.refused.push(Problem {
                    service: me.clone(),
                    why: "refused by the generator".into(),
                });
                continue;
            }
            8 => {
                externals.push(me.clone());
                continue;
            }
            _ => Definition::bundle(&me, &deps_ref),
        };
        if rng.chance(10) {
            def.timeout_up = Some(Duration::from_millis(1 + rng.below(5000)));
        }
        if rng.chance(10) {
            def.timeout_down = Some(Duration::from_millis(1 + rng.below(5000)));
        }
        tree.definitions.push(def);
    }
    (tree, externals)
}

struct Sim {
    base: Instant,
    ms: u64,
}

impl Sim {
    fn now(&self) -> Now {
        Now {
            mono: self.base + Duration::from_millis(self.ms),
            wall: Tai64n::from_unix(1_800_000_000 + self.ms / 1000, 0),
        }
    }
}

/// Runs one random graph through start-up and shutdown, checking the
/// properties at every action.
fn run_one(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let (tree, externals) = random_tree(&mut rng);
    let ext: Vec<&str> = externals.iter().map(|s| s.as_str()).collect();
    let graph = Graph::build(&tree, &ext);
    let targets = if rng.chance(30) {
        Some(vec![name(rng.below(30)), "ghost0".to_string()])
    } else {
        None
    };
    let policy = [Policy::Stop, Policy::Warn, Policy::Ignore][rng.below(3) as usize];
    let config = Config {
        on_failure: policy,
        wait_warning: Duration::from_millis(1 + rng.below(20_000)),
    };
    let mut sim = Sim {
        base: Instant::now(),
        ms: 0,
    };
    let mut p = Planner::new(graph.clone(), targets, config, sim.now());

    let mut up: BTreeSet<String> = BTreeSet::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut started: BTreeSet<String> = BTreeSet::new();
    // What the simulated loop still owes the planner.
    let mut pending: Vec<Event> = Vec::new();
    for e in &externals {
        pending.push(if rng.chance(80) {
            Event::Ready(e.clone())
        } else {
            Event::Exited {
                name: e.clone(),
                outcome: Outcome::Exited(1),
            }
        });
    }
    let mut will_fail: BTreeMap<String, bool> = BTreeMap::new();

    let check_start = |who: &str, up: &BTreeSet<String>, started: &BTreeSet<String>| {
        let node = graph
            .node(who)
            .unwrap_or_else(|| panic!("seed {seed}: started unknown {who}"));
        assert!(node.refused.is_none(), "seed {seed}: started refused {who}");
        assert!(!started.contains(who), "seed {seed}: {who} started twice");
        for d in &node.needs {
            assert!(
                up.contains(d),
                "seed {seed}: {who} started before {d} was up"
            );
        }
    };

    // An empty `up` is up without an action: take it as started when the
    // planner shows it up, checking its needs as for any start.
    let empty_ups: Vec<String> = graph
        .atoms()
        .filter(|n| {
            matches!(
                graph.node(n).map(|x| &x.kind),
                Some(NodeKind::Oneshot {
                    up: Script::Empty,
                    ..
                })
            )
        })
        .map(String::from)
        .collect();
    let mut actions = p.step(Event::Tick, sim.now());
    for _round in 0..10_000 {
        loop {
            let newly: Vec<&String> = empty_ups
                .iter()
                .filter(|n| !up.contains(*n) && matches!(p.view(n), svkit::order::View::Up { .. }))
                .filter(|n| {
                    graph
                        .node(n)
                        .is_some_and(|x| x.needs.iter().all(|d| up.contains(d)))
                })
                .collect();
            if newly.is_empty() {
                break;
            }
            for n in newly {
                check_start(n, &up, &started);
                started.insert(n.clone());
                up.insert(n.clone());
            }
        }
        for n in &empty_ups {
            if matches!(p.view(n), svkit::order::View::Up { .. }) {
                assert!(up.contains(n), "seed {seed}: {n} up before what it needs");
            }
        }
        for a in std::mem::take(&mut actions) {
            match a {
                Action::Start(n) => {
                    check_start(&n, &up, &started);
                    started.insert(n.clone());
                    pending.push(Event::Started(n.clone()));
                }
                Action::RunUp { name: n, .. } => {
                    check_start(&n, &up, &started);
                    started.insert(n.clone());
                    let fail = rng.chance(10);
                    will_fail.insert(n.clone(), fail);
                    pending.push(Event::Exited {
                        name: n,
                        outcome: Outcome::Exited(u8::from(fail)),
                    });
                }
                Action::Kill(n) => {
                    failed.insert(n.clone());
                    pending.retain(|e| !matches!(e, Event::Exited { name, .. } if *name == n));
                }
                Action::Stop(_) | Action::RunDown { .. } | Action::Done => {
                    panic!("seed {seed}: shutdown action before shutdown")
                }
                Action::Warn(_) | Action::Exit(_) => {}
            }
        }
        if pending.is_empty() {
            match p.next_deadline() {
                Some(d) => {
                    sim.ms = (d - sim.base).as_millis() as u64 + 1;
                    actions = p.step(Event::Tick, sim.now());
                    continue;
                }
                None => break,
            }
        }
        let i = rng.below(pending.len() as u64) as usize;
        let ev = pending.swap_remove(i);
        sim.ms += rng.below(50);
        match &ev {
            Event::Started(n) => {
                let ready_on_start = matches!(
                    graph.node(n).map(|x| &x.kind),
                    Some(NodeKind::Longrun {
                        readiness: Readiness::Started
                    })
                );
                if ready_on_start {
                    up.insert(n.clone());
                } else {
                    pending.push(Event::Ready(n.clone()));
                }
            }
            Event::Ready(n) => {
                up.insert(n.clone());
            }
            Event::Exited { name: n, outcome } => {
                if outcome.is_success() {
                    up.insert(n.clone());
                } else {
                    failed.insert(n.clone());
                }
            }
            _ => {}
        }
        actions = p.step(ev, sim.now());
    }

    // Everything that can come up did: a wanted, startable service all of
    // whose needs came up (transitively) and that did not fail.
    for n in graph.atoms() {
        let node = graph.node(n).unwrap_or_else(|| panic!("seed {seed}"));
        let startable = node.refused.is_none()
            && matches!(
                node.kind,
                NodeKind::Longrun { .. } | NodeKind::Oneshot { .. }
            );
        let wanted = !matches!(p.view(n), svkit::order::View::NotWanted);
        if startable && wanted && node.needs.iter().all(|d| up.contains(d)) {
            assert!(
                started.contains(n),
                "seed {seed}: {n} could start but did not: {:?}",
                p.view(n)
            );
        }
    }

    // Shutdown, in reverse order.
    sim.ms += 1000;
    let deadline = sim.base + Duration::from_millis(sim.ms + 1_000_000);
    let mut stopped: BTreeSet<String> = BTreeSet::new();
    let mut actions = p.step(Event::Shutdown { deadline }, sim.now());
    let mut pending: Vec<Event> = Vec::new();
    let mut done = false;
    for _round in 0..10_000 {
        for a in std::mem::take(&mut actions) {
            match a {
                Action::Stop(n) | Action::RunDown { name: n, .. } => {
                    for (other, node) in graph.names().filter_map(|o| graph.node(o).map(|x| (o, x)))
                    {
                        if node.needs.contains(&n)
                            && started.contains(other)
                            && !failed.contains(other)
                        {
                            // An empty `down` ends without an action.
                            let silent =
                                matches!(
                                    graph.node(other).map(|x| &x.kind),
                                    Some(NodeKind::Oneshot {
                                        down: Script::Empty,
                                        ..
                                    })
                                ) && matches!(p.view(other), svkit::order::View::Down { .. });
                            assert!(
                                stopped.contains(other) || silent,
                                "seed {seed}: {n} stopped while {other}, which needs it, is not down"
                            );
                        }
                    }
                    pending.push(
                        if graph
                            .node(&n)
                            .is_some_and(|x| matches!(x.kind, NodeKind::Oneshot { .. }))
                        {
                            Event::Exited {
                                name: n,
                                outcome: Outcome::Exited(0),
                            }
                        } else {
                            Event::Down(n)
                        },
                    );
                }
                Action::Kill(n) => {
                    stopped.insert(n);
                }
                Action::Done => {
                    assert!(!done, "seed {seed}: Done twice");
                    done = true;
                }
                Action::Start(n) | Action::RunUp { name: n, .. } => {
                    panic!("seed {seed}: {n} started during shutdown")
                }
                Action::Warn(_) | Action::Exit(_) => {}
            }
        }
        if pending.is_empty() {
            match p.next_deadline() {
                Some(d) if !done => {
                    sim.ms = (d - sim.base).as_millis() as u64 + 1;
                    actions = p.step(Event::Tick, sim.now());
                    continue;
                }
                _ => break,
            }
        }
        let i = rng.below(pending.len() as u64) as usize;
        let ev = pending.swap_remove(i);
        match &ev {
            Event::Down(n) | Event::Exited { name: n, .. } => {
                stopped.insert(n.clone());
            }
            _ => {}
        }
        sim.ms += rng.below(50);
        actions = p.step(ev, sim.now());
    }
    assert!(done, "seed {seed}: shutdown never finished");
}

#[test]
fn random_graphs_respect_order_and_finish() {
    for seed in 0..800 {
        run_one(seed);
    }
}

/// Random bytes in every file s6-rc reads: reading, validating and one
/// planner step never panic, and every refusal is one line.
#[test]
fn random_source_trees_never_panic() {
    let t = TempDir::new("order-fuzz");
    let pieces = [
        "longrun\n",
        "oneshot\n",
        "bundle\n",
        "",
        "\n",
        "longrun",
        "daemon\n",
        "0\n",
        "100\n",
        "-1\n",
        "99999999999\n",
        "a\nb\n",
        "# c\n  d\n",
        "\"unterminated",
        "{ x }",
        "a | b",
        "s6rc-x\n",
        "\u{0}\u{1}\u{ff}",
        "x\\y",
        "\"a\\qb\"",
    ];
    let files = [
        "type",
        "up",
        "down",
        "timeout-up",
        "timeout-down",
        "dependencies",
        "contents",
        "producer-for",
        "consumer-for",
        "pipeline-name",
        "notification-fd",
        "run",
    ];
    for seed in 0..200u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let root = t.join(format!("tree{seed}"));
        let n = 1 + rng.below(8);
        for i in 0..n {
            let dir = root.join(name(i));
            std::fs::create_dir_all(&dir).unwrap();
            for f in files {
                if rng.chance(40) {
                    let body = pieces[rng.below(pieces.len() as u64) as usize];
                    if rng.chance(30) {
                        write_script(dir.join(f), body);
                    } else {
                        std::fs::write(dir.join(f), body).unwrap();
                    }
                }
            }
            for sub in ["dependencies.d", "contents.d"] {
                if rng.chance(40) {
                    std::fs::create_dir_all(dir.join(sub)).unwrap();
                    for _ in 0..rng.below(3) {
                        let target = name(rng.below(n + 2));
                        std::fs::write(dir.join(sub).join(target), "").unwrap();
                    }
                }
            }
        }
        let el = if rng.chance(50) {
            Some(std::path::Path::new("/usr/bin/execlineb"))
        } else {
            None
        };
        let tree = read_tree(&root, el).unwrap();
        for p in tree.refused.iter().chain(&tree.warnings) {
            assert!(
                !p.to_string().contains('\n') || p.why.contains("name"),
                "seed {seed}: {p}"
            );
        }
        let g = Graph::build(&tree, &[]);
        let now = Now {
            mono: Instant::now(),
            wall: Tai64n::from_unix(1_800_000_000, 0),
        };
        let mut p = Planner::new(g, None, Config::default(), now);
        p.step(Event::Tick, now);
        p.step(
            Event::Shutdown {
                deadline: now.mono + Duration::from_secs(1),
            },
            now,
        );
    }
}

/// Figures for the report, not a check: a 1000-service tree (each
/// service needing up to three earlier ones, a third of them oneshots)
/// read from disk, validated, started to the end and shut down, with
/// every completion fed back one event at a time.
/// `cargo test --test order_props -- --ignored --nocapture`
#[test]
#[ignore]
fn figures_for_a_thousand_services() {
    let t = TempDir::new("order-big");
    let root = t.join("tree");
    let n = 1000u64;
    let mut rng = Rng(42);
    for i in 0..n {
        let dir = root.join(name(i));
        std::fs::create_dir_all(dir.join("dependencies.d")).unwrap();
        if i % 3 == 0 {
            std::fs::write(dir.join("type"), "oneshot\n").unwrap();
            std::fs::write(dir.join("up"), format!("/bin/true {i}\n")).unwrap();
        } else {
            write_script(dir.join("run"), "#!/bin/sh\nexec sleep 1000\n");
        }
        for _ in 0..rng.below(4) {
            if i > 0 {
                std::fs::write(dir.join("dependencies.d").join(name(rng.below(i))), "").unwrap();
            }
        }
    }
    let t0 = Instant::now();
    let tree = read_tree(&root, None).unwrap();
    let t1 = Instant::now();
    let g = Graph::build(&tree, &[]);
    let t2 = Instant::now();
    assert!(g.problems.is_empty());
    let now = Now {
        mono: Instant::now(),
        wall: Tai64n::from_unix(1_800_000_000, 0),
    };
    let mut p = Planner::new(g, None, Config::default(), now);
    let mut queue: Vec<Event> = Vec::new();
    let mut steps = 0u32;
    let feed = |acts: Vec<Action>, queue: &mut Vec<Event>| {
        for a in acts {
            match a {
                Action::Start(n) => queue.push(Event::Started(n)),
                Action::RunUp { name, .. } => queue.push(Event::Exited {
                    name,
                    outcome: Outcome::Exited(0),
                }),
                Action::Stop(n) => queue.push(Event::Down(n)),
                Action::RunDown { name, .. } => queue.push(Event::Exited {
                    name,
                    outcome: Outcome::Exited(0),
                }),
                _ => {}
            }
        }
    };
    let t3 = Instant::now();
    feed(p.step(Event::Tick, now), &mut queue);
    while let Some(e) = queue.pop() {
        steps += 1;
        feed(p.step(e, now), &mut queue);
    }
    let t4 = Instant::now();
    feed(
        p.step(
            Event::Shutdown {
                deadline: now.mono + Duration::from_secs(3600),
            },
            now,
        ),
        &mut queue,
    );
    while let Some(e) = queue.pop() {
        steps += 1;
        feed(p.step(e, now), &mut queue);
    }
    let t5 = Instant::now();
    eprintln!(
        "order figures: {n} services: read {:?}, validate {:?}, start-up {:?}, shutdown {:?} ({steps} events, {:?} per event)",
        t1 - t0,
        t2 - t1,
        t4 - t3,
        t5 - t4,
        (t5 - t3) / steps.max(1)
    );
}
