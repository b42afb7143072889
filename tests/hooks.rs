//! The event hooks: service-examples/hooks/{webhook,consul} run under
//! busybox alone (a PATH holding only busybox applets) against an HTTP
//! server this test starts on 127.0.0.1, which records every request; a
//! hook gets each event's variables (lib/events/hookenv.rs); and the hook
//! dispatcher (lib/events/hooks.rs), driven by a small loop of real
//! processes, never lets a hook that sleeps forever outlast the shutdown
//! deadline.

mod common;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use svkit::events::{hookenv, Ended, Event, FailReason, Kind};
use svkit::tai64n::Tai64n;

const REQUIRE_ALL: &str = "SVKIT_TEST_REQUIRE_ALL";

/// Debian's busybox-static (CI installs it), or `None` and one line saying
/// the busybox tests are skipped (a failure under SVKIT_TEST_REQUIRE_ALL=1).
fn busybox() -> Option<PathBuf> {
    for p in ["/usr/bin/busybox", "/bin/busybox"] {
        if Path::new(p).exists() {
            return Some(PathBuf::from(p));
        }
    }
    if std::env::var_os(REQUIRE_ALL).is_some_and(|v| v == "1") {
        panic!("needs busybox (Debian's busybox-static): {REQUIRE_ALL}=1 forbids skipping");
    }
    eprintln!("svkit tests: skipping a hooks test that needs busybox (Debian's busybox-static)");
    None
}

/// A directory of busybox applet links: the hooks' whole PATH, so they
/// prove to need nothing else.
fn busybox_bin(tmp: &common::TempDir, busybox: &Path) -> PathBuf {
    let bin = tmp.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for applet in [
        "sh", "wget", "nc", "sed", "tr", "wc", "head", "hostname", "env", "sleep", "cat",
    ] {
        std::os::unix::fs::symlink(busybox, bin.join(applet)).unwrap();
    }
    bin
}

fn hook_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("service-examples/hooks")
        .join(name)
}

/// A request as the server received it.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    version: String,
    headers: BTreeMap<String, String>,
    body: String,
}

/// An HTTP server on 127.0.0.1 in a thread, answering every request with
/// `status` and recording it; stopped and joined when dropped.
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(status: &'static str) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                if let Some(req) = read_request(&mut conn) {
                    r.lock().unwrap().push(req);
                    let answer = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                    );
                    let _ = conn.write_all(answer.as_bytes());
                }
            }
        });
        Server {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request: the head, then Content-Length bytes of body.
fn read_request(conn: &mut TcpStream) -> Option<Request> {
    conn.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.trim_end().splitn(3, ' ');
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let version = words.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        // A repeated header shows as "first, second": exact comparisons
        // then catch it.
        headers
            .entry(k.trim().to_ascii_lowercase())
            .and_modify(|old: &mut String| *old = format!("{old}, {}", v.trim()))
            .or_insert_with(|| v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .map_or(Some(0), |l| l.parse().ok())?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        version,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

fn event(kind: Kind) -> Event {
    Event {
        seq: 41,
        // 2026-11-21T23:18:17.545Z
        time: Tai64n::from_unix(1_795_303_097, 545_039_999),
        service: "web".into(),
        kind,
        restarts: 2,
    }
}

/// A hook process, killed with its group if the test fails before it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = svkit::sys::kill(-(self.0.id() as i32), libc::SIGKILL);
            let _ = self.0.wait();
        }
    }
}

/// Runs `hook` with busybox's sh for `e`, the environment being `base`
/// plus the event's variables (as svscan will build it); returns the exit
/// code and stderr.
fn run_hook(
    sh: &Path,
    hook: &Path,
    base: &[String],
    e: &Event,
    service_dir: &Path,
) -> (i32, String) {
    use std::os::unix::process::CommandExt;
    let base: Vec<CString> = base
        .iter()
        .map(|s| CString::new(s.as_str()).unwrap())
        .collect();
    let env = hookenv::environment(&base, e, service_dir);
    let mut cmd = Command::new(sh);
    cmd.arg(hook)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    for kv in &env {
        let s = kv.to_str().unwrap();
        match s.split_once('=') {
            Some((k, v)) => cmd.env(k, v),
            None => continue,
        };
    }
    let mut child = Running(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "hook {} did not end",
            hook.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code().unwrap_or(-1), err)
}

