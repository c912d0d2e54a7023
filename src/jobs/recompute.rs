//! The recompute runner: metrics for a set of shops as of an instant, scored by the pure
//! core, stored as scorecard snapshots (SPEC §5 `POST /v1/recompute`, §6).
//!
//! Shape of a run:
//! 1. per batch of shops, every scope (the rolling windows, the closed periods of stars,
//!    programmes and tiers) loads the metric families it needs with one query each;
//! 2. the shops' rolling figures go to `shop_figures`, and industry averages are taken
//!    over that table (so a partial run compares with every other shop's latest figures;
//!    a full run puts every shop on the same `as_of`);
//! 3. tier inputs of the latest complete month go to `cs_tiers`, and the whole month is
//!    re-ranked, since one shop's figures move its whole cohort;
//! 4. scorecards are written in one transaction.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Days, Duration, SubsecRound, Utc};
use chrono_tz::Tz;
use futures_util::StreamExt;
use indexmap::IndexMap;
use sqlx::types::Json;
use sqlx::PgPool;

use crate::metric::eval::{late_orders, measure, Measured};
use crate::metric::{self, evaluate, Metric, Scope, ScopeData, ShopData};
use crate::policy::{NamedMetric, PeriodKind, Policy, Program};
use crate::scoring::card::{self, Scorecard};
use crate::scoring::{credit, hints, programs, service, stars, tiers};
use crate::time::{eval_instant, format_time, latest_campaign, Month};

/// Shops per batch: bounds memory and keeps each family query's `ANY($1)` list moderate.
const BATCH: usize = 500;
/// Batches computed at once (each holds one pooled connection at a time).
const CONCURRENT_BATCHES: usize = 2;
/// Serialises recomputes (API, CLI and scheduler) across replicas.
pub const RECOMPUTE_LOCK: i64 = 0x5_5c04_e000;

#[derive(Debug, thiserror::Error)]
pub enum RecomputeError {
    #[error("unknown shops: {0:?}")]
    UnknownShops(Vec<String>),
    #[error("interrupted by shutdown and rolled back; the next run does it again")]
    Interrupted,
    #[error("ran longer than its limit of {0} s and was rolled back")]
    TimedOut(u64),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// When a run gives up and rolls back: shutdown began, or its time limit passed. It
/// is checked between batches of shops and before the commit, so a run stops within
/// one batch's work of being told to.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    shutdown: Option<tokio_util::sync::CancellationToken>,
    limit: Option<(std::time::Duration, Instant)>,
}

impl Stop {
    /// Runs to the end.
    pub fn never() -> Stop {
        Stop::default()
    }
    pub fn on(shutdown: tokio_util::sync::CancellationToken) -> Stop {
        Stop {
            shutdown: Some(shutdown),
            limit: None,
        }
    }
    /// Gives up `limit` from now.
    pub fn within(mut self, limit: std::time::Duration) -> Stop {
        self.limit = Some((limit, Instant::now() + limit));
        self
    }
    fn check(&self) -> Result<(), RecomputeError> {
        if self.shutdown.as_ref().is_some_and(|t| t.is_cancelled()) {
            return Err(RecomputeError::Interrupted);
        }
        match self.limit {
            Some((limit, deadline)) if Instant::now() >= deadline => {
                Err(RecomputeError::TimedOut(limit.as_secs()))
            }
            _ => Ok(()),
        }
    }
}

/// The ids among `ids` that name no known shop, sorted.
pub async fn unknown_shops(pool: &PgPool, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT id FROM unnest($1::text[]) AS id
         WHERE NOT EXISTS (SELECT 1 FROM shops s WHERE s.shop_id = id) ORDER BY 1",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RecomputeOutcome {
    pub as_of: String,
    pub shops_scored: usize,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ShopInfo {
    shop_id: String,
    industry: String,
    first_event_at: Option<DateTime<Utc>>,
}

impl ShopInfo {
    /// Whether the shop had an event before `end` that is visible at `e`.
    fn active_before(&self, end: DateTime<Utc>, e: DateTime<Utc>) -> bool {
        self.first_event_at.is_some_and(|f| f < end && f <= e)
    }
}

/// Everything computed for one shop before industry figures are known.
struct Figures {
    credit: card::Credit,
    dsr: [(Option<f64>, i64); 3],
    service: card::ServiceScore,
    five_star_ok: bool,
    programs: IndexMap<String, Option<card::Program>>,
}

/// A shop's tier inputs for month M, and whether its tier is cancelled at `as_of`.
struct TierRow {
    input: tiers::TierInput,
    scale: String,
    exclusion: Option<tiers::Exclusion>,
    cancel_reason: Option<&'static str>,
}

/// Loads metric families per scope, once, for one batch of shops.
struct Loader<'a> {
    pool: &'a PgPool,
    shops: Vec<String>,
    cache: HashMap<Scope, ScopeData>,
}

