//! Injected faults of each kind are caught at the level expected to see them, and a logic
//! fault only by the system level, with its position mapped back to the faulty atom.

mod common;

use common::Fixture;
use mge_atomize::{atomize, AtomizedFile, Config};
use mge_core::{Language, ValidationLevel};
use mge_validate::atomic::AtomicContext;
use mge_validate::{
    check_component, components, validate_atom, validate_components, validate_modules,
    validate_system, AtomInput, AtomLimits, Project, ValidationReport,
};

struct Fault {
    path: &'static str,
    from: &'static str,
    to: &'static str,
}

struct Mutated {
    project: Project,
    files: Vec<AtomizedFile>,
    atomic: ValidationReport,
    /// Id of the atom holding the fault.
    atom: String,
}

fn mutate(fx: &Fixture, f: &Fault) -> Mutated {
    let base = fx.project.get(f.path).expect("fault file");
    let at = base
        .find(f.from)
        .unwrap_or_else(|| panic!("'{}' not in {}", f.from, f.path));
    let file = fx.file(f.path);
    let atom = file
        .atoms
        .iter()
        .find(|a| a.start_byte <= at && at < a.end_byte)
        .expect("atom of the fault");
    let old = &base[atom.start_byte..atom.end_byte];
    let rel = at - atom.start_byte;
    let generated = format!("{}{}{}", &old[..rel], f.to, &old[rel + f.from.len()..]);
    // As a V2 run validates: with the plan's sources, so calls into other files are checked.
    let sources = fx
        .project
        .files()
        .map(|(p, s)| (p.to_string(), s.to_string()))
        .collect();
    let context = AtomicContext::new(fx.files.clone()).with_sources(sources);
    let atomic = context
        .validate(&AtomInput {
            path: f.path,
            language: file.language,
            base_source: base,
            range: atom.start_byte..atom.end_byte,
            generated: &generated,
            expected: atom,
            plan_files: &fx.files,
            context_names: &[],
            limits: AtomLimits::default(),
        })
        .unwrap();
    let new_source = format!(
        "{}{}{}",
        &base[..atom.start_byte],
        generated,
        &base[atom.end_byte..]
    );
    let mut project = fx.project.clone();
    project.insert(f.path, new_source);
    let files = project.atomize(&Config::default());
    Mutated {
        project,
        files,
        atomic,
        atom: atom.id.clone(),
    }
}

/// The reports of levels 1-3 for one fault (module and component over the fault's file and
/// its directory).
fn first_three(fx: &Fixture, f: &Fault) -> (Mutated, ValidationReport, ValidationReport) {
    let m = mutate(fx, f);
    let source = m.project.get(f.path).unwrap();
    let expected = fx.expected_defines();
    let module = validate_modules(
        &[(f.path, source)],
        &fx.files,
        &expected,
        &[],
        &common::limits(),
    )
    .unwrap()
    .remove(f.path)
    .unwrap();
    let targets = fx.targets();
    let comps = components(targets.iter().map(String::as_str));
    let dir = f.path.rsplit_once('/').map_or("", |(d, _)| d);
    let mut one = std::collections::BTreeMap::new();
    one.insert(dir.to_string(), comps[dir].clone());
    let component =
        validate_components(&m.project, &m.files, &one, fx.tsconfig(), &common::limits())
            .unwrap()
            .remove(dir)
            .unwrap();
    (m, module, component)
}

fn first_failing(reports: &[&ValidationReport]) -> Option<ValidationLevel> {
    reports.iter().find(|r| !r.passed).map(|r| r.level)
}

fn codes(r: &ValidationReport) -> Vec<String> {
    r.violations.iter().map(|v| v.code.clone()).collect()
}

#[track_caller]
fn expect_caught(
    fx: &Fixture,
    f: &Fault,
    level: ValidationLevel,
    code: &str,
) -> (Mutated, ValidationReport, ValidationReport) {
    let (m, module, component) = first_three(fx, f);
    let reports = [&m.atomic, &module, &component];
    assert_eq!(
        first_failing(&reports),
        Some(level),
        "{} '{}' -> '{}': atomic {:?} module {:?} component {:?}",
        f.path,
        f.from,
        f.to,
        m.atomic.violations,
        module.violations,
        component.violations
    );
    let at_level = reports.iter().find(|r| r.level == level).unwrap();
    assert!(
        codes(at_level).iter().any(|c| c == code),
        "{code} not among {:?}",
        at_level.violations
    );
    assert!(at_level.score < 1.0);
    (m, module, component)
}

