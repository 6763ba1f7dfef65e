//! A fixture plan loaded for the catch-rate benchmark: its reference project, atomized, with
//! what every level needs about it.

use std::collections::BTreeMap;
use std::path::Path;

use mge_atomize::{AtomizedFile, Config};

use crate::component::components;
use crate::project::Project;

/// One fixture plan and its reference solution.
pub struct Fixture {
    pub name: String,
    pub project: Project,
    /// Every source file of the project (tasks, support files, tests), atomized.
    pub files: Vec<AtomizedFile>,
    /// Indices into `files` of the task targets: the files whose atoms are generated.
    pub targets: Vec<usize>,
    /// Expected defines per target: the union of its atoms' defines in the reference.
    pub expected: BTreeMap<String, Vec<String>>,
    /// Task targets grouped into components (directory → files).
    pub components: BTreeMap<String, Vec<String>>,
    /// `tsconfig.json` when the project has one.
    pub tsconfig: Option<&'static str>,
    pub test_command: String,
}

/// Error loading a fixture: what and where.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("fixture plan {dir}: {message}")]
    Plan { dir: String, message: String },
    #[error("fixture plan {dir}: {what}")]
    Incomplete { dir: String, what: &'static str },
    #[error("fixture plans: cannot list {dir}: {source}")]
    List { dir: String, source: std::io::Error },
}

impl Fixture {
    /// An atomic-validation context over the reference project, with its sources (for the
    /// arity of calls into other files).
    pub fn atomic_context(&self) -> crate::atomic::AtomicContext {
        let sources = self
            .project
            .files()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        crate::atomic::AtomicContext::new(self.files.clone()).with_sources(sources)
    }

    /// Loads the plan in `dir` (a directory holding `plan.toml`) and its reference project.
    pub fn load(dir: &Path) -> Result<Fixture, FixtureError> {
        let shown = dir.display().to_string();
        let loaded = mge_plan::load(dir).map_err(|e| FixtureError::Plan {
            dir: shown.clone(),
            message: e.to_string(),
        })?;
        let plan = loaded.plan;
        let reference = plan
            .reference_dir
            .clone()
            .map(|r| if r.is_absolute() { r } else { dir.join(r) })
            .ok_or(FixtureError::Incomplete {
                dir: shown.clone(),
                what: "no reference_dir",
            })?;
        let test_command = plan.test_command.clone().ok_or(FixtureError::Incomplete {
            dir: shown.clone(),
            what: "no test_command",
        })?;
        let project = Project::load(&reference).map_err(|e| FixtureError::Plan {
            dir: shown.clone(),
            message: e.to_string(),
        })?;
        let files = project.atomize(&Config::default());
        let target_paths: Vec<String> = plan.tasks().map(|t| t.target.clone()).collect();
        let targets: Vec<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, f)| target_paths.contains(&f.path))
            .map(|(i, _)| i)
            .collect();
        if targets.len() != target_paths.len() {
            return Err(FixtureError::Incomplete {
                dir: shown,
                what: "a task target is missing from the reference",
            });
        }
        let expected = targets
            .iter()
            .map(|&i| {
                let f = &files[i];
                let mut d: Vec<String> = f
                    .atoms
                    .iter()
                    .flat_map(|a| a.defines.iter().cloned())
                    .collect();
                d.sort();
                d.dedup();
                (f.path.clone(), d)
            })
            .collect();
        let components = components(target_paths.iter().map(String::as_str));
        let tsconfig = project.get("tsconfig.json").map(|_| "tsconfig.json");
        let name = dir
            .file_name()
            .map_or(shown.clone(), |n| n.to_string_lossy().into_owned());
        Ok(Fixture {
            name,
            project,
            files,
            targets,
            expected,
            components,
            tsconfig,
            test_command,
        })
    }

    /// Every plan under `plans` (directories holding a `plan.toml`), sorted by name.
    pub fn load_all(plans: &Path) -> Result<Vec<Fixture>, FixtureError> {
        let mut dirs: Vec<_> = std::fs::read_dir(plans)
            .map_err(|source| FixtureError::List {
                dir: plans.display().to_string(),
                source,
            })?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.join("plan.toml").exists())
            .collect();
        dirs.sort();
        dirs.iter().map(|d| Fixture::load(d)).collect()
    }

    /// The component (directory) holding `path`.
    pub fn component_of(&self, path: &str) -> BTreeMap<String, Vec<String>> {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        self.components
            .get_key_value(dir)
            .map(|(k, v)| (k.clone(), v.clone()))
            .into_iter()
            .collect()
    }
}
