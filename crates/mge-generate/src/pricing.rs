//! Prices per model, in US dollars per million tokens.
//!
//! List prices of common models. A model name matches the longest entry that equals it or that it
//! starts with followed by `-` (so `gpt-4o-2024-08-06` is priced as `gpt-4o`, and
//! `gpt-4o-mini-2024-07-18` as `gpt-4o-mini`). Models not in the table cost 0 and are reported
//! as unpriced by [`price_for`] returning `None`.

/// Input and output price of one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    pub model: &'static str,
    /// USD per million input (prompt) tokens.
    pub input_per_million: f64,
    /// USD per million output (completion) tokens.
    pub output_per_million: f64,
}

const fn price(model: &'static str, input: f64, output: f64) -> ModelPrice {
    ModelPrice {
        model,
        input_per_million: input,
        output_per_million: output,
    }
}

/// The price table.
pub const PRICES: &[ModelPrice] = &[
    // The simulated provider's default model, priced like a mid-size coding model.
    price("sim-coder-1", 3.00, 15.00),
    price("gpt-4o", 2.50, 10.00),
    price("gpt-4o-mini", 0.15, 0.60),
    price("gpt-4.1", 2.00, 8.00),
    price("gpt-4.1-mini", 0.40, 1.60),
    price("gpt-4.1-nano", 0.10, 0.40),
    price("o3-mini", 1.10, 4.40),
    price("claude-sonnet-4-5", 3.00, 15.00),
    price("claude-3-5-haiku", 0.80, 4.00),
];

/// The price of a model, if the table knows it.
pub fn price_for(model: &str) -> Option<&'static ModelPrice> {
    PRICES
        .iter()
        .filter(|p| {
            model == p.model
                || model
                    .strip_prefix(p.model)
                    .is_some_and(|rest| rest.starts_with('-'))
        })
        .max_by_key(|p| p.model.len())
}

/// The cost of one call, in USD (0 for unpriced models).
pub fn cost_usd(model: &str, tokens_in: u32, tokens_out: u32) -> f64 {
    price_for(model).map_or(0.0, |p| {
        (f64::from(tokens_in) * p.input_per_million + f64::from(tokens_out) * p.output_per_million)
            / 1_000_000.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_matching_prefix_wins() {
        assert_eq!(price_for("gpt-4o").unwrap().model, "gpt-4o");
        assert_eq!(price_for("gpt-4o-2024-08-06").unwrap().model, "gpt-4o");
        assert_eq!(
            price_for("gpt-4o-mini-2024-07-18").unwrap().model,
            "gpt-4o-mini"
        );
        assert_eq!(price_for("gpt-4.1-nano").unwrap().model, "gpt-4.1-nano");
        assert!(price_for("gpt-4oo").is_none());
        assert!(price_for("llama-3").is_none());
    }

    #[test]
    fn cost_is_per_million_tokens() {
        let c = cost_usd("sim-coder-1", 1_000_000, 0);
        assert!((c - 3.0).abs() < 1e-12);
        let c = cost_usd("gpt-4o-mini", 2_000, 1_000);
        assert!((c - (2_000.0 * 0.15 + 1_000.0 * 0.60) / 1e6).abs() < 1e-15);
        assert_eq!(cost_usd("unknown-model", 1000, 1000), 0.0);
    }

    #[test]
    fn table_has_unique_models_and_sane_prices() {
        for (i, p) in PRICES.iter().enumerate() {
            assert!(p.input_per_million > 0.0 && p.output_per_million >= p.input_per_million);
            assert!(
                PRICES[i + 1..].iter().all(|q| q.model != p.model),
                "{}",
                p.model
            );
        }
    }
}
