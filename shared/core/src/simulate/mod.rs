//! Deterministic simulators of AWS logs with injected attack scenarios and labels.
//!
//! [`cloudtrail`] is the public entry point; the other modules are its parts: the
//! account ([`world`](self) and its population), the normal traffic generators, the
//! scenario scripts, record rendering and the S3 layout.

pub mod cloudtrail;

mod agents;
mod attacks_access;
mod attacks_data;
mod attacks_evasion;
mod attacks_persistence;
mod benign;
mod calls;
mod catalog;
mod ci;
mod human;
mod identity;
mod ids;
mod layout;
mod machines;
mod normal;
mod params;
mod people;
mod pipelines;
mod population;
mod record;
mod roster;
mod scenario;
mod scenarios;
mod services;
mod timefmt;
mod world;
