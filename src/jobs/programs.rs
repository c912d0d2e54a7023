//! A batch's programmes (SPEC §4.5): each programme's period, its rules, status,
//! penalties, and the chain of consecutive failing months behind an escalation.

use std::collections::HashMap;

use chrono::{DateTime, Days, Duration, Utc};
use chrono_tz::Tz;
use indexmap::IndexMap;
use sqlx::PgPool;

use crate::domain::ProgramStatus;
use crate::metric::eval::late_orders;
use crate::metric::loader::{measure_all, Loader};
use crate::metric::{self, Metric, Scope, ScopeData, ShopData};
use crate::policy::{PeriodKind, Policy, Program};
use crate::scoring::{card, programs};
use crate::store::shops::ShopInfo;
use crate::time::{eval_instant, latest_campaign, Month};

/// A programme's rules for one shop in one scope: the results, each rule metric's basis,
/// and whether any failed.
fn program_rules(
    p: &Program,
    d: &ShopData,
    scope: Scope,
    tz: Tz,
    eps: f64,
) -> (Vec<card::RuleResult>, IndexMap<String, u64>, bool) {
    let vals = measure_all(p.rules.iter().map(|r| &r.named), d, scope, tz);
    let basis = p
        .rules
        .iter()
        .map(|r| (r.named.name.clone(), vals[&r.named.name].n))
        .collect();
    let (rules, failed) = programs::evaluate_rules(&p.rules, &vals, eps);
    (rules, basis, failed)
}

