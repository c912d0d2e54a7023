//! The projections of `sql/project.sql`, composed into the one statement that stores
//! a batch of events and folds it into every projection table, and `rebuild`, which
//! replays the stored events through the same statement.

use std::sync::LazyLock;

use sqlx::PgPool;

const PROJECT_SQL: &str = include_str!("sql/project.sql");

/// One CTE of `project.sql`: a projection statement (`INSERT INTO <table>`, named
/// `project_<table>`) or a helper query the statements share (`-- helper: <name>`).
#[derive(Debug, PartialEq)]
enum Part {
    Projection {
        table: &'static str,
        sql: &'static str,
    },
    Helper {
        name: &'static str,
        sql: &'static str,
    },
}

/// The CTEs of `project.sql`, in the file's order.
fn parts() -> impl Iterator<Item = Part> {
    PROJECT_SQL
        .split("\n-- @@\n")
        .map(str::trim)
        // Chunks of comments only (the file's header) are not statements.
        .filter(|s| {
            s.lines()
                .any(|l| !l.trim().is_empty() && !l.starts_with("--"))
        })
        .map(|sql| {
            let helper = sql
                .lines()
                .find_map(|l| l.strip_prefix("-- helper: "))
                .map(str::trim);
            match helper {
                Some(name) => Part::Helper { name, sql },
                None => Part::Projection {
                    table: target_table(sql),
                    sql,
                },
            }
        })
}

/// `INSERT INTO <table>` of a statement (after its leading comments).
fn target_table(stmt: &'static str) -> &'static str {
    stmt.lines()
        .find_map(|l| l.strip_prefix("INSERT INTO "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("unknown")
}

/// One statement that takes a batch of events from `source` (a query or an
/// `INSERT … RETURNING *` of the shape of `events`), folds it into every projection, and
/// returns the batch's keys. One statement rather than one per table: a single round
/// trip and plan, and the batch is read from memory instead of a scratch table that
/// every statement scans again (see `project.sql` for why the lock order stays fixed).
fn with_projections(source: &str) -> String {
    let mut sql = format!("WITH batch AS MATERIALIZED ({source}\n)");
    let mut projections = Vec::new();
    for part in parts() {
        match part {
            Part::Helper { name, sql: body } => {
                sql.push_str(&format!(",\n{name} AS MATERIALIZED ({body}\n)"))
            }
            Part::Projection { table, sql: body } => {
                projections.push(format!(",\nproject_{table} AS ({body}\n)"))
            }
        }
    }
    // The executor finishes data-modifying CTEs in the reverse of their order here, so
    // they are listed backwards to run in the order of `project.sql`: the statements
    // that may wait on rows other batches share last, holding their locks the least.
    // Helpers come first, before any statement that reads them.
    for projection in projections.iter().rev() {
        sql.push_str(projection);
    }
    sql.push_str("\nSELECT shop_id, event_id FROM batch");
    sql
}

fn insert_events_sql(on_conflict: &str) -> String {
    with_projections(&include_str!("sql/events_insert.sql").replace("{on_conflict}", on_conflict))
}

static INSERT_EVENTS: LazyLock<String> = LazyLock::new(|| insert_events_sql(""));
static INSERT_NEW_EVENTS: LazyLock<String> = LazyLock::new(|| insert_events_sql(SKIP_STORED));
/// The next chunk of stored events after a key, with its projections (`rebuild`).
static PROJECT_STORED: LazyLock<String> =
    LazyLock::new(|| with_projections(include_str!("sql/events_after.sql")));

const SKIP_STORED: &str = "ON CONFLICT (shop_id, event_id) DO NOTHING";

/// The insert of a request's events (binds: shop ids, event ids, types, times, data,
/// hashes, in key order) with its projections; `skip_stored` skips keys already stored
/// instead of failing on them.
pub(super) fn insert_events(skip_stored: bool) -> &'static str {
    if skip_stored {
        INSERT_NEW_EVENTS.as_str()
    } else {
        INSERT_EVENTS.as_str()
    }
}

/// Every statement this module builds, for the check that prepares each against the
/// schema (`tests/it/sql_files.rs`).
pub fn statements() -> [(&'static str, &'static str); 3] {
    [
        ("ingest: insert events", insert_events(false)),
        ("ingest: insert new events", insert_events(true)),
        ("ingest: project stored events", PROJECT_STORED.as_str()),
    ]
}

/// Rebuilds every projection from the raw events (DESIGN principle 4), in one
/// transaction: what the projections hold afterwards depends only on `events`.
pub async fn rebuild(pool: &PgPool) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(include_str!("sql/projections_truncate.sql"))
        .execute(&mut *tx)
        .await?;
    let mut after: (String, String) = (String::new(), String::new());
    let mut total = 0;
    loop {
        let keys: Vec<(String, String)> = sqlx::query_as(&PROJECT_STORED)
            .bind(&after.0)
            .bind(&after.1)
            .fetch_all(&mut *tx)
            .await?;
        total += keys.len();
        // Byte order, as the "C" collation of the key columns.
        let Some(last) = keys.into_iter().max() else {
            break;
        };
        after = last;
    }
    super::fold::fold_queued_in(&mut tx).await?;
    tx.commit().await?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        parts()
            .map(|p| match p {
                Part::Projection { table, .. } => table.to_string(),
                Part::Helper { name, .. } => format!("helper {name}"),
            })
            .collect()
    }

    #[test]
    fn project_sql_lists_every_projection_once_in_lock_order() {
        assert_eq!(
            names(),
            [
                "dirty_marks",
                "reviews",
                "chat_messages",
                "conversations_to_fold",
                "chat_ratings",
                "agent_status",
                "complaint_followups",
                "complaint_verifications",
                "order_events",
                "orders_to_fold",
                "integrity_flags",
                "helper batch_firsts",
                "shops",
                "shop_first_events",
                "refunds",
                "complaints",
            ]
        );
    }

    #[test]
    fn the_statement_lists_helpers_first_and_projections_backwards() {
        let sql = with_projections("SELECT * FROM events");
        let at = |needle: &str| sql.find(needle).unwrap_or_else(|| panic!("{needle}"));
        assert!(sql.starts_with("WITH batch AS MATERIALIZED (SELECT * FROM events\n)"));
        assert!(at("batch_firsts AS MATERIALIZED (") < at("project_complaints AS ("));
        // Finished last to first by the executor: complaints are listed first.
        assert!(at("project_complaints AS (") < at("project_order_events AS ("));
        assert!(at("project_order_events AS (") < at("project_dirty_marks AS ("));
        assert!(sql.ends_with("\nSELECT shop_id, event_id FROM batch"));
        // The file's header is not part of any statement.
        assert!(!sql.contains("Entity projections"));
    }
}
