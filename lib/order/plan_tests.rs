//! The planner, event by event, with synthetic time and no process.

use super::graph::Graph;
use super::plan::*;
use super::script::Script;
use super::source::{Definition, Readiness, Tree};
use crate::container::scripts::{Outcome, Policy};
use crate::tai64n::Tai64n;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn t(ms: u64) -> Now {
    Now {
        mono: base() + Duration::from_millis(ms),
        wall: Tai64n::from_unix(1_800_000_000 + ms / 1000, ((ms % 1000) * 1_000_000) as u32),
    }
}

fn cmd(w: &str) -> Script {
    Script::Argv(w.split(' ').map(String::from).collect())
}

fn oneshot(name: &str, deps: &[&str]) -> Definition {
    Definition::oneshot(
        name,
        cmd(&format!("up-{name}")),
        cmd(&format!("down-{name}")),
        deps,
    )
}

fn longrun(name: &str, deps: &[&str]) -> Definition {
    Definition::longrun(name, Readiness::Started, deps)
}

fn notified(name: &str, deps: &[&str]) -> Definition {
    Definition::longrun(name, Readiness::NotificationFd, deps)
}

fn graph(defs: Vec<Definition>) -> Graph {
    Graph::build(
        &Tree {
            definitions: defs,
            ..Tree::default()
        },
        &[],
    )
}

fn planner(defs: Vec<Definition>, policy: Policy) -> Planner {
    let config = Config {
        on_failure: policy,
        ..Config::default()
    };
    Planner::new(graph(defs), None, config, t(0))
}

fn start(n: &str) -> Action {
    Action::Start(n.to_string())
}
fn stop(n: &str) -> Action {
    Action::Stop(n.to_string())
}
fn up(n: &str) -> Action {
    Action::RunUp {
        name: n.to_string(),
        script: cmd(&format!("up-{n}")),
        deadline: None,
    }
}
fn down(n: &str) -> Action {
    Action::RunDown {
        name: n.to_string(),
        script: cmd(&format!("down-{n}")),
        deadline: Some(t(100_000).mono),
    }
}
fn ok(n: &str) -> Event {
    Event::Exited {
        name: n.to_string(),
        outcome: Outcome::Exited(0),
    }
}
fn exited(n: &str, code: u8) -> Event {
    Event::Exited {
        name: n.to_string(),
        outcome: Outcome::Exited(code),
    }
}
fn ev_started(n: &str) -> Event {
    Event::Started(n.to_string())
}
fn ev_ready(n: &str) -> Event {
    Event::Ready(n.to_string())
}
fn ev_down(n: &str) -> Event {
    Event::Down(n.to_string())
}
fn warns(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Warn(w) => Some(w.clone()),
            _ => None,
        })
        .collect()
}

/// The chain: four oneshots and two longruns, one of them
/// ready 500 ms after its start through its notification-fd; plus an
/// independent service that starts at once.
fn chain() -> Vec<Definition> {
    vec![
        oneshot("o1-prepare", &[]),
        oneshot("o2-config", &["o1-prepare"]),
        notified("db", &["o2-config"]),
        oneshot("o3-migrate", &["db"]),
        oneshot("o4-seed", &["o3-migrate"]),
        longrun("app", &["o4-seed", "db"]),
        longrun("independent", &[]),
    ]
}

#[test]
fn chain_starts_in_dependency_order_and_independents_at_once() {
    let mut p = planner(chain(), Policy::Stop);
    assert_eq!(
        p.step(Event::Tick, t(0)),
        [start("independent"), up("o1-prepare")]
    );
    assert_eq!(p.step(ev_started("independent"), t(1)), []);
    assert_eq!(p.view("independent"), View::Up { since: t(1).wall });
    assert_eq!(
        p.view("app"),
        View::Waiting {
            waiting_for: vec!["db".into(), "o4-seed".into()]
        }
    );
    assert_eq!(p.step(ok("o1-prepare"), t(10)), [up("o2-config")]);
    assert_eq!(p.step(ok("o2-config"), t(20)), [start("db")]);
    // Started is not ready for a service with a notification-fd.
    assert_eq!(p.step(ev_started("db"), t(21)), []);
    assert_eq!(p.view("db"), View::Starting { since: t(20).wall });
    assert_eq!(p.step(ev_ready("db"), t(521)), [up("o3-migrate")]);
    assert_eq!(p.step(ok("o3-migrate"), t(600)), [up("o4-seed")]);
    assert_eq!(p.step(ok("o4-seed"), t(610)), [start("app")]);
    assert_eq!(p.step(ev_started("app"), t(611)), []);
    assert_eq!(p.view("o4-seed"), View::Up { since: t(610).wall });
    assert_eq!(p.next_deadline(), None);
}

