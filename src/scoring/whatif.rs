//! The what-if (issue 24, `POST …/simulate`): which metric values a caller may set and
//! within what range, which ids it may leave out, and what changed between the current
//! card and the simulated one. Pure; the simulation itself runs the recompute's own
//! loaders and rules (`jobs::simulate`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::card;
use super::tiers::{self, Exclusion, TierInput, TierRow, TIER_METRICS};
use crate::domain::{valid_id, Tier, TierStatus, ID_MAX};
use crate::metric::adjust::Adjustments;
use crate::metric::catalogue::Unit;
use crate::metric::Metric;
use crate::policy::Policy;

/// At most this many metric values in one simulation (the policy scores fewer).
pub const MAX_VALUES: usize = 64;
/// At most this many ids left out in one simulation (so that a request of the longest
/// ids stays within the 64 KiB a request body may have).
pub const MAX_EXCLUDE: usize = 500;
/// The longest duration a value may say: the longest deadline a metric can have.
const MAX_SECONDS: f64 = 366.0 * 86_400.0;
/// The largest count a value may say.
const MAX_COUNT: f64 = 1e9;

/// A request's field and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

fn problem(field: String, message: impl Into<String>) -> Problem {
    Problem {
        field,
        message: message.into(),
    }
}

/// Every metric whose value a card's figures are computed from, by the name the policy
/// writes it: the service score's, each programme's rules, the five-star metric, and
/// the tier checks'. One name can stand for several metrics (a programme's refund SLA
/// rate has its own SLAs).
pub fn settable(policy: &Policy) -> BTreeMap<String, Vec<Metric>> {
    let mut out: BTreeMap<String, Vec<Metric>> = BTreeMap::new();
    let named = (policy.service.metrics())
        .chain(
            policy
                .programs
                .iter()
                .flat_map(|p| p.rules.iter().map(|r| &r.named)),
        )
        .chain([&policy.stars.five_star_metric]);
    for n in named {
        let ms = out.entry(n.name.clone()).or_default();
        if !ms.contains(&n.metric) {
            ms.push(n.metric.clone());
        }
    }
    for m in TIER_METRICS {
        let name = tier_metric_name(&m);
        let ms = out.entry(name.to_string()).or_default();
        if !ms.contains(&m) {
            ms.push(m);
        }
    }
    out
}

/// The catalogue names of the tier checks' own metrics (they take no parameters).
fn tier_metric_name(m: &Metric) -> &'static str {
    match m {
        Metric::Orders => "orders",
        Metric::IntegrityFlags => "integrity_flags",
        Metric::SatisfactionRatings => "satisfaction_ratings",
        Metric::SatisfactionRate => "satisfaction_rate",
        other => unreachable!("not a tier metric: {other:?}"),
    }
}

/// Why `v` is no value of a metric of `unit`, if it is not.
fn out_of_range(unit: Unit, v: f64) -> Option<String> {
    if !v.is_finite() || v < 0.0 {
        return Some("must be a number ≥ 0".into());
    }
    match unit {
        Unit::Ratio if v > 1.0 => Some("is a share: must be between 0 and 1".into()),
        Unit::Count if v.fract() != 0.0 || v > MAX_COUNT => Some(format!(
            "is a count: must be a whole number up to {MAX_COUNT:e}"
        )),
        Unit::Seconds if v > MAX_SECONDS => Some(format!("must be at most {MAX_SECONDS} s")),
        Unit::Hours if v > MAX_SECONDS / 3600.0 => {
            Some(format!("must be at most {} h", MAX_SECONDS / 3600.0))
        }
        _ => None,
    }
}

