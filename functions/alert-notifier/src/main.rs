//! Placeholder until the function is built.
fn main() {}
