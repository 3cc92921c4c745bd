//! CPU-bound planning work (intent analysis, context extraction, the built-in plan) runs here,
//! off the async workers: on tokio's blocking threads, at most one job per core at a time. A
//! crafted prompt and canvas can then cost only their own run time, never `/health`'s or
//! another user's stream (docs/SECURITY.md, "Planning cannot starve the server").

use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// At most this many planning jobs run at once: one per core the process may use.
fn permits() -> &'static Semaphore {
    static POOL: OnceLock<Semaphore> = OnceLock::new();
    POOL.get_or_init(|| Semaphore::new(pool_size()))
}

/// The pool's size: the cores this process may use (at least 1).
pub fn pool_size() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A planning job that could not finish: it panicked (a bug, logged), or the runtime is
/// shutting down.
#[derive(Debug, thiserror::Error)]
#[error("planning stopped unexpectedly: {0}")]
pub struct CpuError(String);

/// Runs `job` on a blocking thread once a pool slot is free; waiting callers queue in order.
pub async fn run<T: Send + 'static>(
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CpuError> {
    let _slot = permits()
        .acquire()
        .await
        .map_err(|_| CpuError("the planning pool is closed".into()))?;
    tokio::task::spawn_blocking(job).await.map_err(|e| {
        tracing::error!(error = %e, "a planning job panicked");
        CpuError(e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(flavor = "current_thread")]
    async fn jobs_leave_the_async_worker_free_and_never_exceed_the_pool() {
        // On a single-threaded runtime a job that ran inline would block this task's timer;
        // here the jobs wait on a barrier that the async side opens, so it must stay free.
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(std::sync::Mutex::new(gate));
        let jobs: Vec<_> = (0..pool_size() * 3)
            .map(|_| {
                let (running, most, gate) = (running.clone(), most.clone(), gate.clone());
                tokio::spawn(run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let _ = gate.lock().map(|g| g.recv());
                    running.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for _ in 0..pool_size() * 3 {
            // The async side keeps running while jobs block: it is the one opening the gate.
            tokio::task::yield_now().await;
            open.send(()).expect("a job is waiting");
        }
        for j in jobs {
            j.await.expect("joined").expect("ran");
        }
        assert!(most.load(Ordering::SeqCst) <= pool_size());
        assert!(most.load(Ordering::SeqCst) >= 1);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_crash() {
        let err = run(|| -> u8 { panic!("boom") }).await;
        assert!(err.is_err());
        assert_eq!(run(|| 7).await.expect("the pool still works"), 7);
    }
}
