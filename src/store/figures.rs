//! `shop_figures`: each shop's current rolling figures, which industry comparisons are
//! taken over (so a partial run compares with every other shop's latest figures; a
//! full run puts every shop on the same `as_of`).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};

use crate::domain::ShopInfo;
use crate::scoring::assemble::{IndustryFigures, ShopFigures};

/// Every shop's current figures in one industry, read into the caller's row type (what
/// the API's benchmarks aggregate).
pub async fn of_industry<T>(pool: &PgPool, industry: &str) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    sqlx::query_as(include_str!("sql/figures_of_industry.sql"))
        .bind(industry)
        .fetch_all(pool)
        .await
}

/// Writes the targets' figures as of `as_of`.
pub async fn store(
    tx: &mut PgConnection,
    as_of: DateTime<Utc>,
    targets: &[&ShopInfo],
    figures: &HashMap<String, ShopFigures>,
) -> Result<(), sqlx::Error> {
    let mut ids = Vec::new();
    let mut industries = Vec::new();
    let mut scores = Vec::new();
    let mut indicators = Vec::new();
    let (mut d0, mut d1, mut d2) = (Vec::new(), Vec::new(), Vec::new());
    for info in targets {
        let f = &figures[&info.shop_id];
        ids.push(info.shop_id.as_str());
        industries.push(info.industry.as_str());
        scores.push(f.service.score);
        let ind: BTreeMap<&str, Option<f64>> = f
            .service
            .indicators
            .iter()
            .map(|(k, v)| (k.as_str(), v.score))
            .collect();
        indicators.push(Json(serde_json::to_value(ind).expect("serialisable")));
        d0.push(f.dsr[0].0);
        d1.push(f.dsr[1].0);
        d2.push(f.dsr[2].0);
    }
    sqlx::query(include_str!("sql/figures_upsert.sql"))
        .bind(&ids)
        .bind(&industries)
        .bind(as_of)
        .bind(&scores)
        .bind(&indicators)
        .bind(&d0)
        .bind(&d1)
        .bind(&d2)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// SPEC §1, a look-back: a target whose current figures are later than this run's
/// `as_of` gets its snapshot, but what is current stays. Before the run writes its
/// figures, the later ones are set aside (in a temporary table dropped at commit); the
/// look-back figures still take part in this run's industry comparisons, as a full run
/// at `as_of` would have them, and `restore_later` puts the current ones back. Returns
/// the shops set aside.
pub async fn set_aside_later(
    tx: &mut PgConnection,
    targets: &[&str],
    as_of: DateTime<Utc>,
) -> Result<HashSet<String>, sqlx::Error> {
    sqlx::query(include_str!("sql/figures_set_aside_create.sql"))
        .execute(&mut *tx)
        .await?;
    let kept: Vec<String> = sqlx::query_scalar(include_str!("sql/figures_set_aside.sql"))
        .bind(targets)
        .bind(as_of)
        .fetch_all(&mut *tx)
        .await?;
    Ok(kept.into_iter().collect())
}

/// Puts back the figures `set_aside_later` kept.
pub async fn restore_later(tx: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query(include_str!("sql/figures_restore.sql"))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct IndustryRow {
    shop_id: String,
    industry: String,
    service_score: Option<f64>,
    dsr_description: Option<f64>,
    dsr_service: Option<f64>,
    dsr_logistics: Option<f64>,
}

/// A shop's figures as a what-if has them, in place of its stored ones.
pub struct Swap<'a> {
    pub shop_id: &'a str,
    pub figures: &'a ShopFigures,
}

/// Every non-null figure of each of `industries`, in shop order; with `swap`, that
/// shop's stored figures replaced by the swap's (a what-if compares with the others'
/// stored figures, its own at the place a run would put them).
pub async fn industries(
    tx: &mut PgConnection,
    industries: &[String],
    swap: Option<Swap<'_>>,
) -> Result<IndustryFigures, sqlx::Error> {
    let mut rows: Vec<IndustryRow> = sqlx::query_as(include_str!("sql/figures_of_industries.sql"))
        .bind(industries)
        .fetch_all(&mut *tx)
        .await?;
    if let Some(s) = swap {
        if let Some(row) = rows.iter_mut().find(|r| r.shop_id == s.shop_id) {
            row.service_score = s.figures.service.score;
            [row.dsr_description, row.dsr_service, row.dsr_logistics] = s.figures.dsr.map(|d| d.0);
        }
    }
    let mut service: HashMap<String, Vec<f64>> = HashMap::new();
    let mut dsr_lists: HashMap<String, [Vec<f64>; 3]> = HashMap::new();
    for r in rows {
        if let Some(s) = r.service_score {
            service.entry(r.industry.clone()).or_default().push(s);
        }
        let dsr = dsr_lists.entry(r.industry).or_default();
        for (i, v) in [r.dsr_description, r.dsr_service, r.dsr_logistics]
            .into_iter()
            .enumerate()
        {
            if let Some(v) = v {
                dsr[i].push(v);
            }
        }
    }
    Ok(IndustryFigures::new(service, dsr_lists))
}
