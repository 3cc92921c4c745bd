//! Checks a model's answer to a task (`code.v1`: `{summary, files, canvas}`) before anything
//! of it is stored: relative paths without `..`, bounded sizes, known node and edge types.
//! Every problem is reported at once, worded so the model can repair its answer. Pure.

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;
use youmeyou_core::model::{CanvasPatch, Edge, EdgeType, GeneratedFile, Node, NodeType, Position};

/// Most files one task may write.
pub const MAX_FILES: usize = 40;
/// Largest file, in bytes.
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// Largest total of one answer's files, in bytes.
pub const MAX_TOTAL_BYTES: usize = 1024 * 1024;
/// Longest file path, in characters.
pub const MAX_PATH_CHARS: usize = 200;
/// Most nodes and edges one answer may add.
pub const MAX_NODES: usize = 50;
pub const MAX_EDGES: usize = 100;
/// Longest summary kept, in characters (longer ones are cut, not refused).
pub const MAX_SUMMARY_CHARS: usize = 500;
/// Largest serialised config of one node, in bytes (as the canvas rules allow).
const MAX_NODE_CONFIG_BYTES: usize = 16 * 1024;

/// A validated answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeAnswer {
    pub summary: String,
    pub files: Vec<GeneratedFile>,
    /// Empty when the model changed nothing on the canvas.
    pub patch: CanvasPatch,
}

