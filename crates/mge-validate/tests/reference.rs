//! Zero false positives: the unmodified reference of every fixture passes every level.

mod common;

use mge_validate::atomic::AtomicContext;
use mge_validate::{
    components, validate_atom, validate_components, validate_modules, validate_system, AtomInput,
    AtomLimits, ValidationReport,
};

fn failures(label: &str, r: &ValidationReport) -> Vec<String> {
    r.violations
        .iter()
        .map(|v| format!("{label}: {v}"))
        .collect()
}

#[test]
fn every_reference_atom_passes_the_atomic_level() {
    let mut bad = Vec::new();
    let mut checked = 0;
    for fx in common::all() {
        // With the project's sources, calls into other files are checked for arity too.
        let sources = fx
            .project
            .files()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        let context = AtomicContext::new(fx.files.clone()).with_sources(sources);
        for f in &fx.files {
            let source = fx.project.get(&f.path).unwrap();
            for a in &f.atoms {
                let input = AtomInput {
                    path: &f.path,
                    language: f.language,
                    base_source: source,
                    range: a.start_byte..a.end_byte,
                    generated: &source[a.start_byte..a.end_byte],
                    expected: a,
                    plan_files: &fx.files,
                    context_names: &[],
                    limits: AtomLimits::default(),
                };
                let r = context.validate(&input).unwrap();
                // The one-call form (no sources) agrees on a reference atom.
                assert!(validate_atom(&input).unwrap().passed, "{}", a.id);
                checked += 1;
                bad.extend(failures(&format!("{} {}", fx.name, a.id), &r));
            }
        }
    }
    assert!(checked > 300, "only {checked} atoms checked");
    assert!(
        bad.is_empty(),
        "{} false positives:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn every_reference_module_passes_the_module_level() {
    let mut bad = Vec::new();
    for fx in common::all() {
        let targets = fx.targets();
        let modules: Vec<(&str, &str)> = targets
            .iter()
            .map(|t| (t.as_str(), fx.project.get(t).unwrap()))
            .collect();
        let reports = validate_modules(
            &modules,
            &fx.files,
            &fx.expected_defines(),
            &[],
            &common::limits(),
        )
        .unwrap();
        assert_eq!(reports.len(), targets.len());
        for (p, r) in &reports {
            bad.extend(failures(&format!("{} {p}", fx.name), r));
        }
    }
    assert!(
        bad.is_empty(),
        "{} false positives:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn every_reference_component_passes_the_component_level() {
    let mut bad = Vec::new();
    for fx in common::all() {
        let targets = fx.targets();
        let comps = components(targets.iter().map(String::as_str));
        let reports = validate_components(
            &fx.project,
            &fx.files,
            &comps,
            fx.tsconfig(),
            &common::limits(),
        )
        .unwrap();
        for (c, r) in &reports {
            bad.extend(failures(&format!("{} component '{c}'", fx.name), r));
        }
        assert_eq!(reports.len(), comps.len());
    }
    assert!(
        bad.is_empty(),
        "{} false positives:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn every_reference_project_passes_the_system_level() {
    let mut bad = Vec::new();
    for fx in common::all() {
        let cmd = fx.plan.test_command.clone().expect("test command");
        let r = validate_system(&fx.project, &fx.files, &cmd, &common::limits()).unwrap();
        bad.extend(failures(&fx.name, &r));
    }
    assert!(
        bad.is_empty(),
        "{} false positives:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
