//! Secrets that must survive restarts but need no operator: the JWT signing secret is generated
//! on first start and kept in the data directory (mode 0600).

use rand::RngCore;
use std::path::Path;

/// A secret that never prints itself.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

const JWT_FILE: &str = "jwt_secret";

/// Reads the JWT secret from `data_dir/jwt_secret`, creating it (64 random bytes, hex) when absent.
pub fn load_or_create_jwt_secret(data_dir: &Path) -> std::io::Result<Secret> {
    let path = data_dir.join(JWT_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim()).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{} is not hex ({e}); delete it to generate a new secret",
                        path.display()
                    ),
                )
            })?;
            if bytes.len() < 32 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{} holds fewer than 32 bytes; delete it to generate a new secret",
                        path.display()
                    ),
                ));
            }
            Ok(Secret(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = vec![0u8; 64];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            write_private(&path, hex::encode(&bytes).as_bytes())?;
            tracing::info!(path = %path.display(), "generated a new JWT secret");
            Ok(Secret(bytes))
        }
        Err(e) => Err(e),
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generated_secret_is_kept_across_starts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create_jwt_secret(dir.path()).expect("create");
        let second = load_or_create_jwt_secret(dir.path()).expect("read");
        assert_eq!(first.expose(), second.expose());
        assert_eq!(first.expose().len(), 64);
        assert_eq!(format!("{first:?}"), "Secret(***)");
    }
}
