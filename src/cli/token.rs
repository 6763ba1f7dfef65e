//! `mge token create --user U [--admin]`: a bearer token for the HTTP API.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (only its SHA-256 is stored; it cannot be shown again).
    Create(CreateArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// User the token acts as; plans created with it belong to this user.
    #[arg(long)]
    pub user: String,
    /// Allow admin-only endpoints and access to every user's plans.
    #[arg(long)]
    pub admin: bool,
}

pub fn run(cmd: TokenCommand, store_args: &StoreArgs) -> anyhow::Result<ExitCode> {
    let TokenCommand::Create(args) = cmd;
    super::runtime()?.block_on(async {
        let store = super::store::open_migrated(store_args).await?;
        let token = mge_api::auth::create_token(store.as_ref(), &args.user, args.admin)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        store.close().await;
        println!("{token}");
        Ok(ExitCode::SUCCESS)
    })
}
