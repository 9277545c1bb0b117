//! Nyhetsbrev fra Forbedringsgruppa (#36): once per tertial (with the tertial report job) and when
//! the improvement group asks, a mail to every subscriber of a helsefellesskap with the tertial's
//! key figures, the learning notes published in it and the actions that took effect. Nothing from
//! a deviation's free text is in it. People opt in and out themselves (profile page, API); each
//! mail carries a signed one-click unsubscribe link (RFC 8058) that works without logging in.
//!
//! The link signs the user and the moment they subscribed, so it stops working when they
//! unsubscribe (replayed: «allerede avmeldt») and an old one does not end a new subscription.
//! Each subscriber's mail is one outbox row under `{issue}:{user}`: several instances running the
//! job queue it once.

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use std::fmt::Write;

use crate::auth::Caller;
use crate::config::Config;
use crate::db::health_communities::HealthCommunityRow;
use crate::db::outbox::OutboxRow;
use crate::db::stats::StatsScope;
use crate::db::DbConnection;
use crate::deviations::form::Errors;
use crate::domain::calendar::oslo_date;
use crate::domain::period::Period;
use crate::error::ApiError;
use crate::ids::{HealthCommunityId, UserId};
use crate::policy;
use crate::stats::report::{direction_label, esc, num, Lesson, Report};

const UNSUBSCRIBE: &[u8] = b"samavvik-newsletter-unsubscribe:";
pub const TEMPLATE: &str = "newsletter";

/// Whether the caller takes the newsletter, and since when.
pub fn subscription(conn: &mut DbConnection, caller: &Caller) -> Result<Option<NaiveDateTime>, ApiError> {
    person(caller)?;
    Ok(crate::db::users::newsletter_since(conn, &caller.user_id)?)
}

/// Opts in (keeping the first moment, so links already sent keep working) or out.
pub fn subscribe(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    caller: &Caller,
    on: bool,
) -> Result<Option<NaiveDateTime>, ApiError> {
    let since = subscription(conn, caller)?;
    // Whole seconds: what both databases store and give back the same, so a link verifies.
    let next = on.then(|| since.unwrap_or(now.with_nanosecond(0).unwrap_or(now)));
    crate::db::write_tx(conn, |c| Ok(crate::db::users::set_newsletter(c, &caller.user_id, next)?))?;
    Ok(next)
}

fn person(caller: &Caller) -> Result<(), ApiError> {
    match policy::may_take_newsletter(caller) {
        true => Ok(()),
        false => Err(ApiError::forbidden("Nyhetsbrevet er for personer, ikke for kvalitetssystemer.")),
    }
}

fn signed(user: &UserId, since: NaiveDateTime) -> String {
    format!("{user}:{}", since.and_utc().timestamp())
}

/// The subscriber's one-click unsubscribe address.
pub fn unsubscribe_url(config: &Config, user: &UserId, since: NaiveDateTime) -> String {
    let tag = crate::keyed::tag(config.jwt_secret.as_bytes(), UNSUBSCRIBE, signed(user, since).as_bytes());
    format!("{}/nyhetsbrev/avmeld?bruker={user}&signatur={tag}", config.public_base_url.trim_end_matches('/'))
}

/// What an unsubscribe link is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// It is the subscriber's: it unsubscribes (or, read without confirming, may).
    Valid,
    /// Its user does not take the newsletter (any more): used before, or unsubscribed otherwise.
    AlreadyOut,
    /// Not signed by us for this subscription: tampered with, or from before a new subscription.
    Invalid,
}

