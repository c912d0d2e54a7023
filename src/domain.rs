//! The vocabulary SPEC fixes (§2, §5): roles, the values an event's fields may take,
//! and the rule for ids. Shared by ingest, policy, auth and the API, and depending on
//! none of them.

use serde::{Deserialize, Serialize};

/// Who a key is (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Ops,
    Ingest,
    Merchant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Ops => "ops",
            Role::Ingest => "ingest",
            Role::Merchant => "merchant",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Admin, Role::Ops, Role::Ingest, Role::Merchant]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// SPEC §2: an id is 1–`max` characters from `[A-Za-z0-9._:-]`.
pub fn valid_id(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

pub const ID_MAX: usize = 64;
pub const EVENT_ID_MAX: usize = 128;

/// The values SPEC §2 allows in event fields, and refund reasons (also the policy's SLA
/// keys).
pub const CANCEL_INITIATORS: &[&str] = &["buyer", "seller", "platform"];
pub const RATINGS: &[&str] = &["positive", "neutral", "negative"];
pub const REFUND_REASONS: &[&str] = &[
    "not_shipped",
    "not_received",
    "quality",
    "wrong_item",
    "changed_mind",
    "other",
];
pub const SENDERS: &[&str] = &["buyer", "agent", "bot"];
pub const SATISFACTION: &[&str] = &[
    "very_satisfied",
    "satisfied",
    "neutral",
    "unsatisfied",
    "very_unsatisfied",
];
pub const AGENT_STATUSES: &[&str] = &["online", "offline"];
pub const COMPLAINT_CATEGORIES: &[&str] = &[
    "not_shipped",
    "not_received",
    "logistics_stalled",
    "quality",
    "return",
    "service",
    "other",
];
pub const OUTCOMES: &[&str] = &["resolved", "irregular"];
pub const CONDUCTS: &[&str] = &["abuse", "harassment", "fraud", "broken_promise"];
pub const INTEGRITY_KINDS: &[&str] = &["fake_reviews", "fake_orders", "data_fraud", "other"];
