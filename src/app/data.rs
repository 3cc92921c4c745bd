//! The pages' server functions (under `/_sf`, since the REST API owns `/api/`). They read and
//! change data by calling the REST routes in-process with the caller's own headers, so the
//! API's authentication, ownership checks, rate limits and validation apply unchanged, and the
//! pages work with JavaScript off: a plain `<form>` posts here and is redirected back.
//! Hydrated pages call the same functions over HTTP (or the REST API directly).

#[cfg(feature = "ssr")]
use super::codec::to_answer;
use super::codec::{Answer, JsonText};
// Arguments of the server functions only the hydrated page calls go as JSON: the bundle then
// needs no query-string encoder (forms post theirs URL-encoded, `app::form`).
use crate::components::run::model::{Envelope, FileEntry, RunSnapshot, RunView};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use youmeyou_core::model::Canvas;

/// The signed-in account, for the header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub tier: String,
}

/// A project's latest run, for the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRunInfo {
    pub id: String,
    pub status: String,
    pub created_at: String,
}

/// One row of the projects list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectItem {
    pub id: String,
    pub name: String,
    pub updated_at: String,
    pub node_count: usize,
    pub last_run: Option<LastRunInfo>,
}

/// Everything the workspace draws on first paint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceData {
    pub project_id: String,
    pub name: String,
    pub canvas: Canvas,
    /// The project's latest run: snapshot, past events (activity), files.
    pub run: Option<RunSeed>,
}

/// A project's latest run as the API gave it. The server's render and the hydrated page both
/// build the same [`RunView`] from it ([`RunSeed::view`]) with the code that applies live
/// events, so the page carries the API's own JSON and the WASM bundle needs no deserialiser
/// for the view model (BENCHMARKS.md, Web UI budgets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSeed {
    pub project_id: String,
    /// `GET /api/runs/{id}`.
    pub snapshot: Value,
    /// The run's past events other than snapshots, oldest first (`GET …/events`).
    pub history: Vec<Value>,
    /// `GET /api/runs/{id}/files`' entries.
    pub files: Vec<Value>,
}

impl RunSeed {
    pub fn view(&self) -> RunView {
        let snapshot: RunSnapshot =
            serde_json::from_value(self.snapshot.clone()).unwrap_or_default();
        let mut view = RunView::from_snapshot(&snapshot);
        view.project_id = self.project_id.clone();
        let history: Vec<Envelope> = self
            .history
            .iter()
            .filter_map(|e| serde_json::from_value(e.clone()).ok())
            .collect();
        // What only events carry (the activity log, capacity).
        view.absorb_history(&history);
        view.files = self
            .files
            .iter()
            .filter_map(|f| serde_json::from_value::<FileEntry>(f.clone()).ok())
            .collect();
        view
    }
}

/// The answer of a form action when called from a hydrated page (plain forms are redirected).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FormOutcome {
    pub ok: bool,
    /// The API's error code when `!ok` (e.g. `invalid_credentials`).
    pub code: String,
    /// What happened, in plain words.
    pub message: String,
    /// Where to go next.
    pub location: Option<String>,
    /// The created or changed resource (project id, run id).
    pub id: Option<String>,
}

impl FormOutcome {
    pub fn failed(code: &str, message: &str) -> Self {
        Self {
            ok: false,
            code: code.to_string(),
            message: message.to_string(),
            ..Self::default()
        }
    }
}

