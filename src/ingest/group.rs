//! Group commit for `POST /v1/events`: requests that wait for a writer at the same time
//! are written as one statement. A statement carries a fixed cost beyond its rows (a
//! round trip, a plan of the events insert and its sixteen projections, a WAL flush),
//! which a batch of 100 events pays 100 times as often per event as a batch of 10 000;
//! written together, small batches cost what one larger batch costs.
//!
//! How: each request queues its events, then either a writer slot frees (at most
//! `writers` statements at once, as before) and it takes every queued request, its own
//! among them, up to `MAX_EVENTS` events; or a request that got a slot first takes it
//! along and answers it. No timer: a request waits only while every slot is busy, so
//! an idle server writes each request at once, as it always did.
//!
//! What a client sees does not change. Each request is checked alone first (a repeat
//! within it is a duplicate or a conflict, answered at once). The requests taken
//! together are inserted in one statement only as new events, all or nothing; if that
//! fails for any reason (a key already stored: a resend, a racing producer; the same
//! key in two of the requests; anything else), each is written again on its own, as
//! `write_batch` writes it, and gets its own answer. The write runs in a task of its
//! own, so a client hanging up does not cancel the writes of the others taken with it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use tokio::sync::{oneshot, Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use super::event::Event;
use super::writer::{self, IngestOutcome, Prepared, WriteError};
use crate::db::retry::RetryPolicy;

/// Most events one statement takes from the queue: the largest batch the API takes.
const MAX_EVENTS: usize = super::body::MAX_BATCH;

/// Events stored between two background folds (`fold_in_background`): as often as the
/// demo folds its load (8 batches of 5 000), each fold a few bounded chunks.
pub const FOLD_AFTER_EVENTS: usize = 40_000;

type Reply = oneshot::Sender<Result<IngestOutcome, WriteError>>;

/// One request waiting to be written.
struct Waiting {
    events: Vec<Event>,
    reply: Reply,
}

/// The writer of `POST /v1/events` (cheap to clone: one shared queue).
#[derive(Clone)]
pub struct GroupWriter {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    retry: RetryPolicy,
    /// Statements writing events at once.
    writers: Arc<Semaphore>,
    queue: Mutex<VecDeque<Waiting>>,
    /// Statements that wrote more than one request.
    grouped: AtomicU64,
    /// Events stored since the last background fold was asked for, and the threshold.
    since_fold: AtomicUsize,
    fold_after: usize,
    fold_wanted: Notify,
}

impl std::fmt::Debug for GroupWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (f.debug_struct("GroupWriter"))
            .field("free_writers", &self.inner.writers.available_permits())
            .field("waiting", &self.waiting())
            .finish()
    }
}

impl GroupWriter {
    pub fn new(pool: PgPool, writers: usize, retry: RetryPolicy) -> GroupWriter {
        GroupWriter {
            inner: Arc::new(Inner {
                pool,
                retry,
                writers: Arc::new(Semaphore::new(writers.max(1))),
                queue: Mutex::new(VecDeque::new()),
                grouped: AtomicU64::new(0),
                since_fold: AtomicUsize::new(0),
                fold_after: FOLD_AFTER_EVENTS,
                fold_wanted: Notify::new(),
            }),
        }
    }

    /// The same, asking for a background fold every `events` stored events (tests).
    pub fn with_fold_after(pool: PgPool, writers: usize, events: usize) -> GroupWriter {
        let mut w = GroupWriter::new(pool, writers, RetryPolicy::default());
        Arc::get_mut(&mut w.inner)
            .expect("not shared yet")
            .fold_after = events.max(1);
        w
    }