#[test]
fn parallel_branches_start_together() {
    let defs = vec![
        oneshot("root", &[]),
        longrun("a", &["root"]),
        longrun("b", &["root"]),
        oneshot("c", &["root"]),
        longrun("join", &["a", "b", "c"]),
    ];
    let mut p = planner(defs, Policy::Stop);
    assert_eq!(p.step(Event::Tick, t(0)), [up("root")]);
    assert_eq!(p.step(ok("root"), t(5)), [start("a"), start("b"), up("c")]);
    assert_eq!(p.step(ev_started("a"), t(6)), []);
    assert_eq!(p.step(ok("c"), t(7)), []);
    assert_eq!(
        p.view("join"),
        View::Waiting {
            waiting_for: vec!["b".into()]
        }
    );
    assert_eq!(p.step(ev_started("b"), t(8)), [start("join")]);
}

#[test]
fn a_slow_service_never_delays_an_unrelated_one() {
    let defs = vec![
        notified("slow", &[]),
        longrun("after-slow", &["slow"]),
        oneshot("quick", &[]),
        longrun("after-quick", &["quick"]),
    ];
    let mut p = planner(defs, Policy::Stop);
    assert_eq!(p.step(Event::Tick, t(0)), [up("quick"), start("slow")]);
    assert_eq!(p.step(ok("quick"), t(3)), [start("after-quick")]);
    assert_eq!(p.step(ev_ready("slow"), t(9000)), [start("after-slow")]);
}

#[test]
fn a_failing_oneshot_stops_the_container_with_its_code_and_blocks_dependents() {
    let mut p = planner(chain(), Policy::Stop);
    p.step(Event::Tick, t(0));
    let a = p.step(exited("o1-prepare", 3), t(10));
    assert!(a.contains(&Action::Exit(3)), "{a:?}");
    assert!(!a
        .iter()
        .any(|x| matches!(x, Action::Start(_) | Action::RunUp { .. })));
    assert_eq!(warns(&a)[0], "o1-prepare: up exited 3");
    assert_eq!(
        p.view("o1-prepare"),
        View::Failed {
            outcome: Outcome::Exited(3),
            at: t(10).wall
        }
    );
    assert_eq!(
        p.view("o2-config"),
        View::Blocked {
            by: vec!["o1-prepare".into()]
        }
    );
    // Transitively: app is blocked through o4-seed and db.
    assert!(matches!(p.view("app"), View::Blocked { .. }));
    // Exit only once, even if more fails.
    let a = p.step(
        Event::Exited {
            name: "o1-prepare".into(),
            outcome: Outcome::Exited(0),
        },
        t(11),
    );
    assert!(!a.contains(&Action::Exit(3)));
}

#[test]
fn a_killed_oneshot_stands_for_111() {
    let mut p = planner(vec![oneshot("x", &[])], Policy::Stop);
    p.step(Event::Tick, t(0));
    let a = p.step(
        Event::Exited {
            name: "x".into(),
            outcome: Outcome::Signaled(9),
        },
        t(1),
    );
    assert!(a.contains(&Action::Exit(111)), "{a:?}");
}

#[test]
fn warn_policy_warns_and_goes_on_with_the_rest() {
    let defs = vec![
        oneshot("bad", &[]),
        longrun("needs-bad", &["bad"]),
        longrun("other", &[]),
    ];
    let mut p = planner(defs, Policy::Warn);
    assert_eq!(p.step(Event::Tick, t(0)), [up("bad"), start("other")]);
    let a = p.step(exited("bad", 1), t(5));
    assert_eq!(
        warns(&a),
        [
            "bad: up exited 1",
            "needs-bad: not started: needs bad, which cannot come up"
        ]
    );
    assert!(!a.iter().any(|x| matches!(x, Action::Exit(_))));
    // Reported once.
    assert!(warns(&p.step(Event::Tick, t(6))).is_empty());
}

