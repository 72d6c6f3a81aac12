//! Deterministic simulators of AWS logs with injected attack scenarios and labels.
//!
//! [`cloudtrail`] is the public entry point; the other modules are its parts: the
//! account ([`world`](self) and its population), the normal traffic generators, the
//! scenario scripts, record rendering and the S3 layout.

pub mod cloudtrail;

mod agents;
mod attacks;
mod attacks_data;
mod benign;
mod calls;
mod catalog;
mod human;
mod identity;
mod ids;
mod layout;
mod machines;
mod normal;
mod params;
mod pipelines;
mod population;
mod record;
mod scenario;
mod scenarios;
mod timefmt;
mod world;
