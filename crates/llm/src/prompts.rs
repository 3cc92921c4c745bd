//! The system prompts, one versioned template file per role (`prompts/<role>.v<N>.txt`,
//! embedded at compile time), and a tiny renderer for their `{placeholders}`. The user's own
//! words never go into a template: they travel as the user message.

use crate::provider::{CompletionRequest, Role};

/// A prompt template. A new wording is a new file and a new version, so that runs can record
/// which prompt produced them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    pub role: Role,
    pub version: u32,
    pub text: &'static str,
}

pub const INTENT_V1: Template = Template {
    role: Role::Intent,
    version: 1,
    text: include_str!("../prompts/intent.v1.txt"),
};

/// Placeholders: `intent_json`, `canvas_summary`, `max_tasks`. Asks for the contract's
/// `{"tasks": [...]}` plan.
pub const PLANNER_V1: Template = Template {
    role: Role::Planner,
    version: 1,
    text: include_str!("../prompts/planner.v1.txt"),
};

/// Placeholders: `agent`, `task_name`, `task_type`, `task_description`,
/// `dependency_outputs`, `canvas_summary`. Asks for `{summary, files, canvas}`.
pub const CODE_V1: Template = Template {
    role: Role::Code,
    version: 1,
    text: include_str!("../prompts/code.v1.txt"),
};

/// The current template of a role.
pub fn for_role(role: Role) -> &'static Template {
    match role {
        Role::Intent => &INTENT_V1,
        Role::Planner => &PLANNER_V1,
        Role::Code => &CODE_V1,
    }
}

/// A mismatch between a template and the values given for it: always a programming error,
/// caught by tests rather than sent to a model as a half-filled prompt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    #[error("template {template} has a placeholder {{{name}}} with no value")]
    UnknownPlaceholder { template: String, name: String },
    #[error("template {template} has no placeholder {{{name}}} for the value given")]
    UnusedValue { template: String, name: String },
}

impl Template {
    /// `"planner.v1"`.
    pub fn id(&self) -> String {
        format!("{}.v{}", self.role.as_str(), self.version)
    }

