//! The access policy: the one place that answers "may this caller …". Handlers, pages, list queries
//! (through [`list_scope`]) and jobs ask here; nothing else decides who may do what.
//!
//! The rules, decided once (README "Who may do what" is generated from [`permission_table`]):
//! - A deviation is seen by the organisations that sent it and that hold it now; a forwarded
//!   deviation leaves the previous recipient. Anyone else gets 404, as if it did not exist.
//! - Analysts (the improvement group) read every deviation de-identified and act on none.
//! - Admins keep the directory (organisations, units, users, routing tables) and the mail outbox,
//!   and read statistics; they are no party to any deviation and read none — administering people
//!   is no reason to read about patients.
//! - Quality advisors triage what their organisation receives (acknowledge, forward, reject), may
//!   answer it, and close or reopen what their organisation sent.
//! - Handlers answer cases routed to their unit or assigned to them, and — deliberately — cases
//!   their organisation holds that are not routed to any unit yet, so a case whose answer is at
//!   hand need not wait for triage. Once routed elsewhere, a case is not theirs to answer.
//! - Reporters (and their unit colleagues) close and reopen their own reports.
//! - Everyone who is a party (not analysts, not admins) may comment.

pub use crate::auth::Actor;
use crate::auth::Caller;
use crate::db::deviations::{DeviationRow, Scope};
use crate::db::stats::StatsScope;
use crate::domain::lifecycle::Action;
use crate::domain::{Code, Role};
use crate::error::ApiError;
use crate::ids::{HealthCommunityId, OrganisationId, UnitId, UserId};

/// The parties of a deviation, as far as access is concerned.
#[derive(Debug, Clone, Copy)]
pub struct Parties<'a> {
    pub health_community_id: &'a HealthCommunityId,
    pub reporting_organisation_id: &'a OrganisationId,
    pub reporter_id: &'a UserId,
    pub reporting_unit_id: Option<&'a UnitId>,
    pub recipient_organisation_id: &'a OrganisationId,
    pub recipient_unit_id: Option<&'a UnitId>,
    pub handler_id: Option<&'a UserId>,
}

impl<'a> From<&'a DeviationRow> for Parties<'a> {
    fn from(d: &'a DeviationRow) -> Self {
        Parties {
            health_community_id: &d.health_community_id,
            reporting_organisation_id: &d.reporting_organisation_id,
            reporter_id: &d.reporter_id,
            reporting_unit_id: d.reporting_unit_id.as_ref(),
            recipient_organisation_id: &d.recipient_organisation_id,
            recipient_unit_id: d.recipient_unit_id.as_ref(),
            handler_id: d.handler_id.as_ref(),
        }
    }
}

/// How a caller stands to a deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// They reported it, or work in the unit that did.
    OwnReport,
    /// Their organisation sent it, from another unit.
    OrganisationSent,
    /// Their organisation holds it, and it is theirs: routed to their unit, assigned to them, or
    /// not routed to any unit yet.
    OwnCase,
    /// Their organisation holds it, routed to another unit.
    OrganisationReceived,
    /// No party: another organisation, forwarded away from theirs.
    Outsider,
}

pub fn relation(caller: &Caller, d: Parties) -> Relation {
    let in_unit = |unit: Option<&UnitId>| caller.unit_id.is_some() && caller.unit_id.as_ref() == unit;
    if caller.organisation_id == *d.reporting_organisation_id {
        if caller.user_id == *d.reporter_id || in_unit(d.reporting_unit_id) {
            return Relation::OwnReport;
        }
        return Relation::OrganisationSent;
    }
    if caller.organisation_id == *d.recipient_organisation_id {
        if d.recipient_unit_id.is_none() || in_unit(d.recipient_unit_id) || d.handler_id == Some(&caller.user_id) {
            return Relation::OwnCase;
        }
        return Relation::OrganisationReceived;
    }
    Relation::Outsider
}

/// What a caller may read of a deviation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Everything the form and the timeline hold.
    Full,
    /// Codes, organisations, dates and figures; no people and no free text.
    Deidentified,
}

/// The view a caller gets of a deviation, or `None` (answered as 404).
pub fn view(caller: &Caller, d: Parties) -> Option<View> {
    match caller.role {
        Role::Analyst if in_reach(caller, d.health_community_id) => Some(View::Deidentified),
        Role::Analyst | Role::Admin | Role::PrivacyOfficer => None,
        _ => (relation(caller, d) != Relation::Outsider).then_some(View::Full),
    }
}

/// An analyst reads their own helsefellesskap; one of the region's own organisation (no
/// helsefellesskap) reads them all, side by side.
fn in_reach(caller: &Caller, community: &HealthCommunityId) -> bool {
    caller.health_community_id.as_ref().is_none_or(|own| own == community)
}

