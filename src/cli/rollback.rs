//! `mge rollback`: every V2 flag off and the rollout to 0 in one audited transaction.

use std::process::ExitCode;

use clap::Args;
use mge_store::RollbackKind;

use super::StoreArgs;

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Why (recorded in the audit trail and the rollback event).
    #[arg(long)]
    pub reason: String,
    /// Also stop running V2 plans at their next unit boundary (state kept for `--resume`).
    #[arg(long)]
    pub drain: bool,
    /// Who rolls back.
    #[arg(long, default_value = "local")]
    pub by: String,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: RollbackArgs, store_args: &StoreArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let store = super::store::open_migrated(store_args).await?;
        let control = super::flags::open_control(store.clone()).await?;
        let (event, changes) = control
            .rollback(
                RollbackKind::Manual,
                None,
                args.drain,
                &args.reason,
                &args.by,
            )
            .await?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({"rollback": event, "changes": changes})
            );
        } else {
            println!(
                "rollback {} ({}): {} flag(s) changed{}",
                event.id,
                event.change_set,
                changes.entries.len(),
                if event.drain {
                    "; running V2 plans stop at their next unit boundary"
                } else {
                    "; running plans finish"
                }
            );
            for e in &changes.entries {
                let old = e
                    .old_value
                    .as_ref()
                    .map_or("unset".to_string(), |v| v.to_string());
                println!("  {}: {} -> {}", e.name, old, e.new_value);
            }
        }
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
