//! AppState, the router, and the tower layers around it.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api;
use crate::auth::RateLimit;
use crate::clock::SharedClock;
use crate::config::HttpOpts;
use crate::db::retry::RetryPolicy;
use crate::error::{error_response, ApiError};
use crate::ingest::budget::BodyBudget;
use crate::policy::Policy;

/// Cheap to clone: everything behind `Arc`s.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub policy: Arc<Policy>,
    pub rate_limit: Arc<RateLimit>,
    pub ingest: Arc<IngestLimits>,
    pub shutting_down: Arc<AtomicBool>,
    /// What "now" is (a parameter, so tests can set it).
    pub clock: SharedClock,
    /// This process's name in `job_runs.replica`.
    pub replica: Arc<str>,
    /// Longest a `POST /v1/recompute` may run before it rolls back with 503.
    pub recompute_limit: Duration,
    /// Keys verified in the last seconds (`cache::keys`).
    pub keys: Arc<crate::cache::KeyCache>,
    /// Each shop's latest scorecard, ready to send (`cache::latest`).
    pub latest: Arc<crate::cache::LatestCache<crate::api::etag::Tagged>>,
}

/// What bounds one `POST /v1/events`: body size, the shared memory budget, and how
/// often a transaction that failed for a transient reason is run again.
#[derive(Debug)]
pub struct IngestLimits {
    pub max_body: u64,
    pub budget: BodyBudget,
    /// Transactions writing events at once.
    pub writers: tokio::sync::Semaphore,
    pub retry: RetryPolicy,
}

impl AppState {
    /// The caches `cache::listen` keeps true, each with its channel.
    pub fn cache_subscribers(&self) -> crate::cache::Subscribers {
        vec![
            (crate::cache::KEYS_CHANNEL, self.keys.clone()),
            (crate::cache::SCORECARDS_CHANNEL, self.latest.clone()),
        ]
    }

    pub fn new(pool: PgPool, policy: Arc<Policy>, http: &HttpOpts) -> AppState {
        AppState {
            pool,
            policy,
            rate_limit: Arc::new(RateLimit::per_minute(
                http.rate_limit_per_minute,
                http.rate_limit_burst,
            )),
            ingest: Arc::new(IngestLimits {
                max_body: http.max_ingest_mb as u64 * 1024 * 1024,
                budget: BodyBudget::new(
                    http.ingest_budget_mb * 1024 * 1024,
                    Duration::from_secs(http.ingest_wait),
                ),
                writers: tokio::sync::Semaphore::new(http.ingest_writers as usize),
                retry: RetryPolicy {
                    attempts: http.db_attempts,
                    ..RetryPolicy::default()
                },
            }),
            shutting_down: Arc::new(AtomicBool::new(false)),
            clock: crate::clock::system(),
            replica: crate::jobs::runs::default_replica().into(),
            recompute_limit: Duration::from_secs(http.recompute_timeout),
            keys: Arc::default(),
            latest: Arc::default(),
        }
    }

    pub fn with_clock(mut self, clock: SharedClock) -> AppState {
        self.clock = clock;
        self
    }

    pub fn with_replica(mut self, replica: &str) -> AppState {
        self.replica = replica.into();
        self
    }
}

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
    tags((name = "events"), (name = "shops"), (name = "scorecards"), (name = "tiers"), (name = "keys"), (name = "ops"))
)]
struct ApiDoc;

const SMALL_BODY: usize = 64 * 1024;

/// Routes and their OpenAPI description, from one list (a route cannot miss the spec).
fn routes(http: &HttpOpts) -> OpenApiRouter<AppState> {
    let timeout = TimeoutLayer::with_status_code(
        StatusCode::SERVICE_UNAVAILABLE,
        Duration::from_secs(http.request_timeout),
    );
    let ingest = OpenApiRouter::new()
        .routes(routes!(api::events::post_events))
        .layer(DefaultBodyLimit::max(http.max_ingest_mb * 1024 * 1024))
        .layer(timeout);
    // Recompute has its own limit (`--recompute-timeout`), after which it rolls back.
    let recompute = OpenApiRouter::new()
        .routes(routes!(api::ops::post_recompute))
        .layer(DefaultBodyLimit::max(SMALL_BODY));
    let rest = OpenApiRouter::new()
        .routes(routes!(api::shops::put_shop, api::shops::get_shop))
        .routes(routes!(api::shops::list_shops))
        .routes(routes!(api::scorecards::get_scorecard))
        .routes(routes!(api::scorecards::get_history))
        .routes(routes!(api::scorecards::get_benchmarks))
        .routes(routes!(api::tiers::list_tiers))
        .routes(routes!(api::jobs::list_jobs))
        .routes(routes!(api::about::get_me))
        .routes(routes!(api::about::get_index))
        .routes(routes!(api::about::get_policy))
        .routes(routes!(api::keys::create_key, api::keys::list_keys))
        .routes(routes!(api::keys::revoke_key))
        .routes(routes!(api::ops::healthz))
        .routes(routes!(api::ops::readyz))
        .routes(routes!(api::ops::metrics))
        .routes(routes!(api::ops::openapi_yaml))
        .layer(DefaultBodyLimit::max(SMALL_BODY))
        .layer(timeout);
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(ingest)
        .merge(recompute)
        .merge(rest)
}

