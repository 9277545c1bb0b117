//! What an organisation's quality system (EQS, Compilo, Synergi, ...) uses to follow the deviations
//! the organisation sends and receives: the change feed.

pub mod feed;
pub mod mapping;
