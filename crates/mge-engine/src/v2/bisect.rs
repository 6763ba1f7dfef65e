//! Bisection of a failure that points at no atom. When a round fails and no position maps to
//! an atom, the likely cause is a regeneration of the round before: the atoms it regenerated
//! are restored, by halves, to the version they had before (their last atomic-passing one,
//! recorded with that round), and the project is validated again each time
//! (`mge_validate::Bisector`). Culprits whose restoration makes the project pass are restored
//! for good, in the transaction that records the round.

use std::collections::HashMap;

use mge_core::PlanId;
use mge_validate::Bisector;

use super::post::check_project;
use super::Prepared;
use crate::Result;

/// What a bisection found.
#[derive(Debug, Clone, PartialEq)]
pub struct BisectOutcome {
    pub suspects: Vec<String>,
    /// Atoms to restore (empty when not isolated).
    pub culprits: Vec<String>,
    pub isolated: bool,
    /// Validations made.
    pub calls: u32,
    /// Share of the tests passing once the culprits are restored.
    pub precision: Option<f64>,
}

/// The atoms a recorded round regenerated whose current code differs from the version it
/// recorded for them, with that version, in the round's order.
pub fn candidates(
    previous_round: &serde_json::Value,
    codes: &HashMap<String, String>,
) -> Vec<(String, String)> {
    previous_round["regenerate"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let key = r["atom"].as_str()?;
            let before = r["previous"].as_str()?;
            (codes.get(key).map(String::as_str) != Some(before))
                .then(|| (key.to_string(), before.to_string()))
        })
        .collect()
}

/// Bisects over `candidates` (atom key, version to restore) with a full validation of the
/// project per query. Blocking: runs toolchains.
pub fn bisect(
    plan_id: PlanId,
    plan: &mge_plan::Plan,
    prepared: &Prepared,
    codes: &HashMap<String, String>,
    candidates: &[(String, String)],
) -> Result<BisectOutcome> {
    let before: HashMap<&str, &str> = candidates
        .iter()
        .map(|(k, c)| (k.as_str(), c.as_str()))
        .collect();
    let suspects: Vec<String> = candidates.iter().map(|(k, _)| k.clone()).collect();
    let mut bisector = Bisector::new(suspects.clone());
    let mut passing: HashMap<Vec<String>, Option<f64>> = HashMap::new();
    while let Some(mut restore) = bisector.query() {
        let mut trial = codes.clone();
        for key in &restore {
            trial.insert(key.clone(), before[key.as_str()].to_string());
        }
        let (_, verdict) = check_project(plan_id, plan, prepared, &trial)?;
        if verdict.passed {
            restore.sort();
            passing.insert(restore, verdict.precision);
        }
        bisector.answer(verdict.passed);
    }
    let found = bisector.finish();
    let mut key = found.culprits.clone();
    key.sort();
    Ok(BisectOutcome {
        suspects,
        precision: passing.get(&key).copied().flatten(),
        culprits: if found.isolated {
            found.culprits
        } else {
            Vec::new()
        },
        isolated: found.isolated,
        calls: found.calls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_the_regenerated_atoms_that_changed() {
        let round = serde_json::json!({"regenerate": [
            {"atom": "a", "attempt": 1, "previous": "x = 1\n"},
            {"atom": "b", "attempt": 2, "previous": "y = 2\n"},
            {"atom": "c", "attempt": 1},
        ]});
        let codes = HashMap::from([
            ("a".to_string(), "x = 2\n".to_string()),
            ("b".to_string(), "y = 2\n".to_string()),
            ("c".to_string(), "z\n".to_string()),
        ]);
        assert_eq!(
            candidates(&round, &codes),
            vec![("a".to_string(), "x = 1\n".to_string())]
        );
        assert!(candidates(&serde_json::json!({}), &codes).is_empty());
    }
}
