//! Webhook endpoints (issue 25, the part built so far): admins create, change, rotate
//! and delete them, ops read them; secrets are shown once; bad URLs are refused.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{json, Value};
use shopscore::config::HttpOpts;
use shopscore::policy::Policy;
use shopscore::webhook::signature::decode_secret;

use crate::helpers::TestApp;

const PATH: &str = "/v1/webhooks/endpoints";

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

async fn stored_secrets(app: &TestApp, id: &str) -> (String, Option<String>) {
    sqlx::query_as("SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_manages_endpoints_and_ops_read_them() {
    let app = TestApp::spawn().await;
    let body = json!({"url": "https://hooks.example.com/shopscore",
                      "event_types": ["tier.changed", "programme.status_changed", "tier.changed"],
                      "shop_ids": ["s1"], "description": "ops pager"});
    let (status, made) = app
        .json(Method::POST, PATH, Some(&app.admin), Some(&body))
        .await;
    assert_eq!(status, 200, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    let secret = made["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(decode_secret(&secret).unwrap().len(), 32);
    assert_eq!(stored_secrets(&app, &id).await, (secret.clone(), None));
    // Types once each, in name order; enabled; no rotation under way.
    assert_eq!(
        made["event_types"],
        json!(["programme.status_changed", "tier.changed"])
    );
    assert_eq!(
        (&made["enabled"], &made["previous_secret_until"]),
        (&json!(true), &Value::Null)
    );

    // Ops read it, never its secret.
    let (status, list) = app.json(Method::GET, PATH, Some(&app.ops), None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("secret").is_none());
    let one = format!("{PATH}/{id}");
    let (status, got) = app.json(Method::GET, &one, Some(&app.ops), None).await;
    assert_eq!((status, &got["url"]), (200, &body["url"]));
    assert!(got.get("secret").is_none());

    // Changes: pause it, every event type, other shops; a private URL is refused and
    // changes nothing.
    let (status, err) = app
        .json(
            Method::PATCH,
            &one,
            Some(&app.admin),
            Some(&json!({"url": "http://10.0.0.7/x"})),
        )
        .await;
    assert_eq!(
        (status, &err["error"]["details"][0]["field"]),
        (422, &json!("url")),
        "{err}"
    );
    let change = json!({"enabled": false, "event_types": [], "shop_ids": ["s2", "s3"]});
    let (status, changed) = app
        .json(Method::PATCH, &one, Some(&app.admin), Some(&change))
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (
            &changed["enabled"],
            &changed["event_types"],
            &changed["shop_ids"],
            &changed["url"],
            &changed["description"]
        ),
        (
            &json!(false),
            &json!([]),
            &json!(["s2", "s3"]),
            &body["url"],
            &body["description"]
        )
    );

    // Rotation: a new secret, the old one signing beside it for 24 h.
    let (status, rotated) = app
        .json(
            Method::POST,
            &format!("{one}/rotate-secret"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_eq!(stored_secrets(&app, &id).await, (new_secret, Some(secret)));
    let overlap = time(&rotated["previous_secret_until"]) - time(&rotated["updated_at"]);
    assert_eq!(overlap, chrono::Duration::hours(24));

    // Delete; then it is gone.
    let (status, _) = app.json(Method::DELETE, &one, Some(&app.admin), None).await;
    assert_eq!(status, 200);
    for method in [Method::GET, Method::DELETE] {
        let (status, _) = app.json(method, &one, Some(&app.admin), None).await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn bad_endpoints_are_refused_by_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"url": "ftp://hooks.example.com/x"}), "url"),
        (json!({"url": "https://u:p@hooks.example.com/x"}), "url"),
        (json!({"url": "http://127.0.0.1:9000/x"}), "url"),
        (json!({"url": "http://localhost/x"}), "url"),
        (
            json!({"url": format!("https://e.com/{}", "a".repeat(2100))}),
            "url",
        ),
        (
            json!({"url": "https://e.com/x", "event_types": ["tier.nope"]}),
            "event_types[0]",
        ),
        (
            json!({"url": "https://e.com/x", "shop_ids": ["ok", "bad\u{0}"]}),
            "shop_ids[1]",
        ),
        (
            json!({"url": "https://e.com/x", "description": "a\u{0}b"}),
            "description",
        ),
        (
            json!({"url": "https://e.com/x", "secret": "whsec_mine"}),
            "secret",
        ),
        (json!({"event_types": []}), "url"),
    ];
    for (body, field) in cases {
        let (status, err) = app
            .json(Method::POST, PATH, Some(&app.admin), Some(&body))
            .await;
        assert_eq!(status, 422, "{body}: {err}");
        assert_eq!(err["error"]["details"][0]["field"], field, "{body}: {err}");
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
    // Only admins write; merchants and ingest keys do not even read.
    let body = json!({"url": "https://e.com/x"});
    let merchant = app.merchant(&["s1"]).await;
    for key in [&app.ops, &app.ingest, &merchant] {
        let (status, _) = app.json(Method::POST, PATH, Some(key), Some(&body)).await;
        assert_eq!(status, 403);
    }
    for key in [&app.ingest, &merchant] {
        let (status, _) = app.json(Method::GET, PATH, Some(key), None).await;
        assert_eq!(status, 403);
    }
    // An id no endpoint can have is the same 404 as an unknown one.
    for path in [format!("{PATH}/ep_0000"), format!("{PATH}/..%2Fx")] {
        let (status, _) = app.json(Method::GET, &path, Some(&app.ops), None).await;
        assert_eq!(status, 404, "{path}");
    }
}

#[tokio::test]
async fn a_local_receiver_is_allowed_where_the_server_says_so() {
    let http = HttpOpts {
        webhook_allow_private: true,
        ..HttpOpts::default()
    };
    let app = TestApp::spawn_with(Policy::default_policy(), http).await;
    let body = json!({"url": "http://127.0.0.1:9000/hook"});
    let (status, made) = app
        .json(Method::POST, PATH, Some(&app.admin), Some(&body))
        .await;
    assert_eq!(status, 200, "{made}");
    // Credentials stay refused.
    let body = json!({"url": "http://u:p@127.0.0.1:9000/hook"});
    let (status, _) = app
        .json(Method::POST, PATH, Some(&app.admin), Some(&body))
        .await;
    assert_eq!(status, 422);
}
