//! SPEC §2's event types and the `data` fields each one takes: one table that both
//! validation (`event::validate`) and the OpenAPI document read, so they cannot drift.

use serde_json::{Map, Value};

use crate::domain::{
    id_message, valid_id, AGENT_STATUSES, CANCEL_INITIATORS, COMPLAINT_CATEGORIES, CONDUCTS,
    EVENT_ID_MAX, ID_MAX, INTEGRITY_KINDS, OUTCOMES, RATINGS, REFUND_REASONS, SATISFACTION,
    SENDERS,
};

/// The event types of SPEC §2, with the `data` fields each one requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    OrderCreated,
    OrderPaid,
    OrderShipped,
    OrderDelivered,
    OrderCancelled,
    OrderReviewed,
    RefundRequested,
    RefundCompleted,
    RefundRejected,
    ChatMessage,
    ChatRated,
    AgentStatus,
    ComplaintOpened,
    ComplaintAccepted,
    ComplaintFollowedUp,
    ComplaintResolved,
    ComplaintVerified,
    IntegrityFlagged,
}

/// What a `data` field must hold.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Id,
    NonNegativeCents,
    Currency,
    Text(usize),
    Enum(&'static [&'static str]),
    Bool,
    Dsr,
}

pub(super) struct FieldSpec {
    pub name: &'static str,
    pub required: bool,
    pub kind: Kind,
}

/// A `'static` field list (const-evaluated, so it can be returned by reference).
macro_rules! fields {
    ($($f:expr),* $(,)?) => {{
        const F: &[FieldSpec] = &[$($f),*];
        F
    }};
}

const fn req(name: &'static str, kind: Kind) -> FieldSpec {
    FieldSpec {
        name,
        required: true,
        kind,
    }
}
const fn opt(name: &'static str, kind: Kind) -> FieldSpec {
    FieldSpec {
        name,
        required: false,
        kind,
    }
}

impl EventType {
    pub const ALL: [EventType; 18] = [
        EventType::OrderCreated,
        EventType::OrderPaid,
        EventType::OrderShipped,
        EventType::OrderDelivered,
        EventType::OrderCancelled,
        EventType::OrderReviewed,
        EventType::RefundRequested,
        EventType::RefundCompleted,
        EventType::RefundRejected,
        EventType::ChatMessage,
        EventType::ChatRated,
        EventType::AgentStatus,
        EventType::ComplaintOpened,
        EventType::ComplaintAccepted,
        EventType::ComplaintFollowedUp,
        EventType::ComplaintResolved,
        EventType::ComplaintVerified,
        EventType::IntegrityFlagged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderCreated => "order.created",
            EventType::OrderPaid => "order.paid",
            EventType::OrderShipped => "order.shipped",
            EventType::OrderDelivered => "order.delivered",
            EventType::OrderCancelled => "order.cancelled",
            EventType::OrderReviewed => "order.reviewed",
            EventType::RefundRequested => "refund.requested",
            EventType::RefundCompleted => "refund.completed",
            EventType::RefundRejected => "refund.rejected",
            EventType::ChatMessage => "chat.message",
            EventType::ChatRated => "chat.rated",
            EventType::AgentStatus => "agent.status",
            EventType::ComplaintOpened => "complaint.opened",
            EventType::ComplaintAccepted => "complaint.accepted",
            EventType::ComplaintFollowedUp => "complaint.followed_up",
            EventType::ComplaintResolved => "complaint.resolved",
            EventType::ComplaintVerified => "complaint.verified",
            EventType::IntegrityFlagged => "integrity.flagged",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub(super) fn fields(self) -> &'static [FieldSpec] {
        use Kind::*;
        match self {
            EventType::OrderCreated => fields![
                req("order_id", Id),
                req("buyer_id", Id),
                req("amount_cents", NonNegativeCents),
                opt("currency", Currency),
                opt("item_id", Id),
            ],
            EventType::OrderPaid | EventType::OrderDelivered => fields![req("order_id", Id)],
            EventType::OrderShipped => fields![
                req("order_id", Id),
                opt("carrier", Text(128)),
                opt("tracking_no", Text(128)),
            ],
            EventType::OrderCancelled => fields![
                req("order_id", Id),
                req("initiator", Enum(CANCEL_INITIATORS))
            ],
            EventType::OrderReviewed => fields![
                req("order_id", Id),
                req("buyer_id", Id),
                req("rating", Enum(RATINGS)),
                opt("dsr", Dsr),
            ],
            EventType::RefundRequested => fields![
                req("refund_id", Id),
                req("order_id", Id),
                req("reason", Enum(REFUND_REASONS)),
                req("amount_cents", NonNegativeCents),
            ],
            EventType::RefundCompleted | EventType::RefundRejected => fields![req("refund_id", Id)],
            EventType::ChatMessage => fields![
                req("conversation_id", Id),
                req("sender", Enum(SENDERS)),
                opt("agent_id", Id),
            ],
            EventType::ChatRated => fields![
                req("conversation_id", Id),
                req("satisfaction", Enum(SATISFACTION)),
            ],
            EventType::AgentStatus => {
                fields![req("agent_id", Id), req("status", Enum(AGENT_STATUSES))]
            }
            EventType::ComplaintOpened => fields![
                req("complaint_id", Id),
                req("category", Enum(COMPLAINT_CATEGORIES)),
                opt("order_id", Id),
            ],
            EventType::ComplaintAccepted | EventType::ComplaintFollowedUp => {
                fields![req("complaint_id", Id)]
            }
            EventType::ComplaintResolved => fields![
                req("complaint_id", Id),
                req("outcome", Enum(OUTCOMES)),
                opt("ruled_against_merchant", Bool),
            ],
            EventType::ComplaintVerified => {
                fields![req("complaint_id", Id), req("conduct", Enum(CONDUCTS))]
            }
            EventType::IntegrityFlagged => {
                fields![req("kind", Enum(INTEGRITY_KINDS)), opt("note", Text(2000))]
            }
        }
    }
}

