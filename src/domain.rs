//! The vocabulary SPEC fixes (§2, §4, §5): roles, the values an event's fields may take,
//! tiers with their statuses and reasons, and the rule for ids. Shared by ingest,
//! policy, scoring, storage and the API, and depending on none of them.
//!
//! Each value set is an enum (`vocabulary!`): serde and sqlx read and write it as the
//! text SPEC uses (stored columns carry the same text, checked by migration 0008), and
//! `NAMES` lists those texts for validation messages and the OpenAPI schemas.

/// An enum whose every variant is one text of SPEC's, in both directions.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize, ::sqlx::Type, ::utoipa::ToSchema,
        )]
        // Every text is the snake_case of its variant (a test checks): serde, sqlx and
        // utoipa all read the container attribute, where utoipa would not read a
        // per-variant rename passed through this macro.
        #[serde(rename_all = "snake_case")]
        #[sqlx(type_name = "text", rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The texts, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use vocabulary;

vocabulary! {
    /// Who a key is (SPEC §5).
    Role { Admin = "admin", Ops = "ops", Ingest = "ingest", Merchant = "merchant" }
}

vocabulary! {
    /// Who cancelled an order (`order.cancelled`).
    CancelInitiator { Buyer = "buyer", Seller = "seller", Platform = "platform" }
}

vocabulary! {
    /// Why a refund was asked for (`refund.requested`); also the keys of refund SLAs.
    RefundReason {
        NotShipped = "not_shipped",
        NotReceived = "not_received",
        Quality = "quality",
        WrongItem = "wrong_item",
        ChangedMind = "changed_mind",
        Other = "other",
    }
}

vocabulary! {
    /// Who wrote a chat message.
    Sender { Buyer = "buyer", Agent = "agent", Bot = "bot" }
}

vocabulary! {
    /// A buyer's rating of a conversation (`chat.rated`).
    Satisfaction {
        VerySatisfied = "very_satisfied",
        Satisfied = "satisfied",
        Neutral = "neutral",
        Unsatisfied = "unsatisfied",
        VeryUnsatisfied = "very_unsatisfied",
    }
}

impl Satisfaction {
    /// SPEC §3 `satisfaction_rate`: the ratings that count as satisfied.
    pub fn is_satisfied(self) -> bool {
        matches!(self, Satisfaction::VerySatisfied | Satisfaction::Satisfied)
    }
}

vocabulary! {
    /// How a complaint was closed (`complaint.resolved`).
    ComplaintOutcome { Resolved = "resolved", Irregular = "irregular" }
}

vocabulary! {
    /// A gold customer-service team tier (SPEC §4.6).
    Tier { Gold = "gold", Silver = "silver", Black = "black", None = "none" }
}

vocabulary! {
    /// A shop's tier status for a month (SPEC §4.6).
    TierStatus {
        Active = "active",
        Eligible = "eligible",
        Cancelled = "cancelled",
        Disqualified = "disqualified",
        Ineligible = "ineligible",
    }
}

vocabulary! {
    /// Why a shop is ineligible, its tier cancelled, or it is disqualified (SPEC §4.6).
    TierReason {
        ExcludedIndustry = "excluded_industry",
        TooFewRatings = "too_few_ratings",
        GateFailed = "gate_failed",
        VerifiedComplaint = "verified_complaint",
        IntegrityFlag = "integrity_flag",
    }
}

/// A programme's status (SPEC §4.5): one of SPEC's four, or an escalation status the
/// policy names for a chain of failing months (`warning`, `blocked` by default). Written
/// as its text either way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProgramStatus {
    Pass,
    Fail,
    Exempt,
    InProgress,
    Escalated(String),
}

impl ProgramStatus {
    pub fn as_str(&self) -> &str {
        match self {
            ProgramStatus::Pass => "pass",
            ProgramStatus::Fail => "fail",
            ProgramStatus::Exempt => "exempt",
            ProgramStatus::InProgress => "in_progress",
            ProgramStatus::Escalated(s) => s,
        }
    }