    /// The placeholder names, in order of first appearance.
    pub fn placeholders(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        for piece in parse(self.text) {
            if let Piece::Placeholder(name) = piece {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Fills every placeholder in a single pass (a value containing `{x}` stays as it is).
    /// Fails if a placeholder has no value or a value has no placeholder.
    pub fn render(&self, values: &[(&str, &str)]) -> Result<String, PromptError> {
        let mut out = String::with_capacity(self.text.len() + 256);
        for piece in parse(self.text) {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Placeholder(name) => {
                    let value = values
                        .iter()
                        .find(|(key, _)| *key == name)
                        .map(|(_, value)| *value)
                        .ok_or_else(|| PromptError::UnknownPlaceholder {
                            template: self.id(),
                            name: name.to_owned(),
                        })?;
                    out.push_str(value);
                }
            }
        }
        let used = self.placeholders();
        if let Some((name, _)) = values.iter().find(|(key, _)| !used.contains(key)) {
            return Err(PromptError::UnusedValue {
                template: self.id(),
                name: (*name).to_owned(),
            });
        }
        Ok(out)
    }

    /// A JSON-mode request for this template's role: the rendered template as the system
    /// prompt and `user` as the one user message.
    pub fn request(
        &self,
        values: &[(&str, &str)],
        user: impl Into<String>,
    ) -> Result<CompletionRequest, PromptError> {
        Ok(CompletionRequest::new(self.role, self.render(values)?, user).json(true))
    }
}

enum Piece<'a> {
    Literal(&'a str),
    Placeholder(&'a str),
}

/// Splits a template into literals and placeholders. A placeholder is `{name}` with `name` of
/// lower-case letters, digits and `_`; every other brace is literal, so the JSON examples in
/// the prompts need no escaping.
fn parse(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut literal_start = 0;
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find('{') {
        let open = search_from + offset;
        let after = &text[open + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let closes = after[name_len..].starts_with('}');
        let starts_like_a_name = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
        if closes && starts_like_a_name {
            pieces.push(Piece::Literal(&text[literal_start..open]));
            pieces.push(Piece::Placeholder(name));
            literal_start = open + 1 + name_len + 1;
            search_from = literal_start;
        } else {
            search_from = open + 1;
        }
    }
    pieces.push(Piece::Literal(&text[literal_start..]));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: Template = Template {
        role: Role::Intent,
        version: 9,
        text: "Hi {name}! JSON {\"a\": {\"b\": 1}} and {name} again; {Not} {1x} {}",
    };

    #[test]
    fn renders_placeholders_and_leaves_other_braces() {
        let out = TINY.render(&[("name", "Ada {name}")]);
        assert_eq!(
            out.as_deref(),
            Ok("Hi Ada {name}! JSON {\"a\": {\"b\": 1}} and Ada {name} again; {Not} {1x} {}")
        );
        assert_eq!(TINY.placeholders(), vec!["name"]);
        assert_eq!(TINY.id(), "intent.v9");
    }

    #[test]
    fn missing_and_unused_values_are_errors() {
        assert_eq!(
            TINY.render(&[]),
            Err(PromptError::UnknownPlaceholder {
                template: "intent.v9".into(),
                name: "name".into()
            })
        );
        assert_eq!(
            TINY.render(&[("name", "x"), ("nmae", "typo")]),
            Err(PromptError::UnusedValue {
                template: "intent.v9".into(),
                name: "nmae".into()
            })
        );
    }

    #[test]
    fn shipped_templates_have_the_documented_placeholders() {
        assert_eq!(
            INTENT_V1.placeholders(),
            vec!["canvas_summary", "max_tasks"]
        );
        assert_eq!(
            PLANNER_V1.placeholders(),
            vec!["intent_json", "canvas_summary", "max_tasks"]
        );
        assert_eq!(
            CODE_V1.placeholders(),
            vec![
                "agent",
                "task_name",
                "task_type",
                "task_description",
                "dependency_outputs",
                "canvas_summary"
            ]
        );
        for role in [Role::Intent, Role::Planner, Role::Code] {
            assert_eq!(for_role(role).role, role);
        }
    }

    #[test]
    fn planner_prompt_asks_for_the_contract_task_format() {
        let text = PLANNER_V1.text;
        for field in [
            "\"tasks\"",
            "\"id\"",
            "\"name\"",
            "\"description\"",
            "\"type\"",
            "\"dependencies\"",
            "\"estimatedTime\"",
            "\"isolation\"",
            "\"agent\"",
            "\"prompt\"",
            "\"canRunInParallel\"",
            "\"inputs\"",
            "\"outputs\"",
        ] {
            assert!(text.contains(field), "planner prompt lacks {field}");
        }
        for word in [
            "ARCHITECTURE",
            "DATABASE",
            "CODE_GENERATION",
            "TESTING",
            "SCALING",
            "CONFIGURATION",
            "ANALYSIS",
            "INDEPENDENT",
            "DEPENDENT",
            "FINAL",
        ] {
            assert!(text.contains(word), "planner prompt lacks {word}");
        }
        // The example in the prompt must itself be a valid plan document.
        let example_start = text.find("{\"tasks\"").unwrap_or(0);
        let example_line = text[example_start..].lines().next().unwrap_or_default();
        let example: serde_json::Value =
            serde_json::from_str(example_line).unwrap_or_else(|e| panic!("{e}: {example_line}"));
        assert_eq!(example["tasks"][1]["dependencies"][0], "task_1");
    }

    #[test]
    fn every_example_answer_is_valid_json() {
        for (template, start) in [
            (&INTENT_V1, "{\"intent\""),
            (&PLANNER_V1, "{\"tasks\""),
            (&CODE_V1, "{\"summary\""),
        ] {
            let line = template
                .text
                .lines()
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("{} has no example answer", template.id()));
            let parsed = serde_json::from_str::<serde_json::Value>(line);
            assert!(parsed.is_ok(), "{}: {parsed:?}", template.id());
        }
    }

    #[test]
    fn a_rendered_planner_request_is_json_mode() {
        let req = PLANNER_V1
            .request(
                &[
                    ("intent_json", "{\"intent\":\"BUILD_FROM_SCRATCH\"}"),
                    ("canvas_summary", "(empty)"),
                    ("max_tasks", "8"),
                ],
                "Build an e-commerce platform",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(req.json);
        assert_eq!(req.role, Role::Planner);
        assert!(req.system.contains("at most 8 tasks"));
        assert!(!req.system.contains("{max_tasks}"));
        assert_eq!(req.messages[0].content, "Build an e-commerce platform");
    }
}
