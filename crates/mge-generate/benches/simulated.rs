//! Cost of the simulated provider per unit, against a tree-sitter parse of the same code.
//!
//! Units are the test samples cut into atom-sized chunks (10 lines) and whole files. Prints, per
//! unit size, the mean time of: a tree-sitter parse with a fresh parser (the baseline; also shown
//! with a reused parser), `plan_response` at fault rate 0 (no parse at all), at the default rate
//! 0.01 (a parse only when a line is selected), and at 0.2; and each as a ratio of the baseline. Run with `cargo bench -p mge-generate --bench simulated`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use mge_core::Language;
use mge_generate::{GenerationRequest, SimulatedConfig, SimulatedGenerator, UnitKind};

const SAMPLES: [(&str, Language); 3] = [
    (
        include_str!("../tests/it/samples/pricing.py"),
        Language::Python,
    ),
    (
        include_str!("../tests/it/samples/inventory.ts"),
        Language::TypeScript,
    ),
    (
        include_str!("../tests/it/samples/report.js"),
        Language::JavaScript,
    ),
];

fn units(chunk_lines: Option<usize>) -> Vec<(String, Language)> {
    let mut out = Vec::new();
    for (code, language) in SAMPLES {
        match chunk_lines {
            None => out.push((code.to_string(), language)),
            Some(n) => {
                let lines: Vec<&str> = code.split_inclusive('\n').collect();
                out.extend(lines.chunks(n).map(|c| (c.concat(), language)));
            }
        }
    }
    out
}

fn grammar(language: Language) -> tree_sitter::Language {
    match language {
        Language::Python => tree_sitter_python::LANGUAGE.into(),
        Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
    }
}

/// Mean time per unit of `f` over repeated passes for about `budget`.
fn per_unit(
    units: &[(String, Language)],
    budget: Duration,
    mut f: impl FnMut(usize, &str, Language),
) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    let mut pass = 0usize;
    while start.elapsed() < budget {
        for (code, language) in units {
            f(pass, code, *language);
            calls += 1;
        }
        pass += 1;
    }
    start.elapsed().as_secs_f64() / calls as f64
}

fn main() {
    let budget = Duration::from_millis(1500);
    for (label, chunk) in [("atom (10 lines)", Some(10)), ("file", None)] {
        let units = units(chunk);
        let baseline = per_unit(&units, budget, |_, code, language| {
            let mut parser = tree_sitter::Parser::new();
            parser.set_language(&grammar(language)).unwrap();
            black_box(parser.parse(code, None));
        });
        let mut parsers: Vec<tree_sitter::Parser> =
            [Language::Python, Language::TypeScript, Language::JavaScript]
                .into_iter()
                .map(|language| {
                    let mut parser = tree_sitter::Parser::new();
                    parser.set_language(&grammar(language)).unwrap();
                    parser
                })
                .collect();
        let reused = per_unit(&units, budget, |_, code, language| {
            let parser = &mut parsers[language as usize];
            black_box(parser.parse(code, None));
        });
        println!(
            "{label}: parse with a reused parser {:.1} us/unit",
            reused * 1e6
        );
        println!(
            "{label}: {} units; tree-sitter parse (baseline) {:.1} us/unit",
            units.len(),
            baseline * 1e6
        );
        for rate in [0.0, 0.01, 0.2] {
            let gen = SimulatedGenerator::new(SimulatedConfig {
                fault_rate: rate,
                time_scale: 0.0,
                ..SimulatedConfig::default()
            })
            .unwrap();
            let t = per_unit(&units, budget, |pass, code, language| {
                let request = GenerationRequest {
                    unit_id: format!("unit-{pass}"),
                    unit_kind: UnitKind::Atom,
                    language,
                    file_path: String::new(),
                    prompt: String::from("Write the unit."),
                    context: String::new(),
                    feedback: None,
                    temperature: 0.0,
                    attempt: 1,
                    expected: Some(code.to_string()),
                };
                black_box(gen.plan_response(&request).unwrap());
            });
            println!(
                "  simulated response, fault rate {rate:<4}: {:>8.1} us/unit = {:>5.2} x parse",
                t * 1e6,
                t / baseline
            );
        }
    }
}
