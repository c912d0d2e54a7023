//! `webhook_endpoints`: where grade changes are sent, with the event types and shops
//! each wants and the secret that signs its deliveries (shown once, on creation and on
//! rotation; never listed).

use chrono::{DateTime, FixedOffset, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// The grade changes a subscriber can be sent (issue 25).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum EventType {
    #[serde(rename = "programme.status_changed")]
    ProgrammeStatusChanged,
    #[serde(rename = "tier.changed")]
    TierChanged,
    #[serde(rename = "stars.changed")]
    StarsChanged,
    #[serde(rename = "credit_level.changed")]
    CreditLevelChanged,
    #[serde(rename = "service_score.crossed")]
    ServiceScoreCrossed,
    /// The service disabled an endpoint (410, or failing for the configured span); sent
    /// to the other endpoints that want it.
    #[serde(rename = "endpoint.disabled")]
    EndpointDisabled,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::ProgrammeStatusChanged,
        EventType::TierChanged,
        EventType::StarsChanged,
        EventType::CreditLevelChanged,
        EventType::ServiceScoreCrossed,
        EventType::EndpointDisabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ProgrammeStatusChanged => "programme.status_changed",
            EventType::TierChanged => "tier.changed",
            EventType::StarsChanged => "stars.changed",
            EventType::CreditLevelChanged => "credit_level.changed",
            EventType::ServiceScoreCrossed => "service_score.crossed",
            EventType::EndpointDisabled => "endpoint.disabled",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// An endpoint as the API shows it (never its secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Endpoint {
    pub id: String,
    pub url: String,
    /// The event types sent; empty: every type.
    pub event_types: Vec<EventType>,
    /// The shops whose events are sent; empty: every shop.
    pub shop_ids: Vec<String>,
    pub description: Option<String>,
    pub enabled: bool,
    /// Why it was disabled by the service (`gone`: the receiver answered 410; `failing`:
    /// every attempt failed for the configured span); null when enabled or disabled by
    /// an admin.
    pub disabled_reason: Option<String>,
    /// While a rotated-out secret still signs beside the new one: until when.
    pub previous_secret_until: Option<DateTime<FixedOffset>>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    url: String,
    event_types: Vec<String>,
    shop_ids: Vec<String>,
    description: Option<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    previous_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn endpoint(self, tz: chrono_tz::Tz) -> Endpoint {
        let local = |t: DateTime<Utc>| crate::clock::in_zone(t, tz);
        Endpoint {
            // Only valid types are ever stored.
            event_types: self
                .event_types
                .iter()
                .filter_map(|t| EventType::parse(t))
                .collect(),
            id: self.id,
            url: self.url,
            shop_ids: self.shop_ids,
            description: self.description,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            previous_secret_until: self.previous_until.map(local),
            created_at: local(self.created_at),
            updated_at: local(self.updated_at),
        }
    }
}

/// What an endpoint is created with, checked.
pub struct NewEndpoint<'a> {
    pub url: &'a str,
    pub event_types: &'a [EventType],
    pub shop_ids: &'a [String],
    pub description: Option<&'a str>,
}

/// What an update changes (`None`: unchanged).
#[derive(Default)]
pub struct Changes<'a> {
    pub url: Option<&'a str>,
    pub event_types: Option<&'a [EventType]>,
    pub shop_ids: Option<&'a [String]>,
    pub description: Option<&'a str>,
    pub enabled: Option<bool>,
}

fn type_names(types: &[EventType]) -> Vec<&'static str> {
    let mut names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn new_id() -> String {
    let mut b = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut b);
    format!("ep_{}", hex::encode(b))
}

/// Creates an endpoint: it and its secret.
pub async fn create(
    pool: &PgPool,
    e: NewEndpoint<'_>,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<(Endpoint, String), sqlx::Error> {
    let secret = super::signature::new_secret();
    let row: Row = sqlx::query_as(include_str!("sql/endpoint_insert.sql"))
        .bind(new_id())
        .bind(e.url)
        .bind(type_names(e.event_types))
        .bind(e.shop_ids)
        .bind(e.description)
        .bind(&secret)
        .bind(now)
        .fetch_one(pool)
        .await?;
    Ok((row.endpoint(tz), secret))
}

pub async fn get(
    pool: &PgPool,
    id: &str,
    tz: chrono_tz::Tz,
) -> Result<Option<Endpoint>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(include_str!("sql/endpoint_get.sql"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.endpoint(tz)))
}

/// Up to `limit` endpoints after `after`, in id order.
pub async fn list(
    pool: &PgPool,
    after: Option<&str>,
    limit: i64,
    tz: chrono_tz::Tz,
) -> Result<Vec<Endpoint>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(include_str!("sql/endpoint_list.sql"))
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|r| r.endpoint(tz)).collect())
}

pub async fn update(
    pool: &PgPool,
    id: &str,
    c: Changes<'_>,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<Option<Endpoint>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(include_str!("sql/endpoint_update.sql"))
        .bind(id)
        .bind(c.url)
        .bind(c.event_types.map(type_names))
        .bind(c.shop_ids)
        .bind(c.description)
        .bind(c.enabled)
        .bind(now)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.endpoint(tz)))
}

pub async fn delete(
    pool: &PgPool,
    id: &str,
    tz: chrono_tz::Tz,
) -> Result<Option<Endpoint>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(include_str!("sql/endpoint_delete.sql"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.endpoint(tz)))
}

/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// A new secret for the endpoint; the old one signs too for `ROTATION_OVERLAP`.
pub async fn rotate(
    pool: &PgPool,
    id: &str,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<Option<(Endpoint, String)>, sqlx::Error> {
    let secret = super::signature::new_secret();
    let row: Option<Row> = sqlx::query_as(include_str!("sql/endpoint_rotate.sql"))
        .bind(id)
        .bind(&secret)
        .bind(now + ROTATION_OVERLAP)
        .bind(now)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| (r.endpoint(tz), secret)))
}