/// Checks a link and, when `confirm`ed and valid, unsubscribes its user.
pub fn by_link(
    conn: &mut DbConnection,
    config: &Config,
    user: &str,
    tag: &str,
    confirm: bool,
) -> Result<Link, ApiError> {
    let Ok(user) = uuid::Uuid::parse_str(user).map(|u| UserId::from(u.to_string())) else { return Ok(Link::Invalid) };
    let since = match crate::db::users::newsletter_since(conn, &user) {
        Ok(since) => since,
        Err(diesel::result::Error::NotFound) => return Ok(Link::Invalid),
        Err(other) => return Err(other.into()),
    };
    let Some(since) = since else { return Ok(Link::AlreadyOut) };
    if !crate::keyed::verify(config.jwt_secret.as_bytes(), UNSUBSCRIBE, signed(&user, since).as_bytes(), tag) {
        return Ok(Link::Invalid);
    }
    if confirm {
        crate::db::write_tx(conn, |c| Ok(crate::db::users::set_newsletter(c, &user, None)?))?;
    }
    Ok(Link::Valid)
}

/// One issue's content, the same for every subscriber of its helsefellesskap.
pub struct Issue {
    pub community: String,
    pub tertial: Period,
    pub report: Report,
    /// The actions that took effect in the tertial: (title, organisation, day).
    pub actions: Vec<(String, String, NaiveDate)>,
}

impl Issue {
    pub fn build(
        conn: &mut DbConnection,
        community: &HealthCommunityRow,
        tertial: Period,
        threshold: i64,
        today: NaiveDate,
    ) -> Result<Issue, ApiError> {
        let scope = StatsScope::Community(community.id.clone());
        let report = Report::build(conn, tertial, &scope, threshold, today)?;
        let until = tertial.end().pred_opt().unwrap_or(tertial.end()).min(today);
        let mut actions = Vec::new();
        for row in crate::db::actions::with_effect(conn, Some(&community.id), None, tertial.start(), until)? {
            let organisation = crate::db::organisations::find(conn, &row.responsible_organisation_id)?.name;
            actions.push((row.title, organisation, row.effective_on.unwrap_or(until)));
        }
        Ok(Issue { community: community.name.clone(), tertial, report, actions })
    }

    pub fn subject(&self) -> String {
        format!("Nyhetsbrev fra Forbedringsgruppa – {} – {}", self.community, self.tertial)
    }

    /// The key figures as lines of text: totals, directions, handling time, the categories with
    /// most deviations, and the largest changes since the tertial before.
    fn figures(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let r = &self.report;
        let now = r.overall();
        let mut key = vec![format!("Meldte avvik: {} (forrige tertial: {})", now.total, now.previous.total)];
        if let Some(dirs) = r.breakdown("direction") {
            for g in &dirs.groups {
                let code = g.key.get("direction").cloned().flatten().unwrap_or_default();
                key.push(format!("{}: {}", direction_label(&code), shown(g.count, now.suppression_threshold)));
            }
        }
        key.push(match (now.answer_days.median, now.within_deadline_share) {
            (Some(median), Some(share)) => format!(
                "Besvart på median {} virkedager; {:.0} % besvart innen fristen",
                num(Some(median)),
                share * 100.0
            ),
            _ => "Ingen avvik fra tertialet er besvart ennå".to_owned(),
        });
        let mut categories: Vec<(String, Option<i64>, i64)> = r
            .categories()
            .into_iter()
            .map(|(code, label, count, previous)| (label.unwrap_or(code), count, previous))
            .collect();
        categories.sort_by_key(|(label, count, _)| (std::cmp::Reverse(count.unwrap_or(0)), label.clone()));
        let top = categories
            .iter()
            .take(5)
            .map(|(label, count, _)| format!("{label}: {}", shown(*count, now.suppression_threshold)))
            .collect();
        let mut changes: Vec<(&String, i64)> =
            categories.iter().filter_map(|(label, count, before)| count.map(|c| (label, c - before))).collect();
        changes.retain(|(_, d)| *d != 0);
        changes.sort_by_key(|(label, d)| (std::cmp::Reverse(d.abs()), (*label).clone()));
        let changes = changes.iter().take(3).map(|(label, d)| format!("{label}: {d:+}")).collect();
        (key, top, changes)
    }

