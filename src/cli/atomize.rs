//! `mge atomize`: cut files (or one task of a plan) into V2 atoms and show their sizes, scores
//! and context completeness, as a table or as JSON.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use mge_atomize::{atomize, build_context, rescore, AtomLocation, AtomizedFile, Config, PlanIndex};
use mge_core::Language;
use rayon::prelude::*;
use serde_json::{json, Value};

/// Arguments of `mge atomize`.
#[derive(Debug, Clone, clap::Args)]
pub struct AtomizeArgs {
    /// Files or directories to atomize (directories are walked; `node_modules`, `.git`,
    /// `target`, virtualenvs and installed packages are skipped).
    #[arg(required_unless_present = "plan", conflicts_with = "plan")]
    pub paths: Vec<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Preferred LOC per atom.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub target_loc: u32,
    /// Hard ceiling: larger definitions are split.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_loc: u32,
    /// Plan file or directory: atomize one task with cross-file context from the plan.
    #[arg(long, requires = "task")]
    pub plan: Option<PathBuf>,
    /// Key of the task to atomize (with `--plan`).
    #[arg(long, requires = "plan")]
    pub task: Option<String>,
}

/// Runs `mge atomize`: exit 0 when every file parsed, 1 when some had syntax errors, 2 on bad
/// arguments or unreadable files (returned as an error).
pub fn run(args: AtomizeArgs) -> anyhow::Result<ExitCode> {
    if args.max_loc < args.target_loc {
        bail!(
            "--max-loc ({}) must be at least --target-loc ({})",
            args.max_loc,
            args.target_loc
        );
    }
    let config = Config {
        target_loc: args.target_loc,
        max_loc: args.max_loc,
    };
    let started = Instant::now();
    let (files, shown, contexts) = match (&args.plan, &args.task) {
        (Some(plan), Some(task)) => atomize_task(plan, task, &config)?,
        _ => {
            let files = atomize_paths(&args.paths, &config)?;
            let n = files.len();
            (files, (0..n).collect(), Vec::new())
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let shown_files: Vec<&AtomizedFile> = shown.iter().map(|&i| &files[i]).collect();
    let summary = summarize(&shown_files, seconds);
    // Stdout is line-buffered; pretty JSON has many lines.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if args.json {
        // Streamed one file per line: the document is never held whole in memory (the
        // standard library's would take gigabytes as a JSON tree).
        writeln!(out, "{{\"files\": [")?;
        for (i, f) in shown_files.iter().enumerate() {
            if i > 0 {
                writeln!(out, ",")?;
            }
            serde_json::to_writer(&mut out, &file_json(f, &contexts))?;
        }
        write!(out, "\n],\n\"summary\": ")?;
        serde_json::to_writer(&mut out, &summary)?;
        writeln!(out, "}}")?;
    } else {
        print_table(&mut out, &shown_files, &summary)?;
    }
    out.flush()?;
    let errors = shown_files.iter().any(|f| f.has_errors());
    Ok(if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Directory names never walked into.
const SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    ".git",
    "target",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".mypy_cache",
    "site-packages",
    "dist-packages",
];

fn is_skipped_dir(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    SKIPPED_DIRS.contains(&name) || path.join("pyvenv.cfg").exists()
}

/// Source files under `paths`, sorted; explicit files must have a known extension.
fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, Language)>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("{}: cannot read", p.display()))?;
        if meta.is_file() {
            let lang = Language::from_path(&p.to_string_lossy()).ok_or_else(|| {
                anyhow!(
                    "{}: unsupported file type (expected .py, .ts, .tsx, .js, .jsx, .mjs, .cjs)",
                    p.display()
                )
            })?;
            out.push((p.clone(), lang));
            continue;
        }
        let mut stack = vec![p.clone()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir)
                .with_context(|| format!("{}: cannot read directory", dir.display()))?;
            for e in entries {
                let e = e.with_context(|| format!("{}: cannot read directory", dir.display()))?;
                let path = e.path();
                let ft = e.file_type()?;
                if ft.is_dir() {
                    if !is_skipped_dir(&path) {
                        stack.push(path);
                    }
                } else if ft.is_file() {
                    if let Some(lang) = Language::from_path(&path.to_string_lossy()) {
                        out.push((path, lang));
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

fn atomize_paths(paths: &[PathBuf], config: &Config) -> anyhow::Result<Vec<AtomizedFile>> {
    let files = collect(paths)?;
    let explicit: Vec<&PathBuf> = paths.iter().filter(|p| p.is_file()).collect();
    let bar = progress(files.len());
    // Largest files start first, one file per task: a big file picked up last would leave the
    // other threads idle (rayon otherwise hands out runs of neighbouring files).
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_cached_key(|&i| {
        std::cmp::Reverse(std::fs::metadata(&files[i].0).map_or(0, |m| m.len()))
    });
    let mut results: Vec<(usize, anyhow::Result<Option<AtomizedFile>>)> = order
        .par_iter()
        .with_max_len(1)
        .map(|&i| {
            let (path, lang) = &files[i];
            let f = read_and_atomize(path, *lang, explicit.contains(&path), config);
            if let Some(b) = &bar {
                b.inc(1);
            }
            (i, f)
        })
        .collect();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // Back to path order.
    results.sort_unstable_by_key(|(i, _)| *i);
    let mut out = Vec::with_capacity(results.len());
    for (_, r) in results {
        if let Some(f) = r? {
            out.push(f);
        }
    }
    // Cross-file completeness among the files given.
    rescore(&mut out, false);
    Ok(out)
}

/// Reads and atomizes one file; a file that is not UTF-8 is an error when it was named
/// explicitly, else skipped with a warning (`None`).
fn read_and_atomize(
    path: &Path,
    lang: Language,
    explicit: bool,
    config: &Config,
) -> anyhow::Result<Option<AtomizedFile>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            if explicit {
                bail!(
                    "{}: not UTF-8 (invalid byte at offset {at})",
                    path.display()
                );
            }
            eprintln!(
                "warning: {}: skipped, not UTF-8 (invalid byte at offset {at})",
                path.display()
            );
            return Ok(None);
        }
    };
    Ok(Some(atomize(&display_path(path), &text, lang, config)))
}

