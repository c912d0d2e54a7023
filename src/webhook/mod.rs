//! Webhooks (issue 25), the parts that decide without IO: how a delivery is signed
//! (`signature`, the Standard Webhooks scheme), when a failed one is tried again and
//! what an answer means (`schedule`), and which endpoint URLs are acceptable
//! (`target`). The outbox, the endpoints API and the delivery worker build on them.
pub mod endpoints;
pub mod schedule;
pub mod signature;
pub mod target;
