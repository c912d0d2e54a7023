//! SPEC §4.4–4.6: programmes, star levels and gold customer-service team tiers over HTTP.

use reqwest::Method;
use serde_json::{json, Value};
use shopscore::config::HttpOpts;
use shopscore::policy::{Policy, DEFAULT_POLICY};

use crate::helpers::{ev, TestApp};

#[tokio::test]
async fn holiday_peak_penalties_round_down_and_cap_and_coverage_counts_the_slot() {
    let app = TestApp::spawn().await;
    let mut e = Vec::new();
    for day in 1..=7 {
        e.push(ev(
            &format!("on{day}"),
            "agent.status",
            "H",
            &format!("2026-10-{day:02}T08:00:00+08:00"),
            json!({"agent_id": "a1", "status": "online"}),
        ));
        e.push(ev(
            &format!("off{day}"),
            "agent.status",
            "H",
            &format!("2026-10-{day:02}T20:30:00+08:00"),
            json!({"agent_id": "a1", "status": "offline"}),
        ));
    }
    // Two late orders: 30 % of 10 000 = 3 000; 30 % of 300 000 = 90 000, capped at 50 000.
    // A third shipped within 72 h is not late.
    for (id, amount, shipped) in [
        ("o-small", 10_000, None),
        ("o-big", 300_000, Some("2026-10-06T10:00:00+08:00")),
        ("o-fine", 333, Some("2026-10-03T09:00:00+08:00")),
    ] {
        e.push(ev(
            &format!("{id}-c"),
            "order.created",
            "H",
            "2026-10-02T10:00:00+08:00",
            json!({"order_id": id, "buyer_id": "b", "amount_cents": amount}),
        ));
        if let Some(t) = shipped {
            e.push(ev(
                &format!("{id}-s"),
                "order.shipped",
                "H",
                t,
                json!({"order_id": id}),
            ));
        }
    }
    assert_eq!(app.post_events(&Value::Array(e)).await.0, 200);
    app.recompute("2026-10-20T00:00:00+08:00").await;
    let h = app.scorecard("H").await["programs"]["holiday_peak"].clone();
    assert_eq!(h["period"], "2026-10-01/2026-10-07");
    assert_eq!(h["status"], "fail");
    assert_eq!(h["penalty_cents"], 53_000);
    assert_eq!(
        h["late_orders"],
        json!([{"order_id": "o-big", "penalty_cents": 50_000}, {"order_id": "o-small", "penalty_cents": 3_000}])
    );
    let rule = |m: &str| {
        h["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["metric"] == m)
            .unwrap()
            .clone()
    };
    assert_eq!(rule("online_hours_avg(00:00,24:00)")["value"], 12.5);
    assert_eq!(
        rule("coverage_rate(09:00,18:00)"),
        json!({"metric": "coverage_rate(09:00,18:00)", "op": ">=", "threshold": 1.0, "value": 1.0, "pass": true,
               "target_value": 1.0, "target_condition": ">=", "distance": 0.0})
    );
    // The basis beside the rules: the campaign's 7 whole days for the hours and the
    // coverage, the 3 orders due for the on-time rate.
    assert_eq!(h["basis"]["online_hours_avg(00:00,24:00)"], 7);
    assert_eq!(h["basis"]["coverage_rate(09:00,18:00)"], 7);
    assert_eq!(h["basis"]["ship_on_time_rate(72)"], 3);
    assert_eq!(
        rule("ship_on_time_rate(72)")["value"].as_f64().unwrap(),
        1.0 / 3.0
    );
    assert_eq!(rule("human_reply_rate(45)")["pass"], Value::Null);
    // Hints name the failing rules.
    let hints = app.scorecard("H").await["hints"].clone();
    assert!(hints
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["area"] == "holiday_peak" && x["metric"] == "ship_on_time_rate(72)"));
}

