//! The outbox: grade changes written as events in the transaction of the recompute that
//! made them, so an event exists exactly when its card does (a rolled-back run emits
//! nothing), and the delivery worker sends them after commit.
//!
//! Each shop's last described standing is kept (`webhook_standings`); a run compares
//! every card it writes with it. A shop's first card sets it and emits nothing; a
//! look-back (the shop has a later card) emits nothing and keeps it; a re-run of the
//! same `as_of` finds nothing new, and an event found twice has the same id.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use super::endpoints::EventType;
use super::standing::{changes, Change, Standing};
use crate::time::format_time;

/// What every event of a run shares.
pub struct Emission {
    pub as_of: DateTime<Utc>,
    /// The run on record (`job_runs.id`); `None` for a run that is not (the demo's).
    pub run_id: Option<i64>,
    /// The events' `timestamp`: the run's start, the cards' `computed_at`.
    pub at: DateTime<Utc>,
    pub tz: chrono_tz::Tz,
    /// `standing::score_thresholds` of the run's policy.
    pub thresholds: Vec<f64>,
}

/// An event ready for the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub event_type: EventType,
    pub shop_id: Option<String>,
    /// The body sent, exactly.
    pub payload: String,
}

/// A stable id: the digest of what makes the event this event.
fn event_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!("msg_{}", &hex::encode(h.finalize())[..32])
}

/// The Standard Webhooks body: `{id, type, timestamp, data}`.
fn body(id: &str, event_type: EventType, timestamp: &str, data: Map<String, Value>) -> String {
    json!({"id": id, "type": event_type.as_str(), "timestamp": timestamp, "data": data}).to_string()
}

/// The event a shop's change makes in a run.
pub fn shop_event(e: &Emission, shop_id: &str, change: Change) -> Event {
    let as_of = format_time(e.as_of, e.tz);
    let data_text = change.data.to_string();
    let id = event_id(&[
        shop_id,
        change.event_type.as_str(),
        &change.subject,
        &e.as_of.timestamp_micros().to_string(),
        &data_text,
    ]);
    let mut data = Map::new();
    data.insert("shop_id".into(), shop_id.into());
    data.insert("as_of".into(), as_of.into());
    data.insert("run_id".into(), e.run_id.into());
    if let Value::Object(fields) = change.data {
        data.extend(fields);
    }
    Event {
        payload: body(&id, change.event_type, &format_time(e.at, e.tz), data),
        id,
        event_type: change.event_type,
        shop_id: Some(shop_id.to_string()),
    }
}

/// `endpoint.disabled`, for the other endpoints that want it.
pub fn endpoint_disabled(
    endpoint_id: &str,
    reason: &str,
    at: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Event {
    let t = EventType::EndpointDisabled;
    let id = event_id(&[endpoint_id, t.as_str(), &at.timestamp_micros().to_string()]);
    let timestamp = format_time(at, tz);
    let mut data = Map::new();
    data.insert("endpoint_id".into(), endpoint_id.into());
    data.insert("reason".into(), reason.into());
    Event {
        payload: body(&id, t, &timestamp, data),
        id,
        event_type: t,
        shop_id: None,
    }
}

/// Compares each card's standing (`(shop_id, standing)`, written in `tx` as of
/// `e.as_of`) with the shop's last, writes the events and the new standings; the number
/// of events.
pub async fn record(
    tx: &mut PgConnection,
    e: &Emission,
    standings: &[(String, Standing)],
) -> Result<usize, sqlx::Error> {
    if standings.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = standings.iter().map(|(id, _)| id.as_str()).collect();
    let last: Vec<(String, Option<String>, bool)> =
        sqlx::query_as(include_str!("sql/standings_of.sql"))
            .bind(&ids)
            .bind(e.as_of)
            .fetch_all(&mut *tx)
            .await?;
    let last: std::collections::HashMap<String, (Option<String>, bool)> = last
        .into_iter()
        .map(|(id, s, later)| (id, (s, later)))
        .collect();
    let (mut keep_ids, mut keep) = (Vec::new(), Vec::new());
    let mut events = Vec::new();
    for (shop_id, now) in standings {
        let Some((before, later)) = last.get(shop_id) else {
            continue;
        };
        if *later {
            continue;
        }
        // A standing that no longer reads (an older shape) is a first card again.
        let before: Option<Standing> = before.as_deref().and_then(|s| serde_json::from_str(s).ok());
        if before.as_ref() == Some(now) {
            continue;
        }
        if let Some(before) = &before {
            let made = changes(&e.thresholds, before, now);
            events.extend(made.into_iter().map(|c| shop_event(e, shop_id, c)));
        }
        keep_ids.push(shop_id.as_str());
        keep.push(serde_json::to_string(now).expect("standings serialise"));
    }
    if !keep.is_empty() {
        sqlx::query(include_str!("sql/standings_upsert.sql"))
            .bind(&keep_ids)
            .bind(e.as_of)
            .bind(&keep)
            .execute(&mut *tx)
            .await?;
    }
    if !events.is_empty() {
        insert(tx, &events, Some(e.as_of), e.run_id, e.at).await?;
        super::worker::notify(tx).await?;
    }
    Ok(events.len())
}

/// Writes events into the outbox with their messages.
pub async fn insert(
    conn: &mut PgConnection,
    events: &[Event],
    as_of: Option<DateTime<Utc>>,
    run_id: Option<i64>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&Event) -> Option<&str>| events.iter().map(f).collect::<Vec<_>>();
    sqlx::query(include_str!("sql/events_insert.sql"))
        .bind(col(|e| Some(&e.id)))
        .bind(col(|e| Some(e.event_type.as_str())))
        .bind(col(|e| e.shop_id.as_deref()))
        .bind(col(|e| Some(&e.payload)))
        .bind(as_of)
        .bind(run_id)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn emission(run_id: Option<i64>, at_hour: u32) -> Emission {
        Emission {
            as_of: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
            run_id,
            at: Utc.with_ymd_and_hms(2026, 12, 1, at_hour, 0, 0).unwrap(),
            tz: chrono_tz::Asia::Shanghai,
            thresholds: vec![],
        }
    }

    fn change() -> Change {
        Change {
            event_type: EventType::StarsChanged,
            subject: String::new(),
            data: json!({"before": 4, "after": 3}),
        }
    }

    #[test]
    fn an_event_carries_the_shop_as_of_run_and_change() {
        let ev = shop_event(&emission(Some(7), 1), "s1", change());
        let body: Value = serde_json::from_str(&ev.payload).unwrap();
        assert_eq!(body["id"], ev.id.as_str());
        assert_eq!(body["type"], "stars.changed");
        assert_eq!(body["timestamp"], "2026-12-01T09:00:00+08:00");
        assert_eq!(
            body["data"],
            json!({"shop_id": "s1", "as_of": "2026-12-01T08:00:00+08:00", "run_id": 7, "before": 4, "after": 3})
        );
    }

    #[test]
    fn the_same_change_at_the_same_as_of_is_the_same_event() {
        let a = shop_event(&emission(Some(7), 1), "s1", change());
        let b = shop_event(&emission(Some(8), 2), "s1", change());
        assert_eq!(a.id, b.id);
        let other_shop = shop_event(&emission(Some(7), 1), "s2", change());
        assert_ne!(a.id, other_shop.id);
        let mut c = change();
        c.data = json!({"before": 4, "after": 2});
        assert_ne!(a.id, shop_event(&emission(Some(7), 1), "s1", c).id);
    }
}
