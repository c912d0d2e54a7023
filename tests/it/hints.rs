//! SPEC §4.7 hints written for people, over HTTP, for scoring.rs's hand-worked shop A,
//! in both shipped languages.

use serde_json::Value;
use shopscore::config::HttpOpts;
use shopscore::policy::{Policy, DEFAULT_POLICY};

use crate::helpers::TestApp;
use crate::scoring::{shop_a, AS_OF};

async fn hints_of_a(policy: Policy) -> Vec<Value> {
    let app = TestApp::spawn_with(policy, HttpOpts::default()).await;
    app.put_shop("A", "toys").await;
    app.post_ok(shop_a()).await;
    app.recompute(AS_OF).await;
    app.scorecard("A").await["hints"]
        .as_array()
        .unwrap()
        .clone()
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-9)
}

/// Shop A (default policy; four indicators scored, weight 1 each of 4):
/// - negative_review_rate 1/2 (best 0, worst 0.05): score 0; `product` counts two
///   metrics, so the gain is 5 ÷ 2 ÷ 4 = 0.625; passes at 0.05 − 3 × 0.05 ÷ 5 = 0.02.
/// - ship_on_time_rate(48) 2/4 (best 1, worst 0.8): score 0, gain 0.625 too (tied: the
///   same shortfall, so policy order); passes at 0.8 − 3 × (−0.2) ÷ 5 = 0.92.
/// - delivery_hours_avg 84 (best 48, worst 120): score 2.5, gain 2.5 ÷ 2 ÷ 4 = 0.3125;
///   passes at 120 − 3 × 72 ÷ 5 = 76.8; 36 h from best.
///
/// Then the failing programme rules (gain 0), by shortfall: no agent was ever online, so
/// cs_daily's October online hours (0 of 9), holiday_peak's online hours (0 of 12) and
/// its 09:00–18:00 coverage (0 of 1) are short all the way (tied: policy order); its
/// ship_on_time_rate(72) is 3/4 (the order created on Oct 2 was never shipped), a
/// quarter short. cs_daily is exempt (first event in October: exempt to December), so
/// its hint says that it does not count yet. Consultation and disputes pass.
#[tokio::test]
async fn hints_for_a_hand_worked_shop_in_english_and_chinese() {
    let en = hints_of_a(Policy::default_policy()).await;
    let metrics: Vec<&str> = en.iter().map(|h| h["metric"].as_str().unwrap()).collect();
    assert_eq!(
        metrics,
        [
            "negative_review_rate",
            "ship_on_time_rate(48)",
            "delivery_hours_avg",
            "online_hours_avg(09:00,24:00)",
            "online_hours_avg(00:00,24:00)",
            "coverage_rate(09:00,18:00)",
            "ship_on_time_rate(72)"
        ]
    );
    let areas: Vec<&str> = en.iter().map(|h| h["area"].as_str().unwrap()).collect();
    assert_eq!(
        areas,
        [
            "product",
            "logistics",
            "logistics",
            "cs_daily",
            "holiday_peak",
            "holiday_peak",
            "holiday_peak"
        ]
    );
    let expected = [
        // label, unit, lower is better, value, pass_at, target, gap, gain
        (
            "share of negative reviews",
            "ratio",
            true,
            0.5,
            0.02,
            0.0,
            0.5,
            0.625,
        ),
        (
            "share of orders shipped within 48 h",
            "ratio",
            false,
            0.5,
            0.92,
            1.0,
            0.5,
            0.625,
        ),
        (
            "average delivery time",
            "hours",
            true,
            84.0,
            76.8,
            48.0,
            36.0,
            0.3125,
        ),
    ];
    for (h, (label, unit, lower, value, pass_at, target, gap, gain)) in en.iter().zip(expected) {
        assert_eq!(h["label"], label, "{h}");
        assert_eq!(h["unit"], unit, "{h}");
        assert_eq!(h["lower_is_better"], lower, "{h}");
        for (field, want) in [
            ("value", value),
            ("pass_at", pass_at),
            ("target", target),
            ("gap", gap),
            ("gain", gain),
        ] {
            assert!(close(&h[field], want), "{field}: {h}");
        }
    }
    assert_eq!(
        en[2]["message"],
        "Average delivery time is 84 h: it passes at 76.8 h or less and is best at 48 h; \
         reaching 48 h would add up to 0.31 points to the service score."
    );
    assert_eq!(
        en[1]["message"],
        "Share of orders shipped within 48 h is 50%: it passes at 92% or more and is best \
         at 100%; reaching 100% would add up to 0.63 points to the service score."
    );
    assert_eq!(
        en[3]["message"],
        "Daily customer service: average hours staffed between 09:00 and 24:00 is 0 h; the \
         rule asks for at least 9 h. The shop is exempt until 2026-12 (new shops), so this \
         does not count yet."
    );
    assert_eq!(
        en[6]["message"],
        "National Day peak service: share of orders shipped within 72 h is 75%; the rule \
         asks for at least 100%."
    );

    let zh = Policy::parse(&DEFAULT_POLICY.replace("language = \"en\"", "language = \"zh-CN\""))
        .unwrap();
    let zh = hints_of_a(zh).await;
    let labels: Vec<&str> = zh.iter().map(|h| h["label"].as_str().unwrap()).collect();
    assert_eq!(labels[..3], ["差评率", "48小时发货率", "平均配送时长"]);
    assert_eq!(
        zh[0]["message"],
        "差评率为50%，2%及以下即达标，最佳为0%；达到最佳可使服务分最多提高0.63分。"
    );
    assert_eq!(
        zh[3]["message"],
        "日常客服考核：09:00至24:00日均在线时长为0小时，规则要求不低于9小时。新店豁免期至2026-12，暂不计入考核。"
    );
    // The numbers do not depend on the language.
    for (a, b) in en.iter().zip(&zh) {
        for field in [
            "metric", "value", "pass_at", "target", "gap", "gain", "unit",
        ] {
            assert_eq!(a[field], b[field], "{field}");
        }
    }
}
