//! An endpoint's messages and their attempts, as ops read them, and the two ways of
//! sending again: one message (`resend`), or everything since a time (`recover`).

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::PgPool;

use crate::clock::in_zone;

/// A message as the API shows it: the event and where its delivery stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Message {
    /// The event's id: the `webhook-id` header of every attempt.
    pub id: String,
    pub event_type: String,
    /// Null for events about an endpoint.
    pub shop_id: Option<String>,
    /// `pending`, `delivered`, or `failed` (every attempt failed, or the receiver
    /// answered 410).
    pub status: String,
    pub attempts: i32,
    /// When pending: when the next attempt is due.
    pub next_attempt_at: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
    pub delivered_at: Option<DateTime<FixedOffset>>,
    /// The body every attempt sends.
    #[schema(value_type = Object)]
    pub payload: Box<RawValue>,
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    event_id: String,
    event_type: String,
    shop_id: Option<String>,
    status: String,
    attempts: i32,
    next_attempt_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
    payload: String,
}

impl MessageRow {
    fn message(self, tz: chrono_tz::Tz) -> Message {
        Message {
            id: self.event_id,
            event_type: self.event_type,
            shop_id: self.shop_id,
            status: self.status,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at.map(|t| in_zone(t, tz)),
            created_at: in_zone(self.created_at, tz),
            delivered_at: self.delivered_at.map(|t| in_zone(t, tz)),
            // Written by `outbox` as JSON text.
            payload: RawValue::from_string(self.payload)
                .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null")),
        }
    }
}

/// One attempt to deliver a message.
#[derive(Debug, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Attempt {
    /// 1 for the first attempt of the message.
    pub attempt: i32,
    #[serde(skip)]
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// `delivered` (2xx), `gone` (410) or `failed`.
    pub outcome: String,
    /// The receiver's status; null when it did not answer.
    pub status_code: Option<i32>,
    /// The first KiB of the answer's body, or why there was no answer.
    pub response: String,
}

/// An attempt with its start in the service's zone.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptOut {
    pub started_at: DateTime<FixedOffset>,
    #[serde(flatten)]
    pub attempt: Attempt,
}

/// A page cursor: the last message's `created_at` and id.
pub type After = (DateTime<Utc>, String);

/// Up to `limit` of the endpoint's messages after `after`, newest first, of `status`
/// or all.
pub async fn list(
    pool: &PgPool,
    endpoint_id: &str,
    after: Option<&After>,
    status: Option<&str>,
    limit: i64,
    tz: chrono_tz::Tz,
) -> Result<Vec<Message>, sqlx::Error> {
    let rows: Vec<MessageRow> = sqlx::query_as(include_str!("sql/messages_list.sql"))
        .bind(endpoint_id)
        .bind(after.map(|a| a.0))
        .bind(after.map(|a| a.1.as_str()))
        .bind(status)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|r| r.message(tz)).collect())
}

pub async fn get(
    pool: &PgPool,
    endpoint_id: &str,
    event_id: &str,
    tz: chrono_tz::Tz,
) -> Result<Option<Message>, sqlx::Error> {
    let row: Option<MessageRow> = sqlx::query_as(include_str!("sql/message_get.sql"))
        .bind(endpoint_id)
        .bind(event_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.message(tz)))
}

/// The message's attempts, in order.
pub async fn attempts(
    pool: &PgPool,
    endpoint_id: &str,
    event_id: &str,
    tz: chrono_tz::Tz,
) -> Result<Vec<AttemptOut>, sqlx::Error> {
    let rows: Vec<Attempt> = sqlx::query_as(include_str!("sql/attempts_list.sql"))
        .bind(endpoint_id)
        .bind(event_id)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|a| AttemptOut {
            started_at: in_zone(a.started_at, tz),
            attempt: a,
        })
        .collect())
}

/// Makes the message due at `now` again, in a new round of the schedule; false when
/// the endpoint has no such message.
pub async fn resend(
    pool: &PgPool,
    endpoint_id: &str,
    event_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let found: Option<String> = sqlx::query_scalar(include_str!("sql/message_resend.sql"))
        .bind(endpoint_id)
        .bind(event_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
    super::worker::notify(&mut tx).await?;
    tx.commit().await?;
    Ok(found.is_some())
}

/// Makes due at `now` everything since `since` the endpoint wants and has not had
/// (`sql/messages_recover.sql`); how many messages.
pub async fn recover(
    pool: &PgPool,
    endpoint_id: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let n: i64 = sqlx::query_scalar(include_str!("sql/messages_recover.sql"))
        .bind(endpoint_id)
        .bind(since)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
    super::worker::notify(&mut tx).await?;
    tx.commit().await?;
    Ok(n)
}
