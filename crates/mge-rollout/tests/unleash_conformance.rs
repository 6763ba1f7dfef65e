//! Runs every case of the Unleash client-specification files shipped in `../shared/conformance`.

use std::path::PathBuf;

use expect_test::expect;
use mge_rollout::unleash::{ClientState, Context, VariantResult};
use mge_rollout::SplitMix64;
use serde::Deserialize;

const FILES: [&str; 4] = [
    "03-gradual-rollout-user-id-strategy.json",
    "04-gradual-rollout-session-id-strategy.json",
    "10-flexible-rollout-strategy.json",
    "12-custom-stickiness.json",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpecFile {
    name: String,
    state: ClientState,
    #[serde(default)]
    tests: Vec<Case<bool>>,
    #[serde(default)]
    variant_tests: Vec<Case<VariantResult>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case<T> {
    description: String,
    context: Context,
    toggle_name: String,
    expected_result: T,
}

fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/unleash")
}

fn load(file: &str) -> SpecFile {
    let path = conformance_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every toggle and variant case of the four files, each evaluated under many random seeds: a case
/// whose outcome depends on randomness (stickiness `default` with an empty context) must hold for
/// every seed, which it does exactly when the rollout is 0% or 100%.
#[test]
fn every_unleash_case_passes() {
    let mut counts = Vec::new();
    let mut failures = Vec::new();
    for file in FILES {
        let spec = load(file);
        counts.push(format!(
            "{file}: {} toggle case(s), {} variant case(s)",
            spec.tests.len(),
            spec.variant_tests.len()
        ));
        for case in &spec.tests {
            for seed in 0..64 {
                let mut rng = SplitMix64::new(seed);
                let got = spec
                    .state
                    .is_enabled(&case.toggle_name, &case.context, &mut rng);
                if got != case.expected_result {
                    failures.push(format!(
                        "{}: {} (seed {seed}): expected {}, got {got}",
                        spec.name, case.description, case.expected_result
                    ));
                    break;
                }
            }
        }
        for case in &spec.variant_tests {
            let mut rng = SplitMix64::new(0);
            let got = spec
                .state
                .variant(&case.toggle_name, &case.context, &mut rng);
            if got != case.expected_result {
                failures.push(format!(
                    "{}: {}: expected {:?}, got {got:?}",
                    spec.name, case.description, case.expected_result
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "failing cases:\n{}",
        failures.join("\n")
    );
    println!("{}", counts.join("\n"));
    expect![[r#"
        03-gradual-rollout-user-id-strategy.json: 6 toggle case(s), 0 variant case(s)
        04-gradual-rollout-session-id-strategy.json: 6 toggle case(s), 0 variant case(s)
        10-flexible-rollout-strategy.json: 10 toggle case(s), 0 variant case(s)
        12-custom-stickiness.json: 5 toggle case(s), 4 variant case(s)"#]]
    .assert_eq(&counts.join("\n"));
}
