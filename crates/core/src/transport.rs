//! The client's real-time connection manager as a pure state machine: which transport to use
//! (WebSocket first, then SSE, then long polling), when to retry (exponential backoff with full
//! jitter, capped, never giving up), when to try upgrading back to WebSocket, and whether an
//! incoming event is new, a duplicate or reveals a gap (then: resume from the last seq seen).
//! No IO, no clock, no randomness: the caller passes `now` (milliseconds) and a uniform random
//! number in `[0, 1)`, performs the returned [`Command`]s and calls [`Manager::on_tick`] at
//! [`Manager::next_deadline`]. The browser glue lives in the app (`components/realtime`).
//!
//! Rules:
//! - Start with a WebSocket. If it does not open within `connect_timeout` (3 s), or fails
//!   `max_failures` (3) times in a row, fall back to SSE; SSE likewise falls back to polling.
//!   Polling retries forever.
//! - While on a fallback, probe a WebSocket every `upgrade_interval` (60 s); when the probe
//!   opens it replaces the fallback (events are de-duplicated by seq, so the overlap is safe).
//! - Retries wait `random × min(cap, base × 2^attempt)` ("full jitter"), cap 30 s. A
//!   connection counts as healthy (resetting the failure count) once it stayed open 10 s.
//! - Close 4008 (slow consumer) reconnects at once; 4401/4403/4404 stop in [`ConnectionState::Denied`]
//!   until [`Manager::retry`]; the browser going offline parks in `Offline` until it is back.
//! - Project streams have no SSE/polling equivalent: they retry WebSockets only.

use std::collections::BTreeMap;

/// Milliseconds on the caller's clock (e.g. `Date.now()`).
pub type Millis = u64;

/// A transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    WebSocket,
    Sse,
    Polling,
}

/// The fallback in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    Sse,
    Polling,
}

/// What the UI shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Events arrive over the WebSocket.
    Live,
    /// Connecting, or waiting to retry; `attempt` counts consecutive failures.
    Reconnecting { attempt: u32 },
    /// Events arrive over SSE or long polling (degraded but live).
    Fallback(Fallback),
    /// The browser is offline; reconnects when it is back.
    Offline,
    /// The server refused access (close code or HTTP status); stays until [`Manager::retry`].
    Denied { code: u16 },
}

/// What is watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Run(String),
    Project(String),
}

/// Timing knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub connect_timeout: Millis,
    pub max_failures: u32,
    pub upgrade_interval: Millis,
    pub backoff_base: Millis,
    pub backoff_cap: Millis,
    /// A connection that stayed open this long was healthy: its drop starts a new failure count.
    pub stable_after: Millis,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connect_timeout: 3_000,
            max_failures: 3,
            upgrade_interval: 60_000,
            backoff_base: 500,
            backoff_cap: 30_000,
            stable_after: 10_000,
        }
    }
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Open a connection of `kind` identified by `id`. Resume from [`Manager::last_seq`]:
    /// WebSocket `?afterSeq=` (run) or `resume` messages (project), SSE `?lastEventId=`,
    /// polling `?after=`. `fallback` asks to add `?fallback=1`.
    Open { id: u64, kind: Kind, fallback: bool },
    /// Close connection `id` (and ignore anything it still reports).
    Close { id: u64 },
    /// Send `{"type":"resume","runId","afterSeq"}` on WebSocket `id`.
    Resume {
        id: u64,
        run_id: String,
        after_seq: u64,
    },
}

/// What to do with an incoming event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// New and in order: hand it to the UI.
    Deliver,
    /// Already seen (seq ≤ last): drop it.
    Duplicate,
    /// Events are missing before it: drop it; the returned commands resume after `after_seq`.
    Gap { after_seq: u64 },
    /// From a connection that is no longer current: drop it.
    Stale,
}

/// What a WebSocket text frame from the server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsFrame {
    /// The socket is authenticated and usable (`connected` with `authenticated: true`, or
    /// `authenticated` after a first-message token).
    Ready,
    /// A run event (it has a `seq`), whatever its `type`: the contract has an event type
    /// `error` (e.g. an LLM warning) that must not be mistaken for a control frame.
    Event,
    /// A control frame that needs nothing (`pong`, a protocol `error`, an unauthenticated
    /// `connected`) or something unknown.
    Other,
}