/// A request's values and ids, checked: every problem, each naming its field
/// (`values.<name>`, `exclude[i]`).
pub fn adjustments(
    policy: &Policy,
    values: &BTreeMap<String, f64>,
    exclude: &[String],
) -> Result<Adjustments, Vec<Problem>> {
    let mut problems = Vec::new();
    if values.len() > MAX_VALUES {
        problems.push(problem(
            "values".into(),
            format!("at most {MAX_VALUES} metrics in one simulation"),
        ));
    }
    if exclude.len() > MAX_EXCLUDE {
        problems.push(problem(
            "exclude".into(),
            format!("at most {MAX_EXCLUDE} ids in one simulation"),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let known = settable(policy);
    let mut set = BTreeMap::new();
    for (name, &v) in values {
        let field = format!("values.{name}");
        let Some(metrics) = known.get(name) else {
            let names: Vec<&str> = known.keys().map(String::as_str).collect();
            problems.push(problem(
                field,
                format!(
                    "not a metric this policy scores with; one of: {}",
                    names.join(", ")
                ),
            ));
            continue;
        };
        match out_of_range(metrics[0].unit(), v) {
            Some(message) => problems.push(problem(field, message)),
            None => set.extend(metrics.iter().map(|m| (m.clone(), v))),
        }
    }
    for (i, id) in exclude.iter().enumerate() {
        if !valid_id(id, ID_MAX) {
            problems.push(problem(
                format!("exclude[{i}]"),
                format!("not an id (1-{ID_MAX} characters from [A-Za-z0-9._:-])"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Adjustments {
        values: Arc::new(set),
        exclude: exclude.iter().cloned().collect::<HashSet<_>>(),
    })
}

/// The tier card `row` would have for `month`, ranked among the month's other eligible
/// rows of its industry (`others`, with their scale) as a run re-ranks the month
/// (`store::tiers::rerank`): its cohort is those of its scale, itself included when
/// eligible.
pub fn tier_card(
    month: String,
    row: &TierRow,
    others: &[(TierInput, String)],
    policy: &Policy,
) -> card::CsTier {
    let (p, eps) = (&policy.cs_tier, policy.epsilon);
    let mut cohort: Vec<(TierInput, String)> = (others.iter())
        .filter(|(_, scale)| *scale == row.scale)
        .cloned()
        .collect();
    if row.exclusion.is_none() {
        cohort.push((row.input.clone(), row.scale.clone()));
    }
    let ranked =
        (tiers::rank(&cohort, p, eps).into_iter()).find(|r| r.shop_id == row.input.shop_id);
    let disqualified = row.exclusion == Some(Exclusion::IntegrityFlag);
    let (status, reason) = tiers::status(
        disqualified,
        ranked.as_ref().map(|r| r.tier),
        row.exclusion.map(Exclusion::reason),
        row.cancel_reason,
    );
    // Shown while ineligible for that reason, as a stored row shows it.
    let shortfall = (tiers::shortfall(&row.input, p, eps, row.exclusion))
        .filter(|_| status == TierStatus::Ineligible)
        .map(|s| card::Shortfall {
            figure: s.figure.to_string(),
            have: s.have,
            need: s.need,
        });
    card::CsTier {
        month,
        tier: ranked.as_ref().map_or(Tier::None, |r| r.tier),
        status,
        reason,
        shortfall,
        satisfaction_rate: row.input.satisfaction_rate,
        ratings: row.input.ratings,
        rank: ranked.map(|r| r.rank),
        cohort: card::Cohort {
            industry: row.input.industry.clone(),
            scale: row.scale.clone(),
            size: cohort.len() as u32,
        },
        security_warning: disqualified,
    }
}

/// One figure that differs between two cards.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Change {
    /// Where: keys joined by `.`, and a list's entry by what it is about
    /// (`service_score.score`, `programs.cs_daily.rules[human_reply_rate(180)].pass`,
    /// `hints[product:negative_review_rate].value`, `late_orders[o-17]`); null on one
    /// side where the figure or entry is absent on that side.
    pub path: String,
    #[schema(schema_with = any_value)]
    pub current: Value,
    #[schema(schema_with = any_value)]
    pub simulated: Value,
}

/// A figure of either card: a number, text, a flag, an object, a list or null. Said
/// as a list of every type, not as the empty schema, because the document is read
/// back into utoipa's types (`openapi::complete`), which need a `type`.
fn any_value() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::String,
            Type::Number,
            Type::Boolean,
            Type::Object,
            Type::Array,
            Type::Null,
        ]))
        .build()
}

/// The figures that differ between `current` and `simulated`; `computed_at` is not a
/// figure.
pub fn changes(current: &Value, simulated: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    diff("", current, simulated, &mut out);
    out.retain(|c| c.path != "computed_at");
    out
}

/// What a list's entry is about: a hint's area and metric, a rule's metric, a late
/// order's id.
fn entry_key(v: &Value) -> Option<String> {
    let text = |k: &str| v.get(k).and_then(Value::as_str);
    match (text("area"), text("metric"), text("order_id")) {
        (Some(area), Some(metric), _) => Some(format!("{area}:{metric}")),
        (None, Some(metric), _) => Some(metric.to_string()),
        (None, None, Some(id)) => Some(id.to_string()),
        _ => None,
    }
}

/// A list's entries by their keys, in order; `None` when some entry has no key or
/// two share one (the list is then one figure).
fn keyed(list: &[Value]) -> Option<Vec<(String, &Value)>> {
    let mut seen = HashSet::new();
    (list.iter())
        .map(|v| {
            entry_key(v)
                .filter(|k| seen.insert(k.clone()))
                .map(|k| (k, v))
        })
        .collect()
}

fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<Change>) {
    let join = |k: &str| match path {
        "" => k.to_string(),
        _ => format!("{path}.{k}"),
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                diff(&join(k), va, y.get(k).unwrap_or(&Value::Null), out);
            }
            for (k, vb) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                diff(&join(k), &Value::Null, vb, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if a != b => match (keyed(x), keyed(y)) {
            (Some(xs), Some(ys)) => {
                let find = |list: &[(String, &Value)], k: &str| {
                    (list.iter())
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| (*v).clone())
                };
                for (k, va) in &xs {
                    let vb = find(&ys, k).unwrap_or(Value::Null);
                    diff(&format!("{path}[{k}]"), va, &vb, out);
                }
                for (k, vb) in ys.iter().filter(|(k, _)| find(&xs, k).is_none()) {
                    diff(&format!("{path}[{k}]"), &Value::Null, vb, out);
                }
            }
            _ => out.push(change(path, a, b)),
        },
        _ if a == b => {}
        _ => out.push(change(path, a, b)),
    }
}

