//! A run's figures between its compute stage and its cards. The cards need every
//! industry's figures, known only once the last batch is done; holding each target's
//! figures in memory until then grew a run by about 11 KB a shop (110 MB at 10 000
//! shops, without bound above). Each batch's figures go instead, as JSON, into a
//! temporary table of the run's transaction (dropped at commit or rollback), and the
//! cards read them back a chunk at a time through a cursor: what a run holds is
//! bounded by its batches and chunks, whatever its number of shops.

use std::collections::HashMap;

use sqlx::PgConnection;

use crate::domain::ShopInfo;
use crate::scoring::assemble::ShopFigures;

/// One target's figures as held: its id, industry, and figures as JSON text.
#[derive(sqlx::FromRow)]
pub struct Held {
    pub shop_id: String,
    pub industry: String,
    figures: String,
}

impl Held {
    /// The figures as computed (serde_json's `float_roundtrip` parses every number back
    /// to the same `f64`).
    pub fn figures(&self) -> ShopFigures {
        serde_json::from_str(&self.figures).expect("held figures are written by `hold`")
    }
}

/// Makes the run's table (once per run, in its transaction).
pub async fn create(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/held_create.sql"))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The JSON `hold` writes for each of `shops`, made apart from writing it (it is a
/// batch's CPU work, done in the batch's own task).
pub fn serialise(shops: &[ShopInfo], figures: &HashMap<String, ShopFigures>) -> Vec<String> {
    (shops.iter())
        .map(|s| serde_json::to_string(&figures[&s.shop_id]).expect("figures serialise"))
        .collect()
}

/// Holds `shops`' figures, `json[i]` being `serialise`'s text for `shops[i]`.
pub async fn hold(
    tx: &mut PgConnection,
    shops: &[ShopInfo],
    json: &[String],
) -> Result<(), sqlx::Error> {
    let ids: Vec<&str> = shops.iter().map(|s| s.shop_id.as_str()).collect();
    let industries: Vec<&str> = shops.iter().map(|s| s.industry.as_str()).collect();
    sqlx::query(include_str!("sql/held_insert.sql"))
        .bind(&ids)
        .bind(&industries)
        .bind(json)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Opens the cursor `next` reads: every held shop, in the order held.
pub async fn open(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/held_open.sql"))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// FETCH takes no bind parameters: one statement's worth of cards (`cards::CHUNK`,
/// checked below), written out.
const FETCH: &str = include_str!("sql/held_fetch.sql");

/// The next chunk of held shops (`cards::CHUNK`; fewer at the end, none after it).
pub async fn next(tx: &mut PgConnection) -> Result<Vec<Held>, sqlx::Error> {
    sqlx::query_as(FETCH).fetch_all(&mut *tx).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn fetch_reads_one_chunk_of_cards() {
        let expected = format!("FETCH {} FROM held_cursor", super::super::cards::CHUNK);
        assert_eq!(super::FETCH.trim(), expected);
    }
}
