//! The metric catalogue (SPEC §3), computed for many shops at once.
//!
//! Each *family* of metrics reads one projection with one set-based query for a whole
//! batch of shops over a window as of an evaluation instant (`sql/*.sql`): the SQL does
//! the heavy part (window and visibility cuts, earliest/latest selection, indexes), and
//! returns one compact row per entity in the window. The arithmetic that turns those
//! rows into rates lives in [`eval`], in plain Rust, so that any parameter the policy
//! writes (`ship_on_time_rate(72)`, a programme's own refund SLAs, a daily slot) needs
//! no new SQL and is unit-tested without a database.

pub mod adjust;
pub mod catalogue;
pub mod eval;
pub mod items;
pub mod loader;
pub mod presence;
pub(crate) mod rows;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::domain::{CancelInitiator, ComplaintOutcome, RefundReason, Satisfaction, Sender};
pub use catalogue::{Family, Metric, Plan};
pub use eval::evaluate;

/// The window `[lo, hi)` of entity times and the evaluation instant `e` (SPEC §1):
/// events after `e` are invisible and "due" is judged at `e`.
///
/// SPEC writes rolling windows as `(T − N days, T]`; timestamps have microsecond
/// resolution, so that is exactly `[T − N days + 1µs, T + 1µs)`, and every window here
/// uses the one half-open form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope {
    pub lo: DateTime<Utc>,
    pub hi: DateTime<Utc>,
    pub e: DateTime<Utc>,
}

impl Scope {
    /// "The last N days as of T": `(T − N×24h, T]`, evaluated at T.
    pub fn rolling(as_of: DateTime<Utc>, days: u32) -> Scope {
        let us = Duration::microseconds(1);
        Scope {
            lo: as_of - Duration::days(i64::from(days)) + us,
            hi: as_of + us,
            e: as_of,
        }
    }
    /// Whether `t` falls in `[lo, hi)`.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.lo <= t && t < self.hi
    }
    /// A closed period `[start, end)` evaluated at `e`.
    pub fn period(start: DateTime<Utc>, end: DateTime<Utc>, e: DateTime<Utc>) -> Scope {
        Scope {
            lo: start,
            hi: end,
            e,
        }
    }
}

#[derive(Debug, Clone)]
pub struct OrderRow {
    pub order_id: String,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_initiator: Option<CancelInitiator>,
    pub amount_cents: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct RefundRow {
    pub reason: Option<RefundReason>,
    pub requested_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub refund_id: String,
}

#[derive(Debug, Clone)]
pub struct ChatRow {
    pub t0: DateTime<Utc>,
    pub first_sender: Option<Sender>,
    pub first_human: Option<DateTime<Utc>>,
    pub conversation_id: String,
}

#[derive(Debug, Clone)]
pub struct ComplaintRow {
    pub opened_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub outcome: Option<ComplaintOutcome>,
    pub ruled_against: Option<bool>,
    pub first_followup_at: Option<DateTime<Utc>>,
    pub complaint_id: String,
}

/// One shop's entity rows for one scope.
#[derive(Debug, Clone, Default)]
pub struct ShopData {
    pub orders: Vec<OrderRow>,
    /// Counted review ratings: +1, 0, −1.
    pub reviews: Vec<i16>,
    pub refunds: Vec<RefundRow>,
    pub chats: Vec<ChatRow>,
    pub ratings: Vec<Satisfaction>,
    /// Staffed intervals `[start, end)`, sorted and disjoint.
    pub staffed: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub complaints: Vec<ComplaintRow>,
    /// Complaints whose first verification is in the window.
    pub verified: i64,
    /// Verification events in the window.
    pub verifications: i64,
    pub integrity: i64,
    /// Metric values a what-if sets (`adjust`): they replace what the rows give.
    pub values: Option<std::sync::Arc<std::collections::BTreeMap<Metric, f64>>>,
}

/// Entity rows for a batch of shops in one scope.
#[derive(Debug, Default)]
pub struct ScopeData {
    pub shops: HashMap<String, ShopData>,
    /// The families loaded so far.
    pub loaded: BTreeSet<Family>,
    empty: ShopData,
}

impl ScopeData {
    pub fn shop(&self, shop_id: &str) -> &ShopData {
        self.shops.get(shop_id).unwrap_or(&self.empty)
    }

