//! Ingestion: event validation (SPEC §2) and the all-or-nothing batch writer.
pub mod event;
pub mod writer;

pub use event::{validate, Event, EventType, FieldError};
pub use writer::{write_batch, IngestOutcome, WriteError};
