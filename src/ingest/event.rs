//! SPEC §2: the event envelope and its validation (the types and their fields are
//! `event_type`).
//!
//! Validation works on `serde_json::Value` rather than derived `Deserialize` so that one
//! pass can report *every* invalid field of every item (the 422 body lists them all),
//! not just the first error serde stops at.

use chrono::{DateTime, Duration, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::event_type::{check_kind, EventType};
use crate::domain::{id_message, EventId, ShopId};

/// One problem with one field of one submitted item.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub index: usize,
    pub field: String,
    pub message: String,
}

/// A validated event, ready to be stored.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_id: EventId,
    pub shop_id: ShopId,
    pub kind: EventType,
    pub occurred_at: DateTime<Utc>,
    /// `data` in canonical form (keys sorted, no spaces): what is hashed and stored. Kept
    /// as text rather than a `Value` tree, which is several times larger in memory.
    pub data: Box<RawValue>,
    /// SHA-256 over (type, instant, canonical data): the same key with another hash is a conflict.
    pub content_hash: [u8; 32],
}

/// Validates one submitted item. `now` is the server clock (future-dated events are
/// rejected past `now + 24h`). Returns every problem found, each tagged with `index`.
pub fn validate(index: usize, item: &Value, now: DateTime<Utc>) -> Result<Event, Vec<FieldError>> {
    let mut errs = Vec::new();
    let mut err = |field: &str, message: String| {
        errs.push(FieldError {
            index,
            field: field.to_string(),
            message,
        })
    };
    let Some(obj) = item.as_object() else {
        err("", "must be a JSON object".into());
        return Err(errs);
    };
    for key in obj.keys() {
        if !matches!(
            key.as_str(),
            "event_id" | "type" | "shop_id" | "occurred_at" | "data"
        ) {
            err(key, "unknown field".into());
        }
    }
    let event_id = envelope(obj, "event_id", &mut err, |s| {
        EventId::parse(s).ok_or_else(|| id_message(EventId::MAX))
    });
    let shop_id = envelope(obj, "shop_id", &mut err, |s| {
        ShopId::parse(s).ok_or_else(|| id_message(ShopId::MAX))
    });
    let kind = envelope(obj, "type", &mut err, |s| {
        EventType::parse(s).ok_or_else(|| format!("unknown event type {s:?}"))
    });
    let occurred_at = envelope(obj, "occurred_at", &mut err, |s| occurred_at(s, now));
    let data = match obj.get("data") {
        Some(Value::Object(m)) => Some(m),
        Some(_) => {
            err("data", "must be an object".into());
            None
        }
        None => {
            err("data", "is required".into());
            None
        }
    };
    if let (Some(kind), Some(data)) = (kind, data) {
        validate_data(index, kind, data, &mut errs);
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let (event_id, shop_id, kind, occurred_at, data) = (
        event_id.expect("checked"),
        shop_id.expect("checked"),
        kind.expect("checked"),
        occurred_at.expect("checked"),
        canonical_json(data.expect("checked")),
    );
    let content_hash = content_hash(kind, occurred_at, data.get());
    Ok(Event {
        event_id,
        shop_id,
        kind,
        occurred_at,
        data,
        content_hash,
    })
}

/// One string field of the envelope: present, a string, and what `parse` makes of it;
/// otherwise `err` hears why.
fn envelope<T>(
    obj: &Map<String, Value>,
    field: &str,
    err: &mut impl FnMut(&str, String),
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    let problem = match obj.get(field) {
        Some(Value::String(s)) => match parse(s) {
            Ok(v) => return Some(v),
            Err(message) => message,
        },
        Some(_) => "must be a string".into(),
        None => "is required".into(),
    };
    err(field, problem);
    None
}

/// SPEC §2's `occurred_at`: RFC 3339 with an offset, from 1970 to 24 h after `now`.
fn occurred_at(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|_| "must be an RFC 3339 timestamp with an offset".to_string())?
        .with_timezone(&Utc);
    if t > now + Duration::hours(24) {
        Err("is more than 24 h in the future".into())
    } else if t.timestamp() < 0 {
        Err("is before 1970".into())
    } else {
        Ok(t)
    }
}

fn validate_data(
    index: usize,
    kind: EventType,
    data: &Map<String, Value>,
    errs: &mut Vec<FieldError>,
) {
    let specs = kind.fields();
    let mut err = |field: &str, message: String| {
        errs.push(FieldError {
            index,
            field: format!("data.{field}"),
            message,
        })
    };
    for key in data.keys() {
        if !specs.iter().any(|s| s.name == key) {
            err(key, format!("unknown field for {}", kind.as_str()));
        }
    }
    for spec in specs {
        let value = match data.get(spec.name) {
            None | Some(Value::Null) if spec.required => {
                err(spec.name, "is required".into());
                continue;
            }
            None | Some(Value::Null) => continue,
            Some(v) => v,
        };
        if let Some(message) = check_kind(spec.kind, value) {
            err(spec.name, message);
        }
    }
    if kind == EventType::ChatMessage
        && data.get("sender").and_then(Value::as_str) == Some("agent")
        && matches!(data.get("agent_id"), None | Some(Value::Null))
    {
        err("agent_id", "is required when sender is agent".into());
    }
}

