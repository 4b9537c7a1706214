//! Argon2id password hashing (PHC strings).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Hashes a password with Argon2id and a random salt from the OS CSPRNG.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&crate::secrets::random_bytes::<16>())
        .map_err(|e| anyhow::anyhow!("encoding salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// A fixed hash verified against when the user does not exist, so that a missing user and a
/// wrong password take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4k8lQ4C8mVb7tF6Yd1j3xH1C7uUQ3ZsK4Fj4y5m3f2Q";

/// Verifies a password against a stored hash (`None` = user without password or unknown).
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let candidate = stored.unwrap_or(DUMMY_HASH);
    let ok = PasswordHash::new(candidate)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    ok && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_by_salt() {
        let a = hash("correct horse").expect("hash");
        let b = hash("correct horse").expect("hash");
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse", Some(&a)));
        assert!(!verify("wrong", Some(&a)));
        assert!(!verify("correct horse", None));
    }
}

/// A bound on concurrent password hashing (SPEC 4.1): Argon2 is deliberately expensive, so a
/// login flood queues here instead of taking every blocking thread and every core.
#[derive(Clone)]
pub struct HashingGate(std::sync::Arc<tokio::sync::Semaphore>);

impl HashingGate {
    /// At most `permits` hashes at once.
    pub fn new(permits: usize) -> Self {
        Self(std::sync::Arc::new(tokio::sync::Semaphore::new(
            permits.max(1),
        )))
    }

    /// Waits for a turn; the turn lasts as long as the permit is held.
    pub async fn turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.0.clone().acquire_owned().await.ok()
    }
}
