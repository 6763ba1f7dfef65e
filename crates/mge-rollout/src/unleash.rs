//! A small evaluator for Unleash toggle definitions, enough to run the rollout cases of the Unleash
//! client specification and so prove that sticky rollout buckets the way Unleash does.
//!
//! Rules:
//! - A feature that is unknown or has `enabled: false` is off. An enabled feature with no strategy
//!   is on. Otherwise it is on iff **any** strategy is on (strategies are OR-ed), and a strategy is on
//!   iff **all** its constraints hold and its own rule holds.
//! - `default`: always on.
//! - `gradualRolloutUserId` / `gradualRolloutSessionId`: off without a user (session) id; otherwise
//!   on iff `percentage > 0 && normalized_bucket(id, groupId) <= percentage`.
//! - `gradualRolloutRandom`: on iff `percentage >= r` for a fresh random `r` in `1..=100`.
//! - `flexibleRollout`: the stickiness value is resolved (below); no value means off; otherwise on
//!   iff `rollout > 0 && normalized_bucket(value, groupId) <= rollout`. The `groupId` defaults to the
//!   feature name.
//! - Stickiness `default` is the user id, else the session id, else a random value; `random` is
//!   always a random value; `userId`, `sessionId`, or any other name reads that context field (a
//!   custom name reads `properties[name]`) and gives no value when the field is absent.
//! - Any other strategy name is off (an SDK that does not know a strategy must not enable it).
//! - Constraints: `IN`, `NOT_IN`, `STR_CONTAINS`, `STR_STARTS_WITH`, `STR_ENDS_WITH`, `NUM_EQ`,
//!   `NUM_GT`, `NUM_GTE`, `NUM_LT`, `NUM_LTE`, with `inverted` and `caseInsensitive`. An unknown
//!   operator does not hold (fail closed). `NOT_IN` holds when the field is absent.
//! - Variants: with total weight `W > 0`, `target = normalized_value(seed, feature name, W)` where
//!   the seed value comes from the first variant's stickiness (as above, with `default` also trying
//!   `remoteAddress`; a missing custom field falls back to a random value). Variants are walked in
//!   order, skipping weight 0, accumulating weights; the first whose running total is `>= target` is
//!   chosen. An override (`contextName` + `values`) matching the context wins over weights.
//!
//! Randomness is drawn from a caller-supplied [`RandomSource`], so every outcome is reproducible.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::murmur::{bucket_in_rollout, normalized_bucket, normalized_value};
use crate::random::RandomSource;

/// Hash seed of variant selection (`normalizedVariantValue`).
pub const VARIANT_SEED: u32 = 86_028_157;

/// The toggle state an SDK receives (`state` in a specification file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientState {
    #[serde(default)]
    pub version: u32,
    pub features: Vec<Feature>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub enabled: bool,
    #[serde(default)]
    pub strategies: Vec<Strategy>,
    #[serde(default)]
    pub variants: Vec<Variant>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Strategy {
    pub name: String,
    /// Parameter values are strings in the protocol; numbers are accepted too.
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Constraint {
    pub context_name: String,
    pub operator: String,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default)]
    pub inverted: bool,
    #[serde(default)]
    pub case_insensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub name: String,
    #[serde(default)]
    pub weight: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    #[serde(default)]
    pub overrides: Vec<VariantOverride>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantOverride {
    pub context_name: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// The evaluation context: well-known fields plus free-form `properties`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

impl Context {
    /// The value of a context field by its Unleash name; unknown names read `properties`.
    pub fn field(&self, name: &str) -> Option<&str> {
        let known = match name {
            "userId" => self.user_id.as_deref(),
            "sessionId" => self.session_id.as_deref(),
            "remoteAddress" => self.remote_address.as_deref(),
            "environment" => self.environment.as_deref(),
            "appName" => self.app_name.as_deref(),
            _ => None,
        };
        known.or_else(|| self.properties.get(name).map(String::as_str))
    }
}

/// The variant an SDK reports (`expectedResult` of a variant test).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantResult {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    pub enabled: bool,
    pub feature_enabled: bool,
}

impl VariantResult {
    fn disabled(feature_enabled: bool) -> Self {
        VariantResult {
            name: "disabled".to_string(),
            payload: None,
            enabled: false,
            feature_enabled,
        }
    }
}

impl ClientState {
    pub fn feature(&self, name: &str) -> Option<&Feature> {
        self.features.iter().find(|f| f.name == name)
    }

    /// Whether toggle `name` is on for `ctx`; unknown toggles are off.
    pub fn is_enabled(&self, name: &str, ctx: &Context, rng: &mut dyn RandomSource) -> bool {
        self.feature(name).is_some_and(|f| f.is_enabled(ctx, rng))
    }

    /// The variant of toggle `name` for `ctx`.
    pub fn variant(&self, name: &str, ctx: &Context, rng: &mut dyn RandomSource) -> VariantResult {
        match self.feature(name) {
            Some(f) => f.variant(ctx, rng),
            None => VariantResult::disabled(false),
        }
    }
}

