//! What subscribers are told about: the few figures of a card whose change is news
//! (a programme's status, the tier, the stars, the credit level, the service score
//! against the policy's thresholds), and the events a change between two cards makes.
//! Pure: `outbox` keeps each shop's last standing and writes the events.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::endpoints::EventType;
use crate::policy::Policy;
use crate::scoring::card::{LevelOut, Scorecard};

/// A shop's standing as one card shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    /// Each programme's status (`null`: the card has no entry for the shop).
    pub programs: IndexMap<String, Option<String>>,
    pub tier: Option<TierStanding>,
    pub stars: Option<u8>,
    pub credit_level: LevelOut,
    pub service_score: Option<f64>,
}

/// The tier as a subscriber sees it: which, and where it stands (`cancelled`,
/// `disqualified` included), for which month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierStanding {
    pub month: String,
    pub tier: String,
    pub status: String,
    pub reason: Option<String>,
}

impl TierStanding {
    /// Whether two months' rows say the same thing (the month itself moves every
    /// month and is not news).
    fn same(&self, other: &TierStanding) -> bool {
        (&self.tier, &self.status, &self.reason) == (&other.tier, &other.status, &other.reason)
    }
}

impl Standing {
    pub fn of(card: &Scorecard) -> Standing {
        Standing {
            programs: (card.programs.iter())
                .map(|(name, p)| {
                    (
                        name.clone(),
                        p.as_ref().map(|p| p.status.as_str().to_string()),
                    )
                })
                .collect(),
            tier: card.cs_tier.as_ref().map(|t| TierStanding {
                month: t.month.clone(),
                tier: t.tier.as_str().to_string(),
                status: t.status.as_str().to_string(),
                reason: t.reason.map(|r| r.as_str().to_string()),
            }),
            stars: card.star_level.as_ref().and_then(|s| s.stars),
            credit_level: card.credit.level.clone(),
            service_score: card.service_score.score,
        }
    }
}

/// One event a change makes: its type, what it is about within the shop (a programme's
/// name; empty for the others) and its `data` beyond the shop, `as_of` and run.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub event_type: EventType,
    pub subject: String,
    pub data: Value,
}

/// The service-score thresholds the policy draws: the star bands and the tier gate,
/// ascending, each once.
pub fn score_thresholds(policy: &Policy) -> Vec<f64> {
    let mut t: Vec<f64> = policy.stars.bands.to_vec();
    t.push(policy.cs_tier.service_score_gate);
    t.sort_by(f64::total_cmp);
    t.dedup();
    t
}

/// The events between a shop's standing `before` and `after`, in a fixed order
/// (programmes in the card's order, then tier, stars, credit level, service score).
pub fn changes(thresholds: &[f64], before: &Standing, after: &Standing) -> Vec<Change> {
    let mut out = Vec::new();
    for (name, now) in &after.programs {
        let was = before.programs.get(name).cloned().flatten();
        if &was != now {
            out.push(Change {
                event_type: EventType::ProgrammeStatusChanged,
                subject: name.clone(),
                data: json!({"programme": name, "before": was, "after": now}),
            });
        }
    }
    let tier_moved = match (&before.tier, &after.tier) {
        (Some(b), Some(a)) => !b.same(a),
        (None, None) => false,
        _ => true,
    };
    if tier_moved {
        out.push(Change {
            event_type: EventType::TierChanged,
            subject: String::new(),
            data: json!({"before": before.tier, "after": after.tier}),
        });
    }
    if before.stars != after.stars {
        out.push(Change {
            event_type: EventType::StarsChanged,
            subject: String::new(),
            data: json!({"before": before.stars, "after": after.stars}),
        });
    }
    if before.credit_level != after.credit_level {
        out.push(Change {
            event_type: EventType::CreditLevelChanged,
            subject: String::new(),
            data: json!({"before": before.credit_level, "after": after.credit_level}),
        });
    }
    if let (Some(b), Some(a)) = (before.service_score, after.service_score) {
        let crossed = crossed(thresholds, b, a);
        if !crossed.is_empty() {
            let direction = if a > b { "up" } else { "down" };
            out.push(Change {
                event_type: EventType::ServiceScoreCrossed,
                subject: String::new(),
                data: json!({"before": b, "after": a, "direction": direction, "thresholds": crossed}),
            });
        }
    }
    out
}

