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

/// One test per worked example, so that each failure is named and they run in
/// parallel; `every_fixture_has_a_test` keeps the list and the folder in step.
macro_rules! examples {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                check(concat!($file, ".json")).await;
            }
        )*
        const FILES: &[&str] = &[$(concat!($file, ".json")),*];
    };
}

examples! {
    ex01_buyer_of_the_review_and_run_dated_by_first_order => "01-buyer_of_the_review_and_run_dated_by_first_order",
    ex02_floor_and_levels_end_to_end => "02-floor_and_levels_end_to_end",
    ex03_monthly_cap => "03-monthly_cap",
    ex04_only_scoring_orders_form_runs => "04-only_scoring_orders_form_runs",
    ex05_same_item_within_14_days => "05-same_item_within_14_days",
    ex06_first_dsr_per_order_and_three_per_buyer_month => "06-first_dsr_per_order_and_three_per_buyer_month",
    ex07_beats_pct => "07-beats_pct",
    ex08_null_metric_is_left_out_and_indicators_reweighted => "08-null_metric_is_left_out_and_indicators_reweighted",
    ex09_window_edges => "09-window_edges",
    ex10_cs_daily_exemption_and_escalation_1 => "10-cs_daily_exemption_and_escalation-1",
    ex11_cs_daily_exemption_and_escalation_2 => "11-cs_daily_exemption_and_escalation-2",
    ex12_cs_daily_exemption_and_escalation_3 => "12-cs_daily_exemption_and_escalation-3",
    ex13_cs_daily_exemption_and_escalation_4 => "13-cs_daily_exemption_and_escalation-4",
    ex14_cs_daily_exemption_and_escalation_5 => "14-cs_daily_exemption_and_escalation-5",
    ex15_cs_daily_exemption_and_escalation_6 => "15-cs_daily_exemption_and_escalation-6",
    ex16_holiday_penalty_with_cap => "16-holiday_penalty_with_cap",
    ex17_online_hours_and_offline_messages_1 => "17-online_hours_and_offline_messages-1",
    ex18_online_hours_and_offline_messages_2 => "18-online_hours_and_offline_messages-2",
    ex19_overlapping_agents_and_as_of_cut => "19-overlapping_agents_and_as_of_cut",
    ex20_five_star_months_are_closed_periods => "20-five_star_months_are_closed_periods",
    ex21_holiday_in_progress_then_settled_1 => "21-holiday_in_progress_then_settled-1",
    ex22_holiday_in_progress_then_settled_2 => "22-holiday_in_progress_then_settled-2",
    ex23_holiday_in_progress_then_settled_3 => "23-holiday_in_progress_then_settled-3",
    ex24_holiday_in_progress_then_settled_4 => "24-holiday_in_progress_then_settled-4",
    ex25_holiday_in_progress_then_settled_5 => "25-holiday_in_progress_then_settled-5",
    ex26_holiday_in_progress_then_settled_6 => "26-holiday_in_progress_then_settled-6",
    ex27_holiday_in_progress_then_settled_7 => "27-holiday_in_progress_then_settled-7",
    ex28_holiday_in_progress_then_settled_8 => "28-holiday_in_progress_then_settled-8",
    ex29_holiday_pass_and_null_programme_1 => "29-holiday_pass_and_null_programme-1",
    ex30_holiday_pass_and_null_programme_2 => "30-holiday_pass_and_null_programme-2",
    ex31_settled_month_ignores_later_events_1 => "31-settled_month_ignores_later_events-1",
    ex32_settled_month_ignores_later_events_2 => "32-settled_month_ignores_later_events-2",
    ex33_settled_month_ignores_later_events_3 => "33-settled_month_ignores_later_events-3",
    ex34_default_exclusions_integrity_flag_and_null_tier_1 => "34-default_exclusions_integrity_flag_and_null_tier-1",
    ex35_default_exclusions_integrity_flag_and_null_tier_2 => "35-default_exclusions_integrity_flag_and_null_tier-2",
    ex36_default_exclusions_integrity_flag_and_null_tier_3 => "36-default_exclusions_integrity_flag_and_null_tier-3",
    ex37_tier_month_is_a_closed_period => "37-tier_month_is_a_closed_period",
    ex40_earliest_wins_and_latest_rating_1 => "40-earliest_wins_and_latest_rating-1",
    ex41_earliest_wins_and_latest_rating_2 => "41-earliest_wins_and_latest_rating-2",
}

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/examples")
}

async fn check(file: &str) {
    let problems = run_example(&fixtures().join(file)).await;
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_fixture_has_a_test() {
    let mut files: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(files, FILES, "add the new example to the examples! list");
    assert_eq!(files.len(), 39);
}
