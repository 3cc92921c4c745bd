//! Turns a fast token stream into at most ~10 progress callbacks per second per task, so the
//! event log and the browsers are not flooded; the final text is always delivered. The
//! throttle and the progress sink are pure (time is an argument); `complete_with_progress`
//! is the async glue over a provider.

use std::time::{Duration, Instant};

use crate::cost::estimate_tokens;
use crate::error::LlmError;
use crate::provider::{Completion, CompletionRequest, Provider, StreamEvent};

/// The rate the UI is designed for.
pub const DEFAULT_PROGRESS_PER_SECOND: u32 = 10;

/// Lets one emission through per interval; what arrives in between is marked pending.
#[derive(Debug, Clone)]
pub struct Throttle {
    interval: Duration,
    last_emit: Option<Instant>,
    pending: bool,
}

impl Throttle {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_emit: None,
            pending: false,
        }
    }

    /// At most `n` emissions per second (`0` is treated as 1).
    pub fn per_second(n: u32) -> Self {
        Self::new(Duration::from_secs(1) / n.max(1))
    }

    /// Something changed at `now`: `true` means emit now, `false` means it is held.
    pub fn offer(&mut self, now: Instant) -> bool {
        let due = self
            .last_emit
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if due {
            self.last_emit = Some(now);
            self.pending = false;
        } else {
            self.pending = true;
        }
        due
    }

    /// Whether a change was held back since the last emission.
    pub fn has_pending(&self) -> bool {
        self.pending
    }
}

/// One progress report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress<'a> {
    /// The answer so far (after a retry, of the current attempt only).
    pub text: &'a str,
    /// `text`'s size in estimated tokens, handy for a progress bar.
    pub estimated_tokens: u64,
    /// The last report: `text` is the complete answer.
    pub done: bool,
}

/// Accumulates stream events and reports through a [`Throttle`].
pub struct ProgressSink<F> {
    throttle: Throttle,
    text: String,
    on_progress: F,
}

impl<F: FnMut(Progress<'_>)> ProgressSink<F> {
    pub fn new(max_per_second: u32, on_progress: F) -> Self {
        Self {
            throttle: Throttle::per_second(max_per_second),
            text: String::new(),
            on_progress,
        }
    }

    /// Feeds one stream event received at `now`.
    pub fn event(&mut self, event: StreamEvent<'_>, now: Instant) {
        match event {
            StreamEvent::Delta(piece) => self.text.push_str(piece),
            // The retried attempt streams its answer from the start.
            StreamEvent::Retrying { .. } => self.text.clear(),
        }
        if self.throttle.offer(now) {
            self.report(false);
        }
    }

    /// Delivers the complete answer, whatever the throttle says.
    pub fn finish(&mut self, final_text: &str) {
        self.text.clear();
        self.text.push_str(final_text);
        self.report(true);
    }

    fn report(&mut self, done: bool) {
        (self.on_progress)(Progress {
            text: &self.text,
            estimated_tokens: estimate_tokens(&self.text),
            done,
        });
    }
}

/// Runs a completion, reporting progress at most `max_per_second` times a second and once
/// more, with `done: true`, when the answer is complete.
pub async fn complete_with_progress<F>(
    provider: &dyn Provider,
    request: &CompletionRequest,
    max_per_second: u32,
    on_progress: F,
) -> Result<Completion, LlmError>
where
    F: FnMut(Progress<'_>) + Send,
{
    let mut sink = ProgressSink::new(max_per_second, on_progress);
    let completion = provider
        .complete(request, &mut |event| {
            // Tokio's clock so that tests with paused time see throttling too.
            sink.event(event, tokio::time::Instant::now().into_std())
        })
        .await?;
    sink.finish(&completion.text);
    Ok(completion)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_one_emission_per_interval() {
        let t0 = Instant::now();
        let mut t = Throttle::per_second(10);
        let emitted = (0..100)
            .filter(|i| t.offer(t0 + Duration::from_millis(i * 10)))
            .count();
        // 100 offers over 990 ms at 100 ms spacing: t=0,100,...,900.
        assert_eq!(emitted, 10);
        assert!(t.has_pending(), "the tail was held back");
    }

    #[test]
    fn sink_reports_throttled_and_always_the_final_text() {
        let t0 = Instant::now();
        let mut reports: Vec<(String, bool)> = Vec::new();
        let mut sink = ProgressSink::new(10, |p: Progress<'_>| {
            reports.push((p.text.to_owned(), p.done))
        });
        for i in 0..50u64 {
            sink.event(StreamEvent::Delta("ab"), t0 + Duration::from_millis(i));
        }
        sink.finish(&"ab".repeat(50));
        drop(sink);
        assert_eq!(reports.len(), 2, "one throttled report + the final one");
        assert_eq!(reports[0], ("ab".to_owned(), false));
        assert_eq!(reports[1], ("ab".repeat(50), true));
    }

    #[test]
    fn a_retry_starts_the_text_again() {
        let t0 = Instant::now();
        let mut last = String::new();
        let mut sink = ProgressSink::new(1000, |p: Progress<'_>| last = p.text.to_owned());
        sink.event(StreamEvent::Delta("broken"), t0);
        sink.event(
            StreamEvent::Retrying {
                attempt: 1,
                delay: Duration::ZERO,
                code: "stream_truncated",
            },
            t0 + Duration::from_millis(5),
        );
        sink.event(StreamEvent::Delta("fresh"), t0 + Duration::from_millis(10));
        drop(sink);
        assert_eq!(last, "fresh");
    }
}