#[test]
fn python_faults_are_caught_at_their_level() {
    let fx = common::load("shop");
    // Syntax.
    let (m, _, _) = expect_caught(
        &fx,
        &Fault {
            path: "util/numbers.py",
            from: "return max(low, min(value, high))",
            to: "return max(low, min(value, high)",
        },
        ValidationLevel::Atomic,
        "syntax_error",
    );
    let v = &m.atomic.violations[0];
    assert_eq!(
        (v.file.as_str(), v.atom.as_deref()),
        ("util/numbers.py", Some(m.atom.as_str()))
    );
    // Misspelled names: a module function, a module attribute, a method through self.
    for (path, from, to) in [
        (
            "util/numbers.py",
            "return round_money(amount)",
            "return round_mony(amount)",
        ),
        (
            "shop/services/pricing.py",
            "num.percent_of(",
            "num.percnt_of(",
        ),
        (
            "shop/services/inventory.py",
            "self.adjust(sku",
            "self.adjst(sku",
        ),
    ] {
        let (m, _, _) = expect_caught(
            &fx,
            &Fault { path, from, to },
            ValidationLevel::Atomic,
            "unresolved_name",
        );
        let v = &m.atomic.violations[0];
        assert_eq!(
            (v.file.as_str(), v.atom.as_deref()),
            (path, Some(m.atom.as_str()))
        );
    }
    // Wrong imported name.
    expect_caught(
        &fx,
        &Fault {
            path: "shop/models/order.py",
            from: "from util import ZERO, round_money",
            to: "from util import ZERO, round_mony",
        },
        ValidationLevel::Atomic,
        "unresolved_import",
    );
    // Wrong arity: through a module alias, an import alias, a keyword. The atomic level sees
    // it (the callee's signature is in the plan); the component level would too.
    for (path, from, to, code) in [
        (
            "shop/services/pricing.py",
            "num.clamp(percent, 0, MAX_PERCENT)",
            "num.clamp(percent, 0)",
            "missing_argument",
        ),
        (
            "shop/services/inventory.py",
            "clamp_value(wanted, level.reserved, self.capacity)",
            "clamp_value(wanted, level.reserved, self.capacity, 1)",
            "too_many_arguments",
        ),
        (
            "shop/services/inventory.py",
            "self.adjust(sku, quantity, clamp=False)",
            "self.adjust(sku, quantity, clip=False)",
            "unexpected_keyword",
        ),
    ] {
        let (m, _, component) = expect_caught(
            &fx,
            &Fault { path, from, to },
            ValidationLevel::Atomic,
            code,
        );
        assert_eq!(m.atomic.violations[0].file, path);
        assert!(codes(&component).iter().any(|c| c == code));
    }
}

#[test]
fn typescript_and_javascript_faults_are_caught_at_their_level() {
    let fx = common::load("geometry");
    expect_caught(
        &fx,
        &Fault {
            path: "src/math/vector.ts",
            from: "nearlyEqual(this.x, other.x, epsilon) &&",
            to: "nearlyEqual(this.x, other.x, epsilon &&",
        },
        ValidationLevel::Atomic,
        "missing_node",
    );
    expect_caught(
        &fx,
        &Fault {
            path: "src/shapes/polygon.ts",
            from: "return Math.abs(this.signedArea());",
            to: "return Math.abs(this.signedAria());",
        },
        ValidationLevel::Atomic,
        "unresolved_name",
    );
    expect_caught(
        &fx,
        &Fault {
            path: "src/shapes/circle.ts",
            from: "import { type Matrix, nearlyEqual, Vec2 }",
            to: "import { type Matrix, nearlyEquals, Vec2 }",
        },
        ValidationLevel::Atomic,
        "unresolved_import",
    );
    let (_, _, component) = expect_caught(
        &fx,
        &Fault {
            path: "src/math/vector.ts",
            from: "nearlyEqual(this.x, other.x, epsilon)",
            to: "nearlyEqual(this.x, other.x, epsilon, 2)",
        },
        ValidationLevel::Atomic,
        "too_many_arguments",
    );
    assert!(
        codes(&component).iter().any(|c| c == "tsc:TS2554"),
        "{:?}",
        component.violations
    );
    // Not exported: the definition stays, its importers break.
    let m = mutate(
        &fx,
        &Fault {
            path: "src/math/vector.ts",
            from: "export const nearlyEqual",
            to: "const nearlyEqual",
        },
    );
    assert!(m.atomic.passed, "{:?}", m.atomic.violations);
    let r = check_component(&m.project, &m.files, &["src/shapes/circle.ts".to_string()]);
    assert!(
        codes(&r).iter().any(|c| c == "not_exported"),
        "{:?}",
        r.violations
    );

    let kv = common::load("kvstore");
    expect_caught(
        &kv,
        &Fault {
            path: "src/store.js",
            from: "canonical(",
            to: "canonicl(",
        },
        ValidationLevel::Atomic,
        "unresolved_name",
    );
}

