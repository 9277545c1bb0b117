//! DEMODATA: St. Olavs hospital HF, the municipalities of its catchment area and one user per role.
//! Organisation numbers are fictitious (valid check digit, series 99…); the mail domains are
//! `.example`. Never seeded in the production profile unless an operator runs `seed-demo`.
// Not reachable by requests: the demo data is a fixed table in this file; a wrong index is a bug a test run finds at once.
#![allow(clippy::indexing_slicing, clippy::expect_used)]

use crate::auth::password;
use crate::db::organisations::{self as orgs, OrganisationRow};
use crate::db::units::{self, UnitRow};
use crate::db::users::{self, UserRow};
use crate::db::DbConnection;
use crate::directory::{new_id, now};
use crate::domain::OrgNumber;
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
];

struct DemoOrg {
    slug: String,
    name: String,
    kind: &'static str,
    units: Vec<&'static str>,
}

fn demo_orgs() -> Vec<DemoOrg> {
    let mut list = vec![
        DemoOrg {
            slug: "stolav".into(),
            name: "St. Olavs hospital HF".into(),
            kind: "hospital",
            units: HOSPITAL_UNITS.to_vec(),
        },
        DemoOrg {
            slug: "helsefellesskap".into(),
            name: "Helsefellesskapet St. Olav (Forbedringsgruppa)".into(),
            kind: "other",
            units: Vec::new(),
        },
    ];
    list.extend(MUNICIPALITIES.iter().map(|m| DemoOrg {
        slug: slug(m),
        name: format!("{m} kommune"),
        kind: "municipality",
        units: MUNICIPAL_UNITS.to_vec(),
    }));
    list
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
        let mut org_ids = std::collections::HashMap::new();
        for (n, demo) in demo_orgs().into_iter().enumerate() {
            let number = demo_org_number(n).to_string();
            let existing = orgs::list(conn, None, true)?.into_iter().find(|o| o.org_number == number);
            let org_id = match existing {
                Some(o) => o.id,
                None => {
                    let row = OrganisationRow {
                        id: new_id(),
                        name: demo.name.clone(),
                        kind: demo.kind.into(),
                        org_number: number,
                        mailbox: format!("avvik@{}.example", demo.slug),
                        active: true,
                        created_at: now,
                        updated_at: now,
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
                            id: new_id(),
                            organisation_id: org_id.clone(),
                            name: (*unit).to_owned(),
                            mailbox: Some(format!("{}@{}.example", slug(unit), demo.slug)),
                            active: true,
                            created_at: now,
                            updated_at: now,
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
                id: new_id(),
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
            (0..30).map(|n| super::demo_org_number(n).to_string()).collect();
        assert_eq!(numbers.len(), 30);
        assert!(numbers.iter().all(|n| crate::domain::OrgNumber::parse(n).is_ok()));
    }
}
