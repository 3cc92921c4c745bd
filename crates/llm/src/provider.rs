//! The `Provider` trait every backend implements (OpenAI-compatible, Anthropic, and the main
//! app's built-in engine), with its request, stream-event and result types. No IO here; the
//! wire protocols live in `openai.rs` and `anthropic.rs`.

use std::time::Duration;

use async_trait::async_trait;

use crate::cost::{estimate_tokens, Usage};
use crate::error::LlmError;

/// Which step of a run is asking; selects the model and the prompt template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Intent,
    Planner,
    Code,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intent => "intent",
            Self::Planner => "planner",
            Self::Code => "code",
        }
    }
}

/// Who said a message. The system prompt is separate (`CompletionRequest::system`) because
/// Anthropic takes it outside the message list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    User,
    Assistant,
}

impl Speaker {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub speaker: Speaker,
    pub content: String,
}

impl Message {
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            speaker: Speaker::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            speaker: Speaker::Assistant,
            content: content.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    pub role: Role,
    pub system: String,
    pub messages: Vec<Message>,
    /// Ask for a single JSON object (OpenAI `response_format: json_object`; for Anthropic,
    /// which has no such switch, an instruction appended to the system prompt).
    pub json: bool,
    /// `None`: the configured default.
    pub max_tokens: Option<u32>,
    /// `None`: the configured default.
    pub temperature: Option<f32>,
}

impl CompletionRequest {
    /// A request with one user message and the configured defaults.
    pub fn new(role: Role, system: impl Into<String>, user: impl Into<String>) -> Self {
        Self {
            role,
            system: system.into(),
            messages: vec![Message::user(user)],
            json: false,
            max_tokens: None,
            temperature: None,
        }
    }

    pub fn json(mut self, json: bool) -> Self {
        self.json = json;
        self
    }

    /// Rough prompt size in tokens, for budget checks before a call and for usage estimates
    /// when a provider reports none.
    pub fn estimated_input_tokens(&self) -> u64 {
        estimate_tokens(&self.system)
            + self
                .messages
                .iter()
                .map(|m| estimate_tokens(&m.content))
                .sum::<u64>()
    }
}

/// Why the model stopped, normalised across providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// It finished its answer (`stop`, `end_turn`, `stop_sequence`).
    Stop,
    /// It hit `max_tokens`; the text is cut and JSON in it is likely incomplete.
    Length,
    /// A content filter or refusal.
    ContentFilter,
    /// Anything else, verbatim.
    Other(String),
    /// The provider did not say.
    Unknown,
}

impl FinishReason {
    pub fn from_provider(reason: &str) -> Self {
        match reason {
            "stop" | "end_turn" | "stop_sequence" => Self::Stop,
            "length" | "max_tokens" => Self::Length,
            "content_filter" | "refusal" => Self::ContentFilter,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// The assembled answer of one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub usage: Usage,
    /// The model that answered, as the provider names it (may differ from the one asked for,
    /// e.g. an alias resolved to a dated version).
    pub model: String,
    pub finish_reason: FinishReason,
}

/// What a provider reports while it works.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StreamEvent<'a> {
    /// A piece of the answer's text, in order.
    Delta(&'a str),
    /// The attempt failed and will be retried after `delay`: text streamed so far is void
    /// and the answer starts again from the beginning.
    Retrying {
        attempt: u32,
        delay: Duration,
        code: &'static str,
    },
}

/// Receives stream events. Called inline by the provider, so it must be quick: forward to a
/// channel or a throttle (see [`crate::throttle`]), never block.
pub type EventSink<'a> = &'a mut (dyn FnMut(StreamEvent<'_>) + Send);

/// A backend that completes prompts, streaming as it goes. Object safe: the app keeps an
/// `Arc<dyn Provider>` chosen from the configuration; the built-in engine implements it too.
///
/// A provider without network, as the built-in engine can be:
/// ```
/// use std::sync::Arc;
/// use youmeyou_llm::{
///     async_trait, Completion, CompletionRequest, EventSink, FinishReason, LlmError, Provider,
///     Role, StreamEvent, Usage,
/// };
///
/// struct Builtin;
///
/// #[async_trait]
/// impl Provider for Builtin {
///     fn name(&self) -> &str {
///         "builtin"
///     }
///
///     async fn complete(
///         &self,
///         request: &CompletionRequest,
///         on_event: EventSink<'_>,
///     ) -> Result<Completion, LlmError> {
///         let text = r#"{"tasks": []}"#.to_owned();
///         on_event(StreamEvent::Delta(&text));
///         Ok(Completion {
///             usage: youmeyou_llm::cost::estimate_usage(request, &text),
///             text,
///             model: "builtin".into(),
///             finish_reason: FinishReason::Stop,
///         })
///     }
/// }
///
/// # let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # runtime.block_on(async {
/// let provider: Arc<dyn Provider> = Arc::new(Builtin);
/// let request = CompletionRequest::new(Role::Planner, "", "Build a shop").json(true);
/// let answer = youmeyou_llm::complete_quietly(provider.as_ref(), &request).await?;
/// assert_eq!(answer.text, r#"{"tasks": []}"#);
/// assert!(answer.usage.estimated);
/// # Ok::<(), LlmError>(()) }).unwrap();
/// ```
#[async_trait]
pub trait Provider: Send + Sync {
    /// Short stable name for logs, metrics and circuit breakers ("openai", "anthropic", ...).
    fn name(&self) -> &str;

    /// Runs one completion, calling `on_event` for each piece of text as it arrives, and
    /// returns the assembled answer.
    async fn complete(
        &self,
        request: &CompletionRequest,
        on_event: EventSink<'_>,
    ) -> Result<Completion, LlmError>;
}

/// Runs a completion without watching the stream.
pub async fn complete_quietly(
    provider: &dyn Provider,
    request: &CompletionRequest,
) -> Result<Completion, LlmError> {
    provider.complete(request, &mut |_| {}).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons_are_normalised() {
        assert_eq!(FinishReason::from_provider("stop"), FinishReason::Stop);
        assert_eq!(FinishReason::from_provider("end_turn"), FinishReason::Stop);
        assert_eq!(
            FinishReason::from_provider("max_tokens"),
            FinishReason::Length
        );
        assert_eq!(FinishReason::from_provider("length"), FinishReason::Length);
        assert_eq!(
            FinishReason::from_provider("tool_use"),
            FinishReason::Other("tool_use".into())
        );
    }

    #[test]
    fn input_tokens_are_estimated_from_all_text() {
        let mut req = CompletionRequest::new(Role::Intent, "a".repeat(8), "b".repeat(8));
        req.messages.push(Message::assistant("c".repeat(4)));
        assert_eq!(req.estimated_input_tokens(), 2 + 2 + 1);
    }
}
