//! A what-if's changes to one shop's rows (issue 24, `POST …/simulate`): metric values
//! the caller sets, and entities it leaves out. Applied to the rows a loader reads
//! (`Loader::adjusted`) before any rule sees them, so every rule computes from them as
//! it computes from stored rows. Pure.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::{Metric, ShopData};

/// What a simulation changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Adjustments {
    /// Each metric's value, replacing what its rows give (its basis `n` stays the
    /// rows'). Keyed by the metric itself: a name the policy writes twice with other
    /// parameters (a programme's own refund SLAs) is set in both.
    pub values: Arc<BTreeMap<Metric, f64>>,
    /// Entity ids (orders, refunds, conversations, complaints) left out of every
    /// family that lists them.
    pub exclude: HashSet<String>,
}

impl Adjustments {
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.exclude.is_empty()
    }

    /// Applies them to one shop's rows (again after each family loads: leaving out is
    /// idempotent).
    pub fn apply(&self, d: &mut ShopData) {
        if !self.exclude.is_empty() {
            let kept = |id: &String| !self.exclude.contains(id);
            d.orders.retain(|o| kept(&o.order_id));
            d.refunds.retain(|r| kept(&r.refund_id));
            d.chats.retain(|c| kept(&c.conversation_id));
            d.complaints.retain(|c| kept(&c.complaint_id));
        }
        if !self.values.is_empty() {
            d.values = Some(Arc::clone(&self.values));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::eval::measure;
    use crate::metric::{OrderRow, Scope};

    fn order(id: &str, shipped_after_h: Option<i64>) -> OrderRow {
        let t: chrono::DateTime<chrono::Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        OrderRow {
            order_id: id.into(),
            created_at: t,
            paid_at: Some(t),
            shipped_at: shipped_after_h.map(|h| t + chrono::Duration::hours(h)),
            delivered_at: None,
            cancelled_at: None,
            cancel_initiator: None,
            amount_cents: Some(100),
        }
    }

    /// Three orders, one shipped after 50 h: 2/3 on time within 48 h. Leaving out the
    /// late one gives 2/2; setting the value gives it with the rows' basis.
    #[test]
    fn leaves_out_and_sets() {
        let scope = Scope::rolling("2026-11-30T00:00:00Z".parse().unwrap(), 30);
        let tz = chrono_tz::Asia::Shanghai;
        let m = Metric::ShipOnTimeRate(48 * 3600);
        let rows = ShopData {
            orders: vec![
                order("a", Some(1)),
                order("b", Some(50)),
                order("c", Some(2)),
            ],
            ..ShopData::default()
        };
        let got = measure(&m, &rows, scope, tz);
        assert_eq!((got.value, got.n), (Some(2.0 / 3.0), 3));

        let mut d = rows.clone();
        let out = Adjustments {
            exclude: HashSet::from(["b".to_string(), "zz".to_string()]),
            ..Adjustments::default()
        };
        out.apply(&mut d);
        out.apply(&mut d);
        let got = measure(&m, &d, scope, tz);
        assert_eq!((got.value, got.n), (Some(1.0), 2));

        let mut d = rows.clone();
        let set = Adjustments {
            values: Arc::new(BTreeMap::from([(m.clone(), 0.25)])),
            ..Adjustments::default()
        };
        set.apply(&mut d);
        let got = measure(&m, &d, scope, tz);
        assert_eq!((got.value, got.n), (Some(0.25), 3));
        // Another metric of the same rows is untouched.
        let other = measure(&Metric::Orders, &d, scope, tz);
        assert_eq!(other.value, Some(3.0));
    }
}
