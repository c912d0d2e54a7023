//! API keys (SPEC §5 roles, §7 isolation).
//!
//! A key reads `ssk_<id>_<secret>_<check>`: `id` (12 hex digits) finds the row, the
//! secret is 64 hex digits, and `check` (8 hex digits) is a checksum of the rest, so
//! that a key found in a log or a repository can be recognised as one of ours, and a
//! mistyped one refused, without asking the database ([`check_key`], `shopscore keys
//! check`). Keys minted before checksums (`ssk_<id>_<secret>`) still work. Only the
//! SHA-256 of the whole key is stored, compared in constant time, with its last four
//! characters for a masked listing.
//!
//! A key may expire (`expires_at`), and may be rotated: a new secret for the same key,
//! the old one still accepted until the grace period given ends. A key that expired,
//! was revoked, or whose secret was rotated out is refused with 401 saying which (only
//! to a caller who holds that key's secret). The [`Caller`] extractor authenticates,
//! applies the key's quota (`quota`) and records `last_used_at`.

pub mod quota;

use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;

use crate::cache::KeyCache;
use crate::error::ApiError;
pub use quota::{Quotas, Standing};

pub use crate::domain::Role;

/// Who is calling. Built only by authentication.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub role: Role,
    pub shops: Vec<String>,
    /// The key's own requests per minute; `None`: the configured default.
    pub rate_limit: Option<u32>,
}

impl Caller {
    /// Admin may do everything; otherwise the role must be listed.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
    /// Reading one shop: ops/admin any; a merchant only its own, and any other shop is
    /// the same 404 as a shop that does not exist (no existence oracle).
    pub fn require_shop(&self, shop_id: &str) -> Result<(), ApiError> {
        match self.role {
            Role::Admin | Role::Ops => Ok(()),
            Role::Merchant if self.shops.iter().any(|s| s == shop_id) => Ok(()),
            Role::Merchant => Err(ApiError::shop_not_found()),
            Role::Ingest => Err(ApiError::Forbidden),
        }
    }
}

/// A freshly minted key: the full secret, shown once.
pub struct NewKey {
    pub id: String,
    pub key: String,
}

pub fn hash_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

pub fn mint() -> NewKey {
    let mut rng = rand::rngs::OsRng;
    let mut id = [0u8; 6];
    rng.fill_bytes(&mut id);
    let id = hex::encode(id);
    NewKey {
        key: mint_secret(&id),
        id,
    }
}

/// A new key text for key `id`: a fresh secret and its checksum.
fn mint_secret(id: &str) -> String {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let body = format!("ssk_{id}_{}", hex::encode(secret));
    let check = checksum(&body);
    format!("{body}_{check}")
}

/// The checksum of a key's text before it: 8 hex digits of a SHA-256 (like the CRC32
/// that GitHub's tokens carry, a scanner can check it offline).
fn checksum(body: &str) -> String {
    let digest = Sha256::digest(format!("shopscore key checksum\n{body}"));
    hex::encode(&digest[..4])
}

/// What a text is, as far as can be told without the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// A well-formed key of ours with a valid checksum: its id.
    Valid { id: String },
    /// A well-formed key from before checksums: its id (only the database can tell).
    Unchecked { id: String },
    /// Shaped like a key of ours, but the checksum does not match: mistyped or forged.
    BadChecksum,
    /// Not a shopscore key.
    NotAKey,
}

/// Recognises a key offline: its shape and checksum.
pub fn check_key(key: &str) -> KeyCheck {
    let Some(rest) = key.strip_prefix("ssk_") else {
        return KeyCheck::NotAKey;
    };
    let Some((id, tail)) = rest.split_once('_') else {
        return KeyCheck::NotAKey;
    };
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(id, 12) {
        return KeyCheck::NotAKey;
    }
    match tail.split_once('_') {
        None if hex(tail, 64) => KeyCheck::Unchecked { id: id.to_string() },
        Some((secret, check)) if hex(secret, 64) && hex(check, 8) => {
            let body = &key[..key.len() - check.len() - 1];
            if checksum(body).eq_ignore_ascii_case(check) {
                KeyCheck::Valid { id: id.to_string() }
            } else {
                KeyCheck::BadChecksum
            }
        }
        _ => KeyCheck::NotAKey,
    }
}

