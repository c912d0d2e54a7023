//! `scorecards`: the snapshots, one per shop and `as_of`, with the headline columns
//! history and ranking read beside the body.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, PgPool};

use crate::policy::Policy;
use crate::scoring::card::Scorecard;

/// A shop's latest card as of `at` (the latest of all when `None`), as the stored JSON
/// text, which the API sends as it is.
pub async fn body(
    pool: &PgPool,
    shop_id: &str,
    at: Option<DateTime<Utc>>,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(include_str!("sql/scorecard_body.sql"))
        .bind(shop_id)
        .bind(at)
        .fetch_optional(pool)
        .await
}

/// A shop's snapshots' headline columns within `[from, to]` (either open), after
/// `after`, oldest first, at most `limit`, read into the caller's row type.
pub async fn history<T>(
    pool: &PgPool,
    shop_id: &str,
    (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    after: Option<DateTime<Utc>>,
    limit: i64,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    sqlx::query_as(include_str!("sql/scorecard_history.sql"))
        .bind(shop_id)
        .bind(from)
        .bind(to)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// Cards per statement: keeps each `unnest` batch's parameters moderate.
pub const CHUNK: usize = 1000;

/// One statement's worth of cards, as the columns it writes: made from the cards (the
/// CPU part, JSON included) apart from writing them, so that a run makes the next chunk
/// while Postgres writes this one.
pub struct CardRows {
    ids: Vec<String>,
    /// The JSON text as the API sends it (migration 0006: stored as text).
    bodies: Vec<String>,
    scores: Vec<Option<f64>>,
    stars: Vec<Option<i16>>,
    points: Vec<i64>,
    levels: Vec<i16>,
    dsr: [Vec<Option<f64>>; 3],
    tiers: Vec<Option<String>>,
}

impl CardRows {
    pub fn of(cards: &[Scorecard]) -> CardRows {
        let col = |f: fn(&Scorecard) -> Option<f64>| cards.iter().map(f).collect();
        CardRows {
            ids: cards.iter().map(|c| c.shop_id.clone()).collect(),
            bodies: cards
                .iter()
                .map(|c| serde_json::to_string(c).expect("scorecards serialise"))
                .collect(),
            scores: col(|c| c.service_score.score),
            stars: cards
                .iter()
                .map(|c| c.star_level.as_ref().and_then(|s| s.stars).map(i16::from))
                .collect(),
            points: cards.iter().map(|c| c.credit.points).collect(),
            levels: cards.iter().map(|c| c.credit.level.index as i16).collect(),
            dsr: [
                col(|c| c.dsr.description.score),
                col(|c| c.dsr.service.score),
                col(|c| c.dsr.logistics.score),
            ],
            tiers: cards
                .iter()
                .map(|c| c.cs_tier.as_ref().map(|t| t.tier.as_str().to_string()))
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Writes one chunk of cards as of `as_of` (a card already there for that instant is
/// replaced).
pub async fn write(
    tx: &mut PgConnection,
    as_of: DateTime<Utc>,
    computed_at: DateTime<Utc>,
    policy: &Policy,
    rows: &CardRows,
) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/scorecards_upsert.sql"))
        .bind(&rows.ids)
        .bind(as_of)
        .bind(computed_at)
        .bind(&policy.version)
        .bind(&rows.bodies)
        .bind(&rows.scores)
        .bind(&rows.stars)
        .bind(&rows.points)
        .bind(&rows.levels)
        .bind(&rows.dsr[0])
        .bind(&rows.dsr[1])
        .bind(&rows.dsr[2])
        .bind(&rows.tiers)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Tells every `serve` process, at commit, to drop the latest cards it holds
/// (`cache::latest`).
pub async fn notify(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/cards_notify.sql"))
        .bind(crate::cache::SCORECARDS_CHANNEL)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Whether the shop is known, and the `as_of` of its latest scorecard if it has one
/// (one round trip: the drill-down asks both on every page).
pub async fn known_and_latest_as_of(
    pool: &PgPool,
    shop_id: &str,
) -> Result<(bool, Option<DateTime<Utc>>), sqlx::Error> {
    sqlx::query_as(include_str!("sql/shop_known_and_latest_as_of.sql"))
        .bind(shop_id)
        .fetch_one(pool)
        .await
}
