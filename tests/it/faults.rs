//! SPEC §7, durable on acknowledgement, on a throwaway Postgres cluster of the test's
//! own (`initdb` and `pg_ctl` on a temporary directory and port; the shared server is
//! never touched): (a) the service killed with SIGKILL in the middle of a stream and
//! restarted; (b) Postgres stopped in the middle of a stream and started again. In
//! both, producers resend every batch they have no 200 for, and at the end every
//! event is stored exactly once.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};

use crate::helpers::{eventually, free_port, Replica};

/// A Postgres cluster in a temporary directory, removed on drop.
struct Cluster {
    dir: PathBuf,
    port: u16,
}

/// The directory of `initdb` and `pg_ctl`: `pg_config --bindir`, else the newest
/// Debian install.
fn pg_bin(name: &str) -> PathBuf {
    let from_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|d| d.filter_map(|e| e.ok().map(|e| e.path().join("bin"))).max());
    for dir in from_config.into_iter().chain(debian) {
        if dir.join(name).exists() {
            return dir.join(name);
        }
    }
    panic!("{name} not found: install PostgreSQL (the fault tests run a cluster of their own)");
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Postgres refuses to run as root: as root, its tools run as `postgres`.
fn pg_command(name: &str) -> Command {
    let bin = pg_bin(name);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn run(mut c: Command) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    fn start() -> Cluster {
        let cluster = Cluster::empty();
        let mut init = pg_command("initdb");
        init.args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(cluster.data());
        run(init);
        cluster.pg_start();
        cluster
    }

    /// A streaming standby of `primary` (`pg_basebackup -R`: it follows the primary's
    /// WAL from then on), started on a port of its own. `-c fast`: the backup's
    /// checkpoint at once, not spread over minutes.
    fn standby_of(primary: &Cluster) -> Cluster {
        let cluster = Cluster::empty();
        let mut copy = pg_command("pg_basebackup");
        copy.args([
            "-h",
            "127.0.0.1",
            "-p",
            &primary.port.to_string(),
            "-U",
            "postgres",
        ])
        .args(["-c", "fast", "-X", "stream", "-R", "--no-sync", "-D"])
        .arg(cluster.data());
        run(copy);
        cluster.pg_start();
        cluster
    }

    /// A temporary directory for a cluster, owned by `postgres` when we are root.
    fn empty() -> Cluster {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "shopscore-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            run({
                let mut c = Command::new("chown");
                c.arg("postgres:").arg(&dir);
                c
            });
        }
        Cluster {
            dir,
            port: free_port(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut c = pg_command("pg_ctl");
        c.arg("-D").arg(self.data()).args(args);
        c
    }

    fn pg_start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        run(self.pg_ctl(&["-w", "-l", &log.display().to_string(), "-o", &opts, "start"]));
    }

    fn pg_stop(&self) {
        run(self.pg_ctl(&["-w", "-m", "fast", "stop"]));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn cli(url: &str, args: &[&str]) -> String {
    crate::helpers::shopscore(url, args, &[])
        .0
        .trim()
        .to_string()
}

/// Batch `b` of producer `p`: 100 orders of its own, over 5 shops.
fn batch(p: usize, b: usize) -> Vec<Value> {
    (0..100)
        .map(|i| {
            let order = format!("p{p}-b{b}-o{i}");
            json!({"event_id": format!("{order}-c"), "type": "order.created",
                   "shop_id": format!("shop-{p}-{}", i % 5), "occurred_at": "2026-10-05T10:00:00+08:00",
                   "data": {"order_id": order, "buyer_id": format!("buyer-{i}"), "amount_cents": 1000 + i}})
        })
        .collect()
}

/// What the producers saw.
#[derive(Debug, Default)]
struct Seen {
    /// Batches answered 200.
    acked: usize,
    /// Statuses other than 200, and requests that got no answer, with how long each took.
    failures: Vec<(String, Duration)>,
}

const PRODUCERS: usize = 4;
const BATCHES: usize = 25;

/// `PRODUCERS` producers, each sending its `BATCHES` batches in order to `base`, and
/// resending a batch until it gets a 200.
fn produce(base: String, key: String, seen: Arc<Mutex<Seen>>) -> Vec<tokio::task::JoinHandle<()>> {
    (0..PRODUCERS)
        .map(|p| {
            let (base, key, seen) = (base.clone(), key.clone(), seen.clone());
            tokio::spawn(async move {
                let client = Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap();
                for b in 0..BATCHES {
                    let body = Value::Array(batch(p, b));
                    loop {
                        let t = Instant::now();
                        let r = client
                            .post(format!("{base}/v1/events"))
                            .bearer_auth(&key)
                            .json(&body)
                            .send()
                            .await;
                        let what = match r {
                            Ok(r) if r.status() == 200 => {
                                let out: Value = r.json().await.unwrap();
                                let n = out["accepted"].as_u64().unwrap()
                                    + out["duplicates"].as_u64().unwrap();
                                assert_eq!(n, 100, "{out}");
                                seen.lock().unwrap().acked += 1;
                                break;
                            }
                            Ok(r) => r.status().as_u16().to_string(),
                            Err(_) => "no answer".to_string(),
                        };
                        seen.lock().unwrap().failures.push((what, t.elapsed()));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect()
}

async fn stored(url: &str) -> (i64, i64) {
    let mut c = PgConnection::connect(url).await.unwrap();
    sqlx::query_as("SELECT count(*), count(DISTINCT event_id) FROM events")
        .fetch_one(&mut c)
        .await
        .unwrap()
}

async fn acked(seen: &Arc<Mutex<Seen>>) -> usize {
    seen.lock().unwrap().acked
}

/// (a) SIGKILL midway, restart on the same address: every event stored exactly once.
#[tokio::test]
async fn sigkill_midway_loses_no_acknowledged_event() {
    let pg = Cluster::start();
    let url = pg.url("shopscore");
    let key = cli(&url, &["keys", "create", "--role", "ingest"]);
    let port = free_port();
    let server = Replica::start_on(&url, "a", 3600, port).await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let producers = produce(server.base.clone(), key, seen.clone());
    let half = PRODUCERS * BATCHES / 3;
    eventually(60, "a third of the batches acknowledged", || async {
        acked(&seen).await >= half
    })
    .await;
    server.signal("KILL");
    let acked_at_kill = acked(&seen).await;
    let (before_restart, _) = stored(&url).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _restarted = Replica::start_on(&url, "a", 3600, port).await;
    for p in producers {
        p.await.unwrap();
    }
    let (rows, distinct) = stored(&url).await;
    let seen = seen.lock().unwrap();
    println!(
        "SIGKILL: {acked_at_kill} batches acknowledged at the kill ({before_restart} events stored), \
         {} after; {} resends; {rows} events stored, {distinct} distinct, of {}",
        seen.acked,
        seen.failures.len(),
        PRODUCERS * BATCHES * 100
    );
    assert_eq!(seen.acked, PRODUCERS * BATCHES);
    assert!(
        before_restart >= (acked_at_kill * 100) as i64,
        "acknowledged events survived the kill"
    );
    assert_eq!((rows, distinct), ((PRODUCERS * BATCHES * 100) as i64, rows));
    assert!(
        !seen.failures.is_empty(),
        "the kill interrupted some request"
    );
    assert!(
        seen.failures
            .iter()
            .all(|(w, _)| w == "no answer" || w == "503"),
        "{:?}",
        seen.failures
    );
}

/// (b) Postgres stopped midway: requests get 503 quickly (never a hang, never another
/// 5xx), `/readyz` is 503; when Postgres returns, the same process serves again and
/// nothing acknowledged is lost.
#[tokio::test]
async fn postgres_down_midway_is_503_and_heals_without_a_restart() {
    let pg = Cluster::start();
    let url = pg.url("shopscore");
    let key = cli(&url, &["keys", "create", "--role", "ingest"]);
    let mut server = Replica::start(&url, "a", 1).await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let producers = produce(server.base.clone(), key, seen.clone());
    let third = PRODUCERS * BATCHES / 3;
    eventually(60, "a third of the batches acknowledged", || async {
        acked(&seen).await >= third
    })
    .await;
    let acked_at_stop = acked(&seen).await;
    pg.pg_stop();
    let client = Client::new();
    let t = Instant::now();
    let ready = client
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let ready_secs = t.elapsed().as_secs_f64();
    eventually(15, "producers see the outage", || async {
        !seen.lock().unwrap().failures.is_empty()
    })
    .await;
    let failures_while_down = seen.lock().unwrap().failures.len();
    pg.pg_start();
    eventually(30, "/readyz is 200 again", || async {
        client
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    for p in producers {
        p.await.unwrap();
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the same process, never restarted"
    );
    let (rows, distinct) = stored(&url).await;
    let seen = seen.lock().unwrap();
    let slowest = seen.failures.iter().map(|f| f.1).max().unwrap_or_default();
    println!(
        "Postgres down: {acked_at_stop} batches acknowledged at the stop; /readyz 503 in {ready_secs:.2} s; \
         {failures_while_down} failed attempts while down (slowest {:.2} s), {} in all; \
         {rows} events stored, {distinct} distinct, of {}",
        slowest.as_secs_f64(),
        seen.failures.len(),
        PRODUCERS * BATCHES * 100
    );
    assert!(failures_while_down > 0, "the outage was seen");
    assert!(
        seen.failures.iter().all(|(w, _)| w == "503"),
        "only 503s: {:?}",
        seen.failures
    );
    assert!(
        slowest < Duration::from_secs(8),
        "a request hung for {slowest:?}"
    );
    assert!(ready_secs < 3.0);
    assert_eq!(seen.acked, PRODUCERS * BATCHES);
    assert_eq!((rows, distinct), ((PRODUCERS * BATCHES * 100) as i64, rows));
}

/// Issue 27: `DATABASE_READ_URL` names a real streaming standby of the primary. Reads
/// go there (and go on while the primary is stopped, writes getting 503 meanwhile),
/// the readiness check reports both, the lag is a metric, and writes resume when the
/// primary is back, without a restart.
#[tokio::test]
async fn a_streaming_replica_serves_reads_while_the_primary_is_down() {
    let primary = Cluster::start();
    let url = primary.url("shopscore");
    cli(&url, &["migrate"]);
    let ingest = cli(&url, &["keys", "create", "--role", "ingest"]);
    let ops = cli(&url, &["keys", "create", "--role", "ops"]);
    // Used only once the primary is down: looked up on the replica.
    let late = cli(&url, &["keys", "create", "--role", "ops", "--name", "late"]);
    let standby = Cluster::standby_of(&primary);
    let read_url = standby.url("shopscore");
    let server = Replica::start_with(
        &url,
        "with-replica",
        3600,
        free_port(),
        &[("DATABASE_READ_URL", read_url.as_str())],
    )
    .await;
    let client = Client::new();
    let get = |path: &str, key: &str| {
        client
            .get(format!("{}{path}", server.base))
            .bearer_auth(key)
            .send()
    };
    let ready = || async {
        let answer = client.get(format!("{}/readyz", server.base)).send().await;
        answer.unwrap().json::<Value>().await.unwrap_or_default()
    };
    let post = |path: &str, key: &str, body: Value| {
        client
            .post(format!("{}{path}", server.base))
            .bearer_auth(key)
            .json(&body)
            .send()
    };
    let mut events = Vec::new();
    for i in 0..3 {
        events.extend(crate::helpers::reviewed_order(
            "s-1",
            &format!("o{i}"),
            "2026-11-20T10:00:00+08:00",
        ));
    }
    let r = post("/v1/events", &ingest, Value::Array(events))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = post("/v1/recompute", &ops, json!({})).await.unwrap();
    assert_eq!(r.status(), 200);
    // The card reaches the replica, and is read from it.
    eventually(15, "the replica serves the new card", || async {
        get("/v1/shops/s-1/scorecard", &ops)
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    let card: Value = get("/v1/shops/s-1/scorecard", &ops)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(card["credit"]["reviews_180d"]["positive"], 3);
    let answer = ready().await;
    assert_eq!(
        (&answer["status"], &answer["primary"], &answer["read_pool"]),
        (&json!("ready"), &json!("ok"), &json!("ok"))
    );
    assert!(answer["replica_lag_seconds"].as_f64().is_some(), "{answer}");
    eventually(10, "the lag is a metric", || async {
        let text = client
            .get(format!("{}/metrics", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .any(|l| l.starts_with("shopscore_read_replica_lag_seconds ") && !l.ends_with(" -1"))
    })
    .await;

    primary.pg_stop();
    eventually(15, "readiness says read-only", || async {
        let body = ready().await;
        body["status"] == "read_only" && body["primary"] == "unavailable"
    })
    .await;
    // Reads go on: the same card, history, ranking, tiers, with a key cached and with
    // one never used before (looked up on the replica).
    for key in [&ops, &late] {
        let r = get("/v1/shops/s-1/scorecard", key).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap(), card);
        for path in [
            "/v1/shops/s-1/history",
            "/v1/shops?sort=service_score",
            "/v1/cs-tiers",
            "/v1/jobs",
        ] {
            let r = get(path, key).await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
        }
    }
    // Writes cannot: 503, and the client is told to retry.
    let more = crate::helpers::reviewed_order("s-1", "o9", "2026-11-21T10:00:00+08:00");
    let r = post("/v1/events", &ingest, Value::Array(more.clone()))
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));

    primary.pg_start();
    eventually(30, "writes are taken again", || async {
        post("/v1/events", &ingest, Value::Array(more.clone()))
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert_eq!(ready().await["status"], "ready");
    drop(standby);
}

/// Issue 25: Postgres stopped while a webhook attempt is under way. The receiver gets
/// the message but the answer cannot be recorded, so the message stays claimed; once
/// Postgres is back and the attempt's lease has run out, it is sent again (the same
/// `webhook-id`) and recorded delivered: at least once, nothing lost.
#[tokio::test]
async fn postgres_stopped_mid_delivery_loses_no_webhook() {
    use shopscore::clock::FakeClock;
    use shopscore::webhook::{endpoints, outbox, worker};

    let pg = Cluster::start();
    let url = pg.url("shopscore");
    let pool = shopscore::db::connect_and_migrate_with(&url, 4)
        .await
        .unwrap();
    let receiver = crate::deliveries::Receiver::start(vec![(200, Duration::from_secs(3))]).await;
    let now = chrono::Utc::now();
    let tz = chrono_tz::Asia::Shanghai;
    let new = endpoints::NewEndpoint {
        url: &receiver.url,
        event_types: &[],
        shop_ids: &[],
        description: None,
    };
    let (ep, _) = endpoints::create(&pool, new, now, tz).await.unwrap();
    let event = outbox::endpoint_disabled("ep_other", "gone", now, tz);
    let mut conn = pool.acquire().await.unwrap();
    outbox::insert(&mut conn, std::slice::from_ref(&event), None, None, now)
        .await
        .unwrap();
    drop(conn);
    let clock = FakeClock::at(now);
    let opts = worker::WorkerOpts {
        timeout: Duration::from_secs(10),
        disable_after: Duration::from_secs(5 * 24 * 3600),
        tz,
        refuse_private: false,
    };
    let w = Arc::new(worker::Worker::new(pool.clone(), clock.clone(), opts));
    let first = tokio::spawn({
        let w = w.clone();
        async move { w.pass().await }
    });
    eventually(10, "the first attempt arrives", || async {
        !receiver.received().is_empty()
    })
    .await;
    pg.pg_stop();
    assert!(
        first.await.unwrap().is_err(),
        "the answer could not be recorded"
    );
    pg.pg_start();
    // Before the lease (2 × 10 s) runs out, nobody sends it again.
    clock.set(now + chrono::Duration::seconds(19));
    let mut sent = None;
    for _ in 0..50 {
        match w.pass().await {
            Ok(n) => {
                sent = Some(n);
                break;
            }
            // The pool's connections died with the server: it reconnects.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert_eq!(sent, Some(0));
    clock.set(now + chrono::Duration::seconds(21));
    assert_eq!(w.pass().await.unwrap(), 1);
    let (status, attempts): (String, i32) =
        sqlx::query_as("SELECT status, attempts FROM webhook_messages WHERE endpoint_id = $1")
            .bind(&ep.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), attempts), ("delivered", 2));
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r.id == event.id));
}
