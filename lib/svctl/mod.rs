//! svctl (being built; see the open issue).
