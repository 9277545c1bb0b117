//! Patient identity (#18): kept apart from the case, sealed, shown only to those who handle the
//! case and only on purpose, every look written to an append-only log (`db::patients`).
//!
//! What the form takes is checked in `check` (before the transaction) and sealed in `seal` with
//! the deviation's id once it has one; `reveal` and `related` are the only ways back, and both
//! write the log first, so a look that cannot be logged does not happen.

pub mod chain;
pub mod innsyn;
pub mod keys;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::auth::{Actor, Caller};
use crate::config::{Config, PatientIdentity};
use crate::db::deviations::DeviationRow;
use crate::db::patients::{self, AccessRow, IdentityRow};
use crate::db::DbConnection;
use crate::deviations::access;
use crate::deviations::form::{Errors, TEXT_MAX};
use crate::deviations::timeline::{record, Entry};
use crate::domain::national_id::parse_patient_id;
use crate::domain::{Code, EventKind};
use crate::error::{ApiError, FieldError};
use crate::ids::DeviationId;
use crate::policy;
use chain::ChainKey;
use keys::{Keyring, Sealed};

/// The deployment's setting and keys, loaded once at start.
pub struct Patients {
    pub mode: PatientIdentity,
    pub keyring: Option<Keyring>,
    /// The hash key alone, also when the mode is off (innsyn in the log kept from before).
    hash_key: Option<Vec<u8>>,
    /// The access log's MAC key (`chain`).
    pub chain: ChainKey,
}

impl Patients {
    pub fn from_config(config: &Config) -> Result<Self, String> {
        Ok(Patients {
            mode: config.patient_identity,
            keyring: Keyring::from_config(config)?,
            hash_key: keys::hash_key(config)?,
            chain: ChainKey::from_config(config),
        })
    }

    /// The keyed hash of a national id, where a hash key is configured.
    pub fn hash(&self, national_id: &str) -> Option<String> {
        self.hash_key.as_deref().map(|k| keys::hash_with(k, national_id))
    }
}

/// `patient` on the form.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientInput {
    pub national_id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// The identity after its checks: in memory only until it is sealed.
#[derive(Clone, Serialize, Deserialize)]
pub struct Identity {
    pub national_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity(..)")
    }
}

const NAME_MAX: usize = 200;

/// The form's `patient` against the deployment's setting. Messages never repeat the number.
pub fn check(patients: &Patients, input: Option<&PatientInput>) -> Result<Option<Identity>, Vec<FieldError>> {
    match (patients.mode, input) {
        (PatientIdentity::Off, None) | (PatientIdentity::Optional, None) => Ok(None),
        (PatientIdentity::Off, Some(_)) => Err(vec![FieldError::new(
            "patient",
            "not_enabled",
            "Denne løsningen tar ikke imot pasientidentitet. Ta bort fødselsnummeret.",
        )]),
        (PatientIdentity::Required, None) => Err(vec![FieldError::new(
            "patient.national_id",
            "required",
            "Skriv pasientens fødselsnummer eller D-nummer.",
        )]),
        (_, Some(input)) => {
            let mut e = Errors::default();
            let national_id = match parse_patient_id(&input.national_id) {
                Ok(n) => Some(n),
                Err(message) => {
                    e.add("patient.national_id", "invalid_national_id", message);
                    None
                }
            };
            let name = input.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
            if let Some(n) = &name {
                if n.chars().count() > NAME_MAX || n.chars().any(char::is_control) {
                    e.add("patient.name", "invalid_value", "Skriv pasientens navn, høyst 200 tegn.");
                }
            }
            match (e.0.is_empty(), national_id) {
                (true, Some(national_id)) => Ok(Some(Identity { national_id, name })),
                _ => Err(e.0),
            }
        }
    }
}

/// What the idempotency key remembers of the identity: its keyed hash, never the number.
pub fn remembered(patients: &Patients, identity: &Identity) -> Option<String> {
    patients.keyring.as_ref().map(|k| k.hash(&identity.national_id))
}

