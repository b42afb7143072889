//! `supervise/status`: runit's 20-byte record (daemontools' 18-byte one is
//! read too), and the `supervise/stat` text that goes with it.
//!
//! Layout (runit 2.1.2): TAI64N stamp (12, big-endian), pid (4, little-endian),
//! paused (1), want `u`/`d` (1), got-TERM (1), state 0/1/2 (1).

use crate::tai64n::Tai64n;

pub const RUNIT_STATUS_LEN: usize = 20;
pub const DAEMONTOOLS_STATUS_LEN: usize = 18;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum State {
    #[default]
    Down,
    Run,
    Finish,
}

impl State {
    pub fn byte(self) -> u8 {
        match self {
            State::Down => 0,
            State::Run => 1,
            State::Finish => 2,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            State::Down => "down",
            State::Run => "run",
            State::Finish => "finish",
        }
    }
}

/// What the supervisor has been asked for. runit's binary file can only say
/// `u` or `d`; `Exit` is written as `d` (the `stat` text keeps "want exit").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Want {
    #[default]
    Up,
    Down,
    Exit,
}

impl Want {
    pub fn byte(self) -> u8 {
        match self {
            Want::Up => b'u',
            Want::Down | Want::Exit => b'd',
        }
    }
}

/// The decoded status record. `state_byte` and `want_byte` keep the raw
/// bytes so that a reader can print exactly what a peer wrote (e.g. a
/// daemontools `want` of 0 after `svc -o`, or an unknown state value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Status {
    pub stamp: Tai64n,
    pub pid: u32,
    pub paused: bool,
    pub want_byte: u8,
    pub got_term: bool,
    pub state_byte: u8,
}

impl Status {
    pub fn new(
        stamp: Tai64n,
        pid: u32,
        paused: bool,
        want: Want,
        got_term: bool,
        state: State,
    ) -> Self {
        Status {
            stamp,
            pid,
            paused,
            want_byte: want.byte(),
            got_term,
            state_byte: state.byte(),
        }
    }

    pub fn state(&self) -> Option<State> {
        match self.state_byte {
            0 => Some(State::Down),
            1 => Some(State::Run),
            2 => Some(State::Finish),
            _ => None,
        }
    }

    pub fn encode(&self) -> [u8; RUNIT_STATUS_LEN] {
        let mut b = [0u8; RUNIT_STATUS_LEN];
        b[..12].copy_from_slice(&self.stamp.to_bytes());
        b[12..16].copy_from_slice(&self.pid.to_le_bytes());
        b[16] = self.paused as u8;
        b[17] = self.want_byte;
        b[18] = self.got_term as u8;
        b[19] = self.state_byte;
        b
    }

    /// Decodes a runit (20-byte) or daemontools (18-byte) record. For the
    /// latter, the state is derived from the pid (daemontools has no finish).
    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != RUNIT_STATUS_LEN && b.len() != DAEMONTOOLS_STATUS_LEN {
            return None;
        }
        let mut stamp = [0u8; 12];
        stamp.copy_from_slice(&b[..12]);
        let pid = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
        let (got_term, state_byte) = if b.len() == RUNIT_STATUS_LEN {
            (b[18] != 0, b[19])
        } else {
            (false, if pid != 0 { 1 } else { 0 })
        };
        Some(Status {
            stamp: Tai64n::from_bytes(&stamp),
            pid,
            paused: b[16] != 0,
            want_byte: b[17],
            got_term,
            state_byte,
        })
    }
}

/// The `supervise/stat` line: `STATE[, paused][, got TERM][, want down|exit]\n`.
/// The want suffix appears only when the state is not down and want is not up.
pub fn stat_text(state: State, paused: bool, got_term: bool, want: Want) -> String {
    let mut s = String::from(state.word());
    if paused {
        s.push_str(", paused");
    }
    if got_term {
        s.push_str(", got TERM");
    }
    if state != State::Down {
        match want {
            Want::Up => {}
            Want::Down => s.push_str(", want down"),
            Want::Exit => s.push_str(", want exit"),
        }
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runit_sample_round_trips() {
        let raw = [
            0x40, 0, 0, 0, 0x6b, 0x02, 0x25, 0x82, 0x33, 0xb2, 0xd3, 0x3c, 0xfd, 0x36, 0, 0, 0,
            0x75, 0, 1,
        ];
        let s = Status::decode(&raw).unwrap();
        assert_eq!(s.pid, 14077);
        assert_eq!(s.want_byte, b'u');
        assert_eq!(s.state(), Some(State::Run));
        assert!(!s.paused && !s.got_term);
        assert_eq!(s.encode(), raw);
    }

    #[test]
    fn daemontools_record_is_accepted() {
        let raw = [
            0x40, 0, 0, 0, 0x6b, 0x02, 0x27, 0x1b, 0x2e, 0x1f, 0xda, 0x8c, 0x88, 0x46, 0, 0, 0,
            0x75,
        ];
        let s = Status::decode(&raw).unwrap();
        assert_eq!(s.pid, 0x4688);
        assert_eq!(s.state(), Some(State::Run));
        assert!(Status::decode(&raw[..17]).is_none());
    }

    #[test]
    fn stat_text_matches_runsv() {
        assert_eq!(
            stat_text(State::Run, false, true, Want::Down),
            "run, got TERM, want down\n"
        );
        assert_eq!(stat_text(State::Down, false, false, Want::Down), "down\n");
        assert_eq!(
            stat_text(State::Finish, false, false, Want::Down),
            "finish, want down\n"
        );
        assert_eq!(
            stat_text(State::Run, false, false, Want::Exit),
            "run, want exit\n"
        );
    }
}
