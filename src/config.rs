//! Typed configuration from flags and environment (SPEC §8), validated at start.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/shopscore";

#[derive(Debug, Parser)]
#[command(
    name = "shopscore",
    version,
    about = "Grades e-commerce merchants' service from their order, chat and complaint events"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalOpts {
    /// Postgres URL; the database is created if missing.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true, hide_env_values = true)]
    pub database_url: String,
    /// Policy file; default: the built-in policy/default.toml.
    #[arg(long, env = "SHOPSCORE_POLICY", global = true)]
    pub policy: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "SHOPSCORE_LOG", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log: LogFormat,
    /// This process's name in the record of runs (`GET /v1/jobs`); default: host:pid.
    #[arg(long, env = "SHOPSCORE_REPLICA", global = true)]
    pub replica: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (and the scheduler unless disabled); applies pending migrations first.
    Serve(ServeOpts),
    /// Apply migrations and exit.
    Migrate,
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Recompute scorecards, as `POST /v1/recompute` does.
    Recompute {
        /// RFC 3339 instant; default: now.
        #[arg(long)]
        as_of: Option<String>,
        /// Shops to recompute (repeatable); default: all.
        #[arg(long = "shop")]
        shops: Vec<String>,
    },
    /// Load a synthetic marketplace and recompute. The same options give the same
    /// events, so running it again stores nothing new.
    Demo {
        /// Shops to generate.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        shops: u32,
        /// Days of history before `--end`.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=3_650))]
        days: u32,
        /// Seed of the generator.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// RFC 3339 instant the marketplace ends at (and is recomputed as of); default:
        /// now. Pin it to make runs on different days load the same events.
        #[arg(long)]
        end: Option<String>,
    },
    /// Print the OpenAPI document (the committed openapi.yaml).
    Openapi,
    /// Ask a running server's `/readyz`; exit 0 when ready, 1 otherwise. For container
    /// health checks (slim images have no curl). Reads `SHOPSCORE_LISTEN`.
    Healthcheck {
        /// The server's address; an unspecified IP (0.0.0.0, ::) means this host.
        #[arg(long, env = "SHOPSCORE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
    /// Rebuild every projection from the raw events.
    Rebuild,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (`ssk_…`) once on stdout.
    Create {
        #[arg(long, value_parser = ["admin", "ops", "ingest", "merchant"])]
        role: String,
        /// Shop a merchant key may read (repeatable).
        #[arg(long = "shop")]
        shops: Vec<String>,
        #[arg(long)]
        name: Option<String>,
        /// RFC 3339 instant the key stops working; default: never.
        #[arg(long)]
        expires_at: Option<String>,
        /// The key's own requests per minute; default: the server's.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        rate_limit: Option<u32>,
    },
    /// Tell offline whether a text (read from stdin, so that it stays out of shell
    /// history and process lists) is a shopscore key: its shape and checksum. Prints
    /// the key's id; exits 1 when it is not a key or its checksum does not match.
    Check,
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke { id: String },
}

#[derive(Debug, Clone, Args)]
pub struct ServeOpts {
    /// Address to listen on.
    #[arg(long, env = "SHOPSCORE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Do not run the scheduler in this process.
    #[arg(long)]
    pub no_scheduler: bool,
    /// Postgres URL of a read replica (a streaming standby of `DATABASE_URL`'s
    /// server): scorecard, history, ranking, tier, drill-down and run reads go there;
    /// writes, recomputes, ingest and reads right after a write stay on the primary.
    /// Default: every read on the primary.
    #[arg(long, env = "DATABASE_READ_URL")]
    pub read_database_url: Option<String>,
    /// Seconds one webhook delivery attempt may take before it counts as failed.
    #[arg(long, env = "SHOPSCORE_WEBHOOK_TIMEOUT", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhook_timeout: u64,
    /// Hours an endpoint may fail every attempt before the service disables it.
    #[arg(long, env = "SHOPSCORE_WEBHOOK_DISABLE_AFTER_HOURS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_disable_after_hours: u64,
    /// Seconds between dirty-shop recomputes.
    #[arg(long, env = "SHOPSCORE_RECOMPUTE_INTERVAL", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub recompute_interval: u64,
    /// Hours every scorecard snapshot is kept; older ones are pruned by the daily run
    /// to the last of each shop's local day.
    #[arg(long, env = "SHOPSCORE_KEEP_ALL_HOURS", default_value_t = 48, value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_all_hours: u64,
    #[command(flatten)]
    pub http: HttpOpts,
}

/// HTTP limits, shared by `serve` and the tests.
#[derive(Debug, Clone, Args)]
pub struct HttpOpts {
    /// Requests per minute per API key (a burst of this size is allowed), unless an
    /// admin gave the key its own limit. Counted per `serve` process.
    #[arg(long, env = "SHOPSCORE_RATE_LIMIT", default_value_t = 6000, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_per_minute: u32,
    /// Requests a key may send at once before the per-minute rate applies; default: the per-minute rate.
    #[arg(long, env = "SHOPSCORE_RATE_BURST")]
    pub rate_limit_burst: Option<u32>,
    /// The longest a new API key may live, in days: a key asked for without
    /// `expires_at` then expires this many days after it is made. Default: no limit.
    #[arg(long, env = "SHOPSCORE_KEY_MAX_DAYS", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub key_max_days: Option<u32>,
    /// Origins allowed to call the API from a browser (comma-separated); empty: none.
    #[arg(long, env = "SHOPSCORE_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Seconds before a request (other than recompute) is abandoned.
    #[arg(long, env = "SHOPSCORE_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: u64,
    /// Largest `POST /v1/events` body, in MiB.
    #[arg(long, env = "SHOPSCORE_MAX_INGEST_MB", default_value_t = 32)]
    pub max_ingest_mb: usize,
    /// MiB of `POST /v1/events` bodies parsed and written at once, over all requests;
    /// a request beyond it waits (see `--ingest-wait`) and then gets 503. Bounds memory.
    #[arg(long, env = "SHOPSCORE_INGEST_BUDGET_MB", default_value_t = 48, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub ingest_budget_mb: u64,
    /// Seconds an ingest request waits for room in the budget before 503.
    #[arg(long, env = "SHOPSCORE_INGEST_WAIT", default_value_t = 10)]
    pub ingest_wait: u64,
    /// Ingest statements run at once (requests that wait for one meanwhile are written
    /// together, `ingest::group`): more only make them wait on each other's row locks.
    #[arg(long, env = "SHOPSCORE_INGEST_WRITERS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub ingest_writers: u32,
    /// Attempts of a transaction that fails for a transient reason (deadlock,
    /// serialization failure, lost connection) before the client gets 503.
    #[arg(long, env = "SHOPSCORE_DB_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub db_attempts: u32,
    /// Seconds a `POST /v1/recompute` may run; past it, the run rolls back and the
    /// client gets 503. Scheduled runs have no limit (they stop only at shutdown).
    #[arg(long, env = "SHOPSCORE_RECOMPUTE_TIMEOUT", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub recompute_timeout: u64,
    /// Accept webhook endpoints on private, loopback and link-local addresses (for
    /// tests and a local demo; refused by default, so that a key allowed to add
    /// endpoints cannot make the service call into its own network).
    #[arg(long, env = "SHOPSCORE_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
}

impl Default for HttpOpts {
    fn default() -> Self {
        HttpOpts {
            rate_limit_per_minute: 6000,
            rate_limit_burst: None,
            key_max_days: None,
            cors_origins: Vec::new(),
            request_timeout: 30,
            max_ingest_mb: 32,
            ingest_budget_mb: 48,
            ingest_wait: 10,
            ingest_writers: 4,
            db_attempts: 5,
            recompute_timeout: 600,
            webhook_allow_private: false,
        }
    }
}
