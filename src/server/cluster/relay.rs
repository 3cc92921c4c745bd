//! Cross-instance delivery. Every instance publishes the events it commits to Redis, one
//! channel per project (`{prefix}p:{projectId}`), and subscribes only to the projects whose
//! runs (or which) its own clients watch; what arrives is published on its in-process bus, so
//! the WebSocket, SSE and polling transports work unchanged. Redis is a signal, PostgreSQL the
//! truth: the relay remembers the last `seq` it delivered per watched run, drops what it has,
//! and a backstop reads the event log for whatever Redis did not bring (a lost message, Redis
//! down: ≤ [`BACKSTOP_DOWN`] behind). A gap the transports see is re-read from the store by
//! them, so clients get the identical ordered, gap-free stream on every instance.

use super::link::RedisLink;
use crate::server::metrics::Metrics;
use crate::server::realtime::bus::{EventBus, EventReceiver, InProcessBus};
use crate::server::store::Store;
use futures_util::StreamExt;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use youmeyou_core::model::Event;

/// How often the relay reads the log heads of watched runs while Redis is up (a lost message
/// is found this late at worst) and while it is down (the delivery delay then).
pub const BACKSTOP_UP: Duration = Duration::from_secs(2);
pub const BACKSTOP_DOWN: Duration = Duration::from_millis(250);
/// Events waiting to be published to Redis; past this the oldest are left to the backstop.
const OUTBOX: usize = 16_384;
/// Events one backstop read fetches per run.
const BACKFILL_PAGE: u32 = 500;

/// The channel (after the prefix) that tells every instance a run was queued.
pub const QUEUE_CHANNEL: &str = "queue";

/// What travels on a project channel.
#[derive(Deserialize)]
struct Wire {
    /// The instance that committed the events.
    o: String,
    p: String,
    /// When they were published (ms since the epoch), for the delivery latency.
    t: i64,
    e: Vec<Event>,
}

enum Watch {
    Run(String),
    Project(String),
}

enum SubCmd {
    Subscribe(String),
    Unsubscribe(String),
}

struct Shared {
    instance: String,
    /// `None` without `REDIS_URL`: the backstop alone delivers (every [`BACKSTOP_DOWN`]).
    link: Option<Arc<RedisLink>>,
    outbox: mpsc::Sender<(String, Arc<Event>)>,
    watch: mpsc::UnboundedSender<Watch>,
    /// The last seq delivered on this instance's bus, per watched run.
    delivered: Mutex<HashMap<String, u64>>,
    metrics: Arc<Metrics>,
}

/// The event bus of an instance among several: the in-process bus plus the relay.
pub struct ClusterBus {
    local: Arc<InProcessBus>,
    shared: Arc<Shared>,
}

