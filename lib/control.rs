//! Control bytes written to `supervise/control` (runsv's command set).

/// A command understood by a runit-compatible supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Up,
    Down,
    Once,
    Exit,
    Term,
    Kill,
    Pause,
    Cont,
    Hup,
    Alarm,
    Interrupt,
    Quit,
    Usr1,
    Usr2,
}

impl Command {
    /// Decodes one control byte; unknown bytes give `None` (and are ignored).
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'u' => Command::Up,
            b'd' => Command::Down,
            b'o' => Command::Once,
            b'x' => Command::Exit,
            b't' => Command::Term,
            b'k' => Command::Kill,
            b'p' => Command::Pause,
            b'c' => Command::Cont,
            b'h' => Command::Hup,
            b'a' => Command::Alarm,
            b'i' => Command::Interrupt,
            b'q' => Command::Quit,
            b'1' => Command::Usr1,
            b'2' => Command::Usr2,
            _ => return None,
        })
    }

    pub fn byte(self) -> u8 {
        match self {
            Command::Up => b'u',
            Command::Down => b'd',
            Command::Once => b'o',
            Command::Exit => b'x',
            Command::Term => b't',
            Command::Kill => b'k',
            Command::Pause => b'p',
            Command::Cont => b'c',
            Command::Hup => b'h',
            Command::Alarm => b'a',
            Command::Interrupt => b'i',
            Command::Quit => b'q',
            Command::Usr1 => b'1',
            Command::Usr2 => b'2',
        }
    }

    /// The signal a plain signalling command sends when no `control/X`
    /// script handles it.
    pub fn signal(self) -> Option<nix::sys::signal::Signal> {
        use nix::sys::signal::Signal::*;
        Some(match self {
            Command::Term => SIGTERM,
            Command::Kill => SIGKILL,
            Command::Pause => SIGSTOP,
            Command::Cont => SIGCONT,
            Command::Hup => SIGHUP,
            Command::Alarm => SIGALRM,
            Command::Interrupt => SIGINT,
            Command::Quit => SIGQUIT,
            Command::Usr1 => SIGUSR1,
            Command::Usr2 => SIGUSR2,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_garbage_is_ignored() {
        for &b in b"udoxtkpchaiq12" {
            assert_eq!(Command::from_byte(b).unwrap().byte(), b);
        }
        assert!(Command::from_byte(b'X').is_none());
        assert!(Command::from_byte(0).is_none());
    }
}