#[test]
fn ignore_policy_is_silent_but_still_blocks() {
    let defs = vec![oneshot("bad", &[]), longrun("needs-bad", &["bad"])];
    let mut p = planner(defs, Policy::Ignore);
    p.step(Event::Tick, t(0));
    assert_eq!(p.step(exited("bad", 1), t(5)), []);
    assert_eq!(
        p.view("needs-bad"),
        View::Blocked {
            by: vec!["bad".into()]
        }
    );
}

#[test]
fn oneshot_timeout_up_kills_and_fails() {
    let mut slow = oneshot("slow", &[]);
    slow.timeout_up = Some(Duration::from_millis(200));
    let mut p = planner(vec![slow, longrun("after", &["slow"])], Policy::Stop);
    assert_eq!(
        p.step(Event::Tick, t(0)),
        [Action::RunUp {
            name: "slow".into(),
            script: cmd("up-slow"),
            deadline: Some(t(200).mono)
        }]
    );
    assert_eq!(p.next_deadline(), Some(t(200).mono));
    assert_eq!(p.step(Event::Tick, t(199)), []);
    let a = p.step(Event::Tick, t(200));
    assert_eq!(a[0], Action::Kill("slow".into()));
    assert!(a.contains(&Action::Exit(111)));
    // Its exit after the kill is ignored.
    assert_eq!(p.step(exited("slow", 0), t(201)), []);
    assert!(matches!(
        p.view("slow"),
        View::Failed {
            outcome: Outcome::TimedOut,
            ..
        }
    ));
}

#[test]
fn waiting_on_a_longrun_that_is_never_ready_warns_once_and_keeps_waiting() {
    let mut p = planner(
        vec![notified("db", &[]), longrun("app", &["db"])],
        Policy::Stop,
    );
    assert_eq!(p.step(Event::Tick, t(0)), [start("db")]);
    assert_eq!(p.next_deadline(), Some(t(10_000).mono));
    assert_eq!(p.step(Event::Tick, t(9_999)), []);
    assert_eq!(
        warns(&p.step(Event::Tick, t(10_000))),
        ["app: still waiting for db after 10000 ms"]
    );
    assert_eq!(p.next_deadline(), None);
    assert!(p.step(Event::Tick, t(20_000)).is_empty());
    // A late readiness still starts it.
    assert_eq!(p.step(ev_ready("db"), t(60_000)), [start("app")]);
}

#[test]
fn longrun_timeout_up_is_a_failure_as_in_s6_rc() {
    let mut db = notified("db", &[]);
    db.timeout_up = Some(Duration::from_secs(2));
    let mut p = planner(vec![db, longrun("app", &["db"])], Policy::Warn);
    p.step(Event::Tick, t(0));
    let a = p.step(Event::Tick, t(2000));
    assert_eq!(
        warns(&a),
        [
            "db: not ready within timeout-up",
            "app: not started: needs db, which cannot come up"
        ]
    );
    // No kill: supervise keeps it running; a late readiness recovers it.
    assert!(!a.contains(&Action::Kill("db".into())));
    assert_eq!(p.step(ev_ready("db"), t(3000)), [start("app")]);
}

#[test]
fn a_cycle_is_refused_with_its_path_and_the_rest_runs() {
    let defs = vec![
        longrun("a", &["b"]),
        longrun("b", &["c"]),
        longrun("c", &["a"]),
        longrun("needs-a", &["a"]),
        longrun("free", &[]),
    ];
    let g = graph(defs.clone());
    let lines: Vec<String> = g.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(lines, ["a: dependency cycle: a -> b -> c -> a"]);
    let mut p = planner(defs, Policy::Stop);
    let a = p.step(Event::Tick, t(0));
    assert_eq!(
        a,
        [
            start("free"),
            Action::Warn("needs-a: not started: needs a, which cannot come up".into())
        ]
    );
    assert!(matches!(p.view("b"), View::Refused(w) if w.contains("a -> b -> c -> a")));
}

#[test]
fn self_dependency_through_a_bundle_is_a_cycle() {
    let defs = vec![
        longrun("a", &["grp"]),
        Definition::bundle("grp", &["a", "b"]),
        longrun("b", &[]),
    ];
    let g = graph(defs.clone());
    assert!(g.problems.is_empty(), "{:?}", g.problems);
    // a's need on its own bundle is dropped (it is a member), b is kept.
    assert_eq!(
        g.node("a").map(|n| n.needs.clone()),
        Some(vec!["b".to_string()])
    );
}

