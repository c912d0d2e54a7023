//! Key lifecycle and quotas (issue 27): expiry, rotation with a grace period, masked
//! listing, checksums, and each key's own request limit with `X-RateLimit-*` headers.
//! Time is a fake clock the server reads; no test waits for it.

use std::sync::Arc;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use shopscore::auth::{check_key, KeyCheck};
use shopscore::clock::FakeClock;
use shopscore::config::HttpOpts;
use shopscore::policy::Policy;

use crate::helpers::TestApp;

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

async fn clocked(http: HttpOpts) -> (TestApp, Arc<FakeClock>, DateTime<Utc>) {
    // Whole seconds, so that times compare exactly after their round trip.
    let t0 = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    let clock = FakeClock::at(t0);
    let app = TestApp::spawn_clocked(Policy::default_policy(), http, 4, clock.clone()).await;
    (app, clock, t0)
}

/// (status, the error's message or the body) of `GET /v1/me` with `key`.
async fn me(app: &TestApp, key: &str) -> (u16, String) {
    let (s, b) = app.json(Method::GET, "/v1/me", Some(key), None).await;
    let text = b["error"]["message"].as_str().map(str::to_string);
    (s, text.unwrap_or_else(|| b.to_string()))
}

async fn create(app: &TestApp, body: Value) -> (u16, Value) {
    app.json(Method::POST, "/v1/keys", Some(&app.admin), Some(&body))
        .await
}

#[tokio::test]
async fn a_key_expires_and_is_told_so() {
    let http = HttpOpts {
        key_max_days: Some(30),
        ..HttpOpts::default()
    };
    let (app, clock, t0) = clocked(http).await;
    let (s, made) = create(
        &app,
        json!({"role": "ops", "name": "one hour", "expires_at": rfc(t0 + Duration::hours(1))}),
    )
    .await;
    assert_eq!(s, 200, "{made}");
    let key = made["key"].as_str().unwrap().to_string();
    let id = made["id"].as_str().unwrap();
    assert_eq!(check_key(&key), KeyCheck::Valid { id: id.into() });
    assert_eq!(instant(&made["expires_at"]), t0 + Duration::hours(1));
    // Masked: the prefix with the id, and the key's last four characters.
    assert_eq!(
        made["masked"],
        format!("ssk_{id}_…{}", &key[key.len() - 4..])
    );
    assert_eq!(me(&app, &key).await.0, 200);

    // One second before: still good (and cached); at the hour: refused, saying so.
    clock.set(t0 + Duration::hours(1) - Duration::seconds(1));
    assert_eq!(me(&app, &key).await.0, 200);
    clock.set(t0 + Duration::hours(1));
    assert_eq!(
        me(&app, &key).await,
        (
            401,
            format!(
                "this key expired at {}; ask an admin for a new one",
                rfc(t0 + Duration::hours(1))
            )
        )
    );
    let now = t0 + Duration::hours(1);

    // No expiry asked: the longest lifetime this server allows, from now.
    let (s, made) = create(&app, json!({"role": "ingest"})).await;
    assert_eq!(s, 200);
    assert_eq!(instant(&made["expires_at"]), now + Duration::days(30));
    // Beyond it, in the past, or not a time: 422 naming the field; no key made.
    let before = app
        .json(Method::GET, "/v1/keys", Some(&app.admin), None)
        .await
        .1["items"]
        .as_array()
        .unwrap()
        .len();
    for (asked, why) in [
        (
            rfc(now + Duration::days(30) + Duration::seconds(1)),
            "must be at most 30 days from now (this server's longest key lifetime)",
        ),
        (rfc(now), "must be in the future"),
        (
            "tomorrow".into(),
            "must be an RFC 3339 timestamp with an offset",
        ),
    ] {
        let (s, b) = create(&app, json!({"role": "ops", "expires_at": asked})).await;
        assert_eq!(s, 422, "{b}");
        assert_eq!(b["error"]["message"], format!("expires_at: {why}"));
        assert_eq!(b["error"]["details"][0]["field"], "expires_at");
    }
    let (_, list) = app
        .json(Method::GET, "/v1/keys", Some(&app.admin), None)
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), before);
    // The listing never shows a secret: every key masked, none whole.
    let text = list.to_string();
    assert!(!text.contains(&key), "a secret in the listing");
    assert!(items
        .iter()
        .all(|k| k["masked"].as_str().unwrap().starts_with("ssk_")));
    assert!(items
        .iter()
        .any(|k| k["id"] == id && !k["last_used_at"].is_null()));
}