impl Feature {
    pub fn is_enabled(&self, ctx: &Context, rng: &mut dyn RandomSource) -> bool {
        if !self.enabled {
            return false;
        }
        if self.strategies.is_empty() {
            return true;
        }
        self.strategies
            .iter()
            .any(|s| s.is_enabled(&self.name, ctx, rng))
    }

    pub fn variant(&self, ctx: &Context, rng: &mut dyn RandomSource) -> VariantResult {
        if !self.is_enabled(ctx, rng) {
            return VariantResult::disabled(false);
        }
        match self.select_variant(ctx, rng) {
            Some(v) => VariantResult {
                name: v.name.clone(),
                payload: v.payload.clone(),
                enabled: true,
                feature_enabled: true,
            },
            None => VariantResult::disabled(true),
        }
    }

    fn select_variant(&self, ctx: &Context, rng: &mut dyn RandomSource) -> Option<&Variant> {
        let total: u32 = self.variants.iter().map(|v| v.weight).sum();
        if total == 0 {
            return None;
        }
        let overridden = self.variants.iter().find(|v| {
            v.overrides.iter().any(|o| {
                ctx.field(&o.context_name)
                    .is_some_and(|value| o.values.iter().any(|x| x == value))
            })
        });
        if overridden.is_some() {
            return overridden;
        }
        let stickiness = self.variants[0].stickiness.as_deref().unwrap_or("default");
        let seed_value = match stickiness {
            "default" => ctx
                .user_id
                .clone()
                .or_else(|| ctx.session_id.clone())
                .or_else(|| ctx.remote_address.clone())
                .unwrap_or_else(|| rng.stickiness_value()),
            "random" => rng.stickiness_value(),
            field => ctx
                .field(field)
                .map(str::to_string)
                .unwrap_or_else(|| rng.stickiness_value()),
        };
        let target = normalized_value(&seed_value, &self.name, total, VARIANT_SEED);
        let mut running = 0;
        self.variants.iter().filter(|v| v.weight > 0).find(|v| {
            running += v.weight;
            running >= target
        })
    }
}

impl Strategy {
    fn param(&self, key: &str) -> Option<String> {
        match self.parameters.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A percentage parameter; missing or unparsable counts as 0 (off), values above 100 as 100.
    fn percent_param(&self, key: &str) -> u32 {
        self.param(key)
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|p| p.is_finite() && *p > 0.0)
            .map_or(0, |p| p.min(100.0) as u32)
    }

    pub fn is_enabled(&self, feature: &str, ctx: &Context, rng: &mut dyn RandomSource) -> bool {
        if !self.constraints.iter().all(|c| c.holds(ctx)) {
            return false;
        }
        let group = || self.param("groupId").unwrap_or_else(|| feature.to_string());
        match self.name.as_str() {
            "default" => true,
            "gradualRolloutUserId" => ctx.user_id.as_deref().is_some_and(|id| {
                bucket_in_rollout(
                    normalized_bucket(id, &group()),
                    self.percent_param("percentage"),
                )
            }),
            "gradualRolloutSessionId" => ctx.session_id.as_deref().is_some_and(|id| {
                bucket_in_rollout(
                    normalized_bucket(id, &group()),
                    self.percent_param("percentage"),
                )
            }),
            "gradualRolloutRandom" => {
                let percentage = self.percent_param("percentage");
                percentage > 0 && percentage >= rng.percent()
            }
            "flexibleRollout" => {
                let stickiness = self.param("stickiness").unwrap_or_else(|| "default".into());
                let value = match stickiness.as_str() {
                    "default" => Some(
                        ctx.user_id
                            .clone()
                            .or_else(|| ctx.session_id.clone())
                            .unwrap_or_else(|| rng.stickiness_value()),
                    ),
                    "random" => Some(rng.stickiness_value()),
                    field => ctx.field(field).map(str::to_string),
                };
                value.is_some_and(|v| {
                    bucket_in_rollout(
                        normalized_bucket(&v, &group()),
                        self.percent_param("rollout"),
                    )
                })
            }
            _ => false,
        }
    }
}

