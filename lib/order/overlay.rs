//! s6-overlay v3's layout, so that an image built for it runs under
//! svscan with configuration only.
//!
//! An s6-overlay image keeps its definitions in [`SOURCE_DIR`], and
//! s6-overlay starts what the `user` and `user2` bundles contain (with
//! what they need). Those definitions name services that s6-overlay
//! itself provides; under svkit they are external names that svscan
//! reports:
//! - `base` and `fix-attrs`: s6-overlay's own early setup. svkit has none
//!   to wait for: svscan reports them ready at once.
//! - `legacy-cont-init`: the `/etc/cont-init.d` scripts. svscan runs them
//!   before starting services (as today) and reports the outcome.
//! - `legacy-services`: the `/etc/services.d` longruns, reported ready
//!   once svscan has started them.
//!
//! A tree without `user` or `user2` gets an empty one, as s6-overlay's
//! own tarball ships them.

use super::graph::Graph;
use super::source::{read_tree, Definition, Tree};
use std::path::Path;

/// Where an s6-overlay v3 image keeps its definitions.
pub const SOURCE_DIR: &str = "etc/s6-overlay/s6-rc.d";
/// Legacy one-time scripts, run first.
pub const CONT_INIT_DIR: &str = "etc/cont-init.d";
/// Legacy longruns (plain service directories).
pub const SERVICES_DIR: &str = "etc/services.d";
/// Legacy scripts run at shutdown, after the services are down.
pub const CONT_FINISH_DIR: &str = "etc/cont-finish.d";

/// The bundles s6-overlay starts.
pub const USER: &str = "user";
pub const USER2: &str = "user2";

pub const BASE: &str = "base";
pub const FIX_ATTRS: &str = "fix-attrs";
pub const LEGACY_CONT_INIT: &str = "legacy-cont-init";
pub const LEGACY_SERVICES: &str = "legacy-services";

/// The names s6-overlay provides, external to the image's tree.
pub const EXTERNAL: [&str; 4] = [BASE, FIX_ATTRS, LEGACY_CONT_INIT, LEGACY_SERVICES];
/// The externals svscan reports ready at once (nothing to wait for).
pub const READY_AT_ONCE: [&str; 2] = [BASE, FIX_ATTRS];

/// Reads `ROOT/etc/s6-overlay/s6-rc.d` (ROOT is `/` in the container;
/// tests point it elsewhere), adding empty `user`/`user2` bundles when
/// the image has none.
///
/// # Errors
/// When the directory cannot be listed.
pub fn read(root: &Path, execlineb: Option<&Path>) -> std::io::Result<Tree> {
    let mut tree = read_tree(&root.join(SOURCE_DIR), execlineb)?;
    add_default_bundles(&mut tree);
    Ok(tree)
}

/// Adds empty `user` and `user2` bundles if `tree` lacks them.
pub fn add_default_bundles(tree: &mut Tree) {
    for b in [USER, USER2] {
        let known = tree.definitions.iter().any(|d| d.name == b)
            || tree.refused.iter().any(|p| p.service == b);
        if !known {
            tree.definitions.push(Definition::bundle(b, &[]));
        }
    }
}

/// The graph of an s6-overlay tree, with s6-overlay's own names external.
pub fn graph(tree: &Tree) -> Graph {
    Graph::build(tree, &EXTERNAL)
}

/// What s6-overlay starts: the `user` and `user2` bundles.
pub fn targets() -> Vec<String> {
    vec![USER.to_string(), USER2.to_string()]
}