/// The OpenAPI document, built once from the route list.
pub fn openapi() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| crate::openapi::complete(routes(&HttpOpts::default()).split_for_parts().1))
}

/// The OpenAPI document as YAML (what `openapi.yaml` must hold).
pub fn openapi_yaml() -> &'static str {
    static YAML: OnceLock<String> = OnceLock::new();
    YAML.get_or_init(|| crate::openapi::yaml(openapi()))
}

/// The process-wide Prometheus recorder.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

pub fn router(state: AppState, http: &HttpOpts) -> Router {
    let _ = prometheus();
    let (router, _) = routes(http).split_for_parts();
    let request_id = HeaderName::from_static("x-request-id");
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(
            http.cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        ))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(600));
    router
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(middleware::from_fn(known_query_parameters))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(track_metrics))
        .layer(CatchPanicLayer::custom(|_| error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into(), vec![])))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION]))
        .layer(cors)
        .with_state(state)
}

/// Gives every error the JSON body of SPEC §5, including the plain-text ones that
/// axum's extractors and tower layers produce (405, 413, 408, bad JSON, bad query…).
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return resp;
    }
    // A response the framework made (a rejection, a timeout, a wrong method): its
    // text is written for Rust programmers, so the client gets one written for it.
    let (parts, _) = resp.into_parts();
    let message = match status.as_u16() {
        400 => "the request could not be read".to_string(),
        404 => "no such route".to_string(),
        405 => "this method is not allowed on this path; the Allow header lists those that are"
            .to_string(),
        413 => "the body is larger than this operation accepts".to_string(),
        415 => "unsupported Content-Type; send application/json".to_string(),
        422 => "the request body does not have the expected shape".to_string(),
        503 => "the request took longer than the server allows; retry shortly".to_string(),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    // Extractor rejections of a body are 400/415/422 in axum; keep their status.
    let mut out = error_response(status, message, vec![]);
    for (k, v) in parts.headers.iter() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}

/// The query parameters each operation takes, from the OpenAPI document: a parameter
/// an operation does not take is a 400 naming it (a typo such as `?industy=` would
/// otherwise be ignored silently and answer with an unfiltered list).
fn query_parameters() -> &'static std::collections::HashMap<(String, String), Vec<String>> {
    static MAP: OnceLock<std::collections::HashMap<(String, String), Vec<String>>> =
        OnceLock::new();
    MAP.get_or_init(|| {
        let doc = serde_json::to_value(openapi()).expect("the document serialises");
        let mut map = std::collections::HashMap::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                let names = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| p["name"].as_str().map(String::from))
                    .collect();
                map.insert((method.to_uppercase(), path.clone()), names);
            }
        }
        map
    })
}

async fn known_query_parameters(req: Request, next: Next) -> Response {
    let (Some(route), Some(query)) = (req.extensions().get::<MatchedPath>(), req.uri().query())
    else {
        return next.run(req).await;
    };
    // Probes and scrapers (`/healthz`, `/metrics`, …) may add what they like.
    if !route.as_str().starts_with("/v1") {
        return next.run(req).await;
    }
    let Some(known) =
        query_parameters().get(&(req.method().to_string(), route.as_str().to_string()))
    else {
        return next.run(req).await;
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut unknown: Vec<&str> = pairs
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !known.iter().any(|n| n == k))
        .collect();
    if unknown.is_empty() {
        return next.run(req).await;
    }
    unknown.sort_unstable();
    unknown.dedup();
    let takes = if known.is_empty() {
        "none".to_string()
    } else {
        known.join(", ")
    };
    ApiError::BadRequest(format!(
        "unknown query parameter(s): {}; this operation takes: {takes}",
        unknown.join(", ")
    ))
    .into_response()
}

/// Request counts and latencies labelled by matched route (never the raw path).
async fn track_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("shopscore_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("shopscore_http_request_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}
