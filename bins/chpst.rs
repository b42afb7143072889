//! chpst: run a program with a changed process state. See chpst(8).
//!
//! There is no Rust `main` here on purpose: the Rust runtime's start-up
//! code sets SIGPIPE to "ignore" and reopens closed fds 0-2 on /dev/null,
//! and both would be inherited by the program chpst execs (a pipeline
//! under `chpst ... sh -c 'a | b'` would never see SIGPIPE). A C `main`
//! skips that start-up code, so prog inherits exactly what chpst got.
//!
//! (Under `cargo test` this file is built with the test harness's own
//! main instead, so the C main is left out there.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
use std::ffi::{c_char, c_int, CStr, OsString};
#[cfg(not(test))]
use std::os::unix::ffi::OsStringExt;

#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    let count = usize::try_from(argc).unwrap_or(0);
    let mut args = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: the C runtime passes argc valid, NUL-terminated strings
        // in argv[0..argc], alive for the whole process.
        let word = unsafe { CStr::from_ptr(*argv.add(i)) };
        args.push(OsString::from_vec(word.to_bytes().to_vec()));
    }
    let code = svkit::chpst::main(args);
    std::process::exit(code)
}
