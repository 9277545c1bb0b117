//! DEMODATA: two helsefellesskap of the region — St. Olavs hospital HF with the municipalities of
//! its catchment area, and Helse Nord-Trøndelag HF with a few of its own — plus the region's own
//! forum, and one user per role.
//! Organisation numbers are fictitious (valid check digit, series 99…); the mail domains are
//! `.example`. Never seeded in the production profile unless an operator runs `seed-demo`.
// Not reachable by requests: the demo data is a fixed table in this file; a wrong index is a bug a test run finds at once.
#![allow(clippy::indexing_slicing, clippy::expect_used)]

use crate::auth::password;
use crate::db::health_communities as communities;
use crate::db::organisations::{self as orgs, OrganisationRow};
use crate::db::units::{self, UnitRow};
use crate::db::users::{self, UserRow};
use crate::db::DbConnection;
use crate::directory::now;
use crate::domain::OrgNumber;
use crate::ids::{HealthCommunityId, OrganisationId, UnitId, UserId};
use diesel::Connection;

pub const DEMO_PASSWORD: &str = "samavvik-demo";

const HOSPITAL_UNITS: &[&str] =
    &["Akuttmottak", "Klinikk for psykisk helsevern", "Medisinsk klinikk", "Ortopedi", "Utskrivningskoordinator"];

const MUNICIPALITIES: &[&str] = &[
    "Trondheim",
    "Malvik",
    "Melhus",
    "Skaun",
    "Orkland",
    "Selbu",
    "Tydal",
    "Midtre Gauldal",
    "Holtålen",
    "Røros",
    "Oppdal",
    "Rennebu",
    "Rindal",
    "Frøya",
    "Hitra",
    "Heim",
    "Ørland",
    "Indre Fosen",
    "Åfjord",
    "Osen",
];

const MUNICIPAL_UNITS: &[&str] = &["Hjemmetjenesten", "Sykehjem", "Legevakt"];

/// (email, name, organisation slug, unit, role)
pub const DEMO_USERS: &[(&str, &str, &str, Option<&str>, &str)] = &[
    ("sykepleier@trondheim.example", "Siri Sykepleier", "trondheim", Some("Hjemmetjenesten"), "reporter"),
    ("kvalitet@trondheim.example", "Kari Kvalitet", "trondheim", None, "quality_advisor"),
    ("sykepleier@stolav.example", "Sondre Sykepleier", "stolav", Some("Akuttmottak"), "reporter"),
    ("kvalitet@stolav.example", "Kristian Kvalitet", "stolav", None, "quality_advisor"),
    ("leder.medisinsk@stolav.example", "Line Leder", "stolav", Some("Medisinsk klinikk"), "handler"),
    ("analytiker@helsefellesskap.example", "Anders Analytiker", "helsefellesskap", None, "analyst"),
    ("admin@samavvik.example", "Ada Admin", "helsefellesskap", None, "admin"),
    ("personvern@stolav.example", "Petter Personvern", "stolav", None, "privacy_officer"),
    ("sykepleier@levanger.example", "Live Sykepleier", "levanger", Some("Hjemmetjenesten"), "reporter"),
    ("kvalitet@hnt.example", "Helge Kvalitet", "hnt", None, "quality_advisor"),
    ("analytiker@helsefellesskap-nt.example", "Nora Analytiker", "helsefellesskap-nt", None, "analyst"),
    ("analytiker@helse-midt.example", "Regine Regional", "helse-midt", None, "analyst"),
];

/// The demo's helsefellesskap: the first is the one every deployment starts with (its mail lists
/// are the deployment's settings); the second keeps its own.
const ST_OLAV: &str = "Helsefellesskapet St. Olav";
const NORD_TRONDELAG: &str = "Helsefellesskapet Nord-Trøndelag";

const NT_MUNICIPALITIES: &[&str] = &["Levanger", "Verdal", "Steinkjer", "Namsos"];

struct DemoOrg {
    slug: String,
    name: String,
    kind: &'static str,
    units: Vec<&'static str>,
    /// Which of the demo's helsefellesskap; None for the region's own forum.
    community: Option<&'static str>,
}

