#!/usr/bin/env bash
# Atomizes two real corpora with `mge atomize --json` and prints, for each: files, atoms,
# mean/p95 LOC, atomicity pass rate, mean context completeness, tiling violations (must be 0)
# and the atoms left over the ceiling with the diagnostics that explain them: an
# `oversized_statement` (a single statement or class header longer than the ceiling, with its
# kind and line:col) or `deep_nesting` warning inside the atom's lines. The count of atoms over
# the ceiling without such a diagnostic must be 0; the script exits 1 otherwise.
#
#   scripts/atomize-corpus.sh            # python3 standard library + the `effect` npm package
#   MGE=path/to/mge scripts/atomize-corpus.sh
#
# The npm package is fetched with `npm pack` into a temporary directory and never committed.
set -euo pipefail

cd "$(dirname "$0")/.."
MGE=${MGE:-target/release/mge}
if [ ! -x "$MGE" ]; then
    cargo build --release --bin mge
fi
MAX_LOC=${MAX_LOC:-15}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
(cd "$tmp" && npm pack effect --silent >/dev/null 2>&1 && mkdir effect && tar xzf effect-*.tgz -C effect)
effect_src="$tmp/effect/package/src"

report() {
    local name=$1 dir=$2 json="$tmp/$1.json" status=0
    local start end
    start=$(date +%s.%N)
    "$MGE" atomize --json --max-loc "$MAX_LOC" "$dir" >"$json" || status=$?
    end=$(date +%s.%N)
    if [ "$status" -gt 1 ]; then
        echo "$name: mge atomize failed with exit $status" >&2
        return 1
    fi
    python3 - "$name" "$json" "$MAX_LOC" "$start" "$end" <<'PY'
import json, sys

EXPLAINS = ("oversized_statement", "deep_nesting")
name, path, max_loc, start, end = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
with open(path) as f:
    data = json.load(f)
files = data["files"]
s = data["summary"]
violations = 0
over = []
syntax_errors = 0
for f in files:
    pos = 0
    for a in f["atoms"]:
        if a["start_byte"] != pos:
            violations += 1
        pos = a["end_byte"]
    if pos != f["bytes"]:
        violations += 1
    diags = f["diagnostics"]
    if any(d["severity"] == "error" for d in diags):
        syntax_errors += 1
    for a in f["atoms"]:
        if a["loc"] > max_loc and a["kind"] != "unparsed":
            why = [
                d for d in diags
                if d["code"] in EXPLAINS and a["start_line"] <= d["line"] <= a["end_line"]
            ]
            over.append((f["path"], a, why))
mb = sum(f["bytes"] for f in files) / 1e6
print(f"== {name}")
print(f"files {s['files']}, atoms {s['atoms']}, {mb:.1f} MB, {float(end) - float(start):.1f} s wall")
print(f"LOC per atom: mean {s['mean_loc']}, p95 {s['p95_loc']}, max {s['max_loc']}")
print(f"atomicity pass rate {s['atomicity_pass_rate']}, mean context completeness {s['mean_context_completeness']}")
print(f"files with syntax errors (one unparsed atom each): {syntax_errors}")
print(f"tiling violations: {violations}")
unexplained = [o for o in over if not o[2]]
print(f"atoms over the ceiling of {max_loc}: {len(over)}")
print(f"atoms over the ceiling without an explaining diagnostic: {len(unexplained)} (must be 0)")
# The unexplained first, then a sample of the explained ones.
shown = (unexplained + [o for o in over if o[2]])[:25]
for path, a, why in shown:
    reason = "; ".join(f"{d['line']}:{d['column']} {d['message']}" for d in why) or "NO DIAGNOSTIC"
    print(f"  {path}:{a['start_line']}-{a['end_line']} {a['qualified_name']} {a['loc']} LOC: {reason}")
if len(over) > len(shown):
    print(f"  … {len(over) - len(shown)} more")
sys.exit(1 if violations or unexplained else 0)
PY
}

rc=0
report python-stdlib "$stdlib" || rc=1
report effect "$effect_src" || rc=1
exit $rc
