//! The shops a recompute may score, with the first event that makes them active.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::time::Month;

use crate::domain::ShopInfo;

/// Registers a shop or changes its name, industry and platform, and marks it dirty;
/// the shop as stored, read into the caller's row type.
pub async fn upsert<T>(
    pool: &PgPool,
    shop_id: &str,
    name: Option<&str>,
    industry: &str,
    platform: Option<&str>,
) -> Result<T, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    sqlx::query_as(include_str!("sql/shop_upsert.sql"))
        .bind(shop_id)
        .bind(name)
        .bind(industry)
        .bind(platform)
        .fetch_one(pool)
        .await
}

/// One shop, read into the caller's row type.
pub async fn one<T>(pool: &PgPool, shop_id: &str) -> Result<Option<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    sqlx::query_as(include_str!("sql/shop_get.sql"))
        .bind(shop_id)
        .fetch_optional(pool)
        .await
}

/// Whether the shop is registered.
pub async fn exists(pool: &PgPool, shop_id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(include_str!("sql/shop_exists.sql"))
        .bind(shop_id)
        .fetch_one(pool)
        .await
}

/// A headline figure of the latest scorecard that shops can be ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    ServiceScore,
    Stars,
    CreditPoints,
    DsrService,
}

impl Figure {
    /// Its column of the latest scorecard, as float8.
    fn column(self) -> &'static str {
        match self {
            Figure::ServiceScore => "c.service_score",
            Figure::Stars => "c.stars::float8",
            Figure::CreditPoints => "c.credit_points::float8",
            Figure::DsrService => "c.dsr_service",
        }
    }
}

/// How `ranked` filters and sorts.
pub struct Ranking<'a> {
    pub industry: Option<&'a str>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    /// Only these shops (a merchant's); every shop when `None`.
    pub only: Option<&'a [String]>,
    /// The headline figure sorted by; by shop id when `None`.
    pub figure: Option<Figure>,
    pub descending: bool,
}

/// The ranking statement for a sort: every fragment is fixed text chosen by the figure
/// and the order; values are bound.
fn ranked_sql(figure: Option<Figure>, descending: bool) -> String {
    let column = figure.map(Figure::column);
    let sign = if descending { "-" } else { "" };
    let (missing, key, order_by, after) = match (column, descending) {
        (None, false) => (
            "false".into(),
            "0::float8".into(),
            "shop_id",
            "shop_id > $6",
        ),
        (None, true) => (
            "false".into(),
            "0::float8".into(),
            "shop_id DESC",
            "shop_id < $6",
        ),
        (Some(col), _) => (
            format!("({col}) IS NULL"),
            format!("coalesce({sign}({col}), 0)"),
            "missing, key, shop_id",
            "(missing, key, shop_id) > ($4, $5, $6)",
        ),
    };
    include_str!("sql/shops_ranked.sql")
        .replace("{missing}", &missing)
        .replace("{key}", &key)
        .replace("{after}", after)
        .replace("{order_by}", order_by)
}

/// Every ranking statement (each sort, each order), for the check that prepares each
/// against the schema (`tests/it/sql_files.rs`).
pub fn ranked_statements() -> Vec<String> {
    let figures = [
        None,
        Some(Figure::ServiceScore),
        Some(Figure::Stars),
        Some(Figure::CreditPoints),
        Some(Figure::DsrService),
    ];
    (figures.into_iter())
        .flat_map(|f| [false, true].map(|descending| ranked_sql(f, descending)))
        .collect()
}

