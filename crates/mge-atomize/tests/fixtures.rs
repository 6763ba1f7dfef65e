//! Atomization of the reference solutions of the fixture plans: tiling, reassembly, cross-file
//! context completeness (target: mean ≥ 0.95) and a snapshot of the links of one plan.

use std::path::{Path, PathBuf};

use mge_atomize::{atomize, link, rescore, AtomizedFile, Config};
use mge_core::Language;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plans")
}

fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            if name != "node_modules" && name != "__pycache__" {
                walk(&p, root, out);
            }
        } else if Language::from_path(&name).is_some() {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&p).unwrap()));
        }
    }
}

/// A plan's name, its reference sources (path, text) and their atomization.
type AtomizedPlan = (String, Vec<(String, String)>, Vec<AtomizedFile>);

/// Every fixture plan's reference files, atomized and rescored as one plan.
fn plans() -> Vec<AtomizedPlan> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(fixtures_dir()) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for d in dirs {
        let reference = d.join("reference");
        if !reference.is_dir() {
            continue;
        }
        let mut sources = Vec::new();
        walk(&reference, &reference, &mut sources);
        let mut files: Vec<AtomizedFile> = sources
            .iter()
            .map(|(p, s)| atomize(p, s, Language::from_path(p).unwrap(), &Config::default()))
            .collect();
        rescore(&mut files, true);
        out.push((
            d.file_name().unwrap().to_string_lossy().to_string(),
            sources,
            files,
        ));
    }
    out
}

#[test]
fn fixture_references_tile_and_reach_the_completeness_target() {
    let plans = plans();
    let mut total = 0.0;
    let mut n = 0usize;
    for (plan, sources, files) in &plans {
        for ((_, src), f) in sources.iter().zip(files) {
            f.check_tiling().unwrap();
            assert_eq!(&f.reassemble(src), src, "{plan}: {}", f.path);
            assert!(!f.has_errors(), "{plan}: {}: {:?}", f.path, f.diagnostics);
            for a in &f.atoms {
                total += a.context_completeness;
                n += 1;
            }
        }
        let linkage = link(files);
        for u in &linkage.unresolved {
            eprintln!(
                "{plan}: unresolved {} in {} ({})",
                u.symbol, u.atom, u.reason
            );
        }
    }
    if n > 0 {
        let mean = total / n as f64;
        eprintln!("fixtures: {n} atoms, mean context completeness {mean:.3}");
        assert!(
            mean >= 0.95,
            "mean context completeness {mean:.3} under 0.95"
        );
    }
}