/// `data` as canonical JSON text. serde_json's map is ordered by key, so serialising it
/// gives a form where key order and spacing do not matter.
fn canonical_json(data: &Map<String, Value>) -> Box<RawValue> {
    let text = serde_json::to_string(data).expect("a Value always serialises");
    RawValue::from_string(text).expect("serde_json's own output is valid JSON")
}

/// The content identity of an event (SPEC §2): type, `occurred_at` as an instant, and
/// `data` as a JSON value, given in canonical form.
pub fn content_hash(kind: EventType, at: DateTime<Utc>, canonical_data: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(kind.as_str().as_bytes());
    h.update([0]);
    h.update(at.timestamp_micros().to_be_bytes());
    h.update([0]);
    h.update(canonical_data.as_bytes());
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-10-10T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn accepts_a_valid_order() {
        let e = validate(
            0,
            &json!({"event_id": "e-1", "type": "order.created", "shop_id": "s-1",
                    "occurred_at": "2026-10-01T10:00:00+08:00",
                    "data": {"order_id": "o-1", "buyer_id": "b-1", "amount_cents": 12900}}),
            now(),
        )
        .unwrap();
        assert_eq!(e.kind, EventType::OrderCreated);
        assert_eq!(e.occurred_at.to_rfc3339(), "2026-10-01T02:00:00+00:00");
    }

    #[test]
    fn lists_every_problem() {
        let errs = validate(
            3,
            &json!({"event_id": "bad id", "type": "order.cancelled", "shop_id": "s-1",
                    "occurred_at": "2026-10-01T10:00:00",
                    "data": {"initiator": "cat", "extra": 1}}),
            now(),
        )
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "event_id",
                "occurred_at",
                "data.extra",
                "data.order_id",
                "data.initiator"
            ]
        );
        assert!(errs.iter().all(|e| e.index == 3));
    }

    #[test]
    fn hash_ignores_key_order_and_offset_but_not_explicit_optionals() {
        let a: Value =
            serde_json::from_str(r#"{"order_id":"o","buyer_id":"b","amount_cents":1}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{ "amount_cents":1, "buyer_id":"b","order_id":"o"}"#).unwrap();
        let c: Value = serde_json::from_str(
            r#"{"order_id":"o","buyer_id":"b","amount_cents":1,"item_id":null}"#,
        )
        .unwrap();
        let t1: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-10-01T10:00:00+08:00")
            .unwrap()
            .into();
        let t2: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-10-01T02:00:00Z")
            .unwrap()
            .into();
        let k = EventType::OrderCreated;
        let canon = |v: &Value| canonical_json(v.as_object().unwrap()).get().to_string();
        assert_eq!(
            canon(&a),
            r#"{"amount_cents":1,"buyer_id":"b","order_id":"o"}"#
        );
        assert_eq!(
            content_hash(k, t1, &canon(&a)),
            content_hash(k, t2, &canon(&b))
        );
        assert_ne!(
            content_hash(k, t1, &canon(&a)),
            content_hash(k, t1, &canon(&c))
        );
    }

    #[test]
    fn future_events_are_rejected_past_24h() {
        let mk = |t: &str| {
            json!({"event_id": "e", "type": "order.paid", "shop_id": "s",
                                  "occurred_at": t, "data": {"order_id": "o"}})
        };
        assert!(validate(0, &mk("2026-10-10T23:59:59Z"), now()).is_ok());
        assert!(validate(0, &mk("2026-10-11T00:00:01Z"), now()).is_err());
    }

    #[test]
    fn text_with_nul_is_invalid() {
        let v = json!({"event_id": "e", "type": "integrity.flagged", "shop_id": "s",
                       "occurred_at": "2026-10-01T00:00:00Z",
                       "data": {"kind": "other", "note": "a\u{0}b"}});
        let errs = validate(0, &v, now()).unwrap_err();
        assert_eq!(errs[0].field, "data.note");
        assert!(errs[0].message.contains("NUL"));
    }

    #[test]
    fn agent_messages_need_an_agent() {
        let v = json!({"event_id": "e", "type": "chat.message", "shop_id": "s",
                       "occurred_at": "2026-10-01T00:00:00Z",
                       "data": {"conversation_id": "c", "sender": "agent"}});
        let errs = validate(0, &v, now()).unwrap_err();
        assert_eq!(errs[0].field, "data.agent_id");
    }
}
