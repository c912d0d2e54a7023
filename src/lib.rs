//! shopscore: grades e-commerce merchants' service from their order, chat and complaint
//! events (see SPEC.md). The binary is `src/main.rs`; this library is what it and the
//! integration tests share.

pub mod api;
pub mod app;
pub mod auth;
pub mod cache;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod etag;
pub mod healthcheck;
pub mod ingest;
pub mod jobs;
pub mod metric;
pub mod openapi;
pub mod policy;
pub mod router;
pub mod scoring;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod webhook;
