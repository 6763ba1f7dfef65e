//! Reading a plan file: size and encoding limits, TOML or JSON syntax, then the semantic checks.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::checks;
use crate::diagnostic::{line_col, line_col_bytes, PlanError};
use crate::locate::{JsonLocator, Locator, TomlLocator};
use crate::raw::RawPlan;
use crate::Plan;

/// Plans larger than this are refused before they are parsed.
pub const MAX_PLAN_BYTES: u64 = 4 * 1024 * 1024;

/// File names looked for, in order, when a plan argument is a directory.
pub const PLAN_FILE_NAMES: [&str; 2] = ["plan.toml", "plan.json"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

impl Format {
    /// The format of a plan file, from its extension; TOML unless it ends in `.json`.
    pub fn from_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            _ => Format::Toml,
        }
    }
}

/// A loaded plan and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedPlan {
    pub plan: Plan,
    /// The plan file that was read.
    pub path: PathBuf,
    /// Its text, as stored with the plan.
    pub source: String,
}

/// The plan file named by a `<PLAN>` argument: the file itself, or `plan.toml`/`plan.json` inside a
/// directory.
pub fn resolve_plan_path(arg: &Path) -> Result<PathBuf, PlanError> {
    let label = arg.display().to_string();
    if arg.is_dir() {
        for name in PLAN_FILE_NAMES {
            let candidate = arg.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        return Err(PlanError::single(
            &label,
            1,
            1,
            format!(
                "directory holds no plan file (looked for {})",
                PLAN_FILE_NAMES.join(", ")
            ),
        ));
    }
    if !arg.exists() {
        return Err(PlanError::single(&label, 1, 1, "no such file or directory"));
    }
    Ok(arg.to_path_buf())
}

/// Loads and validates the plan named by `arg` (a file or a directory holding one).
pub fn load(arg: &Path) -> Result<LoadedPlan, PlanError> {
    let path = resolve_plan_path(arg)?;
    let label = path.display().to_string();
    let file = fs::File::open(&path)
        .map_err(|e| PlanError::single(&label, 1, 1, format!("cannot read plan file: {e}")))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_PLAN_BYTES {
        return Err(too_large(&label, size));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_PLAN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| PlanError::single(&label, 1, 1, format!("cannot read plan file: {e}")))?;
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(too_large(&label, bytes.len() as u64));
    }
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let plan = parse(&label, &bytes, Format::from_path(&path), &base_dir)?;
    let source = String::from_utf8(bytes).expect("parse checked UTF-8");
    Ok(LoadedPlan { plan, path, source })
}

fn too_large(label: &str, size: u64) -> PlanError {
    PlanError::single(
        label,
        1,
        1,
        format!("plan file is {size} bytes, over the limit of {MAX_PLAN_BYTES} bytes"),
    )
}

/// Parses and validates plan text. `label` names the file in diagnostics; `base_dir` is the
/// directory `reference_dir` is relative to.
pub fn parse(
    label: &str,
    bytes: &[u8],
    format: Format,
    base_dir: &Path,
) -> Result<Plan, PlanError> {
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(too_large(label, bytes.len() as u64));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let (line, col) = line_col_bytes(bytes, e.valid_up_to());
            return Err(PlanError::single(
                label,
                line,
                col,
                format!(
                    "plan file is not valid UTF-8 (invalid byte 0x{:02x} at offset {})",
                    bytes[e.valid_up_to()],
                    e.valid_up_to()
                ),
            ));
        }
    };
    let text_no_bom = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bom = text.len() - text_no_bom.len();
    if text_no_bom.trim().is_empty() {
        return Err(PlanError::single(label, 1, 1, "plan file is empty"));
    }
    match format {
        Format::Toml => {
            let raw: RawPlan = toml::from_str(text_no_bom).map_err(|e| {
                let offset = e.span().map_or(0, |s| s.start) + bom;
                let (line, col) = line_col(text, offset);
                PlanError::single(label, line, col, tidy_message(e.message()))
            })?;
            let locator = TomlLocator::new(text_no_bom);
            checks::validate(raw, label, &Shifted(&locator, bom, text), base_dir)
        }
        Format::Json => {
            let raw: RawPlan = serde_json::from_str(text_no_bom).map_err(|e| {
                let message = e.to_string();
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(m, _)| m);
                PlanError::single(
                    label,
                    e.line() as u32,
                    e.column().max(1) as u32,
                    tidy_message(message),
                )
            })?;
            let locator = JsonLocator::new(text_no_bom);
            checks::validate(raw, label, &Shifted(&locator, bom, text), base_dir)
        }
    }
}

/// Serde's messages quote names in backticks; plans are for people who know single quotes.
fn tidy_message(message: &str) -> String {
    let message = message.trim().replace('`', "'");
    match message.strip_prefix("invalid type: ") {
        Some(rest) => format!("wrong type: {rest}"),
        None => message,
    }
}

/// Turns a locator's offset (in the BOM-less text) into a line and column of the file.
pub(crate) struct Shifted<'a>(&'a dyn Locator, usize, &'a str);

impl Shifted<'_> {
    pub fn line_col(&self, path: &crate::locate::FieldPath) -> (u32, u32) {
        line_col(self.2, self.0.locate(path) + self.1)
    }
}
