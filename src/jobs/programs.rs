//! A batch's programmes (SPEC §4.5): each shop's programme for its period, and for the
//! shops that fail a programme with escalation, the earlier months that decide how long
//! their chain of failures is. `scoring::programs` decides; this loads.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use sqlx::PgPool;

use crate::domain::ShopInfo;
use crate::metric::loader::Loader;
use crate::metric::{self, Metric, ScopeData};
use crate::policy::{Policy, Program};
use crate::scoring::periods::ProgramPeriod;
use crate::scoring::{card, programs};

/// Every programme of the policy for a batch, each for its period (`periods`, in
/// policy order): each shop's programmes, every one present (`None`: not in it yet).
pub async fn every(
    loader: &mut Loader<'_>,
    policy: &Policy,
    periods: &[ProgramPeriod],
    batch: &[&ShopInfo],
) -> Result<HashMap<String, IndexMap<String, Option<card::Program>>>, sqlx::Error> {
    let mut out: HashMap<String, IndexMap<String, Option<card::Program>>> = HashMap::new();
    for (p, period) in policy.programs.iter().zip(periods) {
        for (id, card) in program(loader, policy, p, period, batch).await? {
            out.entry(id).or_default().insert(p.name.clone(), card);
        }
    }
    Ok(out)
}

/// One programme for a batch: each shop's card (`None`: not in the programme yet).
pub async fn program(
    loader: &mut Loader<'_>,
    policy: &Policy,
    p: &Program,
    period: &ProgramPeriod,
    batch: &[&ShopInfo],
) -> Result<Vec<(String, Option<card::Program>)>, sqlx::Error> {
    let (tz, eps) = (policy.tz, policy.epsilon);
    let mut needed: Vec<&Metric> = p.rules.iter().map(|r| &r.named.metric).collect();
    if let Some(pen) = &p.penalty {
        needed.push(&pen.late_orders_of.metric);
    }
    let d = loader.get(period.scope, needed).await?;
    let mut out = Vec::new();
    let mut failing: Vec<&ShopInfo> = Vec::new();
    for info in batch {
        let shop = programs::shop_program(p, period, info, d.shop(&info.shop_id), tz, eps);
        if shop.as_ref().is_some_and(|s| s.chain_starts) {
            failing.push(info);
        }
        out.push((info.shop_id.clone(), shop.map(|s| s.card)));
    }
    if let (Some(month), false) = (period.month, failing.is_empty()) {
        let counts = failure_chains(loader, policy, p, period, month, failing).await?;
        for (id, card) in out.iter_mut() {
            if let (Some(card), Some(n)) = (card.as_mut(), counts.get(id)) {
                programs::escalate(card, p, *n);
            }
        }
    }
    Ok(out)
}

/// Each failing shop's count of consecutive failing months ending with `month`: walking
/// back until a month passes, is exempt, or precedes the shop's first event. A month in
/// which a shop has no events, after a failing month that had none either, fails the
/// same way (both see only the state carried from before them), so it is counted
/// without a query: past the first few months, the walk queries only months with
/// events (`Activity`).
async fn failure_chains(
    loader: &Loader<'_>,
    policy: &Policy,
    p: &Program,
    period: &ProgramPeriod,
    month: crate::time::Month,
    mut failing: Vec<&ShopInfo>,
) -> Result<HashMap<String, u32>, sqlx::Error> {
    let (tz, eps) = (policy.tz, policy.epsilon);
    let mut counts: HashMap<String, u32> = failing.iter().map(|s| (s.shop_id.clone(), 1)).collect();
    let fams = metric::families(p.rules.iter().map(|r| &r.named.metric));
    let mut activity: Option<Activity> = None;
    let (mut m, mut walked, mut queried) = (month, 0u32, 0u32);
    while !failing.is_empty() {
        let later_e = period.earlier(m).e;
        m = m.prev();
        walked += 1;
        let sc = period.earlier(m);
        failing.retain(|info| programs::chain_reaches(p, info, m, sc, tz));
        if failing.is_empty() {
            break;
        }
        if activity.is_none() && walked >= 3 {
            let ids: Vec<&str> = failing.iter().map(|s| s.shop_id.as_str()).collect();
            activity = Some(Activity::load(loader.pool, &ids, period.as_of()).await?);
        }
        // Quiet from this month's start to the later month's evaluation instant: this
        // month fails as the later one did.
        let (quiet, busy): (Vec<&ShopInfo>, Vec<&ShopInfo>) = failing.iter().partition(|info| {
            (activity.as_ref()).is_some_and(|a| a.quiet(&info.shop_id, sc.lo, later_e))
        });
        for info in &quiet {
            *counts.get_mut(&info.shop_id).expect("counted") += 1;
        }
        let mut still = quiet;
        if !busy.is_empty() {
            queried += 1;
            let ids: Vec<String> = busy.iter().map(|s| s.shop_id.clone()).collect();
            let mut data = ScopeData::default();
            metric::load_into(loader.pool, &ids, sc, &fams, &mut data).await?;
            for info in busy {
                if programs::rules_in(p, data.shop(&info.shop_id), sc, tz, eps).failed {
                    *counts.get_mut(&info.shop_id).expect("counted") += 1;
                    still.push(info);
                }
            }
        }
        failing = still;
    }
    tracing::debug!(program = %p.name, months = walked, month_queries = queried, "failure chain walked");
    Ok(counts)
}

/// The UTC calendar months in which each shop has events (up to some instant): enough
/// to tell, conservatively, that a shop had no events in a span. Read once per
/// programme per batch, and only for failure chains longer than a few months.
struct Activity(HashMap<String, Vec<DateTime<Utc>>>);

impl Activity {
    async fn load(
        pool: &PgPool,
        shops: &[&str],
        before: DateTime<Utc>,
    ) -> Result<Activity, sqlx::Error> {
        let rows: Vec<(String, Vec<DateTime<Utc>>)> =
            sqlx::query_as(include_str!("sql/shop_activity.sql"))
                .persistent(false) // planned for these shops: see `Family::plan`
                .bind(shops)
                .bind(before)
                .fetch_all(pool)
                .await?;
        Ok(Activity(rows.into_iter().collect()))
    }

    /// Whether `shop` surely has no event in `[lo, hi)`: no UTC month with events
    /// overlaps it. Spans end at evaluation instants, which are never after the
    /// instant the activity was read up to (the run's `as_of`).
    fn quiet(&self, shop: &str, lo: DateTime<Utc>, hi: DateTime<Utc>) -> bool {
        let months = self.0.get(shop).map(Vec::as_slice).unwrap_or_default();
        !months.iter().any(|&start| {
            let end = start
                .checked_add_months(chrono::Months::new(1))
                .expect("within chrono's range");
            start < hi && end > lo
        })
    }
}