fn demo_orgs() -> Vec<DemoOrg> {
    let mut list = vec![
        DemoOrg {
            slug: "stolav".into(),
            name: "St. Olavs hospital HF".into(),
            kind: "hospital",
            units: HOSPITAL_UNITS.to_vec(),
            community: Some(ST_OLAV),
        },
        DemoOrg {
            slug: "helsefellesskap".into(),
            name: "Helsefellesskapet St. Olav (Forbedringsgruppa)".into(),
            kind: "other",
            units: Vec::new(),
            community: Some(ST_OLAV),
        },
    ];
    list.extend(MUNICIPALITIES.iter().map(|m| DemoOrg {
        slug: slug(m),
        name: format!("{m} kommune"),
        kind: "municipality",
        units: MUNICIPAL_UNITS.to_vec(),
        community: Some(ST_OLAV),
    }));
    list.extend([
        DemoOrg {
            slug: "hnt".into(),
            name: "Helse Nord-Trøndelag HF".into(),
            kind: "hospital",
            units: vec!["Sykehuset Levanger", "Sykehuset Namsos"],
            community: Some(NORD_TRONDELAG),
        },
        DemoOrg {
            slug: "helsefellesskap-nt".into(),
            name: "Helsefellesskapet Nord-Trøndelag (Forbedringsgruppa)".into(),
            kind: "other",
            units: Vec::new(),
            community: Some(NORD_TRONDELAG),
        },
        DemoOrg {
            slug: "helse-midt".into(),
            name: "Helse Midt-Norge RHF (regionalt forbedringsforum)".into(),
            kind: "other",
            units: Vec::new(),
            community: None,
        },
    ]);
    list.extend(NT_MUNICIPALITIES.iter().map(|m| DemoOrg {
        slug: slug(m),
        name: format!("{m} kommune"),
        kind: "municipality",
        units: vec!["Hjemmetjenesten", "Sykehjem"],
        community: Some(NORD_TRONDELAG),
    }));
    list
}

/// The demo's helsefellesskap by name → id: St. Olav is the deployment's first (renamed), Nord-
/// Trøndelag is added.
fn demo_communities(
    conn: &mut DbConnection,
) -> anyhow::Result<std::collections::HashMap<&'static str, HealthCommunityId>> {
    let existing = communities::list(conn)?;
    let mut ids = std::collections::HashMap::new();
    if let Some(first) = existing.iter().find(|c| c.id.as_str() == communities::DEFAULT_ID) {
        if first.name != ST_OLAV {
            communities::rename(conn, &first.id, ST_OLAV, now())?;
        }
    }
    ids.insert(ST_OLAV, communities::default_id());
    let nt = match existing.iter().find(|c| c.name == NORD_TRONDELAG) {
        Some(c) => c.id.clone(),
        None => {
            let row = communities::HealthCommunityRow {
                id: HealthCommunityId::generate(),
                name: NORD_TRONDELAG.into(),
                improvement_group_recipients: "forbedringsgruppa@helsefellesskap-nt.example".into(),
                // Its ASU list is for the operator to fill in; until then its report is not mailed.
                committee_recipients: String::new(),
                created_at: now(),
                updated_at: now(),
            };
            communities::insert(conn, &row)?;
            row.id
        }
    };
    ids.insert(NORD_TRONDELAG, nt);
    Ok(ids)
}

/// "Midtre Gauldal" → "midtre-gauldal", "Ørland" → "orland": for `.example` mail addresses.
pub fn slug(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| match c {
            'æ' => "ae".to_owned(),
            'ø' => "o".to_owned(),
            'å' => "a".to_owned(),
            c if c.is_ascii_alphanumeric() => c.to_string(),
            _ => "-".to_owned(),
        })
        .collect()
}

/// The n-th fictitious organisation number: 99xxxxxx plus a valid check digit.
fn demo_org_number(n: usize) -> OrgNumber {
    (0..)
        .find_map(|k| OrgNumber::complete(&format!("99{:06}", n * 10 + k)))
        .unwrap_or_else(|| OrgNumber::complete("99000000").expect("a valid prefix"))
}

