//! HTTP resources, one file each (SPEC §5).
pub mod about;
pub mod events;
pub mod extract;
pub mod items;
pub mod jobs;
pub mod keys;
pub mod ops;
pub mod projection;
pub mod scorecards;
pub mod shops;
pub mod simulate;
pub mod tiers;
pub mod webhook_messages;
pub mod webhooks;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

/// `?limit=&cursor=` of every list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Page {
    /// 1–500, default 100.
    #[param(value_type = Option<i64>)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl Page {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit.as_deref().map(str::parse::<i64>) {
            None => Ok(DEFAULT_LIMIT),
            Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::BadRequest(format!(
                "limit must be a whole number from 1 to {MAX_LIMIT}"
            ))),
        }
    }
    /// The decoded cursor: the last key of the previous page.
    pub fn after(&self) -> Result<Option<String>, ApiError> {
        self.cursor.as_deref().map(decode_cursor).transpose()
    }
}

pub fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

fn decode_cursor(c: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::BadRequest("cursor is not one this API returned".into()))
}

/// A page of items: `next_cursor` is null on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct List<T: utoipa::ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: utoipa::ToSchema> List<T> {
    /// `rows` was fetched with `limit + 1`; the extra row only says there is more.
    pub fn page(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> List<T> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode_cursor(&key(r)))
        } else {
            None
        };
        List {
            items: rows,
            next_cursor,
        }
    }
}

/// Parses a JSON request body, an object: malformed JSON is a 400, JSON of the wrong
/// shape a 422 whose one detail names the field (`{"field": "industry", "message":
/// "…"}`; the field is `.` when the body as a whole is of the wrong type: serde would
/// otherwise read an array as a struct's fields in order).
pub fn parse_body<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let json = || serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    if first.is_some_and(|b| *b != b'{') && json() {
        let message = "must be a JSON object";
        return Err(ApiError::Unprocessable {
            message: format!("invalid {what}: the body {message}"),
            details: vec![serde_json::json!({"field": ".", "message": message})],
        });
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    let value = parsed.map_err(|e| {
        let field = e.path().to_string();
        let e = e.into_inner();
        match e.classify() {
            serde_json::error::Category::Data => {
                let message = data_message(&e);
                // A missing field is reported at its parent; name the field itself.
                let missing = message
                    .strip_prefix("missing field `")
                    .and_then(|m| m.split('`').next());
                let field = match (missing, field.as_str()) {
                    (Some(name), ".") => name.to_string(),
                    (Some(name), parent) => format!("{parent}.{name}"),
                    (None, _) => field,
                };
                ApiError::Unprocessable {
                    message: format!("invalid {what}: {field}: {message}"),
                    details: vec![serde_json::json!({"field": field, "message": message})],
                }
            }
            _ => ApiError::BadRequest(format!("malformed JSON: {e}")),
        }
    })?;
    // Trailing characters after the value are malformed JSON too.
    de.end()
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// serde's message without its " at line 1 column 26" (the field says where).
fn data_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// The `as_of` a stored scorecard body names.
pub(super) fn card_as_of(body: &[u8]) -> Option<DateTime<Utc>> {
    #[derive(Deserialize)]
    struct Head<'a> {
        #[serde(borrow)]
        as_of: &'a str,
    }
    let head: Head = serde_json::from_slice(body).ok()?;
    let at = DateTime::parse_from_rfc3339(head.as_of).ok()?;
    Some(at.with_timezone(&Utc))
}

/// An `as_of`-like instant (`as_of`, `from`, `to`): RFC 3339 (else 400), within SPEC
/// §1's accepted range (else 422 naming the field).
pub fn parse_as_of(
    field: &str,
    s: &str,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<DateTime<Utc>, ApiError> {
    let t = parse_time(field, s)?;
    crate::time::check_as_of(t, now, tz).map_err(|message| ApiError::Unprocessable {
        message: format!("{field} is out of range"),
        details: vec![serde_json::json!({"field": field, "message": message})],
    })?;
    Ok(t)
}

/// A history bound (`from`, `to`): an instant as [`parse_as_of`] takes it, or a date
/// (`YYYY-MM-DD`), meaning its local midnight in the policy time zone.
pub fn parse_bound(
    field: &str,
    s: &str,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<DateTime<Utc>, ApiError> {
    match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(day) if s.len() == 10 => {
            let t = crate::time::local_midnight(tz, day);
            parse_as_of(field, &t.to_rfc3339(), now, tz)
        }
        _ => parse_as_of(field, s, now, tz),
    }
}

pub fn parse_time(field: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "{field} must be an RFC 3339 timestamp with an offset"
            ))
        })
}
