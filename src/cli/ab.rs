//! `mge ab`: A/B comparison of execution modes on plans (see the `mge-ab` crate).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use mge_ab::{AbConfig, GeneratorFactory};
use mge_core::ExecutionMode;

use super::run::{build_generator, GeneratorSettings, Provider};
use super::StoreArgs;

#[derive(Debug, Args)]
pub struct AbArgs {
    /// Plan files or directories (a directory of plans, such as `fixtures/plans`, is expanded).
    #[arg(required = true)]
    pub plans: Vec<PathBuf>,
    /// Modes to compare, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "mvp,v2_atoms,hybrid")]
    pub modes: Vec<ExecutionMode>,
    /// Seeded runs per plan, mode and fault rate.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Seed of the first run; run i uses seed + i in every mode, so runs are paired.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Per-line fault probabilities of the simulated generator, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.01")]
    pub fault_rate: Vec<f64>,
    /// Factor on the modelled generator latency that is really awaited (0: modelled only).
    #[arg(long, default_value_t = 0.0)]
    pub time_scale: f64,
    /// Runs at once (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Limit in seconds for one run of a plan's test suite (the precision measure, and the V2
    /// system-level validation inside each run). The fixtures' suites take a few seconds; a
    /// generated infinite loop costs this much.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub test_timeout: u64,
    /// Write report.md, report.json and chart.svg into this directory.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print the JSON report instead of the markdown one.
    #[arg(long)]
    pub json: bool,
}

/// Whether `--database-url` was given on the command line: `mge ab` uses a temporary SQLite
/// store per run unless a store is named explicitly (a `DATABASE_URL` in the environment does not
/// count, so a shell set up for Postgres tests still compares on throwaway stores).
fn database_url_given() -> bool {
    std::env::args_os().any(|a| {
        let a = a.to_string_lossy();
        a == "--database-url" || a.starts_with("--database-url=")
    })
}

pub fn run(args: AbArgs, store_args: &StoreArgs) -> anyhow::Result<ExitCode> {
    for &rate in &args.fault_rate {
        if !(0.0..=1.0).contains(&rate) {
            bail!("--fault-rate {rate} is not in [0, 1]");
        }
    }
    let mut modes: Vec<ExecutionMode> = Vec::new();
    for m in &args.modes {
        if !modes.contains(m) {
            modes.push(*m);
        }
    }
    let config = AbConfig {
        plans: super::plan::expand_plan_args(&args.plans),
        modes,
        runs: args.runs,
        seed: args.seed,
        fault_rates: args.fault_rate.clone(),
        database_url: database_url_given().then(|| store_args.database_url.clone()),
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }),
        test_timeout: Duration::from_secs(args.test_timeout),
        ..AbConfig::default()
    };
    let time_scale = args.time_scale;
    let factory: GeneratorFactory = Arc::new(move |seed, fault_rate| {
        let settings = GeneratorSettings {
            provider: Provider::Simulated,
            seed,
            fault_rate,
            time_scale,
            openai_base_url: None,
            openai_model: None,
        };
        let generator = build_generator(&settings).map_err(|e| format!("{e:#}"))?;
        let recorded = serde_json::to_value(&settings).map_err(|e| e.to_string())?;
        Ok((generator, recorded))
    });
    let quiet = args.json;
    let report =
        super::runtime()?.block_on(mge_ab::run_ab(&config, factory, |done, total, r| {
            if quiet {
                return;
            }
            let outcome = match &r.error {
                Some(e) => format!("error: {e}"),
                None => format!(
                    "{}/{} tests, {} units, ${:.4}",
                    r.tests_passed, r.tests_total, r.units, r.cost_usd
                ),
            };
            eprintln!(
                "[{done}/{total}] {} {} fault rate {} seed {}: {outcome}",
                r.plan, r.mode, r.fault_rate, r.seed
            );
        }))?;
    let markdown = mge_ab::markdown::render(&report);
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let svg = mge_ab::chart::render_svg(&report)?;
        for (name, text) in [
            ("report.md", &markdown),
            ("report.json", &json),
            ("chart.svg", &svg),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        if !quiet {
            eprintln!("report written to {}", dir.display());
        }
    }
    if args.json {
        println!("{json}");
    } else {
        print!("{markdown}");
    }
    let completed = report.runs.iter().filter(|r| r.error.is_none()).count();
    Ok(if completed == 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
