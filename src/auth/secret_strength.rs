//! Whether an HS256 secret (`MOTCUA_JWT_SECRET`) is fit for production. Anyone who knows the
//! secret can sign an administrator's token, so a placeholder copied from documentation or a
//! compose file, or a short or patterned string, must stop the service at start-up instead of
//! running it open. Random output (`openssl rand -base64 48`, `openssl rand -hex 32`) always
//! passes.

use std::collections::HashSet;

/// Shortest secret accepted: 256 bits, the size of the HMAC-SHA256 output.
pub const MIN_SECRET_BYTES: usize = 32;
/// Fewest different characters: random text of 32+ characters from any usual alphabet (hex
/// included) has far more.
const MIN_DISTINCT_CHARS: usize = 10;
/// Least estimated entropy, in bits (length times the Shannon entropy of the character counts).
const MIN_ESTIMATED_BITS: f64 = 120.0;
/// Length of an ascending or descending run (`0123456`, `abcdefg`) that gives a typed secret away.
const MAX_SEQUENCE_RUN: usize = 7;

/// Words of placeholders and examples. Long enough not to occur by chance in random base64 or hex.
const PLACEHOLDER_WORDS: [&str; 10] = [
    "change",
    "replace",
    "example",
    "placeholder",
    "secret",
    "password",
    "default",
    "insecure",
    "dummy",
    "sample",
];

/// How to make a good one, for every refusal.
pub const HOW_TO_MAKE_ONE: &str = "generate one with `openssl rand -base64 48` (or `head -c 48 \
                                   /dev/urandom | base64`) and keep it out of the repository";

/// `Ok` for a secret fit for production, otherwise why not (without echoing the secret).
pub fn check(secret: &[u8]) -> Result<(), String> {
    let refuse = |why: String| Err(format!("MOTCUA_JWT_SECRET {why}; {HOW_TO_MAKE_ONE}"));
    if secret.len() < MIN_SECRET_BYTES {
        return refuse(format!(
            "is {} bytes long; HS256 needs at least {MIN_SECRET_BYTES} random bytes",
            secret.len()
        ));
    }
    let text = String::from_utf8_lossy(secret).to_lowercase();
    if let Some(word) = PLACEHOLDER_WORDS.iter().find(|w| text.contains(*w)) {
        return refuse(format!(
            "looks like a placeholder or an example (it contains `{word}`), which anyone who read \
             the documentation knows"
        ));
    }
    let distinct = secret.iter().collect::<HashSet<_>>().len();
    if distinct < MIN_DISTINCT_CHARS {
        return refuse(format!(
            "uses only {distinct} different characters; it is not random"
        ));
    }
    if longest_sequence(secret) >= MAX_SEQUENCE_RUN {
        return refuse(
            "contains a run of consecutive characters (like `0123456`); it is not random"
                .to_owned(),
        );
    }
    let bits = estimated_bits(secret);
    if bits < MIN_ESTIMATED_BITS {
        return refuse(format!(
            "carries too little randomness (about {bits:.0} bits, at least {MIN_ESTIMATED_BITS:.0} needed)"
        ));
    }
    Ok(())
}

/// Length times the Shannon entropy of the byte frequencies: a generous upper bound of the
/// randomness, which only ever flags obviously poor secrets.
fn estimated_bits(secret: &[u8]) -> f64 {
    let mut counts = [0usize; 256];
    for b in secret {
        counts[usize::from(*b)] += 1;
    }
    let len = secret.len() as f64;
    let per_char: f64 = counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / len;
            -p * p.log2()
        })
        .sum();
    per_char * len
}

/// The longest run of bytes each one more (or each one less) than the one before.
fn longest_sequence(secret: &[u8]) -> usize {
    let mut longest = 1;
    for step in [1i16, -1] {
        let mut run = 1;
        for pair in secret.windows(2) {
            if i16::from(pair[1]) - i16::from(pair[0]) == step {
                run += 1;
                longest = longest.max(run);
            } else {
                run = 1;
            }
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_examples_and_patterns_are_refused() {
        for weak in [
            "change-me-to-a-long-random-secret-of-32-bytes-or-more",
            "replace-this-with-something-long-enough-please",
            "my-super-secret-jwt-signing-key-for-motcua-prod",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "abababababababababababababababababababab",
            "0123456789abcdef0123456789abcdef",
            "qwertyqwertyqwertyqwertyqwertyqwerty",
            "short",
        ] {
            let message = check(weak.as_bytes()).expect_err(weak);
            assert!(message.contains("openssl rand"), "{message}");
            assert!(
                !message.contains(weak),
                "the secret is not echoed: {message}"
            );
        }
    }

    #[test]
    fn random_secrets_pass() {
        for good in [
            // `openssl rand -base64 48`
            "k3N9vQ2xZ7pL0aRt5yWm8cJ1uHs4eGd6fBi+oXq/TnVwYzUr0lKjMhPgAsDfE2Cb",
            // `openssl rand -hex 32`
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            // A generated alphanumeric one.
            "Xq7Tz2LmN8vR4sKp1WyH6dFj3BcG9aE5",
        ] {
            assert_eq!(check(good.as_bytes()), Ok(()), "{good}");
        }
    }
}
