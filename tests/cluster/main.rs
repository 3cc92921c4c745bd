//! The multi-instance mode with real processes: three `youmeyou serve` instances on one
//! PostgreSQL schema and one Redis prefix. Delivery across instances on all three transports,
//! commands reaching a run's owner, failover by lease after `kill -9` (the chaos test), fencing
//! of a paused owner, hand-back on SIGTERM, and Redis outages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/process.rs"]
mod process;
#[path = "../support/services.rs"]
mod services;

mod commands;
mod delivery;
mod failover;
mod harness;
mod outage;
mod queue;
