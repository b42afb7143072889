//! chpst (being built; see the open issue).