/// The last four characters of a key, kept for its masked form.
fn last4(key: &str) -> &str {
    &key[key.len().saturating_sub(4)..]
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: String,
    pub name: Option<String>,
    pub role: String,
    pub shops: Vec<String>,
    /// The key with its secret left out: `ssk_<id>_…` and its last four characters
    /// (none for a key made before they were kept).
    pub masked: String,
    pub created_at: DateTime<FixedOffset>,
    pub last_used_at: Option<DateTime<FixedOffset>>,
    /// When the key stops working; null: never.
    pub expires_at: Option<DateTime<FixedOffset>>,
    /// When its secret was last rotated.
    pub rotated_at: Option<DateTime<FixedOffset>>,
    /// Until when the secret before the last rotation still works.
    pub previous_valid_until: Option<DateTime<FixedOffset>>,
    pub revoked_at: Option<DateTime<FixedOffset>>,
    /// Requests per minute this key may send; null: the configured default.
    pub rate_limit_per_minute: Option<i32>,
}

impl KeyInfo {
    /// Times in the policy time zone, as every time in every response.
    pub fn local(mut self, tz: chrono_tz::Tz) -> KeyInfo {
        use crate::clock::in_zone;
        self.created_at = in_zone(self.created_at, tz);
        let local = |t: Option<DateTime<FixedOffset>>| t.map(|t| in_zone(t, tz));
        self.last_used_at = local(self.last_used_at);
        self.expires_at = local(self.expires_at);
        self.rotated_at = local(self.rotated_at);
        self.previous_valid_until = local(self.previous_valid_until);
        self.revoked_at = local(self.revoked_at);
        self
    }
}

/// What a new key may carry besides its role.
#[derive(Debug, Default, Clone)]
pub struct KeyTerms<'a> {
    pub shops: &'a [String],
    pub name: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rate_limit_per_minute: Option<u32>,
}

/// A key of `role` for `shops` (merchants) named `name`, of the default limit, not
/// expiring.
pub async fn create_key(
    pool: &PgPool,
    role: Role,
    shops: &[String],
    name: Option<&str>,
) -> Result<(KeyInfo, String), sqlx::Error> {
    let terms = KeyTerms {
        shops,
        name,
        ..KeyTerms::default()
    };
    create_key_with(pool, role, terms).await
}

pub async fn create_key_with(
    pool: &PgPool,
    role: Role,
    terms: KeyTerms<'_>,
) -> Result<(KeyInfo, String), sqlx::Error> {
    let NewKey { id, key } = mint();
    let info: KeyInfo = sqlx::query_as(include_str!("sql/key_insert.sql"))
        .bind(&id)
        .bind(terms.name)
        .bind(role.as_str())
        .bind(terms.shops)
        .bind(hash_key(&key))
        .bind(last4(&key))
        .bind(terms.expires_at)
        .bind(terms.rate_limit_per_minute.map(|n| n as i32))
        .fetch_one(pool)
        .await?;
    Ok((info, key))
}

/// A new secret for key `id`, the old one accepted until `now + grace`; `None` when
/// there is no such key or it is revoked. Every `serve` process drops the key from its
/// cache when this commits.
pub async fn rotate_key(
    pool: &PgPool,
    id: &str,
    now: DateTime<Utc>,
    grace: chrono::Duration,
) -> Result<Option<(KeyInfo, String)>, sqlx::Error> {
    let key = mint_secret(id);
    let change = sqlx::query_as(include_str!("sql/key_rotate.sql"))
        .bind(id)
        .bind(hash_key(&key))
        .bind(last4(&key))
        .bind(now)
        .bind(now + grace);
    Ok(change_key(pool, id, change).await?.map(|i| (i, key)))
}

/// Sets key `id`'s own request limit (`None`: back to the default).
pub async fn set_rate_limit(
    pool: &PgPool,
    id: &str,
    per_minute: Option<u32>,
) -> Result<Option<KeyInfo>, sqlx::Error> {
    let change = sqlx::query_as(include_str!("sql/key_set_limit.sql"))
        .bind(id)
        .bind(per_minute.map(|n| n as i32));
    change_key(pool, id, change).await
}

