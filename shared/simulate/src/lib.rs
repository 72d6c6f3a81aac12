//! Deterministic simulators of AWS logs with injected attack scenarios and labels, for
//! `trailhound simulate`, `demo` and the tests. No Lambda depends on this crate
//! (`scripts/test.sh` checks it); from `trailhound-core` it uses only `timefmt`.
//!
//! [`cloudtrail`] is the public entry point. Its parts: the organisation (`world`,
//! `people`, `roster`, `population`), normal traffic (`normal`, `human`, `machines`,
//! `services`, `pipelines`, `ci`), scenario scripts (`scenarios`, `attacks_*`,
//! `benign`), record rendering (`record`, `identity`, `calls`, `catalog`, `params`,
//! `agents`) and the S3 layout (`layout`).
//!
//! [`net`] simulates VPC Flow Logs and web access logs, delivered as CloudWatch Logs
//! subscription payloads.

pub mod cloudtrail;
pub mod net;

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
