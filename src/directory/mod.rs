//! Organisations, their units and their users: the directory every deviation is routed through.

pub mod clients;
pub mod organisations;
pub mod users;

use chrono::{NaiveDateTime, Utc};

use crate::error::ApiError;

pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Trims and refuses blank text, naming the field.
pub fn required_text(field: &str, value: &str) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::field(field, "required", "Må fylles ut."));
    }
    if v.chars().any(char::is_control) {
        return Err(ApiError::field(field, "invalid_characters", "Navnet inneholder usynlige kontrolltegn."));
    }
    no_national_id(field, v)?;
    Ok(v.to_owned())
}

/// An e-mail address as stored: trimmed, and without a national id in it.
pub fn address(field: &str, value: &str) -> Result<String, ApiError> {
    no_national_id(field, value)?;
    Ok(value.trim().to_owned())
}

/// Names and addresses are stored and shown to many: they must not carry a fødselsnummer either
/// (an e-mail's local part is where one would hide).
pub fn no_national_id(field: &str, value: &str) -> Result<(), ApiError> {
    if crate::domain::national_id::contains_national_id(value) {
        return Err(ApiError::field(field, "national_id_in_text", crate::domain::national_id::NATIONAL_ID_MESSAGE));
    }
    Ok(())
}

/// Deserializes a field that may be absent (leave as is), `null` (clear) or a value (set).
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}
