//! The binary refuses bad start-up settings with one clear line.

use std::process::Command;

fn migrate_with(database_url: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_samavvik"))
        .arg("migrate")
        .current_dir(dir.path())
        .env("DATABASE_URL", database_url)
        .env_remove("SAMAVVIK_CONFIG")
        .output()
        .unwrap();
    // No SQLite file may appear by accident.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "files were created for {database_url}");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn unknown_scheme_fails_with_one_line() {
    let (ok, stderr) = migrate_with("mysql://x");
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("mysql"), "{stderr}");
}

#[test]
fn unreachable_postgres_fails_with_one_line() {
    let (ok, stderr) = migrate_with("postgres://nohost.invalid/samavvik");
    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("kan ikke koble til databasen"), "{stderr}");
}

#[test]
fn production_refuses_the_dev_secret() {
    let out = Command::new(env!("CARGO_BIN_EXE_samavvik"))
        .arg("migrate")
        .env("SAMAVVIK_PROFILE", "production")
        .env("SAMAVVIK_MAIL_TRANSPORT", "smtp")
        .env_remove("SAMAVVIK_JWT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SAMAVVIK_JWT_SECRET"));
}

/// `seed-demo`, then `report` for the current tertial, as the README says: the HTML has the
/// «Tiltak og effekt» section with the demo's action and its chart, and «Læring» with its note.
#[test]
fn the_demos_current_tertial_report_from_the_command_line_has_tiltak_og_effekt_and_laering() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_samavvik"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("SAMAVVIK_CONFIG")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&["seed-demo"]);
    let tertial =
        samavvik::domain::period::Period::tertial_of(samavvik::domain::calendar::oslo_today(chrono::Utc::now()));
    run(&["report", "--tertial", &tertial.to_string(), "--out", "rapport.html"]);
    let html = std::fs::read_to_string(dir.path().join("rapport.html")).unwrap();
    let section = html.split("<h2>Tiltak og effekt</h2>").nth(1).expect("the section");
    assert!(
        section.contains("<h3>Epikrisen sendes før pasienten forlater avdelingen</h3>") && section.contains("<svg")
    );
    let lessons = html.split("<h2>Læring</h2>").nth(1).expect("the section").split("<h2>").next().unwrap();
    assert!(lessons.contains(&format!("<h3>{}</h3>", samavvik::seed::DEMO_NOTE)), "{lessons}");
    assert!(lessons.contains("Utskrivningslisten har fått et sjekkpunkt"), "{lessons}");
    assert!(html.contains("<h2>Tilbakemelding</h2>"), "the feedback section (#37)");
}

/// The data the service makes for itself is its own user's: `./data` 0700, the database, its lock
/// and the `dev` secret 0600, the mail directory 0700 (#39; the database was 0644).
#[test]
fn the_files_the_service_makes_are_readable_by_its_own_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_samavvik"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("SAMAVVIK_CONFIG")
        .env("SAMAVVIK_SEED_DEMO", "never")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Ready once it logs that it listens: every file is made before that.
    let stderr = serve.stderr.take().unwrap();
    let listening = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .map_while(Result::ok)
        .any(|line| line.contains("listening") || line.contains("lytter"));
    let mode = |p: &str| std::fs::metadata(dir.path().join(p)).map(|m| m.permissions().mode() & 0o777);
    let modes = [
        ("data", mode("data")),
        ("data/samavvik.db", mode("data/samavvik.db")),
        ("data/samavvik.db.serve-lock", mode("data/samavvik.db.serve-lock")),
        ("data/secret", mode("data/secret")),
        ("data/mail", mode("data/mail")),
    ];
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(listening, "the server started");
    for (path, m) in modes {
        let want = if path == "data" || path == "data/mail" { 0o700 } else { 0o600 };
        assert_eq!(m.unwrap_or_else(|e| panic!("{path}: {e}")), want, "{path}");
    }
}
