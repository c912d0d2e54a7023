//! Per-scope metric loading for one batch of shops: each scope (a rolling window, a
//! closed period) loads each family its metrics need once, however many of the run's
//! steps ask for it.

use std::collections::HashMap;

use chrono_tz::Tz;
use sqlx::PgPool;

use super::catalogue::NamedMetric;
use super::eval::{measure, Measured};
use super::{families, load_into, Metric, Scope, ScopeData, ShopData};

pub struct Loader<'a> {
    pub pool: &'a PgPool,
    pub shops: Vec<String>,
    cache: HashMap<Scope, ScopeData>,
}

impl<'a> Loader<'a> {
    pub fn new(pool: &'a PgPool, shops: Vec<String>) -> Self {
        Loader {
            pool,
            shops,
            cache: HashMap::new(),
        }
    }

    /// The batch's rows in `scope` for the families `ms` read, loading those not loaded.
    pub async fn get<'m>(
        &mut self,
        scope: Scope,
        ms: impl IntoIterator<Item = &'m Metric>,
    ) -> Result<&ScopeData, sqlx::Error> {
        let fams = families(ms);
        let data = self.cache.entry(scope).or_default();
        load_into(self.pool, &self.shops, scope, &fams, data).await?;
        Ok(data)
    }
}

/// Each named metric of one shop in `scope`, by its policy name.
pub fn measure_all<'m>(
    named: impl IntoIterator<Item = &'m NamedMetric>,
    d: &ShopData,
    scope: Scope,
    tz: Tz,
) -> HashMap<String, Measured> {
    named
        .into_iter()
        .map(|n| (n.name.clone(), measure(&n.metric, d, scope, tz)))
        .collect()
}
