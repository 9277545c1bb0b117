use std::sync::Arc;

use crate::auth::{LocalTokens, TokenVerifier};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Pool;

/// Everything a handler may need, shared by all workers.
pub struct AppState {
    pub pool: Pool,
    pub config: Arc<Config>,
    pub tokens: Arc<LocalTokens>,
    pub verifier: Arc<dyn TokenVerifier>,
    pub clock: Clock,
}
