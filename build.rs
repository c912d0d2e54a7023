//! Rebuilds the crate when the migrations directory changes (sqlx's recommended build
//! script). `sqlx::migrate!` (`db::MIGRATOR`) embeds `migrations/` when the crate is
//! compiled, and Cargo only knows to recompile for files a build already read: a new
//! migration file is neither, so without this an incremental build keeps the old list
//! (the binary migrates to the previous schema, and a server started on a database a
//! newer build migrated refuses it: "migration N was previously applied but is
//! missing"). Seen when a bench built before a migration was added ran without it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
