//! The change feed: an organisation's events, oldest first, read from a cursor. The guarantee a
//! consumer relies on — reading on from the last cursor never misses an entry — lives in
//! `db::feed` and migration 000015.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::feed::{self, Position};
use crate::db::DbConnection;
use crate::deviations::view::utc;
use crate::error::ApiError;
use crate::ids::{DeviationId, OrganisationId};

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    pub after: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct FeedEvent {
    /// The event's id: the same in every organisation's feed and in webhook deliveries.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub deviation_id: DeviationId,
    pub reference: String,
    pub occurred_at: DateTime<Utc>,
    /// The deviation's status after the event.
    pub status: String,
    /// Where to go on from, if the consumer stops after this event.
    pub cursor: String,
}

#[derive(Debug, Serialize)]
pub struct FeedPage {
    pub items: Vec<FeedEvent>,
    pub next_cursor: String,
}

/// A cursor names its organisation, so one handed to another organisation is refused rather than
/// silently read as a position in a different feed.
fn encode(organisation_id: &OrganisationId, at: Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("{organisation_id}:{}:{}", at.tx, at.position))
}

fn decode(organisation_id: &OrganisationId, cursor: &str) -> Result<Position, ApiError> {
    let unknown = || {
        ApiError::field(
            "after",
            "invalid_cursor",
            "Markøren er ukjent. Bruk next_cursor fra forrige svar, eller les fra begynnelsen uten after.",
        )
    };
    let text =
        URL_SAFE_NO_PAD.decode(cursor.trim()).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(unknown)?;
    let mut parts = text.split(':');
    let (Some(organisation), Some(tx), Some(position), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unknown());
    };
    let (tx, position) = match (tx.parse::<i64>(), position.parse::<i64>()) {
        (Ok(tx), Ok(position)) if tx >= 0 && position >= 0 => (tx, position),
        _ => return Err(unknown()),
    };
    if organisation != organisation_id.as_str() {
        return Err(ApiError::field(
            "after",
            "invalid_cursor",
            "Markøren hører til en annen organisasjons hendelser. Les fra begynnelsen uten after.",
        ));
    }
    Ok(Position { tx, position })
}

pub fn read(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    query: &FeedQuery,
) -> Result<FeedPage, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field("limit", "out_of_range", format!("Må være mellom 1 og {MAX_LIMIT}.")));
    }
    let from = match &query.after {
        Some(cursor) => decode(organisation_id, cursor)?,
        None => Position::default(),
    };
    let entries = feed::after(conn, organisation_id, from, limit)?;
    let last = entries.last().map(|e| Position { tx: e.tx, position: e.position }).unwrap_or(from);
    let items = entries
        .into_iter()
        .map(|e| FeedEvent {
            cursor: encode(organisation_id, Position { tx: e.tx, position: e.position }),
            id: e.event_id,
            kind: e.kind,
            deviation_id: e.deviation_id,
            reference: e.reference,
            occurred_at: utc(e.occurred_at),
            status: e.status,
        })
        .collect();
    Ok(FeedPage { items, next_cursor: encode(organisation_id, last) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_only_for_its_organisation() {
        let ours = OrganisationId::generate();
        let at = Position { tx: 812, position: 4711 };
        let cursor = encode(&ours, at);
        assert_eq!(decode(&ours, &cursor).unwrap(), at);
        let theirs = decode(&OrganisationId::generate(), &cursor).unwrap_err();
        assert!(theirs.to_string().contains("annen organisasjon"), "{theirs}");
        for bad in ["", "!!", "bm90IGEgY3Vyc29y", &URL_SAFE_NO_PAD.encode(format!("{ours}:1:-2"))] {
            assert!(decode(&ours, bad).unwrap_err().to_string().contains("ukjent"), "{bad}");
        }
    }
}
