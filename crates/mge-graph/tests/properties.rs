//! Property tests over random graphs: waves, units and order obey the crate's invariants.

use std::collections::HashSet;

use mge_core::EdgeKind;
use mge_graph::{build, DependencyGraph, EdgeSpec, GraphInput, NodeSpec};
use proptest::prelude::*;

fn input(nodes: usize, tokens: &[u64], edges: &[(usize, usize, usize)]) -> GraphInput {
    GraphInput {
        nodes: (0..nodes)
            .map(|i| NodeSpec {
                id: format!("a{i}"),
                file: format!("pkg{}/m{}.py", i % 3, i % 5),
                component: format!("pkg{}", i % 3),
                name: format!("f{i}"),
                kind: "function".into(),
                est_tokens: tokens[i],
            })
            .collect(),
        edges: edges
            .iter()
            .map(|&(from, to, kind)| EdgeSpec {
                from: from as u32,
                to: to as u32,
                kind: EdgeKind::ALL[kind],
                symbol: format!("f{from}"),
            })
            .collect(),
    }
}

fn graphs() -> impl Strategy<Value = (usize, Vec<u64>, Vec<(usize, usize, usize)>)> {
    (1usize..40).prop_flat_map(|n| {
        (
            Just(n),
            proptest::collection::vec(0u64..200, n),
            proptest::collection::vec((0..n, 0..n, 0..EdgeKind::ALL.len()), 0..(n * 3)),
        )
    })
}

/// reach[a][b]: b can be reached from a by one or more edges.
fn closure(n: usize, edges: &[(usize, usize, usize)]) -> Vec<Vec<bool>> {
    let mut reach = vec![vec![false; n]; n];
    for &(a, b, _) in edges {
        reach[a][b] = true;
    }
    for k in 0..n {
        let through = reach[k].clone();
        for row in reach.iter_mut() {
            if row[k] {
                for (cell, &next) in row.iter_mut().zip(&through) {
                    *cell |= next;
                }
            }
        }
    }
    reach
}

