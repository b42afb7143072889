//! The validated start-order graph: every name with what it is, and for
//! every atomic service (longrun or oneshot) the atomic services it needs,
//! bundles expanded (s6-rc: depending on a bundle is depending on all of
//! its contents, recursively).
//!
//! Validation never fails as a whole; each problem is one line naming the
//! services and why, and only what it touches is held back:
//! - a definition that could not be read, a bundle that contains itself
//!   (with the path) and every service on a dependency cycle (with the
//!   cycle) are *refused*: they never start, and what needs them is
//!   *blocked* (reported, never hangs silently);
//! - a name that is needed but defined nowhere is *missing*: what needs it
//!   waits, so a service added later (inotify) can still satisfy it;
//! - everything else runs normally.
//!
//! s6-rc pipelines: a producer needs its consumer (s6-rc-compile adds that
//! dependency, so the reader is there first), and a last consumer's
//! `pipeline-name` is a bundle of the whole pipeline.

use super::script::Script;
use super::source::{Definition, Kind, Problem, Readiness, Tree};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

/// What a name in the graph is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Longrun {
        readiness: Readiness,
    },
    Oneshot {
        up: Script,
        down: Script,
    },
    /// Provided by the caller, not by a definition (s6-overlay's
    /// `legacy-cont-init`, ...): never started here; the caller reports
    /// it up or failed.
    External,
    /// A bundle, with its atomic members (bundles expanded; may include
    /// names that are not defined yet).
    Bundle {
        members: Vec<String>,
    },
}

/// One name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub kind: NodeKind,
    /// The definition directory (empty for external names).
    pub dir: PathBuf,
    /// Atomic names needed directly (bundles expanded), sorted. May name
    /// missing names, and refused ones.
    pub needs: Vec<String>,
    pub timeout_up: Option<Duration>,
    pub timeout_down: Option<Duration>,
    pub essential: bool,
    /// Why it never starts, if it is refused.
    pub refused: Option<String>,
}

impl Node {
    pub fn is_atomic(&self) -> bool {
        !matches!(self.kind, NodeKind::Bundle { .. })
    }
}

/// The graph, and the lines describing what was held back.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: BTreeMap<String, Node>,
    /// One line per problem: refused definitions, bundle loops, cycles,
    /// missing names, pipeline mismatches, and the tree's warnings.
    pub problems: Vec<Problem>,
}

impl Graph {
    /// Builds the graph of `tree`, with `external` names provided by the
    /// caller (an external name also defined in the tree is the tree's).
    pub fn build(tree: &Tree, external: &[&str]) -> Graph {
        let mut g = Graph {
            nodes: BTreeMap::new(),
            problems: tree.refused.clone(),
        };
        g.problems.extend(tree.warnings.iter().cloned());
        for p in &tree.refused {
            g.nodes
                .insert(p.service.clone(), refused_node(&p.service, p.why.clone()));
        }
        let mut raw_contents: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in &tree.definitions {
            if g.nodes.contains_key(&d.name) {
                continue;
            }
            let kind = match &d.kind {
                Kind::Longrun { readiness } => NodeKind::Longrun {
                    readiness: *readiness,
                },
                Kind::Oneshot { up, down } => NodeKind::Oneshot {
                    up: up.clone(),
                    down: down.clone(),
                },
                Kind::Bundle { contents } => {
                    raw_contents.insert(d.name.clone(), contents.clone());
                    NodeKind::Bundle {
                        members: Vec::new(),
                    }
                }
            };
            g.nodes.insert(d.name.clone(), node_of(d, kind));
        }
        for name in external {
            g.nodes.entry(name.to_string()).or_insert_with(|| Node {
                name: name.to_string(),
                kind: NodeKind::External,
                dir: PathBuf::new(),
                needs: Vec::new(),
                timeout_up: None,
                timeout_down: None,
                essential: false,
                refused: None,
            });
        }
        g.add_pipelines(tree, &mut raw_contents);
        g.expand_bundles(&raw_contents);
        g.expand_needs();
        g.refuse_cycles();
        g.report_missing();
        g
    }

    /// Every name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(|s| s.as_str())
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    /// The atomic names `name` stands for: itself for an atomic service,
    /// a bundle's members (for `svctl restart BUNDLE`); empty if unknown.
    pub fn members(&self, name: &str) -> Vec<String> {
        match self.nodes.get(name) {
            Some(Node {
                kind: NodeKind::Bundle { members },
                ..
            }) => members.clone(),
            Some(_) => vec![name.to_string()],
            None => Vec::new(),
        }
    }

