//! The OpenAI Chat Completions wire protocol (`POST {base_url}/chat/completions`, streamed),
//! which OpenAI, Ollama, vLLM, llama.cpp's server and Gemini's compatibility endpoint all
//! speak. Retries and breakers are not here: wrap it in `ResilientProvider`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{LlmConfig, Models, Secret};
use crate::cost::{estimate_usage, Usage};
use crate::error::{self, LlmError, TimeoutPhase};
use crate::provider::{
    Completion, CompletionRequest, EventSink, FinishReason, Provider, StreamEvent,
};
use crate::redact::Redactor;
use crate::sse::{self, Exchange};

pub struct OpenAiProvider {
    client: reqwest::Client,
    endpoint: Url,
    api_key: Option<Secret>,
    /// Scrubs the key (and whatever else the application registered) from every error.
    redactor: Arc<Redactor>,
    models: Models,
    temperature: f32,
    max_tokens: u32,
    request_timeout: Duration,
    idle_timeout: Duration,
}

impl OpenAiProvider {
    /// A provider whose errors are scrubbed of the configured API key.
    pub fn new(config: &LlmConfig) -> Result<Self, LlmError> {
        Self::with_redactor(config, Arc::new(Redactor::new()))
    }

    /// A provider whose errors are scrubbed by `redactor`, the application's shared one; the
    /// configured API key is registered with it.
    pub fn with_redactor(config: &LlmConfig, redactor: Arc<Redactor>) -> Result<Self, LlmError> {
        if let Some(key) = &config.api_key {
            redactor.register(key.expose());
        }
        Ok(Self {
            client: sse::build_client(config)?,
            endpoint: sse::join(&config.base_url, "chat/completions")?,
            api_key: config.api_key.clone(),
            redactor,
            models: config.models.clone(),
            temperature: config.temperature,
            max_tokens: config.max_tokens,
            request_timeout: config.request_timeout,
            idle_timeout: config.idle_timeout,
        })
    }

    /// The JSON body sent for a request.
    pub fn request_body(&self, request: &CompletionRequest) -> Value {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if !request.system.is_empty() {
            messages.push(json!({"role": "system", "content": request.system}));
        }
        messages.extend(
            request
                .messages
                .iter()
                .map(|m| json!({"role": m.speaker.as_str(), "content": m.content})),
        );
        let mut body = json!({
            "model": self.models.for_role(request.role),
            "messages": messages,
            "stream": true,
            // Without this the stream carries no token counts and cost must be estimated.
            "stream_options": {"include_usage": true},
            "max_tokens": request.max_tokens.unwrap_or(self.max_tokens),
            "temperature": request.temperature.unwrap_or(self.temperature),
        });
        if request.json {
            body["response_format"] = json!({"type": "json_object"});
        }
        body
    }

