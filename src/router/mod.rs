//! The router: every route with its layers, from one list that also makes the OpenAPI
//! document (`spec`); the middleware is in `layers`.

mod layers;
pub mod spec;

use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use spec::{document_yaml as openapi_yaml, openapi};

use crate::api;
use crate::app::AppState;
use crate::config::HttpOpts;
use crate::error::{error_response, ApiError};

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
        .routes(routes!(api::items::get_metric_items))
        .routes(routes!(api::projection::get_projection))
        .routes(routes!(api::simulate::post_simulate))
        .routes(routes!(api::scorecards::get_benchmarks))
        .routes(routes!(api::tiers::list_tiers))
        .routes(routes!(api::tiers::get_board))
        .routes(routes!(api::jobs::list_jobs))
        .routes(routes!(api::about::get_me))
        .routes(routes!(spec::get_index))
        .routes(routes!(api::about::get_policy))
        .routes(routes!(api::keys::create_key, api::keys::list_keys))
        .routes(routes!(api::keys::revoke_key, api::keys::update_key))
        .routes(routes!(api::keys::rotate_key))
        .routes(routes!(
            api::webhooks::create_endpoint,
            api::webhooks::list_endpoints
        ))
        .routes(routes!(
            api::webhooks::get_endpoint,
            api::webhooks::update_endpoint,
            api::webhooks::delete_endpoint
        ))
        .routes(routes!(api::webhooks::rotate_secret))
        .routes(routes!(api::webhook_messages::list_messages))
        .routes(routes!(api::webhook_messages::list_attempts))
        .routes(routes!(api::webhook_messages::resend_message))
        .routes(routes!(api::webhook_messages::recover))
        .routes(routes!(api::ops::healthz))
        .routes(routes!(api::ops::readyz))
        .routes(routes!(api::ops::metrics))
        .routes(routes!(spec::openapi_yaml))
        .layer(DefaultBodyLimit::max(SMALL_BODY))
        .layer(timeout);
    OpenApiRouter::with_openapi(spec::ApiDoc::openapi())
        .merge(ingest)
        .merge(recompute)
        .merge(rest)
}

pub fn router(state: AppState, http: &HttpOpts) -> Router {
    let _ = crate::telemetry::prometheus();
    let (router, _) = routes(http).split_for_parts();
    let request_id = HeaderName::from_static("x-request-id");
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(
            http.cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        ))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([
            header::RETRY_AFTER,
            header::ETAG,
            HeaderName::from_static("x-ratelimit-limit"),
            HeaderName::from_static("x-ratelimit-remaining"),
            HeaderName::from_static("x-ratelimit-reset"),
        ])
        .max_age(Duration::from_secs(600));
    router
        .merge(crate::console::routes())
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .layer(middleware::from_fn(layers::known_query_parameters))
        .layer(middleware::from_fn(layers::rate_limit_headers))
        .layer(middleware::from_fn(layers::json_errors))
        .layer(middleware::from_fn(crate::telemetry::track_metrics))
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
