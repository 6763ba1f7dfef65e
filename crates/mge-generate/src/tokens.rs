/// Bytes per token of the estimator.
pub const BYTES_PER_TOKEN: usize = 4;

/// Estimate the tokens of a text: one token per 4 bytes, rounded up (0 for an empty text).
///
/// Used for the simulated provider, and for HTTP replies that carry no `usage`.
pub fn estimate_tokens(text: &str) -> u32 {
    let tokens = text.len().div_ceil(BYTES_PER_TOKEN);
    u32::try_from(tokens).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_bytes_per_token_rounded_up() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("a"), 1);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("é"), 1);
        assert_eq!(estimate_tokens(&"x".repeat(4000)), 1000);
    }
}
