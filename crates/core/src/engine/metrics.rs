//! Reads quantitative goals out of a prompt: throughput ("5000 RPS", "1.2k req/s"), users
//! ("10k users"), latency ("p99 under 200ms") and availability ("99.9%", "three nines").
//! Returns the metrics and which tokens they used, so "users" in "10k users" is not also
//! read as a feature.

use crate::capacity::rps_for_users;
use crate::engine::mentions;
use crate::engine::text::Token;
use crate::model::{Metric, MetricKind};

/// Words metric parsing relies on; registered with the typo corrector.
pub const UNIT_WORDS: &[&str] = &[
    "rps",
    "qps",
    "tps",
    "rpm",
    "requests",
    "request",
    "per",
    "second",
    "minute",
    "users",
    "concurrent",
    "active",
    "daily",
    "simultaneous",
    "connections",
    "milliseconds",
    "latency",
    "uptime",
    "availability",
    "available",
    "nines",
    "thousand",
    "million",
];

const RPS_UNITS: &[&[&str]] = &[
    &["rps"],
    &["qps"],
    &["tps"],
    &["req", "/", "s"],
    &["req", "/", "sec"],
    &["request", "/", "s"],
    &["request", "/", "sec"],
    &["request", "/", "second"],
    &["request", "per", "second"],
    &["request", "per", "sec"],
    &["req", "per", "second"],
    &["req", "per", "sec"],
    &["request", "a", "second"],
    &["request", "each", "second"],
];

const RPM_UNITS: &[&[&str]] = &[
    &["rpm"],
    &["request", "per", "minute"],
    &["request", "/", "min"],
];

const USER_UNITS: &[&[&str]] = &[
    &["user"],
    &["concurrent", "user"],
    &["active", "user"],
    &["daily", "active", "user"],
    &["simultaneous", "user"],
    &["concurrent", "connection"],
    &["dau"],
];

const MS_UNITS: &[&[&str]] = &[&["ms"], &["millisecond"], &["msec"]];
const SECOND_UNITS: &[&[&str]] = &[&["s"], &["second"], &["sec"]];
const PERCENT_UNITS: &[&[&str]] = &[&["%"], &["percent"]];

const LATENCY_CONTEXT: &[&str] = &["latency", "p", "response", "respond", "under", "below"];
const AVAILABILITY_CONTEXT: &[&str] = &["uptime", "availability", "available", "sla", "slo"];

/// Metrics in `tokens` (from [`mentions::tokens`] of `text`) and the indexes of the tokens
/// they consumed.
pub fn extract(text: &str, tokens: &[Token]) -> (Vec<Metric>, Vec<usize>) {
    let mut metrics: Vec<Metric> = Vec::new();
    let mut consumed = Vec::new();
    let norm = |k: usize| tokens.get(k).map_or("", |t| t.norm.as_str());
    let unit_at = |at: usize, units: &[&[&str]]| -> Option<usize> {
        units
            .iter()
            .filter(|u| u.iter().enumerate().all(|(k, w)| norm(at + k) == *w))
            .map(|u| u.len())
            .max()
    };
    let near = |i: usize, words: &[&str], before: usize, after: usize| -> bool {
        let lo = i.saturating_sub(before);
        (lo..=(i + after).min(tokens.len().saturating_sub(1)))
            .filter(|k| *k != i)
            .any(|k| words.contains(&norm(k)))
    };

    let mut i = 0;
    while i < tokens.len() {
        if let Some(nines) = nines_at(tokens, i) {
            let last = i + 1;
            metrics.push(metric(
                MetricKind::AvailabilityPct,
                nines,
                text,
                tokens[i].start,
                tokens[last].end,
            ));
            consumed.extend(i..=last);
            i = last + 1;
            continue;
        }
        let Some(mut value) = tokens[i].number() else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        match norm(j) {
            "k" | "thousand" => {
                value *= 1_000.0;
                j += 1;
            }
            "m" | "million" | "mil" => {
                value *= 1_000_000.0;
                j += 1;
            }
            _ => {}
        }
        let found = if let Some(len) = unit_at(j, RPS_UNITS) {
            Some((MetricKind::Rps, value, len, tokens[i].start))
        } else if let Some(len) = unit_at(j, RPM_UNITS) {
            Some((MetricKind::Rps, (value / 60.0).ceil(), len, tokens[i].start))
        } else if let Some(len) = unit_at(j, USER_UNITS) {
            Some((MetricKind::Users, value, len, tokens[i].start))
        } else if let Some(len) = unit_at(j, MS_UNITS) {
            Some((MetricKind::LatencyMs, value, len, latency_start(tokens, i)))
        } else if let Some(len) =
            unit_at(j, SECOND_UNITS).filter(|_| near(i, LATENCY_CONTEXT, 4, 0))
        {
            Some((
                MetricKind::LatencyMs,
                value * 1000.0,
                len,
                latency_start(tokens, i),
            ))
        } else if let Some(len) = unit_at(j, PERCENT_UNITS) {
            let plausible = (90.0..100.0).contains(&value)
                && (value >= 99.0 || near(i, AVAILABILITY_CONTEXT, 4, 3));
            plausible.then_some((MetricKind::AvailabilityPct, value, len, tokens[i].start))
        } else {
            None
        };
        match found {
            Some((kind, value, len, start)) => {
                let last = j + len - 1;
                let end = tokens.get(last).map_or(text.len(), |t| t.end);
                if !metrics.iter().any(|m| m.kind == kind && m.value == value) {
                    metrics.push(metric(kind, value, text, start, end));
                }
                consumed.extend(i..=last);
                i = last + 1;
            }
            None => i += 1,
        }
    }
    (metrics, consumed)
}

