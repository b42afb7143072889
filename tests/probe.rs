//! The built-in health probes (lib/health/probe.rs) against listeners
//! this test starts on the loopback: accepting, refusing, never
//! completing the connect, hanging after it, answering 200/301/500, a
//! status line in pieces, an interim 103, garbage and silence.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use svkit::health::probe::{self, Probe, Started, Verdict};
use svkit::health::url::Target;

const NO_HOSTS: &str = "/nonexistent/svkit-test/hosts";
/// Generous: the machine is loaded; the probes under test answer in ms.
const LIMIT: Duration = Duration::from_secs(10);

fn target(url: &str) -> Target {
    Target::parse(url).unwrap()
}

fn run(url: &str) -> Verdict {
    probe::run(&target(url), Path::new(NO_HOSTS), LIMIT)
}

/// How the test's server treats each connection.
#[derive(Clone)]
enum Behaviour {
    /// Read the request, send these chunks (pausing between them), close.
    Answer(Vec<&'static [u8]>),
    /// Read the request and keep the connection open without answering
    /// until the server is dropped.
    Hang,
}

/// One TCP server thread on 127.0.0.1 (or ::1); the requests it read are
/// sent back through a channel. Dropped: stops accepting and joins.
struct Server {
    addr: SocketAddr,
    requests: mpsc::Receiver<String>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(behaviour: Behaviour) -> Server {
        Server::start_on("127.0.0.1:0", behaviour).unwrap()
    }

    fn start_on(bind: &str, behaviour: Behaviour) -> Option<Server> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = TcpListener::bind(bind).ok()?;
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::channel();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = tx.send(read_head(&mut conn));
                match &behaviour {
                    Behaviour::Answer(chunks) => {
                        for (i, c) in chunks.iter().enumerate() {
                            if i > 0 {
                                // Pieces must arrive as separate reads.
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            let _ = conn.write_all(c);
                            let _ = conn.flush();
                        }
                    }
                    Behaviour::Hang => held.push(conn),
                }
            }
        });
        Some(Server {
            addr,
            requests: rx,
            stop,
            thread: Some(thread),
        })
    }

    fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The request head (up to the blank line), or what came before EOF.
fn read_head(conn: &mut TcpStream) -> String {
    conn.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.ends_with(b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// A port nobody listens on (bound, then closed).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn tcp_accepting_and_refusing() {
    let server = Server::start(Behaviour::Answer(vec![]));
    let url = server.url("tcp", "");
    assert_eq!(
        run(&url),
        Verdict {
            healthy: true,
            line: format!("{url}: connected")
        }
    );
    let port = closed_port();
    let v = run(&format!("tcp://127.0.0.1:{port}"));
    assert_eq!(
        v.line,
        format!("tcp://127.0.0.1:{port}: connect: connection refused")
    );
    assert!(!v.healthy);
}

#[test]
fn http_status_decides() {
    let cases: [(&[u8], bool, &str); 4] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            true,
            "HTTP/1.1 200 OK",
        ),
        (
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: /x\r\n\r\n",
            true,
            "HTTP/1.1 301 Moved Permanently",
        ),
        (
            b"HTTP/1.0 500 Internal Server Error\r\n\r\n",
            false,
            "HTTP/1.0 500 Internal Server Error",
        ),
        (
            b"HTTP/1.1 404 Not Found\r\n\r\n",
            false,
            "HTTP/1.1 404 Not Found",
        ),
    ];
    for (answer, healthy, line) in cases {
        let server = Server::start(Behaviour::Answer(vec![answer]));
        let v = run(&server.url("http", "/healthz?deep=1"));
        assert_eq!(
            v,
            Verdict {
                healthy,
                line: line.into()
            }
        );
        let req = server.requests.recv_timeout(LIMIT).unwrap();
        assert_eq!(
            req,
            format!(
                "GET /healthz?deep=1 HTTP/1.1\r\nHost: {}\r\nUser-Agent: svkit-health\r\nAccept: */*\r\nConnection: close\r\n\r\n",
                server.addr
            )
        );
    }
}

