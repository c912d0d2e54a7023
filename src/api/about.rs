//! Who is calling and which rules apply: `GET /v1/me` and `GET /v1/policy` (SPEC §5).
//! (`GET /v1`, the index of operations, is `router::spec`'s.)

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::error::{ApiError, ErrorBody};

/// The calling key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: String,
    pub name: Option<String>,
    pub role: Role,
    /// The shops a merchant key may read; empty for other roles (they are not bound
    /// to shops).
    pub shops: Vec<String>,
}

/// The caller's key id, name, role and shops. Any role.
#[utoipa::path(
    get, path = "/v1/me", tag = "keys",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)),
    security(("api_key" = ["admin", "ops", "ingest", "merchant"]))
)]
pub async fn get_me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    let name = crate::auth::key_name(&state.pool, &caller.key_id).await?;
    Ok(Json(Me {
        id: caller.key_id,
        name,
        role: caller.role,
        shops: caller.shops,
    }))
}

/// The active policy.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyDocument {
    /// The `policy_version` every scorecard carries: a hash of the policy file.
    pub version: String,
    /// The policy file (TOML) as JSON: thresholds, weights, programmes, tiers.
    #[schema(value_type = Object)]
    pub policy: serde_json::Value,
}

/// The active policy, with its version. Role: `merchant` or `ops`.
#[utoipa::path(
    get, path = "/v1/policy", tag = "ops",
    responses((status = 200, body = PolicyDocument), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("api_key" = ["merchant", "ops"]))
)]
pub async fn get_policy(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<PolicyDocument>, ApiError> {
    caller.require(&[Role::Merchant, Role::Ops])?;
    Ok(Json(PolicyDocument {
        version: state.policy.version.clone(),
        policy: state.policy.document.clone(),
    }))
}