/// Whether the caller sees the whole region: admins, and analysts of the region's own organisation.
pub fn regional(caller: &Caller) -> bool {
    caller.role == Role::Admin || (caller.role == Role::Analyst && caller.health_community_id.is_none())
}

/// The helsefellesskap whose organisations the caller is shown (the form's recipients, the
/// directory), or None for all: the region's view, or every party when cases may cross.
pub fn organisations_visible(caller: &Caller, across_communities: bool) -> Option<HealthCommunityId> {
    if regional(caller) || (across_communities && caller.role != Role::Analyst) {
        return None;
    }
    caller.health_community_id.clone()
}

/// Whether every deviation this caller reads is de-identified (lists, search, timelines).
pub fn deidentified(caller: &Caller) -> bool {
    caller.role == Role::Analyst
}

/// The rows a caller's lists and reads may contain: the same rule as [`view`], as a query filter.
pub fn list_scope(caller: &Caller) -> Scope {
    match caller.role {
        Role::Analyst => match &caller.health_community_id {
            Some(c) => Scope::Community(c.clone()),
            None => Scope::All,
        },
        Role::Admin | Role::PrivacyOfficer => Scope::Nothing,
        _ => Scope::Organisation(caller.organisation_id.clone()),
    }
}

/// Whether the caller may take `action` on the deviation (whatever its status; the lifecycle
/// says which actions a status allows).
pub fn may(caller: &Caller, d: Parties, action: Action) -> bool {
    may_as(caller.role, relation(caller, d), action)
}

/// The rule itself, by role and relation: what [`permission_table`] prints.
pub fn may_as(role: Role, relation: Relation, action: Action) -> bool {
    use Action as A;
    use Relation as R;
    use Role::*;
    let receiving = matches!(relation, R::OwnCase | R::OrganisationReceived);
    let sending = matches!(relation, R::OwnReport | R::OrganisationSent);
    match (action, role) {
        (_, Analyst | Admin | PrivacyOfficer) => false,
        (_, _) if relation == R::Outsider => false,
        (A::Acknowledge | A::Forward | A::Reject, QualityAdvisor) => receiving,
        (A::Answer, QualityAdvisor) => receiving,
        (A::Answer, Handler) => relation == R::OwnCase,
        (A::Close | A::Reopen, QualityAdvisor) => sending,
        (A::Close | A::Reopen, _) => relation == R::OwnReport,
        (A::Comment, Reporter | Handler | QualityAdvisor) => true,
        _ => false,
    }
}

/// Patient identity (reveal, and related deviations by the same patient): a person who handles
/// the case. Never a machine, whatever its scopes.
pub fn may_see_patient(caller: &Caller, d: Parties) -> bool {
    caller.actor == Actor::Person && may_see_patient_as(caller.role, relation(caller, d))
}

/// The rule by role and relation, as the permission table prints it («reveal patient»): quality
/// advisors of both organisations; handlers only where the case is theirs — their own report, or
/// the case their organisation holds for their unit or them.
pub fn may_see_patient_as(role: Role, relation: Relation) -> bool {
    use Relation as R;
    match role {
        Role::QualityAdvisor => relation != R::Outsider,
        Role::Handler => matches!(relation, R::OwnReport | R::OwnCase),
        _ => false,
    }
}

/// Hendelsesanalyse (#34). The improvement group of a helsefellesskap is its analysts (role
/// `analyst`; the region's analysts are everyone's): a role, not a list per analysis, because
/// Forbedringsgruppa is already the analysts' organisation and a member should not have to be
/// added to each analysis to follow the group's own work.
///
/// An analysis is opened by a quality advisor (who must see every deviation linked) or by the
/// improvement group; it is seen and edited only by its participants and the improvement group of
/// its helsefellesskap. Never by a machine.
pub fn may_start_analysis(caller: &Caller) -> bool {
    caller.actor == Actor::Person && matches!(caller.role, Role::QualityAdvisor | Role::Analyst)
}

pub fn require_start_analysis(caller: &Caller) -> Result<(), ApiError> {
    may_start_analysis(caller).then_some(()).ok_or_else(|| {
        forbidden("Hendelsesanalyser startes av en kvalitetsrådgiver hos en av partene eller av forbedringsgruppa.")
    })
}

/// Whether the caller is of the improvement group of `community`.
pub fn in_improvement_group(caller: &Caller, community: &HealthCommunityId) -> bool {
    caller.actor == Actor::Person && caller.role == Role::Analyst && in_reach(caller, community)
}

/// Whether the caller may see and edit an analysis of `community` (in which they are, or are not,
/// a participant). Everyone else gets 404, as for a deviation they cannot see.
pub fn may_work_on_analysis(caller: &Caller, community: &HealthCommunityId, participant: bool) -> bool {
    caller.actor == Actor::Person && (participant || in_improvement_group(caller, community))
}

