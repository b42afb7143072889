//! Container lifecycle building blocks (issue 4).
