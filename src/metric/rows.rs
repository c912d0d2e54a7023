//! Entity rows decoded straight off the wire, into the shop they belong to.
//!
//! A 10 000-shop run reads well over a million order, chat, refund and complaint rows,
//! and credit's reviews. Through `FromRow`, each row allocated its shop id, looked up
//! every column by name and checked every value's type against the column's; the order
//! rows alone were a quarter of the service's CPU in a full recompute (`perf`). Here each family query's columns are read by
//! position (column 0 is always the shop, borrowed, not copied) with the types its
//! `sql/*.sql` fixes, and timestamps are decoded from their wire form directly.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::postgres::{PgRow, PgValueFormat};
use sqlx::{Decode, PgPool, Postgres, Row, Type, ValueRef};

use super::{ChatRow, ComplaintRow, OrderRow, RefundRow, ShopData};

/// Column `i` of `row`, of the type the family's SQL gives it: no per-value type check
/// (a wrong type still fails to decode, with an error, but is not looked for first).
pub(crate) fn col<'r, T>(row: &'r PgRow, i: usize) -> Result<T, sqlx::Error>
where
    T: Decode<'r, Postgres> + Type<Postgres>,
{
    row.try_get_unchecked(i)
}

/// Microseconds from the Unix epoch to Postgres' (2000-01-01 UTC).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A `timestamptz` column, possibly NULL. In binary form it is microseconds since
/// 2000-01-01 UTC; sqlx's decoder gets there by adding a `Duration` to a date, which
/// cost more than the rest of an order row.
pub(crate) fn time_opt(row: &PgRow, i: usize) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let v = row.try_get_raw(i)?;
    if v.is_null() {
        return Ok(None);
    }
    if v.format() != PgValueFormat::Binary {
        return col(row, i);
    }
    let bad = || sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: "not a finite timestamptz".into(),
    };
    let bytes: [u8; 8] = v
        .as_bytes()
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    i64::from_be_bytes(bytes)
        .checked_add(PG_EPOCH_MICROS)
        .and_then(DateTime::from_timestamp_micros)
        .map(Some)
        .ok_or_else(bad)
}

pub(crate) fn time(row: &PgRow, i: usize) -> Result<DateTime<Utc>, sqlx::Error> {
    time_opt(row, i)?.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: "unexpected NULL".into(),
    })
}

/// Runs a query whose column 0 is a shop id and hands each row to `each` with that
/// shop's entry of `shops`, as rows arrive. A batch's rows come shop by shop (each query
/// reads a `(shop_id, …)` index), so the entry is looked up when the shop changes, not
/// for every row (hashing the id per row costs real CPU at scale; BENCHMARKS.md); rows
/// in any other order are still put where they belong.
pub(crate) async fn each_row<V: Default>(
    query: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
    pool: &PgPool,
    shops: &mut HashMap<String, V>,
    mut each: impl FnMut(&PgRow, &mut V) -> Result<(), sqlx::Error>,
) -> Result<(), sqlx::Error> {
    let mut rows = query.fetch(pool);
    let mut current: Option<(String, V)> = None;
    let result = async {
        while let Some(row) = rows.try_next().await? {
            let shop: &str = col(&row, 0)?;
            let data = match &mut current {
                Some((id, data)) if id == shop => data,
                _ => {
                    if let Some((id, data)) = current.take() {
                        shops.insert(id, data);
                    }
                    let entry = (shops.remove_entry(shop))
                        .unwrap_or_else(|| (shop.to_string(), V::default()));
                    &mut current.insert(entry).1
                }
            };
            each(&row, data)?;
        }
        Ok(())
    }
    .await;
    if let Some((id, data)) = current {
        shops.insert(id, data);
    }
    result
}

/// `sql/orders.sql`: shop, order, created, paid, shipped, delivered, cancelled, by whom,
/// amount.
pub(super) fn order(row: &PgRow, out: &mut ShopData) -> Result<(), sqlx::Error> {
    let r = OrderRow {
        order_id: col(row, 1)?,
        created_at: time(row, 2)?,
        paid_at: time_opt(row, 3)?,
        shipped_at: time_opt(row, 4)?,
        delivered_at: time_opt(row, 5)?,
        cancelled_at: time_opt(row, 6)?,
        cancel_initiator: col(row, 7)?,
        amount_cents: col(row, 8)?,
    };
    out.orders.push(r);
    Ok(())
}

/// `sql/refunds.sql`: shop, reason, requested, completed, rejected, refund.
pub(super) fn refund(row: &PgRow, out: &mut ShopData) -> Result<(), sqlx::Error> {
    let r = RefundRow {
        reason: col(row, 1)?,
        requested_at: time(row, 2)?,
        completed_at: time_opt(row, 3)?,
        rejected_at: time_opt(row, 4)?,
        refund_id: col(row, 5)?,
    };
    out.refunds.push(r);
    Ok(())
}

/// `sql/chat.sql`: shop, start, first responder, first human reply, conversation.
pub(super) fn chat(row: &PgRow, out: &mut ShopData) -> Result<(), sqlx::Error> {
    let r = ChatRow {
        t0: time(row, 1)?,
        first_sender: col(row, 2)?,
        first_human: time_opt(row, 3)?,
        conversation_id: col(row, 4)?,
    };
    out.chats.push(r);
    Ok(())
}

/// `sql/complaints.sql`: shop, opened, accepted, resolved, outcome, ruled against, first
/// follow-up, complaint.
pub(super) fn complaint(row: &PgRow, out: &mut ShopData) -> Result<(), sqlx::Error> {
    let r = ComplaintRow {
        opened_at: time(row, 1)?,
        accepted_at: time_opt(row, 2)?,
        resolved_at: time_opt(row, 3)?,
        outcome: col(row, 4)?,
        ruled_against: col(row, 5)?,
        first_followup_at: time_opt(row, 6)?,
        complaint_id: col(row, 7)?,
    };
    out.complaints.push(r);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postgres_epoch_is_2000_01_01_utc() {
        let t = DateTime::from_timestamp_micros(PG_EPOCH_MICROS).unwrap();
        assert_eq!(t.to_rfc3339(), "2000-01-01T00:00:00+00:00");
    }
}
