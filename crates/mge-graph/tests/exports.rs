//! Snapshots of a small graph in every export format, plus input errors.

use expect_test::{expect, Expect};
use mge_core::EdgeKind;
use mge_graph::{build, directory_component, EdgeSpec, GraphInput, IdReference, NodeSpec};

fn node(file: &str, name: &str, kind: &str, est_tokens: u64) -> NodeSpec {
    NodeSpec {
        id: format!("{file}::{name}"),
        file: file.to_string(),
        component: directory_component(file),
        name: name.to_string(),
        kind: kind.to_string(),
        est_tokens,
    }
}

fn edge(from: &str, to: &str, kind: EdgeKind, symbol: &str) -> IdReference {
    IdReference {
        from: from.to_string(),
        to: to.to_string(),
        kind,
        symbol: symbol.to_string(),
    }
}

/// A constant, a class with a method, two mutually recursive functions and an entry point.
fn shop() -> GraphInput {
    let c = "shop/config.py::TAX_RATE";
    let item = "shop/models.py::Item";
    let total = "shop/models.py::Item.total";
    let even = "shop/models.py::is_even";
    let odd = "shop/models.py::is_odd";
    let main = "main.py::main";
    let nodes = vec![
        node("shop/config.py", "TAX_RATE", "constant", 8),
        node("shop/models.py", "Item", "class", 40),
        node("shop/models.py", "Item.total", "method", 60),
        node("shop/models.py", "is_even", "function", 30),
        node("shop/models.py", "is_odd", "function", 30),
        node("main.py", "main", "function", 50),
    ];
    let references = vec![
        edge(c, total, EdgeKind::Data, "TAX_RATE"),
        edge(c, total, EdgeKind::Import, "TAX_RATE"),
        edge(item, total, EdgeKind::Contains, ""),
        edge(even, odd, EdgeKind::Control, "is_even"),
        edge(odd, even, EdgeKind::Control, "is_odd"),
        edge(item, main, EdgeKind::Import, "Item"),
        edge(total, main, EdgeKind::Control, "total"),
        edge(even, main, EdgeKind::Import, "is_even"),
    ];
    GraphInput::from_id_references(nodes, references).unwrap()
}

fn check(actual: String, expect: Expect) {
    expect.assert_eq(&actual);
}

