//! Fixture plans and their reference projects, shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mge_atomize::{AtomizedFile, Config};
use mge_validate::{Project, SandboxLimits};

pub struct Fixture {
    pub name: String,
    pub plan: mge_plan::Plan,
    pub project: Project,
    pub files: Vec<AtomizedFile>,
}

impl Fixture {
    /// Task target paths.
    pub fn targets(&self) -> Vec<String> {
        self.plan.tasks().map(|t| t.target.clone()).collect()
    }

    /// Expected defines per target: the union of its atoms' defines in the reference.
    pub fn expected_defines(&self) -> BTreeMap<String, Vec<String>> {
        self.files
            .iter()
            .map(|f| {
                let mut d: Vec<String> = f
                    .atoms
                    .iter()
                    .flat_map(|a| a.defines.iter().cloned())
                    .collect();
                d.sort();
                d.dedup();
                (f.path.clone(), d)
            })
            .collect()
    }

    pub fn tsconfig(&self) -> Option<&'static str> {
        self.project.get("tsconfig.json").map(|_| "tsconfig.json")
    }

    pub fn file(&self, path: &str) -> &AtomizedFile {
        self.files
            .iter()
            .find(|f| f.path == path)
            .expect("file of the fixture")
    }
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/plans")
}

pub fn load(name: &str) -> Fixture {
    let dir = fixtures_dir().join(name);
    let loaded = mge_plan::load(&dir).unwrap_or_else(|e| panic!("plan {name}: {e}"));
    let plan = loaded.plan;
    let reference = plan
        .reference_dir
        .clone()
        .map(|r| if r.is_absolute() { r } else { dir.join(r) })
        .expect("reference dir");
    let project = Project::load(&reference).expect("reference project");
    let files = project.atomize(&Config::default());
    Fixture {
        name: name.to_string(),
        plan,
        project,
        files,
    }
}

pub fn all() -> Vec<Fixture> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures/plans")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("plan.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.iter().map(|n| load(n)).collect()
}

pub fn limits() -> SandboxLimits {
    SandboxLimits {
        timeout: Duration::from_secs(90),
        ..SandboxLimits::default()
    }
}
