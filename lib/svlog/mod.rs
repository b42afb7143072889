//! svlog (being built; see the open issue).
