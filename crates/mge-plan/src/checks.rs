//! Semantic checks on a syntactically valid plan: every problem found is reported, each with its
//! place, before anything uses the plan.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path};

use mge_core::Language;

use crate::diagnostic::{Diagnostic, PlanError};
use crate::load::Shifted;
use crate::locate::FieldPath;
use crate::raw::{RawPlan, RawTask};
use crate::{Milestone, Phase, Plan, Subtask, Task};

struct Report<'a> {
    label: &'a str,
    locator: &'a Shifted<'a>,
    diagnostics: Vec<Diagnostic>,
}

impl Report<'_> {
    fn error(&mut self, path: &FieldPath, message: impl Into<String>) {
        let (line, col) = self.locator.line_col(path);
        self.diagnostics.push(Diagnostic {
            file: self.label.to_string(),
            line,
            col,
            field: path.to_string(),
            message: message.into(),
        });
    }

    /// `line:col` of a field, for messages that point at a second place in the same file.
    fn place(&self, path: &FieldPath) -> String {
        let (line, col) = self.locator.line_col(path);
        format!("{line}:{col}")
    }
}

pub(crate) fn validate(
    raw: RawPlan,
    label: &str,
    locator: &Shifted<'_>,
    base_dir: &Path,
) -> Result<Plan, PlanError> {
    let mut report = Report {
        label,
        locator,
        diagnostics: Vec::new(),
    };
    let root = FieldPath::default();
    if raw.name.trim().is_empty() {
        report.error(&root.key("name"), "plan name is empty");
    } else if raw.name.chars().count() > 200 {
        report.error(&root.key("name"), "plan name is longer than 200 characters");
    }
    if let Some(cmd) = &raw.test_command {
        if cmd.trim().is_empty() {
            report.error(&root.key("test_command"), "test_command is empty");
        }
    }
    let reference_dir = raw.reference_dir.as_ref().map(|dir| base_dir.join(dir));
    if let (Some(dir), Some(raw_dir)) = (&reference_dir, &raw.reference_dir) {
        if !dir.is_dir() {
            report.error(
                &root.key("reference_dir"),
                format!("reference_dir '{raw_dir}' is not a directory"),
            );
        }
    }

    // Tasks with their field paths, in file order.
    let mut tasks: Vec<(FieldPath, &RawTask)> = Vec::new();
    for (pi, phase) in raw.phases.iter().enumerate() {
        let pp = root.key("phases").index(pi);
        if phase.milestones.is_empty() {
            report.error(&pp, format!("phase '{}' has no milestones", phase.name));
        }
        for (mi, milestone) in phase.milestones.iter().enumerate() {
            let mp = pp.key("milestones").index(mi);
            if milestone.tasks.is_empty() {
                report.error(&mp, format!("milestone '{}' has no tasks", milestone.name));
            }
            for (ti, task) in milestone.tasks.iter().enumerate() {
                tasks.push((mp.key("tasks").index(ti), task));
            }
        }
    }
    if raw.phases.is_empty() {
        report.error(&root.key("phases"), "plan has no phases");
    }

    let mut first_key: HashMap<&str, &FieldPath> = HashMap::new();
    let mut first_target: HashMap<String, &FieldPath> = HashMap::new();
    for (path, task) in &tasks {
        check_task(&mut report, path, task, reference_dir.as_deref());
        if let Some(prev) = first_key.get(task.key.as_str()) {
            let first = report.place(&prev.key("key"));
            report.error(
                &path.key("key"),
                format!(
                    "duplicate task key '{}' (first defined at {first})",
                    task.key
                ),
            );
        } else {
            first_key.insert(&task.key, path);
        }
        let target = normalize_target(&task.target);
        if let Some(prev) = first_target.get(&target) {
            let first = report.place(&prev.key("target"));
            report.error(
                &path.key("target"),
                format!(
                    "target '{}' is already produced by another task (at {first})",
                    task.target
                ),
            );
        } else {
            first_target.insert(target, path);
        }
    }
    for (path, task) in &tasks {
        let mut seen = Vec::new();
        for (di, dep) in task.depends_on.iter().enumerate() {
            let dp = path.key("depends_on").index(di);
            if !first_key.contains_key(dep.as_str()) {
                report.error(
                    &dp,
                    format!("task '{}' depends on unknown task '{dep}'", task.key),
                );
            } else if seen.contains(&dep) {
                report.error(&dp, format!("task '{}' lists '{dep}' twice", task.key));
            }
            seen.push(dep);
        }
    }
    for cycle in find_cycles(&tasks) {
        let (path, _) = tasks
            .iter()
            .find(|(_, t)| t.key == cycle[0])
            .expect("cycle members are tasks");
        report.error(
            &path.key("depends_on"),
            format!("dependency cycle: {}", cycle.join(" -> ")),
        );
    }

    if !report.diagnostics.is_empty() {
        report.diagnostics.sort_by_key(|d| (d.line, d.col));
        return Err(PlanError {
            diagnostics: report.diagnostics,
        });
    }
    Ok(build(raw, reference_dir))
}