/// The identity sealed for its deviation, ready to be written with it.
pub fn seal(
    patients: &Patients,
    deviation_id: &DeviationId,
    identity: &Identity,
    at: NaiveDateTime,
) -> Result<IdentityRow, ApiError> {
    let keyring = patients.keyring.as_ref().ok_or_else(|| ApiError::internal(anyhow::anyhow!("no keyring")))?;
    let plaintext = padded(serde_json::to_vec(identity).map_err(ApiError::internal)?);
    let sealed = keyring.seal(deviation_id.as_str(), &plaintext).map_err(ApiError::internal)?;
    Ok(IdentityRow {
        deviation_id: deviation_id.clone(),
        key_id: Some(sealed.key_id),
        ciphertext: Some(sealed.ciphertext),
        patient_hash: Some(keyring.hash(&identity.national_id)),
        created_at: at,
        erased_at: None,
    })
}

/// Every sealed identity is this long (or a multiple of it), so the ciphertext does not tell the
/// length of a name: the longest name the form takes, in four-byte characters, fits in one.
const PADDED: usize = 1024;

/// The JSON padded with spaces, which the JSON reader skips when the identity is opened.
fn padded(mut plaintext: Vec<u8>) -> Vec<u8> {
    while plaintext.last() == Some(&b' ') {
        plaintext.pop();
    }
    let len = plaintext.len().div_ceil(PADDED).max(1) * PADDED;
    plaintext.resize(len, b' ');
    plaintext
}

/// Why someone looks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevealInput {
    pub reason: String,
    #[serde(default)]
    pub text: Option<String>,
}

pub const REASONS: [&str; 4] = ["investigation", "answer", "analysis", "other"];

#[derive(Debug, Serialize)]
pub struct Revealed {
    pub national_id: String,
    pub name: Option<String>,
}

/// One look at a patient's identity, as the log records it.
struct Look<'a> {
    now: NaiveDateTime,
    caller: &'a Caller,
    chain: &'a ChainKey,
    id: &'a DeviationId,
    action: &'static str,
    reason: Option<(&'a str, Option<&'a str>)>,
}

/// Whether the caller is a person or an organisation's system, as the log records it.
fn actor_kind(caller: &Caller) -> &'static str {
    match caller.actor {
        Actor::Person => "person",
        Actor::Machine(_) => "machine",
    }
}

impl Look<'_> {
    /// Its row in the log, written before anything is shown. The reason's free text is kept only
    /// for a look that was allowed and checked; a refused one keeps the chosen reason alone.
    fn log(&self, conn: &mut DbConnection, result: &str, hash: Option<&str>) -> Result<(), ApiError> {
        let keep_text = matches!(result, "shown" | "none" | "erased" | "unreadable");
        let row = AccessRow {
            id: crate::directory::new_id(),
            at: self.now,
            user_id: self.caller.user_id.clone(),
            role: self.caller.role.code().to_owned(),
            organisation_id: self.caller.organisation_id.clone(),
            // Only a deviation that exists is named; a made-up id is not worth a row pointing nowhere.
            deviation_id: crate::db::deviations::exists(conn, self.id)?.then(|| self.id.clone()),
            action: self.action.to_owned(),
            reason: self.reason.map(|(r, _)| r).filter(|r| REASONS.contains(r)).map(str::to_owned),
            reason_text: self.reason.and_then(|(_, t)| t.filter(|_| keep_text).map(str::to_owned)),
            result: result.to_owned(),
            patient_hash: hash.map(str::to_owned),
            actor_kind: actor_kind(self.caller).to_owned(),
            seq: None,
            prev_hash: None,
            row_hash: None,
            key_id: None,
        };
        chain::append(conn, self.chain, row)
    }

    /// A person, or the refusal (logged): no machine is shown or linked to a patient, whatever
    /// its scopes, so that a person is accountable for every look.
    fn person(&self, conn: &mut DbConnection) -> Result<(), ApiError> {
        if self.caller.actor == Actor::Person {
            return Ok(());
        }
        self.log(conn, "refused", None)?;
        Err(ApiError::forbidden(
            "Pasientidentitet vises bare for en person som behandler saken, aldri for et kvalitetssystem eller en annen maskinklient.",
        ))
    }

    /// The stored identity of a deviation the caller may handle, or the refusal (logged).
    fn stored(&self, conn: &mut DbConnection) -> Result<IdentityRow, ApiError> {
        let row = match access::load(conn, self.caller, self.id) {
            Ok(row) if policy::may_see_patient(self.caller, (&row).into()) => row,
            Ok(_) | Err(_) => {
                self.log(conn, "refused", None)?;
                return Err(access::not_found());
            }
        };
        match patients::find(conn, &row.id)? {
            None => {
                self.log(conn, "none", None)?;
                Err(ApiError::new(
                    actix_web::http::StatusCode::NOT_FOUND,
                    "no_patient_identity",
                    "Avviket har ingen pasientidentitet.",
                ))
            }
            Some(identity) if identity.erased_at.is_some() => {
                self.log(conn, "erased", None)?;
                Err(ApiError::new(
                    actix_web::http::StatusCode::GONE,
                    "patient_identity_erased",
                    "Pasientidentiteten er slettet fordi saken har vært lukket lenger enn oppbevaringstiden.",
                ))
            }
            Some(identity) => Ok(identity),
        }
    }
}