/// The JSON Schema of one `data` field: the same table validation reads, so the
/// OpenAPI document cannot drift from what ingest accepts.
fn field_schema(kind: Kind) -> Value {
    use serde_json::json;
    match kind {
        Kind::Id => json!({"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"}),
        Kind::NonNegativeCents => {
            json!({"type": "integer", "minimum": 0, "description": "minor units (cents)"})
        }
        Kind::Currency => {
            json!({"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217"})
        }
        Kind::Text(max) => json!({"type": "string", "maxLength": max,
            "description": "no NUL or other control characters but tab and line breaks"}),
        Kind::Enum(values) => json!({"type": "string", "enum": values}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Dsr => {
            let star = json!({"type": "integer", "minimum": 1, "maximum": 5});
            json!({"type": "object", "additionalProperties": false,
                   "required": ["description", "service", "logistics"],
                   "properties": {"description": star, "service": star, "logistics": star}})
        }
    }
}

impl EventType {
    /// The JSON Schema of an event of this type: the envelope with `type` fixed and
    /// this type's `data`.
    pub fn json_schema(self) -> Value {
        use serde_json::json;
        let fields = self.fields();
        let required: Vec<&str> = fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name)
            .collect();
        let properties: Map<String, Value> = fields
            .iter()
            .map(|f| (f.name.to_string(), field_schema(f.kind)))
            .collect();
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["event_id", "type", "shop_id", "occurred_at", "data"],
            "properties": {
                "event_id": {"type": "string", "pattern": format!("^[A-Za-z0-9._:-]{{1,{EVENT_ID_MAX}}}$"),
                             "description": "unique per shop; resending the same event is a duplicate, a different one under the same id a 409"},
                "type": {"type": "string", "enum": [self.as_str()]},
                "shop_id": {"type": "string", "pattern": format!("^[A-Za-z0-9._:-]{{1,{ID_MAX}}}$")},
                "occurred_at": {"type": "string", "format": "date-time",
                                "description": "RFC 3339 with an offset; from 1970 to 24 h after the server's clock"},
                "data": {"type": "object", "additionalProperties": false, "required": required, "properties": properties}
            }
        })
    }
}

pub(super) fn check_kind(kind: Kind, value: &Value) -> Option<String> {
    match kind {
        Kind::Id => match value.as_str() {
            Some(s) if valid_id(s, ID_MAX) => None,
            Some(_) => Some(id_message(ID_MAX)),
            None => Some("must be a string".into()),
        },
        Kind::NonNegativeCents => match value.as_i64() {
            Some(n) if n >= 0 => None,
            Some(_) => Some("must be >= 0".into()),
            None => Some("must be an integer number of minor units".into()),
        },
        Kind::Currency => match value.as_str() {
            Some(s) if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) => None,
            _ => Some("must be an ISO 4217 code such as \"CNY\"".into()),
        },
        Kind::Text(max) => match value.as_str() {
            Some(s) => crate::text::problem(s, max),
            None => Some("must be a string".into()),
        },
        Kind::Enum(allowed) => match value.as_str() {
            Some(s) if allowed.contains(&s) => None,
            _ => Some(format!("must be one of {}", allowed.join(", "))),
        },
        Kind::Bool => value
            .is_boolean()
            .then_some(())
            .map_or(Some("must be a boolean".into()), |_| None),
        Kind::Dsr => {
            let Some(m) = value.as_object() else {
                return Some("must be an object {description, service, logistics}".into());
            };
            let mut problems = Vec::new();
            for k in m.keys() {
                if !matches!(k.as_str(), "description" | "service" | "logistics") {
                    problems.push(format!("unknown field {k:?}"));
                }
            }
            for k in ["description", "service", "logistics"] {
                match m.get(k).and_then(Value::as_i64) {
                    Some(1..=5) => {}
                    _ => problems.push(format!("{k} must be an integer 1-5")),
                }
            }
            (!problems.is_empty()).then(|| problems.join("; "))
        }
    }
}
