//! `mge serve`: the HTTP API on the configured store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use mge_api::{ApiConfig, App};

use super::run::GeneratorArgs;
use super::StoreArgs;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Directory under which posted plans' `reference_dir` must lie (resolved against it);
    /// without it, plans with a reference solution are refused.
    #[arg(long, env = "MGE_PLANS_ROOT")]
    pub plans_root: Option<PathBuf>,
    /// Where generated projects are written (`<DIR>/<plan id>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Do not resume unfinished runs on start.
    #[arg(long)]
    pub no_resume: bool,
    #[command(flatten)]
    pub generator: GeneratorArgs,
}

pub fn run(args: ServeArgs, store_args: &StoreArgs) -> anyhow::Result<ExitCode> {
    let settings = args.generator.settings();
    let generator: mge_api::GeneratorSettings =
        serde_json::from_value(serde_json::to_value(&settings).context("generator settings")?)
            .context("generator settings")?;
    super::runtime()?.block_on(async {
        let store = super::store::open_migrated(store_args).await?;
        let config = ApiConfig {
            plans_root: args.plans_root.clone(),
            out_root: args.out.clone(),
            generator,
            resume: !args.no_resume,
            flag_defaults: Some(super::flags::cli_defaults()?),
        };
        let app = App::start(store.clone(), config)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for plan in &app.resumed {
            eprintln!("resuming run {plan}");
        }
        eprintln!("mge serve: listening on http://{}", args.addr);
        mge_api::serve(app, args.addr)
            .await
            .with_context(|| format!("serving on {}", args.addr))?;
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