fn progress(len: usize) -> Option<indicatif::ProgressBar> {
    if len < 50 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

type TaskRun = (Vec<AtomizedFile>, Vec<usize>, Vec<(String, Value)>);

/// Every task of the plan is atomized (reference file, else skeleton), with the reference's
/// support files, for cross-file context; the chosen task's file is shown, with each atom's
/// context.
fn atomize_task(plan_arg: &Path, key: &str, config: &Config) -> anyhow::Result<TaskRun> {
    let loaded = mge_plan::load(plan_arg).map_err(|e| anyhow!("{e}"))?;
    let plan = &loaded.plan;
    let task = plan
        .task(key)
        .ok_or_else(|| anyhow!("{}: no task with key '{key}'", loaded.path.display()))?;
    let base = loaded
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    // The loader resolves `reference_dir` against the plan's directory; accept a raw one too.
    let reference = plan.reference_dir.as_ref().map(|d| {
        if d.is_absolute() || d.is_dir() {
            d.clone()
        } else {
            base.join(d)
        }
    });
    let mut sources = Vec::new();
    for t in plan.tasks() {
        let from_ref = reference
            .as_ref()
            .map(|r| r.join(&t.target))
            .filter(|p| p.is_file());
        let text = match (&from_ref, &t.skeleton) {
            (Some(p), _) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("{}: cannot read", p.display()))?,
            ),
            (None, Some(s)) => Some(s.clone()),
            (None, None) => None,
        };
        match text {
            Some(text) => sources.push((t.target.clone(), t.language, text)),
            None if t.key == key => {
                bail!("task '{key}' has neither a reference file nor a skeleton to atomize")
            }
            None => {}
        }
    }
    // Support files of the reference (package `__init__.py`, index files) are part of every
    // generated project: they take part in resolution too.
    if let Some(root) = reference.as_ref().filter(|r| r.is_dir()) {
        for (path, lang) in collect(std::slice::from_ref(root))? {
            let rel = display_path(path.strip_prefix(root).unwrap_or(&path));
            if sources.iter().any(|(p, _, _)| *p == rel) {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&path) {
                sources.push((rel, lang, text));
            }
        }
    }
    let mut files: Vec<AtomizedFile> = sources
        .par_iter()
        .map(|(path, lang, text)| atomize(path, text, *lang, config))
        .collect();
    rescore(&mut files, true);
    let shown = files
        .iter()
        .position(|f| f.path == task.target)
        .ok_or_else(|| anyhow!("task '{key}' target '{}' was not atomized", task.target))?;
    let index = PlanIndex::new(&files);
    let contexts = (0..files[shown].atoms.len())
        .map(|atom| {
            let ctx = build_context(
                &index,
                AtomLocation { file: shown, atom },
                Some(&task.description),
            );
            (
                files[shown].atoms[atom].id.clone(),
                serde_json::to_value(ctx).unwrap_or(Value::Null),
            )
        })
        .collect();
    Ok((files, vec![shown], contexts))
}

