//! YouMeYou's pure core: the contract's types and every rule that needs no IO — plan
//! validation, the task DAG, impact analysis, capacity maths, canvas merge and layout, and the
//! built-in rules-and-templates engine. No clock, no randomness, no network, no database: the
//! server and the WASM client both compile it, and its tests run in milliseconds.

pub mod canvas;
pub mod capacity;
pub mod dag;
pub mod domains;
pub mod engine;
pub mod impact;
pub mod model;
pub mod plan;
pub mod transport;