/// Plain words for the API's error codes that forms show.
pub fn error_words(code: &str, fallback: &str) -> String {
    let text = match code {
        "invalid_credentials" => "The email or password is wrong. Check both and try again.",
        "email_taken" => "An account with that email already exists. Sign in instead.",
        "password_too_short" => "The password is too short: use at least 8 characters.",
        "password_too_long" => "The password is too long: use at most 256 characters.",
        "invalid_email" => "That email address does not look right. Use the form name@example.com.",
        "rate_limited" => "Too many attempts in a short time. Wait a minute, then try again.",
        "csrf_rejected" => {
            "The form was sent from another site and was refused. Reload the page and try again."
        }
        "unauthenticated" => "Your session has ended. Sign in again.",
        "invalid_name" | "invalid_project_name" => {
            "The name is not valid: use 1 to 100 characters."
        }
        "project_limit" | "limit_reached" => {
            "You have reached the maximum number of projects. Delete one first."
        }
        "run_in_progress" => {
            "A run of this project is queued or running; wait for it or cancel it, then delete."
        }
        "run_active" => {
            "A run is already queued or running on this project; wait for it to finish."
        }
        "invalid_prompt" => "The request is empty: describe what to build or change.",
        "prompt_too_long" => "The request is too long: shorten it to 4000 characters or fewer.",
        "quota_exceeded" | "daily_quota" => "You have used today's runs. Try again tomorrow.",
        "not_found" => "That no longer exists, or it is not yours.",
        "" => fallback,
        _ => fallback,
    };
    if text.is_empty() {
        "Something went wrong. Try again.".to_string()
    } else {
        text.to_string()
    }
}

/// `next` if it is a local path (never another site), else `/`.
pub fn safe_next(next: &str) -> String {
    if is_local_path(next) {
        next.to_string()
    } else {
        "/".to_string()
    }
}

/// The longest `next` followed after signing in.
const MAX_NEXT_CHARS: usize = 2_048;

/// Whether `next` is a path on this site and nothing a browser could read as another origin.
/// It must start with one `/` followed by something other than `/` or `\`, be printable ASCII
/// without backslashes (browsers drop tabs and line breaks from URLs, so `/\t/evil` becomes
/// `//evil`; our own paths are percent-encoded) and hold no percent-encoded slash, backslash
/// or control character (`/%2F/evil`, `/%5Cevil`). On the server the `url` crate must also resolve it
/// against our origin to our origin.
pub fn is_local_path(next: &str) -> bool {
    let bytes = next.as_bytes();
    let shape_ok = next.len() <= MAX_NEXT_CHARS
        && bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
        && !has_encoded_separator(next);
    shape_ok && same_origin(next)
}

/// `%2F`, `%5C` or an encoded control character (`%00`–`%1F`, `%7F`), in any case.
fn has_encoded_separator(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1].to_ascii_uppercase(), w[2].to_ascii_uppercase()),
                (b'2', b'F') | (b'5', b'C') | (b'0' | b'1', _) | (b'7', b'F')
            )
    })
}

/// Resolved against a stand-in origin, `next` stays on it (server side: the `url` crate).
#[cfg(feature = "ssr")]
fn same_origin(next: &str) -> bool {
    let Ok(base) = url::Url::parse("http://origin.invalid/") else {
        return false;
    };
    base.join(next)
        .is_ok_and(|u| u.origin() == base.origin() && u.path().starts_with('/'))
}

#[cfg(not(feature = "ssr"))]
fn same_origin(_next: &str) -> bool {
    true
}

