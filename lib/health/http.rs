//! The HTTP half of the `http://` probe, without sockets: the request it
//! sends and a parser for the status line of the answer.
//!
//! The request is HTTP/1.1 `GET` with `Host` and `Connection: close`
//! (so a keep-alive server closes after answering) and no body. Only the
//! status line matters: 2xx and 3xx are healthy (redirects are not
//! followed: a service that answers with a redirect is up), anything
//! else, or anything that is not HTTP, is not. Interim 1xx answers (`103
//! Early Hints`) are skipped. The parser looks at no more than
//! [`MAX_HEAD_BYTES`]; the body is never read.

use std::fmt;

/// Bytes of the response looked at before giving up on a status line.
pub const MAX_HEAD_BYTES: usize = 4096;
/// User-Agent the probe sends (lets a service's access log tell probes
/// from traffic).
pub const USER_AGENT: &str = "svkit-health";

/// The request for `GET path` on `authority` (the `Host:` value).
pub fn request(authority: &str, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// What the bytes received so far say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Head {
    /// No final status line yet; read more.
    NeedMore,
    /// The final status: its code and the status line as text (printable
    /// ASCII, at most [`MAX_LINE_CHARS`] characters).
    Status {
        code: u16,
        line: String,
    },
    Invalid(HttpError),
}

/// Longest status line kept for reports.
pub const MAX_LINE_CHARS: usize = 200;

/// Is `code` a healthy answer?
pub fn healthy(code: u16) -> bool {
    (200..400).contains(&code)
}

/// Parses the head of a response from `buf` (everything received so
/// far). `eof`: the peer has closed, no more bytes will come.
pub fn parse(buf: &[u8], eof: bool) -> Head {
    let window = &buf[..buf.len().min(MAX_HEAD_BYTES)];
    let mut pos = 0;
    loop {
        let Some(line) = next_line(window, &mut pos) else {
            return incomplete(buf, eof);
        };
        let (code, text) = match status_line(line) {
            Ok(s) => s,
            Err(e) => return Head::Invalid(e),
        };
        if !(100..200).contains(&code) {
            return Head::Status { code, line: text };
        }
        // An interim answer: skip its header block, then expect another
        // status line.
        loop {
            match next_line(window, &mut pos) {
                None => return incomplete(buf, eof),
                Some([]) => break,
                Some(_) => {}
            }
        }
    }
}

fn incomplete(buf: &[u8], eof: bool) -> Head {
    if buf.len() >= MAX_HEAD_BYTES {
        Head::Invalid(HttpError::TooLong)
    } else if eof {
        Head::Invalid(if buf.is_empty() {
            HttpError::ClosedSilently
        } else {
            HttpError::ClosedEarly
        })
    } else {
        Head::NeedMore
    }
}

/// The line starting at `*pos` without its `\n` (and `\r`), advancing
/// `pos` past it; `None` if the line is not complete yet.
fn next_line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = &buf[*pos..];
    let end = rest.iter().position(|&b| b == b'\n')?;
    *pos += end + 1;
    let line = &rest[..end];
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

/// `HTTP/1.1 200 OK` → (200, the line). The version is `HTTP/` then
/// digits and at most one dot; the code is exactly three digits; the
/// reason phrase may be missing.
fn status_line(line: &[u8]) -> Result<(u16, String), HttpError> {
    let not_http = || HttpError::NotHttp(shown(line));
    let rest = line.strip_prefix(b"HTTP/").ok_or_else(not_http)?;
    let sp = rest.iter().position(|&b| b == b' ').ok_or_else(not_http)?;
    let version = &rest[..sp];
    let dots = version.iter().filter(|&&b| b == b'.').count();
    if version.is_empty()
        || dots > 1
        || !version.iter().all(|&b| b.is_ascii_digit() || b == b'.')
        || version.first() == Some(&b'.')
        || version.last() == Some(&b'.')
    {
        return Err(not_http());
    }
    let after = &rest[sp + 1..];
    if after.len() < 3
        || !after[..3].iter().all(u8::is_ascii_digit)
        || (after.len() > 3 && after[3] != b' ')
    {
        return Err(not_http());
    }
    let code = after[..3]
        .iter()
        .fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    if code < 100 {
        return Err(not_http());
    }
    Ok((code, shown(line)))
}

