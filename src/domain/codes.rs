//! Closed sets of stable codes that are stored as text and sent over the API.

use serde::{Deserialize, Serialize};

/// A fieldless enum with one stable snake_case code per variant.
pub trait Code: Sized + Copy + PartialEq + 'static {
    const ALL: &'static [(Self, &'static str)];

    fn code(self) -> &'static str {
        Self::ALL.iter().find(|(v, _)| *v == self).map(|(_, c)| *c).unwrap_or_default()
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

/// Declares a `Code` enum: the variants with their stable codes, serialised the same way.
macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl Code for $name {
            const ALL: &'static [(Self, &'static str)] = &[$((Self::$variant, $code)),+];
        }
    };
}

pub(crate) use code_enum;

code_enum!(OrganisationKind { Municipality = "municipality", Hospital = "hospital", Other = "other" });

code_enum!(Role {
    Reporter = "reporter",
    Handler = "handler",
    QualityAdvisor = "quality_advisor",
    Analyst = "analyst",
    Admin = "admin",
    PrivacyOfficer = "privacy_officer",
});

code_enum!(
    /// Whether the report describes something that went wrong or proposes an improvement.
    DeviationKind { Deviation = "deviation", ImprovementProposal = "improvement_proposal" }
);

code_enum!(Status {
    Submitted = "submitted",
    InProgress = "in_progress",
    Answered = "answered",
    Closed = "closed",
    Rejected = "rejected",
});

code_enum!(
    /// AHRQ Common Formats harm scale.
    HarmClass { Harm = "harm", NoHarm = "no_harm", NearMiss = "near_miss", UnsafeCondition = "unsafe_condition" }
);

code_enum!(HarmLevel { Low = "low", Moderate = "moderate", Severe = "severe", Death = "death" });

code_enum!(
    /// What happened, on the timeline.
    EventKind {
        Submitted = "submitted",
        Acknowledged = "acknowledged",
        Forwarded = "forwarded",
        Rejected = "rejected",
        Answered = "answered",
        Closed = "closed",
        AutoClosed = "auto_closed",
        Reopened = "reopened",
        Commented = "commented",
        PatientIdentityErased = "patient_identity_erased",
        AnalysisLinked = "analysis_linked",
    }
);

code_enum!(
    /// Derived from the kinds of the reporting and the recipient organisation.
    Direction {
        MunicipalityToHospital = "municipality_to_hospital",
        HospitalToMunicipality = "hospital_to_municipality",
        MunicipalityToMunicipality = "municipality_to_municipality",
        HospitalToHospital = "hospital_to_hospital",
        Other = "other",
    }
);

impl Direction {
    pub fn between(from: OrganisationKind, to: OrganisationKind) -> Self {
        use OrganisationKind::*;
        match (from, to) {
            (Municipality, Hospital) => Self::MunicipalityToHospital,
            (Hospital, Municipality) => Self::HospitalToMunicipality,
            (Municipality, Municipality) => Self::MunicipalityToMunicipality,
            (Hospital, Hospital) => Self::HospitalToHospital,
            _ => Self::Other,
        }
    }
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
    fn direction_follows_the_organisation_kinds() {
        use OrganisationKind::*;
        assert_eq!(Direction::between(Municipality, Hospital).code(), "municipality_to_hospital");
        assert_eq!(Direction::between(Hospital, Municipality).code(), "hospital_to_municipality");
        assert_eq!(Direction::between(Other, Hospital), Direction::Other);
        assert_eq!(serde_json::to_value(Status::InProgress).unwrap(), "in_progress");
        assert_eq!(HarmClass::from_code("near_miss"), Some(HarmClass::NearMiss));
    }

    #[test]
    fn lists_allowed_values_in_norwegian() {
        assert_eq!(OrganisationKind::allowed(), "municipality, hospital eller other");
    }
}