fn check_task(report: &mut Report<'_>, path: &FieldPath, task: &RawTask, reference: Option<&Path>) {
    if task.key.is_empty()
        || !task
            .key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        report.error(
            &path.key("key"),
            format!(
                "task key '{}' must be non-empty and use only letters, digits, '_', '-' and '.'",
                task.key
            ),
        );
    }
    if task.name.trim().is_empty() {
        report.error(
            &path.key("name"),
            format!("task '{}' has an empty name", task.key),
        );
    }
    let language = match task.language.parse::<Language>() {
        Ok(language) => Some(language),
        Err(e) => {
            report.error(&path.key("language"), e.to_string());
            None
        }
    };
    let target_ok = check_target(report, &path.key("target"), &task.target);
    if let (Some(language), true) = (language, target_ok) {
        if Language::from_path(&task.target) != Some(language) {
            report.error(
                &path.key("target"),
                format!(
                    "target '{}' does not have a {language} file extension",
                    task.target
                ),
            );
        }
    }
    let reference_file = match reference {
        Some(dir) if target_ok && dir.is_dir() => {
            let file = dir.join(&task.target);
            match std::fs::read(&file) {
                Ok(bytes) => Some(bytes),
                Err(_) => {
                    report.error(
                        &path.key("target"),
                        format!(
                            "target '{}' does not exist in the reference solution ({})",
                            task.target,
                            file.display()
                        ),
                    );
                    None
                }
            }
        }
        _ => None,
    };
    check_subtasks(report, path, task, reference_file.as_deref());
}

/// A target must be a relative path that stays inside the project.
fn check_target(report: &mut Report<'_>, path: &FieldPath, target: &str) -> bool {
    let problem = if target.trim().is_empty() {
        Some("target is empty".to_string())
    } else if target.starts_with('/')
        || target.starts_with('\\')
        || Path::new(target).is_absolute()
        || target.chars().nth(1) == Some(':')
    {
        Some(format!(
            "target '{target}' is absolute; it must be relative to the project"
        ))
    } else if target.split(['/', '\\']).any(|part| part == "..")
        || Path::new(target)
            .components()
            .any(|c| matches!(c, Component::ParentDir))
    {
        Some(format!("target '{target}' escapes the project ('..')"))
    } else if target.ends_with('/') {
        Some(format!("target '{target}' names a directory, not a file"))
    } else {
        None
    };
    match problem {
        Some(message) => {
            report.error(path, message);
            false
        }
        None => true,
    }
}

