//! The access log's hash chain (#38): every row carries a MAC over its own fields and the MAC of
//! the row before it, in the order of `seq`, under a key derived from the server secret. The
//! database refuses changes (migrations 000012 and 000022); the chain makes what slips past that —
//! someone with the database file or a superuser — evident: a changed, removed, reordered or
//! forged row breaks the link at that row, and `verify` names the first break.
//!
//! The retention purge removes only the oldest rows, then appends a row of its own that records
//! the number and MAC of the last row it removed, so the rows that remain still link up to a
//! record the key vouches for. Rows from before the chain (migration 000022) are numbered but not
//! chained; `patient_access_log_head.chain_from` says where the chain begins.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::config::Config;
use crate::db::patients::{self, AccessRow};
use crate::db::DbConnection;
use crate::error::ApiError;

const PURPOSE: &[u8] = b"samavvik-patient-log-chain:";

/// The MAC key, and a fingerprint that names it in every row without giving it away.
#[derive(Clone)]
pub struct ChainKey {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainKey({})", self.id)
    }
}

impl ChainKey {
    pub fn from_config(config: &Config) -> Self {
        let key = crate::keyed::raw(config.jwt_secret.as_bytes(), PURPOSE, b"key");
        let id = crate::keyed::tag(&key, PURPOSE, b"key-id").chars().take(16).collect();
        ChainKey { key, id }
    }

    fn mac(&self, row: &AccessRow) -> String {
        crate::keyed::tag(&self.key, PURPOSE, canonical(row).as_bytes())
    }
}

/// The fields a MAC covers, in one unambiguous text (a JSON array).
fn canonical(r: &AccessRow) -> String {
    let at = r.at.format("%Y-%m-%d %H:%M:%S%.6f").to_string();
    let fields: [Option<&str>; 13] = [
        Some(&r.id),
        Some(&at),
        Some(r.user_id.as_str()),
        Some(&r.role),
        Some(r.organisation_id.as_str()),
        r.deviation_id.as_ref().map(|d| d.as_str()),
        Some(&r.action),
        r.reason.as_deref(),
        r.reason_text.as_deref(),
        Some(&r.result),
        r.patient_hash.as_deref(),
        Some(&r.actor_kind),
        r.prev_hash.as_deref(),
    ];
    serde_json::to_string(&(fields, r.seq)).unwrap_or_default()
}

/// A time as both databases keep it: whole microseconds.
fn stored_time(t: NaiveDateTime) -> NaiveDateTime {
    chrono::SubsecRound::trunc_subsecs(t, 6)
}

/// Appends `row` to the chain in one transaction: the head is locked, the row numbered after it,
/// linked to it and sealed with the MAC.
pub fn append(conn: &mut DbConnection, key: &ChainKey, mut row: AccessRow) -> Result<(), ApiError> {
    row.at = stored_time(row.at);
    crate::db::write_tx(conn, |c| {
        let head = patients::head_for_update(c)?;
        row.seq = Some(head.seq + 1);
        row.prev_hash = head.row_hash;
        row.key_id = Some(key.id.clone());
        row.row_hash = Some(key.mac(&row));
        patients::insert_chained(c, &row)?;
        Ok(())
    })
}

/// The purge's record: how many rows went, and the number and MAC of the last, which the first
/// remaining row links to.
pub fn purge_record(rows: usize, through_seq: i64, through_hash: Option<&str>) -> String {
    format!("rows={rows} through={through_seq} hash={}", through_hash.unwrap_or("-"))
}

fn parse_purge_record(text: &str) -> Option<(i64, Option<String>)> {
    let mut through = None;
    let mut hash = None;
    for part in text.split(' ') {
        match part.split_once('=') {
            Some(("through", n)) => through = n.parse().ok(),
            Some(("hash", "-")) => hash = Some(None),
            Some(("hash", h)) => hash = Some(Some(h.to_owned())),
            _ => {}
        }
    }
    Some((through?, hash?))
}

/// The first place where the log is not what the chain says it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The row's number in the chain (None: a row without one).
    pub seq: Option<i64>,
    pub row_id: Option<String>,
    pub problem: String,
}

/// What `verify` found.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Rows read.
    pub rows: u64,
    /// Rows whose MAC was checked with the current key.
    pub verified: u64,
    /// Chained rows made under another key (a changed server secret): linked, but their MAC not
    /// checkable here.
    pub other_key: u64,
    /// Rows from before the chain.
    pub unchained: u64,
    pub head_seq: i64,
    pub first_break: Option<Break>,
}