/// The demo organisation number of the organisation with this slug (e.g. `stolav`), which the
/// HelseID tests put into their tokens.
pub fn demo_org_number_of(slug: &str) -> Option<String> {
    demo_orgs().iter().position(|o| o.slug == slug).map(|n| demo_org_number(n).to_string())
}

/// Seeds only into an empty database. Returns whether it seeded.
pub fn seed_demo_if_empty(conn: &mut DbConnection) -> anyhow::Result<bool> {
    if orgs::count(conn)? > 0 {
        return Ok(false);
    }
    seed_demo(conn)?;
    Ok(true)
}

/// Inserts what is missing of the demo data (by org number, unit name and e-mail); safe to repeat.
pub fn seed_demo(conn: &mut DbConnection) -> anyhow::Result<()> {
    let password_hash = password::hash(DEMO_PASSWORD)?;
    conn.transaction::<_, anyhow::Error, _>(|conn| {
        let now = now();
        let community_ids = demo_communities(conn)?;
        let mut org_ids = std::collections::HashMap::new();
        for (n, demo) in demo_orgs().into_iter().enumerate() {
            let number = demo_org_number(n).to_string();
            let existing = orgs::list(conn, None, true, None)?.into_iter().find(|o| o.org_number == number);
            let org_id = match existing {
                Some(o) => o.id,
                None => {
                    let row = OrganisationRow {
                        id: OrganisationId::generate(),
                        name: demo.name.clone(),
                        kind: demo.kind.into(),
                        org_number: number,
                        mailbox: format!("avvik@{}.example", demo.slug),
                        active: true,
                        created_at: now,
                        updated_at: now,
                        health_community_id: demo.community.map(|c| community_ids[c].clone()),
                        self_enrolment: false,
                    };
                    orgs::insert(conn, &row)?;
                    row.id
                }
            };
            let existing_units = units::for_organisations(conn, std::slice::from_ref(&org_id), true)?;
            let mut unit_ids = std::collections::HashMap::new();
            for unit in &demo.units {
                let id = match existing_units.iter().find(|u| u.name == *unit) {
                    Some(u) => u.id.clone(),
                    None => {
                        let row = UnitRow {
                            id: UnitId::generate(),
                            organisation_id: org_id.clone(),
                            name: (*unit).to_owned(),
                            mailbox: Some(format!("{}@{}.example", slug(unit), demo.slug)),
                            active: true,
                            created_at: now,
                            updated_at: now,
                            org_number: None,
                        };
                        units::insert(conn, &row)?;
                        row.id
                    }
                };
                unit_ids.insert(*unit, id);
            }
            org_ids.insert(demo.slug, (org_id, unit_ids));
        }
        for (email, name, org_slug, unit, role) in DEMO_USERS {
            if users::find_by_email(conn, email)?.is_some() {
                continue;
            }
            let (org_id, unit_ids) = &org_ids[*org_slug];
            let row = UserRow {
                id: UserId::generate(),
                email: (*email).into(),
                name: (*name).into(),
                organisation_id: org_id.clone(),
                unit_id: unit.and_then(|u| unit_ids.get(u).cloned()),
                role: (*role).into(),
                password_hash: Some(password_hash.clone()),
                active: true,
                created_at: now,
                updated_at: now,
                session_epoch: 0,
                hpr_number: None,
                machine: false,
                pending: false,
            };
            users::insert(conn, &row)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_ascii() {
        assert_eq!(super::slug("Midtre Gauldal"), "midtre-gauldal");
        assert_eq!(super::slug("Ørland"), "orland");
        assert_eq!(super::slug("Holtålen"), "holtalen");
    }

    #[test]
    fn demo_org_numbers_are_valid_and_distinct() {
        let numbers: std::collections::HashSet<String> =
            (0..40).map(|n| super::demo_org_number(n).to_string()).collect();
        assert_eq!(numbers.len(), 40);
        assert!(numbers.iter().all(|n| crate::domain::OrgNumber::parse(n).is_ok()));
    }
}