/// Runs `change`, a statement on key `id` returning it (no row: no such key), and in
/// the same transaction tells every `serve` process (`cache::listen`) to forget its copy
/// of the key once that commits.
async fn change_key<'q>(
    pool: &PgPool,
    id: &str,
    change: sqlx::query::QueryAs<'q, sqlx::Postgres, KeyInfo, sqlx::postgres::PgArguments>,
) -> Result<Option<KeyInfo>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let info = change.fetch_optional(&mut *tx).await?;
    if info.is_some() {
        sqlx::query(include_str!("sql/key_changed_notify.sql"))
            .bind(crate::cache::KEYS_CHANNEL)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(info)
}

/// Keys in the order they were created, after the key `after` (its creation time and
/// id, a page's cursor).
pub async fn list_keys(
    pool: &PgPool,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<KeyInfo>, sqlx::Error> {
    let (at, id) = after.unzip();
    sqlx::query_as(include_str!("sql/keys_list.sql"))
        .bind(at)
        .bind(id)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// The name a key was given, if any.
pub async fn key_name(pool: &PgPool, id: &str) -> Result<Option<String>, sqlx::Error> {
    let name: Option<Option<String>> = sqlx::query_scalar(include_str!("sql/key_name.sql"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(name.flatten())
}

/// Revokes a key; `None` when there is no such key. Every `serve` process hears of it
/// when this commits and stops accepting the key (`cache::keys`).
pub async fn revoke_key(pool: &PgPool, id: &str) -> Result<Option<KeyInfo>, sqlx::Error> {
    let change = sqlx::query_as(include_str!("sql/key_revoke.sql")).bind(id);
    change_key(pool, id, change).await
}

/// The caller of a request, from its `Authorization: Bearer` key: one lookup of the key
/// (skipped while it is in `keys`, see `cache::keys`), and its use recorded at most once a
/// minute per key, so reads do not all become writes.
pub async fn authenticate(
    pools: AuthPools<'_>,
    keys: &KeyCache,
    header: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Caller, ApiError> {
    let key = header
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    let id = match check_key(key) {
        KeyCheck::Valid { id } | KeyCheck::Unchecked { id } => id,
        KeyCheck::BadChecksum => {
            return Err(ApiError::KeyRefused(
                "this is not a valid key: its checksum does not match (mistyped or cut short?)"
                    .into(),
            ))
        }
        KeyCheck::NotAKey => return Err(ApiError::Unauthorized),
    };
    let cached = keys.get(&id);
    let from_cache = cached.is_some();
    let mut known = match cached {
        Some(k) => k,
        None => pools.lookup(&id).await?.ok_or(ApiError::Unauthorized)?,
    };
    admit(&known, &hash_key(key), now)?;
    let stale = known
        .last_used_at
        .is_none_or(|t| now - t > chrono::Duration::seconds(60));
    if stale {
        // Best effort: a key whose use cannot be recorded (the primary is down, say)
        // still reads what the read pool serves.
        if pools.primary_up {
            let written = sqlx::query(include_str!("sql/key_used.sql"))
                .bind(&id)
                .bind(now)
                .execute(pools.primary)
                .await;
            if let Err(e) = written {
                tracing::warn!(key_id = %id, error = %e, "could not record the key's use");
            }
        }
        known.last_used_at = Some(now);
    }
    // A cached entry keeps its age (`fetched`), so rewriting it does not extend it.
    if stale || !from_cache {
        keys.put(&id, known.clone());
    }
    Ok(Caller {
        key_id: id,
        role: known.role,
        shops: known.shops,
        rate_limit: known.rate_limit_per_minute.map(|n| n.max(1) as u32),
    })
}

/// Whether `hash` opens the stored key at `now`: its current secret, or the one before
/// the last rotation within its grace period; and the key neither revoked nor expired.
/// What a caller who holds neither secret learns: only "invalid key".
pub fn admit(stored: &StoredKey, hash: &[u8], now: DateTime<Utc>) -> Result<(), ApiError> {
    let current: bool = hash.ct_eq(&stored.secret_hash).into();
    let previous: bool = stored
        .previous_secret_hash
        .as_deref()
        .is_some_and(|p| hash.ct_eq(p).into());
    if !current && !previous {
        return Err(ApiError::Unauthorized);
    }
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    if let Some(t) = stored.revoked_at {
        return Err(ApiError::KeyRefused(format!(
            "this key was revoked at {}",
            at(t)
        )));
    }
    if let Some(t) = stored.expires_at.filter(|t| *t <= now) {
        return Err(ApiError::KeyRefused(format!(
            "this key expired at {}; ask an admin for a new one",
            at(t)
        )));
    }
    if !current {
        let until = stored.previous_valid_until.unwrap_or(now);
        if until <= now {
            let rotated = stored.rotated_at.map(at).unwrap_or_default();
            return Err(ApiError::KeyRefused(format!(
                "this key's secret was rotated out: replaced at {rotated}, it stopped working at {}; use the new secret",
                at(until)
            )));
        }
    }
    Ok(())
}

/// A key as stored: what authenticating decides by.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredKey {
    pub role: Role,
    pub shops: Vec<String>,
    pub secret_hash: Vec<u8>,
    pub previous_secret_hash: Option<Vec<u8>>,
    pub previous_valid_until: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `api_keys.last_used_at` as this process last knew or wrote it.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Its own requests per minute (> 0, a table check); null: the default.
    pub rate_limit_per_minute: Option<i32>,
}

#[cfg(test)]
impl StoredKey {
    /// An ops key of secret hash `hash`, never rotated, revoked or used (unit tests).
    pub(crate) fn sample(hash: &[u8]) -> StoredKey {
        StoredKey {
            role: Role::Ops,
            shops: vec![],
            secret_hash: hash.to_vec(),
            previous_secret_hash: None,
            previous_valid_until: None,
            rotated_at: None,
            expires_at: None,
            revoked_at: None,
            last_used_at: None,
            rate_limit_per_minute: None,
        }
    }
}

/// Where keys are looked up: the primary (a key just made, rotated or revoked is
/// there first), or, while it is down, the read pool when there is one.
#[derive(Clone, Copy)]
pub struct AuthPools<'a> {
    pub primary: &'a PgPool,
    pub read: Option<&'a PgPool>,
    pub primary_up: bool,
}

impl AuthPools<'_> {
    /// Key `id` as stored, revoked or not; `None` when there is none.
    async fn lookup(&self, id: &str) -> Result<Option<StoredKey>, sqlx::Error> {
        let from = |pool| {
            sqlx::query_as(include_str!("sql/key_lookup.sql"))
                .bind(id)
                .fetch_optional(pool)
        };
        match (self.primary_up, self.read) {
            (false, Some(read)) => from(read).await,
            (true, Some(read)) => match from(self.primary).await {
                Err(e) if crate::db::unreachable(&e) => from(read).await,
                answer => answer,
            },
            (_, None) => from(self.primary).await,
        }
    }
}

/// Where the `Caller` extractor leaves the key's quota standing, for the layer that
/// writes the `X-RateLimit-*` headers (`router::layers::rate_limit_headers`).
#[derive(Debug, Clone, Default)]
pub struct StandingSlot(pub Arc<Mutex<Option<Standing>>>);

/// What the `Caller` extractor needs from the application's state (implemented by
/// `app::AppState`; a trait so that this module does not depend on the app).
pub trait AuthState {
    fn pools(&self) -> AuthPools<'_>;
    fn keys(&self) -> &KeyCache;
    fn quotas(&self) -> &Quotas;
    /// The service's clock (a key's last use is recorded by it).
    fn now(&self) -> DateTime<Utc>;
}

impl<S: AuthState + Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let caller = authenticate(state.pools(), state.keys(), header, state.now()).await?;
        let standing =
            state
                .quotas()
                .check(&caller.key_id, caller.rate_limit, std::time::Instant::now());
        if let Some(slot) = parts.extensions.get::<StandingSlot>() {
            *slot.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(standing);
        }
        if !standing.allowed {
            return Err(ApiError::RateLimited {
                retry_after_secs: standing.retry_after_secs,
            });
        }
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_keys_parse_and_differ() {
        let a = mint();
        let b = mint();
        assert_ne!(a.key, b.key);
        assert_eq!(check_key(&a.key), KeyCheck::Valid { id: a.id.clone() });
        assert_eq!(a.key.len(), 4 + 12 + 1 + 64 + 1 + 8);
        assert_eq!(check_key("ssk_nothex!!!!!!_x"), KeyCheck::NotAKey);
        assert_eq!(check_key("Bearer x"), KeyCheck::NotAKey);
    }

    #[test]
    fn a_checksum_recognises_keys_offline() {
        let a = mint();
        // Any one character changed: the checksum no longer matches.
        let i = 20;
        let mut typo = a.key.clone().into_bytes();
        typo[i] = if typo[i] == b'0' { b'1' } else { b'0' };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(check_key(&typo), KeyCheck::BadChecksum);
        // Cut short, or with the check cut off: not a whole key.
        assert_eq!(check_key(&a.key[..a.key.len() - 1]), KeyCheck::NotAKey);
        let legacy = &a.key[..a.key.len() - 9];
        assert_eq!(check_key(legacy), KeyCheck::Unchecked { id: a.id.clone() });
        // A fixed key, checksum worked out once: the format is stable.
        let body = format!("ssk_0123456789ab_{}", "f".repeat(64));
        assert_eq!(checksum(&body), checksum(&body.clone()));
        assert_eq!(
            check_key(&format!("{body}_{}", checksum(&body))),
            KeyCheck::Valid {
                id: "0123456789ab".into()
            }
        );
        assert_eq!(last4(&a.key), &a.key[a.key.len() - 4..]);
    }

    #[test]
    fn expired_revoked_and_rotated_out_keys_are_told_why() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let now = t("2026-12-06T12:00:00Z");
        let message = |r: Result<(), ApiError>| match r {
            Err(ApiError::KeyRefused(m)) => m,
            other => panic!("{other:?}"),
        };
        let mut k = StoredKey::sample(b"new");
        assert!(admit(&k, b"new", now).is_ok());
        assert!(matches!(
            admit(&k, b"guess", now),
            Err(ApiError::Unauthorized)
        ));
        k.expires_at = Some(t("2026-12-06T12:00:00Z"));
        assert_eq!(
            message(admit(&k, b"new", now)),
            "this key expired at 2026-12-06T12:00:00Z; ask an admin for a new one"
        );
        // Only the key's holder learns why.
        assert!(matches!(
            admit(&k, b"guess", now),
            Err(ApiError::Unauthorized)
        ));
        k.expires_at = Some(t("2026-12-06T12:00:01Z"));
        assert!(admit(&k, b"new", now).is_ok());
        // Rotated at 10:00 with two hours' grace: the old secret works until 12:00.
        k.previous_secret_hash = Some(b"old".to_vec());
        k.rotated_at = Some(t("2026-12-06T10:00:00Z"));
        k.previous_valid_until = Some(t("2026-12-06T12:00:00Z"));
        assert!(admit(&k, b"old", t("2026-12-06T11:59:59Z")).is_ok());
        assert_eq!(
            message(admit(&k, b"old", now)),
            "this key's secret was rotated out: replaced at 2026-12-06T10:00:00Z, it stopped working at 2026-12-06T12:00:00Z; use the new secret"
        );
        assert!(admit(&k, b"new", now).is_ok());
        k.revoked_at = Some(t("2026-12-06T11:00:00Z"));
        assert_eq!(
            message(admit(&k, b"new", now)),
            "this key was revoked at 2026-12-06T11:00:00Z"
        );
    }

    #[test]
    fn merchants_see_only_their_shops() {
        let m = Caller {
            key_id: "k".into(),
            role: Role::Merchant,
            shops: vec!["s1".into()],
            rate_limit: None,
        };
        assert!(m.require_shop("s1").is_ok());
        assert!(matches!(m.require_shop("s2"), Err(ApiError::NotFound(_))));
        assert!(matches!(m.require(&[Role::Ops]), Err(ApiError::Forbidden)));
        let admin = Caller {
            key_id: "k".into(),
            role: Role::Admin,
            shops: vec![],
            rate_limit: None,
        };
        assert!(admin.require(&[Role::Ingest]).is_ok());
    }
}
