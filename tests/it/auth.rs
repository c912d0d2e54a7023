//! SPEC §5 and §8: keys, roles, per-shop isolation, rate limits, secrets kept out of logs.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use shopscore::config::HttpOpts;
use shopscore::policy::Policy;

use crate::helpers::{ev, TestApp};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    None,
    Revoked,
    Admin,
    Ops,
    Ingest,
    MerchantOwn,
}

#[tokio::test]
async fn every_route_answers_every_role_as_spec_says() {
    let app = TestApp::spawn().await;
    app.put_shop("mine", "apparel").await;
    app.put_shop("theirs", "apparel").await;
    app.recompute("2026-11-01T00:00:00+08:00").await;
    let merchant = app.merchant(&["mine"]).await;
    let (_, created) = app
        .json(
            Method::POST,
            "/v1/keys",
            Some(&app.admin),
            Some(&json!({"role": "ops"})),
        )
        .await;
    let revoked = created["key"].as_str().unwrap().to_string();
    let revoked_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.json(
            Method::DELETE,
            &format!("/v1/keys/{revoked_id}"),
            Some(&app.admin),
            None
        )
        .await
        .0,
        200
    );

    let event = ev(
        "auth-1",
        "order.paid",
        "mine",
        "2026-10-01T10:00:00+08:00",
        json!({"order_id": "o1"}),
    );
    // One request for every operation of the OpenAPI document, which is made from the
    // router's route list: a route added without a request here fails below.
    let allowed = "2026-11-01T00:00:00+08:00";
    let requests: Vec<(Method, &str, String, Option<Value>)> = vec![
        (Method::POST, "/v1/events", "/v1/events".into(), Some(event)),
        (
            Method::PUT,
            "/v1/shops/{shop_id}",
            "/v1/shops/mine".into(),
            Some(json!({"industry": "apparel"})),
        ),
        (
            Method::GET,
            "/v1/shops/{shop_id}",
            "/v1/shops/mine".into(),
            None,
        ),
        (Method::GET, "/v1/shops", "/v1/shops".into(), None),
        (
            Method::POST,
            "/v1/recompute",
            "/v1/recompute".into(),
            Some(json!({"as_of": allowed, "shop_ids": ["mine"]})),
        ),
        (
            Method::GET,
            "/v1/shops/{shop_id}/scorecard",
            "/v1/shops/mine/scorecard".into(),
            None,
        ),
        (
            Method::GET,
            "/v1/shops/{shop_id}/history",
            "/v1/shops/mine/history".into(),
            None,
        ),
        (
            Method::GET,
            "/v1/shops/{shop_id}/metrics/{metric}/items",
            format!(
                "/v1/shops/mine/metrics/orders/items?as_of={}",
                allowed.replace('+', "%2B")
            ),
            None,
        ),
        (
            Method::GET,
            "/v1/shops/{shop_id}/projection",
            format!(
                "/v1/shops/mine/projection?as_of={}",
                allowed.replace('+', "%2B")
            ),
            None,
        ),
        (
            Method::POST,
            "/v1/shops/{shop_id}/simulate",
            "/v1/shops/mine/simulate".into(),
            Some(json!({"values": {"orders": 3}})),
        ),
        (Method::GET, "/v1/cs-tiers", "/v1/cs-tiers".into(), None),
        (
            Method::GET,
            "/v1/cs-tiers/board",
            "/v1/cs-tiers/board".into(),
            None,
        ),
        (
            Method::GET,
            "/v1/industries/{industry}/benchmarks",
            "/v1/industries/apparel/benchmarks".into(),
            None,
        ),
        (Method::GET, "/v1/jobs", "/v1/jobs".into(), None),
        (Method::GET, "/v1/me", "/v1/me".into(), None),
        (Method::GET, "/v1/policy", "/v1/policy".into(), None),
        (Method::GET, "/v1", "/v1".into(), None),
        (Method::GET, "/v1/keys", "/v1/keys".into(), None),
        (
            Method::POST,
            "/v1/keys",
            "/v1/keys".into(),
            Some(json!({"role": "ingest", "name": "x"})),
        ),
        (
            Method::DELETE,
            "/v1/keys/{id}",
            "/v1/keys/000000000000".into(),
            None,
        ),
        (
            Method::PATCH,
            "/v1/keys/{id}",
            "/v1/keys/000000000000".into(),
            Some(json!({"rate_limit_per_minute": 10})),
        ),
        (
            Method::POST,
            "/v1/keys/{id}/rotate",
            "/v1/keys/000000000000/rotate".into(),
            Some(json!({"grace_hours": 1})),
        ),
        (
            Method::POST,
            "/v1/webhooks/endpoints",
            "/v1/webhooks/endpoints".into(),
            Some(json!({"url": "https://hooks.example.com/x"})),
        ),
        (
            Method::GET,
            "/v1/webhooks/endpoints",
            "/v1/webhooks/endpoints".into(),
            None,
        ),
        (
            Method::GET,
            "/v1/webhooks/endpoints/{id}",
            "/v1/webhooks/endpoints/ep_none".into(),
            None,
        ),
        (
            Method::PATCH,
            "/v1/webhooks/endpoints/{id}",
            "/v1/webhooks/endpoints/ep_none".into(),
            Some(json!({"enabled": true})),
        ),
        (
            Method::DELETE,
            "/v1/webhooks/endpoints/{id}",
            "/v1/webhooks/endpoints/ep_none".into(),
            None,
        ),
        (
            Method::POST,
            "/v1/webhooks/endpoints/{id}/rotate-secret",
            "/v1/webhooks/endpoints/ep_none/rotate-secret".into(),
            None,
        ),
        (
            Method::GET,
            "/v1/webhooks/endpoints/{id}/messages",
            "/v1/webhooks/endpoints/ep_none/messages".into(),
            None,
        ),
        (
            Method::GET,
            "/v1/webhooks/endpoints/{id}/messages/{msg_id}/attempts",
            "/v1/webhooks/endpoints/ep_none/messages/msg_none/attempts".into(),
            None,
        ),
        (
            Method::POST,
            "/v1/webhooks/endpoints/{id}/messages/{msg_id}/resend",
            "/v1/webhooks/endpoints/ep_none/messages/msg_none/resend".into(),
            None,
        ),
        (
            Method::POST,
            "/v1/webhooks/endpoints/{id}/recover",
            "/v1/webhooks/endpoints/ep_none/recover".into(),
            Some(json!({"since": "2026-11-01T00:00:00+08:00"})),
        ),
        (Method::GET, "/healthz", "/healthz".into(), None),
        (Method::GET, "/readyz", "/readyz".into(), None),
        (Method::GET, "/metrics", "/metrics".into(), None),
        (Method::GET, "/openapi.yaml", "/openapi.yaml".into(), None),
    ];
    let doc = serde_json::to_value(shopscore::router::openapi()).unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    let mut requested: Vec<(String, String)> = (requests.iter())
        .map(|(m, t, _, _)| (m.to_string(), t.to_string()))
        .collect();
    documented.sort();
    requested.sort();
    assert_eq!(
        requested, documented,
        "one request per documented operation"
    );
    let whos = [
        Who::None,
        Who::Revoked,
        Who::Admin,
        Who::Ops,
        Who::Ingest,
        Who::MerchantOwn,
    ];
    for (method, template, path, body) in requests {
        // The roles the document gives the operation (none: open to everyone).
        let op = &doc["paths"][template][method.as_str().to_lowercase()];
        let roles: Option<Vec<String>> = op["security"].as_array().map(|s| {
            (s.iter())
                .flat_map(|req| req["api_key"].as_array().cloned().unwrap_or_default())
                .map(|r| r.as_str().unwrap().to_string())
                .collect()
        });
        // What an allowed caller gets: the key this test deletes does not exist.
        let ok = if template.starts_with("/v1/keys/{id}")
            || template.starts_with("/v1/webhooks/endpoints/{id}")
        {
            404
        } else {
            200
        };
        for who in whos {
            let (key, role) = match who {
                Who::None => (None, None),
                Who::Revoked => (Some(revoked.as_str()), None),
                Who::Admin => (Some(app.admin.as_str()), Some("admin")),
                Who::Ops => (Some(app.ops.as_str()), Some("ops")),
                Who::Ingest => (Some(app.ingest.as_str()), Some("ingest")),
                Who::MerchantOwn => (Some(merchant.as_str()), Some("merchant")),
            };
            let want = match (&roles, role) {
                (None, _) => 200,
                (Some(_), None) => 401,
                (Some(_), Some("admin")) => ok,
                (Some(roles), Some(r)) if roles.iter().any(|x| x == r) => ok,
                (Some(_), Some(_)) => 403,
            };
            let (status, b) = app.json(method.clone(), &path, key, body.as_ref()).await;
            assert_eq!(status, want, "{method} {path} as {who:?}: {b}");
            if status >= 400 {
                assert!(
                    b["error"]["code"].is_string(),
                    "{method} {path} as {who:?}: error body {b}"
                );
            }
        }
    }
    // Spot checks of the document itself, against SPEC §5's table.
    let roles_of = |m: &str, t: &str| doc["paths"][t][m]["security"][0]["api_key"].clone();
    assert_eq!(roles_of("post", "/v1/events"), json!(["ingest"]));
    assert_eq!(
        roles_of("get", "/v1/shops/{shop_id}/scorecard"),
        json!(["ops", "merchant"])
    );
    assert_eq!(roles_of("get", "/v1/shops"), json!(["ops", "merchant"]));
    // A garbled or unknown key is a 401 too.
    for bad in [
        "Bearer ssk_000000000000_nope",
        "Bearer nonsense",
        "Basic abc",
    ] {
        let r = app
            .client
            .get(format!("{}/v1/shops", app.base))
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401, "{bad}");
    }
}

