//! supervise: supervise one service directory. See supervise(8).
use svkit::{msg, supervisor};

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let code = match args.as_slice() {
        [a] if a == "-h" || a == "--help" => {
            print!("{}", supervisor::USAGE);
            0
        }
        [dir] if !dir.is_empty() && !dir.to_string_lossy().starts_with('-') => {
            supervisor::supervise(dir)
        }
        _ => {
            eprint!("{}", supervisor::USAGE);
            msg::exit::USAGE
        }
    };
    std::process::exit(code)
}