impl<'a> Loader<'a> {
    fn new(pool: &'a PgPool, shops: Vec<String>) -> Self {
        Loader {
            pool,
            shops,
            cache: HashMap::new(),
        }
    }
    async fn get<'m>(
        &mut self,
        scope: Scope,
        ms: impl IntoIterator<Item = &'m Metric>,
    ) -> Result<&ScopeData, sqlx::Error> {
        let fams = metric::families(ms);
        let data = self.cache.entry(scope).or_default();
        metric::load_into(self.pool, &self.shops, scope, &fams, data).await?;
        Ok(data)
    }
}

/// A programme's rules for one shop in one scope: the results, each rule metric's basis,
/// and whether any failed.
fn program_rules(
    p: &Program,
    d: &ShopData,
    scope: Scope,
    tz: Tz,
    eps: f64,
) -> (Vec<card::RuleResult>, IndexMap<String, u64>, bool) {
    let vals = values(p.rules.iter().map(|r| &r.named), d, scope, tz);
    let basis = p
        .rules
        .iter()
        .map(|r| (r.named.name.clone(), vals[&r.named.name].n))
        .collect();
    let (rules, failed) = programs::evaluate_rules(&p.rules, &vals, eps);
    (rules, basis, failed)
}

fn values<'m>(
    named: impl IntoIterator<Item = &'m NamedMetric>,
    d: &ShopData,
    scope: Scope,
    tz: Tz,
) -> HashMap<String, Measured> {
    named
        .into_iter()
        .map(|n| (n.name.clone(), measure(&n.metric, d, scope, tz)))
        .collect()
}

