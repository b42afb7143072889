//! supervisor (being built; see the open issue).
