//! `mge run`, `mge run --resume`, `mge retry --task`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use mge_core::ExecutionMode;
use mge_engine::{Engine, ModeControl, ModeWatcher, RunOptions, RunSummary};
use mge_generate::{Generator, OpenAiConfig, OpenAiGenerator, SimulatedConfig, SimulatedGenerator};
use serde::{Deserialize, Serialize};

use super::StoreArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Mvp,
    #[value(alias = "v2_atoms")]
    V2,
    Hybrid,
    /// Let the mode resolver decide.
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// Offline and deterministic: the reference code with injected faults.
    Simulated,
    /// Any OpenAI-compatible chat-completions endpoint.
    Openai,
}

/// Generator settings, recorded with the run so `--resume` rebuilds the same generator. The API
/// key is never recorded: it comes from `OPENAI_API_KEY`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorSettings {
    pub provider: Provider,
    pub seed: u64,
    pub fault_rate: f64,
    pub time_scale: f64,
    pub openai_base_url: Option<String>,
    pub openai_model: Option<String>,
}

#[derive(Debug, Args)]
pub struct GeneratorArgs {
    /// Code generator.
    #[arg(long, value_enum, default_value = "simulated")]
    pub provider: Provider,
    /// Seed of the simulated generator: the same seed gives the same run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Per-line probability of an injected fault (simulated generator).
    #[arg(long, default_value_t = 0.01)]
    pub fault_rate: f64,
    /// Factor on the simulated latency that is really awaited; 0 for instant.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Base URL of the OpenAI-compatible endpoint.
    #[arg(long, env = "MGE_OPENAI_BASE_URL")]
    pub openai_base_url: Option<String>,
    /// Model name for the OpenAI-compatible endpoint.
    #[arg(long, env = "MGE_OPENAI_MODEL")]
    pub openai_model: Option<String>,
}

impl GeneratorArgs {
    pub fn settings(&self) -> GeneratorSettings {
        GeneratorSettings {
            provider: self.provider,
            seed: self.seed,
            fault_rate: self.fault_rate,
            time_scale: self.time_scale,
            openai_base_url: self.openai_base_url.clone(),
            openai_model: self.openai_model.clone(),
        }
    }
}

/// Builds the generator a run was (or will be) executed with.
pub fn build_generator(settings: &GeneratorSettings) -> anyhow::Result<Arc<dyn Generator>> {
    Ok(match settings.provider {
        Provider::Simulated => Arc::new(
            SimulatedGenerator::new(SimulatedConfig {
                seed: settings.seed,
                fault_rate: settings.fault_rate,
                time_scale: settings.time_scale,
                ..SimulatedConfig::default()
            })
            .context("configuring the simulated generator")?,
        ),
        Provider::Openai => {
            let mut config = OpenAiConfig::default();
            if let Some(url) = &settings.openai_base_url {
                config.base_url = url.clone();
            }
            if let Some(model) = &settings.openai_model {
                config.model = model.clone();
            }
            config.api_key = std::env::var("OPENAI_API_KEY").ok();
            Arc::new(OpenAiGenerator::new(config).context("configuring the openai generator")?)
        }
    })
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Plan file or directory holding plan.toml / plan.json.
    #[arg(required_unless_present = "resume")]
    pub plan: Option<PathBuf>,
    /// Resume an interrupted run by its id (printed when it started).
    #[arg(long, conflicts_with = "plan")]
    pub resume: Option<uuid::Uuid>,
    /// Execution mode.
    #[arg(long, value_enum, default_value = "auto")]
    pub mode: ModeArg,
    #[command(flatten)]
    pub generator: GeneratorArgs,
    /// Units at once (default: 3 tasks in MVP, 50 atoms in V2).
    #[arg(long, env = "V2_MAX_PARALLEL_ATOMS")]
    pub max_parallel: Option<usize>,
    /// Start a wave only when the previous one has finished (V2; for comparison).
    #[arg(long)]
    pub strict_waves: bool,
    /// Attempts per V2 atom.
    #[arg(long, env = "V2_RETRY_MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: u32,
    /// V2: rounds of module, component and system validation after generation (each but the
    /// last regenerates the atoms its failures point at); 0 for none.
    #[arg(long, default_value_t = 3)]
    pub validation_rounds: u32,
    /// V2: seconds one run of the plan's test suite may take in the sandbox (system level).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub test_timeout: u64,
    /// V2: independent samples per accepted atom for the self-consistency signal of its
    /// confidence score (each one a generation, counted in tokens and cost); 0 for none.
    #[arg(long, default_value_t = 1)]
    pub consistency_samples: u32,
    /// V2: sampling temperature of the consistency samples.
    #[arg(long, default_value_t = RunOptions::default().consistency_temperature)]
    pub consistency_temperature: f32,
    /// Where to write the generated project (default: mge-out/<run id>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Owner (user id) of the imported plan.
    #[arg(long, default_value = "local")]
    pub owner: String,
    /// Print a JSON summary instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Print every persisted event as a JSON line on stdout as it happens.
    #[arg(long)]
    pub events: bool,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Id of the failed task.
    #[arg(long)]
    pub task: uuid::Uuid,
    #[arg(long)]
    pub json: bool,
}