/// Metrics of a whole text.
pub fn metrics_in(text: &str) -> Vec<Metric> {
    extract(text, &mentions::tokens(text)).0
}

/// The throughput a set of metrics asks for: an RPS metric, else users converted with
/// [`rps_for_users`].
pub fn target_rps(metrics: &[Metric]) -> Option<u64> {
    let as_u64 = |v: f64| {
        if v.is_finite() && v >= 1.0 {
            Some(v.round().min(1e15) as u64)
        } else {
            None
        }
    };
    metrics
        .iter()
        .find(|m| m.kind == MetricKind::Rps)
        .and_then(|m| as_u64(m.value))
        .or_else(|| {
            metrics
                .iter()
                .find(|m| m.kind == MetricKind::Users)
                .and_then(|m| as_u64(m.value))
                .map(rps_for_users)
        })
}

fn metric(kind: MetricKind, value: f64, text: &str, start: usize, end: usize) -> Metric {
    Metric {
        kind,
        value,
        raw: text.get(start..end).unwrap_or_default().trim().to_string(),
    }
}

/// "three nines" / "3 nines" → 99.9.
fn nines_at(tokens: &[Token], i: usize) -> Option<f64> {
    if tokens.get(i + 1).map(|t| t.norm.as_str()) != Some("nine") {
        return None;
    }
    match tokens[i].norm.as_str() {
        "two" | "2" => Some(99.0),
        "three" | "3" => Some(99.9),
        "four" | "4" => Some(99.99),
        "five" | "5" => Some(99.999),
        _ => None,
    }
}

/// Starts a latency quote at a preceding "p99"/"latency" so it reads "p99 under 200ms".
fn latency_start(tokens: &[Token], i: usize) -> usize {
    let lo = i.saturating_sub(4);
    (lo..i)
        .find(|&k| {
            let t = &tokens[k];
            (t.norm == "p" && tokens.get(k + 1).is_some_and(Token::is_number))
                || t.norm == "latency"
        })
        .map_or(tokens[i].start, |k| tokens[k].start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Metric {
        let found = metrics_in(text);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
        found.into_iter().next().unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn example_2_reads_5000_rps() {
        let m = one("Fix the auth service in my design and make it scalable to 5000 RPS");
        assert_eq!(
            (m.kind, m.value, m.raw.as_str()),
            (MetricKind::Rps, 5000.0, "5000 RPS")
        );
    }

    #[test]
    fn throughput_spellings() {
        assert_eq!(one("handle 1.2k req/s").value, 1200.0);
        assert_eq!(one("scale to 5,000 requests per second").value, 5000.0);
        assert_eq!(one("Scale the payment service to 1200 rps").value, 1200.0);
        assert_eq!(one("at 5000rps").raw, "5000rps");
        assert_eq!(one("60000 requests per minute").value, 1000.0);
    }

    #[test]
    fn users_latency_and_availability() {
        let m = one("support 10k users");
        assert_eq!(
            (m.kind, m.value, m.raw.as_str()),
            (MetricKind::Users, 10_000.0, "10k users")
        );
        let m = one("keep p99 under 200ms");
        assert_eq!(
            (m.kind, m.value, m.raw.as_str()),
            (MetricKind::LatencyMs, 200.0, "p99 under 200ms")
        );
        let m = one("with 99.9% uptime");
        assert_eq!((m.kind, m.value), (MetricKind::AvailabilityPct, 99.9));
        assert_eq!(one("three nines").value, 99.9);
        assert_eq!(one("latency below 1 second").value, 1000.0);
    }

    #[test]
    fn numbers_without_units_are_ignored() {
        assert!(metrics_in("add 3 services and cut costs by 30%").is_empty());
        assert!(metrics_in("build version 2").is_empty());
    }

    #[test]
    fn target_rps_prefers_rps_then_users() {
        assert_eq!(
            target_rps(&metrics_in("5000 RPS for 10k users")),
            Some(5000)
        );
        assert_eq!(target_rps(&metrics_in("10k users")), Some(1000));
        assert_eq!(target_rps(&metrics_in("200ms")), None);
    }
}