#[test]
fn bundle_containing_itself_is_refused_and_blocks_its_dependents() {
    let defs = vec![
        Definition::bundle("x", &["y", "s"]),
        Definition::bundle("y", &["x"]),
        longrun("s", &[]),
        longrun("needs-x", &["x"]),
    ];
    let g = graph(defs.clone());
    let lines: Vec<String> = g.problems.iter().map(|p| p.to_string()).collect();
    assert!(
        lines.contains(&"x: bundle contains itself: x -> y -> x".to_string()),
        "{lines:?}"
    );
    let mut p = planner(defs, Policy::Stop);
    let a = p.step(Event::Tick, t(0));
    assert!(a.contains(&start("s")));
    assert!(!a.contains(&start("needs-x")));
    assert!(matches!(p.view("needs-x"), View::Blocked { .. }));
}

#[test]
fn depending_on_a_bundle_waits_for_all_its_members_and_members_expand() {
    let defs = vec![
        Definition::bundle("backend", &["db", "cache"]),
        notified("db", &[]),
        notified("cache", &[]),
        longrun("web", &["backend"]),
    ];
    let mut p = planner(defs, Policy::Stop);
    assert_eq!(p.graph().members("backend"), ["cache", "db"]);
    assert_eq!(p.graph().members("web"), ["web"]);
    assert_eq!(p.step(Event::Tick, t(0)), [start("cache"), start("db")]);
    assert_eq!(p.step(ev_ready("db"), t(1)), []);
    assert_eq!(p.step(ev_ready("cache"), t(2)), [start("web")]);
}

#[test]
fn targets_limit_what_starts() {
    let defs = vec![
        Definition::bundle("user", &["app"]),
        longrun("app", &["db"]),
        longrun("db", &[]),
        longrun("unrelated", &[]),
    ];
    let mut p = Planner::new(
        graph(defs),
        Some(vec!["user".into()]),
        Config::default(),
        t(0),
    );
    assert_eq!(p.step(Event::Tick, t(0)), [start("db")]);
    assert_eq!(p.view("unrelated"), View::NotWanted);
}

#[test]
fn a_service_added_later_waits_for_a_dependency_that_appears_later() {
    let mut p = planner(vec![longrun("first", &[])], Policy::Stop);
    assert_eq!(p.step(Event::Tick, t(0)), [start("first")]);
    // The scan finds "app", which needs "late", not defined yet.
    let g = graph(vec![longrun("first", &[]), longrun("app", &["late"])]);
    assert_eq!(
        g.problems[0].to_string(),
        "app: needs late, not defined (waiting for it to appear)"
    );
    assert_eq!(p.replace_graph(g, t(100)), []);
    assert_eq!(
        p.view("app"),
        View::Waiting {
            waiting_for: vec!["late".into()]
        }
    );
    // Then "late" appears.
    let g = graph(vec![
        longrun("first", &[]),
        longrun("app", &["late"]),
        notified("late", &[]),
    ]);
    assert_eq!(p.replace_graph(g, t(200)), [start("late")]);
    assert_eq!(p.step(ev_ready("late"), t(300)), [start("app")]);
    // "first" kept its state across both replacements.
    assert_eq!(p.view("first"), View::Starting { since: t(0).wall });
}

#[test]
fn empty_oneshots_are_up_at_once_and_chain_in_one_step() {
    let defs = vec![
        Definition::oneshot("e1", Script::Empty, Script::Empty, &[]),
        Definition::oneshot("e2", Script::Empty, Script::Empty, &["e1"]),
        longrun("svc", &["e2"]),
    ];
    let mut p = planner(defs, Policy::Stop);
    assert_eq!(p.step(Event::Tick, t(0)), [start("svc")]);
}

#[test]
fn external_names_are_waited_for_and_never_started() {
    let g = Graph::build(
        &Tree {
            definitions: vec![longrun("app", &["legacy-cont-init"])],
            ..Tree::default()
        },
        &["legacy-cont-init"],
    );
    let mut p = Planner::new(g, None, Config::default(), t(0));
    assert_eq!(p.step(Event::Tick, t(0)), []);
    assert_eq!(p.step(ok("legacy-cont-init"), t(50)), [start("app")]);
}

