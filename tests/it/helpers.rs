use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use reqwest::{Client, Method, Response};
use serde_json::Value;
use shopscore::app::AppState;
use shopscore::auth::{create_key, Role};
use shopscore::config::{HttpOpts, DEFAULT_DATABASE_URL};
use shopscore::policy::Policy;
use shopscore::router::router;
use sqlx::{Connection, PgPool};
use tokio::sync::OnceCell;

pub fn base_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_string())
}

fn server_url(db: &str) -> String {
    let url = base_url();
    match url.rfind('/') {
        Some(i) if url[..i].contains("//") && !url[i..].starts_with("//") => {
            format!("{}/{db}", &url[..i])
        }
        _ => format!("{url}/{db}"),
    }
}

static CLEANED: OnceCell<()> = OnceCell::const_new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Drops the databases earlier test processes left behind.
async fn drop_stale_databases() {
    let Ok(mut c) = sqlx::PgConnection::connect(&server_url("postgres")).await else {
        return;
    };
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'shopscore_test_%'")
            .fetch_all(&mut c)
            .await
            .unwrap_or_default();
    let me = std::process::id().to_string();
    for name in names {
        let pid = name
            .trim_start_matches("shopscore_test_")
            .split('_')
            .next()
            .unwrap_or("");
        if pid != me && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut c)
                .await;
        }
    }
}

/// A fresh database for one test.
pub async fn fresh_pool() -> (PgPool, String) {
    fresh_pool_of(4).await
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// This process's migrated template database, made once: each test's database is a
/// copy of it (`CREATE DATABASE … TEMPLATE`), cheaper than migrating every one.
async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            CLEANED.get_or_init(drop_stale_databases).await;
            let name = format!("shopscore_test_{}_template", std::process::id());
            let pool = shopscore::db::connect_and_migrate_with(&server_url(&name), 1)
                .await
                .expect("template database");
            // A template cannot be copied while anyone is connected to it.
            pool.close().await;
            name
        })
        .await
}

/// A fresh database, with a pool of `connections`.
pub async fn fresh_pool_of(connections: u32) -> (PgPool, String) {
    let template = template().await;
    let name = format!(
        "shopscore_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = sqlx::PgConnection::connect(&server_url("postgres"))
        .await
        .expect("the test server");
    sqlx::query(&format!(
        "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
    ))
    .execute(&mut admin)
    .await
    .expect("a copy of the template");
    admin.close().await.ok();
    let url = server_url(&name);
    // Migrating finds every migration applied; it stays so that a test can never run
    // on a schema older than the code.
    let pool = shopscore::db::connect_and_migrate_with(&url, connections)
        .await
        .expect("test database");
    (pool, url)
}

/// Another pool on an existing test database (as a second replica has).
pub async fn pool_of(url: &str, connections: u32) -> PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(connections)
        .connect(url)
        .await
        .expect("test database")
}

