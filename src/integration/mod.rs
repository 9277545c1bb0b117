//! What an organisation's quality system (EQS, Compilo, Synergi, ...) uses to follow the deviations
//! the organisation sends and receives: the change feed, webhooks, and
//! its own categories.

pub mod feed;
pub mod mapping;
pub mod webhooks;