/// Percent-encodes a query value.
pub fn encode_query(value: &str) -> String {
    crate::components::files::tree::encode_segment(value)
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    //! In-process calls of the REST API with the current request's credentials.
    use crate::server::state::AppState;
    use axum::body::Body;
    use axum::http::{header, HeaderMap, Method, Request, StatusCode};
    use leptos::prelude::*;
    use serde_json::Value;
    use tower::ServiceExt;

    /// The largest API answer a page reads (files are capped far below).
    const MAX_BODY: usize = 8 * 1024 * 1024;

    pub struct Reply {
        pub status: StatusCode,
        pub headers: HeaderMap,
        pub text: String,
        pub json: Value,
    }

    impl Reply {
        pub fn ok(&self) -> bool {
            self.status.is_success()
        }

        /// The contract's error code (`{"error": {"code"}}`), or "" when none.
        pub fn code(&self) -> String {
            self.json
                .pointer("/error/code")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        }

        pub fn message(&self) -> String {
            self.json
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("The server answered {}.", self.status))
        }
    }

    /// Headers of the page request that the API needs (credentials, origin, proxy info).
    const FORWARDED: &[header::HeaderName] = &[
        header::COOKIE,
        header::AUTHORIZATION,
        header::HOST,
        header::ORIGIN,
        header::REFERER,
        header::USER_AGENT,
    ];
    const FORWARDED_CUSTOM: &[&str] = &[
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-request-id",
    ];

    pub async fn call(
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Reply, ServerFnError> {
        let state = use_context::<AppState>()
            .ok_or_else(|| ServerFnError::new("the server state is not available"))?;
        let parts = use_context::<axum::http::request::Parts>();
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(parts) = &parts {
            for name in FORWARDED {
                for value in parts.headers.get_all(name) {
                    builder = builder.header(name, value);
                }
            }
            for name in FORWARDED_CUSTOM {
                for value in parts.headers.get_all(*name) {
                    builder = builder.header(*name, value);
                }
            }
        }
        let request = match body {
            Some(json) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/json")
                .body(Body::from(json.to_string())),
            None => builder
                .header(header::ACCEPT, "application/json")
                .body(Body::empty()),
        };
        let mut request = request.map_err(|e| ServerFnError::new(format!("bad request: {e}")))?;
        // Only the peer address (for per-IP limits): the page's own route data (matched path,
        // path parameters) must not leak into the API's routing.
        if let Some(peer) = parts.as_ref().and_then(|p| {
            p.extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .cloned()
        }) {
            request.extensions_mut().insert(peer);
        }
        let router = crate::server::routes::api(&state).with_state(state.clone());
        let response = router
            .oneshot(request)
            .await
            .map_err(|e| ServerFnError::new(format!("the API failed: {e}")))?;
        let (head, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(|e| ServerFnError::new(format!("the API answer could not be read: {e}")))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        if head.status.is_server_error() {
            tracing::warn!(%path, status = %head.status, body = %text.chars().take(300).collect::<String>(), "a page's API call failed");
        }
        Ok(Reply {
            status: head.status,
            headers: head.headers,
            text,
            json,
        })
    }

    /// Passes the API's `Set-Cookie` headers on to the page's response.
    pub fn forward_cookies(reply: &Reply) {
        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            for value in reply.headers.get_all(header::SET_COOKIE) {
                res.append_header(header::SET_COOKIE, value.clone());
            }
        }
    }

    /// Whether this call is a plain HTML form post (JavaScript off) rather than a hydrated
    /// page's fetch: then it must answer with a redirect.
    pub fn is_plain_form() -> bool {
        use_context::<axum::http::request::Parts>().is_some_and(|p| {
            p.headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        })
    }

    /// The path of the page being rendered or posted from, for `?next=`.
    pub fn current_path() -> String {
        use_context::<axum::http::request::Parts>()
            .map(|p| p.uri.path().to_string())
            .unwrap_or_else(|| "/".into())
    }

    /// Sends a signed-out visitor to the sign-in page and says why.
    pub fn to_login() -> ServerFnError {
        let next = current_path();
        let target = if next.starts_with("/_sf") || next == "/" {
            "/login".to_string()
        } else {
            format!("/login?next={}", super::encode_query(&next))
        };
        leptos_axum::redirect(&target, false);
        ServerFnError::new("unauthenticated")
    }

    /// The reply as data, or the error in words (401 → redirect to sign in).
    pub fn require_ok(reply: Reply) -> Result<Reply, ServerFnError> {
        if reply.status == StatusCode::UNAUTHORIZED {
            return Err(to_login());
        }
        if !reply.ok() {
            if reply.status == StatusCode::NOT_FOUND {
                return Err(ServerFnError::new("not_found"));
            }
            return Err(ServerFnError::new(reply.message()));
        }
        Ok(reply)
    }
}

