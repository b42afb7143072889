//! Small readers for `/proc`, used to recognise a process across pid reuse.

/// Start time of `pid` in clock ticks since boot (field 22 of
/// `/proc/PID/stat`), or `None` if the process does not exist.
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces
    // or parentheses itself, so count fields after the last ')'.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // Field 3 is the first after the name; field 22 is the 20th from there.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_start_time_is_readable() {
        let me = std::process::id();
        let t = super::start_ticks(me).unwrap();
        assert_eq!(super::start_ticks(me), Some(t));
        assert_eq!(super::start_ticks(u32::MAX), None);
    }
}
