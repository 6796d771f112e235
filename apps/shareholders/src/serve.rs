//! `shareholders serve`: the HTTP API and, unless told not to, the outbox relay and the
//! projector, all stopped together by one shutdown signal.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use shareholders_http::{HttpConfig, ServerSettings, routes};
use shareholders_ports::{RelaySettings, Service, run_pruning, run_relay};
use shareholders_rabbitmq::run_consumer;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::cli::{ServeArgs, StorageArgs};
use crate::stack::Stack;

/// How far behind the read model the register held in memory may answer a read that waits
/// for no position (`?min_position=`): under load, the read model's log of changes is asked
/// at most once in this time instead of once a read. A read that waits for a position always
/// sees it.
const HELD_FRESH_WITHIN: Duration = Duration::from_millis(50);

/// The largest request body the API reads.
pub const BODY_LIMIT: u64 = 64 * 1024;

/// A running service.
#[derive(Debug)]
pub struct Running {
    /// The address the API listens on (useful with port 0).
    pub addr: SocketAddr,
    /// `https` with TLS, `http` otherwise.
    pub scheme: &'static str,
    pub stack: Stack,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<(&'static str, anyhow::Result<()>)>,
}

impl Running {
    /// Signals every task to stop, and waits for them.
    ///
    /// # Errors
    /// The first task that failed.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok((name, Err(error))) => {
                    tracing::error!(task = name, error = %format!("{error:#}"), "task failed");
                    first_error.get_or_insert(error.context(name));
                }
                Ok((name, Ok(()))) => tracing::info!(task = name, "stopped"),
                Err(join) => {
                    first_error.get_or_insert(anyhow::Error::new(join));
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Waits until any task ends by itself (which only happens on failure).
    pub async fn any_task_ended(&mut self) -> Option<&'static str> {
        match self.tasks.join_next().await {
            Some(Ok((name, result))) => {
                if let Err(error) = result {
                    tracing::error!(task = name, error = %format!("{error:#}"), "task failed");
                }
                Some(name)
            }
            Some(Err(_)) => Some("a task"),
            None => None,
        }
    }
}

/// Connects the stores and starts the tasks.
///
/// # Errors
/// When the configuration is unsafe (a public address without API tokens), or a store or the
/// listening socket cannot be had.
pub async fn start(storage: &StorageArgs, args: ServeArgs) -> anyhow::Result<Running> {
    if !args.listen.ip().is_loopback() && args.api_tokens.iter().all(|t| t.trim().is_empty()) {
        anyhow::bail!(
            "refusing to listen on {} without API tokens: set SHAREHOLDERS_API_TOKENS (or --api-tokens) \
             so that writes need a bearer token, or listen on a loopback address",
            args.listen
        );
    }
    // Before any task records anything.
    let metrics = crate::metrics::recorder();
    let stack = Stack::connect(storage).await?;
    let (shutdown, signal) = watch::channel(false);
    let mut tasks = JoinSet::new();

    if !args.no_relay {
        let outbox = stack.outbox();
        let publisher = stack.publisher().await?;
        let signal = signal.clone();
        tasks.spawn(async move {
            run_relay(outbox, publisher, RelaySettings::default(), signal).await;
            ("outbox relay", Ok(()))
        });
    }
    // The relay's process prunes the write model; the process that applies events (the
    // projector, or without a broker the relay's in-process publisher) prunes the read
    // model's applied positions (see `crate::retention`).
    let applies = match stack.broker {
        Some(_) => !args.no_projector,
        None => !args.no_relay,
    };
    let retained = crate::retention::retained(&stack, !args.no_relay, applies);
    if !retained.is_empty() {
        let (settings, signal) = (args.retention.settings(), signal.clone());
        tasks.spawn(async move {
            run_pruning(retained, settings, signal).await;
            ("pruning", Ok(()))
        });
    }
    if let (Some(broker), false) = (&stack.broker, args.no_projector) {
        let (url, topology, settings) = (
            broker.url.clone(),
            broker.topology.clone(),
            broker.consumer_settings(),
        );
        let projection = stack.projection();
        let signal = signal.clone();
        tasks.spawn(async move {
            let result = run_consumer(&url, topology, projection, settings, signal).await;
            ("projector", result)
        });
    }

    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(shareholders_http::tls_config(cert, key)?),
        _ => None,
    };
    let settings = ServerSettings {
        header_read_timeout: Duration::from_secs(args.header_read_timeout),
        max_connections: args.max_connections,
        tls,
    };
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    let config = HttpConfig {
        api_tokens: args
            .api_tokens
            .into_iter()
            .filter(|t| !t.trim().is_empty())
            .collect(),
        body_limit: BODY_LIMIT,
    };
    let operations = crate::metrics::operations(&stack, metrics)?;
    let service = if args.reads_from_read_model {
        stack.service()
    } else {
        let held = stack
            .stakes_in_memory()
            .fresh_within(HELD_FRESH_WITHIN)
            .holding_years(stack.year_read_model(), args.held_years);
        // Until it has loaded, every read goes to the read model.
        held.load_in_background();
        Service::new(stack.write_store(), Arc::new(held))
    };
    let api = routes(service, config, operations);
    let mut http_signal = signal.clone();
    tasks.spawn(async move {
        shareholders_http::serve(listener, api, settings, async move {
            let _ = http_signal.wait_for(|stop| *stop).await;
        })
        .await;
        ("http", Ok(()))
    });
    tracing::info!(%addr, scheme, "listening");
    Ok(Running {
        addr,
        scheme,
        stack,
        shutdown,
        tasks,
    })
}

/// `serve`: runs until SIGINT or SIGTERM, then shuts down gracefully.
///
/// # Errors
/// As [`start`], or when a task fails.
pub async fn serve_until_signal(
    storage: &StorageArgs,
    args: ServeArgs,
) -> anyhow::Result<ExitCode> {
    let mut running = start(storage, args).await?;
    println!(
        "shareholders listening on {}://{}",
        running.scheme, running.addr
    );
    let failed = tokio::select! {
        () = shutdown_signal() => None,
        name = running.any_task_ended() => name,
    };
    if let Some(name) = failed {
        tracing::error!(task = name, "a task stopped unexpectedly; shutting down");
    } else {
        tracing::info!("shutting down");
    }
    running.stop().await?;
    Ok(if failed.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Completes on SIGINT or SIGTERM (what a platform sends to stop a process).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