/// Classifies a WebSocket text frame already parsed as JSON.
pub fn classify_ws_frame(frame: &serde_json::Value) -> WsFrame {
    if frame.get("seq").is_some() {
        return WsFrame::Event;
    }
    match frame.get("type").and_then(serde_json::Value::as_str) {
        Some("connected")
            if frame
                .get("authenticated")
                .and_then(serde_json::Value::as_bool)
                == Some(true) =>
        {
            WsFrame::Ready
        }
        Some("authenticated") => WsFrame::Ready,
        _ => WsFrame::Other,
    }
}

/// The wait before retry number `attempt` (0-based): `random × min(cap, base × 2^attempt)`.
pub fn backoff_delay(config: &Config, attempt: u32, random: f64) -> Millis {
    let ceiling = config
        .backoff_base
        .saturating_mul(1u64 << attempt.min(20))
        .min(config.backoff_cap);
    let r = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.5
    };
    (ceiling as f64 * r) as Millis
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Conn {
    id: u64,
    kind: Kind,
    opened: bool,
    started: Millis,
    opened_at: Millis,
}

/// The connection manager. One per watched run or project.
#[derive(Debug, Clone)]
pub struct Manager {
    config: Config,
    target: Target,
    state: ConnectionState,
    /// The transport tried now: WebSocket, or the fallback level reached.
    level: Kind,
    active: Option<Conn>,
    /// A WebSocket opened while on a fallback, to upgrade.
    probe: Option<Conn>,
    failures: u32,
    attempt: u32,
    retry_at: Option<Millis>,
    upgrade_at: Option<Millis>,
    last: BTreeMap<String, u64>,
    /// Runs with a resume in flight (after_seq asked), so a gap asks only once.
    resuming: BTreeMap<String, u64>,
    next_id: u64,
    online: bool,
}

impl Manager {
    pub fn new(target: Target, config: Config) -> Self {
        let mut last = BTreeMap::new();
        if let Target::Run(run) = &target {
            // A run watcher wants everything from seq 1.
            last.insert(run.clone(), 0);
        }
        Self {
            config,
            target,
            state: ConnectionState::Reconnecting { attempt: 0 },
            level: Kind::WebSocket,
            active: None,
            probe: None,
            failures: 0,
            attempt: 0,
            retry_at: None,
            upgrade_at: None,
            last,
            resuming: BTreeMap::new(),
            next_id: 0,
            online: true,
        }
    }

