use std::sync::Arc;

use crate::auth::caller::Callers;
use crate::auth::{LocalTokens, TokenVerifier};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::group_commit::Committer;
use crate::db::{self, DbConnection, Pool};
use crate::error::ApiError;

/// Everything a handler may need, shared by all workers.
pub struct AppState {
    pub pool: Pool,
    pub config: Arc<Config>,
    pub tokens: Arc<LocalTokens>,
    pub verifier: Arc<dyn TokenVerifier>,
    pub clock: Clock,
    /// Where submissions commit when they share transactions; None = each on a pooled connection.
    pub group_commit: Option<Committer>,
    pub callers: Callers,
    pub login_failures: crate::auth::limits::Failures,
    pub patients: Arc<crate::patients::Patients>,
    /// HelseID, in `oidc` mode: the API then takes its tokens and no others.
    pub oidc: Option<Arc<crate::auth::oidc::Oidc>>,
}

impl AppState {
    /// Runs a submission's transaction, in a shared group commit where that is configured.
    pub async fn submit<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.group_commit {
            Some(g) => g.run(work).await,
            None => db::run(&self.pool, work).await,
        }
    }
}
