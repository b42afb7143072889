//! Host names for the built-in probes: `/etc/hosts` and nothing else.
//!
//! supervise is often a static binary in a `FROM scratch` image, where
//! glibc's NSS cannot load, and a DNS query is a network wait that would
//! need its own deadline inside the probe's. Container runtimes write
//! `/etc/hosts` (the container's own name, `localhost`, `--add-host` and
//! linked names), which covers what a health probe of a local service
//! names. For anything else, write the address, or use a `check` script.
//!
//! The file is read when each probe starts (it is small and local; a
//! runtime may rewrite it while the container runs), at most
//! [`MAX_HOSTS_BYTES`]. `localhost` resolves to 127.0.0.1 even without the
//! file.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

pub const HOSTS_FILE: &str = "/etc/hosts";
/// Bytes of `/etc/hosts` read at most; the rest is ignored.
pub const MAX_HOSTS_BYTES: u64 = 64 * 1024;

/// The first address `name` has in `hosts` (a hosts(5) text: `ADDRESS
/// NAME [ALIAS...]`, `#` starts a comment, names match case-insensitively).
/// IPv4 entries and IPv6 entries are taken in file order; a line whose
/// address does not parse is skipped, as glibc does.
pub fn lookup(hosts: &str, name: &str) -> Option<IpAddr> {
    for line in hosts.lines() {
        let line = line.split_once('#').map_or(line, |(l, _)| l);
        let mut fields = line.split_ascii_whitespace();
        let Some(addr) = fields.next() else {
            continue;
        };
        // An IPv6 entry may carry a zone (`fe80::1%eth0`): not connectable
        // without an interface index, so such a line is skipped.
        let Ok(ip) = addr.parse::<IpAddr>() else {
            continue;
        };
        if fields.any(|n| n.eq_ignore_ascii_case(name)) {
            return Some(ip);
        }
    }
    None
}

/// Resolves `name` through `path` (normally [`HOSTS_FILE`]), with the
/// `localhost` fallback. `None`: not found (or the file is unreadable and
/// the name is not `localhost`).
pub fn resolve_in(path: &Path, name: &str) -> Option<IpAddr> {
    use std::io::Read;
    let mut text = String::new();
    if let Ok(f) = std::fs::File::open(path) {
        let mut bytes = Vec::new();
        if f.take(MAX_HOSTS_BYTES).read_to_end(&mut bytes).is_ok() {
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    lookup(&text, name).or_else(|| {
        name.eq_ignore_ascii_case("localhost")
            .then_some(IpAddr::V4(Ipv4Addr::LOCALHOST))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCKER_HOSTS: &str = "127.0.0.1\tlocalhost\n\
        ::1\tlocalhost ip6-localhost ip6-loopback\n\
        fe00::0\tip6-localnet\n\
        # 10.0.0.9 commented\n\
        bogus-address web\n\
        fe80::1%eth0 zoned\n\
        172.17.0.2\tc0ffee12 DB  # the container\n";

    #[test]
    fn first_match_in_file_order() {
        assert_eq!(
            lookup(DOCKER_HOSTS, "localhost"),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            lookup(DOCKER_HOSTS, "ip6-loopback"),
            Some("::1".parse().unwrap())
        );
        assert_eq!(
            lookup(DOCKER_HOSTS, "db"),
            Some("172.17.0.2".parse().unwrap())
        );
        assert_eq!(
            lookup(DOCKER_HOSTS, "C0FFEE12"),
            Some("172.17.0.2".parse().unwrap())
        );
        assert_eq!(lookup(DOCKER_HOSTS, "commented"), None);
        assert_eq!(lookup(DOCKER_HOSTS, "web"), None);
        assert_eq!(lookup(DOCKER_HOSTS, "zoned"), None);
        assert_eq!(lookup("", "x"), None);
    }

    #[test]
    fn localhost_without_a_file() {
        let missing = Path::new("/nonexistent/svkit/hosts");
        assert_eq!(
            resolve_in(missing, "LOCALHOST"),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(resolve_in(missing, "db"), None);
    }
}
