//! The model artifact.
/// Placeholder.
#[derive(Debug)]
pub struct Model;
