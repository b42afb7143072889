//! svscan: run one supervise per service in a scan directory; a correct
//! container entrypoint (PID 1). See svscan(8).

use svkit::msg;
use svkit::svscan::{self, Parsed};

fn main() {
    // First thing: until then a TERM to PID 1 is dropped by the kernel.
    let signals = svscan::install_signals().unwrap_or_else(|e| fatal(e));
    // Parsing in its own stack frame, gone before svscan idles.
    let opts = options();
    match svscan::run(opts, signals) {
        Ok(code) => std::process::exit(code),
        Err(e) => fatal(e),
    }
}

fn fatal(e: svscan::Fatal) -> ! {
    msg::fatal_plain(svscan::PROG, e.code(), e)
}

#[inline(never)]
fn options() -> svscan::Options {
    match svscan::parse(std::env::args_os()) {
        Ok(Parsed::Run(opts)) => *opts,
        Ok(Parsed::Print(text)) => {
            let _ = text.print();
            std::process::exit(svkit::exit::OK);
        }
        Err(e) => match e.why {
            Some(why) => msg::fatal(svscan::PROG, svkit::exit::USAGE, e.what, why),
            None => msg::fatal_plain(svscan::PROG, svkit::exit::USAGE, e.what),
        },
    }
}
