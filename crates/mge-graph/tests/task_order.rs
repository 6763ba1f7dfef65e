//! Task-level order for the MVP strategy.

use expect_test::{expect, Expect};
use mge_graph::task_order;

/// Orders `key:dep,dep` entries and prints the order or the error.
fn check(tasks: &[&str], expect: Expect) {
    let parsed: Vec<(&str, Vec<&str>)> = tasks
        .iter()
        .map(|t| match t.split_once(':') {
            Some((key, deps)) => (key, deps.split(',').filter(|d| !d.is_empty()).collect()),
            None => (*t, Vec::new()),
        })
        .collect();
    let actual = match task_order(parsed.iter().map(|(k, d)| (*k, d.iter().copied()))) {
        Ok(order) => order.join(" "),
        Err(error) => format!("error: {error}"),
    };
    expect.assert_eq(&actual);
}

#[test]
fn a_plan_in_dependency_order_comes_back_unchanged() {
    check(
        &[
            "constants",
            "models:constants",
            "store:models",
            "api:store,models",
        ],
        expect!["constants models store api"],
    );
}

#[test]
fn dependencies_listed_later_move_ahead() {
    check(
        &["api:store", "store:models", "models"],
        expect!["models store api"],
    );
}

#[test]
fn ready_tasks_keep_plan_order() {
    check(&["d:a", "c", "b:c", "a", "e:b,d"], expect!["c b a d e"]);
}

#[test]
fn repeated_dependencies_count_once() {
    check(&["b:a,a", "a"], expect!["a b"]);
}

#[test]
fn cycles_are_named_from_their_earliest_task() {
    check(
        &["setup", "c:b", "a:c,setup", "b:a", "d:a"],
        expect!["error: dependency cycle: c -> b -> a -> c"],
    );
    check(&["x", "y:y"], expect!["error: dependency cycle: y -> y"]);
}

#[test]
fn cycle_reached_through_a_waiting_task_names_only_the_cycle() {
    check(
        &["top:p", "p:q", "q:r", "r:q"],
        expect!["error: dependency cycle: q -> r -> q"],
    );
}

#[test]
fn unknown_and_duplicate_tasks_are_errors() {
    check(
        &["models", "api:modles"],
        expect!["error: task 'api' depends on unknown task 'modles'"],
    );
    check(
        &["models", "api", "models"],
        expect!["error: duplicate task key 'models' at tasks[2] (first defined at tasks[0])"],
    );
    check(&[], expect![""]);
}
