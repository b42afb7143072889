//! The target of a built-in probe, as written in `health-probe`:
//! `tcp://HOST:PORT` (healthy if a connection is accepted) or
//! `http://HOST[:PORT][/PATH]` (healthy if a GET answers 2xx or 3xx).
//!
//! HOST is an IPv4 literal, a bracketed IPv6 literal (`[::1]`) or a name
//! looked up in `/etc/hosts` (see [`super::hosts`]): a static binary has no
//! NSS, and a probe that could hang on DNS would need its own deadline
//! inside the probe's. PATH is sent as written (percent-encoding included),
//! so it may hold only visible ASCII: a space, a control character or a
//! non-ASCII byte would let the file inject into the request. A `#fragment`
//! is never sent (URL semantics) and is dropped here.
//!
//! Pure: no I/O, no allocation beyond the result, every input answered with
//! a value or a [`UrlError`].

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest `health-probe` line accepted (a request line must fit easily in
/// one send).
pub const MAX_URL_LEN: usize = 1024;
/// Port used by `http://HOST/PATH` without `:PORT`.
pub const HTTP_DEFAULT_PORT: u16 = 80;

/// Where the probe connects: an address, or a name to look up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    /// Resolved through `/etc/hosts` when the probe starts.
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
            Host::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// What a built-in probe checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Tcp {
        host: Host,
        port: u16,
    },
    Http {
        host: Host,
        port: u16,
        /// Starts with `/`; query included, fragment dropped.
        path: String,
        /// The `Host:` header value: HOST, plus `:PORT` if the URL had one.
        authority: String,
    },
}

impl Target {
    pub fn host(&self) -> &Host {
        match self {
            Target::Tcp { host, .. } | Target::Http { host, .. } => host,
        }
    }

    pub fn port(&self) -> u16 {
        match self {
            Target::Tcp { port, .. } | Target::Http { port, .. } => *port,
        }
    }

    /// Parses one `health-probe` line (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Target, UrlError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(UrlError::Empty);
        }
        if text.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        let (scheme, rest) = text.split_once("://").ok_or(UrlError::NoScheme)?;
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "tcp" => {
                // Anything after the authority is meaningless for a connect.
                let (authority, tail) = split_authority(rest);
                if !tail.is_empty() && tail != "/" {
                    return Err(UrlError::PathOnTcp);
                }
                let (host, port) = parse_authority(authority)?;
                let port = port.ok_or(UrlError::MissingPort)?;
                Ok(Target::Tcp { host, port })
            }
            "http" => {
                let (authority, tail) = split_authority(rest);
                let (host, port) = parse_authority(authority)?;
                let tail = tail.split_once('#').map_or(tail, |(p, _)| p);
                if let Some(bad) = tail.bytes().find(|b| !b.is_ascii_graphic()) {
                    return Err(UrlError::BadPathByte(bad));
                }
                // The request target must start with `/` (origin-form).
                let path = if tail.starts_with('/') {
                    tail.to_string()
                } else {
                    format!("/{tail}")
                };
                Ok(Target::Http {
                    host,
                    port: port.unwrap_or(HTTP_DEFAULT_PORT),
                    path,
                    authority: authority.to_string(),
                })
            }
            "https" => Err(UrlError::Https),
            _ => Err(UrlError::UnknownScheme(printable(&scheme))),
        }
    }
}

impl fmt::Display for Target {
    /// The canonical form: `tcp://127.0.0.1:80`, `http://[::1]:8080/health`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Target::Http {
                host, port, path, ..
            } => write!(f, "http://{host}:{port}{path}"),
        }
    }
}

/// `HOST[:PORT]` and whatever follows it (starting at `/`, `?` or `#`).
fn split_authority(rest: &str) -> (&str, &str) {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest.split_at(end)
}

fn parse_authority(a: &str) -> Result<(Host, Option<u16>), UrlError> {
    if a.contains('@') {
        return Err(UrlError::Userinfo);
    }
    let (host, port) = if let Some(v6) = a.strip_prefix('[') {
        let (inside, after) = v6.split_once(']').ok_or(UrlError::BadHost(printable(a)))?;
        let ip: Ipv6Addr = inside
            .parse()
            .map_err(|_| UrlError::BadHost(printable(a)))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UrlError::BadHost(printable(a)))?),
        };
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        let (h, p) = match a.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (a, None),
        };
        if h.is_empty() {
            return Err(UrlError::MissingHost);
        }
        let host = if let Ok(ip) = h.parse::<Ipv4Addr>() {
            Host::Ip(IpAddr::V4(ip))
        } else if is_host_name(h) {
            Host::Name(h.to_ascii_lowercase())
        } else {
            return Err(UrlError::BadHost(printable(h)));
        };
        (host, p)
    };
    let port = match port {
        None => None,
        Some(p) => Some(parse_port(p)?),
    };
    Ok((host, port))
}

/// A DNS-shaped name: labels of letters, digits, `-` and `_`, dot-separated.
/// (All-digit dotted strings that are not IPv4 literals, e.g. `1.2.3`, are
/// refused: they look like a typo for an address.)
fn is_host_name(h: &str) -> bool {
    h.len() <= 253
        && !h.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn parse_port(p: &str) -> Result<u16, UrlError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::BadPort(printable(p)));
    }
    match p.parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        _ => Err(UrlError::BadPort(printable(p))),
    }
}

