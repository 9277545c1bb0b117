//! Identifiers that cross modules, one type each, so passing an organisation where a deviation is
//! meant does not compile. Stored as text (the portable schema); (de)serialised as plain strings.
//!
//! An id from a URL, a query or a body must be a UUID (any case; stored lower-case) — or empty,
//! which forms send for "none chosen" and the use cases treat as absent. Anything else is refused
//! while deserialising, without echoing it: a fødselsnummer typed into an id field stays out of
//! the error message and the logs.
//!
//! The point of it all, kept as a test:
//!
//! ```compile_fail
//! fn load(_: &samavvik::ids::DeviationId) {}
//! load(&samavvik::ids::OrganisationId::generate());
//! ```

use std::fmt;

use diesel_derive_newtype::DieselNewType;
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        string_type!($(#[$doc])* $name);

        impl $name {
            /// A fresh, time-ordered id (UUIDv7), so new rows sort after old ones in indexes.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                if s.is_empty() {
                    return Ok(Self(s));
                }
                match uuid::Uuid::try_parse(&s) {
                    Ok(id) if s.len() == 36 => Ok(Self(id.hyphenated().to_string())),
                    _ => Err(serde::de::Error::custom(INVALID_ID)),
                }
            }
        }
    };
}

/// Said when an id is not a UUID; serde prefixes nothing and the value is not repeated.
pub const INVALID_ID: &str = "ugyldig id: forventet en UUID som 0193a5c2-7b1e-7c3d-9f00-1a2b3c4d5e6f";

/// The common part: a string with its own type.
macro_rules! string_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, DieselNewType)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }

            /// As a client gave it: surrounding space removed, and a blank one is no id at all
            /// (forms send empty strings for "none chosen").
            pub fn non_blank(&self) -> Option<Self> {
                let trimmed = self.0.trim();
                (!trimmed.is_empty()).then(|| Self(trimmed.to_owned()))
            }
        }

        /// As the plain string, escaped: ids from URLs reach the logs this way.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A deviation (avvik or improvement proposal).
    DeviationId
);
id_type!(
    /// A municipality, hospital trust, regional body or the improvement group.
    OrganisationId
);
id_type!(
    /// A unit (ward, home-care district, ...) of one organisation.
    UnitId
);
id_type!(
    /// A person or machine client with an account.
    UserId
);
id_type!(
    /// An organisation's system registered to call the API (its quality system).
    ClientId
);
id_type!(
    /// An endpoint an organisation's quality system receives webhooks at.
    WebhookId
);
id_type!(
    /// One import (or dry run) of a quality system's export.
    ImportId
);
id_type!(
    /// A hendelsesanalyse: a joint analysis of one or more deviations.
    AnalysisId
);
id_type!(
    /// A tiltak: what an analysis or the improvement group decided to change.
    ActionId
);
id_type!(
    /// A læringsnotat: what a concluded analysis learned, shared in its helsefellesskap.
    LearningNoteId
);
id_type!(
    /// A helsefellesskap: one hospital trust and its municipalities.
    HealthCommunityId
);
string_type!(
    /// The readable case number, `SA-2026-00042`: unique, and what people say on the phone.
    Reference
);

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialise_as_plain_strings() {
        let id = DeviationId::from("abc");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"abc\"");
        let back: Reference = serde_json::from_str("\"SA-2026-00042\"").unwrap();
        assert_eq!(back.as_str(), "SA-2026-00042");
    }

    #[test]
    fn ids_from_clients_are_uuids_or_empty_and_bad_ones_are_not_repeated() {
        let upper: UnitId = serde_json::from_str("\"0193A5C2-7B1E-7C3D-9F00-1A2B3C4D5E6F\"").unwrap();
        assert_eq!(upper.as_str(), "0193a5c2-7b1e-7c3d-9f00-1a2b3c4d5e6f");
        assert_eq!(serde_json::from_str::<UnitId>("\"\"").unwrap().as_str(), "");
        for bad in
            ["\"01017000027\"", "\"0193a5c27b1e7c3d9f001a2b3c4d5e6f\"", "\" 0193a5c2-7b1e-7c3d-9f00-1a2b3c4d5e6f\""]
        {
            let err = serde_json::from_str::<OrganisationId>(bad).unwrap_err().to_string();
            assert!(err.starts_with(INVALID_ID), "{bad}: {err}");
            assert!(!err.contains("01017000027"), "{err}");
        }
    }

    #[test]
    fn generated_ids_are_time_ordered_uuids() {
        let id = uuid::Uuid::parse_str(UnitId::generate().as_str()).unwrap();
        assert_eq!(id.get_version_num(), 7);
    }
}
