//! What the benches share: throwaway databases on `$DATABASE_URL`'s server, and the
//! real `shopscore serve` binary (release, built by `cargo bench`; or the one
//! `SHOPSCORE_BENCH_BINARY` names, to compare builds) as a child process.

#![allow(dead_code)] // each bench uses its own part

use std::time::Duration;

use shopscore::auth::{create_key, Role};
use sqlx::{Connection, PgConnection};
use tokio::process::{Child, Command};

/// The URL of database `db` on the bench's server.
pub fn server_url(db: &str) -> String {
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| shopscore::config::DEFAULT_DATABASE_URL.into());
    let (server, _) = base.rsplit_once('/').expect("a database URL");
    format!("{server}/{db}")
}

pub async fn drop_database(db: &str) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(&server_url("postgres")).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    Ok(())
}

/// A fresh, migrated database `db`.
pub async fn fresh_database(db: &str) -> anyhow::Result<sqlx::PgPool> {
    drop_database(db).await?;
    shopscore::db::connect_and_migrate(&server_url(db)).await
}

/// A `shopscore serve --no-scheduler` process, and a key of some role for it.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub key: String,
}

impl Server {
    /// On a fresh database, with an ingest key.
    pub async fn fresh(db: &str) -> anyhow::Result<Server> {
        fresh_database(db).await?.close().await;
        Server::on(db, Role::Ingest).await
    }

    /// On database `db` as it is, with a new key of `role` (made first, so the server's
    /// start is only its own).
    pub async fn on(db: &str, role: Role) -> anyhow::Result<Server> {
        Server::start(db, role, &["--no-scheduler"], &[]).await
    }

    /// The same with `serve`'s arguments and more environment (a scheduler, say).
    pub async fn start(
        db: &str,
        role: Role,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> anyhow::Result<Server> {
        let url = server_url(db);
        let pool = shopscore::db::connect_and_migrate(&url).await?;
        let (_, key) = create_key(&pool, role, &[], Some("bench")).await?;
        pool.close().await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        // `SHOPSCORE_BENCH_BINARY`: another build's server, to compare two builds on
        // the same workload in the same run of the machine.
        let binary = std::env::var("SHOPSCORE_BENCH_BINARY")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_shopscore").to_string());
        let child = Command::new(binary)
            .arg("serve")
            .args(args)
            .env("DATABASE_URL", &url)
            .env("SHOPSCORE_LISTEN", format!("127.0.0.1:{port}"))
            .env("SHOPSCORE_RATE_LIMIT", "100000000")
            .env("SHOPSCORE_RECOMPUTE_TIMEOUT", "3600")
            .env("RUST_LOG", "error")
            // The webhook step's receiver is on loopback.
            .env("SHOPSCORE_WEBHOOK_ALLOW_PRIVATE", "true")
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .spawn()?;
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
                if r.status().is_success() {
                    return Ok(Server { child, base, key });
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the server did not become ready")
    }

    /// Peak and current resident memory of the server process, in MiB.
    pub fn rss_mib(&self) -> (f64, f64) {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(f64::NAN, |kb| kb / 1024.0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }

    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// The number after a flag (`--shops 2000`).
pub fn number(args: &mut impl Iterator<Item = String>) -> usize {
    args.next()
        .and_then(|v| v.parse().ok())
        .expect("a number after the flag")
}

/// The comma-separated numbers after a flag (`--producers 1,4,8`).
pub fn numbers(args: &mut impl Iterator<Item = String>) -> Vec<usize> {
    args.next()
        .expect("a comma-separated list after the flag")
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().expect("a number"))
        .collect()
}

/// The bare table the COPY baselines write: keyed like `events`, nothing projected.
pub async fn create_copy_table(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    sqlx::query(
        "CREATE TABLE copy_baseline (
             shop_id text COLLATE \"C\" NOT NULL, event_id text COLLATE \"C\" NOT NULL,
             type text NOT NULL, occurred_at timestamptz NOT NULL, data jsonb NOT NULL,
             content_hash bytea NOT NULL, received_at timestamptz NOT NULL DEFAULT now(),
             PRIMARY KEY (shop_id, event_id))",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The statement that takes `csv_row`'s rows.
pub const COPY_IN: &str = "COPY copy_baseline (shop_id, event_id, type, occurred_at, data, \
                           content_hash) FROM STDIN (FORMAT csv)";

/// One event as a CSV row of `COPY_IN`, appended to `out`.
pub fn csv_row(e: &shopscore::ingest::Event, out: &mut Vec<u8>) {
    use std::io::Write;
    writeln!(
        out,
        "{},{},{},{},\"{}\",\\x{}",
        e.shop_id,
        e.event_id,
        e.kind.as_str(),
        e.occurred_at.to_rfc3339(),
        e.data.get().replace('"', "\"\""),
        hex::encode(e.content_hash)
    )
    .expect("writing to a Vec");
}

/// The demo's `market` as `demo::load` takes it (generated on a blocking thread and
/// validated), but written with one `COPY` into the bare table of a fresh database
/// `db`: what a loader that projected nothing would cost. Events/s, over the whole
/// stream including its generation, as the load is timed.
pub async fn copy_market(
    db: &str,
    market: &shopscore::demo::Marketplace,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(u64, f64)> {
    let pool = fresh_database(db).await?;
    create_copy_table(&pool).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let t = std::time::Instant::now();
    let market = *market;
    let producer = tokio::task::spawn_blocking(move || {
        let mut csv = Vec::with_capacity(8 << 20);
        for (i, item) in market.events().enumerate() {
            let e = shopscore::ingest::validate(i, &item, now).expect("the demo is valid");
            csv_row(&e, &mut csv);
            if csv.len() >= 4 << 20 {
                let full = std::mem::replace(&mut csv, Vec::with_capacity(8 << 20));
                if tx.blocking_send(full).is_err() {
                    return;
                }
            }
        }
        let _ = tx.blocking_send(csv);
    });
    let mut conn = pool.acquire().await?;
    let mut copy = conn.copy_in_raw(COPY_IN).await?;
    while let Some(csv) = rx.recv().await {
        copy.send(csv).await?;
    }
    let rows = copy.finish().await?;
    let seconds = t.elapsed().as_secs_f64();
    producer.await?;
    drop(conn);
    pool.close().await;
    drop_database(db).await?;
    Ok((rows, rows as f64 / seconds))
}

/// CPU time (user + system, seconds) used so far by process `pid` (all its threads),
/// or, with `None`, by every process named `postgres`: the backends, the WAL writer,
/// the checkpointer, so all of the database's work. Two readings around a phase give
/// its CPU cost, which is steadier from run to run than its rate on this shared
/// machine. (A process that exits between the readings drops out of the sum: take
/// them while the server's connections are open.)
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let of = |stat: &str| -> Option<(String, f64)> {
        let (open, close) = (stat.find('(')?, stat.rfind(')')?);
        let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let used = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
        Some((stat[open + 1..close].to_string(), used / ticks))
    };
    let read = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
    match pid {
        Some(pid) => read(&pid.to_string())
            .and_then(|s| of(&s))
            .map_or(0.0, |(_, t)| t),
        None => std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|d| read(d.file_name().to_str()?))
            .filter_map(|s| of(&s))
            .filter(|(name, _)| name == "postgres")
            .map(|(_, t)| t)
            .sum(),
    }
}
