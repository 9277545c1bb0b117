//! Feedback by e-mail through a transactional outbox: rows are written with the change, delivered
//! at least once by a worker, never twice to the same recipient for the same event.

pub mod outbox;
pub mod reminders;
pub mod templates;
pub mod transport;
pub mod worker;