/// The signed-in user, or `None`.
#[server(prefix = "/_sf", endpoint = "me", input = Json, output = JsonText)]
pub async fn current_user() -> Answer {
    use axum::http::Method;
    let reply = ssr::call(Method::GET, "/api/me", None).await?;
    if !reply.ok() {
        return to_answer(&None::<UserInfo>);
    }
    let user = &reply.json["user"];
    to_answer(&Some(UserInfo {
        id: user["id"].as_str().unwrap_or_default().to_string(),
        email: user["email"].as_str().unwrap_or_default().to_string(),
        tier: user["tier"].as_str().unwrap_or("free").to_string(),
    }))
}

/// The user's projects (signed-out visitors are redirected to the sign-in page).
#[server(prefix = "/_sf", endpoint = "projects", input = Json, output = JsonText)]
pub async fn list_projects() -> Answer {
    use axum::http::Method;
    let reply = ssr::require_ok(ssr::call(Method::GET, "/api/projects", None).await?)?;
    let items: Vec<ProjectItem> = reply.json["projects"]
        .as_array()
        .map(|a| a.iter().filter_map(project_item).collect())
        .unwrap_or_default();
    to_answer(&items)
}

#[cfg(feature = "ssr")]
fn project_item(p: &serde_json::Value) -> Option<ProjectItem> {
    let s = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    Some(ProjectItem {
        id: p["id"].as_str()?.to_string(),
        name: s(p, "name"),
        updated_at: s(p, "updatedAt"),
        node_count: p["canvas"]["nodes"].as_array().map_or(0, |n| n.len()),
        last_run: p["lastRun"].as_object().map(|_| LastRunInfo {
            id: s(&p["lastRun"], "id"),
            status: s(&p["lastRun"], "status"),
            created_at: s(&p["lastRun"], "createdAt"),
        }),
    })
}

/// Answers a form action: a plain form is redirected (to `location` on success, to
/// `error_location` with `?error=` otherwise); a hydrated page gets the outcome.
#[cfg(feature = "ssr")]
fn finish_form(mut outcome: FormOutcome, error_location: &str) -> FormOutcome {
    if ssr::is_plain_form() {
        if outcome.ok {
            if let Some(to) = &outcome.location {
                leptos_axum::redirect(to, false);
            }
        } else {
            let sep = if error_location.contains('?') {
                '&'
            } else {
                '?'
            };
            leptos_axum::redirect(
                &format!(
                    "{error_location}{sep}error={}",
                    encode_query(if outcome.code.is_empty() {
                        "error"
                    } else {
                        &outcome.code
                    })
                ),
                false,
            );
        }
    }
    if !outcome.ok {
        outcome.message = error_words(&outcome.code, &outcome.message);
    }
    outcome
}

#[cfg(feature = "ssr")]
fn outcome_of(reply: &ssr::Reply) -> FormOutcome {
    FormOutcome::failed(&reply.code(), &reply.message())
}

/// Sign in; sets the session cookie.
#[server(prefix = "/_sf", endpoint = "login", output = JsonText)]
pub async fn login(
    email: String,
    password: String,
    next: String,
) -> Result<FormOutcome, ServerFnError> {
    use axum::http::Method;
    let reply = ssr::call(
        Method::POST,
        "/api/auth/login",
        Some(serde_json::json!({"email": email, "password": password})),
    )
    .await?;
    let back = format!(
        "/login?email={}&next={}",
        encode_query(email.trim()),
        encode_query(&safe_next(&next))
    );
    if !reply.ok() {
        return Ok(finish_form(outcome_of(&reply), &back));
    }
    ssr::forward_cookies(&reply);
    Ok(finish_form(
        FormOutcome {
            ok: true,
            location: Some(safe_next(&next)),
            message: "Signed in.".into(),
            ..FormOutcome::default()
        },
        &back,
    ))
}

