//! Failover by lease (filled in below).
