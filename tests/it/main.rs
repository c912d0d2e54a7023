//! Integration tests: the real router on a real port, against a real Postgres database
//! created for each test (and dropped when the test's process next starts).
mod auth;
mod concurrency;
mod console;
mod deliveries;
mod drilldown;
mod examples;
mod faults;
mod helpers;
mod hints;
mod ingest;
mod keys;
mod openapi;
mod programs;
mod projection;
mod properties;
mod ranking;
mod readme;
mod replicas;
mod scheduler;
mod scoring;
mod simulate;
mod snapshot;
mod sql_files;
mod webhooks;
mod write_path;
