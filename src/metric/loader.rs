//! Per-scope metric loading for one batch of shops: each scope (a rolling window, a
//! closed period) loads each family its metrics need once, however many of the run's
//! steps ask for it.

use std::collections::HashMap;

use sqlx::PgPool;

use super::adjust::Adjustments;
use super::{families, load_into, Family, Metric, Scope, ScopeData};

pub struct Loader<'a> {
    pub pool: &'a PgPool,
    pub shops: Vec<String>,
    cache: HashMap<Scope, ScopeData>,
    /// A what-if's changes, applied to every scope this loader gives (not to the
    /// earlier months a failure chain walks: those load their own rows).
    adjust: Option<Adjustments>,
}

impl<'a> Loader<'a> {
    pub fn new(pool: &'a PgPool, shops: Vec<String>) -> Self {
        Loader {
            pool,
            shops,
            cache: HashMap::new(),
            adjust: None,
        }
    }

    /// This loader, with `adjust` applied to its shops' rows in every scope it gives.
    pub fn adjusted(self, adjust: Adjustments) -> Self {
        Loader {
            adjust: Some(adjust),
            ..self
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
        if let Some(adjust) = &self.adjust {
            for shop in &self.shops {
                adjust.apply(data.at(shop));
            }
        }
        Ok(data)
    }

    /// The counted reviews of `scope`, read by the caller, so that `Reviews` needs no
    /// query there: each order's latest review visible at `scope.e` whose time is in
    /// the window, as `(shop, rating)`. Credit reads every order's latest review as of
    /// its instant; the ones in a window evaluated at that instant are this.
    pub fn provide_reviews<'r>(
        &mut self,
        scope: Scope,
        reviews: impl IntoIterator<Item = (&'r str, i16)>,
    ) {
        let data = self.cache.entry(scope).or_default();
        if data.loaded.insert(Family::Reviews) {
            for (shop, rating) in reviews {
                data.at(shop).reviews.push(rating);
            }
        }
    }
}