fn started_chain() -> Planner {
    let mut p = planner(chain(), Policy::Stop);
    p.step(Event::Tick, t(0));
    for e in [
        ev_started("independent"),
        ok("o1-prepare"),
        ok("o2-config"),
        ev_started("db"),
        ev_ready("db"),
        ok("o3-migrate"),
        ok("o4-seed"),
        ev_started("app"),
    ] {
        p.step(e, t(1));
    }
    p
}

#[test]
fn shutdown_runs_in_reverse_order() {
    let mut p = started_chain();
    let deadline = t(100_000).mono;
    // Dependents first: app and the independent one at once.
    assert_eq!(
        p.step(Event::Shutdown { deadline }, t(1000)),
        [stop("app"), stop("independent")]
    );
    assert_eq!(p.step(ev_down("independent"), t(1001)), []);
    assert_eq!(p.step(ev_down("app"), t(1002)), [down("o4-seed")]);
    assert_eq!(p.step(ok("o4-seed"), t(1003)), [down("o3-migrate")]);
    assert_eq!(p.step(ok("o3-migrate"), t(1004)), [stop("db")]);
    assert_eq!(p.step(ev_down("db"), t(1005)), [down("o2-config")]);
    assert_eq!(p.step(ok("o2-config"), t(1006)), [down("o1-prepare")]);
    assert_eq!(
        p.step(exited("o1-prepare", 4), t(1007)),
        [
            Action::Warn("o1-prepare: down exited 4".into()),
            Action::Done
        ]
    );
    assert_eq!(
        p.view("db"),
        View::Down {
            since: t(1005).wall
        }
    );
    assert_eq!(p.step(Event::Tick, t(1008)), []);
}

#[test]
fn shutdown_deadline_kills_what_is_left_and_skips_downs() {
    let mut p = started_chain();
    let deadline = t(5000).mono;
    p.step(Event::Shutdown { deadline }, t(1000));
    p.step(ev_down("independent"), t(1001));
    assert_eq!(p.next_deadline(), Some(deadline));
    let a = p.step(Event::Tick, t(5000));
    assert_eq!(a[0], Action::Kill("app".into()));
    assert!(a.contains(&Action::Kill("db".into())));
    assert!(a.contains(&Action::Warn(
        "o1-prepare: down not run: shutdown deadline passed".into()
    )));
    assert_eq!(a.last(), Some(&Action::Done));
    assert_eq!(p.next_deadline(), None);
}

#[test]
fn shutdown_while_starting_cancels_running_ups_and_forgets_waiting_ones() {
    let mut p = planner(chain(), Policy::Stop);
    p.step(Event::Tick, t(0));
    let a = p.step(
        Event::Shutdown {
            deadline: t(9000).mono,
        },
        t(5),
    );
    // o1's up is killed; independent was started, so it is stopped.
    assert_eq!(a, [Action::Kill("o1-prepare".into()), stop("independent")]);
    assert_eq!(p.step(ev_down("independent"), t(6)), [Action::Done]);
    assert_eq!(p.view("app"), View::Down { since: t(5).wall });
}

#[test]
fn timeout_down_kills_one_service_and_shutdown_goes_on() {
    let mut a = longrun("a", &[]);
    a.timeout_down = Some(Duration::from_millis(300));
    let mut p = planner(vec![a, longrun("b", &["a"])], Policy::Stop);
    p.step(Event::Tick, t(0));
    p.step(ev_started("a"), t(1));
    p.step(ev_started("b"), t(2));
    assert_eq!(
        p.step(
            Event::Shutdown {
                deadline: t(10_000).mono
            },
            t(100)
        ),
        [stop("b")]
    );
    assert_eq!(p.step(ev_down("b"), t(200)), [stop("a")]);
    assert_eq!(p.next_deadline(), Some(t(500).mono));
    let acts = p.step(Event::Tick, t(500));
    assert_eq!(acts[0], Action::Kill("a".into()));
    assert_eq!(acts.last(), Some(&Action::Done));
}

#[test]
fn a_result_for_a_oneshot_that_was_not_run_is_ignored() {
    let mut p = planner(vec![oneshot("a", &[]), oneshot("b", &["a"])], Policy::Stop);
    assert_eq!(p.step(Event::Tick, t(0)), [up("a")]);
    // b's up was never run: a stray result for it changes nothing.
    assert_eq!(p.step(ok("b"), t(1)), []);
    assert_eq!(
        p.view("b"),
        View::Waiting {
            waiting_for: vec!["a".into()]
        }
    );
    assert_eq!(p.step(ok("a"), t(2)), [up("b")]);
}