pub struct TestApp {
    pub base: String,
    pub pool: PgPool,
    pub db_url: String,
    pub client: Client,
    pub admin: String,
    pub ops: String,
    pub ingest: String,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Policy::default_policy(), HttpOpts::default()).await
    }

    pub async fn spawn_with(policy: Policy, http: HttpOpts) -> TestApp {
        Self::spawn_full(policy, http, 4).await
    }

    /// A server whose pool has `connections` (as many transactions at once).
    pub async fn spawn_full(policy: Policy, http: HttpOpts, connections: u32) -> TestApp {
        Self::spawn_clocked(policy, http, connections, shopscore::clock::system()).await
    }

    /// A server whose "now" is `clock`'s.
    pub async fn spawn_clocked(
        policy: Policy,
        http: HttpOpts,
        connections: u32,
        clock: shopscore::clock::SharedClock,
    ) -> TestApp {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn,shopscore=info")
            .try_init();
        let (pool, db_url) = fresh_pool_of(connections).await;
        let state = AppState::new(pool.clone(), Arc::new(policy), &http).with_clock(clock);
        tokio::spawn(shopscore::cache::listen(
            pool.clone(),
            state.cache_subscribers(),
            tokio_util::sync::CancellationToken::new(),
        ));
        let app = router(state, &http);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let key = |role| {
            let pool = pool.clone();
            async move { create_key(&pool, role, &[], None).await.unwrap().1 }
        };
        let (admin, ops, ingest) = (
            key(Role::Admin).await,
            key(Role::Ops).await,
            key(Role::Ingest).await,
        );
        TestApp {
            base,
            pool,
            db_url,
            client: Client::new(),
            admin,
            ops,
            ingest,
        }
    }

    pub async fn merchant(&self, shops: &[&str]) -> String {
        let shops: Vec<String> = shops.iter().map(|s| s.to_string()).collect();
        create_key(&self.pool, Role::Merchant, &shops, Some("test merchant"))
            .await
            .unwrap()
            .1
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.unwrap()
    }

    /// Sends and returns (status, JSON body or Null).
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let r = self.call(method, path, key, body).await;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post_events(&self, events: &Value) -> (u16, Value) {
        self.json(Method::POST, "/v1/events", Some(&self.ingest), Some(events))
            .await
    }

    /// Posts `events` as one JSON array and asserts they were stored.
    pub async fn post_ok(&self, events: Vec<Value>) {
        let (s, b) = self.post_events(&Value::Array(events)).await;
        assert_eq!(s, 200, "{b}");
    }

    pub async fn put_shop(&self, shop: &str, industry: &str) {
        let (s, b) = self
            .json(
                Method::PUT,
                &format!("/v1/shops/{shop}"),
                Some(&self.ingest),
                Some(&serde_json::json!({"industry": industry})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }

    pub async fn recompute(&self, as_of: &str) -> Value {
        let (s, b) = self
            .json(
                Method::POST,
                "/v1/recompute",
                Some(&self.ops),
                Some(&serde_json::json!({"as_of": as_of})),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b
    }

    pub async fn scorecard(&self, shop: &str) -> Value {
        let (s, b) = self
            .json(
                Method::GET,
                &format!("/v1/shops/{shop}/scorecard"),
                Some(&self.ops),
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
        b
    }

    /// Row counts of every table ingest writes.
    pub async fn table_counts(&self) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        for t in [
            "events",
            "shops",
            "shop_first_events",
            "dirty_marks",
            "orders",
            "order_events",
            "orders_to_fold",
            "reviews",
            "refunds",
            "chat_messages",
            "conversations",
            "conversations_to_fold",
            "chat_ratings",
            "agent_status",
            "complaints",
            "complaint_followups",
            "complaint_verifications",
            "integrity_flags",
        ] {
            let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t}"))
                .fetch_one(&self.pool)
                .await
                .unwrap();
            out.push((t.to_string(), n));
        }
        out
    }
}

/// An event envelope.
pub fn ev(id: &str, kind: &str, shop: &str, at: &str, data: Value) -> Value {
    serde_json::json!({"event_id": id, "type": kind, "shop_id": shop, "occurred_at": at, "data": data})
}

/// One shop's events, one line each: `a.created("o1", "b1", 5000, T)` for
/// `ev("o1-c", "order.created", "A", T, json!({…}))`. Order steps get the ids
/// `{order}-c`, `-p`, `-s`, `-d`; other events take theirs.
pub struct ShopEvents<'a>(pub &'a str);

impl ShopEvents<'_> {
    pub fn ev(&self, id: &str, kind: &str, at: &str, data: Value) -> Value {
        ev(id, kind, self.0, at, data)
    }
    pub fn created(&self, order: &str, buyer: &str, amount_cents: i64, at: &str) -> Value {
        let data =
            serde_json::json!({"order_id": order, "buyer_id": buyer, "amount_cents": amount_cents});
        self.ev(&format!("{order}-c"), "order.created", at, data)
    }
    fn step(&self, order: &str, suffix: &str, kind: &str, at: &str) -> Value {
        let data = serde_json::json!({"order_id": order});
        self.ev(&format!("{order}-{suffix}"), kind, at, data)
    }
    pub fn paid(&self, order: &str, at: &str) -> Value {
        self.step(order, "p", "order.paid", at)
    }
    pub fn shipped(&self, order: &str, at: &str) -> Value {
        self.step(order, "s", "order.shipped", at)
    }
    pub fn delivered(&self, order: &str, at: &str) -> Value {
        self.step(order, "d", "order.delivered", at)
    }
    /// A chat message; `agent_id` is set for agents.
    pub fn message(&self, id: &str, conversation: &str, sender: &str, at: &str) -> Value {
        let mut data = serde_json::json!({"conversation_id": conversation, "sender": sender});
        if sender == "agent" {
            data["agent_id"] = "a1".into();
        }
        self.ev(id, "chat.message", at, data)
    }
}

/// Compares `actual` with `expected` field by field: numbers within 1e-9, nulls exact,
/// and every key of `expected` present. Returns the differing paths.
pub fn diff(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            if (e - a).abs() > 1e-9 {
                out.push(format!("{path}: expected {e}, got {a}"));
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => diff(&format!("{path}.{k}"), ev, av, out),
                    None => out.push(format!("{path}.{k}: missing")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!(
                    "{path}: expected {} items, got {}: {a:?}",
                    e.len(),
                    a.len()
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                diff(&format!("{path}[{i}]"), ev, av, out);
            }
        }
        (e, a) if e == a => {}
        (e, a) => out.push(format!("{path}: expected {e}, got {a}")),
    }
}