impl Constraint {
    pub fn holds(&self, ctx: &Context) -> bool {
        let field = ctx.field(&self.context_name);
        let fold = |s: &str| {
            if self.case_insensitive {
                s.to_lowercase()
            } else {
                s.to_string()
            }
        };
        let raw = match self.operator.as_str() {
            "IN" => field.is_some_and(|f| self.values.iter().any(|v| v == f)),
            "NOT_IN" => field.is_none_or(|f| self.values.iter().all(|v| v != f)),
            "STR_CONTAINS" | "STR_STARTS_WITH" | "STR_ENDS_WITH" => field.is_some_and(|f| {
                let f = fold(f);
                self.values
                    .iter()
                    .map(|v| fold(v))
                    .any(|v| match self.operator.as_str() {
                        "STR_CONTAINS" => f.contains(&v),
                        "STR_STARTS_WITH" => f.starts_with(&v),
                        _ => f.ends_with(&v),
                    })
            }),
            "NUM_EQ" | "NUM_GT" | "NUM_GTE" | "NUM_LT" | "NUM_LTE" => {
                let lhs = field.and_then(|f| f.trim().parse::<f64>().ok());
                let rhs = self
                    .value
                    .as_deref()
                    .and_then(|v| v.trim().parse::<f64>().ok());
                match (lhs, rhs) {
                    (Some(a), Some(b)) => match self.operator.as_str() {
                        "NUM_EQ" => a == b,
                        "NUM_GT" => a > b,
                        "NUM_GTE" => a >= b,
                        "NUM_LT" => a < b,
                        _ => a <= b,
                    },
                    _ => false,
                }
            }
            _ => return false,
        };
        raw != self.inverted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SplitMix64;

    fn ctx_user(id: &str) -> Context {
        Context {
            user_id: Some(id.into()),
            ..Context::default()
        }
    }

    fn constraint(name: &str, op: &str, values: &[&str], value: Option<&str>) -> Constraint {
        Constraint {
            context_name: name.into(),
            operator: op.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
            value: value.map(str::to_string),
            inverted: false,
            case_insensitive: false,
        }
    }

    #[test]
    fn constraints_gate_strategies() {
        let ctx = Context {
            environment: Some("production".into()),
            properties: BTreeMap::from([("tier".into(), "42".into())]),
            ..ctx_user("u1")
        };
        assert!(constraint("environment", "IN", &["production"], None).holds(&ctx));
        assert!(!constraint("environment", "NOT_IN", &["production"], None).holds(&ctx));
        assert!(constraint("region", "NOT_IN", &["eu"], None).holds(&ctx));
        assert!(constraint("tier", "NUM_GT", &[], Some("40")).holds(&ctx));
        assert!(!constraint("tier", "NUM_LT", &[], Some("40")).holds(&ctx));
        assert!(constraint("environment", "STR_STARTS_WITH", &["prod"], None).holds(&ctx));
        let mut ci = constraint("environment", "STR_ENDS_WITH", &["TION"], None);
        assert!(!ci.holds(&ctx));
        ci.case_insensitive = true;
        assert!(ci.holds(&ctx));
        ci.inverted = true;
        assert!(!ci.holds(&ctx));
        assert!(!constraint("environment", "SEMVER_EQ", &[], Some("1.0.0")).holds(&ctx));

        let strategy = Strategy {
            name: "default".into(),
            parameters: BTreeMap::new(),
            constraints: vec![constraint("environment", "IN", &["staging"], None)],
        };
        let mut rng = SplitMix64::new(1);
        assert!(!strategy.is_enabled("f", &ctx, &mut rng));
    }

    #[test]
    fn random_strategies_follow_their_seed_and_edges() {
        let strategy = |p: &str| Strategy {
            name: "gradualRolloutRandom".into(),
            parameters: BTreeMap::from([("percentage".into(), Value::String(p.into()))]),
            constraints: vec![],
        };
        let ctx = Context::default();
        let mut rng = SplitMix64::new(3);
        assert!((0..200).all(|_| strategy("100").is_enabled("f", &ctx, &mut rng)));
        assert!((0..200).all(|_| !strategy("0").is_enabled("f", &ctx, &mut rng)));
        let on = (0..10_000)
            .filter(|_| strategy("30").is_enabled("f", &ctx, &mut rng))
            .count();
        assert!((2_700..3_300).contains(&on), "30% of 10000 draws, got {on}");
    }

    #[test]
    fn default_stickiness_without_ids_is_random_but_seeded() {
        let strategy = Strategy {
            name: "flexibleRollout".into(),
            parameters: BTreeMap::from([
                ("rollout".into(), Value::String("50".into())),
                ("stickiness".into(), Value::String("default".into())),
            ]),
            constraints: vec![],
        };
        let ctx = Context::default();
        let outcomes = |seed| {
            let mut rng = SplitMix64::new(seed);
            (0..400)
                .map(|_| strategy.is_enabled("f", &ctx, &mut rng))
                .collect::<Vec<bool>>()
        };
        let first = outcomes(11);
        assert_eq!(first, outcomes(11), "same seed, same draws");
        let on = first.iter().filter(|&&b| b).count();
        assert!((140..260).contains(&on), "about half of 400, got {on}");
        // With a user id the result is sticky and needs no randomness.
        let user = ctx_user("174");
        let mut a = SplitMix64::new(1);
        let mut b = SplitMix64::new(2);
        assert_eq!(
            strategy.is_enabled("f", &user, &mut a),
            strategy.is_enabled("f", &user, &mut b)
        );
    }

    #[test]
    fn unknown_strategy_is_off_and_empty_strategy_list_is_on() {
        let mut rng = SplitMix64::new(0);
        let mut feature = Feature {
            name: "f".into(),
            description: None,
            enabled: true,
            strategies: vec![],
            variants: vec![],
        };
        assert!(feature.is_enabled(&Context::default(), &mut rng));
        feature.strategies.push(Strategy {
            name: "remoteAddress".into(),
            parameters: BTreeMap::new(),
            constraints: vec![],
        });
        assert!(!feature.is_enabled(&ctx_user("1"), &mut rng));
        feature.enabled = false;
        assert_eq!(
            feature.variant(&ctx_user("1"), &mut rng),
            VariantResult::disabled(false)
        );
    }
}
