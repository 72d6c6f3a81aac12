//! The trailhound command.
fn main() {}
