//! Link settings for the svkit programs (see README, "Memory").
//!
//! The programs are linked position-dependent (`-no-pie`): a supervisor
//! runs once per service for as long as the container lives, and a PIE
//! binary's relocated read-only data is a private copy in every one of
//! those processes. (A static build made with `-C relocation-model=static`
//! and crt-static, as service-examples/docker/build-static.sh does, is
//! position-dependent already.)
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let static_crt = features.split(',').any(|f| f == "crt-static");
    if os == "linux" && !static_crt {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    if os == "linux" {
        // svscan: each segment starts on a page of its own, so the pages
        // written at load time (GOT, .dynamic) and the small .data/.bss
        // do not straddle page boundaries by the luck of section sizes:
        // a page less of private memory for svscan's whole life.
        println!("cargo:rustc-link-arg-bin=svscan=-Wl,-z,separate-loadable-segments");
    }
}
