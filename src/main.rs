use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use shopscore::config::{Cli, Command, KeysCommand};
use shopscore::{api, auth, db, demo, healthcheck, jobs, policy::Policy, server};

fn main() -> anyhow::Result<()> {
    tune_malloc();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    shopscore::telemetry::init_logging(cli.global.log);
    if let Command::Healthcheck { listen, timeout } = cli.command {
        let ready = healthcheck::ready(listen, std::time::Duration::from_secs(timeout)).await;
        std::process::exit(if ready { 0 } else { 1 });
    }
    if let Command::Keys(KeysCommand::Check) = cli.command {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        let (line, ok) = match auth::check_key(text.trim()) {
            auth::KeyCheck::Valid { id } => (format!("a shopscore key, id {id}, checksum valid"), true),
            auth::KeyCheck::Unchecked { id } => (
                format!("a shopscore key from before checksums, id {id} (only the database can tell more)"),
                true,
            ),
            auth::KeyCheck::BadChecksum => ("shaped like a shopscore key, but its checksum does not match: mistyped or made up".into(), false),
            auth::KeyCheck::NotAKey => ("not a shopscore key".into(), false),
        };
        println!("{line}");
        std::process::exit(if ok { 0 } else { 1 });
    }
    if let Command::Openapi = cli.command {
        print!("{}", shopscore::router::openapi_yaml());
        return Ok(());
    }
    let policy = Arc::new(Policy::load(cli.global.policy.as_deref())?);
    let replica = cli
        .global
        .replica
        .clone()
        .unwrap_or_else(jobs::runs::default_replica);
    let pool = db::connect_and_migrate(&cli.global.database_url)
        .await
        .context("connecting to the database")?;
    match cli.command {
        Command::Serve(opts) => server::serve(pool, policy, replica, opts).await?,
        Command::Migrate => println!("migrations applied"),
        Command::Keys(KeysCommand::Create {
            role,
            shops,
            name,
            expires_at,
            rate_limit,
        }) => {
            let role = auth::Role::parse(&role).expect("clap checked the role");
            api::keys::check_new_key(role, &shops, name.as_deref())
                .map_err(|(field, m)| anyhow::anyhow!("{field}: {m}"))?;
            let expires_at = expires_at
                .map(|t| chrono::DateTime::parse_from_rfc3339(&t))
                .transpose()
                .context("--expires-at must be an RFC 3339 instant")?
                .map(|t| t.with_timezone(&chrono::Utc));
            let terms = auth::KeyTerms {
                shops: &shops,
                name: name.as_deref(),
                expires_at,
                rate_limit_per_minute: rate_limit,
            };
            let (_, key) = auth::create_key_with(&pool, role, terms).await?;
            println!("{key}");
        }
        Command::Keys(KeysCommand::List) => {
            for k in auth::list_keys(&pool, None, i64::MAX).await? {
                println!("{}", serde_json::to_string(&k)?);
            }
        }
        Command::Keys(KeysCommand::Revoke { id }) => match auth::revoke_key(&pool, &id).await? {
            Some(k) => println!("{}", serde_json::to_string(&k)?),
            None => anyhow::bail!("no key with id {id}"),
        },
        Command::Recompute { as_of, shops } => {
            let as_of = instant_flag("--as-of", as_of, chrono::Utc::now(), &policy)?;
            let ids = (!shops.is_empty()).then_some(shops);
            let clock = shopscore::clock::SystemClock;
            let stop = jobs::recompute::Stop::never();
            let out = jobs::runs::recompute_on_record(
                &pool,
                &policy,
                &clock,
                &replica,
                as_of,
                ids.as_deref(),
                &stop,
            )
            .await?;
            println!("{}", serde_json::to_string(&out)?);
        }
        Command::Demo {
            shops,
            days,
            seed,
            end,
        } => {
            let now = chrono::Utc::now();
            // Recomputed as of `end`: the same range as `--as-of`.
            let end = instant_flag("--end", end, now, &policy)?;
            // Ingest refuses events more than 24 h ahead (SPEC §2).
            anyhow::ensure!(
                end <= now + chrono::Duration::hours(24),
                "--end must be at most 24 h after now: later events would be refused"
            );
            let opts = demo::DemoOptions {
                shops: shops as usize,
                days: i64::from(days),
                seed,
                end,
            };
            // Drawn on a terminal only (indicatif hides it otherwise).
            let bar =
                indicatif::ProgressBar::new(0).with_style(indicatif::ProgressStyle::with_template(
                    "{bar:40} {human_pos}/{human_len} shop-days  {msg}  ETA {eta}",
                )?);
            let out = demo::run(&pool, &policy, &opts, now, Some(&bar)).await?;
            println!(
                "demo marketplace: {shops} shops (demo-shop-000 …), {days} days to {}, seed {seed}\n\
                 events: {} generated, {} stored now, {} already stored\n\
                 recomputed {} shops as of {} in {} ms\n\n\
                 next:\n  \
                 shopscore keys create --role admin --name me        # prints a key once\n  \
                 shopscore serve\n  \
                 curl -s localhost:8080/v1/shops/demo-shop-000/scorecard -H \"Authorization: Bearer $KEY\"\n  \
                 curl -s 'localhost:8080/v1/shops?limit=5' -H \"Authorization: Bearer $KEY\"",
                end.to_rfc3339(),
                out.events,
                out.accepted,
                out.duplicates,
                out.recompute.shops_scored,
                out.recompute.as_of,
                out.recompute.duration_ms,
            );
        }
        Command::Rebuild => {
            let n = shopscore::ingest::project::rebuild(&pool).await?;
            println!("rebuilt projections from {n} events");
        }
        Command::Openapi | Command::Healthcheck { .. } | Command::Keys(KeysCommand::Check) => {
            unreachable!("handled above")
        }
    }
    Ok(())
}

/// An RFC 3339 `as_of`-like flag: checked against the range a recompute accepts
/// (SPEC §1); `now` when absent.
fn instant_flag(
    flag: &str,
    value: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
    policy: &Policy,
) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let Some(s) = value else {
        return Ok(now);
    };
    let t = chrono::DateTime::parse_from_rfc3339(&s)
        .with_context(|| format!("{flag} must be RFC 3339"))?
        .into();
    shopscore::time::check_as_of(t, now, policy.tz).map_err(|m| anyhow::anyhow!("{flag} {m}"))?;
    Ok(t)
}

/// glibc's allocator keeps freed memory: its mmap threshold rises to the size of the
/// largest block freed (up to 32 MiB), after which multi-MiB ingest buffers come from
/// per-thread arenas and stay resident after the request. A fixed threshold returns
/// every block over 256 KiB to the system when freed, and two arenas bound the rest;
/// with the ingest budget this keeps the service's memory near what is in flight.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called once, before any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