    /// The shop's data, to add rows to.
    fn at(&mut self, shop_id: &str) -> &mut ShopData {
        if !self.shops.contains_key(shop_id) {
            self.shops.insert(shop_id.to_string(), ShopData::default());
        }
        self.shops.get_mut(shop_id).expect("just inserted")
    }
}

/// The families a set of metrics needs.
pub fn families<'a>(metrics: impl IntoIterator<Item = &'a Metric>) -> BTreeSet<Family> {
    metrics
        .into_iter()
        .flat_map(|m| m.families().iter().copied())
        .collect()
}

type Time = DateTime<Utc>;

/// `shopscore_metric_query_seconds{family}`: how long one family's query took.
pub fn record_query_time(family: &str, started: std::time::Instant) {
    metrics::histogram!("shopscore_metric_query_seconds", "family" => family.to_string())
        .record(started.elapsed().as_secs_f64());
}

/// One family query, bound: `$1` shop ids, `$2`/`$3` the window, `$4` the evaluation
/// instant.
///
/// How each query is planned is the family's (`Family::plan`): every query is planned
/// for its parameters, except for families whose one good plan does not depend on
/// them, which are prepared once per connection.
fn family_query(
    family: Family,
    shops: &[String],
    scope: Scope,
) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(family_sql(family))
        .persistent(family.plan() == Plan::Cached)
        .bind(shops)
        .bind(scope.lo)
        .bind(scope.hi)
        .bind(scope.e)
}

/// Runs one family query whose rows are few (a count per shop and value).
async fn fetch<T>(
    pool: &PgPool,
    family: Family,
    shops: &[String],
    scope: Scope,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    family_query(family, shops, scope)
        .try_map(|row| T::from_row(&row))
        .fetch_all(pool)
        .await
}

/// The query of one metric family (`sql/*.sql`).
fn family_sql(family: Family) -> &'static str {
    match family {
        Family::Orders => include_str!("sql/orders.sql"),
        Family::Reviews => include_str!("sql/reviews.sql"),
        Family::Refunds => include_str!("sql/refunds.sql"),
        Family::Chat => include_str!("sql/chat.sql"),
        Family::Ratings => include_str!("sql/ratings.sql"),
        Family::Presence => include_str!("sql/presence.sql"),
        Family::Complaints => include_str!("sql/complaints.sql"),
        Family::Verified => include_str!("sql/verified.sql"),
        Family::Verifications => include_str!("sql/verifications.sql"),
        Family::Integrity => include_str!("sql/integrity.sql"),
    }
}

