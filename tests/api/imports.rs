//! Importing history from the quality systems' exports: the fixtures are real-looking exports (EQS
//! in Windows-1252 with ";" and quoted newlines, a municipality's XLSX with a merged two-row
//! header, Compilo's UTF-8 CSV), each with its mapping.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use diesel::prelude::*;
use samavvik::db::schema::{deviations, imports, outbox};
use samavvik::import::{self, read::Source, Options, Outcome, Report};

use crate::helpers::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import").join(name)
}

const EQS: (&str, &str) = ("eqs-st-olav.csv", "eqs-st-olav.toml");
const ORKLAND: (&str, &str) = ("orkland-2022.xlsx", "orkland-2022.toml");
const COMPILO: (&str, &str) = ("compilo-melhus.csv", "compilo-melhus.toml");

fn run(app: &TestApp, (file, mapping): (&str, &str), options: Options) -> Report {
    let mapping = import::parse_mapping(&std::fs::read_to_string(fixture(mapping)).unwrap()).unwrap();
    let source = Source::Path(fixture(file));
    import::run(&mut app.conn(), &app.config, &source, &mapping, &options, app.clock.now(), None).unwrap()
}

fn imported(app: &TestApp) -> i64 {
    deviations::table.filter(deviations::source_system.is_not_null()).count().get_result(&mut app.conn()).unwrap()
}

fn skip_refused() -> Options {
    Options { skip_refused: true, ..Options::default() }
}

#[actix_web::test]
async fn the_dry_run_names_each_refused_row_by_line_and_column_and_writes_nothing() {
    let app = spawn_app().await;
    let report = run(&app, EQS, Options { dry_run: true, ..Options::default() });
    assert_eq!(report.status, Outcome::Checked);
    assert_eq!((report.rows, report.imported, report.skipped, report.refused), (9, 5, 0, 4));
    let refused: Vec<(u64, Option<&str>, &str, &[String])> = report
        .refusals
        .iter()
        .map(|r| (r.line, r.column.as_deref(), r.code.as_str(), r.suggestions.as_slice()))
        .collect();
    let medication = ["medication".to_string()];
    assert_eq!(
        refused,
        [
            // The first record spans lines 2 and 3 (a quoted newline), so the fifth starts on line 6.
            (6, Some("Kategori"), "unknown_category", &medication[..]),
            (7, Some("Hendelsesdato"), "invalid_date", &[][..]),
            (8, Some("Beskrivelse"), "national_id", &[][..]),
            (9, Some("Meldt av"), "unknown_organisation", &[][..]),
        ]
    );
    assert!(report.refusals[0].reason.contains("«Medisinering»"), "{:?}", report.refusals[0]);
    assert!(report.refusals[1].reason.contains("«31.02.2023»"), "{:?}", report.refusals[1]);
    assert!(report.refusals[3].reason.contains("«Hemne kommune»"), "{:?}", report.refusals[3]);
    let all = serde_json::to_string(&report).unwrap();
    assert!(!all.contains("230882") && !all.contains("47167"), "the national id is never repeated: {all}");
    assert_eq!(imported(&app), 0, "a dry run writes no deviation");
    let recorded: Vec<(bool, String)> =
        imports::table.select((imports::dry_run, imports::status)).load(&mut app.conn()).unwrap();
    assert_eq!(recorded, [(true, "checked".to_string())]);
}

#[actix_web::test]
async fn refused_rows_stop_the_import_unless_they_are_to_be_skipped() {
    let app = spawn_app().await;
    let report = run(&app, EQS, Options::default());
    assert_eq!((report.status, report.imported, report.refused), (Outcome::NotImported, 0, 4));
    assert!(report.failed(false));
    assert_eq!(imported(&app), 0, "nothing is written while rows are refused");

    let without_text = run(&app, EQS, Options { without_description: true, ..skip_refused() });
    assert_eq!(
        (without_text.imported, without_text.refused),
        (6, 3),
        "without free text the row with the number passes"
    );
    let texts: Vec<String> = deviations::table
        .filter(deviations::source_system.is_not_null())
        .select(deviations::description)
        .load(&mut app.conn())
        .unwrap();
    assert!(texts.iter().all(|t| t == import::row::WITHOUT_DESCRIPTION), "{texts:?}");
}

