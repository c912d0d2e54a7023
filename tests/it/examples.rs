//! The worked examples of shared/examples (copied into tests/fixtures/examples): post
//! the events over HTTP, recompute at the example's `as_of`, and compare every field
//! of every expected scorecard section.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{diff, TestApp};

async fn run_example(path: &std::path::Path) -> Vec<String> {
    let ex: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let app = TestApp::spawn().await;
    for (shop, industry) in ex["shops"].as_object().unwrap() {
        app.put_shop(shop, industry.as_str().unwrap()).await;
    }
    let (s, b) = app.post_events(&ex["events"]).await;
    assert_eq!(s, 200, "{}: {b}", path.display());
    let as_of = ex["as_of"].as_str().unwrap();
    app.recompute(as_of).await;
    let mut problems = Vec::new();
    for (shop, expected) in ex["expected"].as_object().unwrap() {
        let q = format!("/v1/shops/{shop}/scorecard?as_of={}", urlencode(as_of));
        let (s, card) = app.json(Method::GET, &q, Some(&app.ops), None).await;
        assert_eq!(s, 200, "{shop}: {card}");
        diff(
            &format!("{}:{shop}", path.file_name().unwrap().to_string_lossy()),
            expected,
            &card,
            &mut problems,
        );
    }
    app.pool.close().await;
    problems
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn worked_examples_match_their_expected_scorecards() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 39, "the fixtures are missing");
    let mut problems = Vec::new();
    for f in &files {
        problems.extend(run_example(f).await);
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