/// Recomputes `shop_ids` (all known shops when `None`) as of `as_of`, at the instant
/// `now` (the scorecards' `computed_at`, and what is "current", see the look-back
/// below).
pub async fn recompute(
    pool: &PgPool,
    policy: &Policy,
    now: DateTime<Utc>,
    as_of: DateTime<Utc>,
    shop_ids: Option<&[String]>,
    stop: &Stop,
) -> Result<RecomputeOutcome, RecomputeError> {
    // Snapshots are keyed by `as_of` in Postgres, which keeps microseconds.
    let as_of = as_of.trunc_subsecs(6);
    let started = Instant::now();
    let started_at = now.trunc_subsecs(6);
    let tz = policy.tz;
    // The dirty marks present *before* any data is read: the events behind them are
    // committed, so this run scores them, and only these marks are cleared at the end.
    // A mark appended while the run reads is left for the next run.
    let marks: Vec<i64> = sqlx::query_scalar("SELECT id FROM dirty_marks")
        .fetch_all(pool)
        .await?;
    // Orders are folded from their events on demand (`ingest::fold`): every batch whose
    // mark was just read is in the fold.
    crate::ingest::fold_orders(pool).await?;
    let all: Vec<ShopInfo> = sqlx::query_as(
        "SELECT s.shop_id, s.industry, f.first_event_at
             FROM shops s LEFT JOIN shop_first_event f USING (shop_id)
             ORDER BY s.shop_id",
    )
    .fetch_all(pool)
    .await?;
    let targets: Vec<&ShopInfo> = match shop_ids {
        None => all.iter().collect(),
        Some(ids) => {
            let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
            let found: Vec<&ShopInfo> = all
                .iter()
                .filter(|s| wanted.contains(s.shop_id.as_str()))
                .collect();
            if found.len() != wanted.len() {
                let known: HashSet<&str> = found.iter().map(|s| s.shop_id.as_str()).collect();
                let mut missing: Vec<String> = wanted
                    .iter()
                    .filter(|w| !known.contains(*w))
                    .map(|s| s.to_string())
                    .collect();
                missing.sort();
                return Err(RecomputeError::UnknownShops(missing));
            }
            found
        }
    };

    // The tier month, and which shops need tier inputs: the targets, plus any shop with
    // events before the month's end that has no row for it yet (first run of a month).
    let tier_month = Month::of(as_of, tz).prev();
    let have_rows: HashSet<String> =
        sqlx::query_scalar("SELECT shop_id FROM cs_tiers WHERE month = $1")
            .bind(tier_month.label())
            .fetch_all(pool)
            .await?
            .into_iter()
            .collect();
    let target_ids: HashSet<&str> = targets.iter().map(|s| s.shop_id.as_str()).collect();
    let tier_extra: Vec<&ShopInfo> = all
        .iter()
        .filter(|s| !target_ids.contains(s.shop_id.as_str()) && !have_rows.contains(&s.shop_id))
        .filter(|s| s.active_before(tier_month.end(tz), tier_month.end(tz)))
        .collect();

    let phase = Instant::now();
    let mut figures: HashMap<String, Figures> = HashMap::new();
    let mut tier_rows: Vec<TierRow> = Vec::new();
    // Batches are independent until the store phase: `CONCURRENT_BATCHES` of them load
    // at once, so Postgres works on one batch's queries while this process scores
    // another's rows.
    // The futures are made first (they start when polled): a closure inside the stream
    // would make the whole run's future fail rustc's `Send` check ("FnOnce is not
    // general enough", a known limit of its lifetime inference).
    let work: Vec<_> = (targets.chunks(BATCH).map(|shops| (shops, true)))
        .chain(tier_extra.chunks(BATCH).map(|shops| (shops, false)))
        .map(|(shops, scored)| {
            Batch { shops, scored }.compute(pool, policy, as_of, tier_month, stop)
        })
        .collect();
    let mut batches = futures_util::stream::iter(work).buffer_unordered(CONCURRENT_BATCHES);
    while let Some(done) = batches.next().await {
        let (f, t) = done?;
        figures.extend(f);
        tier_rows.extend(t);
    }

    metrics::histogram!("shopscore_recompute_phase_seconds", "phase" => "compute")
        .record(phase.elapsed().as_secs_f64());
    let phase = Instant::now();
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(RECOMPUTE_LOCK)
        .execute(&mut *tx)
        .await?;
    // SPEC §1, a look-back: a target whose current figures are later than this run's
    // `as_of` gets its snapshot, but what is current (`shop_figures`, which industry
    // figures and partial runs read, the latest card, and its dirty marks) stays. Its
    // look-back figures still take part in this run's own industry averages (as a full
    // run at `as_of` would have them), and the current ones are put back before the
    // commit. "Current" is the latest `as_of` computed, even one ahead of the clock.
    let target_list: Vec<&str> = targets.iter().map(|s| s.shop_id.as_str()).collect();
    sqlx::query("CREATE TEMP TABLE current_figures ON COMMIT DROP AS SELECT * FROM shop_figures WHERE false")
        .execute(&mut *tx)
        .await?;
    let kept: HashSet<String> = sqlx::query_scalar(
        "INSERT INTO current_figures SELECT * FROM shop_figures
         WHERE shop_id = ANY($1) AND as_of > $2
         RETURNING shop_id",
    )
    .bind(&target_list)
    .bind(as_of)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    store_figures(&mut tx, as_of, &targets, &figures).await?;
    store_tiers(&mut tx, policy, tier_month, &tier_rows).await?;
    let industries: Vec<String> = targets
        .iter()
        .map(|s| s.industry.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let industry = IndustryScores::load(&mut tx, &industries).await?;
    let tier_cards = load_tier_cards(&mut tx, tier_month, &targets).await?;
    if !kept.is_empty() {
        sqlx::query(
            "UPDATE shop_figures f SET industry = c.industry, as_of = c.as_of, service_score = c.service_score,
                 indicators = c.indicators, dsr_description = c.dsr_description,
                 dsr_service = c.dsr_service, dsr_logistics = c.dsr_logistics
             FROM current_figures c WHERE f.shop_id = c.shop_id",
        )
        .execute(&mut *tx)
        .await?;
    }

    let computed_at = format_time(started_at, tz);
    let mut cards = Vec::with_capacity(targets.len());
    for info in &targets {
        let f = figures
            .remove(&info.shop_id)
            .expect("computed for every target");
        cards.push(assemble(
            policy,
            info,
            f,
            as_of,
            &computed_at,
            &industry,
            tier_cards.get(&info.shop_id).cloned(),
        ));
    }
    store_cards(&mut tx, as_of, started_at, policy, &cards).await?;
    // The marks read at the start lose the shops scored here whose current figures
    // this run replaced (a look-back scores the past, not the events behind a mark);
    // a mark with no shop left goes.
    let scored: Vec<&str> = target_list
        .iter()
        .copied()
        .filter(|id| !kept.contains(*id))
        .collect();
    sqlx::query(
        "UPDATE dirty_marks SET shop_ids = ARRAY(SELECT s FROM unnest(shop_ids) AS s WHERE s <> ALL($2))
         WHERE id = ANY($1) AND shop_ids && $2",
    )
    .bind(&marks)
    .bind(&scored)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM dirty_marks WHERE id = ANY($1) AND cardinality(shop_ids) = 0")
        .bind(&marks)
        .execute(&mut *tx)
        .await?;
    // The last point at which giving up costs nothing: dropping `tx` rolls back.
    stop.check()?;
    tx.commit().await?;
    metrics::histogram!("shopscore_recompute_phase_seconds", "phase" => "store")
        .record(phase.elapsed().as_secs_f64());

    metrics::counter!("shopscore_shops_scored_total").increment(cards.len() as u64);
    Ok(RecomputeOutcome {
        as_of: format_time(as_of, tz),
        shops_scored: cards.len(),
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

/// Shops computed together: their figures (when `scored`: a target of the run) and
/// tier inputs (always).
struct Batch<'a> {
    shops: &'a [&'a ShopInfo],
    scored: bool,
}

impl Batch<'_> {
    async fn compute(
        self,
        pool: &PgPool,
        policy: &Policy,
        as_of: DateTime<Utc>,
        tier_month: Month,
        stop: &Stop,
    ) -> Result<(HashMap<String, Figures>, Vec<TierRow>), RecomputeError> {
        stop.check()?;
        let ids = self.shops.iter().map(|s| s.shop_id.clone()).collect();
        let mut loader = Loader::new(pool, ids);
        let figures = match self.scored {
            true => shop_figures(&mut loader, policy, as_of, self.shops).await?,
            false => HashMap::new(),
        };
        let tiers = tier_inputs(&mut loader, policy, as_of, tier_month, self.shops).await?;
        Ok((figures, tiers))
    }
}

/// Credit, DSR, the rolling service score, the five-star months and the programmes.
async fn shop_figures(
    loader: &mut Loader<'_>,
    policy: &Policy,
    as_of: DateTime<Utc>,
    batch: &[&ShopInfo],
) -> Result<HashMap<String, Figures>, sqlx::Error> {
    let tz = policy.tz;
    let eps = policy.epsilon;
    let pool = loader.pool;
    let ids = loader.shops.clone();

    // Credit: every counted review as of `as_of`.
    type CreditRow = (
        String,
        String,
        String,
        i16,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<i64>,
        Option<String>,
    );
    let t = Instant::now();
    let rows: Vec<CreditRow> = sqlx::query_as(include_str!("../metric/sql/credit.sql"))
        .persistent(false) // a plan for these shops: see `metric::fetch`
        .bind(&ids)
        .bind(as_of)
        .fetch_all(pool)
        .await?;
    let mut counted: HashMap<String, Vec<credit::CountedReview>> = HashMap::new();
    for (shop, order_id, buyer_id, rating, reviewed_at, created_at, amount_cents, item_id) in rows {
        counted
            .entry(shop)
            .or_default()
            .push(credit::CountedReview {
                order_id,
                buyer_id,
                rating,
                reviewed_at,
                created_at,
                amount_cents,
                item_id,
            });
    }

    metric::record_query_time("Credit", t);
    let t = Instant::now();
    // DSR over its window, with the per-buyer monthly cap.
    let dsr_from = as_of - Duration::days(i64::from(policy.dsr_window_days));
    let rows: Vec<(String, i64, i64, i64, i64)> =
        sqlx::query_as(include_str!("../metric/sql/dsr.sql"))
            .persistent(false) // a plan for these shops: see `metric::fetch`
            .bind(&ids)
            .bind(as_of)
            .bind(dsr_from)
            .bind(tz.name())
            .bind(i64::from(policy.dsr_monthly_cap))
            .fetch_all(pool)
            .await?;
    let dsr: HashMap<String, (i64, [i64; 3])> = rows
        .into_iter()
        .map(|(s, n, a, b, c)| (s, (n, [a, b, c])))
        .collect();

    metric::record_query_time("Dsr", t);
    // Positive rate and review counts over the credit rate window.
    let rate_scope = Scope::rolling(as_of, policy.credit.rate_window_days);
    let review_counts: HashMap<String, card::ReviewCounts> = {
        let d = loader.get(rate_scope, [&Metric::Reviews]).await?;
        ids.iter()
            .map(|id| {
                let rs = &d.shop(id).reviews;
                let count = |r: i16| rs.iter().filter(|x| **x == r).count() as i64;
                (
                    id.clone(),
                    card::ReviewCounts {
                        positive: count(1),
                        neutral: count(0),
                        negative: count(-1),
                    },
                )
            })
            .collect()
    };

    // The rolling service score.
    let svc_scope = Scope::rolling(as_of, policy.service.window_days);
    let svc_metrics: Vec<&NamedMetric> = policy.service.metrics().collect();
    let svc_values: HashMap<String, HashMap<String, Measured>> = {
        let d = loader
            .get(svc_scope, svc_metrics.iter().map(|n| &n.metric))
            .await?;
        ids.iter()
            .map(|id| {
                (
                    id.clone(),
                    values(svc_metrics.iter().copied(), d.shop(id), svc_scope, tz),
                )
            })
            .collect()
    };

    // Five stars: the metric in each of the last complete months, as closed periods.
    let mut five_ok: HashMap<String, bool> = ids.iter().map(|id| (id.clone(), true)).collect();
    let mut month = Month::of(as_of, tz);
    for _ in 0..policy.stars.five_star_months {
        month = month.prev();
        let (s, e) = (month.start(tz), month.end(tz));
        let scope = Scope::period(s, e, eval_instant(as_of, e, 0));
        let m = &policy.stars.five_star_metric;
        let d = loader.get(scope, [&m.metric]).await?;
        for id in &ids {
            let ok = evaluate(&m.metric, d.shop(id), scope, tz)
                .is_some_and(|v| v >= policy.stars.five_star_threshold - eps);
            if !ok {
                five_ok.insert(id.clone(), false);
            }
        }
    }

    // Programmes.
    let mut progs: HashMap<String, IndexMap<String, Option<card::Program>>> = HashMap::new();
    for p in &policy.programs {
        let results = program(loader, policy, p, as_of, batch).await?;
        for (id, r) in results {
            progs.entry(id).or_default().insert(p.name.clone(), r);
        }
    }

    let mut out = HashMap::new();
    for info in batch {
        let id = &info.shop_id;
        let reviews = counted.remove(id).unwrap_or_default();
        let points = credit::points(&reviews, &policy.credit, tz);
        let (level, next_level_points) = credit::level(points, &policy.credit.levels);
        let rc = review_counts.get(id).copied().unwrap_or_default();
        let total = rc.positive + rc.neutral + rc.negative;
        let credit = card::Credit {
            points,
            level,
            next_level_points,
            positive_rate: (total > 0).then(|| rc.positive as f64 / total as f64),
            reviews_180d: rc,
        };
        let dsr = match dsr.get(id) {
            Some((n, sums)) if *n > 0 => sums.map(|s| (Some(s as f64 / *n as f64), *n)),
            _ => [(None, 0); 3],
        };
        let service = service::service_score(&svc_values[id], &info.industry, &policy.service, eps);
        // `program` answers for every shop of the batch, so each programme is present.
        let programs = progs.remove(id).unwrap_or_default();
        out.insert(
            id.clone(),
            Figures {
                credit,
                dsr,
                service,
                five_star_ok: five_ok[id],
                programs,
            },
        );
    }
    Ok(out)
}

/// One programme for a batch: its period, rules, status, failures chain and penalties.
async fn program(
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
        let status = programs::status(in_progress, exempt, failed).to_string();
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
                exempt_until: (status == "exempt")
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
        .persistent(false) // a plan for these shops: see `metric::fetch`
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

/// Tier inputs of month M (evaluated at its end) and cancellation in M+1 up to `as_of`.
async fn tier_inputs(
    loader: &mut Loader<'_>,
    policy: &Policy,
    as_of: DateTime<Utc>,
    month: Month,
    batch: &[&ShopInfo],
) -> Result<Vec<TierRow>, sqlx::Error> {
    let tz = policy.tz;
    let eps = policy.epsilon;
    let (start, end) = (month.start(tz), month.end(tz));
    let scope = Scope::period(start, end, end);
    let svc: Vec<&NamedMetric> = policy.service.metrics().collect();
    let base = [
        Metric::Orders,
        Metric::IntegrityFlags,
        Metric::SatisfactionRatings,
        Metric::SatisfactionRate,
    ];
    let d = loader
        .get(scope, svc.iter().map(|n| &n.metric).chain(base.iter()))
        .await?;
    let mut rows = Vec::new();
    for info in batch.iter().filter(|s| s.active_before(end, end)) {
        let sd = d.shop(&info.shop_id);
        let v = |m: &Metric| evaluate(m, sd, scope, tz);
        let ss = service::service_score(
            &values(svc.iter().copied(), sd, scope, tz),
            &info.industry,
            &policy.service,
            eps,
        );
        let input = tiers::TierInput {
            shop_id: info.shop_id.clone(),
            industry: info.industry.clone(),
            orders: v(&Metric::Orders).unwrap_or(0.0) as i64,
            integrity_flags: v(&Metric::IntegrityFlags).unwrap_or(0.0) as i64,
            ratings: v(&Metric::SatisfactionRatings).unwrap_or(0.0) as i64,
            satisfaction_rate: v(&Metric::SatisfactionRate),
            service_score: ss.score,
            consultation: ss.indicators.get("consultation").and_then(|i| i.score),
        };
        let exclusion = tiers::eligibility(&input, &policy.cs_tier, eps);
        let scale = policy.cs_tier.scale_for(input.orders).to_string();
        rows.push(TierRow {
            input,
            scale,
            exclusion,
            cancel_reason: None,
        });
    }
    // Cancellation: a verified conduct complaint or an integrity flag in M+1 up to as_of.
    let after = Scope::period(end, as_of + Duration::microseconds(1), as_of);
    let d = loader
        .get(
            after,
            [&Metric::ConductVerifications, &Metric::IntegrityFlags],
        )
        .await?;
    for r in &mut rows {
        let sd = d.shop(&r.input.shop_id);
        r.cancel_reason = if sd.integrity > 0 {
            Some("integrity_flag")
        } else if sd.verifications > 0 {
            Some("verified_complaint")
        } else {
            None
        };
    }
    Ok(rows)
}

async fn store_figures(
    tx: &mut sqlx::PgConnection,
    as_of: DateTime<Utc>,
    targets: &[&ShopInfo],
    figures: &HashMap<String, Figures>,
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
    sqlx::query(
        "INSERT INTO shop_figures (shop_id, industry, as_of, service_score, indicators, dsr_description, dsr_service, dsr_logistics)
         SELECT s, i, $3, sc, ind, a, b, c
         FROM unnest($1::text[], $2::text[], $4::float8[], $5::jsonb[], $6::float8[], $7::float8[], $8::float8[])
              AS t(s, i, sc, ind, a, b, c)
         ON CONFLICT (shop_id) DO UPDATE SET industry = excluded.industry, as_of = excluded.as_of,
             service_score = excluded.service_score, indicators = excluded.indicators,
             dsr_description = excluded.dsr_description, dsr_service = excluded.dsr_service,
             dsr_logistics = excluded.dsr_logistics",
    )
    .bind(&ids).bind(&industries).bind(as_of).bind(&scores).bind(&indicators).bind(&d0).bind(&d1).bind(&d2)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Every non-null figure of each industry, from `shop_figures`.
#[derive(Default)]
struct IndustryScores {
    service: HashMap<String, Vec<f64>>,
    dsr: HashMap<String, [Vec<f64>; 3]>,
}

impl IndustryScores {
    async fn load(tx: &mut sqlx::PgConnection, industries: &[String]) -> Result<Self, sqlx::Error> {
        let rows: Vec<(String, Option<f64>, Option<f64>, Option<f64>, Option<f64>)> =
            sqlx::query_as(
                "SELECT industry, service_score, dsr_description, dsr_service, dsr_logistics
             FROM shop_figures WHERE industry = ANY($1) ORDER BY shop_id",
            )
            .bind(industries)
            .fetch_all(&mut *tx)
            .await?;
        let mut out = IndustryScores::default();
        for (industry, s, a, b, c) in rows {
            if let Some(s) = s {
                out.service.entry(industry.clone()).or_default().push(s);
            }
            let dsr = out.dsr.entry(industry).or_default();
            for (i, v) in [a, b, c].into_iter().enumerate() {
                if let Some(v) = v {
                    dsr[i].push(v);
                }
            }
        }
        Ok(out)
    }
}

/// Writes tier inputs, then re-ranks the whole month and derives every status.
async fn store_tiers(
    tx: &mut sqlx::PgConnection,
    policy: &Policy,
    month: Month,
    rows: &[TierRow],
) -> Result<(), sqlx::Error> {
    let label = month.label();
    if !rows.is_empty() {
        let ids: Vec<&str> = rows.iter().map(|r| r.input.shop_id.as_str()).collect();
        let industries: Vec<&str> = rows.iter().map(|r| r.input.industry.as_str()).collect();
        let scales: Vec<&str> = rows.iter().map(|r| r.scale.as_str()).collect();
        let eligible: Vec<bool> = rows.iter().map(|r| r.exclusion.is_none()).collect();
        let reasons: Vec<Option<&str>> = rows
            .iter()
            .map(|r| r.exclusion.map(|x| x.reason()))
            .collect();
        let disq: Vec<bool> = rows
            .iter()
            .map(|r| r.exclusion == Some(tiers::Exclusion::IntegrityFlag))
            .collect();
        let rates: Vec<Option<f64>> = rows.iter().map(|r| r.input.satisfaction_rate).collect();
        let ratings: Vec<i64> = rows.iter().map(|r| r.input.ratings).collect();
        let cancels: Vec<Option<&str>> = rows.iter().map(|r| r.cancel_reason).collect();
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
        let short_need: Vec<Option<f64>> =
            short.iter().map(|s| s.as_ref().map(|s| s.need)).collect();
        sqlx::query(
            "INSERT INTO cs_tiers (shop_id, month, industry, scale, eligible, ineligible_reason, disqualified,
                                   satisfaction_rate, ratings, cancel_reason, status,
                                   shortfall_figure, shortfall_have, shortfall_need)
             SELECT s, $2, i, sc, el, r, d, sr, n, c, 'eligible', sf, sh, sn
             FROM unnest($1::text[], $3::text[], $4::text[], $5::bool[], $6::text[], $7::bool[], $8::float8[], $9::int8[], $10::text[],
                         $11::text[], $12::float8[], $13::float8[])
                  AS t(s, i, sc, el, r, d, sr, n, c, sf, sh, sn)
             ON CONFLICT (shop_id, month) DO UPDATE SET industry = excluded.industry, scale = excluded.scale,
                 eligible = excluded.eligible, ineligible_reason = excluded.ineligible_reason,
                 disqualified = excluded.disqualified, satisfaction_rate = excluded.satisfaction_rate,
                 ratings = excluded.ratings, cancel_reason = excluded.cancel_reason,
                 shortfall_figure = excluded.shortfall_figure, shortfall_have = excluded.shortfall_have,
                 shortfall_need = excluded.shortfall_need, updated_at = now()",
        )
        .bind(&ids).bind(&label).bind(&industries).bind(&scales).bind(&eligible).bind(&reasons).bind(&disq)
        .bind(&rates).bind(&ratings).bind(&cancels).bind(&short_figure).bind(&short_have).bind(&short_need)
        .execute(&mut *tx)
        .await?;
    }

    // Re-rank the month over every stored row.
    type Row = (
        String,
        String,
        String,
        bool,
        Option<String>,
        bool,
        Option<f64>,
        i64,
        Option<String>,
    );
    let all: Vec<Row> = sqlx::query_as(
        "SELECT shop_id, industry, scale, eligible, ineligible_reason, disqualified, satisfaction_rate, ratings, cancel_reason
         FROM cs_tiers WHERE month = $1",
    )
    .bind(&label)
    .fetch_all(&mut *tx)
    .await?;
    let eligible: Vec<(tiers::TierInput, String)> = all
        .iter()
        .filter(|r| r.3)
        .map(|r| {
            (
                tiers::TierInput {
                    shop_id: r.0.clone(),
                    industry: r.1.clone(),
                    orders: 0,
                    integrity_flags: 0,
                    ratings: r.7,
                    satisfaction_rate: r.6,
                    service_score: None,
                    consultation: None,
                },
                r.2.clone(),
            )
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
    for (shop, industry, scale, _, inelig, disq, _, _, cancel) in &all {
        let r = ranked.get(shop);
        let tier = r.map_or("none", |r| r.tier);
        let (st, why) = tiers::status(
            *disq,
            r.map(|r| r.tier),
            inelig.as_deref(),
            cancel.as_deref(),
        );
        ids.push(shop.as_str());
        ranks.push(r.map(|r| r.rank as i32));
        tiers_.push(tier);
        size.push(
            sizes
                .get(&(industry.as_str(), scale.as_str()))
                .copied()
                .unwrap_or(0),
        );
        status.push(st);
        reason.push(why);
    }
    sqlx::query(
        "UPDATE cs_tiers c SET rank = t.r, tier = t.t, cohort_size = t.n, status = t.st, reason = t.why
         FROM unnest($2::text[], $3::int4[], $4::text[], $5::int4[], $6::text[], $7::text[]) AS t(s, r, t, n, st, why)
         WHERE c.month = $1 AND c.shop_id = t.s",
    )
    .bind(&label).bind(&ids).bind(&ranks).bind(&tiers_).bind(&size).bind(&status).bind(&reason)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A stored `cs_tiers` row, as the scorecard and `GET /v1/cs-tiers` read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredTier {
    pub shop_id: String,
    pub month: String,
    pub tier: String,
    pub status: String,
    pub reason: Option<String>,
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
    pub const COLUMNS: &'static str =
        "shop_id, month, tier, status, reason, satisfaction_rate, ratings, rank, industry, scale, cohort_size, disqualified,
         shortfall_figure, shortfall_have, shortfall_need";

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
        (self.status == "ineligible").then(|| card::Shortfall {
            figure,
            have: self.shortfall_have,
            need: self.shortfall_need.unwrap_or_default(),
        })
    }

    fn into_card(self) -> card::CsTier {
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

async fn load_tier_cards(
    tx: &mut sqlx::PgConnection,
    month: Month,
    targets: &[&ShopInfo],
) -> Result<HashMap<String, card::CsTier>, sqlx::Error> {
    let rows: Vec<StoredTier> = sqlx::query_as(&format!(
        "SELECT {} FROM cs_tiers WHERE month = $1 AND shop_id = ANY($2)",
        StoredTier::COLUMNS
    ))
    .bind(month.label())
    .bind(
        targets
            .iter()
            .map(|s| s.shop_id.as_str())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.shop_id.clone(), r.into_card()))
        .collect())
}

fn assemble(
    policy: &Policy,
    info: &ShopInfo,
    f: Figures,
    as_of: DateTime<Utc>,
    computed_at: &str,
    industry: &IndustryScores,
    cs_tier: Option<card::CsTier>,
) -> Scorecard {
    let eps = policy.epsilon;
    let empty: [Vec<f64>; 3] = Default::default();
    let dsr_lists = industry.dsr.get(&info.industry).unwrap_or(&empty);
    let dim = |i: usize| service::dsr_dimension(f.dsr[i].0, f.dsr[i].1, &dsr_lists[i]);
    let dsr = card::Dsr {
        window_days: policy.dsr_window_days,
        description: dim(0),
        service: dim(1),
        logistics: dim(2),
    };
    let mut ss = f.service;
    let (avg, beats) = service::industry_comparison(
        ss.score,
        industry.service.get(&info.industry).map_or(&[][..], |v| v),
        eps,
    );
    ss.industry_avg = avg;
    ss.beats_pct = beats;
    let star = stars::star_level(&ss, dsr.service.score, f.five_star_ok, &policy.stars, eps);
    let progs: Vec<(&str, &card::Program)> = f
        .programs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|p| (k.as_str(), p)))
        .collect();
    let hints = hints::hints(&ss, &info.industry, &progs, policy);
    Scorecard {
        shop_id: info.shop_id.clone(),
        industry: info.industry.clone(),
        as_of: format_time(as_of, policy.tz),
        computed_at: computed_at.to_string(),
        policy_version: policy.version.clone(),
        credit: f.credit,
        dsr,
        service_score: ss,
        star_level: Some(star),
        programs: f.programs,
        cs_tier,
        hints,
    }
}

async fn store_cards(
    tx: &mut sqlx::PgConnection,
    as_of: DateTime<Utc>,
    computed_at: DateTime<Utc>,
    policy: &Policy,
    cards: &[Scorecard],
) -> Result<(), sqlx::Error> {
    for chunk in cards.chunks(2000) {
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
        sqlx::query(
            "INSERT INTO scorecards (shop_id, as_of, computed_at, policy_version, body, service_score, stars,
                                     credit_points, credit_level_index, dsr_description, dsr_service, dsr_logistics, cs_tier)
             SELECT s, $2, $3, $4, b, sc, st, p, l, d0, d1, d2, t
             FROM unnest($1::text[], $5::text[], $6::float8[], $7::int2[], $8::int8[], $9::int2[],
                         $10::float8[], $11::float8[], $12::float8[], $13::text[])
                  AS x(s, b, sc, st, p, l, d0, d1, d2, t)
             ON CONFLICT (shop_id, as_of) DO UPDATE SET computed_at = excluded.computed_at,
                 policy_version = excluded.policy_version, body = excluded.body,
                 service_score = excluded.service_score, stars = excluded.stars,
                 credit_points = excluded.credit_points, credit_level_index = excluded.credit_level_index,
                 dsr_description = excluded.dsr_description, dsr_service = excluded.dsr_service,
                 dsr_logistics = excluded.dsr_logistics, cs_tier = excluded.cs_tier",
        )
        .bind(&ids).bind(as_of).bind(computed_at).bind(&policy.version).bind(&bodies).bind(&scores).bind(&stars)
        .bind(&points).bind(&levels).bind(&d0).bind(&d1).bind(&d2).bind(&tiers)
        .execute(&mut *tx)
        .await?;
    }
    // Delivered at commit: every `serve` process drops the latest cards it holds
    // (`cache::latest`).
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(crate::cache::SCORECARDS_CHANNEL)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
