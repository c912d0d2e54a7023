//! `cs_tiers`: each shop's tier row for a month (SPEC §4.6), written from the inputs a
//! run computed, then the whole month re-ranked, since one shop's figures move its
//! whole cohort.

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool};

use crate::domain::{Tier, TierReason, TierStatus};
use crate::policy::Policy;
use crate::scoring::card;
use crate::scoring::tiers::{self, Exclusion, TierInput, TierRow};
use crate::time::Month;

/// Writes the rows' inputs for `month` (a run writes each batch's as it completes; the
/// month is then re-ranked once, by `rerank`).
pub async fn write_inputs(
    tx: &mut PgConnection,
    policy: &Policy,
    month: Month,
    rows: &[TierRow],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let label = month.label();
    let ids: Vec<&str> = rows.iter().map(|r| r.input.shop_id.as_str()).collect();
    let industries: Vec<&str> = rows.iter().map(|r| r.input.industry.as_str()).collect();
    let scales: Vec<&str> = rows.iter().map(|r| r.scale.as_str()).collect();
    let eligible: Vec<bool> = rows.iter().map(|r| r.exclusion.is_none()).collect();
    let reasons: Vec<Option<&str>> = rows
        .iter()
        .map(|r| r.exclusion.map(|x| x.reason().as_str()))
        .collect();
    let disq: Vec<bool> = rows
        .iter()
        .map(|r| r.exclusion == Some(Exclusion::IntegrityFlag))
        .collect();
    let rates: Vec<Option<f64>> = rows.iter().map(|r| r.input.satisfaction_rate).collect();
    let ratings: Vec<i64> = rows.iter().map(|r| r.input.ratings).collect();
    let cancels: Vec<Option<&str>> = rows
        .iter()
        .map(|r| r.cancel_reason.map(TierReason::as_str))
        .collect();
    let short: Vec<Option<tiers::Shortfall>> = rows
        .iter()
        .map(|r| tiers::shortfall(&r.input, &policy.cs_tier, policy.epsilon, r.exclusion))
        .collect();
    let short_figure: Vec<Option<&str>> =
        short.iter().map(|s| s.as_ref().map(|s| s.figure)).collect();
    let short_have: Vec<Option<f64>> = short
        .iter()
        .map(|s| s.as_ref().and_then(|s| s.have))
        .collect();
    let short_need: Vec<Option<f64>> = short.iter().map(|s| s.as_ref().map(|s| s.need)).collect();
    sqlx::query(include_str!("sql/tiers_upsert.sql"))
        .bind(&ids)
        .bind(&label)
        .bind(&industries)
        .bind(&scales)
        .bind(&eligible)
        .bind(&reasons)
        .bind(&disq)
        .bind(&rates)
        .bind(&ratings)
        .bind(&cancels)
        .bind(&short_figure)
        .bind(&short_have)
        .bind(&short_need)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// One stored row of the month, as re-ranking reads it.
#[derive(sqlx::FromRow)]
struct MonthRow {
    shop_id: String,
    industry: String,
    scale: String,
    eligible: bool,
    ineligible_reason: Option<TierReason>,
    disqualified: bool,
    satisfaction_rate: Option<f64>,
    ratings: i64,
    cancel_reason: Option<TierReason>,
}

/// Re-ranks `month` over every stored row and derives each status.
pub async fn rerank(
    tx: &mut PgConnection,
    policy: &Policy,
    month: Month,
) -> Result<(), sqlx::Error> {
    let label = month.label();
    let all: Vec<MonthRow> = sqlx::query_as(include_str!("sql/tiers_of_month.sql"))
        .bind(&label)
        .fetch_all(&mut *tx)
        .await?;
    let eligible: Vec<(TierInput, String)> = all
        .iter()
        .filter(|r| r.eligible)
        .map(|r| {
            let input = ranked_input(
                r.shop_id.clone(),
                r.industry.clone(),
                r.satisfaction_rate,
                r.ratings,
            );
            (input, r.scale.clone())
        })
        .collect();
    let ranked: HashMap<String, tiers::Ranked> =
        tiers::rank(&eligible, &policy.cs_tier, policy.epsilon)
            .into_iter()
            .map(|r| (r.shop_id.clone(), r))
            .collect();
    let mut sizes: HashMap<(&str, &str), i32> = HashMap::new();
    for (i, scale) in &eligible {
        *sizes
            .entry((i.industry.as_str(), scale.as_str()))
            .or_default() += 1;
    }
    let (mut ids, mut ranks, mut tiers_, mut size, mut status, mut reason) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for row in &all {
        let r = ranked.get(&row.shop_id);
        let (st, why) = tiers::status(
            row.disqualified,
            r.map(|r| r.tier),
            row.ineligible_reason,
            row.cancel_reason,
        );
        ids.push(row.shop_id.as_str());
        ranks.push(r.map(|r| r.rank as i32));
        tiers_.push(r.map_or(Tier::None, |r| r.tier).as_str());
        size.push(
            sizes
                .get(&(row.industry.as_str(), row.scale.as_str()))
                .copied()
                .unwrap_or(0),
        );
        status.push(st.as_str());
        reason.push(why.map(TierReason::as_str));
    }
    sqlx::query(include_str!("sql/tiers_rerank.sql"))
        .bind(&label)
        .bind(&ids)
        .bind(&ranks)
        .bind(&tiers_)
        .bind(&size)
        .bind(&status)
        .bind(&reason)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct EligibleRow {
    shop_id: String,
    scale: String,
    satisfaction_rate: Option<f64>,
    ratings: i64,
}

/// The eligible rows of `month` in `industry` other than `shop_id`'s, as ranking reads
/// them (with their scale).
pub async fn eligible_others(
    pool: &PgPool,
    month: Month,
    industry: &str,
    shop_id: &str,
) -> Result<Vec<(TierInput, String)>, sqlx::Error> {
    let rows: Vec<EligibleRow> = sqlx::query_as(include_str!("sql/tiers_eligible_of_industry.sql"))
        .bind(month.label())
        .bind(industry)
        .bind(shop_id)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let input = ranked_input(
                r.shop_id,
                industry.to_string(),
                r.satisfaction_rate,
                r.ratings,
            );
            (input, r.scale)
        })
        .collect())
}

