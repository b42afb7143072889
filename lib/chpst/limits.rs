//! Soft resource limits (`-m -d -o -p -f -c -r -t`, and softlimit's
//! letters). Only the soft value is ever changed: a request above the hard
//! limit is capped at the hard limit, as runit does, and `=` (softlimit
//! only) means "raise the soft limit to the hard limit". No hard limit is
//! ever raised.

use super::failure::Failure;
use nix::sys::resource::{getrlimit, setrlimit, Resource};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Soft {
    Value(u64),
    Hard,
}

/// The requested soft limits; `None` leaves a resource alone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Limits {
    pub data: Option<Soft>,
    pub stack: Option<Soft>,
    pub memlock: Option<Soft>,
    pub address_space: Option<Soft>,
    pub nofile: Option<Soft>,
    pub nproc: Option<Soft>,
    pub fsize: Option<Soft>,
    pub core: Option<Soft>,
    pub rss: Option<Soft>,
    pub cpu: Option<Soft>,
}

impl Limits {
    /// `-m`: one number for every memory limit.
    pub fn set_memory(&mut self, v: Soft) {
        self.data = Some(v);
        self.stack = Some(v);
        self.memlock = Some(v);
        self.address_space = Some(v);
    }

    /// Applies the limits in runit's order.
    pub fn apply(&self) -> Result<(), Failure> {
        let table = [
            (self.data, Resource::RLIMIT_DATA),
            (self.stack, Resource::RLIMIT_STACK),
            (self.memlock, Resource::RLIMIT_MEMLOCK),
            (self.address_space, Resource::RLIMIT_AS),
            (self.nofile, Resource::RLIMIT_NOFILE),
            (self.nproc, Resource::RLIMIT_NPROC),
            (self.fsize, Resource::RLIMIT_FSIZE),
            (self.core, Resource::RLIMIT_CORE),
            (self.rss, Resource::RLIMIT_RSS),
            (self.cpu, Resource::RLIMIT_CPU),
        ];
        for (want, resource) in table {
            if let Some(want) = want {
                set_soft(resource, want)?;
            }
        }
        Ok(())
    }
}

fn set_soft(resource: Resource, want: Soft) -> Result<(), Failure> {
    let (_, hard) = getrlimit(resource).map_err(|e| Failure::sys("unable to getrlimit()", e))?;
    let soft = match want {
        Soft::Value(v) if v < hard => v,
        _ => hard,
    };
    setrlimit(resource, soft, hard).map_err(|e| Failure::sys("unable to setrlimit()", e))
}

/// A limit argument: plain decimal digits only (no sign, no suffix, not
/// empty), and not so large that it wraps.
pub fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_decimals_are_numbers() {
        assert_eq!(parse_decimal(b"4096"), Some(4096));
        assert_eq!(parse_decimal(b"0"), Some(0));
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b"1k",
            b" 1",
            b"abc",
            b"99999999999999999999999",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn memory_sets_four_limits() {
        let mut l = Limits::default();
        l.set_memory(Soft::Value(7));
        assert_eq!(l.data, Some(Soft::Value(7)));
        assert_eq!(l.stack, Some(Soft::Value(7)));
        assert_eq!(l.memlock, Some(Soft::Value(7)));
        assert_eq!(l.address_space, Some(Soft::Value(7)));
        assert_eq!(l.nofile, None);
    }
}
