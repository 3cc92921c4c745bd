//! `youmeyou admin …`: operator commands that work on the database directly (no server needed):
//! list users, change a user's tier. A running server picks a tier change up within the tier
//! cache's lifetime (30 s).

use crate::server::auth::credentials::normalize_email;
use crate::server::config::DatabaseTarget;
use crate::server::limits::Tier;
use crate::server::store::Store;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Data directory holding the SQLite database.
    #[arg(
        long,
        env = "YOUMEYOU_DATA_DIR",
        default_value = "./data",
        value_name = "DIR",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://…`); overrides the data directory's database.
    #[arg(
        long,
        env = "DATABASE_URL",
        value_name = "URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage accounts.
    #[command(subcommand)]
    Users(UsersCommand),
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// List every account: id, email, tier, creation time.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Change an account's tier.
    SetTier {
        /// The account's email.
        email: String,
        /// `free` or `premium`.
        #[arg(value_parser = parse_tier)]
        tier: Tier,
    },
}

fn parse_tier(s: &str) -> Result<Tier, String> {
    s.parse::<Tier>().map_err(|e| e.to_string())
}

fn database_url(args: &AdminArgs) -> Result<DatabaseTarget, String> {
    let target = DatabaseTarget::parse(args.database_url.as_deref(), &args.data_dir)
        .map_err(|e| format!("invalid value for --database-url (DATABASE_URL): {e}"))?;
    if args
        .database_url
        .as_deref()
        .is_none_or(|u| u.trim().is_empty())
    {
        let path = args.data_dir.join("youmeyou.db");
        if !path.exists() {
            return Err(format!(
                "no database at {} (set --data-dir / YOUMEYOU_DATA_DIR or DATABASE_URL)",
                path.display()
            ));
        }
    }
    Ok(target)
}

/// Runs an admin command; exit code 0 on success, 1 when the request failed (unknown user,
/// database error), 2 for bad arguments.
pub fn main(args: AdminArgs) -> ExitCode {
    let url = match database_url(&args) {
        Ok(url) => url,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let store = match url.open().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::FAILURE;
            }
        };
        let code = match args.command {
            AdminCommand::Users(UsersCommand::List { json }) => list(&store, json).await,
            AdminCommand::Users(UsersCommand::SetTier { email, tier }) => {
                set_tier(&store, &email, tier).await
            }
        };
        store.close().await;
        code
    })
}

async fn list(store: &Arc<dyn Store>, json: bool) -> ExitCode {
    let users = match store.list_users().await {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: cannot list users: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        for u in &users {
            println!(
                "{}",
                serde_json::json!({"id": u.id, "email": u.email, "tier": u.tier, "createdAt": u.created_at})
            );
        }
    } else {
        println!("{:<36}  {:<8}  {:<24}  EMAIL", "ID", "TIER", "CREATED");
        for u in &users {
            println!(
                "{:<36}  {:<8}  {:<24}  {}",
                u.id, u.tier, u.created_at, u.email
            );
        }
        println!("{} user(s)", users.len());
    }
    ExitCode::SUCCESS
}

async fn set_tier(store: &Arc<dyn Store>, email: &str, tier: Tier) -> ExitCode {
    let email = match normalize_email(email) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match store.set_tier(&email, tier).await {
        Ok(Some(user)) => {
            println!("{} is now {}", user.email, user.tier);
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("error: no account with the email {email}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: cannot change the tier: {e}");
            ExitCode::FAILURE
        }
    }
}
