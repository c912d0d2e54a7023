//! The scorecards of a seeded demo marketplace, byte for byte (issue 11): a refactoring
//! that changes no rule must leave every stored scorecard body as it was.
//!
//! The expected bodies are `tests/fixtures/demo-scorecards.ndjson`, one per shop in
//! shop order. When a change is *meant* to alter scorecards (a new field, a rule fix, an
//! edit of the default policy, whose hash every card carries), regenerate the file with
//! `SHOPSCORE_UPDATE_SNAPSHOTS=1 cargo test --test it snapshot` and review its diff.

use crate::helpers::{seeded_demo, TestApp};

#[tokio::test]
async fn the_demo_scorecards_are_byte_for_byte_the_recorded_ones() {
    let app = TestApp::spawn().await;
    // 150 days to Nov 20: the October holiday campaign, cs_daily past its exemption
    // (June to August) for two months, five-star months, and October's tiers.
    seeded_demo(&app, 12, 150).await;
    let bodies: Vec<String> = sqlx::query_scalar(
        "SELECT body::text FROM scorecards ORDER BY shop_id, as_of, computed_at",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(bodies.len(), 12, "one scorecard per shop");
    let got = bodies.join("\n") + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/demo-scorecards.ndjson");
    if std::env::var_os("SHOPSCORE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).expect("the recorded scorecards");
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(g, w)| g != w)
            .unwrap_or(0);
        let (g, w) = (got.lines().nth(first), want.lines().nth(first));
        let at = g
            .zip(w)
            .and_then(|(g, w)| g.bytes().zip(w.bytes()).position(|(a, b)| a != b))
            .unwrap_or(0);
        let around = |s: Option<&str>| {
            s.map(|s| {
                let b = &s.as_bytes()[at.saturating_sub(80)..(at + 80).min(s.len())];
                String::from_utf8_lossy(b).into_owned()
            })
        };
        panic!(
            "scorecard {first} differs at byte {at}:\n got: …{}…\nwant: …{}…\n(if meant: SHOPSCORE_UPDATE_SNAPSHOTS=1)",
            around(g).unwrap_or_default(),
            around(w).unwrap_or_default()
        );
    }
}
