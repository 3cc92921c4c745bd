//! Live run events in the browser: a Leptos-friendly handle around the pure connection
//! manager (`youmeyou_core::transport`). It opens a WebSocket first, falls back to SSE and then
//! long polling when WebSockets do not work, probes back to WebSocket every 60 s, retries with
//! jittered backoff forever, de-duplicates by `seq` and resumes after the last `seq` seen when
//! it detects a gap. On the server (SSR) the handle is inert; the work happens after hydration.
//!
//! # API
//!
//! ```ignore
//! use crate::components::realtime::{connect, ConnectionState, Envelope, Options, Target};
//!
//! // In a component: watch one run (or `Target::Project(id)` for every run of a project).
//! let live = connect(Target::Run(run_id.clone()), Options::default(), move |event: Envelope| {
//!     // Called once per event, in seq order per run, never twice for the same seq.
//!     // `event.kind` is the contract's type ("taskStarted", …, or "snapshot": the run's
//!     // state as of `event.seq`, sent when the asked-for history does not exist).
//!     set_events.update(|v| v.push(event));
//! });
//! // A signal of the connection state for a status badge:
//! let badge = move || match live.state.get() {
//!     ConnectionState::Live => "live",
//!     ConnectionState::Fallback(_) => "live (fallback)",
//!     ConnectionState::Reconnecting { .. } => "reconnecting…",
//!     ConnectionState::Offline => "offline",
//!     ConnectionState::Denied { .. } => "no access",
//! };
//! ```
//!
//! - [`Options::build_token`]: a run's build token, for watchers without a session cookie
//!   (sent as the WebSocket's first message, as `?token=` on SSE, as a bearer on polling).
//! - [`Options::resume_from`]: `(runId, lastSeq)` already known (e.g. from the snapshot the page
//!   loaded), so the stream starts after it instead of at seq 1.
//! - [`RealtimeHandle::close`] stops everything (done automatically when the owning component
//!   is cleaned up); [`RealtimeHandle::retry`] restarts after `Denied` (e.g. with a new token).

#[cfg(feature = "hydrate")]
mod browser;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
pub use youmeyou_core::transport::{Config, ConnectionState, Fallback, Target};

/// One event as the transports deliver it: `{seq, runId, type, ts, data}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub seq: u64,
    #[serde(rename = "runId")]
    pub run_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub ts: String,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl Envelope {
    /// Parses one transport message; `None` for control messages (`connected`, `pong`, ...)
    /// and anything that is not an envelope.
    pub fn parse(text: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        value.get("seq")?.as_u64()?;
        serde_json::from_value(value).ok()
    }
}

/// How to connect.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A build token (third-party watchers without a session).
    pub build_token: Option<String>,
    /// Another server than the page's, e.g. `https://youmeyou.example` (no trailing slash).
    pub base_url: Option<String>,
    /// Timing of the connection manager (3 s connect timeout, 60 s upgrade probe, …).
    pub config: Config,
    /// Last seq already known per run.
    pub resume_from: Vec<(String, u64)>,
}

/// A live subscription. `Copy`, so it can move into views and callbacks.
#[derive(Clone, Copy)]
pub struct RealtimeHandle {
    /// The connection state, for the UI.
    pub state: ReadSignal<ConnectionState>,
    #[cfg(feature = "hydrate")]
    driver: StoredValue<Option<browser::Shared>, LocalStorage>,
}

impl RealtimeHandle {
    /// Closes every connection and stops retrying.
    pub fn close(&self) {
        #[cfg(feature = "hydrate")]
        self.driver.with_value(|d| {
            if let Some(d) = d {
                browser::close(d);
            }
        });
    }

    /// Starts again (after `Denied`, or after `close`).
    pub fn retry(&self) {
        #[cfg(feature = "hydrate")]
        self.driver.with_value(|d| {
            if let Some(d) = d {
                browser::retry(d);
            }
        });
    }
}

/// Starts watching `target`; `on_event` receives each new event once, in order per run.
pub fn connect(
    target: Target,
    options: Options,
    on_event: impl Fn(Envelope) + 'static,
) -> RealtimeHandle {
    let (state, set_state) = signal(ConnectionState::Reconnecting { attempt: 0 });
    #[cfg(feature = "hydrate")]
    {
        let driver = browser::start(target, options, set_state, std::rc::Rc::new(on_event));
        let stored = StoredValue::new_local(Some(driver));
        on_cleanup(move || {
            stored.with_value(|d| {
                if let Some(d) = d {
                    browser::close(d);
                }
            })
        });
        RealtimeHandle {
            state,
            driver: stored,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (target, options, on_event, set_state);
        RealtimeHandle { state }
    }
}