/// 25 shops of one cohort with 100 ratings each: 3 gold, 5 silver, ties by ratings then id.
#[tokio::test]
async fn a_cohort_of_25_ranks_3_gold_5_silver_and_a_verified_complaint_cancels() {
    let app = TestApp::spawn().await;
    let mut e = Vec::new();
    for s in 0..25 {
        let shop = format!("s{s:02}");
        app.put_shop(&shop, "apparel").await;
        // Shop k has k/2 neutral ratings (pairs tie on rate); s01 gets one extra rating.
        let neutral = s / 2;
        let n = if s == 1 { 101 } else { 100 };
        for r in 0..n {
            let sat = if r < neutral {
                "neutral"
            } else {
                "very_satisfied"
            };
            e.push(ev(
                &format!("r{r}"),
                "chat.rated",
                &shop,
                "2026-09-10T10:00:00+08:00",
                json!({"conversation_id": format!("c{r}"), "satisfaction": sat}),
            ));
        }
    }
    // A conduct complaint verified in September (month M) does not bar the tier...
    e.push(ev(
        "v0",
        "complaint.verified",
        "s00",
        "2026-09-20T10:00:00+08:00",
        json!({"complaint_id": "k1", "conduct": "abuse"}),
    ));
    for chunk in e.chunks(5000) {
        assert_eq!(app.post_events(&Value::Array(chunk.to_vec())).await.0, 200);
    }
    app.recompute("2026-10-10T00:00:00+08:00").await;
    let tier = |c: &Value| c["cs_tier"].clone();
    let s00 = tier(&app.scorecard("s00").await);
    assert_eq!(
        (
            s00["month"].as_str(),
            s00["tier"].as_str(),
            s00["status"].as_str()
        ),
        (Some("2026-09"), Some("gold"), Some("active"))
    );
    // ...but a verification in October, the month the tier is in effect (here of the
    // same complaint again), cancels it at the next recompute; the tier keeps its name,
    // rank and figures.
    let v = ev(
        "v1",
        "complaint.verified",
        "s00",
        "2026-10-05T10:00:00+08:00",
        json!({"complaint_id": "k1", "conduct": "abuse"}),
    );
    assert_eq!(app.post_events(&v).await.0, 200);
    app.recompute("2026-10-10T00:00:00+08:00").await;
    let s00 = tier(&app.scorecard("s00").await);
    // 100/101 ratings at 1.0: s01 (101 ratings) ranks above s00 on the tie.
    assert_eq!(s00["rank"], 2);
    assert_eq!(
        (
            s00["tier"].as_str(),
            s00["status"].as_str(),
            s00["reason"].as_str()
        ),
        (Some("gold"), Some("cancelled"), Some("verified_complaint"))
    );
    assert_eq!(
        s00["cohort"],
        json!({"industry": "apparel", "scale": "small", "size": 25})
    );
    assert_eq!(tier(&app.scorecard("s01").await)["rank"], 1);
    let (_, list) = app
        .json(
            Method::GET,
            "/v1/cs-tiers?month=2026-09&industry=apparel",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(list["month"], "2026-09");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 25);
    let count = |t: &str| items.iter().filter(|i| i["tier"] == t).count();
    assert_eq!((count("gold"), count("silver"), count("none")), (3, 5, 17));
    let ranked: Vec<(String, i64)> = {
        let mut v: Vec<_> = items
            .iter()
            .map(|i| {
                (
                    i["shop_id"].as_str().unwrap().to_string(),
                    i["rank"].as_i64().unwrap(),
                )
            })
            .collect();
        v.sort_by_key(|(_, r)| *r);
        v
    };
    // s02 and s03 tie on rate and ratings: shop id decides.
    assert_eq!(
        &ranked[..4],
        &[
            ("s01".into(), 1),
            ("s00".into(), 2),
            ("s02".into(), 3),
            ("s03".into(), 4)
        ]
    );
    let (_, gold) = app
        .json(
            Method::GET,
            "/v1/cs-tiers?month=2026-09&tier=gold",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(gold["items"].as_array().unwrap().len(), 3);
    let eligible = items.iter().find(|i| i["shop_id"] == "s24").unwrap();
    assert_eq!(
        (eligible["status"].as_str(), eligible["reason"].is_null()),
        (Some("eligible"), true)
    );
    let (s, _) = app
        .json(
            Method::GET,
            "/v1/cs-tiers?month=2026-9",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(s, 400);

    // The board counts the same month by cohort, tier and status: of the 25 apparel
    // shops, s00's gold cancelled, two more gold and five silver active, 17 without one.
    let (s, board) = app
        .json(
            Method::GET,
            "/v1/cs-tiers/board?month=2026-09",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(board["month"], "2026-09");
    let cell = |tier: &str, status: &str| -> i64 {
        board["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["industry"] == "apparel" && c["scale"] == "small")
            .filter(|c| c["tier"] == tier && c["status"] == status)
            .map(|c| c["shops"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(cell("gold", "cancelled"), 1);
    assert_eq!(cell("gold", "active"), 2);
    assert_eq!(cell("silver", "active"), 5);
    let none: i64 = [
        "eligible",
        "ineligible",
        "disqualified",
        "cancelled",
        "active",
    ]
    .iter()
    .map(|st| cell("none", st))
    .sum();
    assert_eq!(none, 17);
    let (s, bad) = app
        .json(
            Method::GET,
            "/v1/cs-tiers/board?month=2026-13",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(
        (s, bad["error"]["message"].as_str()),
        (400, Some("month must be YYYY-MM"))
    );
}

/// A third programme needs only policy: an Amazon-style account-health programme over
/// rolling windows (and its name in words for hints).
#[tokio::test]
async fn a_third_programme_needs_only_policy() {
    let policy_text = format!(
        "{DEFAULT_POLICY}\n[[programs]]\nname = \"account_health\"\nperiod = {{ kind = \"rolling\", days = 30 }}\nrules = [\n  \
         {{ metric = \"seller_cancel_rate\", op = \"<=\", threshold = 0.025 }},\n  \
         {{ metric = \"late_shipment_rate(48)\", op = \"<=\", threshold = 0.04 }},\n]\n\
         [hints.labels.account_health]\nen = \"account health\"\nzh = \"账户健康\"\n"
    );
    let policy = Policy::parse(&policy_text).expect("the extended policy is valid");
    let app = TestApp::spawn_with(policy, HttpOpts::default()).await;
    let mut e = Vec::new();
    for i in 0..40 {
        let id = format!("o{i}");
        e.push(ev(
            &format!("{id}-c"),
            "order.created",
            "Z",
            "2026-10-20T10:00:00+08:00",
            json!({"order_id": id, "buyer_id": "b", "amount_cents": 1000}),
        ));
        e.push(ev(
            &format!("{id}-s"),
            "order.shipped",
            "Z",
            "2026-10-21T10:00:00+08:00",
            json!({"order_id": id}),
        ));
    }
    // One seller cancellation of 41 orders: 1/41 > 2.5 %? 0.0244 -> passes.
    e.push(ev(
        "x-c",
        "order.created",
        "Z",
        "2026-10-20T10:00:00+08:00",
        json!({"order_id": "x", "buyer_id": "b", "amount_cents": 1000}),
    ));
    e.push(ev(
        "x-x",
        "order.cancelled",
        "Z",
        "2026-10-20T11:00:00+08:00",
        json!({"order_id": "x", "initiator": "seller"}),
    ));
    assert_eq!(app.post_events(&Value::Array(e)).await.0, 200);
    app.recompute("2026-11-01T00:00:00+08:00").await;
    let p = app.scorecard("Z").await["programs"]["account_health"].clone();
    assert_eq!(p["status"], "pass", "{p}");
    assert_eq!(p["rules"][0]["value"].as_f64().unwrap(), 1.0 / 41.0);
    assert_eq!(p["rules"][1]["value"], 0.0);
    assert_eq!(p["consecutive_failures"], Value::Null);
    assert_eq!(p["period"], "2026-10-02/2026-11-01");
}

/// A failure chain back to 2021: an agent went offline in January 2021 and stayed
/// offline, so every month since fails `online_hours_avg(09:00,24:00) >= 9` (the reply
/// rule has no chats: not applicable). January–March 2021 are exempt (first three
/// months), so October 2026 ends a chain of April 2021 .. October 2026 = 67 months. The
/// walk counts the months without events without a query each: at most three month
/// queries and one activity query, whatever the chain's length.
#[tokio::test]
async fn a_long_failure_chain_is_counted_exactly_and_cheaply() {
    let app = TestApp::spawn().await;
    let status = |id: &str, shop: &str, at: &str, status: &str| {
        ev(
            id,
            "agent.status",
            shop,
            at,
            json!({"agent_id": "a1", "status": status}),
        )
    };
    let events = json!([
        status("a-on", "gone", "2021-01-05T10:00:00+08:00", "online"),
        status("a-off", "gone", "2021-01-06T10:00:00+08:00", "offline"),
        // "back" is the same, but online through June 2024: June passes, and its chain
        // runs July 2024 .. October 2026 = 28 months.
        status("b-on", "back", "2021-01-05T10:00:00+08:00", "online"),
        status("b-off", "back", "2021-01-06T10:00:00+08:00", "offline"),
        status("b-on2", "back", "2024-06-01T00:00:00+08:00", "online"),
        status("b-off2", "back", "2024-07-01T00:00:00+08:00", "offline"),
    ]);
    assert_eq!(app.post_events(&events).await.0, 200);
    let (_, logs) = crate::helpers::shopscore(
        &app.db_url,
        &["recompute", "--as-of", "2026-11-10T00:00:00+08:00"],
        &[
            ("RUST_LOG", "shopscore::jobs=debug"),
            ("SHOPSCORE_LOG", "json"),
        ],
    );
    let c = app.scorecard("gone").await;
    let p = &c["programs"]["cs_daily"];
    assert_eq!(
        (&p["period"], &p["status"], &p["consecutive_failures"]),
        (&json!("2026-10"), &json!("blocked"), &json!(67)),
        "{p}"
    );
    let back = &app.scorecard("back").await["programs"]["cs_daily"];
    assert_eq!(back["consecutive_failures"], 28, "{back}");
    let walk: Value = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == "failure chain walked")
        .unwrap_or_else(|| panic!("no walk logged: {logs}"));
    // September 2026 back to March 2021, which is exempt and ends the chain of "gone".
    assert_eq!(walk["fields"]["months"], 67, "{walk}");
    // Queried: the first two months, then only July and June 2024 ("back" has events).
    assert_eq!(walk["fields"]["month_queries"], 4, "{walk}");
}

/// An ineligible shop is told what it lacked: 83 ratings where the tier needs 100.
#[tokio::test]
async fn an_ineligible_shop_sees_what_it_lacked() {
    let app = TestApp::spawn().await;
    app.put_shop("few", "apparel").await;
    let e: Vec<Value> = (0..83)
        .map(|r| {
            ev(
                &format!("r{r}"),
                "chat.rated",
                "few",
                "2026-09-10T10:00:00+08:00",
                json!({"conversation_id": format!("c{r}"), "satisfaction": "very_satisfied"}),
            )
        })
        .collect();
    assert_eq!(app.post_events(&Value::Array(e)).await.0, 200);
    app.recompute("2026-10-10T00:00:00+08:00").await;
    let tier = app.scorecard("few").await["cs_tier"].clone();
    assert_eq!(
        (tier["status"].as_str(), tier["reason"].as_str()),
        (Some("ineligible"), Some("too_few_ratings"))
    );
    let expected = json!({"figure": "ratings", "have": 83.0, "need": 100.0});
    assert_eq!(tier["shortfall"], expected);
    let (_, list) = app
        .json(
            Method::GET,
            "/v1/cs-tiers?month=2026-09",
            Some(&app.ops),
            None,
        )
        .await;
    assert_eq!(list["items"][0]["shortfall"], expected);
}

/// An exempt programme says until when: a shop whose first event is in September is
/// exempt for September, October and November (SPEC §4.5: the first three calendar
/// months, the first event's month counting); one that started in July no longer is.
#[tokio::test]
async fn an_exempt_programme_says_until_which_month() {
    let app = TestApp::spawn().await;
    let events = json!([
        ev(
            "n1",
            "agent.status",
            "new",
            "2026-09-20T10:00:00+08:00",
            json!({"agent_id": "a", "status": "online"})
        ),
        ev(
            "o1",
            "agent.status",
            "old",
            "2026-07-20T10:00:00+08:00",
            json!({"agent_id": "a", "status": "online"})
        ),
    ]);
    assert_eq!(app.post_events(&events).await.0, 200);
    app.recompute("2026-11-10T00:00:00+08:00").await;
    let new = &app.scorecard("new").await["programs"]["cs_daily"];
    assert_eq!(
        (&new["period"], &new["status"], &new["exempt_until"]),
        (&json!("2026-10"), &json!("exempt"), &json!("2026-11")),
        "{new}"
    );
    let old = &app.scorecard("old").await["programs"]["cs_daily"];
    assert_eq!(
        (&old["period"], &old["exempt_until"]),
        (&json!("2026-10"), &Value::Null),
        "{old}"
    );
    assert_ne!(old["status"], "exempt", "{old}");
}

/// Presence reads each agent's changes in the order they apply, by time and then event
/// id, whatever the order of agents: here two changes of one agent share an instant (the
/// event ids say online, then offline) and another agent's changes fall between.
#[tokio::test]
async fn presence_applies_changes_at_one_instant_in_event_id_order() {
    use shopscore::metric::{load_into, Family, Scope, ScopeData};
    let app = TestApp::spawn().await;
    let status = |id: &str, agent: &str, at: &str, status: &str| {
        let data = json!({"agent_id": agent, "status": status});
        crate::helpers::ev(id, "agent.status", "P", at, data)
    };
    let events = vec![
        // Before the window: a1 comes online (its state when the window opens).
        status("st-0", "a1", "2026-09-30T20:00:00Z", "online"),
        // At 10:00, st-a (online) then st-b (offline): a1 ends the instant offline.
        status("st-b", "a1", "2026-10-01T10:00:00Z", "offline"),
        status("st-a", "a1", "2026-10-01T10:00:00Z", "online"),
        status("st-e", "a2", "2026-10-01T12:00:00Z", "online"),
        status("st-f", "a2", "2026-10-01T13:00:00Z", "offline"),
        status("st-c", "a1", "2026-10-01T14:00:00Z", "online"),
        status("st-d", "a1", "2026-10-01T16:00:00Z", "offline"),
    ];
    assert_eq!(app.post_events(&Value::Array(events)).await.0, 200);
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let scope = Scope::period(
        t("2026-10-01T00:00:00Z"),
        t("2026-10-02T00:00:00Z"),
        t("2026-10-02T00:00:00Z"),
    );
    let mut out = ScopeData::default();
    let fams = [Family::Presence].into_iter().collect();
    load_into(&app.pool, &["P".to_string()], scope, &fams, &mut out)
        .await
        .unwrap();
    let staffed: Vec<_> = (out.shop("P").staffed.iter())
        .map(|(s, e)| (s.to_rfc3339(), e.to_rfc3339()))
        .collect();
    let span = |s: &str, e: &str| (t(s).to_rfc3339(), t(e).to_rfc3339());
    assert_eq!(
        staffed,
        [
            span("2026-09-30T20:00:00Z", "2026-10-01T10:00:00Z"),
            span("2026-10-01T12:00:00Z", "2026-10-01T13:00:00Z"),
            span("2026-10-01T14:00:00Z", "2026-10-01T16:00:00Z"),
        ]
    );
}
