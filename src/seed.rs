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

/// The demo's published learning note (#36).
pub const DEMO_NOTE: &str = "Epikrisen må være sendt før pasienten reiser";

/// The demo analysis's title: how `seed_demo_cases` knows it has run.
pub const DEMO_ANALYSIS: &str = "Manglende informasjon ved overgangene mellom sykehus og hjemmetjeneste";

/// Two demo deviations, one each way between Trondheim and St. Olavs hospital, and one concluded
/// hendelsesanalyse of both by the two quality advisors — made through the same use cases as
/// the form and the API, so the timelines, mails and feed say what they would. Only once: not
/// again when the analysis is there. Returns whether it made them.
pub fn seed_demo_cases(conn: &mut DbConnection, config: &crate::config::Config) -> anyhow::Result<bool> {
    use crate::analyses::{self, Content, Fact, NewAnalysis, NewFactor};
    use crate::auth::Caller;
    use crate::deviations::form::NewDeviation;
    use crate::deviations::submit::{self, Prepared, Submitted};

    let person = |conn: &mut DbConnection, email: &str| -> anyhow::Result<Caller> {
        let user =
            users::find_by_email(conn, email)?.ok_or_else(|| anyhow::anyhow!("{email} mangler: kjør seed-demo"))?;
        Caller::load(conn, &user.id).map_err(|e| anyhow::anyhow!("{}", e.detail))
    };
    let failed = |e: crate::error::ApiError| anyhow::anyhow!("{}: {}", e.code, e.detail);
    let advisor = person(conn, "kvalitet@stolav.example")?;
    if analyses::list(conn, &advisor).map_err(failed)?.iter().any(|a| a.title == DEMO_ANALYSIS) {
        return Ok(false);
    }
    let municipal_advisor = person(conn, "kvalitet@trondheim.example")?;
    let patients = crate::patients::Patients::from_config(config).map_err(anyhow::Error::msg)?;
    let now = chrono::Utc::now();
    let today = crate::domain::calendar::oslo_today(now);
    let day = |days_ago: i64| (today - chrono::Duration::days(days_ago)).to_string();
    let cases = [
        (
            "sykepleier@trondheim.example",
            advisor.organisation_id.clone(),
            "discharge_summary",
            "Pasienten kom hjem fra medisinsk klinikk uten epikrise og uten oppdatert legemiddelliste. Hjemmetjenesten måtte ringe sykehuset for å få vite hvilke legemidler som var endret.",
            "no_harm",
            day(21),
        ),
        (
            "sykepleier@stolav.example",
            municipal_advisor.organisation_id.clone(),
            "electronic_messaging",
            "Innleggelsesrapporten fra hjemmetjenesten kom ikke med pasienten. Akuttmottaket manglet opplysninger om legemidler og funksjonsnivå de første timene.",
            "near_miss",
            day(14),
        ),
    ];
    let mut linked = Vec::new();
    for (email, recipient, category, description, harm, occurred) in cases {
        let reporter = person(conn, email)?;
        let body = NewDeviation {
            kind: "deviation".into(),
            category: category.into(),
            recipient_organisation_id: recipient,
            recipient_unit_id: None,
            reporting_unit_id: reporter.unit_id.clone(),
            occurred_at: occurred,
            discovered_at: None,
            description: description.into(),
            harm_class: harm.into(),
            harm_level: None,
            handover_related: true,
            patient: None,
            details: Default::default(),
        };
        let checked = submit::check(&patients, &reporter, &body, now).map_err(failed)?;
        let Prepared::New(draft) =
            submit::prepare(conn, config, &patients, &reporter, checked, None, now).map_err(failed)?
        else {
            anyhow::bail!("a demo deviation without a key cannot be a replay");
        };
        match submit::store(conn, &draft).map_err(failed)? {
            Submitted::Created(row) => linked.push(row.id),
            Submitted::Replayed(id) => linked.push(id),
        }
    }
    let at = now.naive_utc();
    let new = NewAnalysis {
        title: DEMO_ANALYSIS.into(),
        deviation_ids: linked,
        participant_ids: vec![municipal_advisor.user_id.clone()],
    };
    let a = analyses::create(conn, config, at, &advisor, &new).map_err(failed)?;
    let content = Content {
        version: a.version,
        title: None,
        timeline: Some(vec![
            Fact { date: day(21), fact: "Pasienten skrives ut fra medisinsk klinikk en fredag ettermiddag; epikrisen er ikke godkjent.".into() },
            Fact { date: day(20), fact: "Hjemmetjenesten ringer sykehuset for å få legemiddellisten.".into() },
            Fact { date: day(14), fact: "Pasient legges inn i akuttmottaket uten innleggelsesrapport fra hjemmetjenesten.".into() },
        ]),
        care_problems: Some(vec!["Legemiddelendringer ble ikke kjent for dem som skulle gi legemidlene.".into()]),
        conclusion: Some("Begge hendelsene skyldes at informasjon ikke følger pasienten når meldingene ikke er sendt før overgangen. Sykehuset sender epikrise før pasienten forlater avdelingen; hjemmetjenesten sender innleggelsesrapport når ambulansen er bestilt.".into()),
    };
    let a = analyses::update(conn, at, &advisor, &a.id, &content).map_err(failed)?;
    for (category, description) in [
        (
            "transitions_between_organisations",
            "Ingen felles sjekkpunkt for at meldingene er sendt før pasienten flyttes.",
        ),
        (
            "task_and_technology",
            "Epikrisen må godkjennes av lege før den sendes, og det skjer ofte etter at pasienten har reist.",
        ),
    ] {
        let factor = NewFactor { category: category.into(), description: description.into() };
        analyses::add_factor(conn, at, &advisor, &a.id, &factor).map_err(failed)?;
    }
    let a = analyses::move_to(conn, at, &advisor, &a.id, "in_progress", a.version).map_err(failed)?;
    let a = analyses::move_to(conn, at, &advisor, &a.id, "concluded", a.version).map_err(failed)?;
    // Its action, done, with the day it took effect inside the demo's own range.
    let leader = person(conn, "leder.medisinsk@stolav.example")?;
    let action = crate::actions::NewAction {
        analysis_id: Some(a.id.clone()),
        title: "Epikrisen sendes før pasienten forlater avdelingen".into(),
        description: "Sjekkpunkt i utskrivningslisten: epikrise og legemiddelliste er godkjent og sendt.".into(),
        responsible_organisation_id: leader.organisation_id.clone(),
        responsible_user_id: leader.user_id.clone(),
        due_on: day(0),
        category: "discharge_summary".into(),
        // What it should move: the municipalities' reports of a missing discharge summary.
        direction: Some("municipality_to_hospital".into()),
        unit_id: None,
    };
    let made = crate::actions::create(conn, at, &advisor, &action).map_err(failed)?;
    let mut version = made.row.version;
    for (to, effective_on) in [("in_progress", None), ("done", Some(day(7)))] {
        let step = crate::actions::ActionMove { to: to.into(), version, reason: None, effective_on };
        version = crate::actions::move_to(conn, at, &leader, &made.row.id, &step).map_err(failed)?.row.version;
    }
    // What it learned, published for the whole helsefellesskap.
    let note = crate::learning::NewNote {
        analysis_id: a.id.clone(),
        title: DEMO_NOTE.into(),
        what_happened: "Flere pasienter kom hjem fra sykehuset uten at epikrise og legemiddelliste var sendt til \
                        kommunen. Hjemmesykepleien visste ikke hvilke medisiner som var endret."
            .into(),
        why: "Epikrisen godkjennes av lege etter at pasienten har reist, og ingen i avdelingen hadde ansvar for \
              å sjekke at meldingene var sendt før utskrivning."
            .into(),
        what_changed: "Utskrivningslisten har fått et sjekkpunkt: epikrise og legemiddelliste er godkjent og sendt \
                       før pasienten forlater avdelingen. Kommunene melder fra om det fortsatt skjer."
            .into(),
        anonymised: true,
    };
    crate::learning::publish(conn, &patients, at, &advisor, &note).map_err(failed)?;
    Ok(true)
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