fn file_json(f: &AtomizedFile, contexts: &[(String, Value)]) -> Value {
    let atoms: Vec<Value> = f
        .atoms
        .iter()
        .map(|a| {
            let mut v = json!({
                "id": a.id,
                "kind": a.kind,
                "name": a.name,
                "qualified_name": a.qualified_name,
                "parent": a.parent,
                "start_byte": a.start_byte,
                "end_byte": a.end_byte,
                "start_line": a.start_line,
                "end_line": a.end_line,
                "loc": a.loc,
                "complexity": a.complexity,
                "signature": a.signature,
                "modifiers": a.modifiers,
                "atomicity": a.atomicity,
                "context_completeness": a.context_completeness,
                "defines": a.defines,
                "references": a.references,
            });
            if let Some((_, ctx)) = contexts.iter().find(|(id, _)| *id == a.id) {
                v["context"] = ctx.clone();
            }
            v
        })
        .collect();
    json!({
        "path": f.path,
        "language": f.language,
        "bytes": f.bytes,
        "atoms": atoms,
        "imports": f.imports,
        "diagnostics": f.diagnostics,
    })
}

fn summarize(files: &[&AtomizedFile], seconds: f64) -> Value {
    let mut locs: Vec<u32> = files
        .iter()
        .flat_map(|f| f.atoms.iter().map(|a| a.loc))
        .collect();
    locs.sort_unstable();
    let n = locs.len();
    let mean = |sum: f64| if n == 0 { 0.0 } else { sum / n as f64 };
    let p95 = if n == 0 {
        0
    } else {
        locs[((n as f64 * 0.95).ceil() as usize).clamp(1, n) - 1]
    };
    let atoms = files.iter().flat_map(|f| f.atoms.iter());
    let passed = atoms.clone().filter(|a| a.atomicity.passed).count();
    let completeness: f64 = atoms.map(|a| a.context_completeness).sum();
    json!({
        "files": files.len(),
        "atoms": n,
        "mean_loc": round(mean(locs.iter().map(|&l| l as f64).sum())),
        "p95_loc": p95,
        "max_loc": locs.last().copied().unwrap_or(0),
        "atomicity_pass_rate": round(mean(passed as f64)),
        "mean_context_completeness": round(mean(completeness)),
        "seconds": round(seconds),
    })
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn print_table(
    out: &mut impl Write,
    files: &[&AtomizedFile],
    summary: &Value,
) -> anyhow::Result<()> {
    for f in files {
        writeln!(
            out,
            "{} ({}, {} bytes, {} atoms)",
            f.path,
            f.language,
            f.bytes,
            f.atoms.len()
        )?;
        writeln!(
            out,
            "  {:>11}  {:<16} {:<40} {:>4} {:>3} {:>5} {:>5}",
            "lines", "kind", "name", "loc", "cc", "atom", "ctx"
        )?;
        for a in &f.atoms {
            let mut name = a.qualified_name.clone();
            if name.chars().count() > 40 {
                name = name.chars().take(39).collect::<String>() + "…";
            }
            writeln!(
                out,
                "  {:>11}  {:<16} {:<40} {:>4} {:>3} {:>5.1} {:>5.2}{}",
                format!("{}-{}", a.start_line, a.end_line),
                a.kind.as_str(),
                name,
                a.loc,
                a.complexity,
                a.atomicity.score,
                a.context_completeness,
                if a.atomicity.passed {
                    ""
                } else {
                    "  (not atomic)"
                }
            )?;
        }
        for d in &f.diagnostics {
            writeln!(
                out,
                "  {}:{}:{}: {:?}: {}",
                f.path, d.line, d.column, d.severity, d.message
            )?;
        }
    }
    writeln!(
        out,
        "{} files, {} atoms, mean {} LOC, p95 {} LOC, max {} LOC, atomicity pass rate {}, mean context completeness {}, {} s",
        summary["files"],
        summary["atoms"],
        summary["mean_loc"],
        summary["p95_loc"],
        summary["max_loc"],
        summary["atomicity_pass_rate"],
        summary["mean_context_completeness"],
        summary["seconds"]
    )?;
    Ok(())
}
