//! The building blocks composed the way svscan's container mode will use
//! them: runtime dir, environment capture, init scripts publishing
//! variables under the `stop` policy, the exit code, and stuck shutdown
//! hooks bounded by the deadline (scenarios U04, U17, U18 at library level).

mod common;

use common::{write_script, TempDir};
use std::cell::RefCell;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use svkit::container::envdump::{self, DumpOptions, EnvMap};
use svkit::container::exitcode::{self, ExitState, Options};
use svkit::container::rundir::{self, Identity};
use svkit::container::scripts::{
    self, FixedEnv, Flow, Hooks, Limits, Policy, ScriptResult, Verdict,
};

/// svscan's init-phase hooks: reload and re-dump the environment before
/// each script, apply the failure policy, feed the exit state.
struct InitHooks<'a> {
    rundir: PathBuf,
    env: EnvMap,
    policy: Policy,
    exit: &'a RefCell<ExitState>,
}

impl Hooks for InitHooks<'_> {
    fn env(&mut self, _script: &Path) -> EnvMap {
        self.env = envdump::reload(&self.rundir, &self.env).expect("reload env");
        envdump::write_dump(&self.rundir, &self.env, &DumpOptions::default()).expect("dump env");
        self.env.clone()
    }
    fn finished(&mut self, r: &ScriptResult) -> Flow {
        match self.policy.verdict(r) {
            Verdict::Stop(code, _) => {
                let name = r.path.file_name().unwrap().to_string_lossy().into_owned();
                self.exit.borrow_mut().init_failed(&name, code);
                Flow::Stop
            }
            _ => Flow::Continue,
        }
    }
}

fn boot(t: &TempDir, policy: Policy) -> (ExitState, EnvMap) {
    let rd = rundir::prepare(&t.join("run/svkit"), &Identity::current()).unwrap();
    assert!(rd.warning.is_none());
    let runtime: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), "/usr/bin:/bin".into()),
        ("FOO".into(), "bar".into()),
        ("TRACE".into(), t.join("trace").into()),
        (rundir::ENV_VAR.into(), rd.path.clone().into()),
    ];
    let env = envdump::capture(Some(&t.join("etc/svscan/env")), runtime).unwrap();
    envdump::write_dump(&rd.path, &env, &DumpOptions::default()).unwrap();
    let listing = scripts::list(&scripts::split_dirs(t.join("etc/my_init.d").as_os_str()));
    let exit = RefCell::new(ExitState::new());
    let mut hooks = InitHooks {
        rundir: rd.path.clone(),
        env,
        policy,
        exit: &exit,
    };
    scripts::run_all(&listing.scripts, &Limits::default(), &mut hooks);
    // The env services would get: reloaded after the last script.
    let final_env = envdump::reload(&rd.path, &hooks.env).unwrap();
    (exit.into_inner(), final_env)
}

fn setup(t: &TempDir) {
    std::fs::create_dir_all(t.join("etc/svscan/env")).unwrap();
    std::fs::write(t.join("etc/svscan/env/BAZ"), "from image\n").unwrap();
    std::fs::write(t.join("etc/svscan/env/FOO"), "static loses\n").unwrap();
    let d = t.join("etc/my_init.d");
    write_script(
        d.join("10_publish"),
        "#!/bin/sh\necho \"derived-$FOO\" > \"$SVKIT_RUNDIR/env/COMPUTED\"\n",
    );
    write_script(
        d.join("20_show"),
        "#!/bin/sh\necho \"FOO=$FOO BAZ=$BAZ COMPUTED=$COMPUTED\" >> \"$TRACE\"\n",
    );
    write_script(d.join("30_fail"), "#!/bin/sh\nexit 9\n");
    write_script(d.join("40_after"), "#!/bin/sh\necho after >> \"$TRACE\"\n");
}

#[test]
fn init_failure_stops_with_its_code_and_env_reaches_later_scripts() {
    let t = TempDir::new("boot-stop");
    setup(&t);
    let (exit, env) = boot(&t, Policy::Stop);
    let trace = std::fs::read_to_string(t.join("trace")).unwrap();
    assert_eq!(trace, "FOO=bar BAZ=from image COMPUTED=derived-bar\n");
    assert_eq!(exit.decide(&Options::default(), None).code, 9);
    assert_eq!(
        env.get(&OsString::from("COMPUTED")),
        Some(&"derived-bar".into())
    );
    // `. $SVKIT_RUNDIR/env.sh` (what `docker exec` users do) sees it too.
    let rd = t.join("run/svkit");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(". ./env.sh; printf %s \"$COMPUTED/$BAZ\"")
        .current_dir(&rd)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"derived-bar/from image");
    for f in ["env.sh", "env/COMPUTED", "env/FOO"] {
        let mode = std::fs::metadata(rd.join(f)).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    assert_eq!(std::fs::metadata(&rd).unwrap().mode() & 0o777, 0o700);
}

#[test]
fn init_failure_under_warn_policy_continues() {
    let t = TempDir::new("boot-warn");
    setup(&t);
    let (exit, _) = boot(&t, Policy::Warn);
    let trace = std::fs::read_to_string(t.join("trace")).unwrap();
    assert!(trace.ends_with("after\n"), "{trace}");
    assert_eq!(exit.trigger(), None);
}

#[test]
fn stuck_shutdown_hooks_cannot_pass_the_deadline() {
    let t = TempDir::new("boot-hooks");
    let pre = t.join("pre-shutdown.d");
    let fin = t.join("finish.d");
    write_script(
        pre.join("10_stuck"),
        "#!/bin/sh\ntrap '' TERM\nexec sleep 100\n",
    );
    write_script(pre.join("20_also_stuck"), "#!/bin/sh\nexec sleep 100\n");
    write_script(fin.join("10_stuck"), "#!/bin/sh\nexec sleep 100\n");
    // SVKIT_SHUTDOWN_TIMEOUT=1.5 with SVSCAN_HOOK_TIMEOUT=400ms and a 300 ms
    // kill grace: hooks get what is left of the deadline minus the grace.
    let stop_timeout = Duration::from_millis(1500);
    let grace = Duration::from_millis(300);
    let start = Instant::now();
    let deadline = start + stop_timeout;
    let warnings = RefCell::new(Vec::new());
    for dir in [pre, fin] {
        let mut hooks = FixedEnv {
            env: EnvMap::new(),
            policy: Policy::Warn,
            interrupt: None,
            warn: Box::new(|l: &str| warnings.borrow_mut().push(l.to_string())),
            stop_code: None,
        };
        let limits = Limits {
            per_script: Some(Duration::from_millis(400)),
            deadline: Some(deadline - grace),
            kill_grace: grace,
        };
        scripts::run_all(&scripts::list(&[dir]).scripts, &limits, &mut hooks);
    }
    let took = start.elapsed();
    assert!(
        took <= stop_timeout + Duration::from_millis(200),
        "{took:?}"
    );
    assert!(
        warnings.borrow().iter().all(|w| w.contains("timed out")),
        "{:?}",
        warnings.borrow()
    );
    assert!(!warnings.borrow().is_empty());
    // The exitcode file is read at the very end.
    assert_eq!(exitcode::read_exitcode_file(t.path()), Ok(None));
}