pub fn reveal(
    conn: &mut DbConnection,
    patients: &Patients,
    now: NaiveDateTime,
    caller: &Caller,
    id: &DeviationId,
    input: &RevealInput,
) -> Result<Revealed, ApiError> {
    let look = Look {
        now,
        caller,
        chain: &patients.chain,
        id,
        action: "reveal",
        reason: Some((input.reason.as_str(), input.text.as_deref())),
    };
    look.person(conn)?;
    let mut e = Errors::default();
    if !REASONS.contains(&input.reason.as_str()) {
        e.add("reason", "invalid_value", "Velg hvorfor du trenger å se pasientidentiteten.");
    }
    let text = e.optional_text("text", input.text.as_deref(), TEXT_MAX);
    if input.reason == "other" && text.is_none() {
        e.add("text", "required", "Skriv hvorfor du trenger å se pasientidentiteten.");
    }
    if let Err(invalid) = e.into_result(()) {
        look.log(conn, "invalid", None)?;
        return Err(invalid);
    }
    let look = Look { reason: Some((input.reason.as_str(), text.as_deref())), ..look };
    let Some(keyring) = patients.keyring.as_ref() else {
        look.log(conn, "not_enabled", None)?;
        return Err(access::not_found());
    };
    let identity = look.stored(conn)?;
    let opened = match open_identity(keyring, id, &identity) {
        Ok(opened) => opened,
        Err(cause) => {
            look.log(conn, "unreadable", identity.patient_hash.as_deref())?;
            return Err(ApiError::new(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "patient_identity_unreadable",
                "Pasientidentiteten kan ikke leses: den er endret, flyttet eller låst med en nøkkel tjenesten ikke har. \
                 Feilen er logget; driften må se på nøklene.",
            )
            .with_cause(cause));
        }
    };
    if text.as_deref().is_some_and(|t| names_the_patient(t, &opened)) {
        look.log(conn, "invalid", identity.patient_hash.as_deref())?;
        return Err(ApiError::field(
            "text",
            "patient_identity_in_text",
            "Begrunnelsen ser ut til å inneholde pasientens navn eller fødselsnummer. Skriv hvorfor uten å nevne hvem.",
        ));
    }
    look.log(conn, "shown", identity.patient_hash.as_deref())?;
    Ok(Revealed { national_id: opened.national_id, name: opened.name })
}