/// The offending text, shortened and with control characters shown as `?`,
/// so an error message is always one readable line.
fn printable(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Why a `health-probe` line is not a probe target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UrlError {
    Empty,
    TooLong,
    NoScheme,
    UnknownScheme(String),
    Https,
    Userinfo,
    MissingHost,
    BadHost(String),
    MissingPort,
    BadPort(String),
    PathOnTcp,
    BadPathByte(u8),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::Empty => f.write_str("empty"),
            UrlError::TooLong => write!(f, "longer than {MAX_URL_LEN} bytes"),
            UrlError::NoScheme => f.write_str("not tcp://HOST:PORT or http://HOST:PORT/PATH"),
            UrlError::UnknownScheme(s) => {
                write!(f, "unknown scheme {s}: only tcp and http are built in")
            }
            UrlError::Https => {
                f.write_str("https is not built in (no TLS in supervise): use a check script")
            }
            UrlError::Userinfo => f.write_str("user@ credentials are not supported"),
            UrlError::MissingHost => f.write_str("no host"),
            UrlError::BadHost(h) => write!(f, "invalid host: {h}"),
            UrlError::MissingPort => f.write_str("tcp:// needs a port"),
            UrlError::BadPort(p) => write!(f, "invalid port (1-65535): {p}"),
            UrlError::PathOnTcp => f.write_str("tcp:// takes no path"),
            UrlError::BadPathByte(b) => {
                write!(f, "path byte 0x{b:02x} must be percent-encoded")
            }
        }
    }
}

impl std::error::Error for UrlError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(host: Host, port: u16, path: &str, authority: &str) -> Target {
        Target::Http {
            host,
            port,
            path: path.into(),
            authority: authority.into(),
        }
    }

    #[test]
    fn tcp_targets() {
        assert_eq!(
            Target::parse("tcp://127.0.0.1:5432").unwrap(),
            Target::Tcp {
                host: Host::Ip("127.0.0.1".parse().unwrap()),
                port: 5432
            }
        );
        assert_eq!(
            Target::parse("  TCP://[::1]:80/\n").unwrap(),
            Target::Tcp {
                host: Host::Ip("::1".parse().unwrap()),
                port: 80
            }
        );
        assert_eq!(
            Target::parse("tcp://DB.local:1").unwrap(),
            Target::Tcp {
                host: Host::Name("db.local".into()),
                port: 1
            }
        );
    }

    #[test]
    fn http_targets() {
        let lo = || Host::Ip("127.0.0.1".parse().unwrap());
        assert_eq!(
            Target::parse("http://127.0.0.1:8080/healthz").unwrap(),
            http(lo(), 8080, "/healthz", "127.0.0.1:8080")
        );
        assert_eq!(
            Target::parse("http://127.0.0.1").unwrap(),
            http(lo(), 80, "/", "127.0.0.1")
        );
        assert_eq!(
            Target::parse("http://127.0.0.1/a%20b?x=1&y#frag").unwrap(),
            http(lo(), 80, "/a%20b?x=1&y", "127.0.0.1")
        );
        assert_eq!(
            Target::parse("http://web:8080?ready").unwrap(),
            http(Host::Name("web".into()), 8080, "/?ready", "web:8080")
        );
        assert_eq!(
            Target::parse("http://[::1]:9/x").unwrap().to_string(),
            "http://[::1]:9/x"
        );
    }

    #[test]
    fn refusals() {
        use UrlError::*;
        let cases: &[(&str, UrlError)] = &[
            ("", Empty),
            ("   ", Empty),
            ("127.0.0.1:80", NoScheme),
            ("ftp://h:1", UnknownScheme("ftp".into())),
            ("https://h/", Https),
            ("http://u:p@h/", Userinfo),
            ("tcp://:80", MissingHost),
            ("http:///x", MissingHost),
            ("tcp://h", MissingPort),
            ("tcp://h:0", BadPort("0".into())),
            ("tcp://h:65536", BadPort("65536".into())),
            (
                "tcp://h:99999999999999999999",
                BadPort("99999999999999999999".into()),
            ),
            ("tcp://h:", BadPort("".into())),
            ("tcp://h:-1", BadPort("-1".into())),
            ("tcp://h:80/x", PathOnTcp),
            ("http://h/a b", BadPathByte(b' ')),
            ("http://h/a\r\nX: y", BadPathByte(b'\r')),
            ("http://h/é", BadPathByte(0xc3)),
            ("http://h_ h/", BadHost("h_ h".into())),
            ("http://1.2.3/", BadHost("1.2.3".into())),
            ("http://[::1/", BadHost("[::1".into())),
            ("http://[::1]x/", BadHost("[::1]x".into())),
            ("http://[zz]/", BadHost("[zz]".into())),
            ("http://a..b/", BadHost("a..b".into())),
        ];
        for (text, want) in cases {
            assert_eq!(Target::parse(text).as_ref(), Err(want), "{text:?}");
        }
        let long = format!("http://h/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(Target::parse(&long), Err(TooLong));
    }

    #[test]
    fn never_panics_on_any_prefix_or_byte() {
        // Cheap fuzzing: every prefix of some tricky inputs, and every single
        // byte spliced into a valid URL.
        let seeds = [
            "http://[::ffff:127.0.0.1]:65535/p?q#f",
            "tcp://a-b_c.d:1/",
            "http://x:1:2/",
            "http://[::1]]:1/",
        ];
        for s in seeds {
            for i in 0..=s.len() {
                if s.is_char_boundary(i) {
                    let _ = Target::parse(&s[..i]);
                }
            }
        }
        for b in 0u8..=127 {
            let s = format!("http://h{}:8/{}", b as char, b as char);
            let _ = Target::parse(&s).map(|t| t.to_string());
        }
    }

    #[test]
    fn messages_are_one_line() {
        let e = Target::parse("gopher\u{7}://x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown scheme gopher?: only tcp and http are built in"
        );
    }
}
