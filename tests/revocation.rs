//! Access ends for streams already open (issue 21, item 5): signing out closes that session's
//! WebSockets (4401) and SSE streams at once and revokes the build tokens it issued; an account
//! deleted by another process (the admin command) is noticed by the periodic re-check.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A failure guard for waiting on a close, not a speed budget.
const GUARD: Duration = Duration::from_secs(20);

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn project_socket(s: &support::TestServer, project: &str, token: &str) -> Ws {
    let url = format!(
        "{}/api/ws/projects/{project}",
        s.base.replace("http://", "ws://")
    );
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// Reads until the server closes; returns the close code.
async fn close_code(ws: &mut Ws) -> u16 {
    tokio::time::timeout(GUARD, async {
        while let Some(msg) = ws.next().await {
            match msg {
                Ok(Message::Close(Some(frame))) => return u16::from(frame.code),
                Ok(Message::Close(None)) | Err(_) => return 0,
                Ok(_) => {}
            }
        }
        0
    })
    .await
    .expect("the stream was not closed")
}

async fn logout(s: &support::TestServer, token: &str) {
    let r = s
        .bearer(Method::POST, "/api/auth/logout", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_closes_open_streams_and_revokes_its_build_tokens() {
    let s = support::start(|_| {}).await;
    let user = s.user("out@example.com").await;
    let other = s.login("out@example.com", support::PASSWORD).await;
    let other: Value = other.json().await.unwrap();
    let other_token = other["token"].as_str().unwrap().to_string();
    let project = s.create_project(&user, "p").await;
    let project = project["id"].as_str().unwrap().to_string();

    // A run started by this session: its build token, and an SSE stream watching with it.
    let r = s
        .bearer(
            Method::POST,
            &format!("/api/projects/{project}/runs"),
            &user.token,
        )
        .json(&json!({"prompt": "Add a search feature"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let started: Value = r.json().await.unwrap();
    let run = started["buildId"].as_str().unwrap().to_string();
    let build = started["buildToken"].as_str().unwrap().to_string();
    let files = format!("/api/runs/{run}/files?token={build}");
    assert_eq!(
        s.req(Method::GET, &files).send().await.unwrap().status(),
        200
    );
    let sse = s
        .req(Method::GET, &format!("/events/{run}?token={build}"))
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    let mut sse_body = sse.bytes_stream();

    let mut mine = project_socket(&s, &project, &user.token).await;
    let mut theirs = project_socket(&s, &project, &other_token).await;
    logout(&s, &user.token).await;

    assert_eq!(
        close_code(&mut mine).await,
        4401,
        "the signed-out session's socket"
    );
    // The SSE stream of the build token that session issued ends.
    tokio::time::timeout(GUARD, async {
        while let Some(chunk) = sse_body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await
    .expect("the SSE stream was not ended");
    // The build token no longer reads files; the other session's socket stays open.
    assert_eq!(
        s.req(Method::GET, &files).send().await.unwrap().status(),
        401
    );
    assert_eq!(
        s.req(
            Method::GET,
            &format!("/api/runs/{run}/events?token={build}")
        )
        .send()
        .await
        .unwrap()
        .status(),
        401
    );
    theirs.send_ping().await;
    logout(&s, &other_token).await;
    assert_eq!(close_code(&mut theirs).await, 4401);
}

trait Ping {
    async fn send_ping(&mut self);
}

impl Ping for Ws {
    /// The socket still answers: a ping gets its pong (events may come first).
    async fn send_ping(&mut self) {
        use futures_util::SinkExt;
        self.send(Message::Text(r#"{"type":"ping"}"#.into()))
            .await
            .unwrap();
        tokio::time::timeout(GUARD, async {
            while let Some(Ok(m)) = self.next().await {
                if let Message::Text(t) = m {
                    if t.contains("\"pong\"") {
                        return;
                    }
                }
            }
            panic!("closed instead of answering");
        })
        .await
        .expect("no pong");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_deleted_elsewhere_loses_its_open_streams_at_the_next_check() {
    // Every open stream re-checks its credentials each second in this test binary.
    std::env::set_var("YOUMEYOU_RT_REVALIDATE_SECS", "1");
    let s = support::start(|_| {}).await;
    let user = s.user("gone@example.com").await;
    let project = s.create_project(&user, "p").await;
    let project = project["id"].as_str().unwrap().to_string();
    let mut ws = project_socket(&s, &project, &user.token).await;
    ws.send_ping().await;
    // The admin command runs in another process: only the store knows.
    let db = s.db().await;
    sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(&user.id)
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, 4401);
}
