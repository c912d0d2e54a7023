//! Connecting to Postgres: create the database when missing, apply migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connects (creating the database if it does not exist) and applies migrations.
pub async fn connect_and_migrate(url: &str) -> anyhow::Result<PgPool> {
    connect_and_migrate_with(url, 16).await
}

pub async fn connect_and_migrate_with(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let pool = connect(url, max_connections).await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// One round trip to the database (readiness).
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/ping.sql"))
        .execute(pool)
        .await
        .map(drop)
}

/// Whether `e` says the server could not be reached (rather than that the statement
/// failed there): no connection in time, a closed pool, TLS, or a connection lost (an
/// I/O error, class 08, an admin shutdown). These are the errors that are a 503
/// (`error.rs`).
pub fn unreachable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_)
    ) || matches!(retry::classify(e), Some(retry::Transient::ConnectionLost))
}

/// The pool for reads that may lag (`DATABASE_READ_URL`, a streaming replica): no
/// migrations (a standby cannot write; the primary's arrive by replication), sessions
/// read-only, and lazy, so that `serve` starts while the replica is down.
pub fn connect_read(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let opts = PgConnectOptions::from_str(url)?
        .options([
            ("jit", "off"),
            ("random_page_cost", "1.1"),
            ("default_transaction_read_only", "on"),
        ])
        .log_statements(tracing::log::LevelFilter::Debug);
    Ok(pool_options(max_connections).connect_lazy_with(opts))
}

/// What every pool of the service shares: its size, and 5 s to wait for a connection.
fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
}

/// Seconds the read pool's server is behind its primary (0 when it is not a standby,
/// or has replayed everything it received).
pub async fn replica_lag(pool: &PgPool) -> Result<f64, sqlx::Error> {
    sqlx::query_scalar(include_str!("sql/replica_lag.sql"))
        .fetch_one(pool)
        .await
}

/// Another pool to the server `pool` connects to, with the same options, opening its
/// connections on first use (in the runtime that uses them: `jobs::runtime`).
pub fn another_pool(pool: &PgPool, max_connections: u32) -> PgPool {
    pool_options(max_connections)
        .connect_lazy_with(PgConnectOptions::clone(&pool.connect_options()))
}

pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    // No JIT: the service's statements are many and mid-sized, where compiling costs
    // more than it saves (BENCHMARKS.md).
    // Random reads priced as on SSD or in cache (1.1, the usual SSD setting, against
    // Postgres' default of 4, a spinning disk): the indexes that hand a batch's reviews
    // and ratings over in order (migration 0010) then win over a bitmap scan and a
    // sort, as they do in fact (BENCHMARKS.md).
    let opts = PgConnectOptions::from_str(url)?
        .options([("jit", "off"), ("random_page_cost", "1.1")])
        .log_statements(tracing::log::LevelFilter::Debug);
    create_database_if_missing(&opts).await?;
    Ok(pool_options(max_connections).connect_with(opts).await?)
}

async fn create_database_if_missing(opts: &PgConnectOptions) -> anyhow::Result<()> {
    let Some(name) = opts.get_database().map(str::to_string) else {
        return Ok(());
    };
    match sqlx::PgConnection::connect_with(opts).await {
        Ok(c) => {
            c.close().await?;
            Ok(())
        }
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            let mut admin =
                sqlx::PgConnection::connect_with(&opts.clone().database("postgres")).await?;
            let quoted = format!("\"{}\"", name.replace('"', "\"\""));
            match sqlx::query(&format!("CREATE DATABASE {quoted}"))
                .execute(&mut admin)
                .await
            {
                Ok(_) => {}
                // Another process created it meanwhile.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
                Err(e) => return Err(e.into()),
            }
            admin.close().await?;
            tracing::info!(database = %name, "created database");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

pub mod locks;
pub mod retry;
