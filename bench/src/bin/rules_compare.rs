//! Placeholder; the rules comparison is being written.
fn main() {}
