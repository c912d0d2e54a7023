//! Folding queued entities into their rows. Ingest appends an order's events and a
//! conversation's messages and queues the order or conversation (migrations 0005 and
//! 0009) instead of updating its row, which batches sharing it would wait on; a
//! recompute folds the queues first, so it reads every order and conversation as its
//! stored events make it. A fold takes the queue in chunks of a bounded number of
//! entities, each in a transaction of its own, so that no statement runs for long
//! however much was queued (a backfill queues hundreds of thousands); `demo` folds as
//! it writes, so that its recompute finds little left.

use sqlx::{PgConnection, PgPool};

use crate::db::locks;

const FOLD_ORDERS: &str = include_str!("sql/fold_orders.sql");
const FOLD_CONVERSATIONS: &str = include_str!("sql/fold_conversations.sql");

/// Entities (orders, or conversations) one chunk takes at most, unless one queued
/// batch alone holds more (a batch is never split). A chunk of this size rewrites in
/// well under a second (BENCHMARKS.md, "The write path at scale").
pub const CHUNK_ENTITIES: i64 = 20_000;

/// What a fold rewrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Folded {
    pub orders: u64,
    pub conversations: u64,
}

impl std::ops::AddAssign for Folded {
    fn add_assign(&mut self, other: Folded) {
        self.orders += other.orders;
        self.conversations += other.conversations;
    }
}

/// The last queue row of each queue when a fold starts: it folds those and the ones
/// before, and leaves what is queued while it runs to the next fold (under a steady
/// stream of ingest, "until the queue is empty" might never come).
#[derive(Debug, Clone, Copy)]
struct Upto {
    orders: i64,
    conversations: i64,
}

impl Upto {
    const ALL: Upto = Upto {
        orders: i64::MAX,
        conversations: i64::MAX,
    };

    async fn now(conn: &mut PgConnection) -> Result<Upto, sqlx::Error> {
        let (orders, conversations): (Option<i64>, Option<i64>) =
            sqlx::query_as(include_str!("sql/fold_upto.sql"))
                .fetch_one(conn)
                .await?;
        Ok(Upto {
            orders: orders.unwrap_or(0),
            conversations: conversations.unwrap_or(0),
        })
    }
}

/// Folds everything queued when it starts (every batch committed before the call),
/// one chunk of `CHUNK_ENTITIES` per transaction.
pub async fn fold_queued(pool: &PgPool) -> Result<Folded, sqlx::Error> {
    fold_queued_by(pool, CHUNK_ENTITIES).await
}

/// The same in chunks of `chunk` entities (tests take small ones).
pub async fn fold_queued_by(pool: &PgPool, chunk: i64) -> Result<Folded, sqlx::Error> {
    let upto = Upto::now(&mut *pool.acquire().await?).await?;
    let mut folded = Folded::default();
    loop {
        let mut tx = pool.begin().await?;
        take_fold_lock(&mut tx).await?;
        let (rewritten, more) = fold_chunk(&mut tx, upto, chunk).await?;
        tx.commit().await?;
        folded += rewritten;
        if !more {
            break;
        }
    }
    tracing::debug!(?folded, "queued entities folded");
    Ok(folded)
}

/// Folds every queued entity inside the caller's transaction (`rebuild`), still one
/// bounded statement at a time; the lock is held until the transaction ends.
pub async fn fold_queued_in(conn: &mut PgConnection) -> Result<Folded, sqlx::Error> {
    take_fold_lock(conn).await?;
    let mut folded = Folded::default();
    loop {
        let (rewritten, more) = fold_chunk(conn, Upto::ALL, CHUNK_ENTITIES).await?;
        folded += rewritten;
        if !more {
            return Ok(folded);
        }
    }
}

/// Takes the fold lock for the rest of the transaction, and the memory its sorts need.
async fn take_fold_lock(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    locks::for_transaction(conn, locks::FOLD).await?;
    // Each chunk sorts every event of the entities it takes; more memory than the
    // default 4 MB keeps that sort off the disk.
    sqlx::query(include_str!("sql/fold_work_mem.sql"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One chunk of each queue (`chunk` entities), up to `upto`, in a transaction that
/// holds the fold lock: what it rewrote, and whether it took any queue row (so there
/// may be more).
async fn fold_chunk(
    conn: &mut PgConnection,
    upto: Upto,
    chunk: i64,
) -> Result<(Folded, bool), sqlx::Error> {
    let mut folded = Folded::default();
    let mut took = false;
    for (sql, last, n) in [
        (FOLD_ORDERS, upto.orders, &mut folded.orders),
        (
            FOLD_CONVERSATIONS,
            upto.conversations,
            &mut folded.conversations,
        ),
    ] {
        let (taken, rewritten): (i64, i64) = sqlx::query_as(sql)
            .bind(last)
            .bind(chunk)
            .fetch_one(&mut *conn)
            .await?;
        took |= taken > 0;
        *n = rewritten as u64;
    }
    Ok((folded, took))
}
