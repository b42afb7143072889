//! Health checks (issue 15): a service with a `health` file is probed
//! periodically while it is up, and RETRIES consecutive failures make it
//! unhealthy (and, unless `health-action` says `none`, restart it).
//!
//! Everything here is policy or self-contained edge code, ready for
//! supervise's event loop to drive:
//! - [`config`]: the `health`, `health-probe` and `health-action` files;
//! - [`machine`]: the pure state machine (events and time in, actions out,
//!   one deadline; no timer while the service is down);
//! - [`probe`]: the built-in `tcp://` and `http://` probes as non-blocking
//!   socket state machines, over [`url`] (the target parser), [`hosts`]
//!   (`/etc/hosts` only: no NSS, no DNS) and [`http`] (request and status
//!   line parser);
//! - [`firstline`]: the bounded first line of a `check`'s output.
//!
//! See docs/health-events-metrics.md for the user-facing rules.

pub mod config;
pub mod firstline;
pub mod hosts;
pub mod http;
pub mod machine;
pub mod probe;
pub mod url;