#[tokio::test]
async fn a_merchant_cannot_reach_another_shop_by_any_path() {
    let app = TestApp::spawn().await;
    app.put_shop("mine", "apparel").await;
    app.put_shop("theirs", "apparel").await;
    app.recompute("2026-11-01T00:00:00+08:00").await;
    let merchant = app.merchant(&["mine"]).await;
    let (_, unknown) = app
        .json(Method::GET, "/v1/shops/ghost", Some(&merchant), None)
        .await;
    for path in [
        "/v1/shops/theirs",
        "/v1/shops/theirs/scorecard",
        "/v1/shops/theirs/scorecard?as_of=2026-11-01T00:00:00%2B08:00",
        "/v1/shops/theirs/history",
        "/v1/shops/theirs/history?from=2026-01-01T00:00:00Z",
        "/v1/shops/theirs/metrics/orders/items",
        "/v1/shops/theirs/projection",
        "/v1/shops/theirs/metrics/no_such_metric/items?window=nope",
        "/v1/shops/ghost/scorecard",
        "/v1/shops/THEIRS",
        "/v1/shops/theirs%2F..%2Fmine",
        "/v1/shops/mine%20",
    ] {
        let (s, b) = app.json(Method::GET, path, Some(&merchant), None).await;
        assert_eq!(s, 404, "{path}: {b}");
        assert_eq!(
            b, unknown,
            "{path}: the body must not differ from an unknown shop's"
        );
    }
    for path in ["/v1/shops/theirs/simulate", "/v1/shops/ghost/simulate"] {
        let body = json!({"values": {"orders": 3}});
        let (s, b) = (app.json(Method::POST, path, Some(&merchant), Some(&body))).await;
        assert_eq!((s, &b), (404, &unknown), "{path}");
    }
    // Ops views are closed to merchants; its own shop is open.
    for path in ["/v1/cs-tiers", "/v1/keys"] {
        assert_eq!(
            app.json(Method::GET, path, Some(&merchant), None).await.0,
            403,
            "{path}"
        );
    }
    assert_eq!(
        app.json(
            Method::GET,
            "/v1/shops/mine/scorecard",
            Some(&merchant),
            None
        )
        .await
        .0,
        200
    );
    // Benchmarks are aggregates only: no shop id anywhere in the body.
    let (s, b) = app
        .json(
            Method::GET,
            "/v1/industries/apparel/benchmarks",
            Some(&merchant),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let text = b.to_string();
    assert!(!text.contains("theirs") && !text.contains("mine"), "{text}");
    assert_eq!(b["shops"], 2);
}

#[tokio::test]
async fn keys_are_hashed_shown_once_listed_and_revocable() {
    let app = TestApp::spawn().await;
    let (s, created) = app
        .json(
            Method::POST,
            "/v1/keys",
            Some(&app.admin),
            Some(&json!({"role": "merchant", "shops": ["s-1"], "name": "dash"})),
        )
        .await;
    assert_eq!(s, 200, "{created}");
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with(&format!("ssk_{}_", created["id"].as_str().unwrap())));
    assert_eq!(created["shops"], json!(["s-1"]));
    // Stored only as its SHA-256.
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_hash FROM api_keys WHERE id = $1")
        .bind(created["id"].as_str().unwrap())
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, shopscore::auth::hash_key(key));
    let (_, list) = app
        .json(Method::GET, "/v1/keys", Some(&app.admin), None)
        .await;
    assert!(
        !list
            .to_string()
            .contains(key.split('_').next_back().unwrap()),
        "secrets never listed"
    );
    // admin, ops, ingest and this one, in the order they were created, page by page.
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let roles: Vec<&str> = items.iter().map(|k| k["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["admin", "ops", "ingest", "merchant"]);
    assert_eq!(items[3]["name"], "dash");
    assert!(
        items[3]["created_at"].as_str().unwrap().ends_with("+08:00"),
        "{}",
        items[3]
    );
    let (_, first) = app
        .json(Method::GET, "/v1/keys?limit=3", Some(&app.admin), None)
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, rest) = app
        .json(
            Method::GET,
            &format!("/v1/keys?limit=3&cursor={cursor}"),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!(rest["items"], json!([items[3]]));
    assert_eq!(rest["next_cursor"], Value::Null);
    // Use sets last_used_at; revocation locks the key out.
    app.put_shop("s-1", "food").await;
    assert_eq!(
        app.json(Method::GET, "/v1/shops/s-1", Some(key), None)
            .await
            .0,
        200
    );
    let used: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_used_at FROM api_keys WHERE id = $1")
            .bind(created["id"].as_str().unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(used.is_some());
    let (s, revoked) = app
        .json(
            Method::DELETE,
            &format!("/v1/keys/{}", created["id"].as_str().unwrap()),
            Some(&app.admin),
            None,
        )
        .await;
    assert_eq!((s, revoked["revoked_at"].is_string()), (200, true));
    assert_eq!(
        app.json(Method::GET, "/v1/shops/s-1", Some(key), None)
            .await
            .0,
        401
    );
    for bad in [
        json!({"role": "merchant"}),
        json!({"role": "ops", "shops": ["s-1"]}),
        json!({"role": "root"}),
    ] {
        assert_eq!(
            app.json(Method::POST, "/v1/keys", Some(&app.admin), Some(&bad))
                .await
                .0,
            422,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_then_recovers() {
    let http = HttpOpts {
        rate_limit_per_minute: 600,
        rate_limit_burst: Some(3),
        ..HttpOpts::default()
    };
    let app = TestApp::spawn_with(Policy::default_policy(), http).await;
    for _ in 0..3 {
        assert_eq!(
            app.json(Method::GET, "/v1/shops", Some(&app.ops), None)
                .await
                .0,
            200
        );
    }
    let r = app
        .call(Method::GET, "/v1/shops", Some(&app.ops), None)
        .await;
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "rate_limited"
    );
    // Another key has its own budget.
    assert_eq!(
        app.json(Method::GET, "/v1/shops", Some(&app.admin), None)
            .await
            .0,
        200
    );
    // 600/min refills one request every 100 ms.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        app.json(Method::GET, "/v1/shops", Some(&app.ops), None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn cors_allows_only_listed_origins() {
    let http = HttpOpts {
        cors_origins: vec!["https://dash.example".into()],
        ..HttpOpts::default()
    };
    let app = TestApp::spawn_with(Policy::default_policy(), http).await;
    let pre = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, format!("{}/v1/shops", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let ok = pre("https://dash.example").await.unwrap();
    assert_eq!(
        ok.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://dash.example")
    );
    let other = pre("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

/// The real binary: `keys create` on the command line, `serve`, a request with the key,
/// SIGTERM; the logs of the authenticated request never contain the secret.
#[tokio::test]
async fn the_binary_bootstraps_a_key_serves_and_keeps_secrets_out_of_logs() {
    let (pool, url) = crate::helpers::fresh_pool().await;
    pool.close().await;
    let bin = env!("CARGO_BIN_EXE_shopscore");
    let (out, _) = crate::helpers::shopscore(
        &url,
        &["keys", "create", "--role", "admin", "--name", "first"],
        &[],
    );
    let key = out.trim().to_string();
    assert!(key.starts_with("ssk_"));
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = tokio::process::Command::new(bin)
        .args(["serve", "--no-scheduler"])
        .env("DATABASE_URL", &url)
        .env("SHOPSCORE_LISTEN", format!("127.0.0.1:{port}"))
        .env("SHOPSCORE_LOG", "json")
        .env("RUST_LOG", "debug")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server did not start");
    let r = client
        .get(format!("{base}/v1/keys"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = client
        .get(format!("{base}/v1/keys"))
        .bearer_auth(format!("{key}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // SIGTERM: graceful shutdown, exit 0.
    let pid = child.id().unwrap() as i32;
    unsafe_kill(pid);
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success(), "exit: {:?}", out.status);
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(logs.contains("/v1/keys"), "the request was logged: {logs}");
    assert!(logs.contains("request_id"), "with its request id");
    let secret = key.rsplit('_').next().unwrap();
    assert!(!logs.contains(secret), "the secret leaked into the logs");
}

fn unsafe_kill(pid: i32) {
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
}

/// SPEC §5: `GET /v1/me` answers any key with its id, name, role and shops;
/// `GET /v1/policy` shows the active policy to merchants and ops, with the version the
/// scorecards carry.
#[tokio::test]
async fn me_and_policy() {
    let app = TestApp::spawn().await;
    let merchant = app.merchant(&["m-1", "m-2"]).await;
    let (s, me) = app.json(Method::GET, "/v1/me", Some(&merchant), None).await;
    assert_eq!(s, 200, "{me}");
    let id = merchant.split('_').nth(1).unwrap();
    assert_eq!(
        me,
        json!({"id": id, "name": "test merchant", "role": "merchant", "shops": ["m-1", "m-2"]})
    );
    let (s, me) = app
        .json(Method::GET, "/v1/me", Some(&app.ingest), None)
        .await;
    assert_eq!(
        (s, &me["role"], &me["shops"], &me["name"]),
        (200, &json!("ingest"), &json!([]), &Value::Null)
    );
    assert_eq!(app.json(Method::GET, "/v1/me", None, None).await.0, 401);

    let policy = Policy::default_policy();
    for key in [&merchant, &app.ops, &app.admin] {
        let (s, p) = app.json(Method::GET, "/v1/policy", Some(key), None).await;
        assert_eq!(s, 200, "{p}");
        assert_eq!(p["version"], policy.version.as_str());
        assert_eq!(p["policy"]["timezone"], "Asia/Shanghai");
        assert_eq!(p["policy"]["credit"]["floor_cents"], 100);
        assert_eq!(
            p["policy"]["credit"]["levels"][0],
            json!({"min": 4, "tier": "heart", "rank": 1})
        );
    }
    assert_eq!(
        app.json(Method::GET, "/v1/policy", Some(&app.ingest), None)
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn a_merchant_lists_its_own_shops_in_the_shape_ops_see() {
    let app = TestApp::spawn().await;
    for (id, industry) in [("m-a", "apparel"), ("m-b", "food"), ("other", "apparel")] {
        app.put_shop(id, industry).await;
    }
    app.recompute("2026-11-01T00:00:00+08:00").await;
    let merchant = app.merchant(&["m-b", "m-a"]).await;
    let ids = |body: &Value| -> Vec<String> {
        (body["items"].as_array().unwrap().iter())
            .map(|i| i["shop_id"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, mine) = app
        .json(Method::GET, "/v1/shops", Some(&merchant), None)
        .await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(ids(&mine), ["m-a", "m-b"]);
    let (_, all) = app
        .json(Method::GET, "/v1/shops", Some(&app.ops), None)
        .await;
    assert_eq!(ids(&all), ["m-a", "m-b", "other"]);
    // The same item for the same shop, whoever asks.
    assert_eq!(mine["items"][0], all["items"][0]);
    // Filters and pages apply within the merchant's shops.
    let (_, food) = app
        .json(
            Method::GET,
            "/v1/shops?industry=food",
            Some(&merchant),
            None,
        )
        .await;
    assert_eq!(ids(&food), ["m-b"]);
    let (_, first) = app
        .json(Method::GET, "/v1/shops?limit=1", Some(&merchant), None)
        .await;
    assert_eq!(ids(&first), ["m-a"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app
        .json(
            Method::GET,
            &format!("/v1/shops?limit=1&cursor={cursor}"),
            Some(&merchant),
            None,
        )
        .await;
    assert_eq!(ids(&second), ["m-b"]);
    assert!(second["next_cursor"].is_null(), "{second}");
}
