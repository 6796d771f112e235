//! The command line: one binary, several subcommands, one storage configuration.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use shareholders_domain::RegisterYear;

/// The Norwegian shareholder register as a service.
///
/// With no storage configured, everything runs on the embedded default: one SQLite file in
/// --data-dir, no server needed. Set the URLs below to run on the real stack (PostgreSQL for
/// commands, RabbitMQ for events, MongoDB for queries); anything not set falls back to the
/// embedded default.
#[derive(Debug, Parser)]
#[command(name = "shareholders", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// How log lines are written to standard error: `text` for people, `json` for one JSON
    /// object per line (with the request id of the request it belongs to). `RUST_LOG` filters
    /// them (default `info`).
    #[arg(
        long,
        env = "SHAREHOLDERS_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How log lines are written.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where data lives; every subcommand takes the same options.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Directory of the embedded default's SQLite file.
    #[arg(
        long,
        env = "SHAREHOLDERS_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// PostgreSQL write model, e.g. postgres://user:pass@host:5432/shareholders.
    #[arg(
        long,
        env = "SHAREHOLDERS_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// RabbitMQ broker for events, e.g. amqp://user:pass@host:5672/%2f (amqps:// for TLS).
    #[arg(
        long,
        env = "SHAREHOLDERS_AMQP_URL",
        global = true,
        hide_env_values = true
    )]
    pub amqp_url: Option<String>,
    /// Prefix of the exchange and queue names on the broker.
    #[arg(
        long,
        env = "SHAREHOLDERS_AMQP_PREFIX",
        default_value = "shareholders",
        global = true
    )]
    pub amqp_prefix: String,
    /// MongoDB read model, e.g. mongodb://user:pass@host:27017.
    #[arg(
        long,
        env = "SHAREHOLDERS_MONGODB_URI",
        global = true,
        hide_env_values = true
    )]
    pub mongodb_uri: Option<String>,
    /// MongoDB database of the read model.
    #[arg(
        long,
        env = "SHAREHOLDERS_MONGODB_DATABASE",
        default_value = "shareholders",
        global = true
    )]
    pub mongodb_database: String,
    /// A PEM file of CA certificates trusted, besides the system's roots, for TLS to RabbitMQ
    /// (amqps://), PostgreSQL (sslmode=verify-full or verify-ca in the URL) and MongoDB
    /// (tls=true in the URI).
    #[arg(long, env = "SHAREHOLDERS_CA_FILE", global = true)]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API, and in-process the outbox relay and the projector (the default).
    Serve(ServeArgs),
    /// Apply the database migrations and create the read model's indexes, then exit.
    Migrate,
    /// Run only the outbox relay: publish recorded events to the broker.
    Relay(WorkerArgs),
    /// Run only the projector: apply events from the broker to the read model. Several may run.
    Project(WorkerArgs),
    /// Compare the write model with the read model; exit 1 if they differ.
    Verify {
        /// Print at most this many differences in full (then counts per record kind).
        #[arg(long, default_value_t = 50)]
        show: usize,
        /// One JSON object on standard output: the differences (at most --show), the counts per
        /// record kind and the total.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the read model from the write model.
    Rebuild {
        /// Documents per bulk write.
        #[arg(long, default_value_t = 5000)]
        batch: usize,
    },
    /// Import a register extract (semicolon-separated aksjeeiebok CSV).
    Import(ImportArgs),
    /// Write the whole register as Beneficial Ownership Data Standard 0.4 statements: one JSON
    /// array, every organisation, then every person, then each company's relationships, each
    /// statement once, as GET /api/{orgnr}/bods gives a company's.
    ExportBods(ExportBodsArgs),
    /// Write a synthetic register extract with the real data's shape.
    Generate {
        /// Number of data rows.
        #[arg(long)]
        rows: u64,
        /// Seed: the same seed gives the same file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file; standard output when absent. With --years, the folder the years'
        /// files (aksjeeiebok__<year>.csv) are written to.
        #[arg(long)]
        out: Option<PathBuf>,
        /// A series of years, FIRST..LAST (for example 2019..2023): one extract per year, each
        /// the year before with realistic churn (changed counts, owners exiting and entering,
        /// companies founded and dissolved, persons moving, new issues; alpha-3 country codes
        /// before the last two years).
        #[arg(long, value_parser = parse_years, requires = "out")]
        years: Option<std::ops::RangeInclusive<u16>>,
    },
}