/// The thresholds a score moving from `before` to `after` crosses. A threshold is met
/// at or above it (a star band, the tier gate), so a score reaching it exactly has
/// crossed it going up, and one leaving it going down.
fn crossed(thresholds: &[f64], before: f64, after: f64) -> Vec<f64> {
    let met = |score: f64, t: f64| score >= t;
    (thresholds.iter().copied())
        .filter(|&t| met(before, t) != met(after, t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing() -> Standing {
        Standing {
            programs: [("cs_daily".to_string(), Some("pass".to_string()))]
                .into_iter()
                .collect(),
            tier: Some(TierStanding {
                month: "2026-10".into(),
                tier: "gold".into(),
                status: "active".into(),
                reason: None,
            }),
            stars: Some(4),
            credit_level: LevelOut {
                index: 3,
                tier: "heart".into(),
                rank: 3,
            },
            service_score: Some(3.7),
        }
    }

    const T: [f64; 5] = [3.0, 3.5, 3.6, 4.0, 4.5];

    #[test]
    fn the_same_standing_makes_no_event() {
        assert!(changes(&T, &standing(), &standing()).is_empty());
    }

    #[test]
    fn a_new_month_with_the_same_tier_is_no_change() {
        let mut after = standing();
        after.tier.as_mut().unwrap().month = "2026-11".into();
        assert!(changes(&T, &standing(), &after).is_empty());
    }

    #[test]
    fn each_change_makes_its_event() {
        let mut after = standing();
        after
            .programs
            .insert("cs_daily".into(), Some("blocked".into()));
        after.tier.as_mut().unwrap().status = "cancelled".into();
        after.tier.as_mut().unwrap().reason = Some("verified_complaint".into());
        after.stars = Some(3);
        after.credit_level = LevelOut {
            index: 4,
            tier: "heart".into(),
            rank: 4,
        };
        after.service_score = Some(3.5);
        let c = changes(&T, &standing(), &after);
        let types: Vec<&str> = c.iter().map(|c| c.event_type.as_str()).collect();
        assert_eq!(
            types,
            [
                "programme.status_changed",
                "tier.changed",
                "stars.changed",
                "credit_level.changed",
                "service_score.crossed"
            ]
        );
        assert_eq!(c[0].subject, "cs_daily");
        assert_eq!(
            c[0].data,
            json!({"programme": "cs_daily", "before": "pass", "after": "blocked"})
        );
        assert_eq!(c[1].data["after"]["status"], "cancelled");
        assert_eq!(c[1].data["before"]["status"], "active");
        assert_eq!(c[2].data, json!({"before": 4, "after": 3}));
        // 3.7 → 3.5 leaves the tier gate (3.6); 3.5 is still met (at or above).
        assert_eq!(
            c[4].data,
            json!({"before": 3.7, "after": 3.5, "direction": "down", "thresholds": [3.6]})
        );
    }

    #[test]
    fn a_score_crosses_every_threshold_between() {
        assert_eq!(crossed(&T, 2.9, 4.0), vec![3.0, 3.5, 3.6, 4.0]);
        assert_eq!(crossed(&T, 4.0, 3.99), vec![4.0]);
        assert!(crossed(&T, 3.1, 3.4).is_empty());
        assert_eq!(crossed(&T, 3.59, 3.6), vec![3.6]);
    }

    #[test]
    fn a_score_appearing_or_vanishing_crosses_nothing() {
        let mut after = standing();
        after.service_score = None;
        assert!(changes(&T, &standing(), &after).is_empty());
    }

    #[test]
    fn a_programme_appearing_is_a_change_from_null() {
        let mut before = standing();
        before.programs.insert("cs_daily".into(), None);
        let c = changes(&T, &before, &standing());
        assert_eq!(
            c[0].data,
            json!({"programme": "cs_daily", "before": null, "after": "pass"})
        );
    }
}
