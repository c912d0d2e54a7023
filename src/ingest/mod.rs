//! Ingestion: body parsing, event validation (SPEC §2), the memory budget and the
//! all-or-nothing batch writer.
pub mod body;
pub mod budget;
pub mod event;
pub mod event_type;
pub mod fold;
pub mod group;
pub mod project;
pub mod writer;

pub use event::{validate, Event, FieldError};
pub use event_type::EventType;
pub use fold::{fold_queued, fold_queued_by, Folded};
pub use group::GroupWriter;
pub use writer::{write_batch, IngestOutcome, WriteError};