#[test]
fn json_export() {
    let graph = build(shop()).unwrap();
    check(
        mge_graph::to_json(&graph),
        expect![[r#"
        {
          "nodes": [
            {
              "id": "shop/config.py::TAX_RATE",
              "file": "shop/config.py",
              "name": "TAX_RATE",
              "kind": "constant",
              "wave": 0,
              "component": "shop"
            },
            {
              "id": "shop/models.py::Item",
              "file": "shop/models.py",
              "name": "Item",
              "kind": "class",
              "wave": 0,
              "component": "shop"
            },
            {
              "id": "shop/models.py::Item.total",
              "file": "shop/models.py",
              "name": "Item.total",
              "kind": "method",
              "wave": 1,
              "component": "shop"
            },
            {
              "id": "shop/models.py::is_even",
              "file": "shop/models.py",
              "name": "is_even",
              "kind": "function",
              "wave": 0,
              "component": "shop"
            },
            {
              "id": "shop/models.py::is_odd",
              "file": "shop/models.py",
              "name": "is_odd",
              "kind": "function",
              "wave": 0,
              "component": "shop"
            },
            {
              "id": "main.py::main",
              "file": "main.py",
              "name": "main",
              "kind": "function",
              "wave": 2,
              "component": "."
            }
          ],
          "edges": [
            {
              "from": "shop/config.py::TAX_RATE",
              "to": "shop/models.py::Item.total",
              "kind": "import",
              "weight": 0.9
            },
            {
              "from": "shop/models.py::Item",
              "to": "shop/models.py::Item.total",
              "kind": "contains",
              "weight": 1.0
            },
            {
              "from": "shop/models.py::Item",
              "to": "main.py::main",
              "kind": "import",
              "weight": 0.9
            },
            {
              "from": "shop/models.py::Item.total",
              "to": "main.py::main",
              "kind": "control",
              "weight": 0.8
            },
            {
              "from": "shop/models.py::is_even",
              "to": "shop/models.py::is_odd",
              "kind": "control",
              "weight": 0.8
            },
            {
              "from": "shop/models.py::is_even",
              "to": "main.py::main",
              "kind": "import",
              "weight": 0.9
            },
            {
              "from": "shop/models.py::is_odd",
              "to": "shop/models.py::is_even",
              "kind": "control",
              "weight": 0.8
            }
          ],
          "waves": [
            [
              "shop/config.py::TAX_RATE",
              "shop/models.py::Item",
              "shop/models.py::is_even",
              "shop/models.py::is_odd"
            ],
            [
              "shop/models.py::Item.total"
            ],
            [
              "main.py::main"
            ]
          ],
          "cycles": [
            [
              "shop/models.py::is_even",
              "shop/models.py::is_odd"
            ]
          ],
          "stats": {
            "atoms": 6,
            "references": 8,
            "edges": 7,
            "components": 5,
            "cyclic_components": 1,
            "largest_component": 2,
            "waves": 3,
            "widest_wave": 4,
            "critical_path_atoms": 3,
            "critical_path_tokens": 150,
            "parallelizable_atoms": 4,
            "est_tokens": 218,
            "modules": 3,
            "component_groups": 2
          }
        }
    "#]],
    );
}

#[test]
fn dot_export() {
    let graph = build(shop()).unwrap();
    check(
        mge_graph::to_dot(&graph),
        expect![[r#"
        digraph dependencies {
          rankdir=TB;
          node [shape=box, fontname="monospace"];
          subgraph wave_0 {
            rank=same;
            "shop/config.py::TAX_RATE" [label="TAX_RATE\nconstant · shop/config.py\nwave 0"];
            "shop/models.py::Item" [label="Item\nclass · shop/models.py\nwave 0"];
            "shop/models.py::is_even" [label="is_even\nfunction · shop/models.py\nwave 0", color=red];
            "shop/models.py::is_odd" [label="is_odd\nfunction · shop/models.py\nwave 0", color=red];
          }
          subgraph wave_1 {
            rank=same;
            "shop/models.py::Item.total" [label="Item.total\nmethod · shop/models.py\nwave 1"];
          }
          subgraph wave_2 {
            rank=same;
            "main.py::main" [label="main\nfunction · main.py\nwave 2"];
          }
          "shop/config.py::TAX_RATE" -> "shop/models.py::Item.total" [label="import,data 0.9"];
          "shop/models.py::Item" -> "shop/models.py::Item.total" [label="contains 1.0"];
          "shop/models.py::Item" -> "main.py::main" [label="import 0.9"];
          "shop/models.py::Item.total" -> "main.py::main" [label="control 0.8"];
          "shop/models.py::is_even" -> "shop/models.py::is_odd" [label="control 0.8", style=dashed, constraint=false];
          "shop/models.py::is_even" -> "main.py::main" [label="import 0.9"];
          "shop/models.py::is_odd" -> "shop/models.py::is_even" [label="control 0.8", style=dashed, constraint=false];
        }
    "#]],
    );
}

#[test]
fn mermaid_export() {
    let graph = build(shop()).unwrap();
    check(
        mge_graph::to_mermaid(&graph),
        expect![[r#"
        flowchart TB
          subgraph wave_0["wave 0"]
            n0["TAX_RATE<br/>constant · shop/config.py"]
            n1["Item<br/>class · shop/models.py"]
            n3["is_even<br/>function · shop/models.py"]
            n4["is_odd<br/>function · shop/models.py"]
          end
          subgraph wave_1["wave 1"]
            n2["Item.total<br/>method · shop/models.py"]
          end
          subgraph wave_2["wave 2"]
            n5["main<br/>function · main.py"]
          end
          n0 -->|import,data| n2
          n1 -->|contains| n2
          n1 -->|import| n5
          n2 -->|control| n5
          n3 -.->|control| n4
          n3 -->|import| n5
          n4 -.->|control| n3
          classDef cycle stroke:#d00,stroke-width:2px
          class n3,n4 cycle
    "#]],
    );
}

#[test]
fn merged_edges_keep_every_kind_and_symbol() {
    let graph = build(shop()).unwrap();
    let merged: Vec<String> = graph
        .dependencies()
        .map(|(from, to, dep)| {
            format!(
                "{} -> {} {:?} {:?} x{} w{}",
                graph.atom(from).name,
                graph.atom(to).name,
                dep.kinds,
                dep.symbols,
                dep.references,
                dep.weight()
            )
        })
        .collect();
    check(
        merged.join("\n"),
        expect![[r#"
        TAX_RATE -> Item.total {Import, Data} ["TAX_RATE"] x2 w0.9
        Item -> Item.total {Contains} [] x1 w1
        Item -> main {Import} ["Item"] x1 w0.9
        Item.total -> main {Control} ["total"] x1 w0.8
        is_even -> is_odd {Control} ["is_even"] x1 w0.8
        is_even -> main {Import} ["is_even"] x1 w0.9
        is_odd -> is_even {Control} ["is_odd"] x1 w0.8"#]],
    );
}

#[test]
fn boundaries_group_by_file_and_directory() {
    let graph = build(shop()).unwrap();
    check(
        format!("{:#?}", graph.boundaries()),
        expect![[r#"
        Boundaries {
            modules: [
                Boundary {
                    name: "shop/config.py",
                    atoms: [
                        "shop/config.py::TAX_RATE",
                    ],
                    first_wave: 0,
                    last_wave: 0,
                    internal_edges: 0,
                    incoming_edges: 0,
                    outgoing_edges: 1,
                    depends_on: [],
                },
                Boundary {
                    name: "shop/models.py",
                    atoms: [
                        "shop/models.py::Item",
                        "shop/models.py::Item.total",
                        "shop/models.py::is_even",
                        "shop/models.py::is_odd",
                    ],
                    first_wave: 0,
                    last_wave: 1,
                    internal_edges: 3,
                    incoming_edges: 1,
                    outgoing_edges: 3,
                    depends_on: [
                        "shop/config.py",
                    ],
                },
                Boundary {
                    name: "main.py",
                    atoms: [
                        "main.py::main",
                    ],
                    first_wave: 2,
                    last_wave: 2,
                    internal_edges: 0,
                    incoming_edges: 3,
                    outgoing_edges: 0,
                    depends_on: [
                        "shop/models.py",
                    ],
                },
            ],
            components: [
                Boundary {
                    name: "shop",
                    atoms: [
                        "shop/config.py::TAX_RATE",
                        "shop/models.py::Item",
                        "shop/models.py::Item.total",
                        "shop/models.py::is_even",
                        "shop/models.py::is_odd",
                    ],
                    first_wave: 0,
                    last_wave: 1,
                    internal_edges: 4,
                    incoming_edges: 0,
                    outgoing_edges: 3,
                    depends_on: [],
                },
                Boundary {
                    name: ".",
                    atoms: [
                        "main.py::main",
                    ],
                    first_wave: 2,
                    last_wave: 2,
                    internal_edges: 0,
                    incoming_edges: 3,
                    outgoing_edges: 0,
                    depends_on: [
                        "shop",
                    ],
                },
            ],
        }"#]],
    );
}

#[test]
fn critical_path_follows_the_heaviest_chain() {
    let graph = build(shop()).unwrap();
    let path: Vec<Vec<&str>> = graph
        .critical_path()
        .iter()
        .map(|&u| graph.ids(&graph.units()[u as usize].members).collect())
        .collect();
    check(
        format!("{path:?}"),
        expect![[
            r#"[["shop/models.py::Item"], ["shop/models.py::Item.total"], ["main.py::main"]]"#
        ]],
    );
}

#[test]
fn input_errors_name_the_offending_entry() {
    let atom = |file, name| node(file, name, "function", 1);
    let duplicate = GraphInput::from_id_references(
        vec![atom("a.py", "f"), atom("b.py", "g"), atom("a.py", "f")],
        Vec::new(),
    );
    let unknown_provider = GraphInput::from_id_references(
        vec![atom("a.py", "f"), atom("b.py", "g")],
        vec![
            edge("a.py::f", "b.py::g", EdgeKind::Control, "f"),
            edge("a.py::F", "b.py::g", EdgeKind::Type, "F"),
        ],
    );
    let unknown_dependent = GraphInput::from_id_references(
        vec![atom("a.py", "f")],
        vec![edge("a.py::f", "cli.py::run", EdgeKind::Control, "f")],
    );
    let out_of_range = build(GraphInput {
        nodes: vec![atom("a.py", "f")],
        edges: vec![EdgeSpec {
            from: 0,
            to: 7,
            kind: EdgeKind::Data,
            symbol: "LIMIT".into(),
        }],
    });
    let duplicate_in_build = build(GraphInput {
        nodes: vec![atom("a.py", "f"), atom("a.py", "f")],
        edges: Vec::new(),
    });
    let messages = [
        duplicate.unwrap_err(),
        unknown_provider.unwrap_err(),
        unknown_dependent.unwrap_err(),
        out_of_range.unwrap_err(),
        duplicate_in_build.unwrap_err(),
    ]
    .iter()
    .map(ToString::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    check(
        messages,
        expect![[r#"
        duplicate atom id 'a.py::f' at nodes[2] (first defined at nodes[0])
        references[1] (type 'F'): provider 'a.py::F' is not an atom of the graph
        references[0] (control 'f'): dependent 'cli.py::run' is not an atom of the graph
        edges[0] (data 'LIMIT'): dependent position 7 is out of range (1 atoms)
        duplicate atom id 'a.py::f' at nodes[1] (first defined at nodes[0])"#]],
    );
}

#[test]
fn empty_input_gives_an_empty_graph() {
    let graph = build(GraphInput::default()).unwrap();
    check(
        mge_graph::to_json(&graph),
        expect![[r#"
        {
          "nodes": [],
          "edges": [],
          "waves": [],
          "cycles": [],
          "stats": {
            "atoms": 0,
            "references": 0,
            "edges": 0,
            "components": 0,
            "cyclic_components": 0,
            "largest_component": 0,
            "waves": 0,
            "widest_wave": 0,
            "critical_path_atoms": 0,
            "critical_path_tokens": 0,
            "parallelizable_atoms": 0,
            "est_tokens": 0,
            "modules": 0,
            "component_groups": 0
          }
        }
    "#]],
    );
}
