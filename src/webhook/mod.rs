//! Webhooks (issue 25), the parts that decide without IO: how a delivery is signed
//! (`signature`, the Standard Webhooks scheme), when a failed one is tried again and
//! what an answer means (`schedule`), and which endpoint URLs are acceptable
//! (`target`). The outbox, the endpoints API and the delivery worker build on them.
pub mod endpoints;
pub mod messages;
pub mod outbox;
pub mod resolve;
pub mod retention;
pub mod schedule;
pub mod signature;
pub mod standing;
pub mod target;
pub mod worker;
