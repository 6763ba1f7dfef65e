#!/usr/bin/env python3
"""Fit the confidence weights of mge-validate by logistic regression (standard library only).

Input: a CSV with one row per generated atom and the columns

    atomic, module, component, system   1 / pass / true = passed, 0 / -1 / fail / false = failed,
                                        empty = level not run
    attempts                            generation attempts used (1 = first try)
    complexity                          cyclomatic complexity of the atom
    context_completeness                0..1
    atomicity                           0..1
    mean_logprob                        mean token log-probability (<= 0), empty when absent
    consistency                         optional: share (0..1) of independent samples agreeing
                                        with the accepted code, empty when no sample counts
    label                               1 when the final atom is correct, 0 when a fault survived
    weight                              optional, >= 0 (default 1): how much the row counts, in
                                        the fit and in the review share

Output: the JSON read by `mge_validate::confidence::ConfidenceWeights` (by default
crates/mge-validate/data/confidence_weights.json). Features are computed exactly as in
crates/mge-validate/src/confidence.rs; every weight is kept in its documented direction
(projected gradient descent), so the score stays monotonic in every signal. The review threshold
is the score (midway between two distinct scores) whose review share is closest to
`--review-share`. With a `weight` column every sum (gradient, loss, review share) is weighted.

    scripts/fit_confidence.py runs.csv [-o weights.json] [--review-share 0.175] [--prior old.json]

How the committed weights were fitted: the catch-rate benchmark wrote its review population
(every task atom of the seven fixtures clean, plus 4,000 atoms with one injected fault each,
1,000 per class, seed 1, weighted to a V2 run at fault rate 0.02 per line; see
crates/mge-validate/src/catch/review.rs) and this script fitted it with the defaults:

    cargo bench -p mge-validate --bench catch_rate -- --faults-per-kind 1000 --seed 1 --csv runs.csv
    scripts/fit_confidence.py runs.csv

On that population `retries` (every atom scored after its first attempt), `logprob_gap` (the
simulated provider gives no log-probabilities) and `context_completeness` (1.0 for every fixture
atom) never vary, so they keep their earlier weights. `atomicity` fitted to 0: it adds nothing
once complexity is known. The threshold sends 16.9% of the weighted population to review. The
atoms whose fault survived every level pass all four levels like correct atoms do; only
complexity (and atomicity) can tell them apart, which caps their recall well below the 80% aim
(26% at this threshold; the benchmark prints it).
"""

import argparse
import csv
import json
import math
import sys

FEATURES = [
    "atomic",
    "module",
    "component",
    "system",
    "retries",
    "log_complexity",
    "context_completeness",
    "atomicity",
    "logprob_gap",
    "consistency",
]
DIRECTIONS = [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0]
DEFAULT_OUTPUT = "crates/mge-validate/data/confidence_weights.json"
DEFAULT_GAP = 0.3


def level(text):
    t = (text or "").strip().lower()
    if t == "":
        return 0.0
    if t in ("1", "pass", "passed", "true"):
        return 1.0
    if t in ("0", "-1", "fail", "failed", "false"):
        return -1.0
    raise ValueError(f"not a level result: {text!r}")


def number(row, name, line, default=None):
    text = (row.get(name) or "").strip()
    if text == "":
        if default is None:
            raise ValueError(f"line {line}: column '{name}' is empty")
        return default
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"line {line}: column '{name}' is not a number: {text!r}") from None


def read_rows(path):
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("attempts", "complexity", "label") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        for i, row in enumerate(reader, start=2):
            lp = (row.get("mean_logprob") or "").strip()
            cs = (row.get("consistency") or "").strip()
            rows.append(
                {
                    "levels": [level(row.get(k)) for k in ("atomic", "module", "component", "system")],
                    "attempts": number(row, "attempts", i),
                    "complexity": number(row, "complexity", i),
                    "cc": number(row, "context_completeness", i, 1.0),
                    "atomicity": number(row, "atomicity", i, 1.0),
                    "logprob": float(lp) if lp else None,
                    "consistency": number(row, "consistency", i) if cs else None,
                    "label": 1.0 if number(row, "label", i) >= 0.5 else 0.0,
                    "weight": number(row, "weight", i, 1.0),
                }
            )
    if not rows:
        raise ValueError(f"{path}: no rows")
    for i, r in enumerate(rows, start=2):
        if r["weight"] < 0 or math.isnan(r["weight"]):
            raise ValueError(f"line {i}: column 'weight' is negative")
    if sum(r["weight"] for r in rows) <= 0:
        raise ValueError(f"{path}: the weights sum to 0")
    return rows


def features(r, gap_when_absent):
    gap = gap_when_absent if r["logprob"] is None else max(0.0, -r["logprob"])
    return r["levels"] + [
        max(0.0, r["attempts"] - 1.0),
        math.log(1.0 + max(0.0, r["complexity"])),
        min(1.0, max(0.0, r["cc"])),
        min(1.0, max(0.0, r["atomicity"])),
        gap,
        0.0 if r["consistency"] is None else 2.0 * min(1.0, max(0.0, r["consistency"])) - 1.0,
    ]


def sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def fit(xs, ys, ws, epochs, rate, l2, fixed):
    """Weighted, direction-constrained logistic regression; `fixed` maps a feature index to
    a weight held as given (features the data cannot inform)."""
    n, k = sum(ws), len(xs[0])
    w = [fixed.get(j, 0.0) for j in range(k)]
    b = 0.0
    for _ in range(epochs):
        gw = [0.0] * k
        gb = 0.0
        for x, y, wt in zip(xs, ys, ws):
            err = wt * (sigmoid(b + sum(wi * xi for wi, xi in zip(w, x))) - y)
            gb += err
            for j in range(k):
                gw[j] += err * x[j]
        b -= rate * gb / n
        for j in range(k):
            if j in fixed:
                continue
            w[j] -= rate * (gw[j] / n + l2 * w[j])
            # Keep each weight in its documented direction.
            if w[j] * DIRECTIONS[j] < 0:
                w[j] = 0.0
    return b, w


def log_loss(b, w, xs, ys, ws):
    total = 0.0
    for x, y, wt in zip(xs, ys, ws):
        p = min(1 - 1e-12, max(1e-12, sigmoid(b + sum(wi * xi for wi, xi in zip(w, x)))))
        total -= wt * (y * math.log(p) + (1 - y) * math.log(1 - p))
    return total / sum(ws)


def review_threshold(scores, ws, share):
    """The threshold whose review share (weight of rows scoring below it over the total) is
    closest to `share`. Candidates lie midway between consecutive distinct scores, so tied
    scores are never split and rounding in the scorer cannot move a row across it."""
    total = sum(ws)
    by_score = {}
    for sc, wt in zip(scores, ws):
        by_score[sc] = by_score.get(sc, 0.0) + wt
    distinct = sorted(by_score)
    best, best_gap = distinct[0] - 1e-6, share
    below = 0.0
    for lo, hi in zip(distinct, distinct[1:]):
        below += by_score[lo]
        gap = abs(below / total - share)
        if gap < best_gap:
            best, best_gap = (lo + hi) / 2.0, gap
    return best


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("-o", "--output", default=DEFAULT_OUTPUT)
    ap.add_argument("--review-share", type=float, default=0.175)
    ap.add_argument("--epochs", type=int, default=3000)
    ap.add_argument("--rate", type=float, default=0.5)
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--prior", default=None, help="weights file giving the weights of constant features")
    args = ap.parse_args(argv)
    try:
        rows = read_rows(args.csv)
    except (OSError, ValueError) as e:
        print(f"fit_confidence: {e}", file=sys.stderr)
        return 2
    gaps = [max(0.0, -r["logprob"]) for r in rows if r["logprob"] is not None]
    gap_when_absent = sum(gaps) / len(gaps) if gaps else DEFAULT_GAP
    xs = [features(r, gap_when_absent) for r in rows]
    ys = [r["label"] for r in rows]
    ws = [r["weight"] for r in rows]
    # A feature that never varies in the data (attempts are all 1 in a first-attempt
    # population; no provider gave log-probabilities) cannot be fitted: it keeps its weight
    # from the prior weights file (by default the file being replaced), or 0 without one.
    prior = {}
    prior_path = args.prior if args.prior is not None else args.output
    try:
        with open(prior_path, encoding="utf-8") as f:
            prior = json.load(f).get("weights", {})
    except (OSError, ValueError):
        if args.prior is not None:
            print(f"fit_confidence: cannot read prior weights {prior_path}", file=sys.stderr)
            return 2
    fixed = {
        j: float(prior.get(name, 0.0))
        for j, name in enumerate(FEATURES)
        if len({x[j] for x in xs}) == 1
    }
    b, w = fit(xs, ys, ws, args.epochs, args.rate, args.l2, fixed)
    # Score with the weights as written, so the threshold fits what the scorer computes.
    b, w = round(b, 6), [round(v, 6) for v in w]
    scores = [sigmoid(b + sum(wi * xi for wi, xi in zip(w, x))) for x in xs]
    threshold = review_threshold(scores, ws, args.review_share)
    out = {
        "version": 1,
        "bias": b,
        "weights": dict(zip(FEATURES, w)),
        "logprob_gap_when_absent": round(gap_when_absent, 6),
        "review_threshold": round(threshold, 9),
    }
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    reviewed = sum(wt for sc, wt in zip(scores, ws) if sc < threshold) / sum(ws)
    print(
        f"fit_confidence: {len(rows)} rows, log loss {log_loss(b, w, xs, ys, ws):.4f}, "
        f"review share {reviewed:.3f} at threshold {threshold:.6f} -> {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
