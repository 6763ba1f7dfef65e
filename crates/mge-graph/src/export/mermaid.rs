//! Mermaid flowchart: one subgraph per wave, cyclic atoms in the `cycle` class, edges inside a
//! cycle dotted.

use std::fmt::Write;

use crate::graph::DependencyGraph;

/// The graph as a Mermaid flowchart; atoms are named `n<position>`, waves are subgraphs.
pub fn to_mermaid(graph: &DependencyGraph) -> String {
    let mut out = String::new();
    out.push_str("flowchart TB\n");
    for (number, wave) in graph.waves().iter().enumerate() {
        let _ = writeln!(out, "  subgraph wave_{number}[\"wave {number}\"]");
        for &position in &wave.atoms {
            let atom = graph.atom(position);
            let label = format!(
                "{}<br/>{} · {}",
                escape(&atom.name),
                escape(&atom.kind),
                escape(&atom.file)
            );
            let _ = writeln!(out, "    n{position}[\"{label}\"]");
        }
        out.push_str("  end\n");
    }
    for (from, to, dep) in graph.dependencies() {
        let inside = graph.atom(from).unit == graph.atom(to).unit;
        let arrow = if inside { "-.->" } else { "-->" };
        let _ = writeln!(out, "  n{from} {arrow}|{}| n{to}", super::kinds_label(dep));
    }
    let cyclic: Vec<String> = graph
        .cycles()
        .flat_map(|u| u.members.iter().map(|m| format!("n{m}")))
        .collect();
    if !cyclic.is_empty() {
        out.push_str("  classDef cycle stroke:#d00,stroke-width:2px\n");
        let _ = writeln!(out, "  class {} cycle", cyclic.join(","));
    }
    out
}

/// Text safe inside a quoted Mermaid label.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}
