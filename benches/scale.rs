//! A scale run: ingest a synthetic marketplace over HTTP-free library calls, then a full
//! recompute, and print the figures. Not a timed test: it prints, you compare.
//!
//!     cargo bench --bench scale -- [shops] [days] [orders_per_day]
//!
//! The baseline measured in the same run is a bare `INSERT … SELECT FROM unnest` of the
//! same events into a scratch table, so the ingest figure reads as a ratio of what
//! Postgres itself takes to take in those rows.

use std::time::Instant;

use shopscore::ingest::{validate, write_batch};
use shopscore::jobs::recompute::{recompute, Stop};
use shopscore::policy::Policy;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (shops, days, per_day) = (
        args.first().copied().unwrap_or(200),
        args.get(1).copied().unwrap_or(30),
        args.get(2).copied().unwrap_or(8),
    );
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| shopscore::config::DEFAULT_DATABASE_URL.into());
    let url = format!("{}_bench", base);
    {
        let admin = sqlx::PgPool::connect(
            &base
                .rsplit_once('/')
                .map(|(s, _)| format!("{s}/postgres"))
                .unwrap(),
        )
        .await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            url.rsplit('/').next().unwrap()
        ))
        .execute(&admin)
        .await?;
    }
    let pool = shopscore::db::connect_and_migrate(&url).await?;
    let _ = shopscore::app::prometheus(); // install the recorder the recompute reports to
    let policy = Policy::default_policy();

    let t = Instant::now();
    let items = shopscore::demo::generate(shops, days as i64, per_day, 1, chrono::Utc::now());
    let now = chrono::Utc::now();
    let events: Vec<_> = items
        .iter()
        .enumerate()
        .map(|(i, v)| validate(i, v, now).expect("valid"))
        .collect();
    println!(
        "generated+validated {} events for {shops} shops in {:.2?}",
        events.len(),
        t.elapsed()
    );

    // Baseline: the raw rows alone into an unindexed scratch table.
    sqlx::query("CREATE UNLOGGED TABLE scratch (shop_id text, event_id text, type text, occurred_at timestamptz, data jsonb)").execute(&pool).await?;
    let t = Instant::now();
    for chunk in events.chunks(10_000) {
        let (s, e, k, o, d): (Vec<_>, Vec<_>, Vec<_>, Vec<_>, Vec<_>) = chunk.iter().fold(
            Default::default(),
            |mut acc: (Vec<&str>, Vec<&str>, Vec<&str>, Vec<_>, Vec<_>), ev| {
                acc.0.push(&ev.shop_id);
                acc.1.push(&ev.event_id);
                acc.2.push(ev.kind.as_str());
                acc.3.push(ev.occurred_at);
                acc.4.push(sqlx::types::Json(&ev.data));
                acc
            },
        );
        sqlx::query("INSERT INTO scratch SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])")
            .bind(&s).bind(&e).bind(&k).bind(&o).bind(&d).execute(&pool).await?;
    }
    let baseline = t.elapsed();

    let t = Instant::now();
    for chunk in events.chunks(10_000) {
        write_batch(&pool, chunk, &Default::default())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let ingest = t.elapsed();
    println!(
        "ingest: {:.0} events/s ({:.2?}); baseline raw insert {:.2?}; ratio {:.2}x",
        events.len() as f64 / ingest.as_secs_f64(),
        ingest,
        baseline,
        ingest.as_secs_f64() / baseline.as_secs_f64()
    );

    let t = Instant::now();
    let out = recompute(&pool, &policy, now, now, None, &Stop::never()).await?;
    println!(
        "full recompute: {} shops in {:.2?} ({:.1} ms/shop)",
        out.shops_scored,
        t.elapsed(),
        t.elapsed().as_secs_f64() * 1000.0 / out.shops_scored as f64
    );
    // Where the full recompute spent its time (sums of the histograms).
    for line in shopscore::app::prometheus().render().lines() {
        if line.starts_with("shopscore_metric_query_seconds_sum")
            || line.starts_with("shopscore_recompute_phase_seconds_sum")
        {
            println!("  {line}");
        }
    }
    let t = Instant::now();
    let out = recompute(
        &pool,
        &policy,
        now,
        now,
        Some(&["demo-shop-000".to_string()]),
        &Stop::never(),
    )
    .await?;
    println!(
        "one-shop recompute: {} shop in {:.2?}",
        out.shops_scored,
        t.elapsed()
    );
    Ok(())
}
