//! The browser side of the connection manager: WebSocket, EventSource and fetch long polling,
//! driven by the pure `Manager`. Everything runs on the page's one thread; the driver lives in
//! an `Rc<RefCell<…>>` and callbacks hold a `Weak` to it, so dropping the handle frees it all.
//! Borrow discipline: the driver is never borrowed while user code (`on_event`) or a signal
//! update runs.

use super::{Envelope, Options};
use leptos::prelude::{Set, WriteSignal};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, EventSource, MessageEvent, WebSocket};
use youmeyou_core::transport::{
    classify_ws_frame, Command, ConnectionState, Kind, Manager, Target, Verdict, WsFrame,
};

pub(super) type Shared = Rc<RefCell<Driver>>;
type WeakShared = Weak<RefCell<Driver>>;

enum Conn {
    Ws {
        socket: WebSocket,
        _callbacks: Vec<Closure<dyn FnMut(JsValue)>>,
    },
    Sse {
        source: EventSource,
        _callbacks: Vec<Closure<dyn FnMut(JsValue)>>,
    },
    Poll {
        alive: Rc<Cell<bool>>,
    },
}

impl Conn {
    fn shut(self) {
        match self {
            Conn::Ws { socket, .. } => {
                socket.set_onopen(None);
                socket.set_onmessage(None);
                socket.set_onclose(None);
                socket.set_onerror(None);
                let _ = socket.close();
            }
            Conn::Sse { source, .. } => {
                source.set_onopen(None);
                source.set_onmessage(None);
                source.set_onerror(None);
                source.close();
            }
            Conn::Poll { alive } => alive.set(false),
        }
    }
}

/// A window event listener kept alive while registered: (event name, callback).
type Listener = (&'static str, Closure<dyn FnMut(JsValue)>);

pub(super) struct Driver {
    manager: Manager,
    options: Options,
    set_state: WriteSignal<ConnectionState>,
    on_event: Rc<dyn Fn(Envelope)>,
    conns: HashMap<u64, Conn>,
    timer: Option<i32>,
    timer_callback: Option<Closure<dyn FnMut()>>,
    listeners: Vec<Listener>,
    me: WeakShared,
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

fn random() -> f64 {
    js_sys::Math::random()
}

/// What one step produced, to act on once the driver is no longer borrowed.
#[derive(Default)]
struct Outcome {
    deliver: Vec<Envelope>,
}

pub(super) fn start(
    target: Target,
    options: Options,
    set_state: WriteSignal<ConnectionState>,
    on_event: Rc<dyn Fn(Envelope)>,
) -> Shared {
    let mut manager = Manager::new(target, options.config.clone());
    for (run, seq) in &options.resume_from {
        manager.seed(run, *seq);
    }
    let shared = Rc::new(RefCell::new(Driver {
        manager,
        options,
        set_state,
        on_event,
        conns: HashMap::new(),
        timer: None,
        timer_callback: None,
        listeners: Vec::new(),
        me: Weak::new(),
    }));
    let weak = Rc::downgrade(&shared);
    shared.borrow_mut().me = weak.clone();
    listen_online(&shared);
    step(&weak, |d| d.manager.start(now()));
    shared
}

pub(super) fn close(shared: &Shared) {
    let mut d = shared.borrow_mut();
    for (_, conn) in d.conns.drain() {
        conn.shut();
    }
    d.clear_timer();
    if let Some(window) = web_sys::window() {
        for (name, cb) in d.listeners.drain(..) {
            let _ = window.remove_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
        }
    }
    let set_state = d.set_state;
    drop(d);
    set_state.set(ConnectionState::Offline);
}

pub(super) fn retry(shared: &Shared) {
    let weak = Rc::downgrade(shared);
    if shared.borrow().listeners.is_empty() {
        listen_online(shared);
    }
    step(&weak, |d| d.manager.retry(now()));
}

fn listen_online(shared: &Shared) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let mut d = shared.borrow_mut();
    for (name, online) in [("online", true), ("offline", false)] {
        let weak = d.me.clone();
        let cb = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            step(&weak, |d| d.manager.set_online(online, now()));
        });
        let _ = window.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
        d.listeners.push((name, cb));
    }
}

/// Runs `f` on the manager, carries out the commands it returns, updates the state signal and
/// the timer, then hands new events to the page.
fn step(weak: &WeakShared, f: impl FnOnce(&mut Driver) -> Vec<Command>) {
    step_with(weak, |d, _| f(d));
}

fn step_with(weak: &WeakShared, f: impl FnOnce(&mut Driver, &mut Outcome) -> Vec<Command>) {
    let Some(shared) = weak.upgrade() else {
        return;
    };
    let mut outcome = Outcome::default();
    let (set_state, state, on_event) = {
        let mut d = shared.borrow_mut();
        let commands = f(&mut d, &mut outcome);
        d.run(commands);
        d.reschedule();
        (d.set_state, d.manager.state(), d.on_event.clone())
    };
    set_state.set(state);
    for e in outcome.deliver {
        on_event(e);
    }
}