    /// Every atomic name needed to bring `targets` up (the targets' members
    /// and, transitively, what they need), sorted. Missing names are
    /// included: they are waited for.
    pub fn closure<'a>(&self, targets: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut todo: Vec<String> = Vec::new();
        for t in targets {
            if self.nodes.contains_key(t) {
                todo.extend(self.members(t));
            } else {
                todo.push(t.to_string());
            }
        }
        while let Some(n) = todo.pop() {
            if !out.insert(n.clone()) {
                continue;
            }
            if let Some(node) = self.nodes.get(&n) {
                todo.extend(node.needs.iter().cloned());
            }
        }
        out
    }

    /// Every atomic name in the graph (what a plain scan directory starts).
    pub fn atoms(&self) -> impl Iterator<Item = &str> {
        self.nodes
            .values()
            .filter(|n| n.is_atomic())
            .map(|n| n.name.as_str())
    }

    fn problem(&mut self, service: &str, why: String) {
        self.problems.push(Problem {
            service: service.to_string(),
            why,
        });
    }

    fn add_pipelines(&mut self, tree: &Tree, contents: &mut BTreeMap<String, Vec<String>>) {
        let by_name: BTreeMap<&str, &Definition> = tree
            .definitions
            .iter()
            .map(|d| (d.name.as_str(), d))
            .collect();
        for d in &tree.definitions {
            if let Some(c) = &d.producer_for {
                let agreed = by_name
                    .get(c.as_str())
                    .is_some_and(|cd| cd.consumer_for.contains(&d.name));
                if !agreed {
                    self.problem(
                        &d.name,
                        format!(
                            "producer-for {c}, but {c} does not list {} in its consumer-for",
                            d.name
                        ),
                    );
                }
                // The consumer is needed first either way: the order is
                // what the author asked for.
                if let Some(node) = self.nodes.get_mut(&d.name) {
                    node.needs.push(c.clone());
                }
            }
            for p in &d.consumer_for {
                let agreed = by_name
                    .get(p.as_str())
                    .is_some_and(|pd| pd.producer_for.as_deref() == Some(&d.name));
                if !agreed {
                    self.problem(
                        &d.name,
                        format!(
                            "consumer-for {p}, but {p} does not name {} in its producer-for",
                            d.name
                        ),
                    );
                }
            }
            if let Some(bundle) = &d.pipeline_name {
                if self.nodes.contains_key(bundle) {
                    self.problem(
                        &d.name,
                        format!("pipeline-name {bundle}: that name is already defined"),
                    );
                    continue;
                }
                // The pipeline: this last consumer and its producers, back
                // to the first ones.
                let mut members = BTreeSet::new();
                let mut todo = vec![d.name.clone()];
                while let Some(n) = todo.pop() {
                    if !members.insert(n.clone()) {
                        continue;
                    }
                    if let Some(nd) = by_name.get(n.as_str()) {
                        todo.extend(nd.consumer_for.iter().cloned());
                    }
                }
                contents.insert(bundle.clone(), members.into_iter().collect());
                self.nodes.insert(
                    bundle.clone(),
                    Node {
                        name: bundle.clone(),
                        kind: NodeKind::Bundle {
                            members: Vec::new(),
                        },
                        dir: d.dir.clone(),
                        needs: Vec::new(),
                        timeout_up: None,
                        timeout_down: None,
                        essential: false,
                        refused: None,
                    },
                );
            }
        }
    }

    /// Resolves every bundle to its atomic members; a bundle that contains
    /// itself is refused with the loop's path.
    fn expand_bundles(&mut self, contents: &BTreeMap<String, Vec<String>>) {
        for name in contents.keys() {
            let mut members = BTreeSet::new();
            let mut path = vec![name.clone()];
            match self.expand_one(name, contents, &mut path, &mut members) {
                Ok(()) => {
                    if let Some(n) = self.nodes.get_mut(name) {
                        n.kind = NodeKind::Bundle {
                            members: members.into_iter().collect(),
                        };
                    }
                }
                Err(loop_path) => {
                    let why = format!("bundle contains itself: {}", loop_path.join(" -> "));
                    self.problem(name, why.clone());
                    if let Some(n) = self.nodes.get_mut(name) {
                        n.refused = Some(why);
                        // What needs a refused bundle is blocked by it.
                        n.kind = NodeKind::Bundle {
                            members: vec![name.clone()],
                        };
                    }
                }
            }
        }
    }

    fn expand_one(
        &self,
        bundle: &str,
        contents: &BTreeMap<String, Vec<String>>,
        path: &mut Vec<String>,
        out: &mut BTreeSet<String>,
    ) -> Result<(), Vec<String>> {
        for m in contents.get(bundle).into_iter().flatten() {
            if contents.contains_key(m) {
                if let Some(at) = path.iter().position(|p| p == m) {
                    let mut l = path[at..].to_vec();
                    l.push(m.clone());
                    return Err(l);
                }
                path.push(m.clone());
                self.expand_one(m, contents, path, out)?;
                path.pop();
            } else {
                out.insert(m.clone());
            }
        }
        Ok(())
    }

    /// Replaces bundle names in every atom's needs by their members.
    fn expand_needs(&mut self) {
        let bundles: BTreeMap<String, Vec<String>> = self
            .nodes
            .values()
            .filter_map(|n| match &n.kind {
                NodeKind::Bundle { members } => Some((n.name.clone(), members.clone())),
                _ => None,
            })
            .collect();
        for node in self.nodes.values_mut() {
            if !node.is_atomic() {
                continue;
            }
            let mut needs = BTreeSet::new();
            for d in &node.needs {
                match bundles.get(d) {
                    Some(m) => needs.extend(m.iter().cloned()),
                    None => {
                        needs.insert(d.clone());
                    }
                }
            }
            needs.remove(&node.name);
            node.needs = needs.into_iter().collect();
        }
    }

    /// Refuses every atomic service on a dependency cycle, one line per
    /// cycle with its path (Tarjan's strongly connected components, so a
    /// cycle is found once however many ways lead into it).
    fn refuse_cycles(&mut self) {
        let names: Vec<String> = self.atoms().map(|s| s.to_string()).collect();
        let index_of: BTreeMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let edges: Vec<Vec<usize>> = names
            .iter()
            .map(|n| {
                self.nodes[n]
                    .needs
                    .iter()
                    .filter_map(|d| index_of.get(d.as_str()).copied())
                    .collect()
            })
            .collect();
        for comp in strongly_connected(&edges) {
            if comp.len() < 2 {
                continue;
            }
            let members: BTreeSet<usize> = comp.iter().copied().collect();
            let path = cycle_path(&edges, &members);
            let line: Vec<&str> = path.iter().map(|&i| names[i].as_str()).collect();
            let why = format!("dependency cycle: {}", line.join(" -> "));
            let first = names[*members.iter().next().unwrap_or(&0)].clone();
            self.problem(&first, why.clone());
            for &i in &members {
                if let Some(n) = self.nodes.get_mut(&names[i]) {
                    n.refused.get_or_insert_with(|| why.clone());
                }
            }
        }
    }

    fn report_missing(&mut self) {
        let mut lines = Vec::new();
        for node in self.nodes.values() {
            let missing: Vec<&str> = node
                .needs
                .iter()
                .filter(|d| !self.nodes.contains_key(*d))
                .map(|d| d.as_str())
                .collect();
            if !missing.is_empty() {
                lines.push((
                    node.name.clone(),
                    format!(
                        "needs {}, not defined (waiting for it to appear)",
                        missing.join(", ")
                    ),
                ));
            }
            if let NodeKind::Bundle { members } = &node.kind {
                let missing: Vec<&str> = members
                    .iter()
                    .filter(|d| !self.nodes.contains_key(*d))
                    .map(|d| d.as_str())
                    .collect();
                if !missing.is_empty() {
                    lines.push((
                        node.name.clone(),
                        format!("bundle member {} not defined", missing.join(", ")),
                    ));
                }
            }
        }
        for (s, why) in lines {
            self.problem(&s, why);
        }
    }
}

