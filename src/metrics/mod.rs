//! The metric catalogue (SPEC §3), computed for many shops at once.
//!
//! Each *family* of metrics reads one projection with one set-based query for a whole
//! batch of shops over a window as of an evaluation instant (`sql/*.sql`): the SQL does
//! the heavy part (window and visibility cuts, earliest/latest selection, indexes), and
//! returns one compact row per entity in the window. The arithmetic that turns those
//! rows into rates lives in [`eval`], in plain Rust, so that any parameter the policy
//! writes (`ship_on_time_rate(72)`, a programme's own refund SLAs, a daily slot) needs
//! no new SQL and is unit-tested without a database.

pub mod catalogue;
pub mod eval;
pub mod presence;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

pub use catalogue::{Family, Metric};
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
    pub cancel_initiator: Option<String>,
    pub amount_cents: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct RefundRow {
    pub reason: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub rejected_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ChatRow {
    pub t0: DateTime<Utc>,
    pub first_sender: Option<String>,
    pub first_human: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ComplaintRow {
    pub opened_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub ruled_against: Option<bool>,
    pub first_followup_at: Option<DateTime<Utc>>,
}

/// One shop's entity rows for one scope.
#[derive(Debug, Clone, Default)]
pub struct ShopData {
    pub orders: Vec<OrderRow>,
    /// Counted review ratings: +1, 0, −1.
    pub reviews: Vec<i16>,
    pub refunds: Vec<RefundRow>,
    pub chats: Vec<ChatRow>,
    pub ratings: Vec<String>,
    /// Staffed intervals `[start, end)`, sorted and disjoint.
    pub staffed: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    pub complaints: Vec<ComplaintRow>,
    /// Complaints whose first verification is in the window.
    pub verified: i64,
    /// Verification events in the window.
    pub verifications: i64,
    pub integrity: i64,
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
}

/// The families a set of metrics needs.
pub fn families<'a>(metrics: impl IntoIterator<Item = &'a Metric>) -> BTreeSet<Family> {
    metrics
        .into_iter()
        .flat_map(|m| m.families().iter().copied())
        .collect()
}

type Time = DateTime<Utc>;

/// Loads the given families for `shops` in `scope` into `out`: one query per family
/// not loaded yet.
pub async fn load_into(
    pool: &PgPool,
    shops: &[String],
    scope: Scope,
    fams: &BTreeSet<Family>,
    out: &mut ScopeData,
) -> Result<(), sqlx::Error> {
    let Scope { lo, hi, e } = scope;
    for fam in fams {
        if !out.loaded.insert(*fam) {
            continue;
        }
        match fam {
            Family::Orders => {
                type Row = (
                    String,
                    String,
                    Time,
                    Option<Time>,
                    Option<Time>,
                    Option<Time>,
                    Option<Time>,
                    Option<String>,
                    Option<i64>,
                );
                let rows: Vec<Row> = sqlx::query_as(include_str!("sql/orders.sql"))
                    .bind(shops)
                    .bind(lo)
                    .bind(hi)
                    .bind(e)
                    .fetch_all(pool)
                    .await?;
                for (
                    shop,
                    order_id,
                    created_at,
                    paid_at,
                    shipped_at,
                    delivered_at,
                    cancelled_at,
                    cancel_initiator,
                    amount_cents,
                ) in rows
                {
                    out.shops.entry(shop).or_default().orders.push(OrderRow {
                        order_id,
                        created_at,
                        paid_at,
                        shipped_at,
                        delivered_at,
                        cancelled_at,
                        cancel_initiator,
                        amount_cents,
                    });
                }
            }
            Family::Reviews => {
                let rows: Vec<(String, i16)> = sqlx::query_as(include_str!("sql/reviews.sql"))
                    .bind(shops)
                    .bind(lo)
                    .bind(hi)
                    .bind(e)
                    .fetch_all(pool)
                    .await?;
                for (shop, rating) in rows {
                    out.shops.entry(shop).or_default().reviews.push(rating);
                }
            }
            Family::Refunds => {
                let rows: Vec<(String, Option<String>, Time, Option<Time>, Option<Time>)> =
                    sqlx::query_as(include_str!("sql/refunds.sql"))
                        .bind(shops)
                        .bind(lo)
                        .bind(hi)
                        .bind(e)
                        .fetch_all(pool)
                        .await?;
                for (shop, reason, requested_at, completed_at, rejected_at) in rows {
                    out.shops.entry(shop).or_default().refunds.push(RefundRow {
                        reason,
                        requested_at,
                        completed_at,
                        rejected_at,
                    });
                }
            }
            Family::Chat => {
                let rows: Vec<(String, Time, Option<String>, Option<Time>)> =
                    sqlx::query_as(include_str!("sql/chat.sql"))
                        .bind(shops)
                        .bind(lo)
                        .bind(hi)
                        .bind(e)
                        .fetch_all(pool)
                        .await?;
                for (shop, t0, first_sender, first_human) in rows {
                    out.shops.entry(shop).or_default().chats.push(ChatRow {
                        t0,
                        first_sender,
                        first_human,
                    });
                }
            }
            Family::Ratings => {
                let rows: Vec<(String, String)> = sqlx::query_as(include_str!("sql/ratings.sql"))
                    .bind(shops)
                    .bind(lo)
                    .bind(hi)
                    .bind(e)
                    .fetch_all(pool)
                    .await?;
                for (shop, s) in rows {
                    out.shops.entry(shop).or_default().ratings.push(s);
                }
            }
            Family::Presence => {
                let rows: Vec<(String, String, Time, bool)> =
                    sqlx::query_as(include_str!("sql/presence.sql"))
                        .bind(shops)
                        .bind(lo)
                        .bind(e)
                        .fetch_all(pool)
                        .await?;
                let mut by_shop: HashMap<String, Vec<(String, Time, bool)>> = HashMap::new();
                for (shop, agent, at, online) in rows {
                    by_shop.entry(shop).or_default().push((agent, at, online));
                }
                for (shop, changes) in by_shop {
                    out.shops.entry(shop).or_default().staffed =
                        presence::staffed_intervals(&changes, e);
                }
            }
            Family::Complaints => {
                type Row = (
                    String,
                    Time,
                    Option<Time>,
                    Option<Time>,
                    Option<String>,
                    Option<bool>,
                    Option<Time>,
                );
                let rows: Vec<Row> = sqlx::query_as(include_str!("sql/complaints.sql"))
                    .bind(shops)
                    .bind(lo)
                    .bind(hi)
                    .bind(e)
                    .fetch_all(pool)
                    .await?;
                for (
                    shop,
                    opened_at,
                    accepted_at,
                    resolved_at,
                    outcome,
                    ruled_against,
                    first_followup_at,
                ) in rows
                {
                    out.shops
                        .entry(shop)
                        .or_default()
                        .complaints
                        .push(ComplaintRow {
                            opened_at,
                            accepted_at,
                            resolved_at,
                            outcome,
                            ruled_against,
                            first_followup_at,
                        });
                }
            }
            Family::Verified | Family::Verifications | Family::Integrity => {
                let sql = match fam {
                    Family::Verified => include_str!("sql/verified.sql"),
                    Family::Verifications => include_str!("sql/verifications.sql"),
                    _ => include_str!("sql/integrity.sql"),
                };
                let rows: Vec<(String, i64)> = sqlx::query_as(sql)
                    .bind(shops)
                    .bind(lo)
                    .bind(hi)
                    .bind(e)
                    .fetch_all(pool)
                    .await?;
                for (shop, n) in rows {
                    let d = out.shops.entry(shop).or_default();
                    match fam {
                        Family::Verified => d.verified = n,
                        Family::Verifications => d.verifications = n,
                        _ => d.integrity = n,
                    }
                }
            }
        }
    }
    Ok(())
}