/// The plan's mode and why. An explicit `--mode` is taken as asked; `auto` goes through the mode
/// resolver with the flags of the environment (`ENABLE_V2_*`, `V2_ROLLOUT_PERCENT`,
/// `MGE_DEFAULT_MODE`, canary lists), sticky on the owner (else the plan id).
/// Decides the plan's mode once through the mode control (stored flags and overrides); an
/// explicit mode is a request, still gated by the V2 capability flags.
async fn resolve_mode(
    control: &ModeControl,
    mode: ModeArg,
    plan: mge_core::PlanId,
    owner: &str,
) -> anyhow::Result<(ExecutionMode, String)> {
    let requested = match mode {
        ModeArg::Mvp => Some(ExecutionMode::Mvp),
        ModeArg::V2 => Some(ExecutionMode::V2Atoms),
        ModeArg::Hybrid => Some(ExecutionMode::Hybrid),
        ModeArg::Auto => None,
    };
    let decided = control.decide(plan, Some(owner), requested).await?;
    Ok((decided.mode, decided.reason))
}

pub fn run(args: RunArgs, store_args: &StoreArgs) -> anyhow::Result<ExitCode> {
    let loaded = match &args.plan {
        Some(path) => match super::plan::load_or_report(path) {
            Ok(loaded) => Some(loaded),
            Err(code) => return Ok(code),
        },
        None => None,
    };
    super::runtime()?.block_on(async {
        let store = super::store::open_migrated(store_args).await?;
        let control = super::flags::open_control(store.clone()).await?;
        let summary = if let Some(run_id) = args.resume {
            let options = Engine::run_options(store.as_ref(), run_id).await?;
            let settings: GeneratorSettings = serde_json::from_value(options.generator.clone())
                .context("reading the run's generator settings")?;
            let engine = Engine::new(store.clone(), build_generator(&settings)?);
            let printer = Printer::start(&engine, args.events, args.json);
            let watcher = ModeWatcher::start(control, &engine.events, engine.stop.clone()).await?;
            let summary = engine.resume(run_id).await;
            watcher.finish().await;
            printer.finish().await;
            summary?
        } else {
            let loaded = loaded.expect("plan given");
            let settings = args.generator.settings();
            if settings.provider == Provider::Simulated && loaded.plan.reference_dir.is_none() {
                bail!(
                    "{}: the simulated generator needs the plan's reference_dir",
                    loaded.path.display()
                );
            }
            let generator = build_generator(&settings)?;
            let plan_id = store.import_plan(&loaded.plan, &args.owner).await?;
            let (mode, mode_reason) =
                resolve_mode(&control, args.mode, plan_id, &args.owner).await?;
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from("mge-out").join(plan_id.to_string()));
            let options = RunOptions {
                mode,
                mode_reason,
                max_parallel: args.max_parallel,
                strict_waves: args.strict_waves,
                max_attempts: args.max_attempts,
                validation_rounds: args.validation_rounds,
                test_timeout_seconds: args.test_timeout,
                consistency_samples: args.consistency_samples,
                consistency_temperature: args.consistency_temperature,
                out_dir: Some(std::path::absolute(&out).unwrap_or(out)),
                generator: serde_json::to_value(&settings)?,
                ..RunOptions::default()
            };
            if !args.json && !args.events {
                eprintln!(
                    "run {plan_id}: plan '{}' in {mode} mode ({})",
                    loaded.plan.name, options.mode_reason
                );
            }
            let engine = Engine::new(store.clone(), generator);
            let printer = Printer::start(&engine, args.events, args.json);
            let watcher = ModeWatcher::start(control, &engine.events, engine.stop.clone()).await?;
            let summary = engine.start(plan_id, options).await;
            watcher.finish().await;
            printer.finish().await;
            summary?
        };
        store.close().await;
        report(&summary, args.json)
    })
}

