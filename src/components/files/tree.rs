//! The files panel's tree: generated file paths grouped into folders, flattened into rows
//! (folders first, then files, each alphabetically) that the panel draws with indentation.
//! Pure.

use crate::components::run::model::FileEntry;
use std::collections::BTreeMap;

/// One row of the flattened tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeRow {
    pub depth: usize,
    /// The last segment ("schema.sql", or "db" for a folder).
    pub name: String,
    /// Full path of a file, or of a folder (without a trailing slash).
    pub path: String,
    pub is_dir: bool,
    pub bytes: u64,
    pub language: String,
}

#[derive(Default)]
struct Dir<'a> {
    dirs: BTreeMap<&'a str, Dir<'a>>,
    files: BTreeMap<&'a str, &'a FileEntry>,
}

/// Folders first, then files; `collapsed` folder paths hide their contents.
pub fn rows(files: &[FileEntry], collapsed: &[String]) -> Vec<TreeRow> {
    let mut root = Dir::default();
    for file in files {
        let mut segments: Vec<&str> = file.path.split('/').filter(|s| !s.is_empty()).collect();
        let Some(name) = segments.pop() else {
            continue;
        };
        let mut dir = &mut root;
        for seg in segments {
            dir = dir.dirs.entry(seg).or_default();
        }
        dir.files.insert(name, file);
    }
    let mut out = Vec::new();
    flatten(&root, "", 0, collapsed, &mut out);
    out
}

fn flatten(
    dir: &Dir<'_>,
    prefix: &str,
    depth: usize,
    collapsed: &[String],
    out: &mut Vec<TreeRow>,
) {
    for (name, sub) in &dir.dirs {
        let path = if prefix.is_empty() {
            (*name).to_string()
        } else {
            format!("{prefix}/{name}")
        };
        let closed = collapsed.contains(&path);
        out.push(TreeRow {
            depth,
            name: (*name).to_string(),
            path: path.clone(),
            is_dir: true,
            bytes: 0,
            language: String::new(),
        });
        if !closed {
            flatten(sub, &path, depth + 1, collapsed, out);
        }
    }
    for (name, file) in &dir.files {
        out.push(TreeRow {
            depth,
            name: (*name).to_string(),
            path: file.path.clone(),
            is_dir: false,
            bytes: file.bytes,
            language: file.language.clone(),
        });
    }
}

/// The URL of one file's text (`GET /api/runs/{id}/files/{path}`), each segment encoded.
pub fn file_url(run_id: &str, path: &str) -> String {
    let encoded: Vec<String> = path.split('/').map(encode_segment).collect();
    format!(
        "/api/runs/{}/files/{}",
        encode_segment(run_id),
        encoded.join("/")
    )
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str) -> FileEntry {
        FileEntry {
            path: path.into(),
            language: "text".into(),
            bytes: 10,
            task_id: "t".into(),
        }
    }

    #[test]
    fn folders_first_then_files_sorted_and_indented() {
        let files = vec![
            f("docker-compose.yml"),
            f("auth-service/src/index.js"),
            f("auth-service/package.json"),
            f("db/schema.sql"),
        ];
        let r = rows(&files, &[]);
        let shown: Vec<(usize, &str, bool)> = r
            .iter()
            .map(|r| (r.depth, r.name.as_str(), r.is_dir))
            .collect();
        assert_eq!(
            shown,
            vec![
                (0, "auth-service", true),
                (1, "src", true),
                (2, "index.js", false),
                (1, "package.json", false),
                (0, "db", true),
                (1, "schema.sql", false),
                (0, "docker-compose.yml", false),
            ]
        );
        assert_eq!(r[2].path, "auth-service/src/index.js");
    }

    #[test]
    fn collapsed_folders_hide_their_files() {
        let files = vec![f("db/schema.sql"), f("db/seed/x.sql"), f("a.md")];
        let r = rows(&files, &["db".to_string()]);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].name, "db");
        assert_eq!(r[1].name, "a.md");
    }

    #[test]
    fn urls_are_encoded_per_segment() {
        assert_eq!(
            file_url("r1", "my dir/a#b?.sql"),
            "/api/runs/r1/files/my%20dir/a%23b%3F.sql"
        );
    }
}
