//! The command line: `youmeyou serve`, `--help`, `--version`. Errors are one line that names
//! the flag, and the exit code says what kind of failure it was.

use crate::server::config::{ServeArgs, ServeConfig};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "youmeyou",
    version,
    about = "YouMeYou — an AI system-design workspace. One binary serves the web UI and the API.",
    after_help = "Run `youmeyou serve` and open http://127.0.0.1:3000. Every flag also reads the environment variable shown in [env: …]."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI and the API.
    Serve(Box<ServeArgs>),
    /// Operator commands on the database (accounts and tiers).
    Admin(crate::server::admin::AdminArgs),
}

/// Parses the process arguments and runs the chosen command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            use clap::error::ErrorKind;
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = err.print();
                return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // One clear line; clap's own text names the flag and the value.
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or("error: invalid arguments");
            eprintln!("{first} (see `youmeyou --help`)");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Admin(args) => crate::server::admin::main(args),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let config = match ServeConfig::from_args(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = crate::server::datadir::prepare(&config.data_dir) {
        eprintln!(
            "error: invalid value for --data-dir (YOUMEYOU_DATA_DIR): cannot create {}: {e}",
            config.data_dir.display()
        );
        return ExitCode::from(2);
    }
    crate::server::telemetry::init(&config.log, config.log_format);
    tracing::debug!(?config, "configuration");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "invalid value for --addr (YOUMEYOU_ADDR): cannot listen on {}: {e}",
                    config.addr
                )
            })?;
        crate::server::run(config, listener, crate::server::shutdown::signal()).await
    });
    // Spans of the last moments (a run's spans are flushed when it ends) reach the collector.
    crate::server::telemetry::otel::shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
