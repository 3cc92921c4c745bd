//! The WebSocket wire protocol: what clients may send (parsed defensively: any bytes in, a
//! typed message or a typed error out, never a panic), what the server sends besides event
//! envelopes, and the close codes. Pure: no IO, no clock.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Largest client message accepted (bytes); larger ones close the connection with 1009.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024;
/// Longest run id accepted in a `resume` (ids are opaque but short).
pub const MAX_RUN_ID_LEN: usize = 128;
/// Longest token accepted in an `auth`.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Close codes the server uses (4000–4999 are application codes).
pub mod close {
    /// Normal closure (idle timeout, server shutdown: reconnect when needed).
    pub const NORMAL: u16 = 1000;
    /// Going away: the peer stopped answering heartbeats.
    pub const GOING_AWAY: u16 = 1001;
    /// Policy violation (e.g. a binary frame flood).
    pub const POLICY: u16 = 1008;
    /// A client message over 64 KiB.
    pub const TOO_BIG: u16 = 1009;
    /// Internal error (the store failed); reconnect with backoff.
    pub const INTERNAL: u16 = 1011;
    /// The server is at its connection limit; retry later.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// The client did not read fast enough (its queue overflowed); resume from the last `seq`.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// Missing, invalid or expired credentials, or no `auth` within the time allowed.
    pub const UNAUTHORIZED: u16 = 4401;
    /// Authenticated but not allowed (e.g. a build token of another run).
    pub const FORBIDDEN: u16 = 4403;
    /// The run or project does not exist (or is not the viewer's).
    pub const NOT_FOUND: u16 = 4404;
    /// Too many messages (rate limit abused) or too many connections for this viewer.
    pub const RATE_LIMITED: u16 = 4029;
}

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ClientMessage {
    /// Replay everything of `run_id` after `after_seq`, then live.
    #[serde(rename_all = "camelCase")]
    Resume { run_id: String, after_seq: u64 },
    /// Answered by `{"type":"pong"}`.
    Ping,
    /// First-message authentication with a session or build token.
    Auth { token: String },
}

impl ClientMessage {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a client message was refused; sent as `{"type":"error","code","message"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError {
    pub code: &'static str,
    pub message: String,
}

impl ProtocolError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> String {
        error_json(self.code, &self.message)
    }
}

/// Parses one text message. Never panics, whatever the input.
pub fn parse(text: &str) -> Result<ClientMessage, ProtocolError> {
    if text.len() > MAX_CLIENT_MESSAGE_BYTES {
        return Err(ProtocolError::new(
            "too_large",
            format!("messages are limited to {MAX_CLIENT_MESSAGE_BYTES} bytes"),
        ));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ProtocolError::new("invalid_json", format!("the message is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(ProtocolError::new(
            "invalid_message",
            "a message is a JSON object with a \"type\"",
        ));
    };
    let kind = match map.get("type") {
        Some(Value::String(s)) => s.as_str(),
        _ => {
            return Err(ProtocolError::new(
                "invalid_message",
                "a message needs a string \"type\": resume, ping or auth",
            ))
        }
    };
    match kind {
        "ping" => Ok(ClientMessage::Ping),
        "resume" => {
            let run_id = match map.get("runId") {
                Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_RUN_ID_LEN => s.clone(),
                _ => {
                    return Err(ProtocolError::new(
                        "invalid_message",
                        format!("resume needs \"runId\": a non-empty string of at most {MAX_RUN_ID_LEN} characters"),
                    ))
                }
            };
            let after_seq = match map.get("afterSeq") {
                None | Some(Value::Null) => 0,
                Some(v) => v.as_u64().ok_or_else(|| {
                    ProtocolError::new(
                        "invalid_message",
                        "\"afterSeq\" must be a whole number ≥ 0 (the last seq you saw)",
                    )
                })?,
            };
            Ok(ClientMessage::Resume { run_id, after_seq })
        }
        "auth" => match map.get("token") {
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_TOKEN_LEN => {
                Ok(ClientMessage::Auth { token: s.clone() })
            }
            _ => Err(ProtocolError::new(
                "invalid_message",
                "auth needs \"token\": a session or build token",
            )),
        },
        other => Err(ProtocolError::new(
            "unknown_type",
            format!(
                "unknown message type \"{}\"; expected resume, ping or auth",
                truncate(other, 40)
            ),
        )),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `{"type":"connected","clientId","timestamp","authenticated"}`: always the first message.
pub fn connected_json(client_id: &str, timestamp: &str, authenticated: bool) -> String {
    json!({"type": "connected", "clientId": client_id, "timestamp": timestamp, "authenticated": authenticated}).to_string()
}

/// `{"type":"authenticated"}`: the `auth` message was accepted.
pub fn authenticated_json() -> String {
    json!({"type": "authenticated"}).to_string()
}

pub fn pong_json() -> String {
    r#"{"type":"pong"}"#.to_string()
}

pub fn error_json(code: &str, message: &str) -> String {
    json!({"type": "error", "code": code, "message": message}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_messages_parse() {
        assert_eq!(parse(r#"{"type":"ping"}"#), Ok(ClientMessage::Ping));
        assert_eq!(
            parse(r#"{"type":"resume","runId":"r1","afterSeq":41}"#),
            Ok(ClientMessage::Resume {
                run_id: "r1".into(),
                after_seq: 41
            })
        );
        assert_eq!(
            parse(r#"{"type":"auth","token":"abc"}"#),
            Ok(ClientMessage::Auth {
                token: "abc".into()
            })
        );
    }

    #[test]
    fn bad_messages_have_codes() {
        let code = |s: &str| parse(s).err().map(|e| e.code);
        assert_eq!(code("{"), Some("invalid_json"));
        assert_eq!(code("[1]"), Some("invalid_message"));
        assert_eq!(code(r#"{"type":7}"#), Some("invalid_message"));
        assert_eq!(code(r#"{"type":"subscribe"}"#), Some("unknown_type"));
        assert_eq!(
            code(r#"{"type":"resume","runId":"r","afterSeq":-1}"#),
            Some("invalid_message")
        );
        assert_eq!(
            code(r#"{"type":"resume","afterSeq":1}"#),
            Some("invalid_message")
        );
        assert_eq!(
            code(r#"{"type":"auth","token":""}"#),
            Some("invalid_message")
        );
    }
}
