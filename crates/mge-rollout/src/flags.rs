//! [`FlagSet`]: a complete, validated snapshot of every registered flag, and the changes made to it.
//!
//! A snapshot always holds a valid value for every flag of the [`REGISTRY`](crate::registry::REGISTRY)
//! (missing ones take their default), so reading a flag never fails. Every mutation goes through the
//! registry's validation and reports a [`FlagChange`] (name, old, new) for the audit trail. A
//! snapshot serializes to a JSON object `{ "NAME": value, ... }`; one stored row per flag reads
//! back through [`FlagSet::from_stored`].

use std::collections::BTreeMap;
use std::fmt;

use mge_core::ExecutionMode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::registry::{
    lookup, names::*, FlagDef, FlagError, FlagValue, REGISTRY, REQUIRED_CAPABILITIES,
    V2_CAPABILITIES,
};

/// One flag's change: the unit of the audit trail (`feature_flag_audit` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlagChange {
    pub name: String,
    pub old: FlagValue,
    pub new: FlagValue,
}

impl fmt::Display for FlagChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} -> {}", self.name, self.old, self.new)
    }
}

impl FlagChange {
    /// Whether the change leaves the value as it was.
    pub fn is_noop(&self) -> bool {
        self.old == self.new
    }
}

/// The result of [`FlagSet::rolled_back`]: the new snapshot and the flags that actually changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollback {
    pub flags: FlagSet,
    pub changes: Vec<FlagChange>,
}

/// How strict V2 validation is (`V2_VALIDATION_STRICTNESS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationStrictness {
    Low,
    Medium,
    High,
}

/// A validated snapshot of every flag.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct FlagSet {
    values: BTreeMap<&'static str, FlagValue>,
}

impl Default for FlagSet {
    fn default() -> Self {
        FlagSet {
            values: REGISTRY
                .iter()
                .map(|d| (d.name, d.default_value()))
                .collect(),
        }
    }
}

impl FlagSet {
    /// Every flag at its registered default.
    pub fn defaults() -> Self {
        Self::default()
    }

