//! What the connection indicator shows, derived from the shared real-time client's state
//! (`components::realtime`): live over WebSocket, live over SSE or polling (fallbacks),
//! reconnecting, offline, no access, or idle when there is nothing to follow. Pure.

use serde::{Deserialize, Serialize};
use youmeyou_core::transport::{ConnectionState, Fallback};

/// How events currently arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transport {
    WebSocket,
    Sse,
    Polling,
}

/// The indicator's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ConnState {
    /// Nothing to follow (no run, or the run ended).
    #[default]
    Idle,
    Live(Transport),
    Reconnecting,
    Offline,
    /// The server refused the stream (signed out, or not this user's run).
    Denied,
}

impl ConnState {
    /// From the real-time client's state.
    pub fn from_transport(state: ConnectionState) -> Self {
        match state {
            ConnectionState::Live => ConnState::Live(Transport::WebSocket),
            ConnectionState::Fallback(Fallback::Sse) => ConnState::Live(Transport::Sse),
            ConnectionState::Fallback(Fallback::Polling) => ConnState::Live(Transport::Polling),
            ConnectionState::Reconnecting { .. } => ConnState::Reconnecting,
            ConnectionState::Offline => ConnState::Offline,
            ConnectionState::Denied { .. } => ConnState::Denied,
        }
    }

    /// Stable key for tests and CSS (`data-state`).
    pub fn key(self) -> &'static str {
        match self {
            ConnState::Idle => "idle",
            ConnState::Live(Transport::WebSocket) => "live",
            ConnState::Live(Transport::Sse) => "sse",
            ConnState::Live(Transport::Polling) => "polling",
            ConnState::Reconnecting => "reconnecting",
            ConnState::Offline => "offline",
            ConnState::Denied => "denied",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConnState::Idle => "Not streaming",
            ConnState::Live(Transport::WebSocket) => "Live",
            ConnState::Live(Transport::Sse) => "Live (SSE)",
            ConnState::Live(Transport::Polling) => "Live (polling)",
            ConnState::Reconnecting => "Reconnecting…",
            ConnState::Offline => "Offline",
            ConnState::Denied => "No access",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transport_state_has_an_indicator() {
        let cases = [
            (ConnectionState::Live, "live", "Live"),
            (
                ConnectionState::Fallback(Fallback::Sse),
                "sse",
                "Live (SSE)",
            ),
            (
                ConnectionState::Fallback(Fallback::Polling),
                "polling",
                "Live (polling)",
            ),
            (
                ConnectionState::Reconnecting { attempt: 2 },
                "reconnecting",
                "Reconnecting…",
            ),
            (ConnectionState::Offline, "offline", "Offline"),
            (
                ConnectionState::Denied { code: 4401 },
                "denied",
                "No access",
            ),
        ];
        for (state, key, label) in cases {
            let c = ConnState::from_transport(state);
            assert_eq!((c.key(), c.label()), (key, label), "{state:?}");
        }
        assert_eq!(ConnState::default().key(), "idle");
    }
}