#[test]
fn logic_faults_pass_the_first_three_levels_and_fail_the_system_level() {
    let fx = common::load("shop");
    let fault = Fault {
        path: "util/numbers.py",
        from: "if low > high:",
        to: "if low < high:",
    };
    let (m, module, component) = first_three(&fx, &fault);
    assert!(m.atomic.passed && module.passed && component.passed);
    let cmd = fx.plan.test_command.clone().unwrap();
    let system = validate_system(&m.project, &m.files, &cmd, &common::limits()).unwrap();
    assert!(!system.passed);
    let mapped: Vec<_> = system
        .violations
        .iter()
        .filter(|v| v.code == "test_failure" && v.file == "util/numbers.py")
        .collect();
    assert!(!mapped.is_empty(), "{:#?}", system.violations);
    let clamp = fx
        .file("util/numbers.py")
        .atoms
        .iter()
        .find(|a| a.name == "clamp")
        .unwrap();
    assert!(mapped
        .iter()
        .all(|v| v.atom.as_deref() == Some(clamp.id.as_str())));
    assert!(system.score < 1.0 && system.score > 0.0);

    let ts = common::load("geometry");
    let fault = Fault {
        path: "src/shapes/polygon.ts",
        from: "return Math.abs(this.signedArea());",
        to: "return -Math.abs(this.signedArea());",
    };
    let (m, module, component) = first_three(&ts, &fault);
    assert!(
        m.atomic.passed && module.passed && component.passed,
        "{:?}",
        component.violations
    );
    let cmd = ts.plan.test_command.clone().unwrap();
    let system = validate_system(&m.project, &m.files, &cmd, &common::limits()).unwrap();
    assert!(!system.passed);
    assert!(
        system.violations.iter().all(|v| v.code == "test_failure"),
        "{:#?}",
        system.violations
    );
}

#[test]
fn atomic_level_checks_definitions_signatures_and_size() {
    let src = "def area(width, height):\n    return width * height\n\n\ndef double(x):\n    return area(x, 2)\n";
    let file = atomize("m.py", src, Language::Python, &Config::default());
    let a = file.atoms.iter().find(|a| a.name == "area").unwrap();
    let check = |generated: &str| {
        validate_atom(&AtomInput {
            path: "m.py",
            language: Language::Python,
            base_source: src,
            range: a.start_byte..a.end_byte,
            generated,
            expected: a,
            plan_files: std::slice::from_ref(&file),
            context_names: &[],
            limits: AtomLimits {
                max_loc: 6,
                max_complexity: 3,
            },
        })
        .unwrap()
    };
    let same = &src[a.start_byte..a.end_byte];
    assert!(check(same).passed);
    let renamed = check(&same.replace("def area", "def surface"));
    assert_eq!(codes(&renamed), ["missing_definition"]);
    assert_eq!(renamed.warnings[0].code, "extra_definition");
    let params = check(
        &same
            .replace("width, height", "w, h")
            .replace("width * height", "w * h"),
    );
    expect_test::expect![[r#"
        m.py:1:1: signature_mismatch: 'area' takes (w, h) but the plan expects (width, height)
    "#]]
    .assert_eq(&params.feedback());
    let long = format!(
        "def area(width, height):\n{}    return width * height\n\n\n",
        "    if width > 1:\n        width -= 1\n".repeat(4)
    );
    let big = check(&long);
    assert_eq!(codes(&big), ["atom_too_complex", "atom_too_large"]);
    assert!(check("\n\n").violations[0].code == "empty_atom");
    let allowed = validate_atom(&AtomInput {
        path: "m.py",
        language: Language::Python,
        base_source: src,
        range: a.start_byte..a.end_byte,
        generated: &same.replace("width * height", "width * height * SCALE"),
        expected: a,
        plan_files: std::slice::from_ref(&file),
        context_names: &["SCALE".to_string()],
        limits: AtomLimits::default(),
    })
    .unwrap();
    assert!(allowed.passed, "{:?}", allowed.violations);
}
