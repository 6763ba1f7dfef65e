//! Task-level order for the MVP strategy: tasks after the tasks they depend on, ties broken by
//! plan order, and a cycle named in full when there is one.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap};

/// Why tasks cannot be ordered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskOrderError {
    #[error("duplicate task key '{key}' at tasks[{second}] (first defined at tasks[{first}])")]
    DuplicateTask {
        key: String,
        first: usize,
        second: usize,
    },
    #[error("task '{task}' depends on unknown task '{dependency}'")]
    UnknownDependency { task: String, dependency: String },
    /// `cycle` lists each task followed by one it depends on; the first task is repeated at the
    /// end (`a -> b -> a`: a depends on b, b depends on a).
    #[error("dependency cycle: {}", cycle.join(" -> "))]
    Cycle { cycle: Vec<String> },
}

/// Orders tasks given as `(key, depends_on)` in plan order so that every task comes after the
/// tasks it depends on. Among the tasks that are ready, the earliest in plan order goes first, so
/// a plan that is already in dependency order comes back unchanged.
pub fn task_order<'a, I, D>(tasks: I) -> Result<Vec<&'a str>, TaskOrderError>
where
    I: IntoIterator<Item = (&'a str, D)>,
    D: IntoIterator<Item = &'a str>,
{
    let tasks: Vec<(&'a str, Vec<&'a str>)> = tasks
        .into_iter()
        .map(|(key, deps)| (key, deps.into_iter().collect()))
        .collect();
    let mut position: HashMap<&str, usize> = HashMap::with_capacity(tasks.len());
    for (i, (key, _)) in tasks.iter().enumerate() {
        match position.entry(key) {
            Entry::Occupied(e) => {
                return Err(TaskOrderError::DuplicateTask {
                    key: key.to_string(),
                    first: *e.get(),
                    second: i,
                })
            }
            Entry::Vacant(e) => {
                e.insert(i);
            }
        }
    }

    // dependencies[i]: positions task i depends on (distinct, in listed order).
    let mut dependencies: Vec<Vec<usize>> = Vec::with_capacity(tasks.len());
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    for (i, (key, deps)) in tasks.iter().enumerate() {
        let mut mine: Vec<usize> = Vec::with_capacity(deps.len());
        for dep in deps {
            let d = *position
                .get(dep)
                .ok_or_else(|| TaskOrderError::UnknownDependency {
                    task: key.to_string(),
                    dependency: dep.to_string(),
                })?;
            if !mine.contains(&d) {
                mine.push(d);
                dependents[d].push(i);
            }
        }
        dependencies.push(mine);
    }

    let mut waiting: Vec<usize> = dependencies.iter().map(Vec::len).collect();
    let mut ready: BinaryHeap<Reverse<usize>> = waiting
        .iter()
        .enumerate()
        .filter(|(_, w)| **w == 0)
        .map(|(i, _)| Reverse(i))
        .collect();
    let mut order = Vec::with_capacity(tasks.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(tasks[i].0);
        for &d in &dependents[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.push(Reverse(d));
            }
        }
    }
    if order.len() == tasks.len() {
        return Ok(order);
    }

    // Every task still waiting depends on another waiting task: walking first waiting
    // dependencies from the earliest waiting task must come back to a task already seen.
    let start = (0..tasks.len())
        .find(|&i| waiting[i] > 0)
        .expect("an unordered task is still waiting");
    let mut seen_at: HashMap<usize, usize> = HashMap::new();
    let mut walk = Vec::new();
    let mut current = start;
    while let Entry::Vacant(e) = seen_at.entry(current) {
        e.insert(walk.len());
        walk.push(current);
        current = *dependencies[current]
            .iter()
            .find(|&&d| waiting[d] > 0)
            .expect("a waiting task has a waiting dependency");
    }
    let mut cycle: Vec<usize> = walk[seen_at[&current]..].to_vec();
    let earliest = (0..cycle.len())
        .min_by_key(|&k| cycle[k])
        .expect("a cycle has members");
    cycle.rotate_left(earliest);
    cycle.push(cycle[0]);
    Err(TaskOrderError::Cycle {
        cycle: cycle.into_iter().map(|i| tasks[i].0.to_string()).collect(),
    })
}

/// [`task_order`] over the tasks of a plan, in plan order.
pub fn plan_task_order(plan: &mge_plan::Plan) -> Result<Vec<&str>, TaskOrderError> {
    task_order(
        plan.tasks()
            .map(|t| (t.key.as_str(), t.depends_on.iter().map(String::as_str))),
    )
}