    async fn attempt(
        &self,
        request: &CompletionRequest,
        on_event: EventSink<'_>,
    ) -> Result<Completion, LlmError> {
        let model = self.models.for_role(request.role);
        let secret = self.api_key.as_ref().map(Secret::expose);
        let mut http = self
            .client
            .post(self.endpoint.clone())
            .json(&self.request_body(request));
        if let Some(key) = secret {
            http = http.bearer_auth(key);
        }
        tracing::debug!(
            provider = "openai",
            model,
            role = request.role.as_str(),
            json = request.json,
            "LLM request"
        );
        let exchange = Exchange {
            idle_timeout: self.idle_timeout,
            model,
            redactor: &self.redactor,
        };
        let mut events = sse::open(http, &exchange).await?;

        let mut text = String::new();
        let mut usage = None;
        let mut answered_by = None;
        let mut finish = None;
        let mut done = false;
        while let Some(event) = events.next().await? {
            let data = event.data.trim();
            if data == "[DONE]" {
                done = true;
                break;
            }
            if data.is_empty() {
                continue;
            }
            let chunk: Chunk = serde_json::from_str(data).map_err(|e| LlmError::Protocol {
                message: format!(
                    "unreadable stream chunk ({e}): {}",
                    self.redactor.redact_truncated(data, 200)
                ),
            })?;
            if let Some(err) = chunk.error {
                return Err(stream_error(&err, model, &self.redactor));
            }
            if answered_by.is_none() {
                answered_by = chunk.model;
            }
            if let Some(u) = chunk.usage {
                usage = Some(Usage {
                    input_tokens: u.prompt_tokens,
                    output_tokens: u.completion_tokens,
                    estimated: false,
                });
            }
            for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
                if let Some(piece) = choice.delta.and_then(|d| d.content) {
                    if !piece.is_empty() {
                        text.push_str(&piece);
                        on_event(StreamEvent::Delta(&piece));
                    }
                }
                if let Some(reason) = choice.finish_reason {
                    finish = Some(FinishReason::from_provider(&reason));
                }
            }
        }
        // Some compatible servers close right after the finish reason without `[DONE]`; the
        // answer is complete then. Without either, the stream was cut.
        if !done && finish.is_none() {
            return Err(LlmError::Truncated {
                message: format!(
                    "the stream ended after {} characters without [DONE]",
                    text.chars().count()
                ),
            });
        }
        Ok(Completion {
            usage: usage.unwrap_or_else(|| estimate_usage(request, &text)),
            model: answered_by.unwrap_or_else(|| model.to_owned()),
            finish_reason: finish.unwrap_or(FinishReason::Unknown),
            text,
        })
    }
}

#[async_trait]
impl Provider for OpenAiProvider {
    fn name(&self) -> &str {
        "openai"
    }

    async fn complete(
        &self,
        request: &CompletionRequest,
        on_event: EventSink<'_>,
    ) -> Result<Completion, LlmError> {
        tokio::time::timeout(self.request_timeout, self.attempt(request, on_event))
            .await
            .map_err(|_| LlmError::Timeout {
                phase: TimeoutPhase::Request,
            })
            .and_then(|answer| answer)
            // The choke point: whatever built an error's text, it leaves here scrubbed.
            .map_err(|e| e.redacted(&self.redactor))
    }
}

/// An `{"error": ...}` object inside the stream: the request had been accepted, so treat it
/// as the server failing mid-answer unless it says otherwise.
fn stream_error(err: &Value, model: &str, redactor: &Redactor) -> LlmError {
    let body = json!({ "error": err }).to_string();
    let status = err
        .get("code")
        .and_then(Value::as_u64)
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (400..600).contains(c))
        .unwrap_or(500);
    error::from_status(
        status,
        &body,
        None,
        model,
        redactor,
        std::time::SystemTime::now(),
    )
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderKind;
    use crate::provider::{Message, Role};

    fn provider() -> OpenAiProvider {
        let mut config = LlmConfig::for_provider(ProviderKind::OpenAi);
        config.models.planner = "planner-model".into();
        OpenAiProvider::new(&config).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn body_carries_model_stream_usage_and_json_mode() {
        let mut req = CompletionRequest::new(Role::Planner, "be brief", "plan it").json(true);
        req.messages.push(Message::assistant("ok"));
        req.max_tokens = Some(99);
        let body = provider().request_body(&req);
        assert_eq!(body["model"], "planner-model");
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["response_format"]["type"], "json_object");
        assert_eq!(body["max_tokens"], 99);
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["role"], "user");
        assert_eq!(body["messages"][2]["role"], "assistant");
        let plain = provider().request_body(&CompletionRequest::new(Role::Code, "", "x"));
        assert!(plain.get("response_format").is_none());
        assert_eq!(
            plain["messages"][0]["role"], "user",
            "no empty system message"
        );
    }

    #[test]
    fn endpoint_keeps_the_base_path() {
        let base = Url::parse("http://127.0.0.1:8080/v1/").unwrap_or_else(|e| panic!("{e}"));
        let url = sse::join(&base, "chat/completions").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/v1/chat/completions");
    }
}
