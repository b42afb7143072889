//! svctl: control and query supervised services (runit `sv` compatible).
//! See man/svctl.8.
fn main() {
    std::process::exit(svkit::svctl::main(std::env::args_os().collect()));
}
