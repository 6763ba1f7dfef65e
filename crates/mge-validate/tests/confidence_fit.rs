//! `scripts/fit_confidence.py` writes weights that `ConfidenceWeights` reads, and the fitted
//! score separates correct atoms from faulty ones.

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

use mge_validate::confidence::{confidence, ConfidenceWeights, Signals};

/// A deterministic pseudo-random sequence (64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn synthetic(rows: usize) -> (String, Vec<(Signals, bool)>) {
    let mut rng = Lcg(7);
    let mut csv = String::from(
        "atomic,module,component,system,attempts,complexity,context_completeness,atomicity,mean_logprob,consistency,label\n",
    );
    let mut out = Vec::new();
    for _ in 0..rows {
        let faulty = rng.next() < 0.2;
        let pass = |p_ok: f64, rng: &mut Lcg| rng.next() < if faulty { 1.0 - p_ok } else { 0.97 };
        let s = Signals {
            atomic: Some(pass(0.5, &mut rng)),
            module: Some(pass(0.4, &mut rng)),
            component: Some(pass(0.3, &mut rng)),
            system: Some(pass(0.2, &mut rng)),
            attempts: 1 + (rng.next() * if faulty { 4.0 } else { 2.0 }) as u32,
            complexity: (rng.next() * 10.0) as u32 + if faulty { 3 } else { 1 },
            context_completeness: if faulty {
                0.6 + 0.4 * rng.next()
            } else {
                0.9 + 0.1 * rng.next()
            },
            atomicity: 0.5 + 0.5 * rng.next(),
            mean_logprob: (rng.next() < 0.5).then(|| -rng.next() * if faulty { 2.0 } else { 0.5 }),
            // A sample that counts agrees with correct code mostly, with faulty code rarely.
            consistency: (rng.next() < 0.7).then(|| {
                let agree = rng.next() < if faulty { 0.1 } else { 0.93 };
                if agree {
                    1.0
                } else {
                    0.0
                }
            }),
        };
        let lv = |v: Option<bool>| match v {
            Some(true) => "pass",
            Some(false) => "fail",
            None => "",
        };
        writeln!(
            csv,
            "{},{},{},{},{},{},{:.4},{:.4},{},{},{}",
            lv(s.atomic),
            lv(s.module),
            lv(s.component),
            lv(s.system),
            s.attempts,
            s.complexity,
            s.context_completeness,
            s.atomicity,
            s.mean_logprob.map_or(String::new(), |l| format!("{l:.4}")),
            s.consistency.map_or(String::new(), |c| format!("{c:.1}")),
            if faulty { 0 } else { 1 }
        )
        .unwrap();
        out.push((s, !faulty));
    }
    (csv, out)
}

#[test]
fn the_fitting_script_writes_weights_the_scorer_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, rows) = synthetic(400);
    let input = dir.path().join("runs.csv");
    let output = dir.path().join("weights.json");
    std::fs::write(&input, csv).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fit_confidence.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["--epochs", "600"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&output).unwrap();
    let w = ConfidenceWeights::from_json(&text).unwrap();
    assert!(w.weights["consistency"] > 0.5, "{:?}", w.weights);
    let mean = |correct: bool| {
        let s: Vec<f64> = rows
            .iter()
            .filter(|(_, c)| *c == correct)
            .map(|(s, _)| confidence(s, &w))
            .collect();
        s.iter().sum::<f64>() / s.len() as f64
    };
    assert!(
        mean(true) > mean(false) + 0.3,
        "{} vs {}",
        mean(true),
        mean(false)
    );
    let reviewed = rows
        .iter()
        .filter(|(s, _)| confidence(s, &w) < w.review_threshold)
        .count() as f64
        / rows.len() as f64;
    assert!((0.1..=0.25).contains(&reviewed), "review share {reviewed}");

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "attempts,complexity,label\nx,1,1\n").unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(&bad)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2: column 'attempts' is not a number")
    );
}
