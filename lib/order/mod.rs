//! Start order (issue 14): dependencies, oneshots and bundles in s6-rc's
//! source format, so that s6-rc and s6-overlay v3 definitions move over
//! unchanged.
//!
//! - [`source`]: reading a source directory tree into [`source::Definition`]s
//!   (`type`, `dependencies.d/`, `contents.d/`, `up`/`down`,
//!   `timeout-up`/`timeout-down`, pipelines, `flag-essential`);
//! - [`script`]: how a oneshot's `up`/`down` is run (executable, execlineb,
//!   or one command line lexed here);
//! - [`graph`]: validation into a [`graph::Graph`] (bundles expanded,
//!   cycles and self-containing bundles refused with their path, missing
//!   names waited for);
//! - [`plan`]: the pure planner svscan's loop drives (events in, actions
//!   out, time passed in);
//! - [`overlay`]: s6-overlay v3's layout and built-in names.
//!
//! See docs/start-order.md for the user-facing rules and how svscan
//! drives the planner.

pub mod graph;
pub mod overlay;
pub mod plan;
pub mod script;
pub mod source;

pub use graph::Graph;
pub use plan::{Action, Config, Event, Now, Planner, View};
pub use source::{read_tree, Definition, Kind, Problem, Readiness, Tree};

#[cfg(test)]
mod plan_tests;
