//! `scorecards`: the snapshots, one per shop and `as_of`, with the headline columns
//! history and ranking read beside the body.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::policy::Policy;
use crate::scoring::card::Scorecard;

/// Rows per statement: keeps each `unnest` batch's parameters moderate.
const CHUNK: usize = 2000;

/// Writes the cards as of `as_of` (a card already there for that instant is replaced),
/// and notifies every `serve` process at commit to drop the latest cards it holds
/// (`cache::latest`).
pub async fn store(
    tx: &mut PgConnection,
    as_of: DateTime<Utc>,
    computed_at: DateTime<Utc>,
    policy: &Policy,
    cards: &[Scorecard],
) -> Result<(), sqlx::Error> {
    for chunk in cards.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|c| c.shop_id.as_str()).collect();
        // The JSON text as the API sends it (migration 0006: stored as text).
        let bodies: Vec<String> = chunk
            .iter()
            .map(|c| serde_json::to_string(c).expect("scorecards serialise"))
            .collect();
        let scores: Vec<Option<f64>> = chunk.iter().map(|c| c.service_score.score).collect();
        let stars: Vec<Option<i16>> = chunk
            .iter()
            .map(|c| c.star_level.as_ref().and_then(|s| s.stars).map(i16::from))
            .collect();
        let points: Vec<i64> = chunk.iter().map(|c| c.credit.points).collect();
        let levels: Vec<i16> = chunk.iter().map(|c| c.credit.level.index as i16).collect();
        let d0: Vec<Option<f64>> = chunk.iter().map(|c| c.dsr.description.score).collect();
        let d1: Vec<Option<f64>> = chunk.iter().map(|c| c.dsr.service.score).collect();
        let d2: Vec<Option<f64>> = chunk.iter().map(|c| c.dsr.logistics.score).collect();
        let tiers: Vec<Option<&str>> = chunk
            .iter()
            .map(|c| c.cs_tier.as_ref().map(|t| t.tier.as_str()))
            .collect();
        sqlx::query(include_str!("sql/scorecards_upsert.sql"))
            .bind(&ids)
            .bind(as_of)
            .bind(computed_at)
            .bind(&policy.version)
            .bind(&bodies)
            .bind(&scores)
            .bind(&stars)
            .bind(&points)
            .bind(&levels)
            .bind(&d0)
            .bind(&d1)
            .bind(&d2)
            .bind(&tiers)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(crate::cache::SCORECARDS_CHANNEL)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
