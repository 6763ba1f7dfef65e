//! The output project: the plan's support files (everything of the reference solution that no
//! task produces: tests, `__init__.py`, `tsconfig.json`, ...) plus the generated files.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use mge_plan::Plan;

use crate::{EngineError, Result};

/// Directories never copied from a reference solution: build output and caches.
const SKIPPED_DIRS: [&str; 6] = [
    "__pycache__",
    "node_modules",
    "dist",
    ".git",
    ".venv",
    "target",
];

/// Writes `files` (target path, content) and the plan's support files under `out`. Files of the
/// reference that tasks produce are not copied: an absent generated file stays absent.
pub fn write_project(out: &Path, plan: &Plan, files: &[(String, String)]) -> Result<()> {
    let targets: BTreeSet<&str> = plan.tasks().map(|t| t.target.as_str()).collect();
    fs::create_dir_all(out).map_err(|e| output_err(out, e))?;
    if let Some(reference) = &plan.reference_dir {
        copy_support(reference, reference, out, &targets)?;
    }
    for (target, code) in files {
        let path = out.join(target);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| output_err(parent, e))?;
        }
        fs::write(&path, code).map_err(|e| output_err(&path, e))?;
    }
    Ok(())
}

fn copy_support(root: &Path, dir: &Path, out: &Path, targets: &BTreeSet<&str>) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| EngineError::Reference {
        path: dir.display().to_string(),
        source: e,
    })?;
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if !SKIPPED_DIRS.contains(&name) {
                copy_support(root, &path, out, targets)?;
            }
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .expect("walk stays under root")
            .to_string_lossy()
            .replace('\\', "/");
        if targets.contains(rel.as_str()) || name.ends_with(".pyc") {
            continue;
        }
        let dest = out.join(&rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| output_err(parent, e))?;
        }
        fs::copy(&path, &dest).map_err(|e| output_err(&dest, e))?;
    }
    Ok(())
}

fn output_err(path: &Path, source: std::io::Error) -> EngineError {
    EngineError::Output {
        path: path.display().to_string(),
        source,
    }
}

/// Reads a task's reference file, the code the simulated generator starts from.
pub fn reference_code(plan: &Plan, target: &str) -> Result<Option<String>> {
    let Some(dir) = &plan.reference_dir else {
        return Ok(None);
    };
    let path = dir.join(target);
    fs::read_to_string(&path)
        .map(Some)
        .map_err(|e| EngineError::Reference {
            path: path.display().to_string(),
            source: e,
        })
}

/// The source files of the reference solution that no task produces (package `__init__.py`
/// re-exports, `index.ts` barrels, tests), as `(path, language, text)`: atomized for linking and
/// context, never generated.
pub fn support_sources(plan: &Plan) -> Result<Vec<(String, mge_core::Language, String)>> {
    let Some(reference) = &plan.reference_dir else {
        return Ok(Vec::new());
    };
    let targets: BTreeSet<&str> = plan.tasks().map(|t| t.target.as_str()).collect();
    let mut out = Vec::new();
    let mut stack = vec![reference.clone()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| EngineError::Reference {
            path: dir.display().to_string(),
            source: e,
        })?;
        for path in entries.flatten().map(|e| e.path()) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !SKIPPED_DIRS.contains(&name) {
                    stack.push(path);
                }
                continue;
            }
            let rel = path
                .strip_prefix(reference)
                .expect("walk stays under the reference")
                .to_string_lossy()
                .replace('\\', "/");
            let Some(language) = mge_core::Language::from_path(&rel) else {
                continue;
            };
            if targets.contains(rel.as_str()) {
                continue;
            }
            let text = fs::read_to_string(&path).map_err(|e| EngineError::Reference {
                path: path.display().to_string(),
                source: e,
            })?;
            out.push((rel, language, text));
        }
    }
    out.sort();
    Ok(out)
}