    /// The mail for one subscriber: subject, text and HTML.
    pub fn render(&self, unsubscribe: &str, profile: &str) -> (String, String, String) {
        let (key, top, changes) = self.figures();
        let lessons: &[Lesson] = &self.report.learning;
        let mut text = format!("{}\n\nNøkkeltall for {}\n", self.subject(), self.tertial);
        let mut html = format!(
            "<!doctype html><html lang=\"nb\"><head><meta charset=\"utf-8\"><title>{0}</title></head><body>\
             <h1>{0}</h1><h2>Nøkkeltall for {1}</h2><ul>",
            esc(&self.subject()),
            self.tertial
        );
        let list = |text: &mut String, html: &mut String, heading: &str, items: &[String], empty: &str| {
            let _ = write!(text, "\n{heading}\n");
            let _ = write!(html, "<h2>{}</h2>", esc(heading));
            if items.is_empty() {
                let _ = writeln!(text, "{empty}");
                let _ = write!(html, "<p>{}</p>", esc(empty));
                return;
            }
            html.push_str("<ul>");
            for i in items {
                let _ = writeln!(text, "- {i}");
                let _ = write!(html, "<li>{}</li>", esc(i));
            }
            html.push_str("</ul>");
        };
        for k in &key {
            let _ = writeln!(text, "- {k}");
            let _ = write!(html, "<li>{}</li>", esc(k));
        }
        html.push_str("</ul>");
        list(&mut text, &mut html, "Kategoriene med flest avvik", &top, "Ingen avvik i tertialet.");
        list(&mut text, &mut html, "Største endringer fra forrige tertial", &changes, "Ingen endringer å melde.");
        let _ = write!(text, "\nLæring fra hendelsesanalysene\n");
        html.push_str("<h2>Læring fra hendelsesanalysene</h2>");
        if lessons.is_empty() {
            text.push_str("Ingen nye læringsnotater i tertialet.\n");
            html.push_str("<p>Ingen nye læringsnotater i tertialet.</p>");
        }
        for l in lessons {
            let _ = write!(text, "\n{} ({})\n{}\n", l.title, l.organisation, l.what_changed);
            let _ = write!(
                html,
                "<h3>{}</h3><p>{}</p><p>{}</p>",
                esc(&l.title),
                esc(&l.organisation),
                esc(&l.what_changed)
            );
        }
        let done: Vec<String> = self
            .actions
            .iter()
            .map(|(title, org, day)| format!("{title} ({org}), virkning fra {}", day.format("%d.%m.%Y")))
            .collect();
        list(&mut text, &mut html, "Tiltak som er gjennomført", &done, "Ingen tiltak fikk virkning i tertialet.");
        let _ = write!(
            text,
            "\nDu får dette fordi du har meldt deg på nyhetsbrevet.\nMeld deg av: {unsubscribe}\nInnstillinger: {profile}\n"
        );
        let _ = write!(
            html,
            "<hr><p>Du får dette fordi du har meldt deg på nyhetsbrevet. <a href=\"{}\">Meld deg av</a> · \
             <a href=\"{}\">Innstillinger</a></p></body></html>",
            esc(unsubscribe),
            esc(profile)
        );
        (self.subject(), text, html)
    }
}

fn shown(count: Option<i64>, threshold: i64) -> String {
    count.map_or_else(|| format!("under {threshold}"), |c| c.to_string())
}

/// Queues `issue` for `subscribers` (`db::users::newsletter_subscribers`), each once under
/// `{key}:{user}`. Returns how many this call queued.
pub fn enqueue(
    conn: &mut DbConnection,
    config: &Config,
    now: NaiveDateTime,
    issue: &Issue,
    key: &str,
    subscribers: Vec<(UserId, String, NaiveDateTime)>,
) -> Result<usize, ApiError> {
    let base = config.public_base_url.trim_end_matches('/');
    let mut queued = 0;
    for (user, email, since) in subscribers {
        let link = unsubscribe_url(config, &user, since);
        let (subject, text, html) = issue.render(&link, &format!("{base}/profil"));
        let row = OutboxRow {
            subject,
            body_text: text,
            body_html: html,
            list_unsubscribe: Some(link),
            ..OutboxRow::pending(format!("{key}:{user}"), TEMPLATE, email, String::new(), now)
        };
        queued += usize::from(crate::db::write_tx(conn, |c| Ok(crate::db::outbox::insert_once(c, &row)?))?);
    }
    Ok(queued)
}

