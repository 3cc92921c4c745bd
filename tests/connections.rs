//! Connections that never finish a request cannot take the server down (issue 21, item 1).
//! Slow-loris clients — a request line and some headers, then silence — from one address are
//! held only up to the per-address cap and only until the header timeout; every other address
//! keeps being served, `/health` answers, kept-alive idle connections are closed after the same
//! timeout, and a response in progress (a long poll) is not cut. The second test does the same
//! against the real binary started with an open-file limit of 256.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use youmeyou::server::listener::ConnectionConfig;

/// A slow-loris connection from `from` (a loopback address of its own).
async fn slow_client(from: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    let mut stream = socket.connect(to).await?;
    // Half a request head, then nothing.
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: slow\r\nX-Slow: 1\r\n")
        .await?;
    Ok(stream)
}

/// Resolves when the server has closed `stream` (EOF or reset); never reads a response.
async fn closed(mut stream: TcpStream) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return true,
            // A 408 (or any bytes) before the close is fine: keep reading until it closes.
            Ok(_) => continue,
        }
    }
}

/// Opens `n` slow connections from each address in `from`; connects refused by a full
/// backlog count as shed (the server never held them).
async fn open_slow(from: &[[u8; 4]], n: usize, to: SocketAddr) -> (Vec<TcpStream>, usize) {
    let mut open = Vec::new();
    let mut refused = 0;
    for addr in from {
        for _ in 0..n {
            match slow_client(*addr, to).await {
                Ok(s) => open.push(s),
                Err(_) => refused += 1,
            }
        }
    }
    (open, refused)
}

/// Waits (bounded: a failure guard, not a speed budget) until every stream is closed.
async fn all_closed(streams: Vec<TcpStream>, guard: Duration) -> usize {
    let n = streams.len();
    let waits: Vec<_> = streams
        .into_iter()
        .map(|s| tokio::spawn(closed(s)))
        .collect();
    let done = tokio::time::timeout(guard, async {
        let mut count = 0;
        for w in waits {
            if w.await.unwrap_or(false) {
                count += 1;
            }
        }
        count
    })
    .await;
    done.unwrap_or_else(|_| panic!("not all {n} slow connections were closed within {guard:?}"))
}

async fn metrics_text(s: &support::TestServer) -> String {
    let r = s
        .req(reqwest::Method::GET, "/metrics")
        .send()
        .await
        .unwrap();
    r.text().await.unwrap()
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_capped_per_address_and_closed_after_the_header_timeout() {
    // The clients and the server share this process: room for both, whatever the soft limit.
    youmeyou::server::listener::fd::raise_open_file_limit();
    let s = support::start(|c| {
        c.connections = ConnectionConfig {
            header_timeout: Duration::from_secs(4),
            max_per_ip: 50,
            max_connections: Some(5_000),
        };
    })
    .await;
    let addr: SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    let user = s.user("slow@example.com").await;
    let project = s.create_project(&user, "p").await;
    let run = s
        .seed_run(project["id"].as_str().unwrap(), &user.id, "running")
        .await;

    let (slow, refused_connects) = open_slow(&[[127, 0, 0, 2]], 1_000, addr).await;
    // Every other address is served while 127.0.0.2 holds its 50: a fresh connection each time.
    for _ in 0..5 {
        let fresh = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let r = fresh.get(s.url("/health")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let metrics = metrics_text(&s).await;
    let refused = metric(
        &metrics,
        "youmeyou_http_connections_refused_total{reason=\"per_ip\"}",
    );
    let open = metric(&metrics, "youmeyou_http_connections ");
    assert!(
        refused as usize + refused_connects >= 950,
        "all but 50 refused: {refused} by the cap, {refused_connects} at connect"
    );
    assert!(
        open >= 50.0,
        "the 50 admitted are held until their timeout: {open}"
    );

    // A response in progress is not cut by the header timeout: a long poll held 6 s (longer
    // than the 4 s timeout) on a run with no events ends as an answer, not a cut connection.
    let r = s
        .bearer(
            reqwest::Method::GET,
            &format!("/api/runs/{run}/events?after=0&wait=6"),
            &user.token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        page["events"],
        serde_json::json!([]),
        "the wait ran out: {page}"
    );

    // Every slow connection ends: the refused at once, the admitted at their header timeout.
    assert_eq!(
        all_closed(slow, Duration::from_secs(60)).await,
        1_000 - refused_connects
    );

    // A kept-alive connection that goes idle after a request is closed after the same timeout.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    idle.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(all_closed(vec![idle], Duration::from_secs(30)).await == 1);
    let metrics = metrics_text(&s).await;
    assert!(
        metric(&metrics, "youmeyou_http_connections ") <= 2.0,
        "{metrics}"
    );
}

/// The real binary with `ulimit -n 256`: 2,000 slow connections from four addresses. Each
/// address gets its 40, the rest are closed at once, `/health` from a fifth address answers
/// throughout, and all slow connections are gone after the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_at_a_low_open_file_limit_keeps_answering_health() {
    // 2,000 client sockets in this process (the server's own limit is set below).
    youmeyou::server::listener::fd::raise_open_file_limit();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 256 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_youmeyou"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--log",
            "info",
        ])
        .args([
            "--header-timeout-secs",
            "3",
            "--max-connections-per-ip",
            "40",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start youmeyou");
    // Ready when it says it listens (its log goes to stdout); the rest of the log is drained.
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.expect("read the log") {
            if line.contains("listening on") {
                return;
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server did not start listening");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let base = format!("http://127.0.0.1:{port}");
    let health = || async {
        let fresh = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        fresh
            .get(format!("{base}/health"))
            .send()
            .await
            .map(|r| r.status().as_u16())
    };
    assert_eq!(health().await.ok(), Some(200));
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let from = [
        [127, 0, 0, 2],
        [127, 0, 0, 3],
        [127, 0, 0, 4],
        [127, 0, 0, 5],
    ];
    let (slow, refused_connects) = open_slow(&from, 500, addr).await;
    for _ in 0..5 {
        assert_eq!(
            health().await.ok(),
            Some(200),
            "/health while 2,000 slow clients try"
        );
    }
    let held = all_closed(slow, Duration::from_secs(60)).await;
    assert_eq!(held + refused_connects, 2_000);
    assert_eq!(health().await.ok(), Some(200));
    let _ = child.kill().await;
}
