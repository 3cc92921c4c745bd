//! The multi-instance mode's Redis side (docs/DEPLOY.md): PostgreSQL is the truth, Redis the
//! signal. `link` holds the connections and Redis' health; `relay` carries committed events
//! to the instances whose clients watch them (the [`relay::ClusterBus`]); `limits` shares rate
//! limits and run slots between instances. Without `REDIS_URL` none of this runs and the
//! in-process bus serves one instance.

pub mod commands;
pub mod limits;
pub mod link;
pub mod relay;

pub use link::RedisLink;