fn node_of(d: &Definition, kind: NodeKind) -> Node {
    Node {
        name: d.name.clone(),
        kind,
        dir: d.dir.clone(),
        needs: d.dependencies.clone(),
        timeout_up: d.timeout_up,
        timeout_down: d.timeout_down,
        essential: d.essential,
        refused: None,
    }
}

fn refused_node(name: &str, why: String) -> Node {
    Node {
        name: name.to_string(),
        // What it was meant to be is unknown; it never runs.
        kind: NodeKind::External,
        dir: PathBuf::new(),
        needs: Vec::new(),
        timeout_up: None,
        timeout_down: None,
        essential: false,
        refused: Some(why),
    }
}

/// Tarjan's algorithm, iterative (no recursion depth limit on big
/// graphs). Returns the components.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = edges.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // (node, next edge to look at)
        let mut work = vec![(root, 0usize)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut ei)) = work.last_mut() {
            if let Some(&w) = edges[v].get(*ei) {
                *ei += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(comp);
            }
        }
    }
    out
}

/// One cycle through a strongly connected component, as a path that
/// starts and ends at its smallest member.
fn cycle_path(edges: &[Vec<usize>], members: &BTreeSet<usize>) -> Vec<usize> {
    let Some(&start) = members.iter().next() else {
        return Vec::new();
    };
    // Breadth-first from start back to start, inside the component: the
    // shortest cycle through it, so the line stays readable.
    let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in &edges[v] {
            if !members.contains(&w) {
                continue;
            }
            if w == start {
                // v back to start through prev, then turned around.
                let mut path = vec![v];
                let mut at = v;
                while at != start {
                    let Some(&p) = prev.get(&at) else { break };
                    at = p;
                    path.push(at);
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(w) {
                e.insert(v);
                queue.push_back(w);
            }
        }
    }
    vec![start, start]
}