    /// First-start values: for each flag, the environment variable of its name, else its aliases
    /// (`DEVMATRIX_MODE` for `MGE_DEFAULT_MODE`), else the default. A blank variable counts as unset.
    /// `env` is the lookup (for the process: `|k| std::env::var(k).ok()`). The first invalid
    /// variable, in registry order, is the error; it names the variable, the flag and the value.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, FlagError> {
        let mut set = Self::default();
        for def in REGISTRY {
            let found = std::iter::once(def.name)
                .chain(def.env_aliases.iter().copied())
                .find_map(|var| env(var).filter(|v| !v.trim().is_empty()).map(|v| (var, v)));
            if let Some((var, raw)) = found {
                let value = def.parse(&raw).map_err(|e| FlagError::Env {
                    var: var.to_string(),
                    source: Box::new(e),
                })?;
                set.values.insert(def.name, value);
            }
        }
        Ok(set)
    }

    /// Builds a snapshot from stored rows `(name, JSON value)`. Unknown names and invalid values
    /// are skipped (the flag keeps its default) and returned as diagnostics, so a row written by a
    /// newer or older version never stops the engine.
    pub fn from_stored<'a>(
        rows: impl IntoIterator<Item = (&'a str, &'a Value)>,
    ) -> (Self, Vec<FlagError>) {
        let mut set = Self::default();
        let mut problems = Vec::new();
        for (name, json) in rows {
            match lookup(name).and_then(|def| Ok((def, def.from_json(json)?))) {
                Ok((def, value)) => {
                    set.values.insert(def.name, value);
                }
                Err(e) => problems.push(e),
            }
        }
        (set, problems)
    }

    /// The value of flag `name`.
    pub fn get(&self, name: &str) -> Result<&FlagValue, FlagError> {
        let def = lookup(name)?;
        Ok(&self.values[def.name])
    }

    /// Every flag with its definition and current value, in registry order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static FlagDef, &FlagValue)> + '_ {
        REGISTRY.iter().map(move |d| (d, &self.values[d.name]))
    }

    /// Sets `name` from text (CLI, environment syntax).
    pub fn set(&mut self, name: &str, raw: &str) -> Result<FlagChange, FlagError> {
        let def = lookup(name)?;
        let value = def.parse(raw)?;
        Ok(self.replace(def, value))
    }

    /// Sets `name` from a JSON value (API, stored row).
    pub fn set_json(&mut self, name: &str, json: &Value) -> Result<FlagChange, FlagError> {
        let def = lookup(name)?;
        let value = def.from_json(json)?;
        Ok(self.replace(def, value))
    }

    /// Sets `name` to an in-process value, validated against its kind.
    pub fn set_value(&mut self, name: &str, value: FlagValue) -> Result<FlagChange, FlagError> {
        let def = lookup(name)?;
        let value = def.check(value)?;
        Ok(self.replace(def, value))
    }

    fn replace(&mut self, def: &'static FlagDef, value: FlagValue) -> FlagChange {
        let old = self
            .values
            .insert(def.name, value.clone())
            .unwrap_or_else(|| def.default_value());
        FlagChange {
            name: def.name.to_string(),
            old,
            new: value,
        }
    }

    /// The flags whose value differs from `self` in `other`, as changes from `self` to `other`.
    pub fn diff(&self, other: &FlagSet) -> Vec<FlagChange> {
        REGISTRY
            .iter()
            .filter(|d| self.values[d.name] != other.values[d.name])
            .map(|d| FlagChange {
                name: d.name.to_string(),
                old: self.values[d.name].clone(),
                new: other.values[d.name].clone(),
            })
            .collect()
    }

    /// The snapshot after an instant rollback: every V2 capability flag (`ENABLE_V2_*`, review
    /// included) off and `V2_ROLLOUT_PERCENT` 0; everything else (canary lists, tuning, default mode)
    /// is kept, and is harmless because V2 is gated on the capability flags. `changes` lists only the
    /// flags that actually changed (empty when already rolled back).
    pub fn rolled_back(&self) -> Rollback {
        let mut flags = self.clone();
        for name in V2_CAPABILITIES {
            flags.values.insert(name, FlagValue::Bool(false));
        }
        flags.values.insert(V2_ROLLOUT_PERCENT, FlagValue::Int(0));
        Rollback {
            changes: self.diff(&flags),
            flags,
        }
    }

    fn bool_of(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(FlagValue::Bool(true)))
    }

    fn int_of(&self, name: &str) -> i64 {
        match self.values.get(name) {
            Some(FlagValue::Int(i)) => *i,
            _ => 0,
        }
    }

    fn float_of(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(FlagValue::Float(x)) => *x,
            _ => 0.0,
        }
    }

    fn list_of(&self, name: &str) -> &[String] {
        match self.values.get(name) {
            Some(FlagValue::List(items)) => items,
            _ => &[],
        }
    }

    /// Whether capability flag `name` is on (false for names that are not boolean flags).
    pub fn is_on(&self, name: &str) -> bool {
        self.bool_of(name)
    }

    /// The required capability flags that are off, in registry order (empty: V2 is available).
    pub fn missing_capabilities(&self) -> Vec<&'static str> {
        REQUIRED_CAPABILITIES
            .into_iter()
            .filter(|n| !self.bool_of(n))
            .collect()
    }

    /// Whether `v2_atoms` and `hybrid` are available (all required capabilities on).
    pub fn v2_available(&self) -> bool {
        self.missing_capabilities().is_empty()
    }

    /// Whether the optional review queue is on.
    pub fn review_enabled(&self) -> bool {
        self.bool_of(ENABLE_V2_REVIEW)
    }

    pub fn default_mode(&self) -> ExecutionMode {
        match self.values.get(DEFAULT_MODE) {
            Some(FlagValue::Mode(m)) => *m,
            _ => ExecutionMode::Mvp,
        }
    }

    /// The mode the canary lists and the percentage rollout hand out (never MVP).
    pub fn rollout_mode(&self) -> ExecutionMode {
        match self.values.get(V2_ROLLOUT_MODE) {
            Some(FlagValue::Mode(m)) => *m,
            _ => ExecutionMode::V2Atoms,
        }
    }

    /// `V2_ROLLOUT_PERCENT`, in `0..=100`.
    pub fn rollout_percent(&self) -> u32 {
        self.int_of(V2_ROLLOUT_PERCENT).clamp(0, 100) as u32
    }

    pub fn canary_users(&self) -> &[String] {
        self.list_of(V2_CANARY_USERS)
    }

    pub fn canary_plans(&self) -> &[String] {
        self.list_of(V2_CANARY_PLANS)
    }

    pub fn max_parallel_atoms(&self) -> usize {
        self.int_of(V2_MAX_PARALLEL_ATOMS).max(1) as usize
    }

    pub fn retry_max_attempts(&self) -> u32 {
        self.int_of(V2_RETRY_MAX_ATTEMPTS).clamp(1, 100) as u32
    }

    pub fn context_completeness_target(&self) -> f64 {
        self.float_of(V2_CONTEXT_COMPLETENESS_TARGET)
    }

    pub fn validation_strictness(&self) -> ValidationStrictness {
        match self.values.get(V2_VALIDATION_STRICTNESS) {
            Some(FlagValue::Text(s)) if s == "low" => ValidationStrictness::Low,
            Some(FlagValue::Text(s)) if s == "high" => ValidationStrictness::High,
            _ => ValidationStrictness::Medium,
        }
    }

    pub fn auto_rollback_enabled(&self) -> bool {
        self.bool_of(V2_AUTO_ROLLBACK_ENABLED)
    }

    pub(crate) fn auto_rollback_numbers(&self) -> (usize, usize, f64, u64) {
        (
            self.int_of(V2_AUTO_ROLLBACK_WINDOW).max(1) as usize,
            self.int_of(V2_AUTO_ROLLBACK_MIN_SAMPLES).max(1) as usize,
            self.float_of(V2_AUTO_ROLLBACK_MAX_FAILURE_RATE),
            self.int_of(V2_AUTO_ROLLBACK_P99_LATENCY_MS).max(0) as u64,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use serde_json::json;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let flags = FlagSet::defaults();
        expect![[r#"
            {
              "ENABLE_V2_ATOMIZATION": false,
              "ENABLE_V2_DEP_GRAPH": false,
              "ENABLE_V2_EXECUTION": false,
              "ENABLE_V2_REVIEW": false,
              "ENABLE_V2_VALIDATION": false,
              "MGE_DEFAULT_MODE": "mvp",
              "V2_AUTO_ROLLBACK_ENABLED": true,
              "V2_AUTO_ROLLBACK_MAX_FAILURE_RATE": 0.05,
              "V2_AUTO_ROLLBACK_MIN_SAMPLES": 50,
              "V2_AUTO_ROLLBACK_P99_LATENCY_MS": 120000,
              "V2_AUTO_ROLLBACK_WINDOW": 200,
              "V2_CANARY_PLANS": [],
              "V2_CANARY_USERS": [],
              "V2_CONTEXT_COMPLETENESS_TARGET": 0.95,
              "V2_MAX_PARALLEL_ATOMS": 50,
              "V2_RETRY_MAX_ATTEMPTS": 3,
              "V2_ROLLOUT_MODE": "v2_atoms",
              "V2_ROLLOUT_PERCENT": 0,
              "V2_VALIDATION_STRICTNESS": "medium"
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&flags).unwrap());
        assert_eq!(flags.missing_capabilities(), REQUIRED_CAPABILITIES.to_vec());
        assert_eq!(flags.max_parallel_atoms(), 50);
        assert_eq!(flags.retry_max_attempts(), 3);
        assert_eq!(flags.context_completeness_target(), 0.95);
        assert_eq!(flags.validation_strictness(), ValidationStrictness::Medium);
    }

    #[test]
    fn env_gives_first_start_values_with_the_alias_second() {
        let flags = FlagSet::from_env(env_of(&[
            ("DEVMATRIX_MODE", "hybrid"),
            ("ENABLE_V2_EXECUTION", "true"),
            ("V2_ROLLOUT_PERCENT", "15"),
            ("V2_CANARY_USERS", "alice,bob"),
            ("V2_MAX_PARALLEL_ATOMS", "  "),
        ]))
        .unwrap();
        assert_eq!(flags.default_mode(), ExecutionMode::Hybrid);
        assert!(flags.is_on(ENABLE_V2_EXECUTION));
        assert_eq!(flags.rollout_percent(), 15);
        assert_eq!(
            flags.canary_users(),
            ["alice".to_string(), "bob".to_string()]
        );
        assert_eq!(flags.max_parallel_atoms(), 50, "blank counts as unset");

        let both = FlagSet::from_env(env_of(&[
            ("DEVMATRIX_MODE", "hybrid"),
            ("MGE_DEFAULT_MODE", "mvp"),
        ]))
        .unwrap();
        assert_eq!(both.default_mode(), ExecutionMode::Mvp, "the own name wins");

        let err = FlagSet::from_env(env_of(&[("DEVMATRIX_MODE", "fast")])).unwrap_err();
        expect!["environment variable DEVMATRIX_MODE: invalid value 'fast' for flag MGE_DEFAULT_MODE: expected one of mvp, v2_atoms, hybrid"]
            .assert_eq(&err.to_string());
    }

    #[test]
    fn set_reports_the_change_and_rejects_bad_values_untouched() {
        let mut flags = FlagSet::defaults();
        let change = flags.set(V2_ROLLOUT_PERCENT, "40").unwrap();
        assert_eq!(
            change,
            FlagChange {
                name: V2_ROLLOUT_PERCENT.into(),
                old: FlagValue::Int(0),
                new: FlagValue::Int(40)
            }
        );
        assert!(!change.is_noop());
        let before = flags.clone();
        assert!(flags.set(V2_ROLLOUT_PERCENT, "140").is_err());
        assert!(flags.set_json(ENABLE_V2_DEP_GRAPH, &json!("sure")).is_err());
        assert!(flags
            .set_value(V2_ROLLOUT_MODE, FlagValue::Mode(ExecutionMode::Mvp))
            .is_err());
        assert_eq!(flags, before, "a rejected value changes nothing");
        assert!(flags.set(V2_ROLLOUT_PERCENT, "40").unwrap().is_noop());
        assert_eq!(
            serde_json::to_value(flags.set_json(V2_CANARY_PLANS, &json!(["p1"])).unwrap()).unwrap(),
            json!({"name": "V2_CANARY_PLANS", "old": [], "new": ["p1"]})
        );
    }

    #[test]
    fn stored_rows_round_trip_and_bad_rows_become_diagnostics() {
        let mut flags = FlagSet::defaults();
        flags.set(ENABLE_V2_ATOMIZATION, "on").unwrap();
        flags.set(V2_CONTEXT_COMPLETENESS_TARGET, "0.9").unwrap();
        flags.set(V2_CANARY_USERS, "u1,u2").unwrap();
        let stored = serde_json::to_value(&flags).unwrap();
        let rows: Vec<(&str, &Value)> = stored
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        let (back, problems) = FlagSet::from_stored(rows);
        assert_eq!(back, flags);
        assert!(problems.is_empty());

        let bad_percent = json!(300);
        let retired = json!(true);
        let (partial, problems) = FlagSet::from_stored([
            (V2_ROLLOUT_PERCENT, &bad_percent),
            ("ENABLE_V2_TELEPORT", &retired),
        ]);
        assert_eq!(partial, FlagSet::defaults());
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        expect![[r#"
            [
                "invalid value '300' for flag V2_ROLLOUT_PERCENT: expected an integer in 0..=100",
                "unknown flag 'ENABLE_V2_TELEPORT' (see `mge flags list`)",
            ]
        "#]]
        .assert_debug_eq(&messages);
    }

    #[test]
    fn rollback_turns_every_v2_flag_off_and_lists_only_real_changes() {
        let mut flags = FlagSet::defaults();
        for name in V2_CAPABILITIES {
            flags.set(name, "true").unwrap();
        }
        flags.set(V2_ROLLOUT_PERCENT, "35").unwrap();
        flags.set(V2_CANARY_PLANS, "p9").unwrap();
        flags.set(ENABLE_V2_REVIEW, "false").unwrap();

        let rollback = flags.rolled_back();
        assert!(!rollback.flags.v2_available());
        assert_eq!(rollback.flags.rollout_percent(), 0);
        assert_eq!(
            rollback.flags.canary_plans(),
            ["p9".to_string()],
            "data kept"
        );
        let summary: Vec<String> = rollback.changes.iter().map(ToString::to_string).collect();
        expect![[r#"
            [
                "ENABLE_V2_ATOMIZATION: true -> false",
                "ENABLE_V2_DEP_GRAPH: true -> false",
                "ENABLE_V2_VALIDATION: true -> false",
                "ENABLE_V2_EXECUTION: true -> false",
                "V2_ROLLOUT_PERCENT: 35 -> 0",
            ]
        "#]]
        .assert_debug_eq(&summary);
        assert!(
            rollback.flags.rolled_back().changes.is_empty(),
            "idempotent"
        );
    }
}