#[test]
fn http_status_line_in_pieces_and_after_an_interim_answer() {
    let server = Server::start(Behaviour::Answer(vec![
        b"HT",
        b"TP/1.1 2",
        b"04 No Content\r",
        b"\n\r\n",
    ]));
    assert_eq!(
        run(&server.url("http", "/")).line,
        "HTTP/1.1 204 No Content"
    );
    let server = Server::start(Behaviour::Answer(vec![
        b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n",
        b"HTTP/1.1 503 Service Unavailable\r\n\r\n",
    ]));
    let v = run(&server.url("http", "/"));
    assert_eq!(
        (v.healthy, v.line.as_str()),
        (false, "HTTP/1.1 503 Service Unavailable")
    );
}

#[test]
fn http_garbage_silence_and_refusal_fail() {
    let server = Server::start(Behaviour::Answer(vec![b"SSH-2.0-OpenSSH_9.2p1\r\n"]));
    let url = server.url("http", "/");
    let v = run(&url);
    assert_eq!(
        v.line,
        format!("{url}: not an HTTP answer: SSH-2.0-OpenSSH_9.2p1")
    );
    assert!(!v.healthy);
    let server = Server::start(Behaviour::Answer(vec![]));
    let url = server.url("http", "/");
    assert_eq!(
        run(&url).line,
        format!("{url}: connection closed without an answer")
    );
    let server = Server::start(Behaviour::Answer(vec![b"HTTP/1.1 20"]));
    let url = server.url("http", "/");
    assert_eq!(
        run(&url).line,
        format!("{url}: connection closed before a status line")
    );
    let endless: &'static [u8] = Box::leak(vec![b'x'; 10_000].into_boxed_slice());
    let server = Server::start(Behaviour::Answer(vec![endless]));
    let url = server.url("http", "/");
    assert_eq!(
        run(&url).line,
        format!("{url}: no status line in the first 4096 bytes")
    );
    let port = closed_port();
    let v = run(&format!("http://127.0.0.1:{port}/"));
    assert_eq!(
        v.line,
        format!("http://127.0.0.1:{port}/: connect: connection refused")
    );
}

#[test]
fn a_hanging_http_server_is_cut_off_at_the_timeout() {
    let server = Server::start(Behaviour::Hang);
    let url = server.url("http", "/");
    let timeout = Duration::from_millis(300);
    let t0 = Instant::now();
    let v = probe::run(&target(&url), Path::new(NO_HOSTS), timeout);
    let took = t0.elapsed();
    assert_eq!(v.line, format!("{url}: timed out after 300 ms"));
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(3),
        "{took:?}"
    );
    // The request had been sent: the probe waited for the answer.
    assert!(server
        .requests
        .recv_timeout(LIMIT)
        .unwrap()
        .starts_with("GET / HTTP/1.1\r\n"));
}

/// A connect that never completes: a listener with a full accept queue
/// drops further SYNs, so the probe's socket stays in progress. The probe
/// must not block in `start` and must end at its timeout.
#[test]
fn a_connect_that_never_completes_is_cut_off_at_the_timeout() {
    use rustix::net::{AddressFamily, SocketType};
    let listener = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    rustix::net::bind(&listener, &"127.0.0.1:0".parse::<SocketAddr>().unwrap()).unwrap();
    rustix::net::listen(&listener, 0).unwrap();
    let addr = match rustix::net::getsockname(&listener).unwrap().try_into() {
        Ok(SocketAddr::V4(a)) => a,
        other => panic!("{other:?}"),
    };
    // Fill the accept queue (backlog 0 admits one, sometimes two).
    let mut fillers = Vec::new();
    let url = format!("tcp://{addr}");
    let target = target(&url);
    let pending = loop {
        assert!(fillers.len() < 16, "the accept queue never filled");
        match Probe::start(&target, Path::new(NO_HOSTS)) {
            Started::Running(p) => {
                // Still connecting after a moment: the SYN was dropped.
                let mut fds = [rustix::event::PollFd::from_borrowed_fd(
                    p.fd(),
                    p.interest(),
                )];
                let ts = svkit::child::timespec(Duration::from_millis(200));
                if rustix::event::poll(&mut fds, Some(&ts)).unwrap() == 0 {
                    break p;
                }
                fillers.push(p);
            }
            Started::Done(v) => panic!("{v:?}"),
        }
    };
    drop(pending);
    let timeout = Duration::from_millis(400);
    let t0 = Instant::now();
    let v = probe::run(&target, Path::new(NO_HOSTS), timeout);
    let took = t0.elapsed();
    assert_eq!(
        v,
        Verdict {
            healthy: false,
            line: format!("{url}: timed out after 400 ms")
        }
    );
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(3),
        "{took:?}"
    );
    drop(fillers);
}