impl Verification {
    fn broken(mut self, row: Option<&AccessRow>, problem: &str) -> Self {
        if self.first_break.is_none() {
            self.first_break = Some(Break {
                seq: row.and_then(|r| r.seq),
                row_id: row.map(|r| r.id.clone()),
                problem: problem.to_owned(),
            });
        }
        self
    }
}

/// The result in words, for the command line and the job's log.
pub fn describe(v: &Verification) -> String {
    let mut s = format!(
        "Tilgangsloggen: {} rader, {} kontrollert med nøkkelen, {} laget med en annen nøkkel, {} fra før kjeden; hodet er rad {}.\n",
        v.rows, v.verified, v.other_key, v.unchained, v.head_seq
    );
    match &v.first_break {
        None => s.push_str("Kjeden er hel.\n"),
        Some(b) => s.push_str(&format!(
            "BRUDD ved rad {} ({}): {}.\n",
            b.seq.map_or("uten nummer".to_owned(), |n| n.to_string()),
            b.row_id.as_deref().unwrap_or("-"),
            b.problem
        )),
    }
    s
}

/// Reads the whole log in chain order and reports the first broken link, if any.
pub fn verify(conn: &mut DbConnection, key: &ChainKey) -> Result<Verification, ApiError> {
    let head = patients::head(conn)?;
    let mut v = Verification { head_seq: head.seq, ..Default::default() };
    // The link the next chained row must carry: (number, MAC) of the one before it.
    let mut expected: Option<(i64, Option<String>)> = None;
    // The first chained row's predecessor, which a purge record must vouch for.
    let mut start: Option<(i64, Option<String>, AccessRow)> = None;
    let mut vouched: Vec<(i64, Option<String>)> = Vec::new();
    let mut last: Option<AccessRow> = None;
    let mut after = None;
    loop {
        let page = patients::chain_page(conn, after, 1000)?;
        let Some(tail) = page.last() else { break };
        after = tail.seq.or(after);
        let full = page.len() == 1000;
        for row in page {
            v.rows += 1;
            let Some(seq) = row.seq else {
                return Ok(v.broken(Some(&row), "raden har ikke plass i kjeden (lagt inn utenom tjenesten)"));
            };
            if seq < head.chain_from {
                v.unchained += 1;
                if row.row_hash.is_some() {
                    return Ok(v.broken(Some(&row), "raden står før kjeden, men har en MAC"));
                }
                continue;
            }
            match &expected {
                None => start = Some((seq - 1, row.prev_hash.clone(), row.clone())),
                Some((prev_seq, prev_hash)) => {
                    if seq != prev_seq + 1 {
                        return Ok(v.broken(Some(&row), "rader mangler foran denne (hull i nummerrekken)"));
                    }
                    if row.prev_hash != *prev_hash {
                        return Ok(v.broken(Some(&row), "lenken til forrige rad stemmer ikke"));
                    }
                }
            }
            match row.key_id.as_deref() {
                Some(id) if id == key.id => {
                    if row.row_hash.as_deref() != Some(key.mac(&row).as_str()) {
                        return Ok(v.broken(Some(&row), "raden er endret eller forfalsket (MAC stemmer ikke)"));
                    }
                    v.verified += 1;
                    if row.action == "purge" {
                        if let Some(record) = row.reason_text.as_deref().and_then(parse_purge_record) {
                            vouched.push(record);
                        }
                    }
                }
                Some(_) => v.other_key += 1,
                None => return Ok(v.broken(Some(&row), "raden mangler MAC")),
            }
            expected = Some((seq, row.row_hash.clone()));
            last = Some(row);
        }
        if !full {
            break;
        }
    }
    if let Some((before_seq, before_hash, first)) = start {
        let from_start = before_seq + 1 == head.chain_from && before_hash.is_none();
        if !from_start && !vouched.contains(&(before_seq, before_hash)) {
            return Ok(
                v.broken(Some(&first), "eldre rader er fjernet uten at sletting etter oppbevaringstiden er logget")
            );
        }
    }
    let (last_seq, last_hash) = match &last {
        Some(r) => (r.seq.unwrap_or_default(), r.row_hash.clone()),
        None => (head.chain_from - 1, None),
    };
    if head.seq != last_seq || head.row_hash != last_hash {
        return Ok(v.broken(last.as_ref(), "de nyeste radene er fjernet (hodet peker forbi siste rad)"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purge_record_reads_back() {
        assert_eq!(parse_purge_record(&purge_record(3, 17, Some("ab"))), Some((17, Some("ab".into()))));
        assert_eq!(parse_purge_record(&purge_record(3, 17, None)), Some((17, None)));
        assert_eq!(parse_purge_record("rows=3"), None);
    }
}