/// Create an account, then sign in with it.
#[server(prefix = "/_sf", endpoint = "register", output = JsonText)]
pub async fn register(email: String, password: String) -> Result<FormOutcome, ServerFnError> {
    use axum::http::Method;
    let credentials = serde_json::json!({"email": email, "password": password});
    let back = format!("/register?email={}", encode_query(email.trim()));
    let reply = ssr::call(
        Method::POST,
        "/api/auth/register",
        Some(credentials.clone()),
    )
    .await?;
    if !reply.ok() {
        return Ok(finish_form(outcome_of(&reply), &back));
    }
    let reply = ssr::call(Method::POST, "/api/auth/login", Some(credentials)).await?;
    if !reply.ok() {
        return Ok(finish_form(outcome_of(&reply), "/login"));
    }
    ssr::forward_cookies(&reply);
    Ok(finish_form(
        FormOutcome {
            ok: true,
            location: Some("/".into()),
            message: "Account created.".into(),
            ..FormOutcome::default()
        },
        &back,
    ))
}

/// Sign out: revokes the session and clears the cookie.
#[server(prefix = "/_sf", endpoint = "logout", output = JsonText)]
pub async fn logout() -> Result<FormOutcome, ServerFnError> {
    use axum::http::Method;
    let reply = ssr::call(Method::POST, "/api/auth/logout", None).await?;
    ssr::forward_cookies(&reply);
    Ok(finish_form(
        FormOutcome {
            ok: true,
            location: Some("/login?signed_out=1".into()),
            message: "Signed out.".into(),
            ..FormOutcome::default()
        },
        "/login",
    ))
}

