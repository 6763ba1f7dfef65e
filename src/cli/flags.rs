//! `mge flags list|set|history`: the stored feature flags and their audit trail.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use mge_core::ExecutionMode;
use mge_engine::modes::ModeError;
use mge_engine::ModeControl;
use mge_rollout::{FlagSet, REQUIRED_CAPABILITIES};
use mge_store::Store;

use super::StoreArgs;

#[derive(Debug, Subcommand)]
pub enum FlagsCommand {
    /// Every flag with its current value.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change one flag (validated; audited with the reason).
    Set {
        name: String,
        value: String,
        /// Why (recorded in the audit trail).
        #[arg(long)]
        reason: String,
        /// Who makes the change.
        #[arg(long, default_value = "local")]
        by: String,
        #[arg(long)]
        json: bool,
    },
    /// Set or clear a plan's or a user's mode override (audited). An override applies to plans
    /// whose mode is not decided yet: a decided plan keeps its mode.
    Override {
        /// The plan (id) to override.
        #[arg(long, conflicts_with = "user", required_unless_present = "user")]
        plan: Option<uuid::Uuid>,
        /// The user to override.
        #[arg(long)]
        user: Option<String>,
        /// The mode to force: mvp, v2 (v2_atoms) or hybrid.
        #[arg(long, conflicts_with = "clear", required_unless_present = "clear")]
        mode: Option<OverrideMode>,
        /// Remove the override.
        #[arg(long)]
        clear: bool,
        /// Why (recorded in the audit trail).
        #[arg(long)]
        reason: String,
        /// Who makes the change.
        #[arg(long, default_value = "local")]
        by: String,
        #[arg(long)]
        json: bool,
    },
    /// The audit trail, newest first.
    History {
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OverrideMode {
    Mvp,
    #[value(alias = "v2_atoms")]
    V2,
    Hybrid,
}

impl From<OverrideMode> for ExecutionMode {
    fn from(m: OverrideMode) -> ExecutionMode {
        match m {
            OverrideMode::Mvp => ExecutionMode::Mvp,
            OverrideMode::V2 => ExecutionMode::V2Atoms,
            OverrideMode::Hybrid => ExecutionMode::Hybrid,
        }
    }
}

/// First-start values of a store opened by the CLI: the environment, where the required V2
/// capability flags default to on (the local build has every V2 capability); rollout 0 and the
/// default mode keep new plans on MVP unless asked otherwise. `ENABLE_V2_*=false` in the
/// environment, `mge flags set` or `mge rollback` turn them off.
pub fn cli_defaults() -> anyhow::Result<FlagSet> {
    FlagSet::from_env(|var| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| {
                REQUIRED_CAPABILITIES
                    .contains(&var)
                    .then(|| "true".to_string())
            })
    })
    .context("reading first-start flag values from the environment")
}

/// The mode control of `store`, seeding missing flags on first start.
pub async fn open_control(store: Arc<dyn Store>) -> anyhow::Result<Arc<ModeControl>> {
    Ok(Arc::new(
        ModeControl::open(store, &cli_defaults()?, "environment")
            .await
            .context("loading feature flags")?,
    ))
}

pub fn run(cmd: FlagsCommand, store_args: &StoreArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let store = super::store::open_migrated(store_args).await?;
        let control = open_control(store.clone()).await?;
        let code = match cmd {
            FlagsCommand::List { json } => {
                let flags = control.flags().await?;
                if json {
                    println!("{}", serde_json::to_string(&flags)?);
                } else {
                    for (def, value) in flags.iter() {
                        println!(
                            "{:<36} {:<12} {}",
                            def.name,
                            value.to_string(),
                            def.description
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            FlagsCommand::Set {
                name,
                value,
                reason,
                by,
                json,
            } => match control.set_flag(&name, &value, &by, &reason).await {
                Ok(changes) => {
                    if json {
                        println!("{}", serde_json::to_string(&changes)?);
                    } else if changes.entries.is_empty() {
                        println!("{name} is already {value}: nothing changed");
                    } else {
                        for e in &changes.entries {
                            println!(
                                "{}: {} -> {} (change {})",
                                e.name,
                                e.old_value
                                    .as_ref()
                                    .map_or("unset".to_string(), |v| v.to_string()),
                                e.new_value,
                                changes.change_set
                            );
                        }
                    }
                    ExitCode::SUCCESS
                }
                Err(ModeError::Flag(e)) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
                Err(e) => return Err(e.into()),
            },
            FlagsCommand::Override {
                plan,
                user,
                mode,
                clear: _,
                reason,
                by,
                json,
            } => {
                let mode = mode.map(ExecutionMode::from);
                let modes = store.modes();
                let (changes, whose) = match (plan, user) {
                    (Some(plan), _) => {
                        store.load_plan(plan).await?;
                        let changes = modes.set_plan_override(plan, mode, &by, &reason).await?;
                        (changes, format!("plan {plan}"))
                    }
                    (None, Some(user)) => {
                        let changes = modes.set_user_override(&user, mode, &by, &reason).await?;
                        (changes, format!("user {user}"))
                    }
                    (None, None) => unreachable!("clap requires --plan or --user"),
                };
                let shown = mode.map_or("none".to_string(), |m| m.to_string());
                if json {
                    println!("{}", serde_json::to_string(&changes)?);
                } else if changes.entries.is_empty() {
                    println!("{whose}: the override is already {shown}: nothing changed");
                } else {
                    println!(
                        "{whose}: mode override {shown} (change {})",
                        changes.change_set
                    );
                }
                ExitCode::SUCCESS
            }
            FlagsCommand::History { limit, json } => {
                let audit = store.modes().flag_audit(limit).await?;
                if json {
                    println!("{}", serde_json::to_string(&audit)?);
                } else {
                    for e in &audit {
                        println!(
                            "{:>5} {} {:<36} {} -> {} by {}: {}",
                            e.id,
                            e.changed_at.format("%Y-%m-%d %H:%M:%S"),
                            e.name,
                            e.old_value
                                .as_ref()
                                .map_or("unset".to_string(), |v| v.to_string()),
                            e.new_value,
                            e.changed_by,
                            e.reason
                        );
                    }
                }
                ExitCode::SUCCESS
            }
        };
        store.close().await;
        Ok(code)
    })
}