/// What ranking reads of a stored row (the rest of `TierInput` decided eligibility).
fn ranked_input(
    shop_id: String,
    industry: String,
    satisfaction_rate: Option<f64>,
    ratings: i64,
) -> TierInput {
    TierInput {
        shop_id,
        industry,
        orders: 0,
        integrity_flags: 0,
        ratings,
        satisfaction_rate,
        service_score: None,
        consultation: None,
    }
}

/// A stored `cs_tiers` row, as the scorecard and `GET /v1/cs-tiers` read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredTier {
    pub shop_id: String,
    pub month: String,
    pub tier: Tier,
    pub status: TierStatus,
    pub reason: Option<TierReason>,
    pub satisfaction_rate: Option<f64>,
    pub ratings: i64,
    pub rank: Option<i32>,
    pub industry: String,
    pub scale: String,
    pub cohort_size: i32,
    pub disqualified: bool,
    pub shortfall_figure: Option<String>,
    pub shortfall_have: Option<f64>,
    pub shortfall_need: Option<f64>,
}

impl StoredTier {
    pub fn cohort(&self) -> card::Cohort {
        card::Cohort {
            industry: self.industry.clone(),
            scale: self.scale.clone(),
            size: self.cohort_size as u32,
        }
    }

    /// What the shop lacked, shown while it is `ineligible` for that reason.
    pub fn shortfall(&self) -> Option<card::Shortfall> {
        let figure = self.shortfall_figure.clone()?;
        (self.status == TierStatus::Ineligible).then(|| card::Shortfall {
            figure,
            have: self.shortfall_have,
            need: self.shortfall_need.unwrap_or_default(),
        })
    }

    /// The tier as a scorecard shows it.
    pub fn into_card(self) -> card::CsTier {
        card::CsTier {
            shortfall: self.shortfall(),
            cohort: self.cohort(),
            month: self.month,
            tier: self.tier,
            status: self.status,
            reason: self.reason,
            satisfaction_rate: self.satisfaction_rate,
            ratings: self.ratings,
            rank: self.rank.map(|r| r as u32),
            security_warning: self.disqualified,
        }
    }
}

/// The latest month with tier rows (`YYYY-MM`), if any.
pub async fn latest_month(pool: &PgPool) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(include_str!("sql/tiers_latest_month.sql"))
        .fetch_one(pool)
        .await
}

/// What a page of tier rows is filtered by.
pub struct TierPage<'a> {
    pub month: &'a str,
    pub industry: Option<&'a str>,
    pub tier: Option<&'a str>,
}

/// A page of a month's tier rows, by shop id after `after`, at most `limit`.
pub async fn list(
    pool: &PgPool,
    f: TierPage<'_>,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<StoredTier>, sqlx::Error> {
    sqlx::query_as(include_str!("sql/tiers_list.sql"))
        .bind(f.month)
        .bind(f.industry)
        .bind(f.tier)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// The targets' tier of `month`, as their scorecards show it.
pub async fn cards(
    tx: &mut PgConnection,
    month: Month,
    ids: &[&str],
) -> Result<HashMap<String, card::CsTier>, sqlx::Error> {
    let rows: Vec<StoredTier> = sqlx::query_as(include_str!("sql/tiers_cards.sql"))
        .bind(month.label())
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.shop_id.clone(), r.into_card()))
        .collect())
}

/// A month's shops counted by cohort, tier and status.
#[derive(Debug, sqlx::FromRow)]
pub struct BoardRow {
    pub industry: String,
    pub scale: String,
    pub tier: Tier,
    pub status: TierStatus,
    pub shops: i64,
}

/// Month `month`'s tier rows counted by (industry, scale band, tier, status).
pub async fn board(pool: &PgPool, month: &str) -> Result<Vec<BoardRow>, sqlx::Error> {
    sqlx::query_as(include_str!("sql/tiers_board.sql"))
        .bind(month)
        .fetch_all(pool)
        .await
}
