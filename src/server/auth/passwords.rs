//! Password hashing with argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane). Hashing is
//! CPU- and memory-heavy, so it runs on the blocking pool behind a semaphore: a login flood
//! queues instead of allocating 19 MiB per request.

use crate::server::error::ApiError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use tokio::sync::{OnceCell, Semaphore};

/// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Result<Argon2<'static>, ApiError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("salt: {e}")))?;
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing failed: {e}")))
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        tracing::error!("a stored password hash does not parse; that account cannot sign in");
        return false;
    };
    // The parameters come from the stored hash, so older hashes keep verifying.
    argon2().is_ok_and(|a| a.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Hashes and verifies passwords, a bounded number at a time.
pub struct Passwords {
    permits: Semaphore,
    /// Verified against when the email is unknown, so that case costs the same time.
    dummy: OnceCell<String>,
}

impl Default for Passwords {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores.max(2))
    }
}

impl Passwords {
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            permits: Semaphore::new(max_concurrent.max(1)),
            dummy: OnceCell::new(),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("password pool closed: {e}")))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("password task failed: {e}")))
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || hash_blocking(&password)).await?
    }

    /// Whether `password` matches `hash`; with `None` (unknown account) it verifies against a
    /// dummy hash and answers `false`, taking as long as a real check.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let (hash, real) = match hash {
            Some(h) => (h, true),
            None => {
                let dummy = self
                    .dummy
                    .get_or_try_init(|| async {
                        let mut random = [0u8; 24];
                        rand::rngs::OsRng.fill_bytes(&mut random);
                        self.hash(hex::encode(random)).await
                    })
                    .await?;
                (dummy.clone(), false)
            }
        };
        let ok = self.run(move || verify_blocking(&password, &hash)).await?;
        Ok(ok && real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let passwords = Passwords::new(2);
        let a = passwords.hash("correct horse".into()).await.expect("hash");
        let b = passwords.hash("correct horse".into()).await.expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "every hash has its own salt");
        assert!(passwords
            .verify("correct horse".into(), Some(a.clone()))
            .await
            .expect("verify"));
        assert!(!passwords
            .verify("wrong horse".into(), Some(a))
            .await
            .expect("verify"));
        assert!(!passwords
            .verify("anything".into(), None)
            .await
            .expect("verify"));
        assert!(!passwords
            .verify("x".into(), Some("not a hash".into()))
            .await
            .expect("verify"));
    }
}