pub fn retry(args: RetryArgs, store_args: &StoreArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let store = super::store::open_migrated(store_args).await?;
        let mut plan_id = None;
        for summary in store.list_plans().await? {
            let plan = store.load_plan(summary.plan_id).await?;
            if plan.tasks.iter().any(|t| t.task_id == args.task) {
                plan_id = Some(plan.plan_id);
                break;
            }
        }
        let Some(plan_id) = plan_id else {
            bail!("no task {} in the store", args.task);
        };
        let options = Engine::run_options(store.as_ref(), plan_id).await?;
        let settings: GeneratorSettings = serde_json::from_value(options.generator.clone())
            .context("reading the run's generator settings")?;
        let engine = Engine::new(store.clone(), build_generator(&settings)?);
        let summary = engine.retry_task(plan_id, args.task).await?;
        store.close().await;
        report(&summary, args.json)
    })
}

fn report(summary: &RunSummary, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(summary)?);
    } else {
        println!(
            "run {} ({}, {}): {} units: {} succeeded, {} failed, {} blocked{}",
            summary.run_id,
            summary.plan,
            summary.mode,
            summary.units,
            summary.succeeded,
            summary.failed,
            summary.blocked,
            if summary.stopped {
                " (stopped; resume with --resume)"
            } else {
                ""
            }
        );
        println!(
            "  attempts {} (retries {}), faults injected {}, detected {}",
            summary.attempts, summary.retries, summary.faults_injected, summary.faults_detected
        );
        println!(
            "  wall {:.2}s, llm {:.2}s, tokens {} in / {} out, cost ${:.4}, max concurrency {}",
            summary.wall_seconds,
            summary.llm_seconds,
            summary.tokens_in,
            summary.tokens_out,
            summary.cost_usd,
            summary.max_concurrency
        );
        if summary.mode == ExecutionMode::Hybrid {
            println!(
                "  tasks: {} in v2, {} in mvp ({} fallbacks)",
                summary.tasks_v2, summary.tasks_mvp, summary.fallbacks
            );
        }
        if summary.validation_rounds > 0 {
            let pct = |p: Option<f64>| p.map_or("-".to_string(), |p| format!("{:.1}%", p * 100.0));
            println!(
                "  validation: {} rounds, {} atoms regenerated; tests passing {} first attempts, \
                 {} final; {} atoms sent to review",
                summary.validation_rounds,
                summary.atoms_regenerated,
                pct(summary.precision_first_attempt),
                pct(summary.precision_final),
                summary.review_queued
            );
        }
        if let Some(out) = &summary.out_dir {
            println!("  output: {}", out.display());
        }
    }
    Ok(
        if summary.failed + summary.blocked == 0 && !summary.stopped {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

/// Prints events as JSON lines (`--events`) or a progress bar on a terminal.
struct Printer {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Printer {
    fn start(engine: &Engine, events: bool, json: bool) -> Printer {
        let mut rx = engine.events.subscribe();
        if events {
            return Printer {
                task: Some(tokio::spawn(async move {
                    while let Ok(event) = rx.recv().await {
                        if let Ok(line) = serde_json::to_string(&event) {
                            println!("{line}");
                        }
                    }
                })),
            };
        }
        if json || !std::io::stderr().is_terminal() {
            return Printer { task: None };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .expect("valid template"),
        );
        Printer {
            task: Some(tokio::spawn(async move {
                let (mut done, mut failed, mut running, mut tokens) = (0u64, 0u64, 0i64, 0u64);
                let mut cost = 0.0f64;
                while let Ok(event) = rx.recv().await {
                    match event.event.as_str() {
                        "unit_started" => running += 1,
                        "unit_succeeded" => {
                            running -= 1;
                            done += 1
                        }
                        "unit_failed" => {
                            running -= 1;
                            failed += 1
                        }
                        "unit_blocked" => failed += 1,
                        "attempt_finished" => {
                            let d = &event.details;
                            tokens += d["tokens_in"].as_u64().unwrap_or(0)
                                + d["tokens_out"].as_u64().unwrap_or(0);
                            cost += d["cost_usd"].as_f64().unwrap_or(0.0);
                        }
                        _ => {}
                    }
                    bar.set_message(format!(
                        "units done {done}, failed/blocked {failed}, running {running}, tokens {tokens}, cost ${cost:.4}"
                    ));
                    bar.tick();
                }
                bar.finish_and_clear();
            })),
        }
    }

    async fn finish(self) {
        if let Some(task) = self.task {
            // Events sent before the run returned are already queued; give the printer a moment.
            tokio::task::yield_now().await;
            task.abort();
            let _ = task.await;
        }
    }
}
