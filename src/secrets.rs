//! Random secrets from the operating system's CSPRNG, and their digests.

use sha2::{Digest, Sha256};

/// `n` random bytes from the OS CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS RNG failing is unrecoverable; refusing to mint a weak secret is the only option.
    if let Err(e) = getrandom::fill(&mut buf) {
        #[expect(
            clippy::panic,
            reason = "a broken OS RNG must never yield a weak secret"
        )]
        {
            panic!("operating system random number generator failed: {e}");
        }
    }
    buf
}

/// An opaque bearer token: 32 random bytes, hex-encoded (64 characters).
pub fn new_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// A random string of `len` characters from `alphabet`, without modulo bias.
pub fn random_string(len: usize, alphabet: &[u8]) -> String {
    assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    // Largest multiple of the alphabet size that fits in a byte: reject bytes above it.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<64>() {
            if (b as usize) < limit && out.len() < len {
                if let Some(&c) = alphabet.get(b as usize % alphabet.len()) {
                    out.push(c as char);
                }
            }
        }
    }
    out
}

/// Letters and digits.
pub const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Lower-case letters (plio uuids).
pub const LOWERCASE: &[u8] = b"abcdefghijklmnopqrstuvwxyz";

/// SHA-256 hex digest: how tokens are stored and looked up.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(sha256_hex(&a).len(), 64);
        assert_ne!(sha256_hex(&a), a);
    }

    #[test]
    fn random_strings_use_only_the_alphabet() {
        let s = random_string(500, LOWERCASE);
        assert_eq!(s.len(), 500);
        assert!(s.bytes().all(|b| b.is_ascii_lowercase()));
    }
}
