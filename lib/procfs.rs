//! Small readers for `/proc`: one parser of `/proc/PID/stat` for
//! recognising a process across pid reuse, finding parents and process
//! groups, and locating this process's argv and environment strings.

/// `/proc/PID/stat`, read once; `pid` may be `"self"`.
pub struct Stat(String);

impl Stat {
    pub fn read(pid: impl std::fmt::Display) -> Option<Stat> {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .map(Stat)
    }

    /// Field `n` as proc(5) numbers them (3 = state, 4 = ppid, 5 = pgrp,
    /// 22 = start time, ...), from 3 on.
    pub fn text(&self, n: usize) -> Option<&str> {
        // The command name (field 2) is in parentheses and may contain
        // spaces or parentheses itself, so count fields after the last ')'.
        let after_comm = &self.0[self.0.rfind(')')? + 1..];
        after_comm.split_whitespace().nth(n.checked_sub(3)?)
    }

    /// Field `n` (see `text`) as a number.
    pub fn field(&self, n: usize) -> Option<u64> {
        self.text(n)?.parse().ok()
    }
}

/// Start time of `pid` in clock ticks since boot (field 22 of
/// `/proc/PID/stat`), or `None` if the process does not exist.
pub fn start_ticks(pid: u32) -> Option<u64> {
    Stat::read(pid)?.field(22)
}

#[cfg(test)]
mod tests {
    use super::Stat;

    #[test]
    fn own_start_time_is_readable() {
        let me = std::process::id();
        let t = super::start_ticks(me).unwrap();
        assert_eq!(super::start_ticks(me), Some(t));
        assert_eq!(super::start_ticks(u32::MAX), None);
    }

    #[test]
    fn fields_are_counted_after_the_command_name() {
        let stat = Stat("42 (a) b (c) S 7 42 42 0".into());
        assert_eq!(stat.field(4), Some(7));
        assert_eq!(stat.field(5), Some(42));
        assert_eq!(stat.text(3), Some("S"));
        assert_eq!(stat.field(3), None);
        assert_eq!(stat.field(2), None);
        let own = Stat::read("self").unwrap();
        assert_eq!(own.field(4), Some(nix::unistd::getppid().as_raw() as u64));
    }
}
