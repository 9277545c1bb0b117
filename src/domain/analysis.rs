//! Hendelsesanalyse (#34): the life of a joint analysis and the categories of its contributing
//! factors. The factor categories are the London protocol's (Taylor-Adams & Vincent), as
//! Helsedirektoratet's method uses them, with one of our field's own: transitions between
//! organisations, where a samhandlingsavvik happens by definition.

use serde::{Deserialize, Serialize};

use super::codes::{code_enum, Code};

code_enum!(
    /// draft → in_progress → concluded → follow_up → closed; a concluded analysis whose actions
    /// need no follow-up may be closed at once.
    AnalysisStatus {
        Draft = "draft",
        InProgress = "in_progress",
        Concluded = "concluded",
        FollowUp = "follow_up",
        Closed = "closed",
    }
);

impl AnalysisStatus {
    /// Where an analysis may go from here.
    pub fn moves(self) -> &'static [AnalysisStatus] {
        use AnalysisStatus::*;
        match self {
            Draft => &[InProgress],
            InProgress => &[Concluded],
            Concluded => &[FollowUp, Closed],
            FollowUp => &[Closed],
            Closed => &[],
        }
    }

    pub fn may_move_to(self, to: AnalysisStatus) -> bool {
        self.moves().contains(&to)
    }

    /// A closed analysis is a record: nothing in it changes any more.
    pub fn editable(self) -> bool {
        self != AnalysisStatus::Closed
    }

    pub fn label(self) -> &'static str {
        match self {
            AnalysisStatus::Draft => "Utkast",
            AnalysisStatus::InProgress => "Pågår",
            AnalysisStatus::Concluded => "Konkludert",
            AnalysisStatus::FollowUp => "Oppfølging",
            AnalysisStatus::Closed => "Avsluttet",
        }
    }
}

code_enum!(
    /// Contributing factors (London protocol), plus transitions between organisations.
    FactorCategory {
        Patient = "patient",
        TaskAndTechnology = "task_and_technology",
        Individual = "individual",
        Team = "team",
        WorkEnvironment = "work_environment",
        OrganisationAndManagement = "organisation_and_management",
        InstitutionalContext = "institutional_context",
        TransitionsBetweenOrganisations = "transitions_between_organisations",
    }
);

impl FactorCategory {
    pub fn label(self) -> &'static str {
        use FactorCategory::*;
        match self {
            Patient => "Pasientfaktorer",
            TaskAndTechnology => "Oppgave og teknologi",
            Individual => "Individuelle faktorer (helsepersonellet)",
            Team => "Team og samarbeid",
            WorkEnvironment => "Arbeidsmiljø",
            OrganisationAndManagement => "Organisasjon og ledelse",
            InstitutionalContext => "Rammebetingelser (institusjonell kontekst)",
            TransitionsBetweenOrganisations => "Overganger mellom virksomheter",
        }
    }
}

/// The readable reference of an analysis: `HA-2026-0003`, numbered per helsefellesskap and year.
pub fn reference(year: i32, n: i64) -> String {
    format!("HA-{year}-{n:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_analysis_goes_forward_only_and_ends_closed() {
        use AnalysisStatus::*;
        let mut reachable = vec![Draft];
        let mut i = 0;
        while let Some(s) = reachable.get(i).copied() {
            for to in s.moves() {
                assert!(!to.moves().contains(&s), "{} and {} go back and forth", s.code(), to.code());
                if !reachable.contains(to) {
                    reachable.push(*to);
                }
            }
            i += 1;
        }
        assert_eq!(reachable.len(), AnalysisStatus::ALL.len(), "every status is reached from a draft");
        assert!(Closed.moves().is_empty() && !Closed.editable());
        assert!(Concluded.may_move_to(Closed) && !Draft.may_move_to(Concluded));
    }

    #[test]
    fn every_factor_category_has_a_label_and_transitions_are_one() {
        for (c, code) in FactorCategory::ALL {
            assert!(!c.label().is_empty(), "{code}");
        }
        assert_eq!(
            FactorCategory::from_code("transitions_between_organisations").map(|c| c.label()),
            Some("Overganger mellom virksomheter")
        );
        assert_eq!(reference(2026, 3), "HA-2026-0003");
    }
}
