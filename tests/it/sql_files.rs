//! Every SQL statement in `src/` (each `.sql` file, and each statement composed from
//! them) prepares against the migrated schema, so a renamed column or a typo fails
//! `cargo test` rather than a run in production. Preparing checks names, types and
//! binds without running anything.

use std::path::{Path, PathBuf};

use sqlx::postgres::PgTypeInfo;
use sqlx::{Connection, Executor, Postgres, Type};

use crate::helpers::fresh_pool;

/// `.sql` files under `dir`.
fn sql_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sql_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
}

/// Files that are not one statement: templates (`{placeholder}`, checked through the
/// statements composed from them) and `project.sql`, the CTEs of the ingest statement.
fn is_fragment(path: &Path, text: &str) -> bool {
    path.ends_with("ingest/sql/project.sql") || text.contains("{")
}

#[tokio::test]
async fn every_statement_in_src_prepares_against_the_migrated_schema() {
    let (pool, _) = fresh_pool().await;
    let mut conn = pool.acquire().await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    // The temporary tables and the cursor a run makes before the statements that use them.
    for setup in [
        "src/store/sql/held_create.sql",
        "src/store/sql/held_open.sql",
        "src/store/sql/figures_set_aside_create.sql",
    ] {
        let sql = std::fs::read_to_string(setup).unwrap();
        tx.execute(sql.as_str()).await.unwrap();
    }

    let mut files = Vec::new();
    sql_files(Path::new("src"), &mut files);
    files.sort();
    // (name, statement, the types of its binds where the statement alone leaves some
    // open: the ranking by shop id binds a key it does not read.)
    let mut statements: Vec<(String, String, Vec<PgTypeInfo>)> = Vec::new();
    let mut fragments = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        if is_fragment(path, &text) {
            fragments += 1;
        } else {
            statements.push((path.display().to_string(), text, vec![]));
        }
    }
    for (name, sql) in shopscore::ingest::project::statements() {
        statements.push((name.to_string(), sql.to_string(), vec![]));
    }
    // industry, min and max score, then the page's (missing, key, shop id), the limit
    // and the merchant's shops, as `store::shops::ranked` binds them.
    let ranking_binds = vec![
        <String as Type<Postgres>>::type_info(),
        <f64 as Type<Postgres>>::type_info(),
        <f64 as Type<Postgres>>::type_info(),
        <bool as Type<Postgres>>::type_info(),
        <f64 as Type<Postgres>>::type_info(),
        <String as Type<Postgres>>::type_info(),
        <i64 as Type<Postgres>>::type_info(),
        <Vec<String> as Type<Postgres>>::type_info(),
    ];
    let rankings = shopscore::store::shops::ranked_statements();
    for (i, sql) in rankings.into_iter().enumerate() {
        statements.push((format!("ranking #{i}"), sql, ranking_binds.clone()));
    }
    // The three templates, and every statement the code composes from them.
    assert_eq!(
        fragments, 3,
        "fragments: a new template needs its statements here"
    );
    assert!(
        statements.len() > 80,
        "only {} statements found",
        statements.len()
    );

    let mut failures = Vec::new();
    for (name, sql, binds) in &statements {
        // Each in a savepoint: one that fails does not abort the others' transaction.
        let mut one = tx.begin().await.unwrap();
        if let Err(e) = (&mut *one).prepare_with(sql.as_str(), binds).await {
            failures.push(format!("{name}: {e}"));
        }
        one.rollback().await.unwrap();
    }
    assert!(
        failures.is_empty(),
        "statements that do not prepare:\n{}",
        failures.join("\n")
    );

    // And the check can fail: a statement naming a column the schema lacks.
    let wrong = (&mut *tx).prepare("SELECT no_such_column FROM shops").await;
    assert!(wrong.is_err());
}