struct Setup {
    tmp: common::TempDir,
    sh: PathBuf,
    path_var: String,
}

fn setup(tag: &str) -> Option<Setup> {
    let busybox = busybox()?;
    let tmp = common::TempDir::new(tag);
    let bin = busybox_bin(&tmp, &busybox);
    Some(Setup {
        sh: bin.join("sh"),
        path_var: format!("PATH={}", bin.display()),
        tmp,
    })
}

#[test]
fn webhook_posts_one_json_message_per_wanted_event() {
    let Some(s) = setup("webhook") else { return };
    let server = Server::start("200 OK");
    let url = format!("http://127.0.0.1:{}/hooks/T000/B000", server.port);
    let base = vec![
        s.path_var.clone(),
        format!("SVKIT_WEBHOOK_URL={url}"),
        "SVKIT_WEBHOOK_HOST=box1".into(),
        "SVKIT_WEBHOOK_EVENTS=all".into(),
        // A stale value in the container's environment must not leak in.
        "SVKIT_EXIT_CODE=99".into(),
    ];
    let dir = s.tmp.join("web");
    let cases = [
        (
            Kind::Exited {
                pid: 123,
                how: Ended::Code(3),
            },
            "[box1] web: exited with code 3 (pid 123) (restarts 2, 2026-11-21T23:18:17.545Z)",
        ),
        (
            Kind::Exited {
                pid: 123,
                how: Ended::Signal(9),
            },
            "[box1] web: exited: killed by SIGKILL (pid 123) (restarts 2, 2026-11-21T23:18:17.545Z)",
        ),
        (
            Kind::Unhealthy {
                failures: 3,
                output: "say \"no\" \\ \ttab".into(),
            },
            "[box1] web: unhealthy after 3 failed checks: say \\\"no\\\" \\\\  tab (restarts 2, 2026-11-21T23:18:17.545Z)",
        ),
        (
            Kind::Failed {
                reason: FailReason::RestartLimit,
            },
            "[box1] web: failed (restart-limit), not restarted (restarts 2, 2026-11-21T23:18:17.545Z)",
        ),
        (
            Kind::RestartScheduled {
                delay: Duration::from_millis(1500),
            },
            "[box1] web: restart in 1500 ms (restarts 2, 2026-11-21T23:18:17.545Z)",
        ),
    ];
    for (kind, _) in &cases {
        let (code, err) = run_hook(
            &s.sh,
            &hook_path("webhook"),
            &base,
            &event(kind.clone()),
            &dir,
        );
        assert_eq!(code, 0, "{kind:?}: {err}");
    }
    let got = server.requests();
    assert_eq!(got.len(), cases.len(), "{got:#?}");
    for (req, (_, text)) in got.iter().zip(&cases) {
        assert_eq!(req.method, "POST");
        assert_eq!(req.path, "/hooks/T000/B000");
        assert_eq!(
            req.headers.get("host"),
            Some(&format!("127.0.0.1:{}", server.port))
        );
        assert_eq!(
            req.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        assert_eq!(
            req.headers.get("user-agent").map(String::as_str),
            Some("svkit-webhook")
        );
        assert_eq!(
            req.headers.get("content-length"),
            Some(&req.body.len().to_string())
        );
        assert_eq!(req.body, format!("{{\"text\":\"{text}\"}}"));
    }

    // Telegram: chat_id added; only the default events are sent.
    let base = vec![
        s.path_var.clone(),
        format!("SVKIT_WEBHOOK_URL={url}"),
        "SVKIT_WEBHOOK_HOST=box1".into(),
        "SVKIT_WEBHOOK_CHAT_ID=-100123".into(),
    ];
    let (code, _) = run_hook(
        &s.sh,
        &hook_path("webhook"),
        &base,
        &event(Kind::Started { pid: 5 }),
        &dir,
    );
    assert_eq!(code, 0);
    assert_eq!(
        server.requests().len(),
        cases.len(),
        "started is not a default event"
    );
    let (code, err) = run_hook(
        &s.sh,
        &hook_path("webhook"),
        &base,
        &event(Kind::Healthy),
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    let last = server.requests().pop().unwrap();
    assert_eq!(
        last.body,
        "{\"text\":\"[box1] web: healthy (restarts 2, 2026-11-21T23:18:17.545Z)\",\"chat_id\":\"-100123\"}"
    );
}

#[test]
fn webhook_failures_are_reported_by_exit_code() {
    let Some(s) = setup("webhook-fail") else {
        return;
    };
    let dir = s.tmp.join("web");
    let e = event(Kind::Down);
    let all = "SVKIT_WEBHOOK_EVENTS=all".to_string();
    let (code, err) = run_hook(
        &s.sh,
        &hook_path("webhook"),
        std::slice::from_ref(&s.path_var),
        &e,
        &dir,
    );
    assert_eq!(code, 100);
    assert_eq!(err, "webhook: fatal: SVKIT_WEBHOOK_URL is not set\n");
    let server = Server::start("500 Internal Server Error");
    let url = format!("SVKIT_WEBHOOK_URL=http://127.0.0.1:{}/x", server.port);
    let (code, err) = run_hook(
        &s.sh,
        &hook_path("webhook"),
        &[s.path_var.clone(), url, all.clone()],
        &e,
        &dir,
    );
    assert_eq!(code, 1);
    assert!(
        err.ends_with("webhook: fatal: POST to the webhook failed (down of web)\n"),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
    // Nobody listening.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("SVKIT_WEBHOOK_URL=http://127.0.0.1:{port}/x");
    let (code, _) = run_hook(
        &s.sh,
        &hook_path("webhook"),
        &[s.path_var.clone(), url, all],
        &e,
        &dir,
    );
    assert_eq!(code, 1);
}

#[test]
fn consul_registers_when_ready_and_deregisters_when_gone() {
    let Some(s) = setup("consul") else { return };
    let server = Server::start("200 OK");
    let dir = s.tmp.join("api");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("consul"), "8080 api v1\n").unwrap();
    let base = vec![
        s.path_var.clone(),
        format!("CONSUL_HTTP_ADDR=http://127.0.0.1:{}", server.port),
        "CONSUL_HTTP_TOKEN=s3cret".into(),
    ];
    let named = |kind: Kind| {
        let mut e = event(kind);
        e.service = "api".into();
        e
    };
    let seq = [
        named(Kind::Started { pid: 77 }), // ignored
        named(Kind::Ready { pid: 77 }),   // register
        named(Kind::Exited {
            pid: 77,
            how: Ended::Code(3),
        }), // deregister
        named(Kind::RestartScheduled {
            delay: Duration::from_millis(100),
        }), // ignored
        named(Kind::Ready { pid: 78 }),   // register again
        named(Kind::Down),                // deregister
    ];
    for e in &seq {
        let (code, err) = run_hook(&s.sh, &hook_path("consul"), &base, e, &dir);
        assert_eq!(code, 0, "{:?}: {err}", e.kind);
    }
    let got = server.requests();
    let summary: Vec<(String, String)> = got
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let reg = ("PUT".to_string(), "/v1/agent/service/register".to_string());
    let dereg = (
        "PUT".to_string(),
        "/v1/agent/service/deregister/api".to_string(),
    );
    assert_eq!(summary, [reg.clone(), dereg.clone(), reg, dereg]);
    for r in &got {
        assert_eq!(r.version, "HTTP/1.0");
        assert_eq!(
            r.headers.get("host"),
            Some(&format!("127.0.0.1:{}", server.port))
        );
        assert_eq!(
            r.headers.get("x-consul-token").map(String::as_str),
            Some("s3cret")
        );
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        assert_eq!(
            r.headers.get("content-length"),
            Some(&r.body.len().to_string())
        );
    }
    assert_eq!(
        got[0].body,
        "{\"ID\":\"api\",\"Name\":\"api\",\"Port\":8080,\"Tags\":[\"svkit\",\"api\",\"v1\"],\"Meta\":{\"svkit_pid\":\"77\"}}"
    );
    assert_eq!(got[1].body, "");
    assert!(got[2].body.contains("\"svkit_pid\":\"78\""));

    // A prefix for the ID, no port, no token, plain HOST:PORT address.
    std::fs::write(dir.join("consul"), "-\n").unwrap();
    let base = vec![
        s.path_var.clone(),
        format!("CONSUL_HTTP_ADDR=127.0.0.1:{}", server.port),
        "SVKIT_CONSUL_ID_PREFIX=box1-".into(),
    ];
    let (code, err) = run_hook(
        &s.sh,
        &hook_path("consul"),
        &base,
        &named(Kind::Healthy),
        &dir,
    );
    assert_eq!(code, 0, "{err}");
    let last = server.requests().pop().unwrap();
    assert_eq!(
        last.body,
        "{\"ID\":\"box1-api\",\"Name\":\"api\",\"Tags\":[\"svkit\"],\"Meta\":{\"svkit_pid\":\"\"}}"
    );
    assert!(!last.headers.contains_key("x-consul-token"));
    let (code, _) = run_hook(
        &s.sh,
        &hook_path("consul"),
        &base,
        &named(Kind::Unhealthy {
            failures: 3,
            output: "x".into(),
        }),
        &dir,
    );
    assert_eq!(code, 0);
    assert_eq!(
        server.requests().pop().unwrap().path,
        "/v1/agent/service/deregister/box1-api"
    );
}

#[test]
fn consul_ignores_services_that_do_not_opt_in_and_reports_refusals() {
    let Some(s) = setup("consul-fail") else {
        return;
    };
    let server = Server::start("403 Forbidden");
    let dir = s.tmp.join("worker");
    std::fs::create_dir_all(&dir).unwrap();
    let base = vec![
        s.path_var.clone(),
        format!("CONSUL_HTTP_ADDR=127.0.0.1:{}", server.port),
    ];
    let (code, _) = run_hook(
        &s.sh,
        &hook_path("consul"),
        &base,
        &event(Kind::Ready { pid: 1 }),
        &dir,
    );
    assert_eq!(code, 0);
    assert!(server.requests().is_empty(), "no consul file: nothing sent");
    std::fs::write(dir.join("consul"), "80\n").unwrap();
    let (code, err) = run_hook(
        &s.sh,
        &hook_path("consul"),
        &base,
        &event(Kind::Ready { pid: 1 }),
        &dir,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("consul: fatal: register web: agent at 127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("answered: HTTP/1.1 403 Forbidden"), "{err}");
    std::fs::write(dir.join("consul"), "eighty\n").unwrap();
    let (code, err) = run_hook(
        &s.sh,
        &hook_path("consul"),
        &base,
        &event(Kind::Ready { pid: 1 }),
        &dir,
    );
    assert_eq!(code, 100);
    assert!(
        err.ends_with("/consul: PORT is not a number: eighty\n"),
        "{err}"
    );
    let bad = vec![
        s.path_var.clone(),
        "CONSUL_HTTP_ADDR=https://127.0.0.1:8501".into(),
    ];
    let (code, _) = run_hook(
        &s.sh,
        &hook_path("consul"),
        &bad,
        &event(Kind::Ready { pid: 1 }),
        &dir,
    );
    assert_eq!(code, 100);
}

/// The variables, as a hook sees them: a hook that writes its environment.
#[test]
fn a_hook_receives_each_event_with_the_right_variables() {
    let Some(s) = setup("hookenv") else { return };
    let out = s.tmp.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let hook = s.tmp.join("dump");
    common::write_script(&hook, "#!/bin/sh\nenv > \"$OUT/$SVKIT_SEQ.$SVKIT_EVENT\"\n");
    let base = vec![
        s.path_var.clone(),
        format!("OUT={}", out.display()),
        "KEEP=me".into(),
    ];
    let dir = s.tmp.join("web");
    let kinds = [
        (Kind::Started { pid: 9 }, vec![("SVKIT_PID", "9")]),
        (
            Kind::Exited {
                pid: 9,
                how: Ended::Code(3),
            },
            vec![("SVKIT_PID", "9"), ("SVKIT_EXIT_CODE", "3")],
        ),
        (
            Kind::Exited {
                pid: 9,
                how: Ended::Signal(15),
            },
            vec![
                ("SVKIT_PID", "9"),
                ("SVKIT_EXIT_SIGNAL", "15"),
                ("SVKIT_EXIT_SIGNAL_NAME", "SIGTERM"),
            ],
        ),
        (
            Kind::RestartScheduled {
                delay: Duration::from_millis(700),
            },
            vec![("SVKIT_DELAY_MS", "700")],
        ),
        (
            Kind::Failed {
                reason: FailReason::Oneshot(Ended::Code(4)),
            },
            vec![("SVKIT_REASON", "oneshot"), ("SVKIT_EXIT_CODE", "4")],
        ),
        (
            Kind::Unhealthy {
                failures: 2,
                output: "timed out after 300 ms".into(),
            },
            vec![
                ("SVKIT_FAILURES", "2"),
                ("SVKIT_OUTPUT", "timed out after 300 ms"),
            ],
        ),
        (Kind::Done, vec![]),
    ];
    for (i, (kind, extra)) in kinds.iter().enumerate() {
        let mut e = event(kind.clone());
        e.seq = i as u64;
        let (code, err) = run_hook(&s.sh, &hook, &base, &e, &dir);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(out.join(format!("{i}.{}", kind.word()))).unwrap();
        let vars: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let mut want: BTreeMap<&str, String> = [
            ("SVKIT_EVENT", kind.word().to_string()),
            ("SVKIT_SERVICE", "web".into()),
            ("SVKIT_SERVICE_DIR", dir.display().to_string()),
            ("SVKIT_SEQ", i.to_string()),
            ("SVKIT_TIME", "2026-11-21T23:18:17.545Z".into()),
            ("SVKIT_TAI64N", "@400000006b0226c3207ca67f".into()),
            ("SVKIT_RESTARTS", "2".into()),
        ]
        .into_iter()
        .collect();
        want.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let got: BTreeMap<&str, String> = vars
            .iter()
            .filter(|(k, _)| k.starts_with("SVKIT_"))
            .map(|(k, v)| (*k, v.to_string()))
            .collect();
        assert_eq!(got, want, "{kind:?}");
        assert_eq!(
            vars.get("KEEP"),
            Some(&"me"),
            "the container environment is passed on"
        );
    }
}

/// Drives the dispatcher with real hook processes (the way svscan's loop
/// will): spawn on Run, SIGKILL the group on Kill, feed exits back.
#[test]
fn a_hook_that_sleeps_forever_does_not_delay_shutdown_past_the_deadline() {
    use svkit::child::Child as Proc;
    use svkit::events::hooks::{Dispatcher, Input, Output, Warning};
    use svkit::spawn::{Envp, Exec, Group, OnFailure, Program};
    let Some(s) = setup("hook-shutdown") else {
        return;
    };
    let out = s.tmp.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let quick = s.tmp.join("10-quick");
    common::write_script(&quick, "#!/bin/sh\necho \"$SVKIT_SEQ\" >> \"$OUT/quick\"\n");
    // Sleeps forever, in a child of its own (the group kill must get it).
    let stuck = s.tmp.join("20-stuck");
    common::write_script(
        &stuck,
        "#!/bin/sh\necho \"$SVKIT_SEQ\" >> \"$OUT/stuck\"\nsleep 100000 &\nwait\n",
    );
    let hooks = [quick, stuck];
    let base: Vec<CString> = [s.path_var.clone(), format!("OUT={}", out.display())]
        .iter()
        .map(|v| CString::new(v.as_str()).unwrap())
        .collect();
    let mut d = Dispatcher::new(hooks.len(), Duration::from_secs(3600));
    let mut running: Vec<Option<Proc>> = (0..hooks.len()).map(|_| None).collect();
    let mut warnings = Vec::new();
    let start = Instant::now();
    let act = |outs: Vec<Output>, running: &mut Vec<Option<Proc>>, warnings: &mut Vec<Warning>| {
        for o in outs {
            match o {
                Output::Run { hook, event } => {
                    let envp =
                        Envp::new(hookenv::environment(&base, &event, Path::new("/srv/web")));
                    let path = CString::new(hooks[hook].to_str().unwrap()).unwrap();
                    let exec = Exec {
                        program: Program::Path(&path),
                        argv: &[&path],
                        env: Some(&envp),
                        cwd: None,
                        fds: &[],
                        group: Group::Leader,
                        foreground: false,
                        rlimits: &[],
                        close_others: true,
                        on_failure: OnFailure::Report,
                    };
                    running[hook] = Some(Proc::spawn(&exec).unwrap());
                }
                Output::Kill { hook } => {
                    if let Some(p) = &running[hook] {
                        p.kill_group(libc::SIGKILL);
                    }
                }
                Output::Warn(w) => warnings.push(w),
            }
        }
    };
    for seq in 1..=3 {
        let mut e = event(Kind::Down);
        e.seq = seq;
        let outs = d.handle(Input::Event(e), Instant::now());
        act(outs, &mut running, &mut warnings);
    }
    // svscan decides to shut down with 1.5 s left.
    let deadline = Instant::now() + Duration::from_millis(1500);
    let outs = d.handle(Input::Shutdown { deadline }, Instant::now());
    act(outs, &mut running, &mut warnings);
    // The loop: poll the hooks' pidfds until the dispatcher's deadline.
    while !d.idle() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the loop never ended"
        );
        let timeout = d
            .next_deadline()
            .map(|t| t.saturating_duration_since(Instant::now()));
        {
            let mut fds: Vec<rustix::event::PollFd> = running
                .iter()
                .flatten()
                .map(|p| {
                    rustix::event::PollFd::from_borrowed_fd(p.fd(), rustix::event::PollFlags::IN)
                })
                .collect();
            let ts = timeout.map(svkit::child::timespec);
            let _ = rustix::event::poll(&mut fds, ts.as_ref());
        }
        let now = Instant::now();
        let mut outs = Vec::new();
        for (hook, slot) in running.iter_mut().enumerate() {
            if let Some(how) = slot.as_mut().and_then(|p| p.try_wait()) {
                *slot = None;
                outs.extend(d.handle(Input::Exited { hook, how }, now));
            }
        }
        outs.extend(d.handle(Input::Tick, now));
        act(outs, &mut running, &mut warnings);
    }
    let ended = Instant::now();
    assert!(
        ended >= deadline,
        "the stuck hook was given until the deadline"
    );
    assert!(
        ended < deadline + Duration::from_secs(2),
        "shutdown ran {:?} past its deadline",
        ended - deadline
    );
    // The quick hook saw every event in order; the stuck one only the first.
    assert_eq!(
        std::fs::read_to_string(out.join("quick")).unwrap(),
        "1\n2\n3\n"
    );
    assert_eq!(std::fs::read_to_string(out.join("stuck")).unwrap(), "1\n");
    assert!(
        warnings.contains(&Warning::TimedOut {
            hook: 1,
            event: "down"
        }),
        "{warnings:?}"
    );
    assert!(
        warnings.contains(&Warning::DroppedAtShutdown { hook: 1, count: 2 }),
        "{warnings:?}"
    );
}