fn change(path: &str, a: &Value, b: &Value) -> Change {
    Change {
        path: path.to_string(),
        current: a.clone(),
        simulated: b.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_every_bad_field() {
        let p = Policy::default_policy();
        let values = BTreeMap::from([
            ("no_such_metric".to_string(), 1.0),
            ("positive_rate".to_string(), 1.5),
            ("orders".to_string(), 2.5),
            ("satisfaction_rate".to_string(), 0.9),
        ]);
        let bad = adjustments(&p, &values, &["o-1".into(), "a\0b".into(), String::new()]);
        let fields: Vec<String> = bad.unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "values.no_such_metric",
                "values.orders",
                "values.positive_rate",
                "exclude[1]",
                "exclude[2]"
            ]
        );
        let too_many: Vec<String> = (0..=MAX_EXCLUDE).map(|i| format!("o-{i}")).collect();
        let bad = adjustments(&p, &BTreeMap::new(), &too_many).unwrap_err();
        assert_eq!(bad[0].field, "exclude");
    }

    #[test]
    fn sets_every_metric_a_name_stands_for() {
        let p = Policy::default_policy();
        let known = settable(&p);
        // Each name's metrics share a unit (the check reads the first).
        for (name, ms) in &known {
            assert!(ms.iter().all(|m| m.unit() == ms[0].unit()), "{name}");
        }
        let values = BTreeMap::from([("satisfaction_rate".to_string(), 0.5)]);
        let a = adjustments(&p, &values, &["o-2".into()]).unwrap();
        assert_eq!(a.values.get(&Metric::SatisfactionRate), Some(&0.5));
        assert!(a.exclude.contains("o-2"));
        assert!(adjustments(&p, &BTreeMap::new(), &[]).unwrap().is_empty());
    }

    #[test]
    fn lists_what_differs() {
        let a = json!({"computed_at": "x", "s": {"score": 3.0, "n": 4}, "xs": [1, 2], "p": null,
            "hints": [{"area": "product", "metric": "m", "gap": 1.0}, {"area": "cs", "metric": "r", "gap": 2.0}],
            "late_orders": [{"order_id": "o-1", "penalty_cents": 3}]});
        let b = json!({"computed_at": "y", "s": {"score": 4.5, "n": 4}, "xs": [1], "p": {"status": "pass"},
            "hints": [{"area": "cs", "metric": "r", "gap": 1.5}],
            "late_orders": []});
        let got: Vec<(String, Value, Value)> = changes(&a, &b)
            .into_iter()
            .map(|c| (c.path, c.current, c.simulated))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "hints[product:m]".into(),
                    json!({"area": "product", "metric": "m", "gap": 1.0}),
                    Value::Null
                ),
                ("hints[cs:r].gap".into(), json!(2.0), json!(1.5)),
                (
                    "late_orders[o-1]".into(),
                    json!({"order_id": "o-1", "penalty_cents": 3}),
                    Value::Null
                ),
                ("p".into(), Value::Null, json!({"status": "pass"})),
                ("s.score".into(), json!(3.0), json!(4.5)),
                ("xs".into(), json!([1, 2]), json!([1])),
            ]
        );
        assert!(changes(&a, &a).is_empty());
    }
}