fn open_identity(keyring: &Keyring, id: &DeviationId, identity: &IdentityRow) -> Result<Identity, anyhow::Error> {
    let sealed = Sealed {
        key_id: identity.key_id.clone().unwrap_or_default(),
        ciphertext: identity.ciphertext.clone().unwrap_or_default(),
    };
    let plain = keyring.open(id.as_str(), &sealed).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(serde_json::from_slice::<Identity>(&plain)?)
}

/// Which of `texts` name a patient of `deviations` — for what is shared beyond those who
/// handle the cases (#36: a learning note). Every identity opened for it is logged first (action
/// `guard`, result `checked`), so the privacy officer sees each check; nothing of the identity
/// leaves this function but the answer.
pub fn named_in(
    conn: &mut DbConnection,
    patients: &Patients,
    now: NaiveDateTime,
    caller: &Caller,
    deviations: &[DeviationId],
    texts: &[&str],
) -> Result<Vec<usize>, ApiError> {
    let mut named = std::collections::BTreeSet::new();
    let Some(keyring) = patients.keyring.as_ref() else { return Ok(Vec::new()) };
    for id in deviations {
        let Some(identity) = patients::find(conn, id)?.filter(|i| i.erased_at.is_none()) else { continue };
        let look = Look { now, caller, chain: &patients.chain, id, action: "guard", reason: Some(("analysis", None)) };
        look.log(conn, "checked", identity.patient_hash.as_deref())?;
        let opened = open_identity(keyring, id, &identity).map_err(ApiError::internal)?;
        named.extend(texts.iter().enumerate().filter(|(_, t)| names_the_patient(t, &opened)).map(|(i, _)| i));
    }
    Ok(named.into_iter().collect())
}

/// Whether `text` names the patient: the number in any spelling, or any part of the name of
/// three letters or more as a word of its own, whatever the case.
fn names_the_patient(text: &str, identity: &Identity) -> bool {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if digits.contains(&identity.national_id) {
        return true;
    }
    // «Berg-Hansen» is one name, and «nordmann-familien» names Nordmann: both spellings count.
    let joined = text.split(|c: char| !c.is_alphanumeric() && c != '-');
    let words: Vec<String> = joined.clone().chain(joined.flat_map(|w| w.split('-'))).map(str::to_lowercase).collect();
    let name = identity.name.as_deref().unwrap_or_default().to_lowercase();
    name.split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|part| part.chars().count() >= 3)
        .any(|part| words.iter().any(|w| w == part))
}

/// Erases the identities of deviations closed more than the retention time ago, one transaction
/// each (a kill halfway leaves whole erasures, and the next run takes the rest), each with its
/// event on the timeline. Returns how many this call erased.
pub fn erase_due(conn: &mut DbConnection, config: &Config, now: NaiveDateTime) -> Result<usize, ApiError> {
    let closed_before = now - chrono::Duration::days(config.patient_identity_retention_days);
    // The looks at the case stay findable for innsyn as long as the log keeps them, no longer.
    let link_until = now + chrono::Duration::days(config.patient_access_log_retention_days);
    let mut erased = 0;
    for id in patients::erasable(conn, closed_before, 500)? {
        let did = crate::db::write_tx(conn, |c| {
            if !patients::erase(c, &id, closed_before, now, link_until)? {
                return Ok(false);
            }
            let entry = Entry::new(EventKind::PatientIdentityErased, None);
            record(c, config, &id, now, entry)?;
            Ok(true)
        })?;
        erased += usize::from(did);
    }
    Ok(erased)
}