/// A real `shopscore serve` process on a database of its own port.
pub struct Replica {
    pub base: String,
    pub child: tokio::process::Child,
}

impl Replica {
    /// Starts `serve` as replica `name` with the scheduler ticking every `interval`
    /// seconds, and waits until it answers.
    pub async fn start(db_url: &str, name: &str, interval: u64) -> Replica {
        Replica::start_on(db_url, name, interval, free_port()).await
    }

    /// The same on a given port (a restarted replica keeps its address).
    pub async fn start_on(db_url: &str, name: &str, interval: u64, port: u16) -> Replica {
        Replica::start_with(db_url, name, interval, port, &[]).await
    }

    /// The same with more environment.
    pub async fn start_with(
        db_url: &str,
        name: &str,
        interval: u64,
        port: u16,
        env: &[(&str, &str)],
    ) -> Replica {
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shopscore"))
            .arg("serve")
            .envs(env.iter().copied())
            .env("DATABASE_URL", db_url)
            .env("SHOPSCORE_LISTEN", format!("127.0.0.1:{port}"))
            .env("SHOPSCORE_REPLICA", name)
            .env("SHOPSCORE_RECOMPUTE_INTERVAL", interval.to_string())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let client = Client::new();
        for _ in 0..200 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                return Replica { base, child };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("replica {name} did not start");
    }

    /// Sends `signal` (`KILL`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("still running");
        let ok = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{signal} {pid}");
    }
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Polls `check` every 50 ms until it holds, or panics after `secs` seconds.
pub async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("not within {secs} s: {what}");
}

/// Backends of this pool's database waiting for an advisory lock.
pub async fn advisory_waiters(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Backends of this pool's database waiting for any lock (advisory, row, …).
pub async fn lock_waiters(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Holds the recompute lock in an open transaction: every recompute waits for it
/// before it reads any shop's data (its storing transaction takes the lock first) until
/// the returned connection commits.
pub async fn hold_recompute_lock(pool: &PgPool) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(shopscore::db::locks::RECOMPUTE)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

/// Holds `shop`'s row of `shop_figures` in an open transaction: a recompute reads the
/// shop's data, then waits to write its figures until the returned connection commits.
pub async fn hold_figures_row(
    pool: &PgPool,
    shop: &str,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap();
    let held: Option<String> =
        sqlx::query_scalar("SELECT shop_id FROM shop_figures WHERE shop_id = $1 FOR UPDATE")
            .bind(shop)
            .fetch_optional(&mut *tx)
            .await
            .unwrap();
    assert_eq!(held.as_deref(), Some(shop), "{shop} has figures to hold");
    tx
}

/// An order and its positive review at `at`, by a buyer of its own (so every such
/// review counts: `credit.reviews_180d.positive` grows by one).
pub fn reviewed_order(shop: &str, id: &str, at: &str) -> Vec<Value> {
    let data =
        serde_json::json!({"order_id": id, "buyer_id": format!("b-{id}"), "amount_cents": 5000});
    let mut review = data.clone();
    review["rating"] = "positive".into();
    review.as_object_mut().unwrap().remove("amount_cents");
    vec![
        ev(&format!("{id}-c"), "order.created", shop, at, data),
        ev(&format!("{id}-r"), "order.reviewed", shop, at, review),
    ]
}

/// Runs the real binary with `args` on the database `db_url` (and extra environment),
/// asserts that it succeeded, and returns what it printed on stdout and stderr.
pub fn shopscore(db_url: &str, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shopscore"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "shopscore {args:?}: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// A row of `job_runs`, as the scheduler tests read it.
#[derive(Debug, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    pub kind: String,
    pub slot: Option<String>,
    pub replica: String,
    pub outcome: String,
    pub shops_scored: Option<i32>,
}

/// Every run on record, oldest first.
pub async fn job_runs(pool: &PgPool) -> Vec<RunRow> {
    sqlx::query_as(
        "SELECT id, kind, slot, replica, outcome, shops_scored FROM job_runs ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The seeded demo marketplace (seed 7) of `shops` shops over `days` days to 20 November
/// 2026 (local), scored as `shopscore demo` scores it.
pub async fn seeded_demo(app: &TestApp, shops: usize, days: i64) {
    let end: chrono::DateTime<chrono::Utc> = "2026-11-19T16:00:00Z".parse().unwrap();
    let now: chrono::DateTime<chrono::Utc> = "2026-11-19T16:00:05Z".parse().unwrap();
    let opts = shopscore::demo::DemoOptions {
        shops,
        days,
        seed: 7,
        end,
    };
    let policy = Policy::default_policy();
    shopscore::demo::run(&app.pool, &policy, &opts, now, None)
        .await
        .unwrap();
}
