//! Dirty marks: which shops received events since their last scorecard (SPEC §6).

use sqlx::{PgConnection, PgPool};

/// The marks present now. A run reads them *before* any data: the events behind them
/// are committed, so the run scores them, and only these marks are cleared at its end.
pub async fn present(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM dirty_marks")
        .fetch_all(pool)
        .await
}

/// Takes the `scored` shops off the `marks` read at the start; a mark with no shop
/// left goes. Marks appended while the run read are left for the next run.
pub async fn clear(
    tx: &mut PgConnection,
    marks: &[i64],
    scored: &[&str],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE dirty_marks SET shop_ids = ARRAY(SELECT s FROM unnest(shop_ids) AS s WHERE s <> ALL($2))
         WHERE id = ANY($1) AND shop_ids && $2",
    )
    .bind(marks)
    .bind(scored)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM dirty_marks WHERE id = ANY($1) AND cardinality(shop_ids) = 0")
        .bind(marks)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
