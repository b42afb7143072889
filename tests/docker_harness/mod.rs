//! Harness for tests/docker.rs: the images (built once per run), a
//! container guard that always removes what a test started, and a driver
//! for interactive programs.

use crate::common;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker: {e}"))
}

/// `docker ARGS` that must succeed; returns stdout.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub struct Images {
    /// FROM scratch + static binaries + busybox + examples.
    pub minimal: String,
    /// `minimal` plus the test services in tests/docker-fixtures/e2e.
    pub e2e: String,
    /// The phusion-style image plus tests/docker-fixtures/debian-e2e.
    pub debian_e2e: String,
    /// Static binaries used in the images.
    pub static_bins: PathBuf,
}

/// Builds every image once per test run; each test gets the same result
/// (a failed build fails every test with the build's message). `None`:
/// no root or no engine, the test is skipped (see `common::require`).
pub fn images() -> Option<&'static Images> {
    static IMAGES: OnceLock<Result<Images, String>> = OnceLock::new();
    if !common::require(&[common::Need::Root, common::Need::Docker]) {
        return None;
    }
    match IMAGES.get_or_init(build_images) {
        Ok(images) => Some(images),
        Err(why) => panic!("{why}"),
    }
}

fn build_images() -> Result<Images, String> {
    engine_available()?;
    // Tag per checkout: parallel runs in other checkouts (other branches)
    // share the engine but must not use each other's binaries.
    let tag = format!("{:016x}", fnv1a(repo().as_os_str().as_encoded_bytes()));
    let static_bins = repo().join("target/static-bin");
    std::fs::create_dir_all(repo().join("target")).map_err(|e| e.to_string())?;
    let lock_file = std::fs::File::create(repo().join("target/.docker-images.lock"))
        .map_err(|e| format!("lock file: {e}"))?;
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("flock: {e}"))?;

    let started = Instant::now();
    let script = repo().join("service-examples/docker/build-images.sh");
    let out = Command::new(&script)
        .args(["-p", "svkit-test", "-t", &tag, "--local-base"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let minimal = format!("svkit-test/minimal:{tag}");
    let debian = format!("svkit-test/debian:{tag}");
    let e2e = format!("svkit-test/e2e:{tag}");
    let debian_e2e = format!("svkit-test/debian-e2e:{tag}");
    let fixtures = repo().join("tests/docker-fixtures");
    for (image, base, dir) in [
        (&e2e, &minimal, "e2e"),
        (&debian_e2e, &debian, "debian-e2e"),
    ] {
        let out = Command::new("docker")
            .args(["build", "--rm", "-t", image, "--build-arg"])
            .arg(format!("BASE={base}"))
            .arg(fixtures.join(dir))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "docker build {image} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    eprintln!(
        "docker tests: images built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Images {
        minimal,
        e2e,
        debian_e2e,
        static_bins,
    })
}

fn engine_available() -> Result<(), String> {
    let out = Command::new("docker")
        .arg("info")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("docker CLI not found ({e}); these tests need a Docker engine"))?;
    if !out.status.success() {
        return Err(format!(
            "`docker info` failed; these tests need a running Docker engine:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A container with a unique name, force-removed on drop.
pub struct Container {
    pub name: String,
}

impl Container {
    pub fn name_for(test: &str) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        format!(
            "svkit-test-{test}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// `docker run -d --name NAME OPTS IMAGE ARGS`.
    pub fn start(test: &str, opts: &[&str], image: &str, args: &[&str]) -> Container {
        let c = Container {
            name: Container::name_for(test),
        };
        let mut all = vec!["run", "-d", "--name", &c.name];
        all.extend_from_slice(opts);
        all.push(image);
        all.extend_from_slice(args);
        docker_ok(&all);
        c
    }

    pub fn logs(&self) -> String {
        let out = docker(&["logs", &self.name]);
        let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
        s.push_str(&String::from_utf8_lossy(&out.stderr));
        s
    }

    /// Only what the container wrote to stdout.
    pub fn stdout_logs(&self) -> String {
        String::from_utf8_lossy(&docker(&["logs", &self.name]).stdout).into_owned()
    }

    pub fn wait_log(&self, needle: &str) {
        let found = common::wait_for(Duration::from_secs(20), || {
            self.logs().contains(needle).then_some(())
        });
        assert!(
            found.is_some(),
            "timed out waiting for {needle:?} in docker logs of {}:\n{}",
            self.name,
            self.logs()
        );
    }

    pub fn exec(&self, args: &[&str]) -> Output {
        let mut all = vec!["exec", &self.name];
        all.extend_from_slice(args);
        docker(&all)
    }

    /// `docker stop [-t N]`; returns how long it took.
    pub fn stop(&self, timeout: Option<u32>) -> Duration {
        let t = timeout.map(|t| t.to_string());
        let mut args = vec!["stop"];
        if let Some(t) = &t {
            args.extend(["-t", t.as_str()]);
        }
        args.push(&self.name);
        let start = Instant::now();
        docker_ok(&args);
        start.elapsed()
    }

    pub fn inspect(&self, format: &str) -> String {
        docker_ok(&["inspect", "-f", format, &self.name])
            .trim()
            .to_string()
    }

    pub fn exit_code(&self) -> i32 {
        self.inspect("{{.State.ExitCode}}").parse().unwrap()
    }

    pub fn running(&self) -> bool {
        self.inspect("{{.State.Running}}") == "true"
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", "-v", &self.name]);
    }
}

/// `docker run --rm NAME ...` in the foreground; returns (exit code, output).
pub fn run_fg(test: &str, opts: &[&str], image: &str, args: &[&str]) -> (i32, String) {
    let guard = Container {
        name: Container::name_for(test),
    };
    let mut all = vec!["run", "--name", &guard.name];
    all.extend_from_slice(opts);
    all.push(image);
    all.extend_from_slice(args);
    let out = docker(&all);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A process whose output a thread collects, with stdin kept open.
pub struct Driven {
    pub child: std::process::Child,
    pub stdin: std::process::ChildStdin,
    pub out: Arc<Mutex<Vec<u8>>>,
}

impl Driven {
    pub fn spawn(cmd: &mut Command) -> Driven {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&out);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Driven { child, stdin, out }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    pub fn has(&self, needle: &str) -> bool {
        self.output().contains(needle)
    }
}

impl Drop for Driven {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
