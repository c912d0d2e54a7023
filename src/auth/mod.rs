//! API keys (SPEC §5 roles, §7 isolation).
//!
//! A key reads `ssk_<id>_<secret>`: `id` (12 hex digits) finds the row, and only the
//! SHA-256 of the whole key is stored, compared in constant time. The [`Caller`]
//! extractor authenticates, rate-limits per key and records `last_used_at`.

use std::num::NonZeroU32;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, FixedOffset, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;

use crate::cache::{CachedKey, KeyCache};
use crate::error::ApiError;

pub use crate::domain::Role;

/// Who is calling. Built only by authentication.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub role: Role,
    pub shops: Vec<String>,
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
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let id = hex::encode(id);
    let key = format!("ssk_{id}_{}", hex::encode(secret));
    NewKey { id, key }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: String,
    pub name: Option<String>,
    pub role: String,
    pub shops: Vec<String>,
    pub created_at: DateTime<FixedOffset>,
    pub last_used_at: Option<DateTime<FixedOffset>>,
    pub revoked_at: Option<DateTime<FixedOffset>>,
}

impl KeyInfo {
    /// Times in the policy time zone, as every time in every response.
    pub fn local(mut self, tz: chrono_tz::Tz) -> KeyInfo {
        use crate::clock::in_zone;
        self.created_at = in_zone(self.created_at, tz);
        self.last_used_at = self.last_used_at.map(|t| in_zone(t, tz));
        self.revoked_at = self.revoked_at.map(|t| in_zone(t, tz));
        self
    }
}

pub async fn create_key(
    pool: &PgPool,
    role: Role,
    shops: &[String],
    name: Option<&str>,
) -> Result<(KeyInfo, String), sqlx::Error> {
    let NewKey { id, key } = mint();
    let info: KeyInfo = sqlx::query_as(include_str!("sql/key_insert.sql"))
        .bind(&id)
        .bind(name)
        .bind(role.as_str())
        .bind(shops)
        .bind(hash_key(&key))
        .fetch_one(pool)
        .await?;
    Ok((info, key))
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
    let mut tx = pool.begin().await?;
    let info: Option<KeyInfo> = sqlx::query_as(include_str!("sql/key_revoke.sql"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if info.is_some() {
        sqlx::query(include_str!("sql/key_revoked_notify.sql"))
            .bind(crate::cache::KEYS_CHANNEL)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(info)
}

/// Per-key request budget.
pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl RateLimit {
    pub fn per_minute(n: u32, burst: Option<u32>) -> RateLimit {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        let burst = burst.and_then(NonZeroU32::new).unwrap_or(n);
        RateLimit {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(n).allow_burst(burst)),
        }
    }
    pub fn check(&self, key_id: &str) -> Result<(), ApiError> {
        self.limiter
            .check_key(&key_id.to_string())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::RateLimited {
                    retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                }
            })
    }
}

/// Parses `ssk_<id>_<secret>` and returns the id.
fn key_id(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("ssk_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 12 && !secret.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some(id)
}

/// The caller of a request, from its `Authorization: Bearer` key: one lookup of the key
/// (skipped while it is in `keys`, see `cache::keys`), and its use recorded at most once a
/// minute per key, so reads do not all become writes.
pub async fn authenticate(
    pool: &PgPool,
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
    let id = key_id(key).ok_or(ApiError::Unauthorized)?;
    let cached = keys.get(id);
    let from_cache = cached.is_some();
    let mut known = match cached {
        Some(k) => k,
        None => lookup(pool, id).await?.ok_or(ApiError::Unauthorized)?,
    };
    let matches: bool = hash_key(key).ct_eq(&known.secret_hash).into();
    if !matches {
        return Err(ApiError::Unauthorized);
    }
    let stale = known
        .last_used_at
        .is_none_or(|t| now - t > chrono::Duration::seconds(60));
    if stale {
        sqlx::query(include_str!("sql/key_used.sql"))
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?;
        known.last_used_at = Some(now);
    }
    // A cached entry keeps its age (`fetched`), so rewriting it does not extend it.
    if stale || !from_cache {
        keys.put(id, known.clone());
    }
    Ok(Caller {
        key_id: id.to_string(),
        role: known.role,
        shops: known.shops,
    })
}

/// What authenticating reads of a key.
#[derive(sqlx::FromRow)]
struct KeyRow {
    role: String,
    shops: Vec<String>,
    secret_hash: Vec<u8>,
    last_used_at: Option<DateTime<Utc>>,
}

/// A key that exists, is not revoked and names a known role.
async fn lookup(pool: &PgPool, id: &str) -> Result<Option<CachedKey>, sqlx::Error> {
    let row: Option<KeyRow> = sqlx::query_as(include_str!("sql/key_lookup.sql"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.and_then(|r| {
        Some(CachedKey::new(
            Role::parse(&r.role)?,
            r.shops,
            r.secret_hash,
            r.last_used_at,
        ))
    }))
}

/// What the `Caller` extractor needs from the application's state (implemented by
/// `app::AppState`; a trait so that this module does not depend on the app).
pub trait AuthState {
    fn pool(&self) -> &PgPool;
    fn keys(&self) -> &KeyCache;
    fn rate_limit(&self) -> &RateLimit;
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
        let caller = authenticate(state.pool(), state.keys(), header, state.now()).await?;
        state.rate_limit().check(&caller.key_id)?;
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
        assert_eq!(key_id(&a.key), Some(a.id.as_str()));
        assert!(a.key.len() > 70);
        assert_eq!(key_id("ssk_nothex!!!!!!_x"), None);
        assert_eq!(key_id("Bearer x"), None);
    }

    #[test]
    fn merchants_see_only_their_shops() {
        let m = Caller {
            key_id: "k".into(),
            role: Role::Merchant,
            shops: vec!["s1".into()],
        };
        assert!(m.require_shop("s1").is_ok());
        assert!(matches!(m.require_shop("s2"), Err(ApiError::NotFound(_))));
        assert!(matches!(m.require(&[Role::Ops]), Err(ApiError::Forbidden)));
        let admin = Caller {
            key_id: "k".into(),
            role: Role::Admin,
            shops: vec![],
        };
        assert!(admin.require(&[Role::Ingest]).is_ok());
    }
}