/// What a `relay` or `project` process serves besides its work.
#[derive(Debug, Clone, Default, Args)]
pub struct WorkerArgs {
    /// Serve /health/live, /health/ready and /metrics on this address (for example
    /// 0.0.0.0:9090); nothing is served without it.
    #[arg(long, env = "SHAREHOLDERS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub retention: crate::retention::RetentionArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "SHAREHOLDERS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Bearer tokens that may write, comma-separated. Required on a non-loopback address.
    #[arg(
        long,
        env = "SHAREHOLDERS_API_TOKENS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub api_tokens: Vec<String>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key. Plain HTTP is then
    /// refused.
    #[arg(long, env = "SHAREHOLDERS_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "SHAREHOLDERS_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The most connections served at once; more wait until one closes.
    #[arg(long, env = "SHAREHOLDERS_MAX_CONNECTIONS", default_value_t = shareholders_http::server::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds a client may take to send a request's headers (or to start its next request
    /// on a kept-alive connection, or to finish a TLS handshake) before it is disconnected.
    #[arg(long, env = "SHAREHOLDERS_HEADER_READ_TIMEOUT", default_value_t = shareholders_http::server::DEFAULT_HEADER_READ_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: u64,
    /// Do not run the outbox relay in this process.
    #[arg(long)]
    pub no_relay: bool,
    /// Do not run the projector in this process.
    #[arg(long)]
    pub no_projector: bool,
    /// Answer every read from the read model (the ownership graph a level at a time), instead
    /// of holding the live register's holdings, organisations and names in memory, kept
    /// current by the read model's log of changes. Also spelt --graph-from-read-model.
    #[arg(long, alias = "graph-from-read-model")]
    pub reads_from_read_model: bool,
    /// Imported years whose ownership graph is held in memory beside the live register, so
    /// that a year's ultimate and beneficial owners and ultimate holdings are computed in
    /// memory: the years asked for most recently, each loaded in the background the first
    /// time it is asked for (and read from its read model meanwhile). 0 holds none. A year of
    /// 3 million holdings costs about 84 MB.
    #[arg(long, env = "SHAREHOLDERS_HELD_YEARS", default_value_t = 1)]
    pub held_years: usize,
    #[command(flatten)]
    pub retention: crate::retention::RetentionArgs,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            api_tokens: Vec::new(),
            tls_cert: None,
            tls_key: None,
            max_connections: shareholders_http::server::DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: shareholders_http::server::DEFAULT_HEADER_READ_TIMEOUT.as_secs(),
            no_relay: false,
            no_projector: false,
            reads_from_read_model: false,
            held_years: 1,
            retention: crate::retention::RetentionArgs::default(),
        }
    }
}

fn parse_years(input: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let (first, last) = input
        .split_once("..")
        .ok_or_else(|| format!("years are FIRST..LAST, as 2019..2023, not {input:?}"))?;
    let (first, last) = (parse_year(first)?, parse_year(last)?);
    if first > last {
        return Err(format!("{first} comes after {last}"));
    }
    Ok(first.get()..=last.get())
}

fn parse_year(input: &str) -> Result<RegisterYear, String> {
    RegisterYear::parse(input).map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The extract.
    pub file: PathBuf,
    /// The register year; by default read from the file name (aksjeeiebok__2024_….csv).
    /// Importing a year again replaces that year; importing the newest year moves the live
    /// register to it.
    #[arg(long, value_parser = parse_year)]
    pub year: Option<RegisterYear>,
    /// Where rejected lines are reported, when a line is rejected; by default in the data
    /// directory, as <file>.rejects.tsv.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Lines per batch handed to the store.
    #[arg(long, default_value_t = 10_000)]
    pub batch: usize,
    /// Do not rebuild the read model afterwards.
    #[arg(long)]
    pub no_rebuild: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ExportBodsArgs {
    /// The register year; by default the live register (which purchases may change while it is
    /// written: a year's file is consistent).
    #[arg(long, value_parser = parse_year)]
    pub year: Option<RegisterYear>,
    /// The file written (through FILE.partial, renamed once complete).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}
