//! svscan: run one supervise per service in a scan directory; a correct
//! container entrypoint (PID 1). See svscan(8).

use svkit::msg;
use svkit::svscan::{self, Parsed};

fn main() {
    let signals = svscan::install_signals();
    // Parsing in its own stack frame, gone before svscan idles.
    let opts = options();
    std::process::exit(svscan::run(opts, signals));
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
