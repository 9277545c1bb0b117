//! Organisations, their units and their users: the directory every deviation is routed through.

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
    Ok(v.to_owned())
}

/// Deserializes a field that may be absent (leave as is), `null` (clear) or a value (set).
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}
