//! The vocabularies and identifiers of SPEC §2, against the database's checks.
use super::*;
use serde::Serialize;

/// The CHECK constraints of migration 0008 list exactly the enums' texts.
#[test]
fn the_stored_checks_list_the_same_values() {
    let sql = include_str!("../../migrations/0008_vocabulary_checks.sql");
    let list = |names: &[&str]| {
        let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
        format!("IN ({})", quoted.join(", "))
    };
    for names in [
        CancelInitiator::NAMES,
        RefundReason::NAMES,
        Sender::NAMES,
        Satisfaction::NAMES,
        ComplaintOutcome::NAMES,
        Tier::NAMES,
        TierStatus::NAMES,
        TierReason::NAMES,
    ] {
        assert!(sql.contains(&list(names)), "{names:?}");
    }
}

/// The derived texts (serde, and so sqlx and the OpenAPI schema, by the same
/// snake_case rule) are the listed ones.
#[test]
fn derived_texts_are_the_listed_ones() {
    fn check<T: Serialize + Copy>(all: &[T], text: fn(T) -> &'static str) {
        for v in all {
            assert_eq!(serde_json::to_value(v).unwrap(), text(*v));
        }
    }
    check(Role::ALL, Role::as_str);
    check(CancelInitiator::ALL, CancelInitiator::as_str);
    check(RefundReason::ALL, RefundReason::as_str);
    check(Sender::ALL, Sender::as_str);
    check(Satisfaction::ALL, Satisfaction::as_str);
    check(ComplaintOutcome::ALL, ComplaintOutcome::as_str);
    check(Tier::ALL, Tier::as_str);
    check(TierStatus::ALL, TierStatus::as_str);
    check(TierReason::ALL, TierReason::as_str);
}

#[test]
fn programme_statuses_are_their_text() {
    for text in [
        "pass",
        "fail",
        "exempt",
        "in_progress",
        "warning",
        "blocked",
    ] {
        let status = ProgramStatus::parse(text);
        assert_eq!(serde_json::to_value(&status).unwrap(), text);
        assert_eq!(
            serde_json::from_value::<ProgramStatus>(text.into()).unwrap(),
            status
        );
    }
    assert_eq!(
        ProgramStatus::parse("warning"),
        ProgramStatus::Escalated("warning".into())
    );
}

#[test]
fn ids_are_valid_by_construction() {
    assert_eq!(ShopId::parse("s-1.a:b_c").unwrap().as_str(), "s-1.a:b_c");
    assert!(ShopId::parse("").is_none());
    assert!(ShopId::parse("has space").is_none());
    assert!(ShopId::parse(&"x".repeat(65)).is_none());
    assert!(EventId::parse(&"x".repeat(128)).is_some());
    let bad = serde_json::from_value::<ShopId>("a/b".into()).unwrap_err();
    assert!(bad.to_string().contains("[A-Za-z0-9._:-]"), "{bad}");
    let ok: ShopId = serde_json::from_value("s1".into()).unwrap();
    assert_eq!(serde_json::to_value(&ok).unwrap(), "s1");
}

#[test]
fn texts_round_trip() {
    for r in TierReason::ALL {
        assert_eq!(TierReason::parse(r.as_str()), Some(*r));
        assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
    }
    assert_eq!(Role::parse("merchant"), Some(Role::Merchant));
    assert_eq!(Tier::parse("platinum"), None);
}

#[test]
fn industry_codes() {
    for ok in ["apparel", "home_3c", "a", &"x".repeat(64)] {
        assert_eq!(
            Industry::parse(ok).map(|i| i.to_string()),
            Some(ok.to_string())
        );
    }
    for bad in [
        "",
        "Apparel",
        "home-goods",
        "a b",
        &"x".repeat(65),
        "caf\u{e9}",
    ] {
        assert!(Industry::parse(bad).is_none(), "{bad:?}");
    }
    let e = serde_json::from_str::<Industry>("\"Home\"").unwrap_err();
    assert!(e.to_string().contains("[a-z0-9_]"), "{e}");
}