#[tokio::test]
async fn a_rotated_key_keeps_its_old_secret_for_the_grace_period() {
    let (app, clock, t0) = clocked(HttpOpts::default()).await;
    let (_, made) = create(&app, json!({"role": "ops", "name": "dashboard"})).await;
    let first = made["key"].as_str().unwrap().to_string();
    let id = made["id"].as_str().unwrap().to_string();
    let rotate = |body: Option<Value>| {
        let app = &app;
        let id = id.clone();
        async move {
            app.json(
                Method::POST,
                &format!("/v1/keys/{id}/rotate"),
                Some(&app.admin),
                body.as_ref(),
            )
            .await
        }
    };
    let (s, rotated) = rotate(Some(json!({"grace_hours": 2}))).await;
    assert_eq!(s, 200, "{rotated}");
    let second = rotated["key"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    assert_eq!(check_key(&second), KeyCheck::Valid { id: id.clone() });
    assert_eq!(rotated["id"], id.as_str());
    assert_eq!(rotated["name"], "dashboard");
    assert_eq!(instant(&rotated["rotated_at"]), t0);
    assert_eq!(
        instant(&rotated["previous_valid_until"]),
        t0 + Duration::hours(2)
    );
    assert_eq!(
        rotated["masked"],
        format!("ssk_{id}_…{}", &second[second.len() - 4..])
    );
    // Both work during the grace period.
    assert_eq!(me(&app, &first).await.0, 200);
    assert_eq!(me(&app, &second).await.0, 200);
    // After it, the old one is refused with the reason; the new one works.
    clock.set(t0 + Duration::hours(2));
    assert_eq!(
        me(&app, &first).await,
        (
            401,
            format!(
                "this key's secret was rotated out: replaced at {}, it stopped working at {}; use the new secret",
                rfc(t0),
                rfc(t0 + Duration::hours(2))
            )
        )
    );
    assert_eq!(me(&app, &second).await.0, 200);

    // No body: 24 hours of grace for the second; the first is now simply unknown.
    let (s, again) = rotate(None).await;
    assert_eq!(s, 200);
    let third = again["key"].as_str().unwrap().to_string();
    let now = t0 + Duration::hours(2);
    assert_eq!(
        instant(&again["previous_valid_until"]),
        now + Duration::hours(24)
    );
    assert_eq!(me(&app, &second).await.0, 200);
    assert_eq!(me(&app, &third).await.0, 200);
    assert_eq!(
        me(&app, &first).await,
        (401, "missing or invalid API key".into())
    );

    // A mistyped key is refused before the database is asked.
    let mut typo = third.clone().into_bytes();
    typo[30] = if typo[30] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    assert_eq!(
        me(&app, &typo).await,
        (
            401,
            "this is not a valid key: its checksum does not match (mistyped or cut short?)".into()
        )
    );

    // Out of range, unknown, revoked: refused, nothing changed.
    let (s, b) = rotate(Some(json!({"grace_hours": 721}))).await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (422, Some("grace_hours: must be from 0 to 720"))
    );
    let (s, _) = rotate(Some(json!({"grace": 1}))).await;
    assert_eq!(s, 422);
    let (s, _) = app
        .json(
            Method::POST,
            "/v1/keys/000000000000/rotate",
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(me(&app, &third).await.0, 200);
    let (s, _) = app
        .json(
            Method::DELETE,
            &format!("/v1/keys/{id}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, b) = rotate(None).await;
    assert_eq!(
        (s, b["error"]["message"].as_str()),
        (404, Some("no such key, or it is revoked"))
    );
    let (s, why) = me(&app, &third).await;
    assert_eq!(s, 401);
    assert!(why.starts_with("this key was revoked at "), "{why}");
    // Grace 0: the old secret stops at once.
    let (_, made) = create(&app, json!({"role": "ops"})).await;
    let old = made["key"].as_str().unwrap().to_string();
    let (s, _) = app
        .json(
            Method::POST,
            &format!("/v1/keys/{}/rotate", made["id"].as_str().unwrap()),
            Some(&app.admin),
            Some(&json!({"grace_hours": 0})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(me(&app, &old).await.0, 401);
}

/// The `X-RateLimit-*` figures of an answer.
fn standing(r: &reqwest::Response) -> Option<(u64, u64, u64)> {
    let h = |n: &str| r.headers().get(n)?.to_str().ok()?.parse::<u64>().ok();
    Some((
        h("x-ratelimit-limit")?,
        h("x-ratelimit-remaining")?,
        h("x-ratelimit-reset")?,
    ))
}

#[tokio::test]
async fn each_key_has_its_own_quota_and_is_told_where_it_stands() {
    let http = HttpOpts {
        rate_limit_per_minute: 600,
        ..HttpOpts::default()
    };
    let (app, _, _) = clocked(http).await;
    let (_, made) = create(&app, json!({"role": "ops"})).await;
    let key = made["key"].as_str().unwrap().to_string();
    let id = made["id"].as_str().unwrap().to_string();
    assert!(made["rate_limit_per_minute"].is_null());
    let get = |k: String| {
        let app = &app;
        async move { app.call(Method::GET, "/v1/me", Some(&k), None).await }
    };
    // The default: 600 a minute, 10 a second; one spent, 0.1 s to refill it.
    let r = get(key.clone()).await;
    assert_eq!(standing(&r), Some((600, 599, 1)));

    // An admin gives it 3 a minute: it may send three, then waits 20 s for the next.
    let (s, b) = app
        .json(
            Method::PATCH,
            &format!("/v1/keys/{id}"),
            Some(&app.admin),
            Some(&json!({"rate_limit_per_minute": 3})),
        )
        .await;
    assert_eq!((s, b["rate_limit_per_minute"].as_i64()), (200, Some(3)));
    for left in [2, 1, 0] {
        let r = get(key.clone()).await;
        assert_eq!(r.status(), 200);
        let (limit, remaining, reset) = standing(&r).unwrap();
        assert_eq!((limit, remaining), (3, left));
        // Full again after (3 - tokens left) × 20 s.
        assert!(
            (59 - 20 * left..=60 - 20 * left).contains(&reset),
            "{reset}"
        );
    }
    let r = get(key.clone()).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((19..=20).contains(&retry), "{retry}");
    assert_eq!(standing(&r).map(|s| (s.0, s.1)), Some((3, 0)));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another key is not touched by it.
    assert_eq!(
        standing(&get(app.ops.clone()).await).map(|s| s.0),
        Some(600)
    );

    // Back to the default (null).
    let (s, b) = app
        .json(
            Method::PATCH,
            &format!("/v1/keys/{id}"),
            Some(&app.admin),
            Some(&json!({"rate_limit_per_minute": null})),
        )
        .await;
    assert_eq!((s, b["rate_limit_per_minute"].is_null()), (200, true));
    // The bucket keeps what it had (a raised limit refills faster, it does not reset).
    let r = get(key.clone()).await;
    assert_eq!(standing(&r).map(|s| s.0), Some(600));

    // What an admin may not send: 422 naming the field, nothing changed.
    for (body, field) in [
        (json!({}), "rate_limit_per_minute"),
        (json!({"rate_limit_per_minute": 0}), "rate_limit_per_minute"),
        (
            json!({"rate_limit_per_minute": 1_000_001}),
            "rate_limit_per_minute",
        ),
        (json!({"rate_limit_per_minute": 5, "role": "admin"}), "role"),
    ] {
        let (s, b) = app
            .json(
                Method::PATCH,
                &format!("/v1/keys/{id}"),
                Some(&app.admin),
                Some(&body),
            )
            .await;
        assert_eq!(s, 422, "{body}: {b}");
        assert!(
            b["error"]["message"].as_str().unwrap().contains(field),
            "{body}: {b}"
        );
    }
    let (s, _) = create(&app, json!({"role": "ops", "rate_limit_per_minute": 0})).await;
    assert_eq!(s, 422);
    let (s, made) = create(&app, json!({"role": "ops", "rate_limit_per_minute": 7})).await;
    assert_eq!((s, made["rate_limit_per_minute"].as_i64()), (200, Some(7)));
    let r = get(made["key"].as_str().unwrap().to_string()).await;
    assert_eq!(standing(&r).map(|s| (s.0, s.1)), Some((7, 6)));
    // Unknown key: 404. Requests without a key carry no standing.
    let (s, _) = app
        .json(
            Method::PATCH,
            "/v1/keys/000000000000",
            Some(&app.admin),
            Some(&json!({"rate_limit_per_minute": 5})),
        )
        .await;
    assert_eq!(s, 404);
    let r = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(standing(&r), None);
}
