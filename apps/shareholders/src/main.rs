//! `shareholders`: configuration, then adapters, then the service, then its tasks.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = shareholders::cli::Cli::parse();
    shareholders::telemetry::init(cli.log_format);
    match shareholders::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "shareholders failed");
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
