//! Text templates of everything the built-in agents generate: SQL, the Node/Express
//! services, React components, infrastructure configuration, documents and tests. Agents
//! decide what to generate; these modules only render it.

pub mod api;
pub mod docs;
pub mod infra;
pub mod node_service;
pub mod react;
pub mod sql;
pub mod tests_js;

/// A rendered file before it is attributed to a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDraft {
    pub path: String,
    pub language: String,
    pub content: String,
}

impl FileDraft {
    pub fn new(path: impl Into<String>, language: &str, content: String) -> Self {
        Self {
            path: path.into(),
            language: language.to_string(),
            content,
        }
    }
}

/// Whether `text` still contains a `{{name}}` placeholder (JSX's `{{ a: b }}` is not one).
#[cfg(test)]
pub(crate) fn has_placeholder(text: &str) -> bool {
    text.match_indices("{{").any(|(i, _)| {
        let rest = &text[i + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        !name.is_empty() && rest[name.len()..].starts_with("}}")
    })
}
