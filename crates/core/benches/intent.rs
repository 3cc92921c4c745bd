//! Worst-case intent analysis against a normal one (issue 21, item 2).
//!
//! `cargo bench -p youmeyou-core --bench intent` (or `./dev bench cargo`). Prints the median of
//! several rounds for each case, alternating cases so the machine's drift hits both, and the
//! ratio against the peer (Example 2's prompt on Example 2's canvas). The worst cases are the
//! largest inputs the limits allow (docs/LIMITS.md): 500 nodes with 200-character labels,
//! 64-character ids and long config strings, and a 4,000-character prompt.

use std::hint::black_box;
use std::time::{Duration, Instant};

use youmeyou_core::engine::context::extract_context;
use youmeyou_core::engine::fixtures::{example_2_canvas, node, EXAMPLE_2_PROMPT};
use youmeyou_core::engine::intent::analyse_intent;
use youmeyou_core::model::{Canvas, NodeType};

const ROUNDS: usize = 9;

/// A deterministic pseudo-random word of `len` lower-case letters (no catalogue word).
fn word(seed: &mut u64, len: usize) -> String {
    (0..len)
        .map(|_| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from(b'a' + ((*seed >> 33) % 26) as u8)
        })
        .collect()
}

/// 500 nodes labelled "a a … a b" (the reviewer's canvas).
fn repeated_label_canvas() -> Canvas {
    let label = format!("{}b", "a ".repeat(99));
    Canvas {
        nodes: (0..500)
            .map(|i| node(&format!("n{i}"), NodeType::Microservice, &label))
            .collect(),
        ..Canvas::default()
    }
}

/// 500 nodes whose labels, ids and config strings are all distinct 8-letter non-words, so
/// every word goes through typo correction.
fn typo_canvas() -> Canvas {
    let mut seed = 7;
    let nodes = (0..500)
        .map(|i| {
            let label: Vec<String> = (0..22).map(|_| word(&mut seed, 8)).collect();
            let id = format!("{}{i}", word(&mut seed, 60));
            let mut n = node(&id, NodeType::Database, &label.join(" "));
            for key in ["engine", "technology", "database", "db"] {
                let text: Vec<String> = (0..1_800).map(|_| word(&mut seed, 8)).collect();
                n.config
                    .insert(key.to_string(), serde_json::Value::String(text.join(" ")));
            }
            n
        })
        .collect();
    Canvas {
        nodes,
        ..Canvas::default()
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run(prompt: &str, canvas: &Canvas) {
    if let Ok(intent) = analyse_intent(black_box(prompt), black_box(canvas)) {
        black_box(extract_context(canvas, &intent));
    }
}

fn main() {
    let peer_canvas = example_2_canvas();
    let repeated = repeated_label_canvas();
    let typos = typo_canvas();
    let mut seed = 11;
    let words: Vec<String> = (0..444).map(|_| word(&mut seed, 8)).collect();
    let cases: Vec<(&str, String, &Canvas)> = vec![
        (
            "peer: Example 2 prompt, Example 2 canvas",
            EXAMPLE_2_PROMPT.to_string(),
            &peer_canvas,
        ),
        (
            "500 × 'a … a b' labels, prompt 'a ' × 1996 + 'scale it'",
            format!("{}scale it", "a ".repeat(1996)),
            &repeated,
        ),
        (
            "the same canvas, prompt 'b ' + 'a ' × 1995 + 'scale it' (every name passes the word filter)",
            format!("b {}scale it", "a ".repeat(1995)),
            &repeated,
        ),
        (
            "500 nodes of 8-letter non-words (labels, ids, configs), prompt of 444 non-words",
            format!("scale {}", words.join(" ")),
            &typos,
        ),
        (
            "the same canvas, prompt 'migrate the databases to postgres' (reads every config)",
            "migrate the databases to postgres".to_string(),
            &typos,
        ),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for _ in 0..ROUNDS {
        for (i, (_, prompt, canvas)) in cases.iter().enumerate() {
            let t = Instant::now();
            run(prompt, canvas);
            times[i].push(t.elapsed());
        }
    }
    let peer = median(times[0].clone());
    println!("intent analysis + context, median of {ROUNDS} rounds (target: worst ≤ 50 ms)");
    for ((name, prompt, canvas), t) in cases.iter().zip(times) {
        let m = median(t);
        println!(
            "  {:>10.2} ms  ×{:>8.1} peer  {name} ({} chars, {} nodes)",
            m.as_secs_f64() * 1000.0,
            m.as_secs_f64() / peer.as_secs_f64().max(1e-9),
            prompt.chars().count(),
            canvas.nodes.len()
        );
    }
}
