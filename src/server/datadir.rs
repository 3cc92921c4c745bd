//! The data directory and the database files are private to the account that runs the server:
//! the directory `0700`, the SQLite files `0600` (SQLite gives its `-wal` and `-shm` files the
//! database file's mode). Set when created; an existing directory that others can read is
//! reported at start (its owner may share it on purpose), an existing database file is made
//! private.

use std::path::{Path, PathBuf};

/// Creates `dir` (and its parents) as `0700`, or warns when it exists with wider access.
pub fn prepare(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        warn_if_shared(dir);
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(unix)]
fn warn_if_shared(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(dir) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                dir = %dir.display(),
                mode = format!("{mode:o}"),
                "the data directory can be read by other local users; run `chmod 700 {}` unless that is intended",
                dir.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_dir: &Path) {}

/// The file behind a `sqlite:` URL (`None` for an in-memory database).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || rest.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Creates the database file as `0600` before SQLite opens it, or makes an existing one `0600`.
pub fn private_database_file(url: &str) -> std::io::Result<()> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        prepare(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    drop(options.open(&path)?);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite://data/y.db"),
            Some(PathBuf::from("data/y.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:/abs/y.db?mode=rwc"),
            Some(PathBuf::from("/abs/y.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://file?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://x"), None);
    }

    #[tokio::test]
    async fn the_directory_and_every_database_file_are_private() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("data");
        prepare(&dir).expect("created");
        assert_eq!(mode(&dir), 0o700);
        let url = format!("sqlite://{}", dir.join("youmeyou.db").display());
        let store = crate::server::store::sqlite::SqliteStore::open(&url)
            .await
            .expect("store");
        // A write makes SQLite create the WAL and shared-memory files.
        sqlx::query("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
            .execute(store.pool())
            .await
            .expect("write");
        for name in ["youmeyou.db", "youmeyou.db-wal", "youmeyou.db-shm"] {
            let p = dir.join(name);
            assert!(p.exists(), "{name} exists");
            assert_eq!(mode(&p), 0o600, "{name}");
        }
    }

    #[test]
    fn an_existing_wider_database_file_is_made_private() {
        let root = tempfile::tempdir().expect("tempdir");
        let db = root.path().join("old.db");
        std::fs::write(&db, b"").expect("file");
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        private_database_file(&format!("sqlite://{}", db.display())).expect("made private");
        assert_eq!(mode(&db), 0o600);
    }
}
