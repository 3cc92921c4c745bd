//! Structured output with repair: ask, validate the answer with the caller's check, and on
//! rejection show the model its answer and the reason and ask again, a bounded number of
//! times. The final error lists every reason so the caller can fall back to its static path.

use serde::de::IgnoredAny;

use crate::cost::Usage;
use crate::error::{truncate, LlmError};
use crate::provider::{Completion, CompletionRequest, EventSink, FinishReason, Message, Provider};

/// The repairs `generate_validated` callers should usually allow.
pub const DEFAULT_MAX_REPAIRS: usize = 2;

/// Longest reason kept per attempt; validators may quote big chunks of the answer.
const MAX_REASON_CHARS: usize = 1000;

/// An answer that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated<T> {
    pub value: T,
    /// The accepted completion.
    pub completion: Completion,
    /// How many repair rounds it took (0: the first answer was fine).
    pub repairs: usize,
    /// Usage summed over every attempt, rejected ones included: they were paid for.
    pub usage: Usage,
}

/// [`generate_validated_with`] without watching the stream.
pub async fn generate_validated<T>(
    provider: &dyn Provider,
    request: CompletionRequest,
    validate: impl Fn(&str) -> Result<T, String>,
    max_repairs: usize,
) -> Result<Validated<T>, LlmError> {
    generate_validated_with(provider, request, validate, max_repairs, &mut |_| {}).await
}

/// Completes `request` and passes the answer to `validate`; on `Err(reason)` appends the
/// answer and a user message with the reason, then asks again, at most `max_repairs` times.
/// When `request.json` is set the text is first unwrapped from Markdown fences and checked
/// to be JSON; `validate` then gets the bare JSON. Provider errors end the loop at once
/// (retries belong to the provider wrapper); exhausted repairs give `invalid_output` with
/// every attempt's reason.
pub async fn generate_validated_with<T>(
    provider: &dyn Provider,
    mut request: CompletionRequest,
    validate: impl Fn(&str) -> Result<T, String>,
    max_repairs: usize,
    on_event: EventSink<'_>,
) -> Result<Validated<T>, LlmError> {
    let mut reasons = Vec::new();
    let mut usage = Usage::default();
    for attempt in 0..=max_repairs {
        let completion = provider.complete(&request, on_event).await?;
        usage.add(completion.usage);
        let reason = match check(&request, &completion, &validate) {
            Ok(value) => {
                return Ok(Validated {
                    value,
                    completion,
                    repairs: attempt,
                    usage,
                })
            }
            Err(reason) => truncate(&reason, MAX_REASON_CHARS),
        };
        tracing::info!(
            provider = provider.name(),
            role = request.role.as_str(),
            attempt,
            "model answer rejected: {reason}"
        );
        if attempt < max_repairs {
            request.messages.push(Message::assistant(completion.text));
            request
                .messages
                .push(Message::user(repair_prompt(&reason, request.json)));
        }
        reasons.push(reason);
    }
    Err(LlmError::InvalidOutput { reasons })
}

fn check<T>(
    request: &CompletionRequest,
    completion: &Completion,
    validate: &impl Fn(&str) -> Result<T, String>,
) -> Result<T, String> {
    let cut = if completion.finish_reason == FinishReason::Length {
        " (the answer stopped at the max_tokens limit; be more concise)"
    } else {
        ""
    };
    let text = if request.json {
        let json = extract_json(&completion.text);
        serde_json::from_str::<IgnoredAny>(json)
            .map_err(|e| format!("the answer is not valid JSON: {e}{cut}"))?;
        json
    } else {
        completion.text.trim()
    };
    validate(text).map_err(|reason| format!("{reason}{cut}"))
}

fn repair_prompt(reason: &str, json: bool) -> String {
    let shape = if json {
        " as a single JSON object, with no prose and no code fences"
    } else {
        ""
    };
    format!(
        "Your previous answer was rejected: {reason}\n\
         Reply again with the complete, corrected answer{shape}."
    )
}

/// The JSON inside an answer: without Markdown code fences and without prose around the
/// outermost object or array. Models add both even when told not to.
pub fn extract_json(text: &str) -> &str {
    let mut body = text.trim();
    if let Some(rest) = body.strip_prefix("```") {
        // Drop the info string ("json") up to the end of the fence line.
        let rest = rest.split_once('\n').map_or("", |(_, after)| after);
        body = rest.trim_end().strip_suffix("```").unwrap_or(rest).trim();
    }
    if body.starts_with('{') || body.starts_with('[') {
        return body;
    }
    match (body.find('{'), body.rfind('}')) {
        (Some(start), Some(end)) if start < end => &body[start..=end],
        _ => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_inside_fences_and_prose() {
        assert_eq!(extract_json("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(extract_json("```\n[1, 2]\n```\n"), "[1, 2]");
        assert_eq!(
            extract_json("Here it is: {\"a\":{\"b\":2}} done."),
            "{\"a\":{\"b\":2}}"
        );
        assert_eq!(extract_json("  {\"a\":1}  "), "{\"a\":1}");
        assert_eq!(extract_json("no json here"), "no json here");
    }

    #[test]
    fn repair_prompt_names_the_reason_and_the_shape() {
        let p = repair_prompt("task_2 depends on itself", true);
        assert!(p.contains("task_2 depends on itself"));
        assert!(p.contains("single JSON object"));
        assert!(!repair_prompt("x", false).contains("JSON"));
    }
}