impl CodeAnswer {
    pub fn has_canvas_changes(&self) -> bool {
        !(self.patch.upsert_nodes.is_empty()
            && self.patch.add_edges.is_empty()
            && self.patch.remove_node_ids.is_empty()
            && self.patch.replace_nodes.is_empty())
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    files: Option<Vec<Value>>,
    #[serde(default)]
    canvas: Option<RawCanvas>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawCanvas {
    #[serde(default, alias = "nodes")]
    upsert_nodes: Vec<Value>,
    #[serde(default, alias = "edges")]
    add_edges: Vec<Value>,
    #[serde(default)]
    remove_node_ids: Vec<String>,
}

/// Parses and checks the JSON answer of task `task_id`; the error lists every problem.
pub fn parse_code_answer(json: &str, task_id: &str) -> Result<CodeAnswer, String> {
    let raw: Raw = serde_json::from_str(json).map_err(|e| {
        format!(
            "the answer must be an object {{\"summary\": string, \"files\": [...], \"canvas\": {{...}}}}: {e}"
        )
    })?;
    let mut problems = Vec::new();
    let summary = raw.summary.as_deref().map(str::trim).unwrap_or_default();
    if summary.is_empty() {
        problems.push("\"summary\" is missing or empty; say what you did in one sentence".into());
    }
    let summary = super::shorten(summary, MAX_SUMMARY_CHARS);
    let files = files(raw.files.unwrap_or_default(), task_id, &mut problems);
    let patch = canvas(raw.canvas.unwrap_or_default(), &mut problems);
    if problems.is_empty() {
        Ok(CodeAnswer {
            summary,
            files,
            patch,
        })
    } else {
        Err(numbered(&problems))
    }
}

fn numbered(problems: &[String]) -> String {
    let mut text = format!("the answer has {} problem(s):\n", problems.len());
    for (n, p) in problems.iter().enumerate() {
        text.push_str(&format!("{}. {p}\n", n + 1));
    }
    text
}

fn files(raw: Vec<Value>, task_id: &str, problems: &mut Vec<String>) -> Vec<GeneratedFile> {
    if raw.len() > MAX_FILES {
        problems.push(format!(
            "\"files\" has {} entries, at most {MAX_FILES} are allowed; merge small files",
            raw.len()
        ));
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut total = 0usize;
    for (i, value) in raw.iter().enumerate() {
        let path = value
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(content) = value.get("content").and_then(Value::as_str) else {
            problems.push(format!("files[{i}] has no string \"content\""));
            continue;
        };
        let path = match check_path(path) {
            Ok(p) => p,
            Err(why) => {
                problems.push(format!("files[{i}] path {path:?} is not allowed: {why}"));
                continue;
            }
        };
        if !seen.insert(path.clone()) {
            problems.push(format!(
                "files[{i}] repeats the path {path:?}; write each file once"
            ));
            continue;
        }
        if content.len() > MAX_FILE_BYTES {
            problems.push(format!(
                "file {path:?} has {} bytes, at most {MAX_FILE_BYTES} are allowed; split it",
                content.len()
            ));
            continue;
        }
        if content.trim().is_empty() {
            problems.push(format!(
                "file {path:?} is empty; write its complete content"
            ));
            continue;
        }
        total += content.len();
        let language = value
            .get("language")
            .and_then(Value::as_str)
            .map(|l| l.trim().to_ascii_lowercase())
            .filter(|l| !l.is_empty() && l.len() <= 32 && l.chars().all(|c| c.is_ascii_graphic()))
            .unwrap_or_else(|| language_of(&path).to_string());
        out.push(GeneratedFile {
            path,
            language,
            content: content.to_string(),
            task_id: task_id.to_string(),
        });
    }
    if total > MAX_TOTAL_BYTES {
        problems.push(format!(
            "the files add up to {total} bytes, at most {MAX_TOTAL_BYTES} are allowed; write fewer or shorter files"
        ));
    }
    out
}

/// A relative, forward-slash path without `.`/`..` segments, drive letters or control
/// characters; returned trimmed.
pub fn check_path(path: &str) -> Result<String, &'static str> {
    let path = path.trim();
    if path.is_empty() {
        return Err("it is empty");
    }
    if path.chars().count() > MAX_PATH_CHARS {
        return Err("it is longer than 200 characters");
    }
    if path.starts_with('/') || path.contains('\\') || path.contains(':') {
        return Err("it must be relative and use '/' (no leading '/', no '\\', no drive letter)");
    }
    if path.chars().any(char::is_control) {
        return Err("it contains control characters");
    }
    for segment in path.split('/') {
        match segment {
            "" => return Err("it has an empty segment ('//' or a trailing '/')"),
            "." | ".." => return Err("it must not contain '.' or '..' segments"),
            s if s.trim() != s => return Err("a segment starts or ends with a space"),
            _ => {}
        }
    }
    Ok(path.to_string())
}

fn language_of(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if name == "dockerfile" {
        return "dockerfile";
    }
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("rs") => "rust",
        Some("js" | "mjs" | "cjs" | "jsx") => "javascript",
        Some("ts" | "tsx") => "typescript",
        Some("py") => "python",
        Some("go") => "go",
        Some("java") => "java",
        Some("sql") => "sql",
        Some("json") => "json",
        Some("yaml" | "yml") => "yaml",
        Some("toml") => "toml",
        Some("md") => "markdown",
        Some("sh") => "shell",
        Some("html") => "html",
        Some("css") => "css",
        _ => "text",
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

const NODE_TYPES: &str =
    "microservice, database, cache, load_balancer, queue, gateway, frontend, monitoring, external";
const EDGE_TYPES: &str = "api-call, db, cache, pubsub, replication, monitoring";

fn canvas(raw: RawCanvas, problems: &mut Vec<String>) -> CanvasPatch {
    let mut patch = CanvasPatch::default();
    if raw.upsert_nodes.len() > MAX_NODES {
        problems.push(format!(
            "canvas.upsertNodes has {} nodes, at most {MAX_NODES} are allowed",
            raw.upsert_nodes.len()
        ));
    } else {
        for (i, value) in raw.upsert_nodes.iter().enumerate() {
            match node(value) {
                Ok(n) => patch.upsert_nodes.push(n),
                Err(why) => problems.push(format!("canvas.upsertNodes[{i}] {why}")),
            }
        }
    }
    if raw.add_edges.len() > MAX_EDGES {
        problems.push(format!(
            "canvas.addEdges has {} edges, at most {MAX_EDGES} are allowed",
            raw.add_edges.len()
        ));
    } else {
        for (i, value) in raw.add_edges.iter().enumerate() {
            match edge(value) {
                Ok(e) => patch.add_edges.push(e),
                Err(why) => problems.push(format!("canvas.addEdges[{i}] {why}")),
            }
        }
    }
    for id in raw.remove_node_ids.iter().take(MAX_NODES) {
        if valid_id(id) {
            patch.remove_node_ids.push(id.clone());
        } else {
            problems.push(format!("canvas.removeNodeIds has an invalid id {id:?}"));
        }
    }
    patch
}

fn node(value: &Value) -> Result<Node, String> {
    let id = value.get("id").and_then(Value::as_str).unwrap_or_default();
    if !valid_id(id) {
        return Err(format!(
            "has an invalid id {id:?}: use 1 to 64 letters, digits or _ - . :"
        ));
    }
    let kind_text = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind: NodeType = serde_json::from_value(Value::String(kind_text.to_string()))
        .map_err(|_| format!("(`{id}`) has type {kind_text:?}; use one of {NODE_TYPES}"))?;
    let label = value
        .get("label")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or(id);
    if label.chars().count() > 200 {
        return Err(format!("(`{id}`) has a label longer than 200 characters"));
    }
    let config = match value.get("config") {
        None | Some(Value::Null) => Default::default(),
        Some(Value::Object(map)) => {
            if Value::Object(map.clone()).to_string().len() > MAX_NODE_CONFIG_BYTES {
                return Err(format!("(`{id}`) has more than 16 KiB of config; trim it"));
            }
            map.clone().into_iter().collect()
        }
        Some(_) => return Err(format!("(`{id}`) has a \"config\" that is not an object")),
    };
    let position = value
        .get("position")
        .and_then(|p| Some((p.get("x")?.as_f64()?, p.get("y")?.as_f64()?)))
        .filter(|(x, y)| x.is_finite() && y.is_finite() && x.abs() <= 1e6 && y.abs() <= 1e6)
        .map(|(x, y)| Position { x, y });
    Ok(Node {
        id: id.to_string(),
        kind,
        label: label.to_string(),
        position,
        config,
    })
}

fn edge(value: &Value) -> Result<Edge, String> {
    let source = value
        .get("source")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let target = value
        .get("target")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !valid_id(source) || !valid_id(target) {
        return Err(format!(
            "needs \"source\" and \"target\" node ids (got {source:?} → {target:?})"
        ));
    }
    let kind = match value.get("type").and_then(Value::as_str) {
        None => EdgeType::ApiCall,
        Some(text) => serde_json::from_value(Value::String(text.to_string())).map_err(|_| {
            format!("({source} → {target}) has type {text:?}; use one of {EDGE_TYPES}")
        })?,
    };
    // An id the model chose is kept when valid; otherwise the merge generates one.
    let id = value
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| valid_id(id) && id.len() <= 160)
        .unwrap_or_default();
    Ok(Edge {
        id: id.to_string(),
        source: source.to_string(),
        target: target.to_string(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_relative_and_plain() {
        assert_eq!(
            check_path(" auth/src/main.rs "),
            Ok("auth/src/main.rs".into())
        );
        for bad in [
            "",
            "/etc/passwd",
            "../up.txt",
            "a/../b",
            "a/./b",
            "a//b",
            "a/",
            "C:/x",
            "a\\b",
            "a/\u{7}b",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn a_good_answer_becomes_files_and_a_patch() {
        let json = r#"{"summary": "Auth service", "files": [{"path": "auth/index.js", "content": "x"}],
            "canvas": {"upsertNodes": [{"id": "auth-service", "type": "microservice"}],
                       "addEdges": [{"source": "api-gateway", "target": "auth-service"}], "removeNodeIds": []}}"#;
        let answer = parse_code_answer(json, "task_3").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answer.files[0].language, "javascript");
        assert_eq!(answer.files[0].task_id, "task_3");
        assert_eq!(answer.patch.upsert_nodes[0].label, "auth-service");
        assert_eq!(answer.patch.add_edges[0].kind, EdgeType::ApiCall);
        assert!(answer.has_canvas_changes());
    }

    #[test]
    fn every_problem_is_listed_for_the_repair() {
        let json = r#"{"summary": "", "files": [{"path": "../x", "content": "y"}, {"path": "ok.txt"}],
            "canvas": {"upsertNodes": [{"id": "n", "type": "server"}], "addEdges": [{"source": "a", "target": "b", "type": "http"}]}}"#;
        let Err(text) = parse_code_answer(json, "t") else {
            panic!("must be refused");
        };
        for needle in [
            "summary",
            "\"../x\"",
            "content",
            "\"server\"",
            "\"http\"",
            "5 problem",
        ] {
            assert!(text.contains(needle), "{needle} missing in {text}");
        }
    }
}