#[test]
fn names_come_from_the_hosts_file_only() {
    let tmp = common::TempDir::new("probe-hosts");
    let hosts = tmp.join("hosts");
    std::fs::write(&hosts, "# test\n127.0.0.1 backend backend.local\n").unwrap();
    let server = Server::start(Behaviour::Answer(vec![b"HTTP/1.1 200 OK\r\n\r\n"]));
    let port = server.addr.port();
    let t = target(&format!("http://Backend.local:{port}/up"));
    let v = probe::run(&t, &hosts, LIMIT);
    assert_eq!(v.line, "HTTP/1.1 200 OK");
    // The Host header is the URL's authority as written.
    let req = server.requests.recv_timeout(LIMIT).unwrap();
    assert!(
        req.contains(&format!("\r\nHost: Backend.local:{port}\r\n")),
        "{req}"
    );
    let t = target(&format!("tcp://nowhere:{port}"));
    let v = probe::run(&t, &hosts, LIMIT);
    assert_eq!(
        v.line,
        format!(
            "tcp://nowhere:{port}: nowhere is not in {}",
            hosts.display()
        )
    );
    // localhost works without a hosts file.
    let v = probe::run(
        &target(&format!("tcp://localhost:{port}")),
        Path::new(NO_HOSTS),
        LIMIT,
    );
    assert!(v.healthy, "{v:?}");
}

#[test]
fn ipv6_loopback() {
    let Some(server) = Server::start_on(
        "[::1]:0",
        Behaviour::Answer(vec![b"HTTP/1.1 302 Found\r\n\r\n"]),
    ) else {
        eprintln!("svkit tests: skipping the IPv6 probe test: no ::1 on this machine");
        return;
    };
    let v = run(&format!("http://[::1]:{}/", server.addr.port()));
    assert_eq!((v.healthy, v.line.as_str()), (true, "HTTP/1.1 302 Found"));
}

/// A probe is one descriptor among others in the caller's poll: driving
/// two at once, each advances only when its own socket is ready.
#[test]
fn probes_share_one_poll_loop() {
    let slow = Server::start(Behaviour::Hang);
    let fast = Server::start(Behaviour::Answer(vec![b"HTTP/1.1 200 OK\r\n\r\n"]));
    let mut probes: Vec<Probe> = [slow.url("http", "/"), fast.url("http", "/")]
        .iter()
        .map(|u| match Probe::start(&target(u), Path::new(NO_HOSTS)) {
            Started::Running(p) => p,
            Started::Done(v) => panic!("{v:?}"),
        })
        .collect();
    let deadline = Instant::now() + LIMIT;
    let verdict = loop {
        assert!(Instant::now() < deadline, "no verdict");
        let mut fds: Vec<_> = probes
            .iter()
            .map(|p| rustix::event::PollFd::from_borrowed_fd(p.fd(), p.interest()))
            .collect();
        let ts = svkit::child::timespec(Duration::from_secs(1));
        rustix::event::poll(&mut fds, Some(&ts)).unwrap();
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        if ready[1] {
            if let Some(v) = probes[1].advance() {
                break v;
            }
        }
        if ready[0] {
            assert_eq!(
                probes[0].advance(),
                None,
                "the hanging server never answers"
            );
        }
    };
    assert_eq!(verdict.line, "HTTP/1.1 200 OK");
    // A spurious advance on the hanging probe is harmless.
    assert_eq!(probes[0].advance(), None);
}
