//! Who is calling, as every access question needs it: user, organisation, unit, role, kind of
//! actor and helsefellesskap. Made from a verified token by `extract`; depends on nothing above it.

use crate::domain::Role;
use crate::ids::{HealthCommunityId, OrganisationId, UnitId, UserId};

/// Who is calling: a person, or an organisation's system (its quality system) with scoped
/// credentials (`integration_clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Person,
    Machine(ClientScopes),
}

/// What a machine client may be given. `deviations:read` is what the organisation's quality
/// advisor sees; `deviations:write` adds what they may do on a case (acknowledge, forward, answer,
/// comment, ...); `feed:read` the organisation's change feed. A machine never reports and keeps no
/// directory (`policy`).
pub const CLIENT_SCOPES: [&str; 3] = ["deviations:read", "deviations:write", "feed:read"];
pub const CLIENT_READ: &str = "deviations:read";
pub const CLIENT_WRITE: &str = "deviations:write";
pub const CLIENT_FEED: &str = "feed:read";

/// A machine client's scopes, as registered with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientScopes {
    pub read: bool,
    pub write: bool,
    pub feed: bool,
}

/// What a request does, as a machine client's scopes see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Read,
    Write,
    Feed,
}

impl Use {
    pub fn scope(self) -> &'static str {
        match self {
            Use::Read => CLIENT_READ,
            Use::Write => CLIENT_WRITE,
            Use::Feed => CLIENT_FEED,
        }
    }
}

impl ClientScopes {
    pub fn allows(self, wanted: Use) -> bool {
        match wanted {
            Use::Read => self.read,
            Use::Write => self.write,
            Use::Feed => self.feed,
        }
    }

    /// From the space-separated list kept with the client; unknown words count for nothing.
    pub fn parse(list: &str) -> Self {
        let has = |scope: &str| list.split(' ').any(|s| s == scope);
        ClientScopes { read: has(CLIENT_READ), write: has(CLIENT_WRITE), feed: has(CLIENT_FEED) }
    }
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub organisation_id: OrganisationId,
    pub unit_id: Option<UnitId>,
    pub role: Role,
    pub session_epoch: i32,
    pub actor: Actor,
    /// The caller's organisation's helsefellesskap; None for the region's own organisations.
    pub health_community_id: Option<HealthCommunityId>,
}

/// Recently verified callers, so a request does not read its user row every time. A change made
/// through this server (deactivation, new role or unit) drops the entry at once; one made through
/// another instance takes effect within the time to live.
pub type Callers = moka::sync::Cache<UserId, Caller>;

pub const CALLER_TTL: std::time::Duration = std::time::Duration::from_secs(10);

pub fn callers() -> Callers {
    moka::sync::Cache::builder().max_capacity(10_000).time_to_live(CALLER_TTL).build()
}
