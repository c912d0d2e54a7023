//! Streaming a marketplace into the store: generated one shop-day at a time on a
//! blocking thread, validated like the API's events, cut into batches that the batch
//! writer stores a few at a time, while a fold keeps the queued orders and
//! conversations folded. What is held at once is a few batches, whatever the size of
//! the marketplace.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use indicatif::ProgressBar;
use sqlx::PgPool;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;

use super::{shop, Marketplace};
use crate::db::retry::RetryPolicy;
use crate::ingest::{fold_queued, validate, write_batch, Event, Folded};

/// How a marketplace is written.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Events per transaction of the batch writer.
    pub batch: usize,
    /// Batches written at once.
    pub writers: usize,
    /// Batches written between two folds of the queues.
    pub fold_every: usize,
}

impl Default for LoadOptions {
    /// Batches of 5 000, two at once: with the generator on one core and Postgres on
    /// the other, more writers only wait for each other (BENCHMARKS.md, "The write path
    /// at scale").
    fn default() -> Self {
        LoadOptions {
            batch: 5_000,
            writers: 2,
            fold_every: 8,
        }
    }
}

/// What a load wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Loaded {
    /// Events generated (up to `end`).
    pub events: usize,
    /// Of those, stored by this load.
    pub accepted: usize,
    /// Of those, already stored with the same content.
    pub duplicates: usize,
    /// Orders and conversations folded while and after writing.
    pub folded: Folded,
}

/// Registers shops `0..shops` (id, name, industry), leaving any already registered as
/// they are.
pub async fn register_shops(pool: &PgPool, shops: usize) -> Result<(), sqlx::Error> {
    const PER_STATEMENT: usize = 1_000;
    for from in (0..shops).step_by(PER_STATEMENT) {
        let rows: Vec<(String, String, &str)> = (from..shops.min(from + PER_STATEMENT))
            .map(|s| {
                let (id, industry) = shop(s);
                (id, format!("Demo shop {s}"), industry)
            })
            .collect();
        crate::store::shops::register(pool, &rows).await?;
    }
    Ok(())
}

/// A batch on its way from the generator to a writer.
struct Batch {
    events: Vec<Event>,
    /// Shop-days whose last event is in this batch (the progress it stands for).
    shop_days: u64,
}

/// Generates `market` and writes it through the batch writer, `opts.writers` batches at
/// once, folding the queues every `opts.fold_every` batches and once at the end. `now`
/// is the clock validation checks times against. `progress` counts shop-days written
/// and says how many events were stored.
pub async fn load(
    pool: &PgPool,
    market: &Marketplace,
    now: DateTime<Utc>,
    opts: &LoadOptions,
    progress: Option<&ProgressBar>,
) -> anyhow::Result<Loaded> {
    if let Some(bar) = progress {
        bar.set_length(market.shop_days());
    }
    let (tx, mut rx) = mpsc::channel::<Batch>(opts.writers.max(1));
    let generator = {
        let (market, size) = (*market, opts.batch.max(1));
        tokio::task::spawn_blocking(move || produce(&market, now, size, &tx))
    };
    let folder = Folder::spawn(pool.clone());

    let mut loaded = Loaded::default();
    let mut writing = JoinSet::new();
    let mut since_fold = 0;
    let started = Instant::now();
    let record = |loaded: &mut Loaded, done: Written| -> anyhow::Result<()> {
        let (events, outcome, shop_days) = done?;
        loaded.events += events;
        loaded.accepted += outcome.accepted;
        loaded.duplicates += outcome.duplicates;
        if let Some(bar) = progress {
            bar.inc(shop_days);
            let rate = loaded.events as f64 / started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("{} events, {rate:.0}/s", loaded.events));
        }
        Ok(())
    };
    let written: anyhow::Result<()> = async {
        while let Some(batch) = rx.recv().await {
            while writing.len() >= opts.writers.max(1) {
                let done = writing.join_next().await.expect("not empty")?;
                record(&mut loaded, done)?;
                since_fold += 1;
            }
            if since_fold >= opts.fold_every {
                // A fold that failed ends the load now, with its error, below.
                if !folder.poke() {
                    break;
                }
                since_fold = 0;
            }
            let pool = pool.clone();
            writing.spawn(async move {
                let outcome = write_batch(&pool, &batch.events, &RetryPolicy::default())
                    .await
                    .map_err(|e| anyhow::anyhow!("writing a demo batch: {e}"))?;
                Ok((batch.events.len(), outcome, batch.shop_days))
            });
        }
        while let Some(done) = writing.join_next().await {
            record(&mut loaded, done?)?;
        }
        Ok(())
    }
    .await;
    // A failed write closes the channel (the generator stops at its next batch); a
    // failed generator closes it too, and its error is the one to report.
    drop(rx);
    writing.abort_all();
    let generated = generator.await?;
    let folded = folder.finish().await;
    generated?;
    written?;
    loaded.folded = folded?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(loaded)
}

/// What a writer task hands back: events, the writer's outcome, shop-days.
type Written = anyhow::Result<(usize, crate::ingest::IngestOutcome, u64)>;

/// The generator's side: shop-days in order, validated, cut into batches of `size`.
/// Stops quietly when the receiving side has gone (it reports its own error).
fn produce(
    market: &Marketplace,
    now: DateTime<Utc>,
    size: usize,
    tx: &mpsc::Sender<Batch>,
) -> anyhow::Result<()> {
    let mut events = Vec::with_capacity(size);
    let mut shop_days = 0;
    let mut day = Vec::new();
    for s in 0..market.shops {
        for date in market.dates() {
            market.day(s, date, &mut day);
            for v in day.drain(..) {
                let e = validate(events.len(), &v, now)
                    .map_err(|e| anyhow::anyhow!("demo event invalid: {e:?}"))?;
                events.push(e);
                if events.len() == size {
                    let batch = Batch {
                        events: std::mem::replace(&mut events, Vec::with_capacity(size)),
                        shop_days: std::mem::take(&mut shop_days),
                    };
                    if tx.blocking_send(batch).is_err() {
                        return Ok(());
                    }
                }
            }
            shop_days += 1;
        }
    }
    if !events.is_empty() || shop_days > 0 {
        let _ = tx.blocking_send(Batch { events, shop_days });
    }
    Ok(())
}

/// Folds the queues in the background whenever poked, and once more at the end, so a
/// load leaves nothing for the next recompute to fold. Each fold is in bounded chunks
/// (`ingest::fold`), so it never holds a statement open for long.
struct Folder {
    poke: Arc<Notify>,
    done: Arc<Notify>,
    task: tokio::task::JoinHandle<Result<Folded, sqlx::Error>>,
}

impl Folder {
    fn spawn(pool: PgPool) -> Folder {
        let (poke, done) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let task = {
            let (poke, done) = (poke.clone(), done.clone());
            tokio::spawn(async move {
                let mut folded = Folded::default();
                loop {
                    let finishing = tokio::select! {
                        _ = poke.notified() => false,
                        _ = done.notified() => true,
                    };
                    folded += fold_queued(&pool).await?;
                    if finishing {
                        return Ok(folded);
                    }
                }
            })
        };
        Folder { poke, done, task }
    }

    /// Asks for a fold; false when the folder has stopped (its fold failed).
    fn poke(&self) -> bool {
        self.poke.notify_one();
        !self.task.is_finished()
    }

    /// The last fold, after every batch was written: what all the folds rewrote.
    async fn finish(self) -> Result<Folded, sqlx::Error> {
        self.done.notify_one();
        match self.task.await {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}
