//! The list query: mailbox, filters, sorting and keyset pagination.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::form::Errors;
use super::view::{self, Deviation, Names};
use crate::auth::Caller;
use crate::db::deviations::{self, ListFilter, Mailbox, Sort, CURSOR_TIME_FORMAT};
use crate::db::DbConnection;
use crate::domain::calendar::oslo_today;
use crate::domain::{Code, Direction, Status};
use crate::error::ApiError;
use crate::ids::{OrganisationId, UnitId};
use crate::policy::{deidentified, list_scope};

pub const DEFAULT_LIMIT: i64 = 25;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(rename = "box")]
    pub mailbox: Option<String>,
    /// One status or several separated by commas.
    pub status: Option<String>,
    pub category: Option<String>,
    pub direction: Option<String>,
    pub counterpart_organisation_id: Option<OrganisationId>,
    pub unit_id: Option<UnitId>,
    pub overdue: Option<bool>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DeviationPage {
    pub items: Vec<Deviation>,
    pub next_cursor: Option<String>,
}

fn date(e: &mut Errors, field: &str, v: Option<&str>) -> Option<NaiveDate> {
    let v = v?;
    let parsed = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok();
    if parsed.is_none() {
        e.add(field, "invalid_date", "Skriv datoen som ÅÅÅÅ-MM-DD.");
    }
    parsed
}

/// Cursors are opaque to clients: hex of "sort value|id".
fn encode_cursor(value: &str, id: &str) -> String {
    hex::encode(format!("{value}|{id}"))
}

fn decode_cursor(cursor: &str) -> Option<(String, String)> {
    let text = String::from_utf8(hex::decode(cursor).ok()?).ok()?;
    let (value, id) = text.split_once('|')?;
    Some((value.to_owned(), id.to_owned()))
}

impl ListQuery {
    fn filter(&self, caller: &Caller, now: DateTime<Utc>) -> Result<ListFilter, ApiError> {
        let mut e = Errors::default();
        let mailbox = match self.mailbox.as_deref().unwrap_or("all") {
            "sent" => Mailbox::Sent,
            "received" => Mailbox::Received,
            "all" => Mailbox::All,
            _ => {
                e.add("box", "invalid_value", "Må være sent, received eller all.");
                Mailbox::All
            }
        };
        let statuses: Vec<String> = self
            .status
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if statuses.iter().any(|s| Status::from_code(s).is_none()) {
            e.add("status", "invalid_value", format!("Må være {}.", Status::allowed()));
        }
        if self.direction.as_deref().is_some_and(|d| Direction::from_code(d).is_none()) {
            e.add("direction", "invalid_value", format!("Må være {}.", Direction::allowed()));
        }
        let sort = match self.sort.as_deref().unwrap_or("newest") {
            "newest" => Sort::Newest,
            "oldest" => Sort::Oldest,
            "deadline" => Sort::Deadline,
            _ => {
                e.add("sort", "invalid_value", "Må være newest, oldest eller deadline.");
                Sort::Newest
            }
        };
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            e.add("limit", "out_of_range", format!("Må være mellom 1 og {MAX_LIMIT}."));
        }
        // An empty cursor is no cursor: the first page, as an absent `next_cursor` would say.
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => {
                let decoded = decode_cursor(c);
                if decoded.is_none() {
                    e.add("cursor", "invalid_cursor", "Ugyldig side-markør. Start fra første side.");
                }
                decoded
            }
        };
        let from = date(&mut e, "from", self.from.as_deref());
        let to = date(&mut e, "to", self.to.as_deref());
        e.into_result(())?;
        Ok(ListFilter {
            scope: list_scope(caller),
            mailbox,
            statuses,
            category: self.category.clone(),
            direction: self.direction.clone(),
            counterpart: self.counterpart_organisation_id.clone(),
            unit: self.unit_id.clone(),
            overdue: self.overdue,
            today: oslo_today(now).to_string(),
            from: from.and_then(|d| d.and_hms_opt(0, 0, 0)),
            to: to.and_then(|d| d.succ_opt()).and_then(|d| d.and_hms_opt(0, 0, 0)),
            q: self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned),
            search_text: !deidentified(caller),
            sort,
            after,
            limit,
        })
    }
}

pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    query: &ListQuery,
    now: DateTime<Utc>,
) -> Result<DeviationPage, ApiError> {
    let filter = query.filter(caller, now)?;
    let rows = deviations::list(conn, &filter)?;
    let next_cursor = (rows.len() as i64 == filter.limit).then(|| rows.last()).flatten().map(|last| {
        let value = match filter.sort {
            Sort::Deadline => last.answer_due.clone(),
            _ => last.submitted_at.format(CURSOR_TIME_FORMAT).to_string(),
        };
        encode_cursor(&value, last.id.as_str())
    });
    let names = Names::for_deviations(conn, &rows, &caller.organisation_id)?;
    let hide = deidentified(caller);
    let items = rows.into_iter().map(|r| view::deviation(r, &names, caller, hide, now)).collect();
    Ok(DeviationPage { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = encode_cursor("2026-11-23T10:00:00.123", "01a2-ff");
        assert_eq!(decode_cursor(&c), Some(("2026-11-23T10:00:00.123".into(), "01a2-ff".into())));
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(decode_cursor("414"), None);
        assert_eq!(decode_cursor(""), None);
    }
}
