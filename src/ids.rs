//! Identifiers that cross modules, one type each, so passing an organisation where a deviation is
//! meant does not compile. Stored as text (the portable schema); (de)serialised as plain strings.
//!
//! An id taken from a URL or a body is not checked to be a UUID here: a string that names no row is
//! simply not found, which is the answer the client needs either way.
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
        $(#[$doc])*
        #[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, DieselNewType)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh, time-ordered id (UUIDv7), so new rows sort after old ones in indexes.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

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
    /// A helsefellesskap: one hospital trust and its municipalities.
    HealthCommunityId
);
id_type!(
    /// The readable case number, `SA-2026-00042`: unique, and what people say on the phone.
    Reference
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialise_as_plain_strings() {
        let id = DeviationId::from("abc");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"abc\"");
        let back: OrganisationId = serde_json::from_str("\"def\"").unwrap();
        assert_eq!(back.as_str(), "def");
    }

    #[test]
    fn generated_ids_are_time_ordered_uuids() {
        let id = uuid::Uuid::parse_str(UnitId::generate().as_str()).unwrap();
        assert_eq!(id.get_version_num(), 7);
    }
}