/// A page of shops with their latest scorecard's headline columns (and the `missing`
/// and `key` a page continues after), at most `limit`, after `(missing, key, shop_id)`,
/// read into the caller's row type.
pub async fn ranked<T>(
    pool: &PgPool,
    by: Ranking<'_>,
    after: Option<(bool, f64, String)>,
    limit: i64,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let (missing_after, key_after, shop_after) = match after {
        Some((m, k, id)) => (Some(m), Some(k), Some(id)),
        None => (None, None, None),
    };
    let sql = ranked_sql(by.figure, by.descending);
    sqlx::query_as(&sql)
        .bind(by.industry)
        .bind(by.min_score)
        .bind(by.max_score)
        .bind(missing_after)
        .bind(key_after)
        .bind(shop_after)
        .bind(limit)
        .bind(by.only)
        .fetch_all(pool)
        .await
}

/// One shop as a run scores it; `None` for an unknown shop.
pub async fn info(pool: &PgPool, shop_id: &str) -> Result<Option<ShopInfo>, sqlx::Error> {
    sqlx::query_as(include_str!("sql/shop_info.sql"))
        .bind(shop_id)
        .fetch_optional(pool)
        .await
}

/// Every known shop, by id.
pub async fn all(pool: &PgPool) -> Result<Vec<ShopInfo>, sqlx::Error> {
    sqlx::query_as(include_str!("sql/shops.sql"))
        .fetch_all(pool)
        .await
}

/// Registers shops given as (id, name, industry), leaving those already registered as
/// they are (`demo`).
pub async fn register(pool: &PgPool, shops: &[(String, String, &str)]) -> Result<(), sqlx::Error> {
    let ids: Vec<&str> = shops.iter().map(|s| s.0.as_str()).collect();
    let names: Vec<&str> = shops.iter().map(|s| s.1.as_str()).collect();
    let industries: Vec<&str> = shops.iter().map(|s| s.2).collect();
    sqlx::query(include_str!("sql/shops_register.sql"))
        .bind(ids)
        .bind(names)
        .bind(industries)
        .execute(pool)
        .await?;
    Ok(())
}

/// The ids among `ids` that name no known shop, sorted.
pub async fn unknown(pool: &PgPool, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(include_str!("sql/shops_unknown.sql"))
        .bind(ids)
        .fetch_all(pool)
        .await
}

/// The shops that already have a tier row for `month`.
pub async fn with_tier_row(pool: &PgPool, month: Month) -> Result<HashSet<String>, sqlx::Error> {
    let ids: Vec<String> = sqlx::query_scalar(include_str!("sql/shops_with_tier_row.sql"))
        .bind(month.label())
        .fetch_all(pool)
        .await?;
    Ok(ids.into_iter().collect())
}

/// The shops a run scores: all, or those named; the unknown names, sorted, otherwise.
pub fn select<'a>(
    all: &'a [ShopInfo],
    ids: Option<&[String]>,
) -> Result<Vec<&'a ShopInfo>, Vec<String>> {
    let Some(ids) = ids else {
        return Ok(all.iter().collect());
    };
    let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let found: Vec<&ShopInfo> = all
        .iter()
        .filter(|s| wanted.contains(s.shop_id.as_str()))
        .collect();
    if found.len() == wanted.len() {
        return Ok(found);
    }
    let known: HashSet<&str> = found.iter().map(|s| s.shop_id.as_str()).collect();
    let mut missing: Vec<String> = wanted
        .iter()
        .filter(|w| !known.contains(*w))
        .map(|s| s.to_string())
        .collect();
    missing.sort();
    Err(missing)
}

/// Shops besides the targets that need tier inputs for the month ending at `end`: those
/// active before it without a row yet (the first run of a month covers every shop).
pub fn needing_tier_row<'a>(
    all: &'a [ShopInfo],
    targets: &[&ShopInfo],
    have_rows: &HashSet<String>,
    end: DateTime<Utc>,
) -> Vec<&'a ShopInfo> {
    let target_ids: HashSet<&str> = targets.iter().map(|s| s.shop_id.as_str()).collect();
    all.iter()
        .filter(|s| !target_ids.contains(s.shop_id.as_str()) && !have_rows.contains(&s.shop_id))
        .filter(|s| s.active_before(end, end))
        .collect()
}