/// The tertial job: after a tertial has ended, each helsefellesskap's issue to those subscribed
/// before it ended, once.
pub fn enqueue_tertial(conn: &mut DbConnection, config: &Config, now: NaiveDateTime) -> Result<usize, ApiError> {
    let today = oslo_date(now);
    let tertial = Period::tertial_of(today).previous();
    let ended = crate::domain::calendar::oslo_midnight_utc(tertial.end());
    let mut queued = 0;
    for community in crate::db::health_communities::list(conn)? {
        let key = format!("newsletter:{tertial}:{}", community.id);
        // The job asks every interval: the figures are computed only while someone still waits.
        let subscribers = crate::db::users::newsletter_subscribers(conn, &community.id, Some(ended))?;
        let keys: Vec<String> = subscribers.iter().map(|(user, ..)| format!("{key}:{user}")).collect();
        if crate::db::outbox::existing_keys(conn, &keys)?.len() == keys.len() {
            continue;
        }
        let issue = Issue::build(conn, &community, tertial, config.suppression_threshold, today)?;
        queued += enqueue(conn, config, now, &issue, &key, subscribers)?;
    }
    Ok(queued)
}

/// What the improvement group asks for: an issue now, of their helsefellesskap (the region's
/// analysts name one) and a tertial (by default the one under way, to this day).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendNow {
    #[serde(default)]
    pub health_community_id: Option<HealthCommunityId>,
    #[serde(default)]
    pub tertial: Option<String>,
}

/// The issue sent on demand: to every subscriber now, once per request.
pub fn send_now(
    conn: &mut DbConnection,
    config: &Config,
    now: NaiveDateTime,
    caller: &Caller,
    input: &SendNow,
) -> Result<(Period, HealthCommunityRow, usize), ApiError> {
    if !policy::improvement_group_member(caller) {
        return Err(ApiError::forbidden("Nyhetsbrevet sendes av forbedringsgruppa."));
    }
    let mut e = Errors::default();
    let today = oslo_date(now);
    let tertial = match input.tertial.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => Some(Period::tertial_of(today)),
        // One not begun yet has no figures: that is what it says, as the report would.
        Some(t) => Period::parse_tertial(t).or_else(|| {
            e.add("tertial", "invalid_period", "Skriv tertialet som for eksempel 2026-T2.");
            None
        }),
    };
    let wanted = input.health_community_id.as_ref().and_then(HealthCommunityId::non_blank);
    let community = match wanted.or_else(|| caller.health_community_id.clone()) {
        Some(id) => match crate::db::health_communities::find(conn, &id) {
            Ok(c) if policy::in_improvement_group(caller, &c.id) => Some(c),
            Ok(_) | Err(diesel::result::Error::NotFound) => {
                e.add(
                    "health_community_id",
                    "unknown_health_community",
                    "Velg et helsefellesskap du er forbedringsgruppe for.",
                );
                None
            }
            Err(other) => return Err(other.into()),
        },
        None => {
            e.add("health_community_id", "required", "Velg hvilket helsefellesskap nyhetsbrevet gjelder.");
            None
        }
    };
    e.into_result(())?;
    let (Some(tertial), Some(community)) = (tertial, community) else {
        return Err(ApiError::internal(anyhow::anyhow!("a newsletter checked without its tertial or helsefellesskap")));
    };
    let issue = Issue::build(conn, &community, tertial, config.suppression_threshold, today)?;
    let key = format!("newsletter:{tertial}:{}:{}", community.id, uuid::Uuid::now_v7());
    let subscribers = crate::db::users::newsletter_subscribers(conn, &community.id, None)?;
    let queued = enqueue(conn, config, now, &issue, &key, subscribers)?;
    Ok((tertial, community, queued))
}