impl ClusterBus {
    /// Starts the publisher, subscriber and relay tasks.
    pub fn start(
        instance: &str,
        link: Option<Arc<RedisLink>>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        wakeups: Arc<tokio::sync::Notify>,
        queue_wakeups: Arc<tokio::sync::Notify>,
    ) -> Self {
        let local = Arc::new(InProcessBus::with_metrics(metrics.clone()));
        let (outbox, outgoing) = mpsc::channel(OUTBOX);
        let (watch, watches) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            instance: instance.to_string(),
            link: link.clone(),
            outbox,
            watch,
            delivered: Mutex::default(),
            metrics,
        });
        let (sub_tx, sub_rx) = mpsc::unbounded_channel();
        let (msg_tx, msg_rx) = mpsc::channel(4096);
        let commands = link
            .as_ref()
            .map(|l| l.key(super::commands::COMMANDS_CHANNEL))
            .unwrap_or_default();
        let queue = link
            .as_ref()
            .map(|l| l.key(QUEUE_CHANNEL))
            .unwrap_or_default();
        if let Some(link) = link {
            tokio::spawn(publisher(shared.clone(), link.clone(), outgoing));
            let _ = sub_tx.send(SubCmd::Subscribe(commands.clone()));
            let _ = sub_tx.send(SubCmd::Subscribe(queue.clone()));
            tokio::spawn(subscriber(link, sub_rx, msg_tx));
        }
        let relay = Relay {
            shared: shared.clone(),
            local: local.clone(),
            store,
            runs: HashMap::new(),
            projects: HashSet::new(),
            channels: HashMap::new(),
            subs: sub_tx,
            commands,
            wakeups,
            queue,
            queue_wakeups,
        };
        tokio::spawn(relay.run(watches, msg_rx));
        Self { local, shared }
    }

    fn delivered(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.shared
            .delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

impl EventBus for ClusterBus {
    fn publish(&self, project_id: &str, event: Arc<Event>) {
        self.local.publish(project_id, event.clone());
        if let Some(last) = self.delivered().get_mut(&event.run_id) {
            *last = (*last).max(event.seq);
        }
        if self.shared.link.is_some()
            && self
                .shared
                .outbox
                .try_send((project_id.to_string(), event))
                .is_err()
        {
            relay_counter(&self.shared.metrics, "outbox_full").inc();
        }
    }

    fn subscribe_run(&self, run_id: &str) -> EventReceiver {
        let rx = self.local.subscribe_run(run_id);
        let _ = self.shared.watch.send(Watch::Run(run_id.to_string()));
        rx
    }

    fn subscribe_project(&self, project_id: &str) -> EventReceiver {
        let rx = self.local.subscribe_project(project_id);
        let _ = self
            .shared
            .watch
            .send(Watch::Project(project_id.to_string()));
        rx
    }
}

fn relay_counter(metrics: &Metrics, what: &str) -> Arc<crate::server::metrics::Counter> {
    metrics.counter(
        "youmeyou_relay_events_total",
        "Cross-instance relay: events published to Redis (sent), received from it (received), delivered from the event log instead (backfilled), and left to the log because Redis was slow or down (outbox_full, publish_failed).",
        &[("what", what)],
    )
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Publishes committed events to Redis in batches: one `PUBLISH` per project per batch, all
/// batch's commands in one pipeline.
async fn publisher(
    shared: Arc<Shared>,
    link: Arc<RedisLink>,
    mut outgoing: mpsc::Receiver<(String, Arc<Event>)>,
) {
    let mut conn = link.conn();
    while let Some(first) = outgoing.recv().await {
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match outgoing.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let mut by_project: Vec<(String, Vec<Arc<Event>>)> = Vec::new();
        for (project, event) in batch {
            match by_project.iter_mut().find(|(p, _)| *p == project) {
                Some((_, events)) => events.push(event),
                None => by_project.push((project, vec![event])),
            }
        }
        let t = now_ms();
        let mut pipe = redis::pipe();
        let mut count = 0u64;
        for (project, events) in &by_project {
            let payload =
                serde_json::json!({"o": shared.instance, "p": project, "t": t, "e": events});
            pipe.cmd("PUBLISH")
                .arg(link.key(&format!("p:{project}")))
                .arg(payload.to_string())
                .ignore();
            count += events.len() as u64;
        }
        let sent = tokio::time::timeout(
            super::link::COMMAND_TIMEOUT,
            pipe.query_async::<()>(&mut conn),
        )
        .await;
        match sent {
            Ok(Ok(())) => {
                link.mark(true);
                relay_counter(&shared.metrics, "sent").add(count);
            }
            _ => {
                link.mark(false);
                relay_counter(&shared.metrics, "publish_failed").add(count);
            }
        }
    }
}

/// Holds the subscription connection: (re)connects, re-subscribes every channel after a
/// reconnect, and forwards messages to the relay.
async fn subscriber(
    link: Arc<RedisLink>,
    mut cmds: mpsc::UnboundedReceiver<SubCmd>,
    messages: mpsc::Sender<(String, Vec<u8>)>,
) {
    let mut channels: HashSet<String> = HashSet::new();
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected =
            tokio::time::timeout(Duration::from_secs(2), link.client.get_async_pubsub()).await;
        let pubsub = match connected {
            Ok(Ok(p)) => p,
            _ => {
                link.mark(false);
                // Keep the wanted set current while waiting to reconnect.
                let wait = tokio::time::sleep(backoff);
                tokio::pin!(wait);
                loop {
                    tokio::select! {
                        () = &mut wait => break,
                        cmd = cmds.recv() => match cmd {
                            Some(cmd) => apply(&mut channels, cmd),
                            None => return,
                        },
                    }
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let (mut sink, mut stream) = pubsub.split();
        let mut ok = true;
        for ch in &channels {
            if sink.subscribe(ch).await.is_err() {
                ok = false;
                break;
            }
        }
        if !ok {
            continue;
        }
        link.mark(true);
        backoff = Duration::from_millis(100);
        loop {
            tokio::select! {
                cmd = cmds.recv() => {
                    let Some(cmd) = cmd else { return };
                    let result = match &cmd {
                        SubCmd::Subscribe(ch) if !channels.contains(ch) => sink.subscribe(ch).await,
                        SubCmd::Unsubscribe(ch) if channels.contains(ch) => sink.unsubscribe(ch).await,
                        _ => Ok(()),
                    };
                    apply(&mut channels, cmd);
                    if result.is_err() {
                        break;
                    }
                }
                msg = stream.next() => match msg {
                    Some(msg) => {
                        let item = (msg.get_channel_name().to_string(), msg.get_payload_bytes().to_vec());
                        if messages.send(item).await.is_err() {
                            return;
                        }
                    }
                    None => break,
                },
            }
        }
        link.mark(false);
    }
}

fn apply(channels: &mut HashSet<String>, cmd: SubCmd) {
    match cmd {
        SubCmd::Subscribe(ch) => {
            channels.insert(ch);
        }
        SubCmd::Unsubscribe(ch) => {
            channels.remove(&ch);
        }
    }
}

/// The relay's own state; one task owns it.
struct Relay {
    shared: Arc<Shared>,
    local: Arc<InProcessBus>,
    store: Arc<dyn Store>,
    /// Watched runs → their project.
    runs: HashMap<String, String>,
    /// Watched projects.
    projects: HashSet<String>,
    /// Subscribed project channels → how many watches need them.
    channels: HashMap<String, usize>,
    subs: mpsc::UnboundedSender<SubCmd>,
    /// The channel that wakes this instance's command worker, and the worker's wake-up.
    commands: String,
    wakeups: Arc<tokio::sync::Notify>,
    /// The channel that wakes the shared queue's dispatcher, and its wake-up.
    queue: String,
    queue_wakeups: Arc<tokio::sync::Notify>,
}

impl Relay {
    async fn run(
        mut self,
        mut watches: mpsc::UnboundedReceiver<Watch>,
        mut messages: mpsc::Receiver<(String, Vec<u8>)>,
    ) {
        let mut next_backstop = Instant::now() + BACKSTOP_UP;
        loop {
            let wait = tokio::time::sleep_until(next_backstop.into());
            tokio::select! {
                w = watches.recv() => match w {
                    Some(w) => self.watch(w).await,
                    None => return,
                },
                m = messages.recv() => match m {
                    Some((channel, _)) if channel == self.commands => self.wakeups.notify_one(),
                    Some((channel, _)) if channel == self.queue => self.queue_wakeups.notify_one(),
                    Some((_, payload)) => self.relay(&payload).await,
                    None => return,
                },
                () = wait => {
                    self.backstop().await;
                    let up = self.shared.link.as_ref().is_some_and(|l| l.is_up());
                    let every = if up { BACKSTOP_UP } else { BACKSTOP_DOWN };
                    next_backstop = Instant::now() + every;
                }
            }
        }
    }

    fn delivered(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.shared
            .delivered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn channel_name(&self, project: &str) -> String {
        match &self.shared.link {
            Some(link) => link.key(&format!("p:{project}")),
            None => String::new(),
        }
    }

    fn need_channel(&mut self, project: &str) {
        let n = self.channels.entry(project.to_string()).or_insert(0);
        *n += 1;
        if *n == 1 {
            let _ = self
                .subs
                .send(SubCmd::Subscribe(self.channel_name(project)));
        }
    }

    fn release_channel(&mut self, project: &str) {
        if let Some(n) = self.channels.get_mut(project) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.channels.remove(project);
                let _ = self
                    .subs
                    .send(SubCmd::Unsubscribe(self.channel_name(project)));
            }
        }
    }

    async fn watch(&mut self, watch: Watch) {
        let (run_ids, project_ids) = match watch {
            Watch::Run(run) => {
                if self.runs.contains_key(&run) {
                    return;
                }
                let project = match self.store.run_ref(&run).await {
                    Ok(Some(r)) => r.project_id,
                    _ => return,
                };
                self.need_channel(&project);
                self.runs.insert(run.clone(), project);
                (vec![run], vec![])
            }
            Watch::Project(project) => {
                if !self.projects.insert(project.clone()) {
                    return;
                }
                self.need_channel(&project);
                (vec![], vec![project])
            }
        };
        // Where the watched runs' logs end now. A watched run's last event is delivered again,
        // so a transport that read the log a moment earlier sees any gap and re-reads it. A
        // newly watched project's unfinished runs are delivered from their first event: its
        // watcher subscribed before this relay did (the subscription is asynchronous here,
        // immediate on one instance), and a project watcher takes a run's first event as its
        // start, so a run that began in between would otherwise be seen from its middle.
        let project_watch = !project_ids.is_empty();
        if let Ok(heads) = self.store.run_heads(&run_ids, &project_ids).await {
            for head in heads {
                if self.delivered().contains_key(&head.run_id) {
                    continue;
                }
                let unfinished = project_watch
                    && self
                        .store
                        .run_ref(&head.run_id)
                        .await
                        .ok()
                        .flatten()
                        .is_some_and(|r| {
                            !matches!(r.status.as_str(), "completed" | "failed" | "cancelled")
                        });
                let from = if unfinished {
                    0
                } else {
                    head.last_seq.saturating_sub(1)
                };
                self.delivered().insert(head.run_id.clone(), from);
                self.backfill(&head.run_id, &head.project_id, from).await;
            }
        }
    }

    /// Publishes what arrived from another instance, skipping what this bus already carried
    /// and filling any gap from the log first, so the local bus carries every watched run
    /// gap-free from its first event (a project watcher takes a run's first event as its
    /// start).
    async fn relay(&mut self, payload: &[u8]) {
        let Ok(wire) = serde_json::from_slice::<Wire>(payload) else {
            relay_counter(&self.shared.metrics, "malformed").inc();
            return;
        };
        if wire.o == self.shared.instance {
            return;
        }
        let latency = Duration::from_millis(u64::try_from(now_ms() - wire.t).unwrap_or(0));
        let mut n = 0;
        for event in wire.e {
            let last = self.delivered().get(&event.run_id).copied().unwrap_or(0);
            if event.seq <= last {
                continue;
            }
            if event.seq > last + 1 {
                // Committed before it was published: the log has the gap and this event.
                self.backfill(&event.run_id, &wire.p, last).await;
                continue;
            }
            self.delivered().insert(event.run_id.clone(), event.seq);
            self.local.publish(&wire.p, Arc::new(event));
            self.shared.metrics.cluster_delivery.observe(latency);
            n += 1;
        }
        relay_counter(&self.shared.metrics, "received").add(n);
    }

    /// Reads the log after `after` to its end and publishes what was not delivered yet.
    async fn backfill(&mut self, run_id: &str, project_id: &str, after: u64) {
        let mut after = after;
        loop {
            let events = match self.store.events_after(run_id, after, BACKFILL_PAGE).await {
                Ok(events) => events,
                Err(_) => return,
            };
            let full = events.len() == BACKFILL_PAGE as usize;
            let mut delivered = self
                .shared
                .delivered
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let last = delivered.entry(run_id.to_string()).or_insert(0);
            let mut n = 0;
            for event in events {
                after = event.seq;
                if event.seq <= *last {
                    continue;
                }
                *last = event.seq;
                self.local.publish(project_id, Arc::new(event));
                n += 1;
            }
            drop(delivered);
            relay_counter(&self.shared.metrics, "backfilled").add(n);
            if !full {
                return;
            }
        }
    }

    /// Drops watches nobody needs any more, then delivers whatever the log has beyond what was
    /// delivered (what Redis lost, or everything while Redis is down).
    async fn backstop(&mut self) {
        let gone_runs: Vec<String> = self
            .runs
            .keys()
            .filter(|r| !self.local.has_run_channel(r))
            .cloned()
            .collect();
        for run in gone_runs {
            if let Some(project) = self.runs.remove(&run) {
                self.release_channel(&project);
            }
        }
        let gone_projects: Vec<String> = self
            .projects
            .iter()
            .filter(|p| !self.local.has_project_channel(p))
            .cloned()
            .collect();
        for project in gone_projects {
            self.projects.remove(&project);
            self.release_channel(&project);
        }
        let projects: Vec<String> = self.projects.iter().cloned().collect();
        let runs: Vec<String> = self.runs.keys().cloned().collect();
        if runs.is_empty() && projects.is_empty() {
            self.delivered().clear();
            return;
        }
        let Ok(heads) = self.store.run_heads(&runs, &projects).await else {
            return;
        };
        {
            // Forget runs that are neither watched nor current in a watched project.
            let current: HashSet<&String> = heads.iter().map(|h| &h.run_id).collect();
            let mut delivered = self.delivered();
            delivered.retain(|run, _| current.contains(run) || self.runs.contains_key(run));
        }
        for head in heads {
            let known = self.delivered().get(&head.run_id).copied();
            match known {
                Some(last) if head.last_seq > last => {
                    self.backfill(&head.run_id, &head.project_id, last).await;
                }
                Some(_) => {}
                // A run of a watched project seen for the first time: from its beginning, so
                // project watchers miss nothing of a run that started elsewhere.
                None => self.backfill(&head.run_id, &head.project_id, 0).await,
            }
        }
    }
}
