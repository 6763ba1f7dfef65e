#!/usr/bin/env python3
"""Baseline for `cargo bench --bench graph`: the same synthetic plan built with networkx.

Generates exactly the references of the Rust bench (same generator, same seed), then times
DiGraph construction (parallel references merged, kinds kept) + condensation + topological
generations, and prints one JSON line with the graph's figures and the median time.

networkx is pinned; when the running interpreter lacks that version, the script installs it
from PyPI into a virtual environment (default /tmp/mge-networkx-venv) and runs itself there.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

NETWORKX_VERSION = "3.6.1"
MASK = (1 << 64) - 1
KINDS = ("import", "data", "type", "control", "contains")


def ensure_networkx():
    try:
        import networkx

        if networkx.__version__ == NETWORKX_VERSION:
            return networkx
    except ImportError:
        pass
    if os.environ.get("MGE_NETWORKX_BOOTSTRAPPED"):
        sys.exit(f"networkx {NETWORKX_VERSION} is still missing after installing it")
    venv = os.environ.get("MGE_NETWORKX_VENV", "/tmp/mge-networkx-venv")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         f"networkx=={NETWORKX_VERSION}"],
        check=True,
        stdout=sys.stderr,
    )
    env = dict(os.environ, MGE_NETWORKX_BOOTSTRAPPED="1")
    os.execve(python, [python, *sys.argv], env)


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        return self.next() % n


def references(atoms, count, file_size, seed):
    """(provider, dependent, kind) triples; mirrors `synthetic_references` in benches/graph.rs."""
    rng = SplitMix64(seed)
    out = []
    while len(out) < count:
        d = rng.below(atoms)
        start = (d // file_size) * file_size
        end = min(start + file_size, atoms)
        roll = rng.below(1000)
        kind = rng.below(len(KINDS))
        if roll < 1 and d + 1 < end:
            p = d + 1 + rng.below(min(3, end - d - 1))
        elif roll < 600 and d > start:
            p = start + rng.below(d - start)
        elif start > 0:
            lo = max(0, start - 40 * file_size)
            p = lo + rng.below(start - lo)
        elif d > start:
            p = start + rng.below(d - start)
        else:
            continue
        out.append((p, d, kind))
    return out


def build(nx, atoms, refs):
    graph = nx.DiGraph()
    graph.add_nodes_from(range(atoms))
    for p, d, kind in refs:
        data = graph.get_edge_data(p, d)
        if data is None:
            graph.add_edge(p, d, kinds={KINDS[kind]})
        else:
            data["kinds"].add(KINDS[kind])
    condensed = nx.condensation(graph)
    waves = list(nx.topological_generations(condensed))
    return graph, condensed, waves


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=100_000)
    parser.add_argument("--references", type=int, default=400_000)
    parser.add_argument("--file-size", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0x6D6765)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    nx = ensure_networkx()

    refs = references(args.atoms, args.references, args.file_size, args.seed)
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        graph, condensed, waves = build(nx, args.atoms, refs)
        times.append(time.perf_counter() - started)
    cyclic = sum(1 for _, members in condensed.nodes(data="members") if len(members) > 1)
    cyclic += sum(
        1 for _, members in condensed.nodes(data="members")
        if len(members) == 1 and graph.has_edge(next(iter(members)), next(iter(members)))
    )
    print(json.dumps({
        "networkx": nx.__version__,
        "atoms": graph.number_of_nodes(),
        "references": len(refs),
        "edges": graph.number_of_edges(),
        "components": condensed.number_of_nodes(),
        "cyclic_components": cyclic,
        "waves": len(waves),
        "widest_wave": max(sum(len(condensed.nodes[c]["members"]) for c in w) for w in waves),
        "seconds": times,
        "median_seconds": statistics.median(times),
    }))


if __name__ == "__main__":
    main()
