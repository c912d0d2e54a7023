//! The batch writer: one transaction per request, raw events first, then projections.

use std::collections::{HashMap, HashSet};

use sqlx::{Connection, PgConnection, PgPool, Postgres, Transaction};

use super::event::Event;
use crate::db::retry::{with_retry, MaybeTransient, RetryPolicy, Transient};
use crate::domain::{EventId, ShopId};

/// What a committed batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct IngestOutcome {
    /// Events stored by this request.
    pub accepted: usize,
    /// Events already stored with the same content (or repeated within the request).
    pub duplicates: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Same (shop_id, event_id) with different content; nothing was stored.
    #[error("conflicting event ids")]
    Conflict(Vec<Conflict>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl MaybeTransient for WriteError {
    fn transient(&self) -> Option<Transient> {
        match self {
            WriteError::Db(e) => e.transient(),
            WriteError::Conflict(_) => None,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Conflict {
    pub index: usize,
    pub shop_id: ShopId,
    pub event_id: EventId,
}

impl Conflict {
    fn of(index: usize, e: &Event) -> Conflict {
        Conflict {
            index,
            shop_id: e.shop_id.clone(),
            event_id: e.event_id.clone(),
        }
    }
}

/// Stores a validated batch atomically: every new event and its projections are
/// committed together, or (on a conflict or any error) nothing is. A transient failure
/// (deadlock, serialization failure, lost connection) reruns the whole transaction,
/// which is safe because a batch is idempotent; see `db::retry`.
pub async fn write_batch(
    pool: &PgPool,
    events: &[Event],
    retry: &RetryPolicy,
) -> Result<IngestOutcome, WriteError> {
    let prepared = prepare(events)?;
    write_prepared(pool, &prepared, retry).await
}

/// A request's events checked among themselves: the ones to insert, in key order, and
/// how many repeated an earlier event of the request with the same content.
pub(super) struct Prepared<'a> {
    /// (index in the request, event), in key order.
    pub unique: Vec<(usize, &'a Event)>,
    pub duplicates: usize,
}

/// Repeats inside the request: same content is a duplicate, other content a conflict.
pub(super) fn prepare(events: &[Event]) -> Result<Prepared<'_>, WriteError> {
    let mut first_seen: HashMap<(&str, &str), usize> = HashMap::new();
    let mut unique: Vec<(usize, &Event)> = Vec::with_capacity(events.len());
    let mut conflicts = Vec::new();
    let mut duplicates = 0;
    for (i, e) in events.iter().enumerate() {
        match first_seen.get(&key(e)) {
            Some(&j) if events[j].content_hash == e.content_hash => duplicates += 1,
            Some(_) => conflicts.push(Conflict::of(i, e)),
            None => {
                first_seen.insert(key(e), i);
                unique.push((i, e));
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(WriteError::Conflict(conflicts));
    }
    sort_by_key(&mut unique);
    Ok(Prepared { unique, duplicates })
}

/// Key order (Rust compares strings bytewise, as the "C" collation of the key columns
/// does): every writer takes the events' key locks in the same order.
pub(super) fn sort_by_key(events: &mut [(usize, &Event)]) {
    events.sort_unstable_by(|(_, a), (_, b)| key(a).cmp(&key(b)));
}

pub(super) fn key(e: &Event) -> (&str, &str) {
    (e.shop_id.as_str(), e.event_id.as_str())
}

/// Writes a prepared request (`write_batch` without its checks).
pub(super) async fn write_prepared(
    pool: &PgPool,
    prepared: &Prepared<'_>,
    retry: &RetryPolicy,
) -> Result<IngestOutcome, WriteError> {
    let unique = &prepared.unique;
    // Most batches are new events: insert them plainly first, which costs one index
    // descent per event where `ON CONFLICT` costs two. A key already stored (a resend,
    // or a racing producer that committed it first) fails that insert with a unique
    // violation, and the batch runs again with `ON CONFLICT DO NOTHING`, which sorts
    // out duplicates and conflicts.
    let fast = write_new(pool, unique, retry).await;
    let (accepted, stored_duplicates) = match fast {
        Err(WriteError::Db(e)) if is_stored_key(&e) => {
            with_retry(retry, "ingest", || {
                write_once(pool, unique, Insert::SkipStored)
            })
            .await?
        }
        other => other?,
    };
    Ok(IngestOutcome {
        accepted,
        duplicates: prepared.duplicates + stored_duplicates,
    })
}

/// Inserts `unique` (in key order), every one of which must be new: a key already
/// stored fails it with a unique violation (`is_stored_key`), and nothing is stored.
pub(super) async fn write_new(
    pool: &PgPool,
    unique: &[(usize, &Event)],
    retry: &RetryPolicy,
) -> Result<(usize, usize), WriteError> {
    with_retry(retry, "ingest", || write_once(pool, unique, Insert::Plain)).await
}

/// Compares the events of `unique` that `inserted` does not name with the stored ones:
/// the number of duplicates, or every conflict in request order.
async fn stored_duplicates(
    tx: &mut Transaction<'_, Postgres>,
    unique: &[(usize, &Event)],
    inserted: &[(String, String)],
) -> Result<usize, WriteError> {
    let new_keys: HashSet<(&str, &str)> = inserted
        .iter()
        .map(|(s, e)| (s.as_str(), e.as_str()))
        .collect();
    let existing: Vec<&(usize, &Event)> = unique
        .iter()
        .filter(|(_, e)| !new_keys.contains(&key(e)))
        .collect();
    let shops: Vec<&str> = existing.iter().map(|(_, e)| e.shop_id.as_str()).collect();
    let ids: Vec<&str> = existing.iter().map(|(_, e)| e.event_id.as_str()).collect();
    let stored: Vec<(ShopId, EventId, Vec<u8>)> =
        sqlx::query_as(include_str!("sql/events_stored_hashes.sql"))
            .bind(&shops)
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await?;
    let stored: HashMap<(ShopId, EventId), Vec<u8>> =
        stored.into_iter().map(|(s, e, h)| ((s, e), h)).collect();
    let mut duplicates = 0;
    let mut conflicts = Vec::new();
    for (i, e) in existing {
        match stored.get(&(e.shop_id.clone(), e.event_id.clone())) {
            Some(h) if h.as_slice() == e.content_hash => duplicates += 1,
            _ => conflicts.push(Conflict::of(*i, e)),
        }
    }
    if conflicts.is_empty() {
        Ok(duplicates)
    } else {
        conflicts.sort_by_key(|c| c.index);
        Err(WriteError::Conflict(conflicts))
    }
}

/// How the events are inserted.
#[derive(Clone, Copy, PartialEq)]
enum Insert {
    /// A plain insert: fails with a unique violation on a key already stored.
    Plain,
    /// `ON CONFLICT DO NOTHING`: keys already stored are skipped, then compared.
    SkipStored,
}

/// A unique violation of the events' key: some event of the batch is already stored.
pub(super) fn is_stored_key(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d)
        if d.code().as_deref() == Some("23505") && d.constraint() == Some("events_pkey"))
}

/// One attempt: (events inserted, events already stored with the same content).
async fn write_once(
    pool: &PgPool,
    unique: &[(usize, &Event)],
    insert: Insert,
) -> Result<(usize, usize), WriteError> {
    let mut conn = pool.acquire().await?;
    let result = write_on(&mut conn, unique, insert).await;
    // A connection keeps the capacity of the largest message it ever sent: after a
    // multi-MiB batch, give it back, or every pooled connection ends up holding one.
    let bytes: usize = unique.iter().map(|(_, e)| e.data.get().len()).sum();
    if bytes > SHRINK_AFTER_BYTES {
        conn.shrink_buffers();
    }
    result
}

/// Batches whose data is larger than this release their connection's buffers.
const SHRINK_AFTER_BYTES: usize = 1 << 20;

async fn write_on(
    conn: &mut PgConnection,
    unique: &[(usize, &Event)],
    insert: Insert,
) -> Result<(usize, usize), WriteError> {
    let record_write = |t: std::time::Instant| {
        metrics::histogram!("shopscore_ingest_step_seconds", "step" => "write")
            .record(t.elapsed().as_secs_f64())
    };
    if insert == Insert::Plain {
        // One statement is a transaction of its own: it stores the events and all their
        // projections, or (a key already stored, any error) nothing. Without BEGIN and
        // COMMIT a batch of new events costs one round trip instead of three, which is
        // most of what a small batch costs beyond its rows.
        let t = std::time::Instant::now();
        let inserted = insert_events(conn, unique, insert).await?;
        record_write(t);
        return Ok((inserted.len(), 0));
    }
    let mut tx = conn.begin().await?;
    let t = std::time::Instant::now();
    let inserted = insert_events(&mut tx, unique, insert).await?;
    record_write(t);

    // Keys that were already stored (only `SkipStored` leaves any): a duplicate when the
    // content matches. The insert above waited for any concurrent writer of the same
    // key, so the stored row is final.
    let duplicates = if inserted.len() < unique.len() {
        match stored_duplicates(&mut tx, unique, &inserted).await {
            // Roll back before answering, so the keys this attempt inserted are free
            // when the client hears of the conflict.
            Err(conflict @ WriteError::Conflict(_)) => {
                tx.rollback().await?;
                return Err(conflict);
            }
            other => other?,
        }
    } else {
        0
    };

    let t = std::time::Instant::now();
    tx.commit().await?;
    metrics::histogram!("shopscore_ingest_step_seconds", "step" => "commit")
        .record(t.elapsed().as_secs_f64());
    Ok((inserted.len(), duplicates))
}

/// Inserts the events (given in key order) and their projections, and returns the keys
/// that were new.
async fn insert_events(
    conn: &mut PgConnection,
    events: &[(usize, &Event)],
    insert: Insert,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let mut shop_ids = Vec::with_capacity(events.len());
    let mut event_ids = Vec::with_capacity(events.len());
    let mut types = Vec::with_capacity(events.len());
    let mut times = Vec::with_capacity(events.len());
    let mut datas = Vec::with_capacity(events.len());
    let mut hashes = Vec::with_capacity(events.len());
    for (_, e) in events {
        shop_ids.push(e.shop_id.as_str());
        event_ids.push(e.event_id.as_str());
        types.push(e.kind.as_str());
        times.push(e.occurred_at);
        datas.push(e.data.get());
        hashes.push(&e.content_hash[..]);
    }
    // The same statement projects the inserted rows. `unnest` yields the rows in array
    // order, so the key locks are taken in key order.
    let sql = super::project::insert_events(insert == Insert::SkipStored);
    let rows: Vec<(String, String)> = sqlx::query_as(sql)
        .bind(&shop_ids)
        .bind(&event_ids)
        .bind(&types)
        .bind(&times)
        .bind(&datas)
        .bind(&hashes)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows)
}
