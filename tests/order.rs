//! Start order against real source trees on disk: the fixtures under
//! tests/order_fixtures/ (a database/migration/app tree, an s6-overlay v3
//! image, s6-rc's older list files and pipelines, and what must be
//! refused), the up/down script rules with real files and real
//! processes, and the planner driven over the trees read.

mod common;

use common::{require, write_script, Need, TempDir};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use svkit::container::scripts::Outcome;
use svkit::order::graph::NodeKind;
use svkit::order::script::{self, Script, ScriptError};
use svkit::order::source::{read_definition, Kind, Readiness};
use svkit::order::{overlay, read_tree, Action, Config, Event, Graph, Now, Planner, View};
use svkit::tai64n::Tai64n;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/order_fixtures")
        .join(name)
}

fn at(base: Instant, ms: u64) -> Now {
    Now {
        mono: base + Duration::from_millis(ms),
        wall: Tai64n::from_unix(1_800_000_000 + ms / 1000, 0),
    }
}

fn lines(g: &Graph) -> Vec<String> {
    let mut v: Vec<String> = g.problems.iter().map(|p| p.to_string()).collect();
    v.sort();
    v
}

fn starts(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Start(n) => Some(n.clone()),
            Action::RunUp { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn basic_tree_reads_as_written() {
    let root = fixture("basic");
    let tree = read_tree(&root, None).unwrap();
    assert!(tree.refused.is_empty(), "{:?}", tree.refused);
    let names: Vec<&str> = tree.definitions.iter().map(|d| d.name.as_str()).collect();
    // Dot-directories and plain files are not definitions.
    assert_eq!(names, ["app", "database", "migrate", "plain", "stack"]);
    let def = |n: &str| tree.definitions.iter().find(|d| d.name == n).unwrap();
    assert_eq!(
        def("database").kind,
        Kind::Longrun {
            readiness: Readiness::NotificationFd
        }
    );
    assert_eq!(
        def("app").kind,
        Kind::Longrun {
            readiness: Readiness::Check
        }
    );
    assert!(def("app").essential);
    // A plain runit directory: a longrun that is up once started.
    assert_eq!(
        def("plain").kind,
        Kind::Longrun {
            readiness: Readiness::Started
        }
    );
    assert!(def("plain").dependencies.is_empty());
    assert_eq!(def("migrate").timeout_up, Some(Duration::from_secs(60)));
    assert_eq!(
        def("migrate").kind,
        Kind::Oneshot {
            up: Script::Argv(vec![
                "/usr/local/bin/migrate".into(),
                "--to".into(),
                "latest".into()
            ]),
            down: Script::Empty
        }
    );
    assert_eq!(
        def("stack").kind,
        Kind::Bundle {
            contents: vec!["app".into(), "database".into()]
        }
    );
}

#[test]
fn basic_tree_starts_database_then_migration_then_app() {
    let base = Instant::now();
    let tree = read_tree(&fixture("basic"), None).unwrap();
    let g = Graph::build(&tree, &[]);
    assert!(g.problems.is_empty(), "{:?}", g.problems);
    assert_eq!(g.members("stack"), ["app", "database"]);
    let mut p = Planner::new(g, None, Config::default(), at(base, 0));
    assert_eq!(
        starts(&p.step(Event::Tick, at(base, 0))),
        ["database", "plain"]
    );
    assert_eq!(
        p.view("app"),
        View::Waiting {
            waiting_for: vec!["migrate".into()]
        }
    );
    p.step(Event::Started("database".into()), at(base, 1));
    let a = p.step(Event::Ready("database".into()), at(base, 500));
    assert_eq!(
        a,
        [Action::RunUp {
            name: "migrate".into(),
            script: Script::Argv(vec![
                "/usr/local/bin/migrate".into(),
                "--to".into(),
                "latest".into()
            ]),
            deadline: Some(base + Duration::from_millis(500 + 60_000)),
        }]
    );
    let a = p.step(
        Event::Exited {
            name: "migrate".into(),
            outcome: Outcome::Exited(0),
        },
        at(base, 900),
    );
    assert_eq!(starts(&a), ["app"]);
}

#[test]
fn refused_definitions_are_one_line_each_and_the_rest_runs() {
    let base = Instant::now();
    let root = fixture("broken");
    let tree = read_tree(&root, None).unwrap();
    let g = Graph::build(&tree, &[]);
    let r = root.display();
    assert_eq!(
        lines(&g),
        [
            format!("bad-timeout: {r}/bad-timeout/timeout-up: invalid timeout \"5s\": want milliseconds (0 for none)"),
            format!("complex-up: {r}/complex-up/up: shell operator \";\": not one command line (make the file executable with a #! line)"),
            "cycle-a: dependency cycle: cycle-a -> cycle-b -> cycle-a".to_string(),
            format!("no-run: {r}/no-run/run: No such file or directory (os error 2)"),
            format!("no-up: {r}/no-up/up: missing (a oneshot needs one)"),
            "s6rc-reserved: invalid name \"s6rc-reserved\": the prefix s6rc- is reserved".to_string(),
            "waits: needs not-yet, not defined (waiting for it to appear)".to_string(),
            format!("weird-type: {r}/weird-type/type: unknown type \"daemon\" (want longrun, oneshot or bundle)"),
        ]
    );
    let mut p = Planner::new(g, None, Config::default(), at(base, 0));
    let a = p.step(Event::Tick, at(base, 0));
    assert_eq!(starts(&a), ["fine"]);
    let warned: Vec<String> = a
        .iter()
        .filter_map(|x| match x {
            Action::Warn(w) => Some(w.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        warned,
        [
            "after-cycle: not started: needs cycle-a, which cannot come up",
            "after-weird: not started: needs weird-type, which cannot come up",
        ]
    );
    assert_eq!(
        p.view("waits"),
        View::Waiting {
            waiting_for: vec!["not-yet".into()]
        }
    );
    assert!(matches!(p.view("weird-type"), View::Refused(_)));
    // Nothing hangs: nothing is left to wait for but the missing name,
    // whose one warning comes at the documented time.
    assert_eq!(p.next_deadline(), Some(base + Duration::from_secs(10)));
}

#[test]
fn old_list_files_and_pipelines() {
    let tree = read_tree(&fixture("lists"), None).unwrap();
    assert!(tree.refused.is_empty(), "{:?}", tree.refused);
    let g = Graph::build(&tree, &[]);
    assert!(g.problems.is_empty(), "{:?}", g.problems);
    // The producer needs its consumer (s6-rc-compile's order) and what its
    // old `dependencies` file lists.
    assert_eq!(g.node("daemon").unwrap().needs, ["logger", "setup"]);
    // pipeline-name on the last consumer makes a bundle of the pipeline,
    // usable inside another bundle's old `contents` file.
    assert_eq!(g.members("daemon-pipeline"), ["daemon", "logger"]);
    assert_eq!(g.members("all"), ["daemon", "logger", "setup"]);
    match &g.node("setup").unwrap().kind {
        NodeKind::Oneshot { up, down } => {
            assert_eq!(
                *up,
                Script::Argv(vec!["mkdir".into(), "-p".into(), "/run/my dir".into()])
            );
            assert_eq!(*down, Script::Empty);
        }
        k => panic!("{k:?}"),
    }
}

#[test]
fn s6_overlay_tree_starts_the_user_bundle_in_order() {
    let base = Instant::now();
    let root = fixture("s6-overlay");
    let tree = overlay::read(&root, None).unwrap();
    let g = overlay::graph(&tree);
    assert!(g.problems.is_empty(), "{:?}", g.problems);
    // user2 was not in the image: an empty one is added.
    assert_eq!(g.members("user2"), Vec::<String>::new());
    let mut p = Planner::new(g, Some(overlay::targets()), Config::default(), at(base, 0));
    // cron is defined but in no bundle s6-overlay starts.
    assert_eq!(p.view("cron"), View::NotWanted);
    assert_eq!(
        starts(&p.step(Event::Tick, at(base, 0))),
        Vec::<String>::new()
    );
    // svscan reports s6-overlay's own early names at once...
    let mut a = Vec::new();
    for n in overlay::READY_AT_ONCE {
        a.extend(p.step(Event::Ready(n.into()), at(base, 1)));
    }
    assert_eq!(starts(&a), ["init-app"]);
    match &a[0] {
        Action::RunUp { script, .. } => {
            assert_eq!(
                *script,
                Script::Argv(vec!["/etc/s6-overlay/scripts/init-app".into()])
            )
        }
        x => panic!("{x:?}"),
    }
    let a = p.step(
        Event::Exited {
            name: "init-app".into(),
            outcome: Outcome::Exited(0),
        },
        at(base, 10),
    );
    // ...php-fpm also waits for the cont-init.d scripts.
    assert_eq!(starts(&a), Vec::<String>::new());
    assert_eq!(
        p.view("php-fpm"),
        View::Waiting {
            waiting_for: vec!["legacy-cont-init".into()]
        }
    );
    let a = p.step(
        Event::Exited {
            name: overlay::LEGACY_CONT_INIT.into(),
            outcome: Outcome::Exited(0),
        },
        at(base, 20),
    );
    assert_eq!(starts(&a), ["php-fpm"]);
    p.step(Event::Started("php-fpm".into()), at(base, 21));
    assert_eq!(
        starts(&p.step(Event::Ready("php-fpm".into()), at(base, 300))),
        ["nginx"]
    );
    // Shutdown: nginx first, then php-fpm, then init-app's (empty) down.
    let a = p.step(
        Event::Shutdown {
            deadline: base + Duration::from_secs(10),
        },
        at(base, 1000),
    );
    assert_eq!(a, [Action::Stop("nginx".into())]);
    assert_eq!(
        p.step(Event::Down("nginx".into()), at(base, 1001)),
        [Action::Stop("php-fpm".into())]
    );
    assert_eq!(
        p.step(Event::Down("php-fpm".into()), at(base, 1002)),
        [Action::Done]
    );
}

#[test]
fn with_contenv_scripts_are_run_as_their_own_interpreter() {
    let root = fixture("s6-overlay");
    let run = root.join("etc/s6-overlay/s6-rc.d/nginx/run");
    let first = std::fs::read_to_string(&run).unwrap();
    assert!(first.starts_with("#!/command/with-contenv sh"));
    // An executable `up` target is run directly, its #! decides.
    let up = root.join("etc/s6-overlay/scripts/init-app");
    assert_eq!(script::resolve(&up, None).unwrap(), Script::Executable(up));
}

fn oneshot_dir(t: &TempDir, name: &str, up: &str, executable: bool) -> PathBuf {
    let dir = t.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("type"), "oneshot\n").unwrap();
    if executable {
        write_script(dir.join("up"), up);
    } else {
        std::fs::write(dir.join("up"), up).unwrap();
    }
    dir
}

fn run_argv(argv: &[String], cwd: &Path) -> std::process::ExitStatus {
    std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(cwd)
        .status()
        .unwrap()
}

#[test]
fn executable_up_is_run_directly() {
    let t = TempDir::new("order-exec");
    let out = t.join("out");
    let dir = oneshot_dir(
        &t,
        "x",
        &format!("#!/bin/sh\necho ran-exec > {}\n", out.display()),
        true,
    );
    let (def, _) = read_definition(&dir, "x", None).unwrap();
    let Kind::Oneshot { up, .. } = def.kind else {
        panic!()
    };
    assert_eq!(up, Script::Executable(dir.join("up")));
    assert!(run_argv(&up.argv().unwrap(), &dir).success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "ran-exec\n");
}

#[test]
fn one_line_up_without_execline_is_lexed_and_run() {
    let t = TempDir::new("order-line");
    let out = t.join("out file");
    let body = format!(
        "# a comment\n/bin/sh -c \"echo \\\"ran line\\\" > '{}'\"\n",
        out.display()
    );
    let dir = oneshot_dir(&t, "x", &body, false);
    let (def, _) = read_definition(&dir, "x", None).unwrap();
    let Kind::Oneshot { up, .. } = def.kind else {
        panic!()
    };
    assert!(matches!(up, Script::Argv(ref w) if w.len() == 3), "{up:?}");
    assert!(run_argv(&up.argv().unwrap(), &dir).success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "ran line\n");
}

#[test]
fn one_line_up_with_execline_runs_under_execlineb() {
    if !require(&[Need::Execline]) {
        return;
    }
    let t = TempDir::new("order-el");
    let out = t.join("out");
    // An execline script, not a shell one: redirfd is execline's.
    let body = format!("redirfd -w 1 {}\necho ran-execline\n", out.display());
    let dir = oneshot_dir(&t, "x", &body, false);
    let el = script::find_execlineb(std::ffi::OsStr::new("/usr/bin:/bin"));
    assert_eq!(el.as_deref(), Some(Path::new("/usr/bin/execlineb")));
    let (def, _) = read_definition(&dir, "x", el.as_deref()).unwrap();
    let Kind::Oneshot { up, .. } = def.kind else {
        panic!()
    };
    assert_eq!(
        up.argv().unwrap(),
        [
            "/usr/bin/execlineb",
            "-P",
            &dir.join("up").display().to_string()
        ]
    );
    assert!(run_argv(&up.argv().unwrap(), &dir).success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "ran-execline\n");
}

#[test]
fn complex_up_without_execline_is_refused_naming_the_file() {
    let t = TempDir::new("order-complex");
    let dir = oneshot_dir(&t, "x", "foreground { echo hi }\necho done\n", false);
    let err = read_definition(&dir, "x", None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "x: {}/up: execline block ({{ }}) needs execlineb, which is not installed",
            dir.display()
        )
    );
    let r = script::resolve(&dir.join("up"), None).unwrap_err();
    assert!(matches!(r, ScriptError::Refused { ref file, .. } if *file == dir.join("up")));
    // With execlineb, the same file is execline's business.
    let fake = t.join("bin/execlineb");
    write_script(&fake, "#!/bin/sh\n");
    assert!(matches!(
        script::resolve(&dir.join("up"), Some(&fake)),
        Ok(Script::Execline { .. })
    ));
}

#[test]
fn find_execlineb_looks_only_in_absolute_path_entries() {
    let t = TempDir::new("order-find");
    write_script(t.join("bin/execlineb"), "#!/bin/sh\n");
    // Found first, but not executable: skipped.
    std::fs::create_dir_all(t.join("noexec")).unwrap();
    std::fs::write(t.join("noexec/execlineb"), "").unwrap();
    let path = format!(
        "relative:{}:{}",
        t.join("noexec").display(),
        t.join("bin").display()
    );
    assert_eq!(
        script::find_execlineb(std::ffi::OsStr::new(&path)),
        Some(t.join("bin/execlineb"))
    );
    assert_eq!(script::find_execlineb(std::ffi::OsStr::new("")), None);
}

#[test]
fn an_empty_or_comment_only_up_does_nothing() {
    let t = TempDir::new("order-empty");
    for (i, body) in ["", "\n", "# nothing\n  \n"].iter().enumerate() {
        let dir = oneshot_dir(&t, &format!("e{i}"), body, false);
        let (def, _) = read_definition(&dir, "e", None).unwrap();
        assert_eq!(
            def.kind,
            Kind::Oneshot {
                up: Script::Empty,
                down: Script::Empty
            }
        );
    }
}
