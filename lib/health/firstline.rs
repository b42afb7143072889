//! The first line of a probe's output, kept within a fixed size: what
//! `svctl status --json` and the `unhealthy` event show of a failing
//! `check`.
//!
//! The event loop feeds whatever it reads from the check's output pipe
//! into [`FirstLine::feed`]; once the first line is complete (or the cap
//! is reached) everything else is counted and dropped, so a check that
//! prints megabytes costs nothing but the reads. The loop should keep
//! draining the pipe until EOF (a check blocked on a full pipe would only
//! end at its timeout).

/// Bytes of the first line kept; the rest of it is cut.
pub const MAX_FIRST_LINE: usize = 200;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirstLine {
    kept: Vec<u8>,
    /// A newline was seen (or the cap reached): nothing more is kept.
    complete: bool,
}

impl FirstLine {
    pub fn new() -> FirstLine {
        FirstLine::default()
    }

    /// Takes the next bytes of output.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.complete {
            return;
        }
        let (line, ended) = match bytes.iter().position(|&b| b == b'\n') {
            Some(i) => (&bytes[..i], true),
            None => (bytes, false),
        };
        let room = MAX_FIRST_LINE - self.kept.len();
        self.kept.extend_from_slice(&line[..line.len().min(room)]);
        self.complete = ended || self.kept.len() == MAX_FIRST_LINE;
    }

    /// Has the first line been seen completely (later bytes are ignored)?
    pub fn complete(&self) -> bool {
        self.complete
    }

    /// The line as text: invalid UTF-8 replaced, a trailing `\r` and
    /// surrounding whitespace removed, control characters shown as `?`
    /// (so it is one printable line wherever it is shown).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.kept)
            .trim()
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_line_across_reads() {
        let mut f = FirstLine::new();
        f.feed(b"conn");
        assert!(!f.complete());
        f.feed(b"ection refused\r\nsecond line\n");
        assert!(f.complete());
        f.feed(b"more");
        assert_eq!(f.text(), "connection refused");
    }

    #[test]
    fn bounded_and_printable() {
        let mut f = FirstLine::new();
        f.feed(&[b'x'; 150]);
        f.feed(&[b'y'; 150]);
        assert!(f.complete());
        assert_eq!(f.text().len(), MAX_FIRST_LINE);
        let mut g = FirstLine::new();
        g.feed(b"\x1b[31mred\xff\tx\n");
        assert_eq!(g.text(), "?[31mred\u{fffd}?x");
        assert_eq!(FirstLine::new().text(), "");
    }
}