impl Driver {
    fn clear_timer(&mut self) {
        if let (Some(t), Some(window)) = (self.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(t);
        }
        self.timer_callback = None;
    }

    fn reschedule(&mut self) {
        self.clear_timer();
        let Some(at) = self.manager.next_deadline() else {
            return;
        };
        let Some(window) = web_sys::window() else {
            return;
        };
        let delay = at.saturating_sub(now()).min(i32::MAX as u64) as i32;
        let weak = self.me.clone();
        let cb = Closure::<dyn FnMut()>::new(move || {
            step(&weak, |d| {
                d.timer = None;
                d.manager.on_tick(now(), random())
            });
        });
        if let Ok(handle) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            cb.as_ref().unchecked_ref(),
            delay,
        ) {
            self.timer = Some(handle);
            self.timer_callback = Some(cb);
        }
    }

    fn run(&mut self, commands: Vec<Command>) {
        for c in commands {
            match c {
                Command::Open { id, kind, fallback } => self.open(id, kind, fallback),
                Command::Close { id } => {
                    if let Some(conn) = self.conns.remove(&id) {
                        conn.shut();
                    }
                }
                Command::Resume {
                    id,
                    run_id,
                    after_seq,
                } => self.send_resume(id, &run_id, after_seq),
            }
        }
    }

    fn send_resume(&self, id: u64, run_id: &str, after_seq: u64) {
        if let Some(Conn::Ws { socket, .. }) = self.conns.get(&id) {
            let msg = serde_json::json!({"type": "resume", "runId": run_id, "afterSeq": after_seq});
            let _ = socket.send_with_str(&msg.to_string());
        }
    }

    fn http_base(&self) -> String {
        if let Some(base) = &self.options.base_url {
            return base.trim_end_matches('/').to_string();
        }
        web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default()
    }

    fn ws_base(&self) -> String {
        let http = self.http_base();
        if let Some(rest) = http.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = http.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            http
        }
    }

    fn run_id(&self) -> Option<String> {
        match self.manager.target() {
            Target::Run(r) => Some(r.clone()),
            Target::Project(_) => None,
        }
    }

    fn open(&mut self, id: u64, kind: Kind, fallback: bool) {
        let result = match kind {
            Kind::WebSocket => self.open_ws(id),
            Kind::Sse => self.open_sse(id, fallback),
            Kind::Polling => {
                self.open_poll(id, fallback);
                Ok(())
            }
        };
        if result.is_err() {
            // Construction failed (bad URL, blocked): report it as a failed connection.
            let weak = self.me.clone();
            let cb = Closure::once_into_js(move || {
                step(&weak, |d| d.manager.on_close(id, None, now(), random()));
            });
            if let Some(window) = web_sys::window() {
                let _ = window
                    .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 0);
            }
        }
    }

    fn open_ws(&mut self, id: u64) -> Result<(), JsValue> {
        let url = match self.manager.target() {
            Target::Run(run) => format!(
                "{}/api/ws/runs/{}?afterSeq={}",
                self.ws_base(),
                encode(run),
                self.manager.last_seq(run).unwrap_or(0)
            ),
            Target::Project(p) => format!("{}/api/ws/projects/{}", self.ws_base(), encode(p)),
        };
        let socket = WebSocket::new(&url)?;
        let mut callbacks = Vec::new();

        let token = self.options.build_token.clone();
        let sock = socket.clone();
        let onopen = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            if let Some(t) = &token {
                let _ = sock
                    .send_with_str(&serde_json::json!({"type": "auth", "token": t}).to_string());
            }
        });
        socket.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        callbacks.push(onopen);

        let weak = self.me.clone();
        let onmessage = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let Some(text) = e
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
            else {
                return;
            };
            on_ws_text(&weak, id, &text);
        });
        socket.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        callbacks.push(onmessage);

        let weak = self.me.clone();
        let onclose = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            let code = e.dyn_ref::<CloseEvent>().map(|c| c.code());
            step(&weak, |d| {
                d.conns.remove(&id);
                d.manager.on_close(id, code, now(), random())
            });
        });
        socket.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        callbacks.push(onclose);

        self.conns.insert(
            id,
            Conn::Ws {
                socket,
                _callbacks: callbacks,
            },
        );
        Ok(())
    }

    fn open_sse(&mut self, id: u64, fallback: bool) -> Result<(), JsValue> {
        let Some(run) = self.run_id() else {
            return Err(JsValue::from_str("SSE needs a run"));
        };
        let mut url = format!(
            "{}/events/{}?lastEventId={}",
            self.http_base(),
            encode(&run),
            self.manager.last_seq(&run).unwrap_or(0)
        );
        if fallback {
            url.push_str("&fallback=1");
        }
        if let Some(t) = &self.options.build_token {
            url.push_str("&token=");
            url.push_str(&encode(t));
        }
        let source = EventSource::new(&url)?;
        let mut callbacks = Vec::new();

        let weak = self.me.clone();
        let onopen = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            step(&weak, |d| d.manager.on_open(id, now()));
        });
        source.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        callbacks.push(onopen);

        let weak = self.me.clone();
        let onmessage = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            if let Some(text) = e
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
            {
                on_event_text(&weak, id, &text);
            }
        });
        source.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        callbacks.push(onmessage);

        // EventSource retries on its own; the manager decides instead (and counts failures).
        let weak = self.me.clone();
        let onerror = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            step(&weak, |d| {
                if let Some(conn) = d.conns.remove(&id) {
                    conn.shut();
                }
                d.manager.on_close(id, None, now(), random())
            });
        });
        source.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        callbacks.push(onerror);

        self.conns.insert(
            id,
            Conn::Sse {
                source,
                _callbacks: callbacks,
            },
        );
        Ok(())
    }

    fn open_poll(&mut self, id: u64, fallback: bool) {
        let alive = Rc::new(Cell::new(true));
        self.conns.insert(
            id,
            Conn::Poll {
                alive: alive.clone(),
            },
        );
        let weak = self.me.clone();
        leptos::task::spawn_local(poll_loop(weak, id, alive, fallback));
    }
}

