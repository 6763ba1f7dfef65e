//! Command-line entry point: arguments are parsed here (stage one) and turned into library calls
//! by one module per subcommand (stage two).

mod ab;
mod atomize;
mod flags;
mod graph;
mod plan;
mod review;
mod rollback;
mod run;
mod serve;
mod store;
mod token;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Default store: an SQLite file in the current directory, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://mge.db?mode=rwc";

#[derive(Debug, Parser)]
#[command(
    name = "mge",
    version,
    about = "Execute code-generation masterplans in MVP and V2 mode"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    store: StoreArgs,
}

/// Store selection shared by every subcommand that persists something.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Database URL: `sqlite://PATH` (created on first use) or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Do not apply pending migrations when opening the store.
    #[arg(long, global = true)]
    pub no_migrate: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate, import and show masterplans.
    #[command(subcommand)]
    Plan(plan::PlanCommand),
    /// Cut files (or one task of a plan) into atoms and score them.
    Atomize(atomize::AtomizeArgs),
    /// Build a plan's atom dependency graph and print it (JSON, DOT or Mermaid).
    Graph(graph::GraphArgs),
    /// Apply, revert or list database migrations.
    #[command(subcommand)]
    Migrate(store::MigrateCommand),
    /// Execute a masterplan (or resume an interrupted run).
    Run(run::RunArgs),
    /// Run a failed task again.
    Retry(run::RetryArgs),
    /// Compare execution modes on plans: seeded paired runs, test precision, cost, t-tests.
    Ab(ab::AbArgs),
    /// List, change and audit the feature flags that steer execution modes.
    #[command(subcommand)]
    Flags(flags::FlagsCommand),
    /// Turn V2 off for new plans at once (all V2 flags off, rollout 0), audited.
    Rollback(rollback::RollbackArgs),
    /// Serve the HTTP API.
    Serve(serve::ServeArgs),
    /// Create API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// The human review queue of V2 runs: list, show and decide.
    #[command(subcommand)]
    Review(review::ReviewCommand),
}

pub fn main() -> ExitCode {
    init_tracing();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Plan(cmd) => plan::run(cmd, &cli.store),
        Command::Atomize(args) => atomize::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Migrate(cmd) => store::run(cmd, &cli.store),
        Command::Run(args) => run::run(args, &cli.store),
        Command::Retry(args) => run::retry(args, &cli.store),
        Command::Ab(args) => ab::run(args, &cli.store),
        Command::Flags(cmd) => flags::run(cmd, &cli.store),
        Command::Rollback(args) => rollback::run(args, &cli.store),
        Command::Serve(args) => serve::run(args, &cli.store),
        Command::Token(cmd) => token::run(cmd, &cli.store),
        Command::Review(cmd) => review::run(cmd, &cli.store),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("MGE_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A current-thread Tokio runtime for subcommands that talk to the store.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}