/// Which analyses a caller's list holds.
pub enum AnalysesListed<'a> {
    None,
    /// The improvement group: every analysis of its helsefellesskap (None: the region's, all).
    Group(Option<&'a HealthCommunityId>),
    /// Everyone else: those they take part in.
    Participant(&'a UserId),
}

/// The list that says the same as [`may_work_on_analysis`].
pub fn analyses_listed(caller: &Caller) -> AnalysesListed<'_> {
    match (caller.actor, caller.role) {
        (Actor::Machine(_), _) => AnalysesListed::None,
        (Actor::Person, Role::Analyst) => AnalysesListed::Group(caller.health_community_id.as_ref()),
        (Actor::Person, _) => AnalysesListed::Participant(&caller.user_id),
    }
}

/// Tiltak (#35): who an action concerns, as the policy needs it.
#[derive(Clone, Copy)]
pub struct ActionParties<'a> {
    pub health_community_id: &'a HealthCommunityId,
    pub responsible_organisation_id: &'a OrganisationId,
    pub responsible_user_id: &'a UserId,
    /// Whether the caller works on the analysis the action came from (false without one).
    pub works_on_analysis: bool,
}

/// An action comes from an analysis, made by those who work on it, or straight from the
/// improvement group. It is seen and changed by the improvement group of its helsefellesskap,
/// those who work on its analysis, the person responsible, and the quality advisors of the
/// responsible organisation (who follow their organisation's actions). Never by a machine.
pub fn may_create_action(caller: &Caller, community: &HealthCommunityId, from_analysis: Option<bool>) -> bool {
    match from_analysis {
        Some(participant) => may_work_on_analysis(caller, community, participant),
        None => in_improvement_group(caller, community),
    }
}

/// A member of some improvement group (a person with the analyst role): the one who may make an
/// action directly, once it is known of which helsefellesskap.
pub fn improvement_group_member(caller: &Caller) -> bool {
    caller.actor == Actor::Person && caller.role == Role::Analyst
}

pub fn may_work_on_action(caller: &Caller, a: ActionParties) -> bool {
    caller.actor == Actor::Person
        && (in_improvement_group(caller, a.health_community_id)
            || a.works_on_analysis
            || caller.user_id == *a.responsible_user_id
            || (caller.role == Role::QualityAdvisor && caller.organisation_id == *a.responsible_organisation_id))
}

/// Which actions a caller's list holds: the same as [`may_work_on_action`].
pub fn actions_listed(caller: &Caller) -> Option<crate::db::actions::Scope<'_>> {
    use crate::db::actions::Scope;
    match (caller.actor, caller.role) {
        (Actor::Machine(_), _) => None,
        (Actor::Person, Role::Analyst) if caller.health_community_id.is_none() => Some(Scope::Community(None)),
        (Actor::Person, role) => {
            let organisation = (role == Role::QualityAdvisor).then_some(&caller.organisation_id);
            match role {
                // A helsefellesskap's analyst is its improvement group: all of them.
                Role::Analyst => Some(Scope::Community(caller.health_community_id.as_ref())),
                _ => Some(Scope::Person { user: &caller.user_id, organisation }),
            }
        }
    }
}

/// Læringsnotat (#36): written by those who work on a concluded analysis (as
/// [`may_work_on_analysis`]); once published, read by every person of its helsefellesskap (the
/// region's own people: all), because the point is that the next organisation learns too; taken
/// down by its author or the improvement group, who alone still read it then. Never a machine.
pub fn may_read_learning_note(
    caller: &Caller,
    community: &HealthCommunityId,
    published: bool,
    author: &UserId,
) -> bool {
    caller.actor == Actor::Person
        && ((published && in_reach(caller, community)) || may_unpublish_learning_note(caller, community, author))
}

pub fn may_unpublish_learning_note(caller: &Caller, community: &HealthCommunityId, author: &UserId) -> bool {
    caller.actor == Actor::Person && (caller.user_id == *author || in_improvement_group(caller, community))
}

/// Whose published notes a caller's list holds (Some(None): every helsefellesskap's), as
/// [`may_read_learning_note`] says for a published one.
pub fn learning_notes_listed(caller: &Caller) -> Option<Option<&HealthCommunityId>> {
    (caller.actor == Actor::Person).then_some(caller.health_community_id.as_ref())
}

/// The improvement group's newsletter (#36) is for people, each choosing for themselves; it is
/// sent on demand by the improvement group (`in_improvement_group`).
pub fn may_take_newsletter(caller: &Caller) -> bool {
    caller.actor == Actor::Person
}

/// «Var tilbakemeldingen nyttig?» (#37): the reporter rates the answer she got — she alone, a
/// person. The rating is hers and the recipient's: the recipient organisation's people who see
/// the case see the score, its quality advisors (who follow up the answers) and she the comment.
pub fn may_rate(caller: &Caller, d: Parties) -> bool {
    caller.actor == Actor::Person && caller.user_id == *d.reporter_id
}

