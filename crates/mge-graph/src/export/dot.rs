//! Graphviz DOT: one `{rank=same; ...}` subgraph per wave, cyclic atoms outlined in red, edges
//! inside a cycle dashed.

use std::fmt::Write;

use crate::graph::DependencyGraph;

/// The graph in Graphviz DOT, waves as ranks from top to bottom.
pub fn to_dot(graph: &DependencyGraph) -> String {
    let mut out = String::new();
    out.push_str("digraph dependencies {\n");
    out.push_str("  rankdir=TB;\n");
    out.push_str("  node [shape=box, fontname=\"monospace\"];\n");
    for (number, wave) in graph.waves().iter().enumerate() {
        let _ = writeln!(out, "  subgraph wave_{number} {{");
        out.push_str("    rank=same;\n");
        for &position in &wave.atoms {
            let atom = graph.atom(position);
            let cyclic = graph.units()[atom.unit as usize].cyclic;
            let label = format!(
                "{}\n{} · {}\nwave {}",
                atom.name, atom.kind, atom.file, atom.wave
            );
            let _ = write!(out, "    {} [label={}", quote(&atom.id), quote(&label));
            if cyclic {
                out.push_str(", color=red");
            }
            out.push_str("];\n");
        }
        out.push_str("  }\n");
    }
    for (from, to, dep) in graph.dependencies() {
        let (a, b) = (graph.atom(from), graph.atom(to));
        let label = format!("{} {:.1}", super::kinds_label(dep), dep.weight());
        let _ = write!(
            out,
            "  {} -> {} [label={}",
            quote(&a.id),
            quote(&b.id),
            quote(&label)
        );
        if a.unit == b.unit {
            out.push_str(", style=dashed, constraint=false");
        }
        out.push_str("];\n");
    }
    out.push_str("}\n");
    out
}

/// A DOT double-quoted string.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
