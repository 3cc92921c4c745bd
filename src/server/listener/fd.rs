//! The open-file limit: raised to its hard maximum at start (the soft default of 1,024 on
//! many systems would cap a real-time server at a few hundred viewers), and turned into the
//! number of connections the listener may hold.

/// Files kept free for everything but client connections: the database and its WAL, log
/// files, the accept that sheds a connection, DNS, LLM provider calls.
pub fn reserve(limit: u64) -> u64 {
    (limit / 20).max(64)
}

/// The soft open-file limit after raising it as far as the hard limit allows (`None` where it
/// cannot be read).
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource};
        let mut limit = getrlimit(Resource::Nofile);
        if let (Some(cur), max) = (limit.current, limit.maximum) {
            let want = max.unwrap_or(cur.max(65_536));
            if want > cur {
                limit.current = Some(want);
                match setrlimit(Resource::Nofile, limit) {
                    Ok(()) => tracing::debug!(from = cur, to = want, "raised the open-file limit"),
                    Err(e) => tracing::debug!(error = %e, "cannot raise the open-file limit"),
                }
            }
        }
        getrlimit(Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// How many connections the process may hold: the open-file limit less [`reserve`].
pub fn connection_budget(limit: Option<u64>) -> usize {
    match limit {
        Some(l) => usize::try_from(l.saturating_sub(reserve(l)).max(16)).unwrap_or(usize::MAX),
        None => 16_384,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_keeps_a_reserve() {
        assert_eq!(connection_budget(Some(20_000)), 19_000);
        assert_eq!(connection_budget(Some(1_024)), 960);
        assert_eq!(connection_budget(Some(256)), 192);
        assert_eq!(connection_budget(Some(10)), 16);
        assert!(raise_open_file_limit().is_some_and(|l| l >= 64));
    }
}