/// What of a case's rating the caller sees: None (404), the score, or the score and comment.
pub fn rating_view(caller: &Caller, d: Parties) -> Option<RatingView> {
    if may_rate(caller, d) {
        return Some(RatingView::WithComment);
    }
    let recipient = caller.actor == Actor::Person
        && matches!(relation(caller, d), Relation::OwnCase | Relation::OrganisationReceived)
        && view(caller, d) == Some(View::Full);
    match (recipient, caller.role) {
        (false, _) => None,
        (true, Role::QualityAdvisor) => Some(RatingView::WithComment),
        (true, _) => Some(RatingView::Score),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatingView {
    Score,
    WithComment,
}

/// Who may take part: an active person of an organisation of a linked deviation, or of the
/// improvement group of the analysis's helsefellesskap.
pub fn may_take_part(
    user: &crate::db::users::UserRow,
    user_community: Option<&HealthCommunityId>,
    parties: &[OrganisationId],
    community: &HealthCommunityId,
) -> bool {
    let improvement_group = user.role == Role::Analyst.code() && user_community.is_none_or(|c| c == community);
    user.active && !user.machine && (parties.contains(&user.organisation_id) || improvement_group)
}

fn forbidden(message: &str) -> ApiError {
    ApiError::forbidden(message)
}

/// The patient access log (innsyn and routine control) is the privacy officer's: of their own
/// organisation, and nobody else's.
pub fn require_privacy_officer(caller: &Caller) -> Result<(), ApiError> {
    (caller.role == Role::PrivacyOfficer)
        .then_some(())
        .ok_or_else(|| forbidden("Tilgangsloggen for pasientidentitet er for personvernombudet i organisasjonen."))
}

/// Reporting is for the parties' people: not for analysts or admins.
/// People report; an organisation's quality system receives and answers, it does not report.
pub fn may_report(caller: &Caller) -> bool {
    caller.actor == Actor::Person && matches!(caller.role, Role::Reporter | Role::Handler | Role::QualityAdvisor)
}

pub fn require_report(caller: &Caller) -> Result<(), ApiError> {
    may_report(caller).then_some(()).ok_or_else(|| {
        forbidden("Rollen din kan ikke melde avvik. Logg inn som melder i en kommune eller på sykehuset.")
    })
}

/// Organisations, units, users and the mail outbox.
pub fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    (caller.role == Role::Admin).then_some(()).ok_or_else(|| forbidden("Rollen din gir ikke tilgang til dette."))
}

/// Whether lists of organisations and units may include the deactivated ones.
pub fn may_see_inactive(caller: &Caller) -> bool {
    caller.role == Role::Admin
}

/// An organisation's routing table: its own quality advisor, or an admin.
pub fn require_routing(caller: &Caller, organisation_id: &OrganisationId) -> Result<(), ApiError> {
    require_advisor_of(
        caller,
        organisation_id,
        "Bare administrator eller organisasjonens kvalitetsrådgiver kan endre rutingen.",
    )
}

/// An admin, or a quality advisor of `organisation_id`: who runs an organisation's case handling.
fn require_advisor_of(caller: &Caller, organisation_id: &OrganisationId, refusal: &str) -> Result<(), ApiError> {
    match caller.role {
        Role::Admin => Ok(()),
        // A machine client reads and acts on cases like a quality advisor, but keeps no directory.
        Role::QualityAdvisor if caller.organisation_id == *organisation_id && caller.actor == Actor::Person => Ok(()),
        _ => Err(forbidden(refusal)),
    }
}

/// The organisation whose change feed the caller reads: their own, for its quality advisor or a
/// machine client with `feed:read` (the scope itself is checked for every request, in `auth`).
pub fn feed_of(caller: &Caller) -> Result<&OrganisationId, ApiError> {
    match (caller.role, caller.actor) {
        (Role::QualityAdvisor, Actor::Person) => Ok(&caller.organisation_id),
        (_, Actor::Machine(scopes)) if scopes.feed => Ok(&caller.organisation_id),
        _ => Err(forbidden("Hendelsesstrømmen er for organisasjonens kvalitetsrådgiver og kvalitetssystem.")),
    }
}

/// What connects an organisation to its quality system — its machine clients, category mapping and
/// webhooks: kept by its own quality advisor, or an admin.
pub fn require_integration(caller: &Caller, organisation_id: &OrganisationId) -> Result<(), ApiError> {
    require_advisor_of(
        caller,
        organisation_id,
        "Bare organisasjonens kvalitetsrådgiver eller en administrator kan se og endre koblingen til kvalitetssystemet.",
    )
}

/// Who may list the people a case of `organisation_id` can be assigned to: its quality advisors
/// (who acknowledge and assign) and admins.
pub fn require_assigning(caller: &Caller, organisation_id: &OrganisationId) -> Result<(), ApiError> {
    require_advisor_of(
        caller,
        organisation_id,
        "Bare organisasjonens kvalitetsrådgiver (eller administrator) ser hvem saker kan gis til.",
    )
}

/// Who a quality advisor may assign a case to: active handlers and quality advisors of the
/// receiving organisation.
pub fn may_be_assigned(user: &crate::db::users::UserRow, receiving_organisation_id: &OrganisationId) -> bool {
    user.active
        && !user.machine
        && user.organisation_id == *receiving_organisation_id
        && (user.role == Role::Handler.code() || user.role == Role::QualityAdvisor.code())
}

/// What statistics were asked for: one organisation (with the helsefellesskap it belongs to,
/// looked up by the caller of this policy), one helsefellesskap, or neither.
#[derive(Debug, Clone, Default)]
pub struct StatsRequest {
    pub organisation: Option<(OrganisationId, Option<HealthCommunityId>)>,
    pub community: Option<HealthCommunityId>,
}

/// Statistics and reports. Admins and the region's analysts: the region, or any helsefellesskap or
/// organisation they name. A helsefellesskap's analysts: their helsefellesskap, or one of its
/// organisations. Quality advisors: their own organisation. Nobody else.
pub fn statistics_scope(caller: &Caller, asked: StatsRequest) -> Result<StatsScope, ApiError> {
    let own_community = || forbidden("Analytikere ser statistikk for sitt eget helsefellesskap.");
    match caller.role {
        Role::Admin | Role::Analyst if regional(caller) => Ok(match asked {
            StatsRequest { organisation: Some((org, _)), .. } => StatsScope::Organisation(org),
            StatsRequest { community: Some(c), .. } => StatsScope::Community(c),
            _ => StatsScope::All,
        }),
        Role::Analyst => {
            let Some(own) = caller.health_community_id.clone() else {
                return Err(own_community());
            };
            match asked {
                StatsRequest { organisation: Some((org, c)), .. } if c.as_ref() == Some(&own) => {
                    Ok(StatsScope::Organisation(org))
                }
                StatsRequest { organisation: Some(_), .. } => Err(own_community()),
                StatsRequest { community: Some(c), .. } if c != own => Err(own_community()),
                _ => Ok(StatsScope::Community(own)),
            }
        }
        Role::QualityAdvisor => match asked {
            StatsRequest { organisation: Some((org, _)), .. } if org != caller.organisation_id => {
                Err(forbidden("Kvalitetsrådgivere ser statistikk bare for egen organisasjon."))
            }
            StatsRequest { community: Some(_), .. } => {
                Err(forbidden("Kvalitetsrådgivere ser statistikk bare for egen organisasjon."))
            }
            _ => Ok(StatsScope::Organisation(caller.organisation_id.clone())),
        },
        _ => Err(forbidden("Statistikk er for analytikere, administratorer og kvalitetsrådgivere.")),
    }
}

pub fn may_see_statistics(caller: &Caller) -> bool {
    statistics_scope(caller, StatsRequest::default()).is_ok()
}

/// Whether the caller works from the sent and received boxes (parties do; analysts and admins
/// read statistics and the de-identified overview instead).
pub fn has_boxes(caller: &Caller) -> bool {
    may_report(caller)
}

const ROLES: [Role; 6] =
    [Role::Reporter, Role::Handler, Role::QualityAdvisor, Role::Analyst, Role::Admin, Role::PrivacyOfficer];
const RELATIONS: [(Relation, &str); 5] = [
    (Relation::OwnReport, "own report (or own unit's)"),
    (Relation::OrganisationSent, "own organisation sent"),
    (Relation::OwnCase, "own organisation holds: own unit, assigned, or no unit yet"),
    (Relation::OrganisationReceived, "own organisation holds: another unit"),
    (Relation::Outsider, "other organisation, forwarded away, other helsefellesskap"),
];

/// The permission table as Markdown: one row per relation, one column per role, the actions
/// each may take. The README carries exactly this text (a unit test compares).
pub fn permission_table() -> String {
    let mut t = String::from("| relation to the deviation |");
    for role in ROLES {
        t.push_str(&format!(" {} |", role.code()));
    }
    t.push_str("\n|---|");
    t.push_str(&"---|".repeat(ROLES.len()));
    t.push('\n');
    for (relation, label) in RELATIONS {
        t.push_str(&format!("| {label} |"));
        for role in ROLES {
            let read = match role {
                Role::Analyst => "read de-identified",
                Role::Admin | Role::PrivacyOfficer => "—",
                _ if relation == Relation::Outsider => "—",
                _ => "read",
            };
            let mut actions: Vec<&str> =
                Action::ALL.iter().filter(|(a, _)| may_as(role, relation, *a)).map(|(_, code)| *code).collect();
            if may_see_patient_as(role, relation) {
                actions.push("reveal patient");
            }
            let cell = if actions.is_empty() { read.to_owned() } else { format!("{read}, {}", actions.join(", ")) };
            t.push_str(&format!(" {cell} |"));
        }
        t.push('\n');
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "org-a";
    const OTHER: &str = "org-b";

    const HF: &str = "hf-1";

    fn caller(role: Role, org: &str, unit: Option<&str>) -> Caller {
        in_community(role, org, unit, Some(HF))
    }

    fn in_community(role: Role, org: &str, unit: Option<&str>, hf: Option<&str>) -> Caller {
        Caller {
            user_id: format!("user-{}-{org}", role.code()).into(),
            email: String::new(),
            name: String::new(),
            organisation_id: org.into(),
            unit_id: unit.map(Into::into),
            role,
            session_epoch: 0,
            actor: Actor::Person,
            health_community_id: hf.map(Into::into),
        }
    }

    /// An id that lives as long as the test run, so party data can borrow it like a row's.
    fn id<T: From<&'static str>>(s: &str) -> &'static T {
        Box::leak(Box::new(T::from(Box::leak(s.to_owned().into_boxed_str()))))
    }

    fn parties(from: &str, reporter: &str, to: &str, to_unit: Option<&str>) -> Parties<'static> {
        Parties {
            health_community_id: id(HF),
            reporting_organisation_id: id(from),
            reporter_id: id(reporter),
            reporting_unit_id: Some(id("unit-reporting")),
            recipient_organisation_id: id(to),
            recipient_unit_id: to_unit.map(id),
            handler_id: None,
        }
    }

    /// Each relation of the issue, built from real party data, for a caller of `role` in ORG.
    fn situations(role: Role) -> Vec<(&'static str, Caller, Parties<'static>, Relation)> {
        let me = caller(role, ORG, Some("unit-mine"));
        let my_id = me.user_id.to_string();
        vec![
            ("own report", me.clone(), parties(ORG, &my_id, OTHER, None), Relation::OwnReport),
            ("own organisation sent", me.clone(), parties(ORG, "someone", OTHER, None), Relation::OrganisationSent),
            ("received, own unit", me.clone(), parties(OTHER, "x", ORG, Some("unit-mine")), Relation::OwnCase),
            ("received, no unit yet", me.clone(), parties(OTHER, "x", ORG, None), Relation::OwnCase),
            (
                "received, other unit",
                me.clone(),
                parties(OTHER, "x", ORG, Some("unit-other")),
                Relation::OrganisationReceived,
            ),
            ("forwarded away", me.clone(), parties(OTHER, "x", "org-c", None), Relation::Outsider),
            ("other organisation", caller(role, "org-d", None), parties(ORG, "x", OTHER, None), Relation::Outsider),
            (
                "other helsefellesskap",
                in_community(role, "org-in-another-hf", None, Some("hf-2")),
                parties(ORG, "x", OTHER, None),
                Relation::Outsider,
            ),
        ]
    }

    /// The whole matrix: role × relation × action, and what each may read.
    #[test]
    fn the_matrix() {
        use Action::*;
        // (role, relation) → the actions allowed; every other combination is refused.
        let allowed = |role: Role, relation: Relation| -> Vec<Action> {
            match (role, relation) {
                (Role::Reporter, Relation::OwnReport) => vec![Close, Reopen, Comment],
                (Role::Handler, Relation::OwnReport) => vec![Close, Reopen, Comment],
                (Role::QualityAdvisor, Relation::OwnReport | Relation::OrganisationSent) => {
                    vec![Close, Reopen, Comment]
                }
                (Role::QualityAdvisor, Relation::OwnCase | Relation::OrganisationReceived) => {
                    vec![Acknowledge, Forward, Reject, Answer, Comment]
                }
                (Role::Handler, Relation::OwnCase) => vec![Answer, Comment],
                (Role::Reporter | Role::Handler, r) if r != Relation::Outsider => vec![Comment],
                _ => vec![],
            }
        };
        let mut checked = 0;
        for role in ROLES {
            for (name, who, d, relation) in situations(role) {
                assert_eq!(super::relation(&who, d), relation, "{name}");
                let expected_view = match role {
                    Role::Analyst if name == "other helsefellesskap" => None,
                    Role::Analyst => Some(View::Deidentified),
                    Role::Admin | Role::PrivacyOfficer => None,
                    _ if relation == Relation::Outsider => None,
                    _ => Some(View::Full),
                };
                assert_eq!(view(&who, d), expected_view, "{} / {name}: view", role.code());
                for (action, code) in Action::ALL {
                    let want = allowed(role, relation).contains(action);
                    assert_eq!(may(&who, d, *action), want, "{} / {name} / {code}", role.code());
                    checked += 1;
                }
                // Patient identity: the README's «reveal patient», cell by cell; never a machine.
                let reveal = matches!(
                    (role, relation),
                    (Role::QualityAdvisor, Relation::OwnReport | Relation::OrganisationSent)
                        | (Role::QualityAdvisor, Relation::OwnCase | Relation::OrganisationReceived)
                        | (Role::Handler, Relation::OwnReport | Relation::OwnCase)
                );
                assert_eq!(may_see_patient(&who, d), reveal, "{} / {name} / reveal patient", role.code());
                let machine = Caller { actor: Actor::Machine(crate::auth::caller::ClientScopes::default()), ..who };
                let all = crate::auth::caller::ClientScopes { read: true, write: true, feed: true };
                assert!(!may_see_patient(&machine, d), "{} / {name}: a machine never", role.code());
                assert!(!may_see_patient(&Caller { actor: Actor::Machine(all), ..machine }, d));
                checked += 1;
            }
        }
        assert_eq!(checked, 6 * 8 * 8);
    }

    /// Analyses: role × (participant or not) × (own or another helsefellesskap), persons and machines.
    #[test]
    fn the_analysis_matrix() {
        let community: HealthCommunityId = HF.into();
        for role in ROLES {
            for participant in [false, true] {
                for (own, who) in
                    [(true, caller(role, ORG, None)), (false, in_community(role, ORG, None, Some("hf-2")))]
                {
                    let group = role == Role::Analyst && own;
                    assert_eq!(in_improvement_group(&who, &community), group, "{} own={own}", role.code());
                    let want = participant || group;
                    assert_eq!(
                        may_work_on_analysis(&who, &community, participant),
                        want,
                        "{} participant={participant} own={own}",
                        role.code()
                    );
                    let machine =
                        Caller { actor: Actor::Machine(crate::auth::caller::ClientScopes::default()), ..who.clone() };
                    assert!(!may_work_on_analysis(&machine, &community, participant), "never a machine");
                    assert!(!may_start_analysis(&machine));
                }
            }
            let starts = matches!(role, Role::QualityAdvisor | Role::Analyst);
            assert_eq!(may_start_analysis(&caller(role, ORG, None)), starts, "{}", role.code());
        }
        // The region's analysts are every helsefellesskap's improvement group.
        assert!(in_improvement_group(&in_community(Role::Analyst, "region", None, None), &community));
    }

    /// Actions: role × (responsible, of the responsible organisation, on the analysis, none of
    /// these) × (own or another helsefellesskap), persons and machines.
    #[test]
    fn the_rating_matrix() {
        for role in ROLES {
            for (what, who, d, relation) in situations(role) {
                let cell = format!("{} {what}", role.code());
                let reporter = who.user_id == *d.reporter_id;
                assert_eq!(may_rate(&who, d), reporter, "{cell}");
                let recipient = matches!(relation, Relation::OwnCase | Relation::OrganisationReceived)
                    && view(&who, d) == Some(View::Full);
                let want = match (reporter, recipient, role) {
                    (true, ..) | (_, true, Role::QualityAdvisor) => Some(RatingView::WithComment),
                    (_, true, _) => Some(RatingView::Score),
                    _ => None,
                };
                assert_eq!(rating_view(&who, d), want, "{cell}");
                let machine = Caller { actor: Actor::Machine(crate::auth::caller::ClientScopes::default()), ..who };
                assert!(!may_rate(&machine, d) && rating_view(&machine, d).is_none(), "never a machine: {cell}");
            }
        }
    }

    #[test]
    fn the_learning_note_matrix() {
        let community: HealthCommunityId = HF.into();
        for role in ROLES {
            for (own, who) in [
                (Some(true), caller(role, ORG, None)),
                (Some(false), in_community(role, ORG, None, Some("hf-2"))),
                (None, in_community(role, ORG, None, None)),
            ] {
                let reach = own != Some(false);
                let group = role == Role::Analyst && reach;
                for (author, published) in [(true, true), (true, false), (false, true), (false, false)] {
                    let by: UserId = if author { who.user_id.clone() } else { "someone-else".into() };
                    let cell = format!("{} own={own:?} author={author} published={published}", role.code());
                    let may_unpublish = author || group;
                    assert_eq!(may_unpublish_learning_note(&who, &community, &by), may_unpublish, "{cell}");
                    let want = (published && reach) || may_unpublish;
                    assert_eq!(may_read_learning_note(&who, &community, published, &by), want, "{cell}");
                    let machine =
                        Caller { actor: Actor::Machine(crate::auth::caller::ClientScopes::default()), ..who.clone() };
                    assert!(!may_read_learning_note(&machine, &community, published, &by), "never a machine");
                }
                assert_eq!(learning_notes_listed(&who), Some(who.health_community_id.as_ref()));
            }
        }
    }

    #[test]
    fn the_action_matrix() {
        let community: HealthCommunityId = HF.into();
        for role in ROLES {
            for (own, who) in [(true, caller(role, ORG, None)), (false, in_community(role, ORG, None, Some("hf-2")))] {
                let group = role == Role::Analyst && own;
                for relation in ["responsible", "organisation", "analysis", "none"] {
                    let responsible: UserId = match relation {
                        "responsible" => who.user_id.clone(),
                        _ => "someone-else".into(),
                    };
                    let org: OrganisationId = match relation {
                        "responsible" | "organisation" => ORG.into(),
                        _ => OTHER.into(),
                    };
                    let a = ActionParties {
                        health_community_id: &community,
                        responsible_organisation_id: &org,
                        responsible_user_id: &responsible,
                        works_on_analysis: relation == "analysis",
                    };
                    let want = group
                        || matches!(relation, "responsible" | "analysis")
                        || (relation == "organisation" && role == Role::QualityAdvisor);
                    assert_eq!(may_work_on_action(&who, a), want, "{} {relation} own={own}", role.code());
                    let machine =
                        Caller { actor: Actor::Machine(crate::auth::caller::ClientScopes::default()), ..who.clone() };
                    assert!(!may_work_on_action(&machine, a), "never a machine");
                    assert!(!may_create_action(&machine, &community, None));
                    assert!(actions_listed(&machine).is_none());
                }
                assert_eq!(may_create_action(&who, &community, None), group, "{} directly", role.code());
                assert!(may_create_action(&who, &community, Some(true)), "{} as a participant", role.code());
                assert_eq!(may_create_action(&who, &community, Some(false)), group, "{} not taking part", role.code());
            }
        }
    }

    #[test]
    fn assigned_by_name_is_own_case_even_in_another_unit() {
        let me = caller(Role::Handler, ORG, Some("unit-mine"));
        let mut d = parties(OTHER, "x", ORG, Some("unit-other"));
        assert!(!may(&me, d, Action::Answer));
        d.handler_id = Some(&me.user_id);
        assert!(may(&me, d, Action::Answer));
    }

    #[test]
    fn the_regions_analysts_see_every_helsefellesskap_and_its_statistics() {
        let regional = in_community(Role::Analyst, "region", None, None);
        let elsewhere = Parties { health_community_id: id("hf-9"), ..parties(ORG, "x", OTHER, None) };
        assert_eq!(view(&regional, elsewhere), Some(View::Deidentified));
        assert!(matches!(list_scope(&regional), Scope::All));
        assert_eq!(statistics_scope(&regional, StatsRequest::default()).unwrap(), StatsScope::All);
        let asked = StatsRequest { community: Some("hf-9".into()), ..Default::default() };
        assert_eq!(statistics_scope(&regional, asked.clone()).unwrap(), StatsScope::Community("hf-9".into()));
        // A helsefellesskap's analyst: their own only.
        let local = caller(Role::Analyst, "fg", None);
        assert_eq!(view(&local, elsewhere), None);
        assert_eq!(statistics_scope(&local, StatsRequest::default()).unwrap(), StatsScope::Community(HF.into()));
        assert_eq!(statistics_scope(&local, asked).unwrap_err().status.as_u16(), 403);
        let other_org = StatsRequest { organisation: Some(("o".into(), Some("hf-9".into()))), community: None };
        assert_eq!(statistics_scope(&local, other_org).unwrap_err().status.as_u16(), 403);
        let own_org = StatsRequest { organisation: Some(("o".into(), Some(HF.into()))), community: None };
        assert_eq!(statistics_scope(&local, own_org).unwrap(), StatsScope::Organisation("o".into()));
        assert_eq!(organisations_visible(&local, false), Some(HF.into()));
        assert_eq!(organisations_visible(&regional, false), None);
    }

    #[test]
    fn list_scope_agrees_with_view() {
        for role in ROLES {
            let me = caller(role, ORG, None);
            match (list_scope(&me), role) {
                (Scope::Community(c), Role::Analyst) => assert_eq!(c.as_str(), HF),
                (Scope::Nothing, Role::Admin | Role::PrivacyOfficer) => {}
                (Scope::Organisation(o), Role::Reporter | Role::Handler | Role::QualityAdvisor) => {
                    assert_eq!(o.as_str(), ORG)
                }
                (s, r) => panic!("{} gets {s:?}", r.code()),
            }
        }
    }

    #[test]
    fn the_readme_shows_this_policy() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let table = permission_table();
        assert!(readme.contains(&table), "README's permission table differs from the policy; put this in:\n{table}");
    }
}
