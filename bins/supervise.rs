//! supervise: supervise one service directory. See supervise(8).
//!
//! `no_main`: supervise lives as long as its service, once per service, so
//! it skips std's runtime set-up (alternate signal stack, main-thread
//! bookkeeping) and the pages that costs in every process.
// (Under `cargo test` the test harness provides its own main.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use svkit::supervisor;

#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    let mut args = std::env::args_os().skip(1);
    let (first, second) = (args.next(), args.next());
    match (first, second) {
        (Some(a), None) if a == "-h" || a == "--help" => {
            print!("{}", supervisor::USAGE);
            svkit::exit::OK
        }
        (Some(dir), None) if !dir.is_empty() && !dir.to_string_lossy().starts_with('-') => {
            supervisor::supervise(&dir)
        }
        _ => {
            eprint!("{}", supervisor::USAGE);
            svkit::exit::USAGE
        }
    }
}
