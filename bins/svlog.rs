//! svlog: svlogd-compatible rotating logger. See svlog(8).
use svkit::svlog::{options, PROG};

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    match options::parse(&args) {
        Ok(options::Parsed::Run(opts)) => std::process::exit(svkit::svlog::run(opts)),
        Ok(options::Parsed::Help) => print!("{}", options::HELP),
        Ok(options::Parsed::Version) => println!("svlog {}", env!("CARGO_PKG_VERSION")),
        Err(options::UsageError(why)) => {
            // One write, so the two lines stay together on a shared stderr.
            eprint!("{PROG}: fatal: {why}\n{PROG}: usage: {}\n", options::USAGE);
            std::process::exit(svkit::exit::USAGE);
        }
    }
}