/// One programme for a batch: its period, rules, status, failures chain and penalties.
pub async fn program(
    loader: &mut Loader<'_>,
    policy: &Policy,
    p: &Program,
    as_of: DateTime<Utc>,
    batch: &[&ShopInfo],
) -> Result<Vec<(String, Option<card::Program>)>, sqlx::Error> {
    let tz = policy.tz;
    let eps = policy.epsilon;
    let (start, end, label, month) = match &p.period {
        PeriodKind::Month => {
            let m = Month::of(as_of, tz).prev();
            (m.start(tz), m.end(tz), m.label(), Some(m))
        }
        PeriodKind::Campaign { start, end } => {
            let (s, e, first, next) = latest_campaign(as_of, tz, *start, *end);
            let last = next - Days::new(1);
            (s, e, format!("{first}/{last}"), None)
        }
        PeriodKind::Rolling { days } => {
            let sc = Scope::rolling(as_of, *days);
            let first = sc.lo.with_timezone(&tz).date_naive();
            let last = as_of.with_timezone(&tz).date_naive();
            (sc.lo, sc.hi, format!("{first}/{last}"), None)
        }
    };
    let e = match p.period {
        PeriodKind::Rolling { .. } => as_of,
        _ => eval_instant(as_of, end, p.settle_seconds),
    };
    let scope = Scope::period(start, end, e);
    let in_progress = matches!(p.period, PeriodKind::Campaign { .. })
        && as_of < end + Duration::seconds(p.settle_seconds);

    let mut needed: Vec<&Metric> = p.rules.iter().map(|r| &r.named.metric).collect();
    if let Some(pen) = &p.penalty {
        needed.push(&pen.late_orders_of.metric);
    }
    let d = loader.get(scope, needed).await?;
    let last_exempt = |info: &ShopInfo| -> Option<Month> {
        let first = info.first_event_at.map(|t| Month::of(t, tz));
        programs::last_exempt_month(p.exempt_first_months, first)
    };
    let exempt_until =
        |info: &ShopInfo, m: Month| -> bool { last_exempt(info).is_some_and(|last| m.0 <= last.0) };

    let mut out = Vec::new();
    let mut failing: Vec<&ShopInfo> = Vec::new();
    for info in batch {
        if !info.active_before(end, e) {
            out.push((info.shop_id.clone(), None));
            continue;
        }
        let sd = d.shop(&info.shop_id);
        let (rules, basis, failed) = program_rules(p, sd, scope, tz, eps);
        let exempt = month.is_some_and(|m| exempt_until(info, m));
        let status = programs::status(in_progress, exempt, failed);
        if failed && !exempt && p.tracks_failures() {
            failing.push(info);
        }
        let (penalty_cents, late) = match &p.penalty {
            Some(pen) => {
                let Metric::LateShipments(h) = pen.late_orders_of.metric else {
                    unreachable!("validated")
                };
                let late: Vec<(String, i64)> = late_orders(sd, h, e)
                    .into_iter()
                    .map(|o| (o.order_id.clone(), o.amount_cents.unwrap_or(0)))
                    .collect();
                let (total, list) = programs::penalties(&late, pen.percent, pen.cap_cents);
                (Some(total), Some(list))
            }
            None => (None, None),
        };
        out.push((
            info.shop_id.clone(),
            Some(card::Program {
                period: label.clone(),
                exempt_until: (status == ProgramStatus::Exempt)
                    .then(|| last_exempt(info).map(Month::label))
                    .flatten(),
                status,
                rules,
                basis,
                consecutive_failures: p.tracks_failures().then_some(0),
                penalty_cents,
                late_orders: late,
            }),
        ));
    }

    // Consecutive failing months, walking back until a month passes, is exempt, or
    // precedes the shop's first event. A month in which a shop has no events, after a
    // failing month that had none either, fails the same way (both see only the state
    // carried from before them), so it is counted without a query: past the first few
    // months, the walk queries only months with events (`Activity`).
    if let (Some(m0), false) = (month, failing.is_empty()) {
        let mut counts: HashMap<String, u32> =
            failing.iter().map(|s| (s.shop_id.clone(), 1)).collect();
        let settle = |m: Month| eval_instant(as_of, m.end(tz), p.settle_seconds);
        let fams = metric::families(p.rules.iter().map(|r| &r.named.metric));
        let mut activity: Option<Activity> = None;
        let (mut m, mut walked, mut queried) = (m0, 0u32, 0u32);
        while !failing.is_empty() {
            let later_e = settle(m);
            m = m.prev();
            walked += 1;
            let (s, en) = (m.start(tz), m.end(tz));
            let sc = Scope::period(s, en, settle(m));
            failing.retain(|info| info.active_before(en, sc.e) && !exempt_until(info, m));
            if failing.is_empty() {
                break;
            }
            if activity.is_none() && walked >= 3 {
                let ids: Vec<&str> = failing.iter().map(|s| s.shop_id.as_str()).collect();
                activity = Some(Activity::load(loader.pool, &ids, as_of).await?);
            }
            // Quiet from this month's start to the later month's evaluation instant:
            // this month fails as the later one did.
            let (quiet, busy): (Vec<&ShopInfo>, Vec<&ShopInfo>) =
                failing.iter().partition(|info| {
                    activity
                        .as_ref()
                        .is_some_and(|a| a.quiet(&info.shop_id, s, later_e))
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
                    let (_, _, failed) = program_rules(p, data.shop(&info.shop_id), sc, tz, eps);
                    if failed {
                        *counts.get_mut(&info.shop_id).expect("counted") += 1;
                        still.push(info);
                    }
                }
            }
            failing = still;
        }
        tracing::debug!(program = %p.name, months = walked, month_queries = queried, "failure chain walked");
        for (id, prog) in out.iter_mut() {
            if let (Some(prog), Some(n)) = (prog.as_mut(), counts.get(id)) {
                prog.consecutive_failures = Some(*n);
                prog.status = programs::escalated_status(p, *n);
            }
        }
    }
    Ok(out)
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
        let rows: Vec<(String, Vec<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT shop_id, array_agg(DISTINCT date_trunc('month', occurred_at, 'UTC'))
             FROM events WHERE shop_id = ANY($1) AND occurred_at <= $2 GROUP BY shop_id",
        )
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
