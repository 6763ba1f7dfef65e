//! Fault injection: the documented kinds, real syntax errors, the rate and the mix.

use std::collections::BTreeMap;

use expect_test::{expect, Expect};
use mge_core::Language;
use mge_generate::simulated::{inject_faults, FaultClass, FaultSites, SplitMix64};
use mge_generate::{FaultKind, FaultMix};
use proptest::prelude::*;

use crate::support::{
    apply_one, assert_documented_change, parse_has_error, render, undo, PY_SNIPPET, SAMPLES,
    TS_SNIPPET,
};

fn check_kinds(code: &str, language: Language, class: Option<FaultClass>, expect: Expect) {
    let mix = class.map_or_else(FaultMix::default, FaultMix::only);
    let injection = inject_faults(code, language, 1.0, &mix, &mut SplitMix64::new(3));
    for fault in &injection.faults {
        assert_documented_change(fault, code);
    }
    assert_eq!(undo(&injection.code, &injection.faults), code);
    expect.assert_eq(&render(&injection.faults));
}

#[test]
fn python_fault_kinds_on_every_eligible_line() {
    check_kinds(
        PY_SNIPPET,
        Language::Python,
        None,
        expect![[r#"
            1:25 wrong_import_name: "round_money" -> "roundm_oney"
            3:24 syntax_error: ":" -> ""
            4:11 wrong_arity: "(lines)" -> "()"
            5:42 syntax_error: ")" -> ""
            6:16 misspelled_identifier: "sum" -> "ssum"
            7:43 off_by_one: "100" -> "99"
        "#]],
    );
    check_kinds(
        PY_SNIPPET,
        Language::Python,
        Some(FaultClass::Syntax),
        expect![[r#"
            1:25 wrong_import_name: "round_money" -> "roundm_oney"
            3:24 syntax_error: ":" -> ""
            4:17 syntax_error: ")" -> ""
            5:42 syntax_error: ")" -> ""
            6:59 syntax_error: ")" -> ""
            7:47 syntax_error: ")" -> ""
        "#]],
    );
    check_kinds(
        PY_SNIPPET,
        Language::Python,
        Some(FaultClass::MisspelledIdentifier),
        expect![[r#"
            1:25 wrong_import_name: "round_money" -> "roundm_oney"
            3:24 syntax_error: ":" -> ""
            4:12 misspelled_identifier: "lines" -> "linse"
            5:15 misspelled_identifier: "ValueError" -> "VaalueError"
            6:54 misspelled_identifier: "lines" -> "lins"
            7:30 misspelled_identifier: "subtotal" -> "sbtotal"
        "#]],
    );
    check_kinds(
        PY_SNIPPET,
        Language::Python,
        Some(FaultClass::ArityOrImport),
        expect![[r#"
            1:25 wrong_import_name: "round_money" -> "roundm_oney"
            3:24 syntax_error: ":" -> ""
            4:11 wrong_arity: "(lines)" -> "()"
            5:25 wrong_arity: "(\"too many lines\")" -> "()"
            6:31 flipped_operator: "*" -> "/"
            7:29 wrong_arity: "(subtotal, 0, 100)" -> "(subtotal, 0)"
        "#]],
    );
    check_kinds(
        PY_SNIPPET,
        Language::Python,
        Some(FaultClass::Logic),
        expect![[r#"
            1:25 wrong_import_name: "round_money" -> "roundm_oney"
            3:24 syntax_error: ":" -> ""
            4:19 flipped_comparison: ">" -> "<="
            5:42 syntax_error: ")" -> ""
            6:31 flipped_operator: "*" -> "/"
            7:40 off_by_one: "0" -> "1"
        "#]],
    );
}

#[test]
fn typescript_fault_kinds_on_every_eligible_line() {
    check_kinds(
        TS_SNIPPET,
        Language::TypeScript,
        None,
        expect![[r#"
            1:17 wrong_import_name: "roundTo" -> "rounTdo"
            3:50 syntax_error: ")" -> ""
            4:16 off_by_one: "0" -> "1"
            5:12 off_by_one: "0" -> "1"
            6:3 syntax_error: "}" -> ""
            7:40 off_by_one: "1" -> "0"
            8:32 syntax_error: ")" -> ""
            9:1 syntax_error: "}" -> ""
        "#]],
    );
    check_kinds(
        TS_SNIPPET,
        Language::TypeScript,
        Some(FaultClass::Syntax),
        expect![[r#"
        1:25 syntax_error: "}" -> ""
        3:50 syntax_error: ")" -> ""
        4:17 syntax_error: ")" -> ""
        5:12 off_by_one: "0" -> "1"
        6:3 syntax_error: "}" -> ""
        7:41 syntax_error: ")" -> ""
        8:32 syntax_error: ")" -> ""
        9:1 syntax_error: "}" -> ""
    "#]],
    );
    check_kinds(
        TS_SNIPPET,
        Language::TypeScript,
        Some(FaultClass::MisspelledIdentifier),
        expect![[r#"
            1:17 wrong_import_name: "roundTo" -> "rounTdo"
            3:50 syntax_error: ")" -> ""
            4:7 misspelled_identifier: "whole" -> "wole"
            5:12 off_by_one: "0" -> "1"
            6:3 syntax_error: "}" -> ""
            7:17 misspelled_identifier: "clamp" -> "clapm"
            8:10 misspelled_identifier: "roundTo" -> "ruondTo"
            9:1 syntax_error: "}" -> ""
        "#]],
    );
    check_kinds(
        TS_SNIPPET,
        Language::TypeScript,
        Some(FaultClass::ArityOrImport),
        expect![[r#"
            1:17 wrong_import_name: "roundTo" -> "rounTdo"
            3:50 syntax_error: ")" -> ""
            4:16 off_by_one: "0" -> "1"
            5:12 off_by_one: "0" -> "1"
            6:3 syntax_error: "}" -> ""
            7:22 wrong_arity: "(part / whole, 0, 1)" -> "(part / whole, 0)"
            8:17 wrong_arity: "(ratio * 100, 2)" -> "(ratio * 100)"
            9:1 syntax_error: "}" -> ""
        "#]],
    );
    check_kinds(
        TS_SNIPPET,
        Language::TypeScript,
        Some(FaultClass::Logic),
        expect![[r#"
            1:25 syntax_error: "}" -> ""
            3:50 syntax_error: ")" -> ""
            4:13 flipped_comparison: "<=" -> ">"
            5:12 off_by_one: "0" -> "1"
            6:3 syntax_error: "}" -> ""
            7:28 flipped_operator: "/" -> "*"
            8:31 off_by_one: "2" -> "1"
            9:1 syntax_error: "}" -> ""
        "#]],
    );
}

#[test]
fn every_kind_occurs_and_changes_what_it_documents_on_the_samples() {
    let mut seen: BTreeMap<FaultKind, usize> = BTreeMap::new();
    for (name, code, language) in SAMPLES {
        for seed in 0..20 {
            let injection = inject_faults(
                code,
                language,
                0.5,
                &FaultMix::default(),
                &mut SplitMix64::new(seed),
            );
            for fault in &injection.faults {
                assert_documented_change(fault, code);
                *seen.entry(fault.kind).or_default() += 1;
            }
            assert_eq!(
                undo(&injection.code, &injection.faults),
                code,
                "{name} seed {seed}"
            );
        }
    }
    for kind in FaultKind::ALL {
        assert!(
            seen.get(&kind).copied().unwrap_or(0) > 0,
            "{kind} never injected: {seen:?}"
        );
    }
}

#[test]
fn syntax_faults_make_tree_sitter_report_an_error() {
    let fragment = "    def applies_to(self, order):\n        return bool(order.lines) and (order.total() > 0)\n";
    let samples = SAMPLES
        .iter()
        .copied()
        .chain([("fragment.py", fragment, Language::Python)]);
    let mut checked = 0;
    for (name, code, language) in samples {
        assert!(!parse_has_error(code, language) || name == "fragment.py");
        for seed in 0..10 {
            let injection = inject_faults(
                code,
                language,
                0.5,
                &FaultMix::only(FaultClass::Syntax),
                &mut SplitMix64::new(seed),
            );
            for fault in injection
                .faults
                .iter()
                .filter(|f| f.kind == FaultKind::SyntaxError)
            {
                let broken = apply_one(code, fault);
                if name == "fragment.py" {
                    let dedented: String = broken
                        .lines()
                        .map(|l| format!("{}\n", l.get(4..).unwrap_or("")))
                        .collect();
                    assert!(parse_has_error(&dedented, language), "{name}: {fault:?}");
                } else {
                    assert!(parse_has_error(&broken, language), "{name}: {fault:?}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} syntax faults checked");
}

#[test]
fn the_fault_rate_holds_over_many_lines() {
    for rate in [0.01, 0.05, 0.2] {
        let (mut eligible, mut faults) = (0u64, 0u64);
        for (_, code, language) in SAMPLES {
            let sites = FaultSites::new(code, language);
            for seed in 0..200 {
                let injection =
                    sites.inject(rate, &FaultMix::default(), &mut SplitMix64::new(seed));
                eligible += u64::from(sites.eligible_lines());
                faults += injection.faults.len() as u64;
            }
        }
        let n = eligible as f64;
        let sigma = (n * rate * (1.0 - rate)).sqrt();
        let deviation = (faults as f64 - n * rate).abs();
        assert!(
            deviation < 4.0 * sigma,
            "rate {rate}: {faults} faults on {eligible} eligible lines (expected {:.0} ± {:.0})",
            n * rate,
            4.0 * sigma
        );
    }
}

#[test]
fn the_mix_weights_the_classes() {
    // Every line of this code offers a site of every class, so no fallback happens.
    let code = "from m import f, g\n".to_string() + &"x = f(a, b) + g(c < 1, d)\n".repeat(200);
    let mix = FaultMix {
        syntax: 1.0,
        misspelled_identifier: 2.0,
        arity_or_import: 3.0,
        logic: 4.0,
    };
    let injection = inject_faults(&code, Language::Python, 1.0, &mix, &mut SplitMix64::new(11));
    let mut counts = [0f64; 4];
    for fault in &injection.faults {
        counts[FaultClass::ORDER
            .iter()
            .position(|c| *c == fault.kind.class())
            .unwrap()] += 1.0;
    }
    let total: f64 = counts.iter().sum();
    assert_eq!(total, 201.0);
    for (i, weight) in [0.1, 0.2, 0.3, 0.4].into_iter().enumerate() {
        let sigma = (total * weight * (1.0 - weight)).sqrt();
        assert!(
            (counts[i] - total * weight).abs() < 4.0 * sigma,
            "{counts:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Faults are ground truth: undoing them gives the reference back, lines stay lines, and
    /// every changed line carries exactly one recorded fault.
    #[test]
    fn faults_are_ground_truth(seed in any::<u64>(), rate in 0.0f64..=1.0, sample in 0usize..3) {
        let (_, code, language) = SAMPLES[sample];
        let sites = FaultSites::new(code, language);
        let injection = sites.inject(rate, &FaultMix::default(), &mut SplitMix64::new(seed));
        prop_assert_eq!(&injection, &inject_faults(code, language, rate, &FaultMix::default(), &mut SplitMix64::new(seed)));
        prop_assert!(injection.faults.len() <= sites.eligible_lines() as usize);
        prop_assert_eq!(undo(&injection.code, &injection.faults), code);
        let before: Vec<&str> = code.lines().collect();
        let after: Vec<&str> = injection.code.lines().collect();
        prop_assert_eq!(before.len(), after.len());
        let changed: Vec<u32> = (0..before.len()).filter(|&i| before[i] != after[i]).map(|i| i as u32 + 1).collect();
        let faulted: Vec<u32> = injection.faults.iter().map(|f| f.line).collect();
        prop_assert_eq!(changed, faulted);
    }
}