    /// Folds the queued orders and conversations (`ingest::fold`) each time this
    /// writer has stored `FOLD_AFTER_EVENTS` more events, until `stop`: a backfill
    /// through the API is folded as it arrives, in bounded chunks, instead of all at
    /// once by the next recompute. (Every replica folds after its own writes; the fold
    /// lock takes them one at a time, and each takes whatever is queued.) A fold that
    /// fails is logged; the next one, or the next recompute, folds what it left.
    pub async fn fold_in_background(self, stop: CancellationToken) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.inner.fold_wanted.notified() => {}
            }
            match super::fold_queued(&self.inner.pool).await {
                Ok(folded) => tracing::debug!(?folded, "background fold"),
                Err(error) => tracing::warn!(%error, "background fold failed"),
            }
        }
    }

    /// Writes `events` (one request, validated) as `write_batch` would, possibly in one
    /// statement with other requests waiting at the same time.
    pub async fn write(&self, events: Vec<Event>) -> Result<IngestOutcome, WriteError> {
        let (reply, mut answer) = oneshot::channel();
        self.queue().push_back(Waiting { events, reply });
        // A writer that goes away without answering has panicked.
        let lost = |_| Err(WriteError::Db(sqlx::Error::WorkerCrashed));
        loop {
            tokio::select! {
                // An answer wins over a slot that frees at the same moment.
                biased;
                answer = &mut answer => return answer.unwrap_or_else(lost),
                slot = Arc::clone(&self.inner.writers).acquire_owned() => {
                    let slot = slot.expect("the semaphore is never closed");
                    let taken = self.take();
                    if taken.is_empty() {
                        // Nothing waits, this request included: a write under way has
                        // it, and its answer is coming. (Not `continue`: a free slot
                        // would make this loop spin until then.)
                        drop(slot);
                        return answer.await.unwrap_or_else(lost);
                    }
                    // Written in a task of its own: a caller that goes away (a client
                    // hanging up drops this future) must not cancel the other requests'
                    // writes. The slot is held until the write ends.
                    let inner = Arc::clone(&self.inner);
                    tokio::spawn(async move {
                        inner.write_taken(taken).await;
                        drop(slot);
                    });
                }
            }
        }
    }

    /// Statements so far that wrote more than one request.
    pub fn grouped(&self) -> u64 {
        self.inner.grouped.load(Ordering::Relaxed)
    }

    /// Requests waiting for a writer.
    pub fn waiting(&self) -> usize {
        self.queue().len()
    }

    /// Holds every writer slot until the guard is dropped (tests: to let requests queue
    /// up and see them written together).
    pub async fn hold_all(&self) -> tokio::sync::SemaphorePermit<'_> {
        let n = u32::try_from(self.inner.writers.available_permits()).unwrap_or(u32::MAX);
        self.inner
            .writers
            .acquire_many(n)
            .await
            .expect("never closed")
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<Waiting>> {
        self.inner.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The oldest waiting requests, up to `MAX_EVENTS` events (always at least one
    /// request when any waits), skipping those whose caller has gone away.
    fn take(&self) -> Vec<Waiting> {
        let mut queue = self.queue();
        let mut taken = Vec::new();
        let mut events = 0;
        while let Some(next) = queue.front() {
            if next.reply.is_closed() {
                queue.pop_front();
                continue;
            }
            if !taken.is_empty() && events + next.events.len() > MAX_EVENTS {
                break;
            }
            events += next.events.len();
            taken.extend(queue.pop_front());
        }
        taken
    }
}

impl Inner {
    /// Writes the requests taken together and answers each.
    async fn write_taken(&self, taken: Vec<Waiting>) {
        if let [one] = &taken[..] {
            let answer = writer::write_batch(&self.pool, &one.events, &self.retry).await;
            return self.answer_all(taken, vec![answer]);
        }
        let mut answers: Vec<Option<Result<IngestOutcome, WriteError>>> =
            taken.iter().map(|_| None).collect();
        let mut prepared: Vec<(usize, Prepared)> = Vec::new();
        for (i, w) in taken.iter().enumerate() {
            match writer::prepare(&w.events) {
                Ok(p) => prepared.push((i, p)),
                Err(conflict) => answers[i] = Some(Err(conflict)),
            }
        }
        let mut all: Vec<(usize, &Event)> = (prepared.iter())
            .flat_map(|(_, p)| p.unique.iter().copied())
            .collect();
        writer::sort_by_key(&mut all);
        let shared_key = all
            .windows(2)
            .any(|w| writer::key(w[0].1) == writer::key(w[1].1));
        let together = match (prepared.len() > 1, shared_key) {
            (true, false) => Some(writer::write_new(&self.pool, &all, &self.retry).await),
            _ => None,
        };
        drop(all);
        match together {
            Some(Ok(_)) => {
                self.grouped.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("shopscore_ingest_grouped_requests_total")
                    .increment(prepared.len() as u64);
                for (i, p) in &prepared {
                    answers[*i] = Some(Ok(IngestOutcome {
                        accepted: p.unique.len(),
                        duplicates: p.duplicates,
                    }));
                }
            }
            // Not written together (or that failed, and wrote nothing): each alone.
            _ => {
                for (i, p) in &prepared {
                    answers[*i] = Some(writer::write_prepared(&self.pool, p, &self.retry).await);
                }
            }
        }
        drop(prepared);
        let answers = answers.into_iter().map(|a| a.expect("answered")).collect();
        self.answer_all(taken, answers);
    }

    /// Answers each request, and asks for a background fold when enough was stored.
    fn answer_all(&self, taken: Vec<Waiting>, answers: Vec<Result<IngestOutcome, WriteError>>) {
        let stored: usize = (answers.iter().flatten()).map(|o| o.accepted).sum();
        if stored > 0 {
            let before = self.since_fold.fetch_add(stored, Ordering::Relaxed);
            if before + stored >= self.fold_after {
                self.since_fold.store(0, Ordering::Relaxed);
                self.fold_wanted.notify_one();
            }
        }
        for (w, answer) in taken.into_iter().zip(answers) {
            // A caller that has gone away no longer listens.
            let _ = w.reply.send(answer);
        }
    }
}