fn normalize_target(target: &str) -> String {
    target
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn check_subtasks(
    report: &mut Report<'_>,
    path: &FieldPath,
    task: &RawTask,
    reference: Option<&[u8]>,
) {
    let with_lines = task.subtasks.iter().filter(|s| s.lines.is_some()).count();
    if with_lines != 0 && with_lines != task.subtasks.len() {
        report.error(
            &path.key("subtasks"),
            format!(
                "task '{}': either every subtask gives `lines` or none does",
                task.key
            ),
        );
        return;
    }
    let total_lines = reference.map(count_lines);
    let mut previous_end = 0u32;
    for (si, subtask) in task.subtasks.iter().enumerate() {
        let sp = path.key("subtasks").index(si);
        if subtask.name.trim().is_empty() {
            report.error(&sp.key("name"), "subtask name is empty");
        }
        let Some((start, end)) = subtask.lines else {
            continue;
        };
        let lp = sp.key("lines");
        if start == 0 || start > end {
            report.error(
                &lp,
                format!("subtask lines [{start}, {end}] are not a 1-based range with start <= end"),
            );
            return;
        }
        if start <= previous_end {
            report.error(
                &lp,
                format!("subtask lines [{start}, {end}] overlap or precede the previous subtask (ends at {previous_end})"),
            );
            return;
        }
        if total_lines.is_some() && start != previous_end + 1 {
            report.error(
                &lp,
                format!(
                    "subtask lines [{start}, {end}] leave lines {}-{} of '{}' to no subtask",
                    previous_end + 1,
                    start - 1,
                    task.target
                ),
            );
            return;
        }
        if let Some(total) = total_lines {
            if end > total {
                report.error(
                    &lp,
                    format!(
                        "subtask lines [{start}, {end}] go past the end of '{}' ({total} lines)",
                        task.target
                    ),
                );
                return;
            }
        }
        previous_end = end;
    }
    if let (Some(total), true) = (total_lines, with_lines > 0) {
        if previous_end != total {
            report.error(
                &path.key("subtasks"),
                format!(
                    "subtasks of '{}' end at line {previous_end} but '{}' has {total} lines",
                    task.key, task.target
                ),
            );
        }
    }
}

/// Number of lines of a file: a final line without a newline still counts.
pub(crate) fn count_lines(bytes: &[u8]) -> u32 {
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
    let unterminated = usize::from(!bytes.is_empty() && !bytes.ends_with(b"\n"));
    (newlines + unterminated) as u32
}

/// Every elementary dependency cycle found by a depth-first walk in file order, each once, each
/// written from its first member in file order and back to it.
fn find_cycles(tasks: &[(FieldPath, &RawTask)]) -> Vec<Vec<String>> {
    let index: BTreeMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (t.key.as_str(), i))
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut mark = vec![Mark::New; tasks.len()];
    let mut cycles: Vec<Vec<String>> = Vec::new();
    for startv in 0..tasks.len() {
        if mark[startv] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next dependency index).
        let mut stack: Vec<(usize, usize)> = vec![(startv, 0)];
        mark[startv] = Mark::Active;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let deps = &tasks[node].1.depends_on;
            if *next < deps.len() {
                let dep = &deps[*next];
                *next += 1;
                let Some(&d) = index.get(dep.as_str()) else {
                    continue;
                };
                match mark[d] {
                    Mark::New => {
                        mark[d] = Mark::Active;
                        stack.push((d, 0));
                    }
                    Mark::Active => {
                        let from = stack.iter().position(|&(n, _)| n == d).expect("active");
                        let mut members: Vec<usize> =
                            stack[from..].iter().map(|&(n, _)| n).collect();
                        let first = members
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, &n)| n)
                            .map(|(i, _)| i)
                            .unwrap_or(0);
                        members.rotate_left(first);
                        let mut names: Vec<String> =
                            members.iter().map(|&n| tasks[n].1.key.clone()).collect();
                        names.push(names[0].clone());
                        if !cycles.contains(&names) {
                            cycles.push(names);
                        }
                    }
                    Mark::Done => {}
                }
            } else {
                mark[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    cycles
}

fn build(raw: RawPlan, reference_dir: Option<std::path::PathBuf>) -> Plan {
    Plan {
        name: raw.name,
        description: raw.description,
        reference_dir,
        test_command: raw.test_command,
        phases: raw
            .phases
            .into_iter()
            .map(|p| Phase {
                name: p.name,
                description: p.description,
                milestones: p
                    .milestones
                    .into_iter()
                    .map(|m| Milestone {
                        name: m.name,
                        description: m.description,
                        tasks: m
                            .tasks
                            .into_iter()
                            .map(|t| Task {
                                language: t.language.parse().expect("checked"),
                                target: normalize_target(&t.target),
                                key: t.key,
                                name: t.name,
                                description: t.description,
                                depends_on: t.depends_on,
                                skeleton: t.skeleton,
                                subtasks: t
                                    .subtasks
                                    .into_iter()
                                    .map(|s| Subtask {
                                        name: s.name,
                                        description: s.description,
                                        lines: s.lines,
                                    })
                                    .collect(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}