/// A received line as printable ASCII for a report.
fn shown(line: &[u8]) -> String {
    line.iter()
        .take(MAX_LINE_CHARS)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

/// Why an answer is not a usable HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The peer closed without sending anything.
    ClosedSilently,
    /// The peer closed in the middle of the head.
    ClosedEarly,
    /// No status line within [`MAX_HEAD_BYTES`].
    TooLong,
    /// The first line is not an HTTP status line (shown as received).
    NotHttp(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::ClosedSilently => f.write_str("connection closed without an answer"),
            HttpError::ClosedEarly => f.write_str("connection closed before a status line"),
            HttpError::TooLong => write!(f, "no status line in the first {MAX_HEAD_BYTES} bytes"),
            HttpError::NotHttp(l) => write!(f, "not an HTTP answer: {l}"),
        }
    }
}

impl std::error::Error for HttpError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, line: &str) -> Head {
        Head::Status {
            code,
            line: line.into(),
        }
    }

    #[test]
    fn request_shape() {
        assert_eq!(
            request("127.0.0.1:8080", "/healthz?x=1"),
            b"GET /healthz?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: svkit-health\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn status_lines() {
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\n", false),
            status(200, "HTTP/1.1 200 OK")
        );
        assert_eq!(
            parse(b"HTTP/1.0 301 Moved\n\n", true),
            status(301, "HTTP/1.0 301 Moved")
        );
        assert_eq!(parse(b"HTTP/2 204\r\n", false), status(204, "HTTP/2 204"));
        assert_eq!(
            parse(b"HTTP/1.1 500 Internal Server Error\r\nX: y\r\n", false),
            status(500, "HTTP/1.1 500 Internal Server Error")
        );
        assert!(healthy(200) && healthy(204) && healthy(301) && healthy(399));
        assert!(!healthy(199) && !healthy(400) && !healthy(500) && !healthy(999));
    }

    #[test]
    fn partial_input_waits_then_decides() {
        let full = b"HTTP/1.1 200 OK\r\n";
        for i in 0..full.len() {
            assert_eq!(parse(&full[..i], false), Head::NeedMore, "{i}");
        }
        assert_eq!(parse(b"", true), Head::Invalid(HttpError::ClosedSilently));
        assert_eq!(
            parse(b"HTTP/1.1 2", true),
            Head::Invalid(HttpError::ClosedEarly)
        );
    }

    #[test]
    fn interim_answers_are_skipped() {
        let s = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 503 Busy\r\n";
        assert_eq!(parse(s, false), status(503, "HTTP/1.1 503 Busy"));
        assert_eq!(parse(&s[..30], false), Head::NeedMore);
        assert_eq!(parse(&s[..42], true), Head::Invalid(HttpError::ClosedEarly));
    }

    #[test]
    fn garbage_is_refused() {
        for g in [
            &b"SSH-2.0-OpenSSH_9.2\r\n"[..],
            b"HTTP/1.1 20 OK\r\n",
            b"HTTP/1.1 2000 OK\r\n",
            b"HTTP/1.1 099 x\r\n",
            b"HTTP/ 200 OK\r\n",
            b"HTTP/1..1 200 OK\r\n",
            b"HTTP/1.1.1 200 OK\r\n",
            b"HTTP/1.1200 OK\r\n",
            b"HTTP/1.1 abc\r\n",
            b"\r\n",
            b"http/1.1 200 OK\r\n",
        ] {
            assert!(
                matches!(parse(g, false), Head::Invalid(HttpError::NotHttp(_))),
                "{g:?}"
            );
        }
        assert_eq!(
            parse(b"\x01\xffgarbage\n", false),
            Head::Invalid(HttpError::NotHttp("??garbage".into()))
        );
        let endless = vec![b'x'; MAX_HEAD_BYTES + 10];
        assert_eq!(parse(&endless, false), Head::Invalid(HttpError::TooLong));
        // A 1xx followed by endless headers also hits the bound.
        let mut hdrs = b"HTTP/1.1 100 Continue\r\n".to_vec();
        while hdrs.len() < MAX_HEAD_BYTES + 10 {
            hdrs.extend_from_slice(b"X: y\r\n");
        }
        assert_eq!(parse(&hdrs, false), Head::Invalid(HttpError::TooLong));
    }

    #[test]
    fn never_panics_on_any_prefix() {
        let s = b"HTTP/1.1 100 C\r\n\r\nHTTP/1.1 302 Found\r\nLocation: /\r\n\r\nbody";
        for i in 0..=s.len() {
            let _ = parse(&s[..i], false);
            let _ = parse(&s[..i], true);
        }
        for b in 0u8..=255 {
            let _ = parse(
                &[
                    b'H', b'T', b'T', b'P', b'/', b, b' ', b'2', b'0', b'0', b'\n',
                ],
                false,
            );
        }
    }
}
