//! The ops console: `GET /console`, a page for people, served by the binary itself.
//!
//! Its files are compiled in (`include_str!`, no CDN, no build step): the page, its
//! script and style, and uPlot (the npm package `uplot`, 1.6.32, vendored with its
//! licence as `assets/uplot.*`). The files hold no data and need no key: the page
//! asks for a key at sign-in, keeps it in the tab's session storage and reads every
//! figure through the public REST API with it, so a merchant key sees only its shops
//! there too, and the console proves the API is sufficient.
//!
//! Every answer carries a Content-Security-Policy without `unsafe-inline` (scripts and
//! styles only from these files, requests only to this origin, no framing), so a
//! shop's name or a webhook's error text can never run as code; the script writes
//! text with `textContent`, never HTML.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::etag::Tagged;

/// The policy every console answer carries.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// One compiled-in file: its name under `/console/`, type and body.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        content_type: "text/html; charset=utf-8",
        body: include_str!("assets/index.html"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/app.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/app.css"),
    },
    Asset {
        name: "uplot.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/uplot.js"),
    },
    Asset {
        name: "uplot.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("assets/uplot.css"),
    },
];

/// Each asset with its ETag, made once.
fn tagged() -> &'static [Tagged] {
    static TAGGED: std::sync::OnceLock<Vec<Tagged>> = std::sync::OnceLock::new();
    TAGGED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| Tagged::new(a.body.as_bytes().to_vec()))
            .collect()
    })
}

/// `/console` and its files (not API operations: outside the OpenAPI document).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/console",
            get(|h: HeaderMap| async move { serve("index.html", &h) }),
        )
        .route(
            "/console/",
            get(|h: HeaderMap| async move { serve("index.html", &h) }),
        )
        .route(
            "/console/{file}",
            get(|Path(file): Path<String>, h: HeaderMap| async move { serve(&file, &h) }),
        )
}

fn serve(name: &str, request: &HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        return ApiError::NotFound(format!("the console has no file {name:?}")).into_response();
    };
    let mut response = tagged()[i].respond_as(request, ASSETS[i].content_type);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}
