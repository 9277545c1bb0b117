//! Closed sets of stable codes that are stored as text and sent over the API.

use serde::{Deserialize, Serialize};

/// A fieldless enum with one stable snake_case code per variant.
pub trait Code: Sized + Copy + PartialEq + 'static {
    const ALL: &'static [(Self, &'static str)];

    fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(v, _)| *v == self)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }

    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, c)| *c == code).map(|(v, _)| *v)
    }

    /// "a, b eller c" — for error messages that list what is allowed.
    fn allowed() -> String {
        let codes: Vec<&str> = Self::ALL.iter().map(|(_, c)| *c).collect();
        match codes.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} eller {last}", rest.join(", ")),
            _ => codes.join(""),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    Municipality,
    Hospital,
    Other,
}

impl Code for OrganisationKind {
    const ALL: &'static [(Self, &'static str)] = &[
        (Self::Municipality, "municipality"),
        (Self::Hospital, "hospital"),
        (Self::Other, "other"),
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Reporter,
    Handler,
    QualityAdvisor,
    Analyst,
    Admin,
}

impl Code for Role {
    const ALL: &'static [(Self, &'static str)] = &[
        (Self::Reporter, "reporter"),
        (Self::Handler, "handler"),
        (Self::QualityAdvisor, "quality_advisor"),
        (Self::Analyst, "analyst"),
        (Self::Admin, "admin"),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_serde_names() {
        for (role, code) in Role::ALL {
            assert_eq!(serde_json::to_value(role).unwrap(), *code);
            assert_eq!(Role::from_code(code), Some(*role));
        }
        for (kind, code) in OrganisationKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), *code);
        }
        assert_eq!(Role::from_code("superuser"), None);
    }

    #[test]
    fn lists_allowed_values_in_norwegian() {
        assert_eq!(
            OrganisationKind::allowed(),
            "municipality, hospital eller other"
        );
    }
}