#[actix_web::test]
async fn each_export_imports_once_with_its_history_and_no_mail() {
    let app = spawn_app().await;
    let mut first = Vec::new();
    for fixture in [EQS, ORKLAND, COMPILO] {
        let r = run(&app, fixture, skip_refused());
        first.push((r.status, r.imported, r.skipped));
    }
    assert_eq!(first, [(Outcome::Imported, 5, 0), (Outcome::Imported, 5, 0), (Outcome::Imported, 4, 0)]);
    let again: Vec<_> = [EQS, ORKLAND, COMPILO]
        .into_iter()
        .map(|f| {
            let r = run(&app, f, skip_refused());
            (r.imported, r.skipped)
        })
        .collect();
    assert_eq!(again, [(0, 5), (0, 5), (0, 4)], "a second run adds nothing");
    assert_eq!(imported(&app), 14);

    let mut conn = app.conn();
    type Imported = (String, String, String, Option<String>, Option<String>);
    let rows: Vec<Imported> = deviations::table
        .filter(deviations::source_system.eq("EQS St. Olav"))
        .select((
            deviations::reference,
            deviations::status,
            deviations::occurred_at,
            deviations::source_id,
            deviations::next_reminder_on,
        ))
        .order(deviations::reference)
        .load(&mut conn)
        .unwrap();
    let first_row = &rows[0];
    assert_eq!(
        (first_row.0.as_str(), first_row.1.as_str(), first_row.2.as_str(), first_row.3.as_deref()),
        ("SA-2023-I000001", "closed", "2023-01-14", Some("EQS-2023-0101"))
    );
    assert!(rows.iter().all(|r| r.4.is_none()), "history starts no reminders");
    let in_progress = rows.iter().find(|r| r.3.as_deref() == Some("EQS-2023-0104")).unwrap();
    assert_eq!(in_progress.1, "in_progress", "the status comes through the mapping");
    let description: String = deviations::table
        .filter(deviations::source_id.eq("EQS-2023-0101"))
        .select(deviations::description)
        .first(&mut conn)
        .unwrap();
    assert_eq!(
        description,
        "Pasienten kom hjem uten epikrise.\nHjemmesykepleien ringte avdelingen to ganger før de fikk svar.",
        "Windows-1252 decoded, the quoted newline kept"
    );
    let harm: (String, Option<String>) = deviations::table
        .filter(deviations::source_id.eq("C-2024-18"))
        .select((deviations::harm_class, deviations::harm_level))
        .first(&mut conn)
        .unwrap();
    assert_eq!(harm, ("harm".into(), Some("low".into())));
    let unit: Option<String> = deviations::table
        .filter(deviations::source_system.eq("Orkland avviksliste"))
        .filter(deviations::source_id.eq("2"))
        .select(deviations::recipient_unit_id)
        .first(&mut conn)
        .unwrap();
    assert!(unit.is_some(), "the unit under the merged header «Mottaker / Enhet» is found");
    let mails: i64 = outbox::table.count().get_result(&mut conn).unwrap();
    assert_eq!(mails, 0, "an import sends no mail and no webhook");
    let events: i64 = samavvik::db::schema::deviation_events::table.count().get_result(&mut conn).unwrap();
    assert_eq!(events, 0);
}

#[actix_web::test]
async fn statistics_of_past_tertials_count_the_imported_rows_by_when_they_happened() {
    let app = spawn_app().await;
    for fixture in [EQS, ORKLAND, COMPILO] {
        run(&app, fixture, skip_refused());
    }
    let analyst = app.login(ANALYST).await;
    let mut totals = Vec::new();
    for period in ["2022-T1", "2022-T2", "2022-T3", "2023-T1", "2023-T2", "2024-T1"] {
        let s = app.get(&format!("/api/v1/stats?period={period}"), &analyst).await.expect(200);
        totals.push((period, s["total"].as_i64().unwrap(), s["imported"].as_i64().unwrap()));
    }
    // The fixtures' own counts by date of the event: Orkland 3 in Jan–Apr 2022 and 2 in Sep–Dec;
    // EQS 4 accepted in Jan–Apr 2023 and 1 in August; Compilo 4 in Jan–Apr 2024.
    assert_eq!(
        totals,
        [
            ("2022-T1", 3, 3),
            ("2022-T2", 0, 0),
            ("2022-T3", 2, 2),
            ("2023-T1", 4, 4),
            ("2023-T2", 1, 1),
            ("2024-T1", 4, 4)
        ]
    );
    let html = app.get("/api/v1/reports/2023-T2.html", &analyst).await.expect(200);
    let html = html.as_str().unwrap();
    assert!(html.contains(">2023-T1 (fra import)<") && html.contains(">2021-T3<"), "the trend marks imported tertials");
    assert!(html.contains("Fra import: 2022-T1 (3 av 3), 2022-T3 (2 av 2), 2023-T1 (4 av 4), 2023-T2 (1 av 1)."));
    let csv = app.get("/api/v1/reports/2023-T2.csv", &analyst).await.expect(200);
    assert!(csv
        .as_str()
        .unwrap()
        .contains("2023-T2,key_figures,imported,Fra import (kvalitetssystemenes historikk),1,"));
    let by_category = app.get("/api/v1/stats?period=2023-T1&group_by=category", &analyst).await.expect(200);
    let discharge_summary =
        by_category["groups"].as_array().unwrap().iter().find(|g| g["key"]["category"] == "discharge_summary").unwrap();
    assert_eq!(discharge_summary["count"], 2);
}