    pub fn state(&self) -> ConnectionState {
        self.state
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The last seq delivered for `run_id` (0 = nothing yet; `None` = unknown run).
    pub fn last_seq(&self, run_id: &str) -> Option<u64> {
        self.last.get(run_id).copied()
    }

    /// Every run with its last seq (what a new WebSocket must resume).
    pub fn resume_points(&self) -> Vec<(String, u64)> {
        self.last.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// Remembers where a run stands (e.g. from a snapshot the page loaded) so the stream
    /// resumes after it.
    pub fn seed(&mut self, run_id: &str, last_seq: u64) {
        let e = self.last.entry(run_id.to_string()).or_insert(0);
        *e = (*e).max(last_seq);
    }

    /// The kind and id of the connection that currently delivers (or is being opened).
    pub fn current(&self) -> Option<(u64, Kind)> {
        self.active.map(|c| (c.id, c.kind))
    }

    /// Starts connecting.
    pub fn start(&mut self, now: Millis) -> Vec<Command> {
        self.level = Kind::WebSocket;
        self.failures = 0;
        self.attempt = 0;
        self.open(now)
    }

    /// When [`Manager::on_tick`] must be called next.
    pub fn next_deadline(&self) -> Option<Millis> {
        let connect = |c: &Option<Conn>| {
            c.filter(|c| !c.opened)
                .map(|c| c.started + self.config.connect_timeout)
        };
        [
            self.retry_at,
            self.upgrade_at,
            connect(&self.active),
            connect(&self.probe),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Connection `id` is open (WebSocket: authenticated; SSE: `open` fired; polling: the first
    /// answer came).
    pub fn on_open(&mut self, id: u64, now: Millis) -> Vec<Command> {
        let mut out = Vec::new();
        if let Some(p) = self.probe.filter(|p| p.id == id) {
            // The upgrade worked: the WebSocket replaces the fallback.
            if let Some(a) = self.active.take() {
                out.push(Command::Close { id: a.id });
            }
            self.probe = None;
            self.active = Some(Conn {
                opened: true,
                opened_at: now,
                ..p
            });
            self.level = Kind::WebSocket;
            self.upgrade_at = None;
            self.failures = 0;
            self.attempt = 0;
            self.resuming.clear();
            self.state = ConnectionState::Live;
            return out;
        }
        let Some(a) = self.active.as_mut().filter(|a| a.id == id) else {
            return vec![Command::Close { id }];
        };
        a.opened = true;
        a.opened_at = now;
        let kind = a.kind;
        self.resuming.clear();
        self.state = match kind {
            Kind::WebSocket => {
                self.upgrade_at = None;
                ConnectionState::Live
            }
            Kind::Sse => {
                self.upgrade_at = Some(now + self.config.upgrade_interval);
                ConnectionState::Fallback(Fallback::Sse)
            }
            Kind::Polling => {
                self.upgrade_at = Some(now + self.config.upgrade_interval);
                ConnectionState::Fallback(Fallback::Polling)
            }
        };
        out
    }

    /// Connection `id` failed or closed. `code` is the WebSocket close code or, for SSE and
    /// polling, an HTTP status when known (401/403/404 stop; others retry).
    pub fn on_close(
        &mut self,
        id: u64,
        code: Option<u16>,
        now: Millis,
        random: f64,
    ) -> Vec<Command> {
        if self.probe.is_some_and(|p| p.id == id) {
            self.probe = None;
            self.upgrade_at = Some(now + self.config.upgrade_interval);
            return Vec::new();
        }
        let Some(a) = self.active.filter(|a| a.id == id) else {
            return Vec::new();
        };
        self.active = None;
        self.resuming.clear();
        match code {
            Some(4401 | 4403 | 4404 | 401 | 403 | 404) => {
                let mut out = Vec::new();
                if let Some(p) = self.probe.take() {
                    out.push(Command::Close { id: p.id });
                }
                self.retry_at = None;
                self.upgrade_at = None;
                self.state = ConnectionState::Denied {
                    code: code.unwrap_or(0),
                };
                return out;
            }
            // Slow consumer: the server asks us to resume; not a failure of the transport.
            Some(4008) => return self.open(now),
            _ => {}
        }
        if a.opened && now >= a.opened_at + self.config.stable_after {
            // It worked for a while: this is a new outage, not one more failure in a row.
            self.failures = 0;
            self.attempt = 0;
        }
        self.failures += 1;
        if self.failures >= self.config.max_failures
            || (!a.opened
                && a.kind != Kind::Polling
                && now >= a.started + self.config.connect_timeout)
        {
            self.step_down();
        }
        self.schedule_retry(now, random);
        Vec::new()
    }

    /// Time passed: connect timeouts, retries and upgrade probes.
    pub fn on_tick(&mut self, now: Millis, random: f64) -> Vec<Command> {
        let mut out = Vec::new();
        if !self.online {
            return out;
        }
        if let Some(p) = self.probe {
            if !p.opened && now >= p.started + self.config.connect_timeout {
                out.push(Command::Close { id: p.id });
                self.probe = None;
                self.upgrade_at = Some(now + self.config.upgrade_interval);
            }
        }
        if let Some(a) = self.active {
            if !a.opened && now >= a.started + self.config.connect_timeout {
                out.push(Command::Close { id: a.id });
                out.extend(self.on_close(a.id, None, now, random));
            }
        }
        if self.retry_at.is_some_and(|t| now >= t) && self.active.is_none() {
            self.retry_at = None;
            out.extend(self.open(now));
        }
        if self.upgrade_at.is_some_and(|t| now >= t) && self.probe.is_none() {
            self.upgrade_at = None;
            if self
                .active
                .is_some_and(|a| a.opened && a.kind != Kind::WebSocket)
            {
                let id = self.new_id();
                self.probe = Some(Conn {
                    id,
                    kind: Kind::WebSocket,
                    opened: false,
                    started: now,
                    opened_at: 0,
                });
                out.push(Command::Open {
                    id,
                    kind: Kind::WebSocket,
                    fallback: false,
                });
            }
        }
        out
    }

    /// The browser's online status changed.
    pub fn set_online(&mut self, online: bool, now: Millis) -> Vec<Command> {
        if online == self.online {
            return Vec::new();
        }
        self.online = online;
        if !online {
            let mut out: Vec<Command> = [self.active.take(), self.probe.take()]
                .into_iter()
                .flatten()
                .map(|c| Command::Close { id: c.id })
                .collect();
            out.shrink_to_fit();
            self.retry_at = None;
            self.upgrade_at = None;
            self.state = ConnectionState::Offline;
            return out;
        }
        self.start(now)
    }

    /// Starts again after `Denied` (e.g. with a fresh token).
    pub fn retry(&mut self, now: Millis) -> Vec<Command> {
        let mut out: Vec<Command> = [self.active.take(), self.probe.take()]
            .into_iter()
            .flatten()
            .map(|c| Command::Close { id: c.id })
            .collect();
        out.extend(self.start(now));
        out
    }

    /// An event arrived on connection `id`. `snapshot` is true for `type: "snapshot"` (its seq
    /// is the last seq it reflects).
    pub fn on_event(
        &mut self,
        id: u64,
        run_id: &str,
        seq: u64,
        snapshot: bool,
        now: Millis,
    ) -> (Verdict, Vec<Command>) {
        let current = self
            .active
            .filter(|a| a.id == id)
            .or(self.probe.filter(|p| p.id == id));
        let Some(conn) = current else {
            return (Verdict::Stale, Vec::new());
        };
        if snapshot {
            self.last.insert(run_id.to_string(), seq);
            self.resuming.remove(run_id);
            return (Verdict::Deliver, Vec::new());
        }
        let last = match self.last.get(run_id) {
            Some(l) => *l,
            None => {
                // A project stream's first event of a run: live from here.
                self.last.insert(run_id.to_string(), seq);
                return (Verdict::Deliver, Vec::new());
            }
        };
        if seq <= last {
            return (Verdict::Duplicate, Vec::new());
        }
        if seq == last + 1 {
            self.last.insert(run_id.to_string(), seq);
            self.resuming.remove(run_id);
            return (Verdict::Deliver, Vec::new());
        }
        if self.resuming.get(run_id) == Some(&last) {
            // Already asked; the replay is on its way.
            return (Verdict::Gap { after_seq: last }, Vec::new());
        }
        self.resuming.insert(run_id.to_string(), last);
        let commands = match conn.kind {
            Kind::WebSocket => vec![Command::Resume {
                id: conn.id,
                run_id: run_id.to_string(),
                after_seq: last,
            }],
            // SSE resumes by reconnecting with Last-Event-ID.
            Kind::Sse => {
                let mut out = vec![Command::Close { id: conn.id }];
                self.active = None;
                out.extend(self.open_kind(Kind::Sse, now));
                out
            }
            // The next poll asks `after = last` anyway.
            Kind::Polling => Vec::new(),
        };
        (Verdict::Gap { after_seq: last }, commands)
    }

    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn step_down(&mut self) {
        if matches!(self.target, Target::Project(_)) {
            return;
        }
        let next = match self.level {
            Kind::WebSocket => Kind::Sse,
            Kind::Sse | Kind::Polling => Kind::Polling,
        };
        if next != self.level {
            self.level = next;
            self.failures = 0;
            // A new transport is tried at once.
            self.attempt = 0;
        }
    }

    fn schedule_retry(&mut self, now: Millis, random: f64) {
        let delay = backoff_delay(&self.config, self.attempt, random);
        self.attempt = self.attempt.saturating_add(1);
        self.retry_at = Some(now + delay);
        self.state = ConnectionState::Reconnecting {
            attempt: self.attempt,
        };
    }

    fn open(&mut self, now: Millis) -> Vec<Command> {
        self.open_kind(self.level, now)
    }

    fn open_kind(&mut self, kind: Kind, now: Millis) -> Vec<Command> {
        let id = self.new_id();
        self.active = Some(Conn {
            id,
            kind,
            opened: false,
            started: now,
            opened_at: 0,
        });
        self.retry_at = None;
        if !matches!(self.state, ConnectionState::Fallback(_)) || kind == Kind::WebSocket {
            self.state = ConnectionState::Reconnecting {
                attempt: self.attempt,
            };
        }
        vec![Command::Open {
            id,
            kind,
            fallback: kind != Kind::WebSocket,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_manager() -> Manager {
        Manager::new(Target::Run("r1".into()), Config::default())
    }

    fn opened_id(cmds: &[Command]) -> (u64, Kind) {
        cmds.iter()
            .find_map(|c| match c {
                Command::Open { id, kind, .. } => Some((*id, *kind)),
                _ => None,
            })
            .unwrap_or((0, Kind::WebSocket))
    }

    #[test]
    fn a_run_event_of_type_error_is_an_event_and_control_frames_are_not() {
        use serde_json::json;
        let event = json!({"seq": 3, "runId": "r1", "type": "error", "ts": "t",
            "data": {"code": "auth_failed", "fatal": false, "message": "m"}});
        assert_eq!(classify_ws_frame(&event), WsFrame::Event);
        let progress = json!({"seq": 4, "runId": "r1", "type": "taskProgress", "data": {}});
        assert_eq!(classify_ws_frame(&progress), WsFrame::Event);
        let protocol_error = json!({"type": "error", "code": "bad_message", "message": "m"});
        assert_eq!(classify_ws_frame(&protocol_error), WsFrame::Other);
        assert_eq!(classify_ws_frame(&json!({"type": "pong"})), WsFrame::Other);
        let ready = json!({"type": "connected", "authenticated": true, "clientId": "c"});
        assert_eq!(classify_ws_frame(&ready), WsFrame::Ready);
        let waiting = json!({"type": "connected", "authenticated": false});
        assert_eq!(classify_ws_frame(&waiting), WsFrame::Other);
        assert_eq!(
            classify_ws_frame(&json!({"type": "authenticated"})),
            WsFrame::Ready
        );
        assert_eq!(classify_ws_frame(&json!([1, 2])), WsFrame::Other);
    }

    #[test]
    fn websocket_first_then_live() {
        let mut m = run_manager();
        let (id, kind) = opened_id(&m.start(0));
        assert_eq!(kind, Kind::WebSocket);
        assert_eq!(m.state(), ConnectionState::Reconnecting { attempt: 0 });
        m.on_open(id, 100);
        assert_eq!(m.state(), ConnectionState::Live);
        assert_eq!(m.next_deadline(), None, "nothing to wait for while live");
    }

    #[test]
    fn a_websocket_that_does_not_open_within_3s_falls_back_to_sse() {
        let mut m = run_manager();
        let (id, _) = opened_id(&m.start(0));
        assert_eq!(m.next_deadline(), Some(3_000));
        assert!(m.on_tick(2_999, 0.5).is_empty());
        // Full jitter with random 0: the timeout closes the WebSocket and opens SSE at once.
        let cmds = m.on_tick(3_000, 0.0);
        assert!(cmds.contains(&Command::Close { id }));
        let (sse, kind) = opened_id(&cmds);
        assert_eq!(kind, Kind::Sse);
        assert!(cmds
            .iter()
            .any(|c| matches!(c, Command::Open { fallback: true, .. })));
        m.on_open(sse, 3_100);
        assert_eq!(m.state(), ConnectionState::Fallback(Fallback::Sse));
    }

    #[test]
    fn three_failures_step_down_websocket_then_sse_then_polling_and_never_give_up() {
        let mut m = run_manager();
        let mut now = 0;
        let mut cmds = m.start(now);
        let mut kinds = Vec::new();
        for _ in 0..12 {
            let (id, kind) = opened_id(&cmds);
            kinds.push(kind);
            now += 10;
            // Opens, then drops right away (before any timeout).
            m.on_open(id, now);
            m.on_close(id, Some(1006), now, 0.0);
            cmds = m.on_tick(now, 0.0);
        }
        assert_eq!(&kinds[0..3], &[Kind::WebSocket; 3]);
        assert_eq!(&kinds[3..6], &[Kind::Sse; 3]);
        assert!(kinds[6..].iter().all(|k| *k == Kind::Polling), "{kinds:?}");
    }

    #[test]
    fn backoff_is_full_jitter_capped_at_30s() {
        let c = Config::default();
        assert_eq!(backoff_delay(&c, 0, 0.999_999), 499);
        assert_eq!(backoff_delay(&c, 1, 0.999_999), 999);
        assert_eq!(backoff_delay(&c, 3, 0.5), 2_000);
        assert_eq!(backoff_delay(&c, 10, 0.999_999), 29_999);
        assert_eq!(backoff_delay(&c, 60, 1.0), 30_000);
        assert_eq!(backoff_delay(&c, 5, 0.0), 0);
        assert_eq!(backoff_delay(&c, 5, f64::NAN), 8_000);
        // The manager uses it: after a drop, the retry is within the ceiling.
        let mut m = run_manager();
        let (id, _) = opened_id(&m.start(0));
        m.on_open(id, 0);
        m.on_close(id, Some(1006), 1_000, 0.999_999);
        assert_eq!(m.next_deadline(), Some(1_499));
        assert_eq!(m.state(), ConnectionState::Reconnecting { attempt: 1 });
    }

    #[test]
    fn on_fallback_a_websocket_probe_every_60s_upgrades_back() {
        let mut m = run_manager();
        m.start(0);
        let (sse, _) = opened_id(&m.on_tick(3_000, 0.0));
        m.on_open(sse, 3_000);
        assert_eq!(m.next_deadline(), Some(63_000));
        let cmds = m.on_tick(63_000, 0.5);
        let (probe, kind) = opened_id(&cmds);
        assert_eq!(kind, Kind::WebSocket);
        // A failed probe keeps SSE and tries again in 60 s.
        m.on_close(probe, Some(1006), 63_500, 0.5);
        assert_eq!(m.state(), ConnectionState::Fallback(Fallback::Sse));
        assert_eq!(m.next_deadline(), Some(123_500));
        let (probe, _) = opened_id(&m.on_tick(123_500, 0.5));
        let cmds = m.on_open(probe, 123_600);
        assert_eq!(cmds, vec![Command::Close { id: sse }]);
        assert_eq!(m.state(), ConnectionState::Live);
        assert_eq!(m.current(), Some((probe, Kind::WebSocket)));
    }

    #[test]
    fn events_are_delivered_once_in_order_and_gaps_resume() {
        let mut m = run_manager();
        let (id, _) = opened_id(&m.start(0));
        m.on_open(id, 0);
        assert_eq!(m.on_event(id, "r1", 1, false, 0).0, Verdict::Deliver);
        assert_eq!(m.on_event(id, "r1", 2, false, 0).0, Verdict::Deliver);
        assert_eq!(m.on_event(id, "r1", 2, false, 0).0, Verdict::Duplicate);
        let (v, cmds) = m.on_event(id, "r1", 5, false, 0);
        assert_eq!(v, Verdict::Gap { after_seq: 2 });
        assert_eq!(
            cmds,
            vec![Command::Resume {
                id,
                run_id: "r1".into(),
                after_seq: 2
            }]
        );
        // Further out-of-order events do not ask again.
        assert_eq!(
            m.on_event(id, "r1", 6, false, 0),
            (Verdict::Gap { after_seq: 2 }, vec![])
        );
        assert_eq!(m.on_event(id, "r1", 3, false, 0).0, Verdict::Deliver);
        assert_eq!(m.last_seq("r1"), Some(3));
        // A snapshot resets the position.
        assert_eq!(m.on_event(id, "r1", 40, true, 0).0, Verdict::Deliver);
        assert_eq!(m.on_event(id, "r1", 41, false, 0).0, Verdict::Deliver);
        // Events of a closed connection are stale.
        assert_eq!(m.on_event(999, "r1", 42, false, 0).0, Verdict::Stale);
    }

    #[test]
    fn an_sse_gap_reconnects_with_the_last_seq() {
        let mut m = run_manager();
        m.start(0);
        let (sse, _) = opened_id(&m.on_tick(3_000, 0.0));
        m.on_open(sse, 3_000);
        m.on_event(sse, "r1", 1, false, 3_100);
        let (v, cmds) = m.on_event(sse, "r1", 3, false, 3_200);
        assert_eq!(v, Verdict::Gap { after_seq: 1 });
        assert_eq!(cmds[0], Command::Close { id: sse });
        assert!(matches!(
            cmds[1],
            Command::Open {
                kind: Kind::Sse,
                ..
            }
        ));
        assert_eq!(m.last_seq("r1"), Some(1));
    }

    #[test]
    fn slow_consumer_close_reconnects_at_once_and_denials_stop() {
        let mut m = run_manager();
        let (id, _) = opened_id(&m.start(0));
        m.on_open(id, 0);
        let cmds = m.on_close(id, Some(4008), 10, 0.9);
        assert!(matches!(
            cmds[..],
            [Command::Open {
                kind: Kind::WebSocket,
                ..
            }]
        ));
        let (id, _) = opened_id(&cmds);
        m.on_open(id, 20);
        assert!(m.on_close(id, Some(4401), 30, 0.5).is_empty());
        assert_eq!(m.state(), ConnectionState::Denied { code: 4401 });
        assert_eq!(m.next_deadline(), None);
        assert!(matches!(
            m.retry(40)[..],
            [Command::Open {
                kind: Kind::WebSocket,
                ..
            }]
        ));
    }

    #[test]
    fn offline_parks_and_online_restarts_with_websocket() {
        let mut m = run_manager();
        let (id, _) = opened_id(&m.start(0));
        m.on_open(id, 0);
        assert_eq!(m.set_online(false, 5), vec![Command::Close { id }]);
        assert_eq!(m.state(), ConnectionState::Offline);
        assert!(m.on_tick(1_000_000, 0.5).is_empty());
        let cmds = m.set_online(true, 1_000_001);
        assert!(matches!(
            cmds[..],
            [Command::Open {
                kind: Kind::WebSocket,
                ..
            }]
        ));
    }

    #[test]
    fn project_streams_retry_websockets_only_and_track_runs_they_see() {
        let mut m = Manager::new(Target::Project("p1".into()), Config::default());
        let mut cmds = m.start(0);
        let mut now = 0;
        for _ in 0..6 {
            let (id, kind) = opened_id(&cmds);
            assert_eq!(kind, Kind::WebSocket);
            now += 5_000;
            cmds = m.on_tick(now, 0.0);
            assert!(cmds.contains(&Command::Close { id }));
        }
        let (id, _) = opened_id(&cmds);
        m.on_open(id, now);
        assert_eq!(m.on_event(id, "r9", 7, false, 0).0, Verdict::Deliver);
        assert_eq!(m.resume_points(), vec![("r9".to_string(), 7)]);
    }

    #[test]
    fn never_gives_up_whatever_the_randomness() {
        let mut m = run_manager();
        let mut cmds = m.start(0);
        let mut now = 0;
        for i in 0..200u64 {
            let (id, _) = opened_id(&cmds);
            now += 1;
            m.on_close(id, Some(1006), now, ((i * 7919) % 1000) as f64 / 1000.0);
            let at = m.next_deadline().unwrap_or(now);
            assert!(at <= now + 30_000);
            now = at;
            cmds = m.on_tick(now, 0.3);
            assert!(
                cmds.iter().any(|c| matches!(c, Command::Open { .. })),
                "round {i}: {cmds:?}"
            );
        }
        assert_eq!(m.current().map(|c| c.1), Some(Kind::Polling));
    }
}