fn check(graph: &DependencyGraph, n: usize, edges: &[(usize, usize, usize)]) {
    let unit_of = |p: usize| graph.atom(p as u32).unit as usize;
    let wave_of = |p: usize| graph.atom(p as u32).wave;

    // Every atom in exactly one wave and one unit, agreeing with the atom's own fields.
    let mut in_wave = vec![0; n];
    for (w, wave) in graph.waves().iter().enumerate() {
        assert!(!wave.atoms.is_empty(), "wave {w} is empty");
        for &a in &wave.atoms {
            in_wave[a as usize] += 1;
            assert_eq!(wave_of(a as usize) as usize, w);
        }
        for &u in &wave.units {
            assert_eq!(graph.units()[u as usize].wave as usize, w);
        }
    }
    assert!(in_wave.iter().all(|&c| c == 1), "{in_wave:?}");
    let mut in_unit = vec![0; n];
    for (u, unit) in graph.units().iter().enumerate() {
        for &m in &unit.members {
            in_unit[m as usize] += 1;
            assert_eq!(unit_of(m as usize), u);
            assert_eq!(
                wave_of(m as usize),
                unit.wave,
                "members of a unit share a wave"
            );
        }
    }
    assert!(in_unit.iter().all(|&c| c == 1));

    // Units are exactly the strongly connected components.
    let reach = closure(n, edges);
    for (a, row) in reach.iter().enumerate() {
        for (b, &forward) in row.iter().enumerate() {
            let same = a == b || (forward && reach[b][a]);
            assert_eq!(unit_of(a) == unit_of(b), same, "atoms {a} and {b}");
        }
    }
    for (u, unit) in graph.units().iter().enumerate() {
        let has_cycle =
            unit.members.len() > 1 || reach[unit.members[0] as usize][unit.members[0] as usize];
        assert_eq!(unit.cyclic, has_cycle, "unit {u}");
    }

    // The wave invariant, and unit numbers form a topological order of the condensation.
    for &(a, b, _) in edges {
        if unit_of(a) == unit_of(b) {
            assert_eq!(wave_of(a), wave_of(b));
        } else {
            assert!(
                wave_of(a) < wave_of(b),
                "edge {a}->{b} waves {} {}",
                wave_of(a),
                wave_of(b)
            );
            assert!(
                unit_of(a) < unit_of(b),
                "edge {a}->{b} breaks the unit order"
            );
        }
    }
    let order = graph.order();
    assert_eq!(order.len(), n);
    let mut position = vec![0; n];
    for (i, &a) in order.iter().enumerate() {
        position[a as usize] = i;
    }
    for &(a, b, _) in edges {
        if unit_of(a) != unit_of(b) {
            assert!(position[a] < position[b]);
        }
    }

    // Waves are longest-path levels: a unit sits one wave after its latest provider unit.
    let unit_edges = graph.unit_edges();
    for (u, unit) in graph.units().iter().enumerate() {
        let expected = unit_edges
            .iter()
            .filter(|(_, to)| *to as usize == u)
            .map(|(from, _)| graph.units()[*from as usize].wave + 1)
            .max()
            .unwrap_or(0);
        assert_eq!(unit.wave, expected, "unit {u}");
    }

    // No reference is dropped: each is part of exactly one merged edge, with its kind.
    let merged: usize = graph
        .dependencies()
        .map(|(_, _, d)| d.references as usize)
        .sum();
    assert_eq!(merged, edges.len());
    let pairs: HashSet<(usize, usize)> = edges.iter().map(|&(a, b, _)| (a, b)).collect();
    assert_eq!(graph.edge_count(), pairs.len());
    for &(a, b, k) in edges {
        let dep = graph
            .dependencies()
            .find(|(f, t, _)| *f as usize == a && *t as usize == b)
            .map(|(_, _, d)| d)
            .expect("every reference has its edge");
        assert!(dep.kinds.contains(EdgeKind::ALL[k]));
    }

    // The critical path is a chain of the condensation no shorter than the number of waves.
    let path = graph.critical_path();
    for pair in path.windows(2) {
        assert!(
            unit_edges.binary_search(&(pair[0], pair[1])).is_ok(),
            "{pair:?} is not an edge"
        );
    }
    let stats = graph.stats();
    assert_eq!(stats.atoms, n);
    assert_eq!(stats.waves, graph.waves().len());
    assert!(stats.critical_path_atoms >= stats.waves as u64);
    let path_tokens: u64 = path
        .iter()
        .map(|&u| graph.units()[u as usize].est_tokens)
        .sum();
    assert_eq!(path_tokens, stats.critical_path_tokens);
    let path_atoms: usize = path
        .iter()
        .map(|&u| graph.units()[u as usize].members.len())
        .sum();
    assert!(path_atoms as u64 <= stats.critical_path_atoms);
    assert!(graph
        .units()
        .iter()
        .all(|u| u.est_tokens <= stats.critical_path_tokens));
    assert_eq!(
        stats.widest_wave,
        graph.waves().iter().map(|w| w.atoms.len()).max().unwrap()
    );
    assert_eq!(
        stats.cyclic_components,
        graph.units().iter().filter(|u| u.cyclic).count()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_graphs_obey_the_invariants((n, tokens, edges) in graphs()) {
        let graph = build(input(n, &tokens, &edges)).unwrap();
        check(&graph, n, &edges);
    }

    #[test]
    fn output_does_not_depend_on_reference_order((n, tokens, edges) in graphs()) {
        let forward = build(input(n, &tokens, &edges)).unwrap();
        let mut reversed_edges = edges.clone();
        reversed_edges.reverse();
        let reversed = build(input(n, &tokens, &reversed_edges)).unwrap();
        prop_assert_eq!(mge_graph::to_json(&forward), mge_graph::to_json(&reversed));
        prop_assert_eq!(mge_graph::to_dot(&forward), mge_graph::to_dot(&reversed));
        prop_assert_eq!(forward.critical_path(), reversed.critical_path());
    }
}

#[test]
fn a_long_chain_does_not_exhaust_the_stack() {
    let n = 200_000;
    let edges: Vec<(usize, usize, usize)> = (1..n).map(|i| (i - 1, i, 0)).collect();
    let graph = build(input(n, &vec![1; n], &edges)).unwrap();
    assert_eq!(graph.waves().len(), n);
    assert_eq!(graph.stats().critical_path_atoms, n as u64);
    let ring: Vec<(usize, usize, usize)> = (0..n).map(|i| (i, (i + 1) % n, 3)).collect();
    let graph = build(input(n, &vec![1; n], &ring)).unwrap();
    assert_eq!(graph.units().len(), 1);
    assert_eq!(graph.waves().len(), 1);
}