/// Percent-encodes an id or token for a URL path or query.
fn encode(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

fn on_ws_text(weak: &WeakShared, id: u64, text: &str) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    match classify_ws_frame(&v) {
        WsFrame::Ready => ws_opened(weak, id),
        WsFrame::Event => on_event_value(weak, id, v),
        WsFrame::Other => {}
    }
}

/// The WebSocket is usable: tell the manager, and on a project stream resume each known run.
fn ws_opened(weak: &WeakShared, id: u64) {
    step(weak, |d| {
        let mut commands = d.manager.on_open(id, now());
        if matches!(d.manager.target(), Target::Project(_)) {
            for (run_id, after_seq) in d.manager.resume_points() {
                commands.push(Command::Resume {
                    id,
                    run_id,
                    after_seq,
                });
            }
        }
        commands
    });
}

/// An SSE message (SSE sends events only).
fn on_event_text(weak: &WeakShared, id: u64, text: &str) {
    if let Some(envelope) = Envelope::parse(text) {
        on_envelope(weak, id, envelope);
    }
}

/// An event already parsed as JSON (WebSocket, polling).
fn on_event_value(weak: &WeakShared, id: u64, v: serde_json::Value) {
    if let Ok(envelope) = serde_json::from_value::<Envelope>(v) {
        on_envelope(weak, id, envelope);
    }
}

fn on_envelope(weak: &WeakShared, id: u64, envelope: Envelope) {
    step_with(weak, |d, out| {
        let snapshot = envelope.kind == "snapshot";
        let (verdict, commands) =
            d.manager
                .on_event(id, &envelope.run_id, envelope.seq, snapshot, now());
        if verdict == Verdict::Deliver {
            out.deliver.push(envelope);
        }
        commands
    });
}

async fn poll_loop(weak: WeakShared, id: u64, alive: Rc<Cell<bool>>, fallback: bool) {
    let mut opened = false;
    loop {
        if !alive.get() {
            return;
        }
        let request = {
            let Some(shared) = weak.upgrade() else {
                return;
            };
            let d = shared.borrow();
            let Some(run) = d.run_id() else {
                return;
            };
            let after = d.manager.last_seq(&run).unwrap_or(0);
            let mut url = format!(
                "{}/api/runs/{}/events?after={after}&wait=25",
                d.http_base(),
                encode(&run)
            );
            if fallback {
                url.push_str("&fallback=1");
            }
            (url, d.options.build_token.clone())
        };
        let answer = fetch_json(&request.0, request.1.as_deref()).await;
        if !alive.get() {
            return;
        }
        match answer {
            Ok(body) => {
                if !opened {
                    opened = true;
                    step(&weak, |d| d.manager.on_open(id, now()));
                }
                if let Some(events) = body.get("events").and_then(|e| e.as_array()) {
                    for e in events.clone() {
                        on_event_value(&weak, id, e);
                    }
                }
            }
            Err(status) => {
                alive.set(false);
                step(&weak, |d| {
                    d.conns.remove(&id);
                    d.manager.on_close(id, status, now(), random())
                });
                return;
            }
        }
    }
}

/// GET `url` as JSON; `Err(Some(status))` for an HTTP error, `Err(None)` for a network error.
async fn fetch_json(url: &str, token: Option<&str>) -> Result<serde_json::Value, Option<u16>> {
    let init = web_sys::RequestInit::new();
    init.set_method("GET");
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    if let Some(t) = token {
        let headers = web_sys::Headers::new().map_err(|_| None)?;
        headers
            .set("authorization", &format!("Bearer {t}"))
            .map_err(|_| None)?;
        init.set_headers(&headers);
    }
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(|_| None)?;
    let window = web_sys::window().ok_or(None)?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| None)?;
    let response: web_sys::Response = response.dyn_into().map_err(|_| None)?;
    if !response.ok() {
        return Err(Some(response.status()));
    }
    let text = wasm_bindgen_futures::JsFuture::from(response.text().map_err(|_| None)?)
        .await
        .map_err(|_| None)?;
    let text = text.as_string().ok_or(None)?;
    serde_json::from_str(&text).map_err(|_| None)
}
