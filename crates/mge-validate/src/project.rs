//! A generated project held in memory: every text file by project-relative path.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use mge_atomize::{atomize, AtomizedFile, Config};
use mge_core::Language;

use crate::sandbox::SandboxError;

/// Errors of the validators that are not findings about the code (those are violations).
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("file '{0}' is not part of the project")]
    UnknownFile(String),
    #[error("atom byte range {start}..{end} is outside '{path}' ({len} bytes) or not on character boundaries")]
    BadRange {
        path: String,
        start: usize,
        end: usize,
        len: usize,
    },
}

/// Directory names never read into a project.
const SKIPPED_DIRS: [&str; 5] = ["node_modules", ".git", "dist", "__pycache__", "target"];

/// The files of a project: sources, tests and support files (`tsconfig.json`, `package.json`,
/// `__init__.py`), keyed by project-relative `/`-separated path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Project {
    files: BTreeMap<String, String>,
}

impl Project {
    pub fn new() -> Project {
        Project::default()
    }

    /// Reads every UTF-8 file under `dir` (skipping `node_modules`, `.git`, `dist`,
    /// `__pycache__`, `target`; files that are not UTF-8 are left out).
    pub fn load(dir: &Path) -> Result<Project, ValidateError> {
        let mut p = Project::new();
        p.load_dir(dir, "")?;
        Ok(p)
    }

    fn load_dir(&mut self, dir: &Path, prefix: &str) -> Result<(), ValidateError> {
        let io = |what, path: &Path| {
            let path = path.to_path_buf();
            move |source| ValidateError::Io { what, path, source }
        };
        let mut entries: Vec<_> = fs::read_dir(dir)
            .map_err(io("cannot list", dir))?
            .filter_map(|e| e.ok())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            let ft = e.file_type().map_err(io("cannot stat", &path))?;
            if ft.is_dir() {
                if !SKIPPED_DIRS.contains(&name.as_str()) {
                    self.load_dir(&path, &rel)?;
                }
            } else if ft.is_file() {
                let bytes = fs::read(&path).map_err(io("cannot read", &path))?;
                if let Ok(text) = String::from_utf8(bytes) {
                    self.files.insert(rel, text);
                }
            }
        }
        Ok(())
    }

    /// Adds or replaces a file.
    pub fn insert(&mut self, path: impl Into<String>, source: impl Into<String>) {
        self.files.insert(path.into(), source.into());
    }

    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// Every file, sorted by path.
    pub fn files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(p, s)| (p.as_str(), s.as_str()))
    }

    /// Paths of the files in a language the atomizer reads.
    pub fn source_paths(&self) -> Vec<&str> {
        self.files
            .keys()
            .filter(|p| Language::from_path(p).is_some())
            .map(String::as_str)
            .collect()
    }

    /// Atomizes every source file (sorted by path); the result indexes the whole project with
    /// [`mge_atomize::PlanIndex::new`].
    pub fn atomize(&self, config: &Config) -> Vec<AtomizedFile> {
        self.files
            .iter()
            .filter_map(|(p, s)| Language::from_path(p).map(|l| atomize(p, s, l, config)))
            .collect()
    }

    /// Writes every file under `dir`.
    pub fn write_to(&self, dir: &Path) -> Result<(), ValidateError> {
        for (rel, text) in &self.files {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|source| ValidateError::Io {
                    what: "cannot create",
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            fs::write(&path, text).map_err(|source| ValidateError::Io {
                what: "cannot write",
                path: path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// The atom of `file` whose byte range holds 1-based `line` (the last atom starting on or
/// before it), if any.
pub fn atom_at_line(file: &AtomizedFile, line: u32) -> Option<&mge_atomize::Atom> {
    file.atoms
        .iter()
        .filter(|a| a.start_line <= line && line <= a.end_line.max(a.start_line))
        .max_by_key(|a| a.start_line)
}
