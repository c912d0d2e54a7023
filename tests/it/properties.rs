//! Property tests of the whole pipeline (ingest, projections, metrics, scoring) over
//! generated marketplaces: resending events, shuffling them, and adding events after
//! `as_of` change no scorecard at `as_of`; every score stays within its range.

use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::Value;

use crate::helpers::TestApp;

async fn post_all(app: &TestApp, events: &[Value]) {
    for chunk in events.chunks(1500) {
        let (s, b) = app.post_events(&Value::Array(chunk.to_vec())).await;
        assert_eq!(s, 200, "{b}");
    }
}

async fn cards(app: &TestApp, as_of: &str) -> Vec<Value> {
    let shops: Vec<String> = sqlx::query_scalar("SELECT shop_id FROM shops ORDER BY shop_id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let mut out = Vec::new();
    for shop in shops {
        let path = format!(
            "/v1/shops/{shop}/scorecard?as_of={}",
            as_of.replace('+', "%2B")
        );
        let (s, mut c) = app
            .json(reqwest::Method::GET, &path, Some(&app.ops), None)
            .await;
        assert_eq!(s, 200, "{c}");
        c.as_object_mut().unwrap().remove("computed_at");
        out.push(c);
    }
    out
}

fn within(v: &Value, lo: f64, hi: f64) -> bool {
    v.is_null() || v.as_f64().is_some_and(|x| (lo..=hi).contains(&x))
}

fn check_ranges(c: &Value) -> Result<(), TestCaseError> {
    let id = &c["shop_id"];
    prop_assert!(
        within(&c["service_score"]["score"], 0.0, 5.0),
        "{id}: service score"
    );
    for (name, ind) in c["service_score"]["indicators"].as_object().unwrap() {
        prop_assert!(within(&ind["score"], 0.0, 5.0), "{id}: indicator {name}");
    }
    for d in ["description", "service", "logistics"] {
        prop_assert!(within(&c["dsr"][d]["score"], 1.0, 5.0), "{id}: dsr {d}");
    }
    prop_assert!(
        within(&c["credit"]["positive_rate"], 0.0, 1.0),
        "{id}: positive rate"
    );
    prop_assert!(within(&c["star_level"]["stars"], 0.0, 5.0), "{id}: stars");
    prop_assert!(
        within(&c["service_score"]["beats_pct"], 0.0, 100.0),
        "{id}: beats_pct"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn resends_shuffles_and_later_events_change_no_card(seed in 0u64..1000, resend_every in 2usize..6, order in any::<u64>()) {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let events = shopscore::demo::generate(4, 45, 3, seed, chrono::Utc::now());
            let as_of_t = chrono::Utc::now() - chrono::Duration::days(6);
            let as_of = as_of_t.to_rfc3339();
            let at = |e: &Value| chrono::DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap()).unwrap();
            let before: Vec<Value> = events.iter().filter(|e| at(e) <= as_of_t).cloned().collect();
            prop_assume!(before.len() < events.len());

            // B: every event (some after as_of), shuffled, with every n-th resent.
            let mut noisy = events.clone();
            noisy.extend(events.iter().step_by(resend_every).cloned());
            noisy.shuffle(&mut rand::rngs::StdRng::seed_from_u64(order));

            let (a, b) = (TestApp::spawn().await, TestApp::spawn().await);
            post_all(&a, &before).await;
            post_all(&b, &noisy).await;
            a.recompute(&as_of).await;
            b.recompute(&as_of).await;
            let (ca, cb) = (cards(&a, &as_of).await, cards(&b, &as_of).await);
            prop_assert_eq!(ca.len(), 4);
            for (x, y) in ca.iter().zip(&cb) {
                prop_assert_eq!(x, y);
                check_ranges(x)?;
            }
            Ok(())
        })?;
    }
}
