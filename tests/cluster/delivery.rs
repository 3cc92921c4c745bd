//! A run executing on B, watched on A and C: the same ordered, gap-free events as its log, on
//! WebSocket, SSE and polling alike; a client that reconnects to another instance resumes from
//! its `seq`.

use super::harness::*;
use futures_util::StreamExt;
use serde_json::Value;
use std::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn ws_connect(url: &str, token: &str) -> Ws {
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// Reads run events from a WebSocket until the run's last event.
pub async fn ws_to_end(ws: &mut Ws, run: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let msg = tokio::time::timeout_at(deadline.into(), ws.next())
            .await
            .unwrap_or_else(|_| panic!("WebSocket: run did not end; saw {}", kinds(&out)))
            .expect("stream ended")
            .expect("websocket error");
        let Message::Text(t) = msg else { continue };
        let v: Value = serde_json::from_str(t.as_str()).unwrap();
        if v.get("seq").is_none() || v["runId"] != run {
            continue;
        }
        let done = is_final(&v);
        out.push(v);
        if done {
            return out;
        }
    }
}

/// Reads an SSE stream until the run's last event.
async fn sse_to_end(cluster: &Cluster, on: &str, token: &str, run: &str) -> Vec<Value> {
    let mut resp = cluster
        .req(on, reqwest::Method::GET, &format!("/events/{run}"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut buf = String::new();
    let mut out: Vec<Value> = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let chunk = tokio::time::timeout_at(deadline.into(), resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("SSE: run did not end; saw {}", kinds(&out)))
            .unwrap()
            .expect("SSE stream ended early");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            for line in frame.lines() {
                if let Some(data) = line.strip_prefix("data: ") {
                    let v: Value = serde_json::from_str(data).unwrap();
                    let done = is_final(&v);
                    out.push(v);
                    if done {
                        return out;
                    }
                }
            }
        }
    }
}

fn same_as_log(name: &str, got: &[Value], log: &[Value]) {
    assert_eq!(
        seqs(got),
        (1..=log.len() as u64).collect::<Vec<_>>(),
        "{name}: every seq once, in order"
    );
    for (g, l) in got.iter().zip(log) {
        assert_eq!(g, l, "{name}: seq {} differs from the log", seq(l));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_on_b_reaches_watchers_on_a_and_c_identically_on_every_transport() {
    let cluster = Cluster::start(&["A", "B", "C"], Options::default()).await;
    let token = cluster.user("A", "watcher@example.com").await;
    let project = cluster.project("A", &token, "Cross-instance").await;
    // Watchers connect before the run exists (project stream) and right after it starts.
    let mut project_ws = ws_connect(
        &cluster
            .get("C")
            .ws_url(&format!("/api/ws/projects/{project}")),
        &token,
    )
    .await;
    let run = cluster.run("B", &token, &project, EXAMPLE_1).await;
    let mut run_ws = ws_connect(
        &cluster.get("A").ws_url(&format!("/api/ws/runs/{run}")),
        &token,
    )
    .await;

    let (ws_events, project_events, sse_events, polled) = tokio::join!(
        ws_to_end(&mut run_ws, &run),
        ws_to_end(&mut project_ws, &run),
        sse_to_end(&cluster, "C", &token, &run),
        cluster.poll_to_end("A", &token, &run),
    );
    let log = log(&cluster, "B", &token, &run).await;
    assert!(log.len() > 20, "Example 1 has many events: {}", log.len());
    same_as_log("WebSocket on A", &ws_events, &log);
    same_as_log("project WebSocket on C", &project_events, &log);
    same_as_log("SSE on C", &sse_events, &log);
    same_as_log("polling on A", &polled, &log);
    cluster.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reconnects_to_another_instance_resumes_from_its_seq() {
    use futures_util::SinkExt;
    let cluster = Cluster::start(&["A", "B", "C"], Options::default()).await;
    let token = cluster.user("A", "reconnect@example.com").await;
    let project = cluster.project("A", &token, "Reconnect").await;
    let run = cluster.run("B", &token, &project, EXAMPLE_1).await;
    // A client on A reads the first events, then its connection drops.
    let mut first: Vec<Value> = Vec::new();
    while first.len() < 5 {
        let after = first.last().map_or(0, seq);
        first.extend(cluster.poll("A", &token, &run, after).await);
    }
    let cut = seq(&first[4]);
    // It comes back on C over WebSocket, resuming after `cut`, and on SSE with Last-Event-ID.
    let mut ws = ws_connect(
        &cluster.get("C").ws_url(&format!("/api/ws/runs/{run}")),
        &token,
    )
    .await;
    let resume = serde_json::json!({"type": "resume", "runId": run, "afterSeq": cut});
    ws.send(Message::Text(resume.to_string().into()))
        .await
        .unwrap();
    let sse = cluster
        .req("C", reqwest::Method::GET, &format!("/events/{run}"), &token)
        .header("last-event-id", cut.to_string())
        .send();
    let (rest, sse) = tokio::join!(ws_to_end(&mut ws, &run), sse);
    let mut sse = sse.unwrap();
    let mut text = String::new();
    let deadline = Instant::now() + WAIT;
    while !text.contains("\"executionSummary\"") {
        let chunk = tokio::time::timeout_at(deadline.into(), sse.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let sse_events: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let log = log(&cluster, "B", &token, &run).await;
    let expected: Vec<Value> = log.into_iter().filter(|e| seq(e) > cut).collect();
    assert_eq!(
        seqs(&rest),
        seqs(&expected),
        "WebSocket on C went on after {cut}"
    );
    assert_eq!(rest, expected);
    assert_eq!(sse_events, expected, "SSE on C went on after {cut}");
    cluster.close().await;
}
