//! Real-time delivery of run events: the per-process event bus and, on top of it, the
//! WebSocket, SSE and long-polling transports. Transports never invent events: they replay the
//! persisted log and then forward what the bus carries.

pub mod bus;
