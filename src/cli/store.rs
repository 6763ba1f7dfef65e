//! Opening the store named by `--database-url`, and `mge migrate up|down|status`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use mge_store::Store;

use super::StoreArgs;

/// Opens the store and brings its schema up to date.
pub async fn open_migrated(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    let store = open(args).await?;
    if args.no_migrate {
        return Ok(store);
    }
    store
        .migrate_up()
        .await
        .with_context(|| format!("migrating {}", redact(&args.database_url)))?;
    Ok(store)
}

pub async fn open(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    let store = mge_store::open(&args.database_url)
        .await
        .with_context(|| format!("opening the store at {}", redact(&args.database_url)))?;
    Ok(Arc::from(store))
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Apply every pending migration.
    Up,
    /// Revert the newest applied migration.
    Down,
    /// List the migrations and whether each is applied.
    Status,
}

pub fn run(cmd: MigrateCommand, store_args: &StoreArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async {
        let store = open(store_args).await?;
        match cmd {
            MigrateCommand::Up => {
                store.migrate_up().await?;
                println!(
                    "migrated {} to the latest version",
                    redact(&store_args.database_url)
                );
            }
            MigrateCommand::Down => match store.migrate_down().await? {
                Some(version) => println!("reverted migration {version:04}"),
                None => println!("nothing to revert"),
            },
            MigrateCommand::Status => {
                for m in store.migration_status().await? {
                    let state = if m.applied { "applied" } else { "pending" };
                    println!("{:04} {state:8} {}", m.version, m.description);
                }
            }
        }
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            redact("postgres://postgres@h/db"),
            "postgres://postgres@h/db"
        );
        assert_eq!(redact("sqlite://mge.db"), "sqlite://mge.db");
    }
}
