//! The Anthropic Messages wire protocol (`POST {base_url}/v1/messages`, streamed): the
//! request shape, the `message_start` … `message_stop` event sequence and usage assembled
//! from `message_start` + `message_delta`. Retries and breakers are not here.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::Url;
use serde_json::{json, Value};

use crate::config::{LlmConfig, Models, Secret};
use crate::cost::{estimate_usage, Usage};
use crate::error::{self, LlmError, TimeoutPhase};
use crate::provider::{
    Completion, CompletionRequest, EventSink, FinishReason, Provider, StreamEvent,
};
use crate::redact::Redactor;
use crate::sse::{self, Exchange};

pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Anthropic has no JSON mode switch; this instruction stands in for OpenAI's
/// `response_format`, and `structured` validates (and repairs) the result either way.
const JSON_INSTRUCTION: &str =
    "Respond with a single JSON object and nothing else: no prose, no Markdown code fences.";

pub struct AnthropicProvider {
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

impl AnthropicProvider {
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
        // Accept both `https://api.anthropic.com` and `https://api.anthropic.com/v1`.
        let path = if config
            .base_url
            .path()
            .trim_end_matches('/')
            .ends_with("/v1")
        {
            "messages"
        } else {
            "v1/messages"
        };
        Ok(Self {
            client: sse::build_client(config)?,
            endpoint: sse::join(&config.base_url, path)?,
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
        let mut system = request.system.clone();
        if request.json {
            if !system.is_empty() {
                system.push_str("\n\n");
            }
            system.push_str(JSON_INSTRUCTION);
        }
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| json!({"role": m.speaker.as_str(), "content": m.content}))
            .collect();
        let mut body = json!({
            "model": self.models.for_role(request.role),
            "messages": messages,
            "max_tokens": request.max_tokens.unwrap_or(self.max_tokens),
            "temperature": request.temperature.unwrap_or(self.temperature),
            "stream": true,
        });
        if !system.is_empty() {
            body["system"] = Value::String(system);
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
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(&self.request_body(request));
        if let Some(key) = secret {
            http = http.header("x-api-key", key);
        }
        tracing::debug!(
            provider = "anthropic",
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
        let mut usage: Option<Usage> = None;
        let mut answered_by = None;
        let mut finish = None;
        let mut stopped = false;
        while let Some(event) = events.next().await? {
            let data = event.data.trim();
            if data.is_empty() {
                continue;
            }
            let value: Value = serde_json::from_str(data).map_err(|e| LlmError::Protocol {
                message: format!(
                    "unreadable stream event ({e}): {}",
                    self.redactor.redact_truncated(data, 200)
                ),
            })?;
            // The `event:` line and the payload's `type` always agree; the payload is
            // authoritative because some proxies drop `event:` lines.
            let kind = value
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or(&event.event);
            match kind {
                "message_start" => {
                    answered_by = value
                        .pointer("/message/model")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    if let Some(u) = value.pointer("/message/usage") {
                        usage = Some(Usage {
                            input_tokens: input_tokens(u),
                            output_tokens: count(u, "output_tokens"),
                            estimated: false,
                        });
                    }
                }
                "content_block_delta" => {
                    let is_text =
                        value.pointer("/delta/type").and_then(Value::as_str) == Some("text_delta");
                    let piece = value.pointer("/delta/text").and_then(Value::as_str);
                    if let (true, Some(piece)) = (is_text, piece) {
                        if !piece.is_empty() {
                            text.push_str(piece);
                            on_event(StreamEvent::Delta(piece));
                        }
                    }
                }
                "message_delta" => {
                    if let Some(reason) =
                        value.pointer("/delta/stop_reason").and_then(Value::as_str)
                    {
                        finish = Some(FinishReason::from_provider(reason));
                    }
                    // `message_delta` usage is cumulative: it replaces, not adds to, the
                    // counts of `message_start`.
                    if let Some(u) = value.get("usage") {
                        let current = usage.get_or_insert(Usage::default());
                        if u.get("output_tokens").is_some() {
                            current.output_tokens = count(u, "output_tokens");
                        }
                        if u.get("input_tokens").is_some() {
                            current.input_tokens = input_tokens(u);
                        }
                    }
                }
                "message_stop" => {
                    stopped = true;
                    break;
                }
                "error" => return Err(stream_error(&value, model, &self.redactor)),
                // ping, content_block_start/stop, and event types added later.
                _ => {}
            }
        }
        if !stopped {
            return Err(LlmError::Truncated {
                message: format!(
                    "the stream ended after {} characters without message_stop",
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
impl Provider for AnthropicProvider {
    fn name(&self) -> &str {
        "anthropic"
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

fn count(usage: &Value, field: &str) -> u64 {
    usage.get(field).and_then(Value::as_u64).unwrap_or(0)
}

/// Cached prompt tokens are billed differently but are still prompt tokens; counting them
/// keeps budgets on the safe side.
fn input_tokens(usage: &Value) -> u64 {
    count(usage, "input_tokens")
        + count(usage, "cache_creation_input_tokens")
        + count(usage, "cache_read_input_tokens")
}

/// Maps an `error` event (`{"type":"error","error":{"type":"overloaded_error",...}}`) to the
/// status the same error would have had before the stream started.
fn stream_error(event: &Value, model: &str, redactor: &Redactor) -> LlmError {
    let status = match event.pointer("/error/type").and_then(Value::as_str) {
        Some("rate_limit_error") => 429,
        Some("authentication_error") => 401,
        Some("permission_error") => 403,
        Some("not_found_error") => 404,
        Some("invalid_request_error") => 400,
        Some("request_too_large") => 413,
        Some("overloaded_error") => 529,
        _ => 500,
    };
    error::from_status(
        status,
        &event.to_string(),
        None,
        model,
        redactor,
        SystemTime::now(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderKind;
    use crate::provider::Role;

    fn provider(base: &str) -> AnthropicProvider {
        let mut config = LlmConfig::for_provider(ProviderKind::Anthropic);
        config.base_url = Url::parse(base).unwrap_or_else(|e| panic!("{e}"));
        AnthropicProvider::new(&config).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn endpoint_accepts_base_with_or_without_v1() {
        assert_eq!(
            provider("https://api.anthropic.com").endpoint.as_str(),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(
            provider("http://127.0.0.1:9/v1/").endpoint.as_str(),
            "http://127.0.0.1:9/v1/messages"
        );
    }

    #[test]
    fn json_mode_becomes_a_system_instruction() {
        let p = provider("https://api.anthropic.com");
        let body =
            p.request_body(&CompletionRequest::new(Role::Intent, "classify", "hi").json(true));
        let system = body["system"].as_str().unwrap_or_default();
        assert!(system.starts_with("classify\n\n"), "{system}");
        assert!(system.contains("single JSON object"));
        assert_eq!(body["stream"], true);
        assert_eq!(body["messages"][0]["role"], "user");
        let plain = p.request_body(&CompletionRequest::new(Role::Intent, "", "hi"));
        assert!(plain.get("system").is_none());
    }

    #[test]
    fn stream_error_events_keep_their_classification() {
        let overloaded =
            json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}});
        let err = stream_error(&overloaded, "m", &Redactor::new());
        assert_eq!(
            (err.code(), err.retryable()),
            ("provider_unavailable", true)
        );
        let auth = json!({"type":"error","error":{"type":"authentication_error","message":"bad"}});
        assert_eq!(
            stream_error(&auth, "m", &Redactor::new()).code(),
            "auth_failed"
        );
    }
}