/// Create a project and open it.
#[server(prefix = "/_sf", endpoint = "project_create", output = JsonText)]
pub async fn create_project(name: String) -> Result<FormOutcome, ServerFnError> {
    use axum::http::{Method, StatusCode};
    let reply = ssr::call(
        Method::POST,
        "/api/projects",
        Some(serde_json::json!({"name": name})),
    )
    .await?;
    if reply.status == StatusCode::UNAUTHORIZED {
        return Err(ssr::to_login());
    }
    if !reply.ok() {
        return Ok(finish_form(outcome_of(&reply), "/"));
    }
    let id = reply.json["project"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok(finish_form(
        FormOutcome {
            ok: true,
            location: Some(format!("/projects/{id}")),
            id: Some(id),
            message: "Project created.".into(),
            ..FormOutcome::default()
        },
        "/",
    ))
}

/// Rename a project.
#[server(prefix = "/_sf", endpoint = "project_rename", output = JsonText)]
pub async fn rename_project(id: String, name: String) -> Result<FormOutcome, ServerFnError> {
    use axum::http::{Method, StatusCode};
    let path = format!("/api/projects/{}", encode_query(&id));
    let reply = ssr::call(
        Method::PATCH,
        &path,
        Some(serde_json::json!({"name": name})),
    )
    .await?;
    if reply.status == StatusCode::UNAUTHORIZED {
        return Err(ssr::to_login());
    }
    if !reply.ok() {
        return Ok(finish_form(outcome_of(&reply), "/"));
    }
    Ok(finish_form(
        FormOutcome {
            ok: true,
            location: Some("/".into()),
            id: Some(id),
            message: "Project renamed.".into(),
            ..FormOutcome::default()
        },
        "/",
    ))
}

/// Delete a project (the page asks for confirmation first).
#[server(prefix = "/_sf", endpoint = "project_delete", output = JsonText)]
pub async fn delete_project(id: String) -> Result<FormOutcome, ServerFnError> {
    use axum::http::{Method, StatusCode};
    let path = format!("/api/projects/{}", encode_query(&id));
    let reply = ssr::call(Method::DELETE, &path, None).await?;
    if reply.status == StatusCode::UNAUTHORIZED {
        return Err(ssr::to_login());
    }
    if !reply.ok() {
        return Ok(finish_form(outcome_of(&reply), "/"));
    }
    Ok(finish_form(
        FormOutcome {
            ok: true,
            location: Some("/".into()),
            id: Some(id),
            message: "Project deleted.".into(),
            ..FormOutcome::default()
        },
        "/",
    ))
}

/// Start a run on a project (the prompt bar, JavaScript off).
#[server(prefix = "/_sf", endpoint = "run_start", output = JsonText)]
pub async fn start_run(project_id: String, prompt: String) -> Result<FormOutcome, ServerFnError> {
    use axum::http::{Method, StatusCode};
    let path = format!("/api/projects/{}/runs", encode_query(&project_id));
    let reply = ssr::call(
        Method::POST,
        &path,
        Some(serde_json::json!({"prompt": prompt})),
    )
    .await?;
    if reply.status == StatusCode::UNAUTHORIZED {
        return Err(ssr::to_login());
    }
    let back = format!("/projects/{}", encode_query(&project_id));
    if !reply.ok() {
        return Ok(finish_form(outcome_of(&reply), &back));
    }
    Ok(finish_form(
        FormOutcome {
            ok: true,
            location: Some(back.clone()),
            id: reply.json["buildId"].as_str().map(str::to_string),
            message: "Run started.".into(),
            ..FormOutcome::default()
        },
        &back,
    ))
}

/// The workspace of a project: its canvas and its latest run (snapshot, past events, files).
#[server(prefix = "/_sf", endpoint = "workspace", input = Json, output = JsonText)]
pub async fn workspace(project_id: String) -> Answer {
    use axum::http::Method;
    let id = encode_query(&project_id);
    let reply =
        ssr::require_ok(ssr::call(Method::GET, &format!("/api/projects/{id}"), None).await?)?;
    let project = &reply.json["project"];
    let canvas: Canvas = serde_json::from_value(project["canvas"].clone()).unwrap_or_default();
    let name = project["name"].as_str().unwrap_or_default().to_string();
    let run_id = project["lastRun"]["id"].as_str().map(str::to_string);
    let mut run = None;
    if let Some(run_id) = run_id {
        let rid = encode_query(&run_id);
        let snap = ssr::call(Method::GET, &format!("/api/runs/{rid}"), None).await?;
        if snap.ok() {
            let last_seq = snap.json["lastSeq"].as_u64().unwrap_or(0);
            // Past events, for the activity log and what only events carry (capacity).
            let mut after = 0u64;
            let mut history: Vec<Value> = Vec::new();
            for _ in 0..4 {
                let page = ssr::call(
                    Method::GET,
                    &format!("/api/runs/{rid}/events?after={after}&limit=1000"),
                    None,
                )
                .await?;
                let events = page.json["events"].as_array().cloned().unwrap_or_default();
                let Some(last) = events.iter().filter_map(|e| e["seq"].as_u64()).next_back() else {
                    break;
                };
                history.extend(events.into_iter().filter(|e| e["type"] != "snapshot"));
                if last >= last_seq || !page.json["hasMore"].as_bool().unwrap_or(false) {
                    break;
                }
                after = last;
            }
            let files = ssr::call(Method::GET, &format!("/api/runs/{rid}/files"), None).await?;
            run = Some(RunSeed {
                project_id: project_id.clone(),
                snapshot: snap.json,
                history,
                files: files.json["files"].as_array().cloned().unwrap_or_default(),
            });
        }
    }
    to_answer(&WorkspaceData {
        project_id,
        name,
        canvas,
        run,
    })
}

/// One generated file's text (for the viewer; JavaScript off reads it through the page).
#[server(prefix = "/_sf", endpoint = "file_text", input = Json, output = JsonText)]
pub async fn file_text(run_id: String, path: String) -> Answer {
    use axum::http::Method;
    let url = crate::components::files::tree::file_url(&run_id, &path);
    let reply = ssr::require_ok(ssr::call(Method::GET, &url, None).await?)?;
    Ok(Value::String(reply.text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::run::model::{RunPhase, TaskPhase};
    use serde_json::json;

    /// The page's seed is the API's JSON; the server's render and the browser build the same
    /// view from it: the snapshot's tasks, the log from past events, the files. Entries that
    /// are not events or files are skipped, and the seed survives its trip through the page.
    #[test]
    fn a_run_seed_builds_the_view_from_the_apis_json() {
        let seed = RunSeed {
            project_id: "p1".into(),
            snapshot: json!({
                "id": "r1", "projectId": "p1", "prompt": "Build it", "status": "running",
                "plan": {"tasks": [
                    {"id": "task_1", "name": "Architecture Design", "type": "ARCHITECTURE",
                     "dependencies": [], "estimatedTime": 45, "agent": "arch-001", "prompt": "p",
                     "status": "completed"},
                    {"id": "task_2", "name": "Database Schema Design", "type": "DATABASE",
                     "dependencies": ["task_1"], "estimatedTime": 30, "agent": "db-001",
                     "prompt": "p", "status": "running"}
                ]},
                "lastSeq": 3
            }),
            history: vec![
                json!({"seq": 1, "runId": "r1", "type": "planGenerated", "ts": "2025-01-01T00:00:01Z",
                       "data": {"taskCount": 2}}),
                json!({"not": "an event"}),
                json!({"seq": 3, "runId": "r1", "type": "taskStarted", "ts": "2025-01-01T00:00:03Z",
                       "data": {"taskId": "task_2"}}),
            ],
            files: vec![
                json!({"path": "docs/architecture.md", "language": "markdown", "bytes": 10}),
                json!(42),
            ],
        };
        let view = seed.view();
        assert_eq!(view.project_id, "p1");
        assert_eq!(view.status, RunPhase::Running);
        assert_eq!(view.last_seq, 3);
        assert_eq!(
            view.task("task_2").map(|t| t.status),
            Some(TaskPhase::Running)
        );
        assert_eq!(view.log.len(), 2);
        assert_eq!(view.files.len(), 1);
        assert_eq!(view.files[0].path, "docs/architecture.md");

        let text = serde_json::to_string(&seed).unwrap_or_default();
        let back: RunSeed = crate::app::codec::from_json_text(&text).expect("seed round trip");
        assert_eq!(back.view(), view);
    }

    #[test]
    fn next_is_always_local() {
        for ok in [
            "/",
            "/projects/abc",
            "/projects/abc?tab=files#f",
            "/a%20b",
            "/x/../y",
        ] {
            assert_eq!(safe_next(ok), ok, "{ok:?} is ours");
        }
        // The classic open-redirect bypasses, decoded as a form or query would deliver them.
        for bad in [
            "",
            " ",
            "//evil.test",
            "///evil.test",
            "/\\evil.test",
            "\\/evil.test",
            "\\\\evil.test",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            " //evil.test",
            "/ /evil.test",
            "/%2F/evil.test",
            "/%2f/evil.test",
            "/%5Cevil.test",
            "/%5cevil.test",
            "/%09/evil.test",
            "/%0a/evil.test",
            "/%00",
            "https://evil.test",
            "http:evil.test",
            "https:/evil.test",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,x",
            "evil.test",
            "./evil",
            "?next=//evil",
            "#//evil",
            "/\u{3000}/evil.test",
            "/\u{feff}/evil.test",
            "/\u{2028}/evil.test",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?} must not be followed");
        }
        assert_eq!(
            safe_next(&format!("/{}", "a".repeat(3_000))),
            "/",
            "too long"
        );
    }

    #[cfg(feature = "ssr")]
    proptest::proptest! {
        /// Whatever is accepted resolves, against our origin, to our origin (url crate).
        #[test]
        fn anything_accepted_stays_on_our_origin(next in "[/\\\\%:a-zA-Z0-9.\\t @?#-]{0,24}") {
            let kept = safe_next(&next);
            let base = url::Url::parse("https://app.example/").expect("base");
            let joined = base.join(&kept).expect("a kept path resolves");
            proptest::prop_assert_eq!(joined.origin(), base.origin());
        }
    }

    #[test]
    fn error_codes_read_as_plain_words() {
        assert!(error_words("invalid_credentials", "x").contains("email or password is wrong"));
        assert!(error_words("email_taken", "x").contains("already exists"));
        assert!(error_words("password_too_short", "x").contains("at least 8 characters"));
        assert_eq!(
            error_words("something_new", "The server said so."),
            "The server said so."
        );
        assert_eq!(error_words("", ""), "Something went wrong. Try again.");
    }
}