fn command(app: &TestApp, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_samavvik"));
    c.arg("import")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", &app.config.database_url)
        .env("SAMAVVIK_JWT_SECRET", &app.config.jwt_secret)
        .env("SAMAVVIK_SEED_DEMO", "never");
    c
}

#[actix_web::test]
async fn the_command_fails_on_refused_rows_and_suggests_a_mapping() {
    let app = spawn_app().await;
    let (file, mapping) = (fixture(EQS.0), fixture(EQS.1));
    let (file, mapping) = (file.to_str().unwrap(), mapping.to_str().unwrap());
    let out = command(&app, &["--mapping", mapping, "--dry-run", file]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("linje 8, kolonne «Beskrivelse»"), "{stdout}");
    assert!(stdout.contains("Nærmeste kategorier: medication"), "{stdout}");
    assert!(!stdout.contains("230882"), "{stdout}");
    let out = command(&app, &["--mapping", mapping, "--skip-refused", "--json", file]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["imported"].as_i64(), report["status"].as_str()), (Some(5), Some("imported")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Gjør databasen klar for spørringer"), "{stderr}");

    let out = command(&app, &["--suggest-mapping", fixture(ORKLAND.0).to_str().unwrap()]).output().unwrap();
    let suggested = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    // The first row is a title: the suggestion names what it found there, for the user to fix.
    assert!(suggested.contains("[categories]") && suggested.contains("# Kolonnene i filen"), "{suggested}");

    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(bad.path(), "source_system = \"X\"\n[columns]\noccurred_at = \"Finnes ikke\"\ncategory = \"Kategori\"\n[defaults]\nreporting_organisation = \"Malvik kommune\"\nrecipient_organisation = \"St. Olavs hospital HF\"\n").unwrap();
    let out = command(&app, &["--mapping", bad.path().to_str().unwrap(), file]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("Kolonnen «Finnes ikke» (occurred_at) finnes ikke i filen"), "{stderr}");
}

/// A CSV with `n` valid rows.
fn many_rows(path: &std::path::Path, n: usize) {
    let mut w = csv::WriterBuilder::new().delimiter(b';').from_path(path).unwrap();
    w.write_record(["Avviksnr", "Hendelsesdato", "Meldt av", "Kategori", "Beskrivelse"]).unwrap();
    for i in 0..n {
        let day = chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap() + chrono::Duration::days((i % 1800) as i64);
        w.write_record([
            format!("H-{i:07}"),
            day.format("%d.%m.%Y").to_string(),
            ["Trondheim kommune", "Malvik kommune", "Melhus kommune"][i % 3].to_string(),
            ["Epikrise", "Legemidler", "Utskrivning"][i % 3].to_string(),
            "Historisk avvik.".to_string(),
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

const MANY_MAPPING: &str = r#"source_system = "EQS"
[columns]
source_id = "Avviksnr"
occurred_at = "Hendelsesdato"
reporting_organisation = "Meldt av"
category = "Kategori"
description = "Beskrivelse"
[defaults]
recipient_organisation = "St. Olavs hospital HF"
harm_class = "no_harm"
status = "in_progress"
[categories]
"Epikrise" = "discharge_summary"
"Legemidler" = "medication"
"Utskrivning" = "discharge"
"#;

#[actix_web::test]
async fn an_import_killed_halfway_is_completed_by_running_it_again() {
    const ROWS: i64 = 100_000;
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let (file, mapping) = (dir.path().join("eqs.csv"), dir.path().join("eqs.toml"));
    many_rows(&file, ROWS as usize);
    std::fs::write(&mapping, MANY_MAPPING).unwrap();
    let args = ["--mapping", mapping.to_str().unwrap(), "--batch", "2000", file.to_str().unwrap()];

    let mut child = command(&app, &args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    // Killed once the first batches are committed: the process says so after each.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut committed = 0;
    while committed < 3 {
        let line = lines.next().expect("the import ended before it was killed").unwrap();
        committed += usize::from(line.starts_with("importert "));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let halfway = imported(&app);
    assert!((6_000..ROWS).contains(&halfway), "killed halfway: {halfway}");
    assert_eq!(halfway % 2000, 0, "only whole batches are committed: {halfway}");

    let out = command(&app, &args).arg("--json").stderr(Stdio::null()).output().unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(imported(&app), ROWS, "exactly every row once");
    assert_eq!(report["imported"].as_i64().unwrap() + report["skipped"].as_i64().unwrap(), ROWS);
    assert_eq!(report["skipped"].as_i64().unwrap(), halfway);
}

fn body(file: &str, mapping: &str, extra: serde_json::Value) -> serde_json::Value {
    use base64::Engine;
    let content = base64::engine::general_purpose::STANDARD.encode(std::fs::read(fixture(file)).unwrap());
    let mut body = serde_json::json!({
        "file_name": file,
        "content": content,
        "mapping": std::fs::read_to_string(fixture(mapping)).unwrap(),
    });
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

#[actix_web::test]
async fn the_administrator_imports_through_the_api_after_a_dry_run() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN).await;
    let dry =
        app.post("/api/v1/imports", &admin, &body(ORKLAND.0, ORKLAND.1, serde_json::json!({"dry_run": true}))).await;
    let dry = dry.expect(201);
    assert_eq!((dry["status"].as_str(), dry["imported"].as_i64()), (Some("checked"), Some(5)));
    assert_eq!(imported(&app), 0, "a dry run writes no deviation");

    let done =
        app.post("/api/v1/imports", &admin, &body(ORKLAND.0, ORKLAND.1, serde_json::json!({}))).await.expect(201);
    assert_eq!((done["status"].as_str(), done["imported"].as_i64()), (Some("imported"), Some(5)));
    assert_eq!(imported(&app), 5, "201 means committed");

    let refused = app.post("/api/v1/imports", &admin, &body(EQS.0, EQS.1, serde_json::json!({}))).await.expect(201);
    assert_eq!(refused["status"], "not_imported", "the report says why, row by row: {refused}");
    assert_eq!(refused["refusals"].as_array().unwrap().len(), 4);
    assert_eq!(imported(&app), 5);

    let list = app.get("/api/v1/imports", &admin).await.expect(200);
    let statuses: Vec<&str> = list["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["not_imported", "imported", "checked"], "newest first");
    let one = app.get(&format!("/api/v1/imports/{}", done["id"].as_str().unwrap()), &admin).await.expect(200);
    assert_eq!(one, done);
    app.get(&format!("/api/v1/imports/{}", uuid::Uuid::new_v4()), &admin).await.problem(404, "not_found");
}

#[actix_web::test]
async fn only_the_administrator_imports_and_bad_input_is_named() {
    let app = spawn_app().await;
    let analyst = app.login(ANALYST).await;
    let good = body(COMPILO.0, COMPILO.1, serde_json::json!({"dry_run": true}));
    app.post("/api/v1/imports", &analyst, &good).await.problem(403, "forbidden");
    app.get("/api/v1/imports", &analyst).await.problem(403, "forbidden");
    app.request(reqwest::Method::POST, "/api/v1/imports", None, Some(&good)).await.problem(401, "missing_token");

    let admin = app.login(ADMIN).await;
    let cases = [
        (serde_json::json!({"file_name": "../eqs.csv"}), "file_name", "invalid_value"),
        (serde_json::json!({"content": "ikke base64!"}), "content", "invalid_base64"),
        (serde_json::json!({"mapping": "[columns]\noccurred_at = 3"}), "mapping", "invalid_mapping"),
        // A ZIP's signature and then nothing an XLSX has.
        (serde_json::json!({"content": "UEsDBGtyb2tldA=="}), "content", "unreadable_file"),
    ];
    for (change, field, code) in cases {
        let mut bad = good.clone();
        bad.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
        let p = app.post("/api/v1/imports", &admin, &bad).await.problem(422, "validation_failed");
        assert_eq!(
            (p["fields"][0]["field"].as_str(), p["fields"][0]["code"].as_str()),
            (Some(field), Some(code)),
            "{p}"
        );
    }
    let recorded: i64 = imports::table.count().get_result(&mut app.conn()).unwrap();
    assert_eq!(recorded, 0, "input refused before reading is not recorded as an import");
}
