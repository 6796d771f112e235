//! The `shareholders` binary as a library, so that tests can run the whole service in-process.
//!
//! Start-up order: configuration ([`cli`]), then adapters ([`stack::Stack`]), then the service,
//! then the long-running tasks (HTTP server, outbox relay, projector) under one shutdown signal.

pub mod cli;
pub mod commands;
pub mod export;
pub mod metrics;
pub mod retention;
pub mod serve;
pub mod stack;
pub mod telemetry;
pub mod trust;

use std::process::ExitCode;

use cli::{Cli, Command, ServeArgs};

/// Runs the command line's subcommand to completion.
///
/// # Errors
/// When configuration, a store or the command itself fails.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let storage = cli.storage;
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve::serve_until_signal(&storage, args).await,
        Command::Migrate => commands::migrate(&storage).await,
        Command::Relay(args) => commands::relay(&storage, args).await,
        Command::Project(args) => commands::project(&storage, args).await,
        Command::Verify { show, json } => commands::verify(&storage, show, json).await,
        Command::Rebuild { batch } => commands::rebuild(&storage, batch).await,
        Command::Import(args) => commands::import(&storage, args).await,
        Command::ExportBods(args) => export::export_bods(&storage, args).await,
        Command::Generate {
            rows,
            seed,
            out,
            years: Some(years),
        } => commands::generate_series(rows, seed, years, out.as_deref()),
        Command::Generate {
            rows, seed, out, ..
        } => commands::generate(rows, seed, out.as_deref()),
    }
}
