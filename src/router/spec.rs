//! The API's description: the OpenAPI document built from the route list (an operation
//! cannot be missing from it), served as `/openapi.yaml` and summarised at `GET /v1`.

use std::sync::OnceLock;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::auth::Caller;
use crate::config::HttpOpts;
use crate::error::ErrorBody;

struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ssk_<id>_<secret>")
                    .description(Some(
                        "An API key. Roles: admin (everything), ops (read all, recompute, tiers), ingest (events, shops), \
                         merchant (its own shops). The scopes listed on an operation are the roles that may call it; admin may call all.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "shopscore", description = "Grades e-commerce merchants' service: credit levels, shop ratings (DSR), \
        the service score, star levels, compliance programmes and gold customer-service team tiers. See SPEC.md."),
    modifiers(&SecurityAddon),
    tags((name = "events"), (name = "shops"), (name = "scorecards"), (name = "tiers"), (name = "keys"), (name = "webhooks"), (name = "ops"))
)]
pub(super) struct ApiDoc;

/// The OpenAPI document, built once from the route list.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        crate::openapi::complete(super::routes(&HttpOpts::default()).split_for_parts().1)
    })
}

/// The OpenAPI document as YAML (what `openapi.yaml` must hold).
pub fn document_yaml() -> &'static str {
    static YAML: OnceLock<String> = OnceLock::new();
    YAML.get_or_init(|| crate::openapi::yaml(openapi()))
}

/// One operation of the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Resource {
    pub method: String,
    pub path: String,
    pub summary: String,
    /// The roles that may call it (admin may call all); empty when it needs no key.
    pub roles: Vec<String>,
}

/// What the API offers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Index {
    pub resources: Vec<Resource>,
    /// The full description.
    pub openapi: String,
}

/// The API's operations, from its OpenAPI document. Any role.
#[utoipa::path(
    get, path = "/v1", tag = "ops",
    responses((status = 200, body = Index), (status = 401, body = ErrorBody)),
    security(("api_key" = ["admin", "ops", "ingest", "merchant"]))
)]
pub async fn get_index(_caller: Caller) -> Json<Index> {
    let doc = serde_json::to_value(openapi()).expect("the document serialises");
    let mut resources = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let text = |k: &str| op[k].as_str().unwrap_or_default().trim().to_string();
            let summary = Some(text("summary"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| {
                    text("description")
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string()
                });
            let roles = op["security"][0]["api_key"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            resources.push(Resource {
                method: method.to_uppercase(),
                path: path.clone(),
                summary,
                roles,
            });
        }
    }
    Json(Index {
        resources,
        openapi: "/openapi.yaml".into(),
    })
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/openapi.yaml", tag = "ops", responses((status = 200, description = "the spec", content_type = "application/yaml")))]
pub async fn openapi_yaml() -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/yaml")],
        document_yaml(),
    )
}
