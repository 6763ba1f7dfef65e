//! `report.md`: for each fault rate, the overall and per-plan tables per mode, the differences
//! between modes and the significant ones, then the notes.

use std::fmt::Write as _;

use crate::report::{AbReport, Metric, ModeComparison, Stat};
use crate::stats::TestKind;

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".to_string()
    } else if (v.fract() == 0.0 && a < 1e15) || a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.1 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

fn fmt_stat(s: Option<&Stat>) -> String {
    match s {
        Some(Stat {
            mean: Some(m),
            sd: Some(sd),
            ..
        }) if *sd > 1e-9 * m.abs().max(1.0) => format!("{} ± {}", fmt_num(*m), fmt_num(*sd)),
        Some(Stat { mean: Some(m), .. }) => fmt_num(*m),
        _ => "–".to_string(),
    }
}

fn fmt_p(p: Option<f64>) -> String {
    match p {
        Some(p) if p < 0.0001 => "<0.0001".to_string(),
        Some(p) => format!("{p:.4}"),
        None => "–".to_string(),
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(fmt_num).unwrap_or_else(|| "–".to_string())
}

/// Metrics shown for differences per plan in the markdown (every metric is in the JSON).
const PLAN_DIFF_METRICS: [Metric; 4] = [
    Metric::Precision,
    Metric::LlmSeconds,
    Metric::CostUsd,
    Metric::Retries,
];

/// The report as markdown: for each fault rate, the overall and per-plan tables per mode and
/// the differences between modes.
pub fn render(report: &AbReport) -> String {
    let mut md = String::new();
    let c = &report.config;
    let modes: Vec<&str> = c.modes.iter().map(|m| m.as_str()).collect();
    let _ = writeln!(md, "# A/B comparison: {}\n", modes.join(" vs "));
    let _ = writeln!(
        md,
        "{} plan(s), {} run(s) per plan and mode (seeds {}..={}, the same in every mode), fault \
         rate(s) {}; store: {}; {} runs at once; total wall time {:.1} s.\n",
        report.plans.len(),
        c.runs,
        c.seed,
        c.seed + c.runs as u64 - 1,
        c.fault_rates
            .iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        c.store,
        c.jobs,
        report.wall_seconds
    );
    let _ = writeln!(md, "Values are mean ± standard deviation over runs.\n");
    let header = |md: &mut String, first: &[&str]| {
        let mut cols: Vec<&str> = first.to_vec();
        cols.extend(Metric::ALL.iter().map(|m| m.heading()));
        let _ = writeln!(md, "| {} |", cols.join(" | "));
        let _ = writeln!(md, "|{}", "---|".repeat(cols.len()));
    };
    for &rate in &c.fault_rates {
        let _ = writeln!(md, "## Fault rate {rate}\n");
        let _ = writeln!(md, "### Overall ({} plans)\n", report.plans.len());
        header(&mut md, &["mode", "runs"]);
        for s in report
            .summaries
            .iter()
            .filter(|s| s.fault_rate == rate && s.plan.is_none())
        {
            let cells: Vec<String> = Metric::ALL
                .iter()
                .map(|m| fmt_stat(s.metrics.get(m.name())))
                .collect();
            let _ = writeln!(md, "| {} | {} | {} |", s.mode, s.runs, cells.join(" | "));
        }
        let _ = writeln!(md, "\n### Per plan\n");
        header(&mut md, &["plan", "tests", "mode"]);
        for p in &report.plans {
            for s in report
                .summaries
                .iter()
                .filter(|s| s.fault_rate == rate && s.plan.as_deref() == Some(p.name.as_str()))
            {
                let cells: Vec<String> = Metric::ALL
                    .iter()
                    .map(|m| fmt_stat(s.metrics.get(m.name())))
                    .collect();
                let errors = if s.errors > 0 {
                    format!(" ({} failed)", s.errors)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {}{errors} | {} |",
                    p.name,
                    p.tests_total,
                    s.mode,
                    cells.join(" | ")
                );
            }
        }
        if c.modes.len() > 1 {
            let _ = writeln!(md, "\n### Differences, overall\n");
            diff_table(&mut md, report, rate, None, &Metric::ALL);
            let _ = writeln!(md, "\n### Differences per plan\n");
            for p in &report.plans {
                let _ = writeln!(md, "#### {}\n", p.name);
                diff_table(&mut md, report, rate, Some(&p.name), &PLAN_DIFF_METRICS);
                md.push('\n');
            }
            let significant: Vec<&ModeComparison> = report
                .comparisons
                .iter()
                .filter(|x| x.fault_rate == rate && x.result.significant)
                .collect();
            let _ = writeln!(md, "### Significant differences (p < 0.05)\n");
            if significant.is_empty() {
                let _ = writeln!(md, "None.");
            }
            for x in significant {
                let _ = writeln!(
                    md,
                    "- {} {} − {}: {}: {} (95% CI {} to {}, p {})",
                    x.plan.as_deref().unwrap_or("overall"),
                    x.a,
                    x.b,
                    x.metric,
                    fmt_signed(x.result.diff),
                    fmt_opt(x.result.ci_low),
                    fmt_opt(x.result.ci_high),
                    fmt_p(x.result.p_value)
                );
            }
        }
        md.push('\n');
    }
    let _ = writeln!(md, "## Notes\n");
    for n in &report.notes {
        let _ = writeln!(md, "- {n}");
    }
    md
}

fn fmt_signed(v: Option<f64>) -> String {
    match v {
        Some(v) if v > 0.0 => format!("+{}", fmt_num(v)),
        other => fmt_opt(other),
    }
}

fn diff_table(
    md: &mut String,
    report: &AbReport,
    rate: f64,
    plan: Option<&str>,
    metrics: &[Metric],
) {
    let _ = writeln!(
        md,
        "| metric | a − b | mean a | mean b | difference | 95% CI | p | test | significant |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|");
    for m in metrics {
        for x in report
            .comparisons
            .iter()
            .filter(|x| x.fault_rate == rate && x.plan.as_deref() == plan && x.metric == m.name())
        {
            let r = &x.result;
            let ci = match (r.ci_low, r.ci_high) {
                (Some(lo), Some(hi)) => format!("[{}, {}]", fmt_num(lo), fmt_num(hi)),
                _ => "–".to_string(),
            };
            let test = match r.test {
                TestKind::Paired => format!("paired, n={}", r.n),
                TestKind::Welch => format!("Welch, n≥{}", r.n),
            };
            let sig = match (r.significant, &r.note) {
                (true, Some(n)) => format!("**yes** ({n})"),
                (true, None) => "**yes**".to_string(),
                (false, Some(n)) => format!("no ({n})"),
                (false, None) => "no".to_string(),
            };
            let _ = writeln!(
                md,
                "| {} | {} − {} | {} | {} | {} | {ci} | {} | {test} | {sig} |",
                m.heading(),
                x.a,
                x.b,
                fmt_opt(r.mean_a),
                fmt_opt(r.mean_b),
                fmt_signed(r.diff),
                fmt_p(r.p_value)
            );
        }
    }
}