/// Loads the given families for `shops` in `scope` into `out`: one query per family
/// not loaded yet.
pub async fn load_into(
    pool: &PgPool,
    shops: &[String],
    scope: Scope,
    fams: &BTreeSet<Family>,
    out: &mut ScopeData,
) -> Result<(), sqlx::Error> {
    for fam in fams {
        if !out.loaded.insert(*fam) {
            continue;
        }
        let started = std::time::Instant::now();
        let fam = *fam;
        match fam {
            Family::Orders => {
                rows::each_row(
                    family_query(fam, shops, scope),
                    pool,
                    &mut out.shops,
                    rows::order,
                )
                .await?
            }
            Family::Reviews => {
                for (shop, rating, n) in
                    fetch::<(String, i16, i64)>(pool, fam, shops, scope).await?
                {
                    (out.at(&shop).reviews).extend(std::iter::repeat_n(rating, n as usize));
                }
            }
            Family::Refunds => {
                rows::each_row(
                    family_query(fam, shops, scope),
                    pool,
                    &mut out.shops,
                    rows::refund,
                )
                .await?
            }
            Family::Chat => {
                rows::each_row(
                    family_query(fam, shops, scope),
                    pool,
                    &mut out.shops,
                    rows::chat,
                )
                .await?
            }
            Family::Ratings => {
                let rows = fetch::<(String, Satisfaction, i64)>(pool, fam, shops, scope).await?;
                for (shop, s, n) in rows {
                    (out.at(&shop).ratings).extend(std::iter::repeat_n(s, n as usize));
                }
            }
            Family::Presence => {
                // Changes up to `e` only: presence.sql binds ($1 shops, $2 lo, $3 e).
                let rows: Vec<(String, String, Time, bool)> = sqlx::query_as(family_sql(fam))
                    .persistent(fam.plan() == Plan::Cached)
                    .bind(shops)
                    .bind(scope.lo)
                    .bind(scope.e)
                    .fetch_all(pool)
                    .await?;
                let mut by_shop: HashMap<String, Vec<(String, Time, bool)>> = HashMap::new();
                for (shop, agent, at, online) in rows {
                    by_shop.entry(shop).or_default().push((agent, at, online));
                }
                for (shop, changes) in by_shop {
                    out.at(&shop).staffed = presence::staffed_intervals(&changes, scope.e);
                }
            }
            Family::Complaints => {
                rows::each_row(
                    family_query(fam, shops, scope),
                    pool,
                    &mut out.shops,
                    rows::complaint,
                )
                .await?
            }
            Family::Verified | Family::Verifications | Family::Integrity => {
                for (shop, n) in fetch::<(String, i64)>(pool, fam, shops, scope).await? {
                    let d = out.at(&shop);
                    *match fam {
                        Family::Verified => &mut d.verified,
                        Family::Verifications => &mut d.verifications,
                        _ => &mut d.integrity,
                    } = n;
                }
            }
        }
        record_query_time(&format!("{fam:?}"), started);
    }
    Ok(())
}

/// One counted review of the drill-down: its order, rating (+1, 0, −1) and time.
pub type ReviewItemRow = (String, i16, Time);
/// One counted satisfaction rating of the drill-down: its conversation, rating and time.
pub type RatingItemRow = (String, Satisfaction, Time);

/// The counted reviews of one shop in `scope`, one row each (the rows `Reviews` counts).
pub async fn review_items(
    pool: &PgPool,
    shop: &str,
    scope: Scope,
) -> Result<Vec<ReviewItemRow>, sqlx::Error> {
    item_rows(pool, include_str!("sql/review_items.sql"), shop, scope).await
}

/// The counted satisfaction ratings of one shop in `scope`, one row each.
pub async fn rating_items(
    pool: &PgPool,
    shop: &str,
    scope: Scope,
) -> Result<Vec<RatingItemRow>, sqlx::Error> {
    item_rows(pool, include_str!("sql/rating_items.sql"), shop, scope).await
}

/// One tallied thing of the drill-down: its id, time and what it is, in words.
pub type TallyItemRow = (String, Time, String);

/// The things one of the tallies counts for one shop in `scope` (`verified_conduct_complaints`,
/// `conduct_verifications`, `integrity_flags`), one row each; `None` for other metrics.
pub async fn tally_items(
    pool: &PgPool,
    m: &Metric,
    shop: &str,
    scope: Scope,
) -> Result<Option<Vec<TallyItemRow>>, sqlx::Error> {
    let sql = match m {
        Metric::VerifiedConductComplaints => include_str!("sql/verified_items.sql"),
        Metric::ConductVerifications => include_str!("sql/verification_items.sql"),
        Metric::IntegrityFlags => include_str!("sql/integrity_items.sql"),
        _ => return Ok(None),
    };
    item_rows(pool, sql, shop, scope).await.map(Some)
}

async fn item_rows<T>(
    pool: &PgPool,
    sql: &'static str,
    shop: &str,
    scope: Scope,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    sqlx::query_as(sql)
        .bind(shop)
        .bind(scope.lo)
        .bind(scope.hi)
        .bind(scope.e)
        .fetch_all(pool)
        .await
}
