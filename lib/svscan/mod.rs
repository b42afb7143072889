//! svscan (being built; see the open issue).
