//! Dirty marks: which shops received events since their last scorecard (SPEC §6).

use sqlx::{PgConnection, PgPool};

/// The marks present now. A run reads them *before* any data: the events behind them
/// are committed, so the run scores them, and only these marks are cleared at its end.
pub async fn present(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(include_str!("sql/marks_present.sql"))
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
    sqlx::query(include_str!("sql/marks_clear.sql"))
        .bind(marks)
        .bind(scored)
        .execute(&mut *tx)
        .await?;
    sqlx::query(include_str!("sql/marks_drop_empty.sql"))
        .bind(marks)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
