//! svkit: the protocol and machinery shared by svscan, supervise, svctl,
//! svlog and chpst. Each program in `bins/` is argument parsing plus calls
//! into the modules here, so every program speaks the on-disk protocol the
//! same way.

// Unsafe code is allowed only in the modules that opt out with an inner
// `#![allow(unsafe_code)]` (spawn: fork/exec; sys: the raw libc edges),
// each block with a `// SAFETY:` line.
#![deny(unsafe_code)]

// The runit protocol, once.
pub mod atomic_file;
pub mod control;
pub mod errstr;
pub mod extstatus;
pub mod servicedir;
pub mod status;
pub mod tai64n;

// Machinery every program shares.
pub mod check;
pub mod child;
pub mod exit;
pub mod getopt;
pub mod inotify;
pub mod msg;
pub mod procfs;
pub mod safedir;
pub mod spawn;
pub mod sys;

// One module per program family.
pub mod chpst;
pub mod container;
pub mod supervisor;
pub mod svctl;
pub mod svimport;
pub mod svlog;
pub mod svscan;

// Health checks, the event stream and metrics (issue 15).
pub mod events;
pub mod health;
pub mod metrics;

// Start order: dependencies, oneshots and bundles (issue 14).
pub mod order;

// Scheduled jobs, instances and signal routing (issue 16).
pub mod instances;
pub mod schedule;
pub mod shutdown_order;
pub mod signal_route;

// The unwinder, linked statically from libgcc_eh instead of loading
// libgcc_s.so: svkit is built with panic=abort, so the unwinder is only
// reached by std's backtrace code, and a shared library costs every
// supervise process its own relocated data pages (~10 KiB each).
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    not(target_feature = "crt-static")
))]
#[link(name = "gcc_eh", kind = "static", modifiers = "-bundle")]
extern "C" {}