/// Deletes the access log's rows older than its retention time, through the one path the
/// database allows (`db::patients::purge_log`), and appends the purge's own record to the chain in
/// the same transaction. Returns how many rows went.
pub fn purge_access_log(conn: &mut DbConnection, config: &Config, now: NaiveDateTime) -> Result<usize, ApiError> {
    let before = now - chrono::Duration::days(config.patient_access_log_retention_days);
    let key = ChainKey::from_config(config);
    crate::db::write_tx(conn, |c| {
        let purged = patients::purge_log(c, before, now)?;
        let Some((through, hash)) = purged.through else { return Ok(0) };
        let record = AccessRow {
            id: crate::directory::new_id(),
            at: now,
            user_id: "system".to_owned().into(),
            role: "system".into(),
            organisation_id: "system".to_owned().into(),
            deviation_id: None,
            action: "purge".into(),
            reason: Some("retention".into()),
            reason_text: Some(chain::purge_record(purged.rows, through, hash.as_deref())),
            result: "deleted".into(),
            patient_hash: None,
            actor_kind: "system".into(),
            seq: None,
            prev_hash: None,
            row_hash: None,
            key_id: None,
        };
        chain::append(c, &key, record)?;
        Ok(purged.rows)
    })
}

/// The periodic check of the access log's chain: a break is logged as an error for operations to
/// see (the log line names the row, never a patient); a whole chain with its head, so the
/// process log keeps an outside record of how far the chain reached.
pub fn check_access_log(conn: &mut DbConnection, config: &Config) -> Result<usize, ApiError> {
    let v = chain::verify(conn, &ChainKey::from_config(config))?;
    match &v.first_break {
        Some(b) => {
            tracing::error!(seq = ?b.seq, row = ?b.row_id, problem = %b.problem, "patient access log chain broken")
        }
        None => tracing::info!(rows = v.rows, head = v.head_seq, "patient access log chain whole"),
    }
    Ok(0)
}

/// What a key rotation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    pub rotated: usize,
    /// Changed by someone else between read and write (erased, or rotated by another run).
    pub skipped: usize,
    /// Did not open: sealed with a key no longer configured, or damaged. Left as they are.
    pub failed: usize,
}

/// Re-seals every identity sealed with an older key under the active one, `batch` at a time, each
/// batch in its own transaction: stopped halfway, the next run does the rest.
pub fn rotate(conn: &mut DbConnection, keyring: &Keyring, batch: i64) -> Result<Rotation, ApiError> {
    let mut done = Rotation::default();
    let mut after = DeviationId::from(String::new());
    loop {
        let rows = patients::sealed_with_other_key(conn, keyring.active(), &after, batch)?;
        let Some(last) = rows.last() else { return Ok(done) };
        after = last.deviation_id.clone();
        crate::db::write_tx(conn, |c| {
            for row in &rows {
                let old = row.key_id.clone().unwrap_or_default();
                let sealed = Sealed { key_id: old.clone(), ciphertext: row.ciphertext.clone().unwrap_or_default() };
                let plaintext = match keyring.open(row.deviation_id.as_str(), &sealed) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(deviation_id = ?row.deviation_id, error = %e, "patient identity does not open");
                        done.failed += 1;
                        continue;
                    }
                };
                let new = keyring.seal(row.deviation_id.as_str(), &padded(plaintext)).map_err(ApiError::internal)?;
                match patients::reseal(c, &row.deviation_id, &old, &new.key_id, &new.ciphertext)? {
                    true => done.rotated += 1,
                    false => done.skipped += 1,
                }
            }
            Ok(())
        })?;
    }
}

/// Other deviations about the same patient that the caller may see, found by the keyed hash.
pub fn related(
    conn: &mut DbConnection,
    patients: &Patients,
    now: NaiveDateTime,
    caller: &Caller,
    id: &DeviationId,
) -> Result<Vec<DeviationRow>, ApiError> {
    let look = Look { now, caller, chain: &patients.chain, id, action: "related", reason: None };
    look.person(conn)?;
    if patients.keyring.is_none() {
        look.log(conn, "not_enabled", None)?;
        return Err(access::not_found());
    }
    let hash = look.stored(conn)?.patient_hash.unwrap_or_default();
    let rows = patients::related(conn, &policy::list_scope(caller), &hash, id)?;
    look.log(conn, "shown", Some(&hash))?;
    Ok(rows)
}