    /// SPEC's four by their text; any other text is an escalation.
    pub fn parse(s: &str) -> ProgramStatus {
        match s {
            "pass" => ProgramStatus::Pass,
            "fail" => ProgramStatus::Fail,
            "exempt" => ProgramStatus::Exempt,
            "in_progress" => ProgramStatus::InProgress,
            other => ProgramStatus::Escalated(other.to_string()),
        }
    }
}

impl ::serde::Serialize for ProgramStatus {
    fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> ::serde::Deserialize<'de> for ProgramStatus {
    fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
        Ok(ProgramStatus::parse(&text))
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

/// An id type of SPEC §2's rule (1–`MAX` characters from `[A-Za-z0-9._:-]`), valid by
/// construction: `parse` and deserializing check it, so a value of the type never
/// needs checking again. Reads as `&str` (`Deref`, `as_str`).
macro_rules! id {
    ($(#[$meta:meta])* $name:ident, max = $max:expr) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::sqlx::Type, ::utoipa::ToSchema,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX: usize = $max;

            pub fn parse(s: &str) -> Option<$name> {
                valid_id(s, $max).then(|| $name(s.to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| ::serde::de::Error::custom(id_message($max)))
            }
        }
    };
}

id! {
    /// A shop's id.
    ShopId, max = ID_MAX
}

id! {
    /// An event's id, unique within its shop.
    EventId, max = EVENT_ID_MAX
}

/// What an id must be, for the client.
pub fn id_message(max: usize) -> String {
    format!("must be 1-{max} characters from [A-Za-z0-9._:-]")
}

/// An industry code: lower-case words joined by underscores, like SPEC's list, 1–64
/// characters from `[a-z0-9_]`. Valid by construction, as the ids are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct Industry(String);

impl Industry {
    pub const MAX: usize = 64;
    /// What an industry code must be, for the client.
    pub const RULE: &'static str = "1-64 characters from [a-z0-9_]";

    pub fn parse(s: &str) -> Option<Industry> {
        let valid = !s.is_empty()
            && s.len() <= Self::MAX
            && (s.bytes()).all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        valid.then(|| Industry(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Industry {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de> ::serde::Deserialize<'de> for Industry {
    fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
        Industry::parse(&text)
            .ok_or_else(|| ::serde::de::Error::custom(format!("must be {}", Industry::RULE)))
    }
}

/// A shop as a run scores it: its industry and the first event that makes it active.
#[derive(Debug, Clone, ::sqlx::FromRow)]
pub struct ShopInfo {
    pub shop_id: String,
    pub industry: String,
    pub first_event_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ShopInfo {
    /// Whether the shop had an event before `end` that is visible at `e` (SPEC §1: a
    /// period counts only for shops active in it).
    pub fn active_before(
        &self,
        end: chrono::DateTime<chrono::Utc>,
        e: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        self.first_event_at.is_some_and(|f| f < end && f <= e)
    }
}

/// The values SPEC §2 allows in event fields, and refund reasons (also the policy's SLA
/// keys).
pub const CANCEL_INITIATORS: &[&str] = CancelInitiator::NAMES;
pub const RATINGS: &[&str] = &["positive", "neutral", "negative"];
pub const REFUND_REASONS: &[&str] = RefundReason::NAMES;
pub const SENDERS: &[&str] = Sender::NAMES;
pub const SATISFACTION: &[&str] = Satisfaction::NAMES;
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
pub const OUTCOMES: &[&str] = ComplaintOutcome::NAMES;
pub const CONDUCTS: &[&str] = &["abuse", "harassment", "fraud", "broken_promise"];
pub const INTEGRITY_KINDS: &[&str] = &["fake_reviews", "fake_orders", "data_fraud", "other"];

#[cfg(test)]
mod tests;
