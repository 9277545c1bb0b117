//! The change feed's entries (migration 000015 says how reading with the last cursor never misses
//! an entry on either database). Written only by `events::insert`, in the event's transaction.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use super::events::EventRow;
use super::schema::deviations::dsl as d;
use super::schema::feed_entries::{self, dsl as f};
use super::DbConnection;
use crate::ids::{DeviationId, OrganisationId};

#[derive(Insertable)]
#[diesel(table_name = feed_entries)]
struct NewEntry<'a> {
    organisation_id: &'a OrganisationId,
    event_id: &'a str,
    deviation_id: &'a DeviationId,
    kind: &'a str,
    status: &'a str,
    occurred_at: NaiveDateTime,
}

/// One entry as a consumer gets it, with the deviation's reference as it is now.
#[derive(Debug, Clone, Queryable)]
pub struct Entry {
    pub tx: i64,
    pub position: i64,
    pub event_id: String,
    pub deviation_id: DeviationId,
    pub kind: String,
    pub status: String,
    pub occurred_at: NaiveDateTime,
    pub reference: String,
}

/// Where a consumer stands: after the entry at (tx, position); (0, 0) is the beginning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub tx: i64,
    pub position: i64,
}

/// Adds the event to the feed of each organisation that is a party to it now: the reporter's, the
/// recipient's (after the change the event records), and the actor's (on a forward, the one it
/// left).
pub fn record(conn: &mut DbConnection, event: &EventRow) -> QueryResult<()> {
    let (reporter, recipient, status): (OrganisationId, OrganisationId, String) = d::deviations
        .find(&event.deviation_id)
        .select((d::reporting_organisation_id, d::recipient_organisation_id, d::status))
        .first(conn)?;
    let status = event.to_status.clone().unwrap_or(status);
    let parties: BTreeSet<&OrganisationId> =
        [Some(&reporter), Some(&recipient), event.actor_organisation_id.as_ref()].into_iter().flatten().collect();
    // One statement per party (at most three): diesel's connection over both backends has no
    // multi-row insert.
    for organisation_id in parties {
        let row = NewEntry {
            organisation_id,
            event_id: &event.id,
            deviation_id: &event.deviation_id,
            kind: &event.kind,
            status: &status,
            occurred_at: event.at,
        };
        diesel::insert_into(feed_entries::table).values(&row).execute(conn)?;
        // The same parties hear of it by webhook, queued in the same transaction.
        super::webhooks::enqueue_event(conn, organisation_id, &event.id, &event.deviation_id, &event.kind, event.at)?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Horizon {
    #[diesel(sql_type = BigInt)]
    xmin: i64,
}

/// The entries a reader may be shown: on PostgreSQL those of transactions older than every one
/// still running (they are final, and any entry still to come sorts after them); on SQLite all
/// (one writer at a time, so what is committed is final). The horizon is the whole server's: a
/// write transaction left open anywhere on it — another database's too — holds every feed back
/// until it ends. That delays, never loses or reorders; samavvik's own transactions last
/// milliseconds, and `idle_in_transaction_session_timeout` bounds anyone else's.
fn horizon(conn: &mut DbConnection) -> QueryResult<i64> {
    match conn {
        DbConnection::Pg(pg) => {
            diesel::sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin")
                .get_result::<Horizon>(pg)
                .map(|h| h.xmin)
        }
        DbConnection::Sqlite(_) => Ok(i64::MAX),
    }
}

/// Up to `limit` entries of `organisation_id` after `from`, oldest first.
pub fn after(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    from: Position,
    limit: i64,
) -> QueryResult<Vec<Entry>> {
    let horizon = horizon(conn)?;
    f::feed_entries
        .inner_join(d::deviations)
        .filter(f::organisation_id.eq(organisation_id))
        // A row value, not `tx > a OR (tx = a AND position > b)`: both databases turn it into one
        // range on the (organisation_id, tx, position) index, where the OR made PostgreSQL filter
        // every entry of the organisation behind the cursor, page after page.
        .filter(
            sql::<Bool>("(feed_entries.tx, feed_entries.position) > (")
                .bind::<BigInt, _>(from.tx)
                .sql(", ")
                .bind::<BigInt, _>(from.position)
                .sql(")"),
        )
        .filter(f::tx.lt(horizon))
        .order((f::tx.asc(), f::position.asc()))
        .limit(limit)
        .select((f::tx, f::position, f::event_id, f::deviation_id, f::kind, f::status, f::occurred_at, d::reference))
        .load(conn)
}

/// The entry of `event_id` in `organisation_id`'s feed, for a webhook message about it.
pub fn entry_of(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
    event_id: &str,
) -> QueryResult<Option<Entry>> {
    f::feed_entries
        .inner_join(d::deviations)
        .filter(f::organisation_id.eq(organisation_id))
        .filter(f::event_id.eq(event_id))
        .select((f::tx, f::position, f::event_id, f::deviation_id, f::kind, f::status, f::occurred_at, d::reference))
        .first(conn)
        .optional()
}
