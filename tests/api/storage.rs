//! Storage that stops taking writes: SQLite on a full disk (a small tmpfs, filled), PostgreSQL
//! turned read-only (as a demoted primary is). A submission then gets a clear 503 with
//! Retry-After, nothing of it is stored, reading goes on, and writing resumes when storage does.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use samavvik::db::schema::{deviation_events, deviations, outbox, reference_counters};
use samavvik::db::DbUrl;

use crate::helpers::*;

/// Row counts of everything a submission writes, and the last reference number given.
fn written(app: &TestApp) -> (i64, i64, i64, i32) {
    let mut c = app.conn();
    let n = |r: QueryResult<i64>| r.unwrap();
    (
        n(deviations::table.count().get_result(&mut c)),
        n(deviation_events::table.count().get_result(&mut c)),
        n(outbox::table.count().get_result(&mut c)),
        reference_counters::table
            .select(diesel::dsl::max(reference_counters::last_value))
            .first::<Option<i32>>(&mut c)
            .unwrap()
            .unwrap_or(0),
    )
}

/// Asserts the refusal a nurse's client gets when storage takes no writes.
fn refused(r: Response) {
    assert!(r.headers.get("retry-after").is_some(), "503 without Retry-After");
    let problem = r.problem(503, "service_unavailable");
    assert!(problem["detail"].as_str().unwrap().contains("ingenting er lagret"), "{problem}");
}

/// A tmpfs of `size`, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    /// None when this machine does not let the tests mount (not root): allowed only outside CI.
    fn mount(at: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(std::env::var_os("CI").is_none(), "CI must be able to mount a tmpfs for the disk-full test");
            eprintln!("skipping: cannot mount a tmpfs here (run as root, as .ci/run does)");
            return None;
        }
        Some(SmallDisk(at.to_owned()))
    }

    /// Writes a filler file until the disk refuses more.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let chunk = vec![0u8; 16 * 1024];
        while f.write_all(&chunk).and_then(|_| f.sync_all()).is_ok() {}
        // Whatever is left is smaller than a page-sized write; take that too.
        while f.write_all(&[0u8; 512]).is_ok() {}
    }

    fn free(&self) {
        std::fs::remove_file(self.0.join("filler")).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[actix_web::test]
async fn a_full_disk_refuses_submissions_cleanly_and_they_resume_when_space_returns() {
    // SQLite's file is the one this test can fill; PostgreSQL has the read-only test.
    if !requires("sqlite", "storage::a_full_disk") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&dir.path().join("disk"), "8m") else { return };
    let db = disk.0.join("samavvik.db");
    let app = spawn_app_with(|c| c.database_url = format!("sqlite://{}", db.display())).await;
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let body = form(stolav["id"].as_str().unwrap());
    let first = app.submit(&nurse, &body).await;

    // Empty the WAL so the next commit has to grow a file on the full disk.
    app.conn().batch_execute("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    disk.fill();
    let before = written(&app);
    for _ in 0..3 {
        refused(app.post("/api/v1/deviations", &nurse, &body).await);
    }
    assert_eq!(written(&app), before, "a refused submission left rows behind");
    // What is stored can still be read.
    let id = first["id"].as_str().unwrap();
    app.get(&format!("/api/v1/deviations/{id}"), &nurse).await.expect(200);

    disk.free();
    let next = app.submit(&nurse, &body).await;
    let number = |d: &serde_json::Value| d["reference"].as_str().unwrap().rsplit('-').next().unwrap().to_owned();
    let (first_n, next_n): (u32, u32) = (number(&first).parse().unwrap(), number(&next).parse().unwrap());
    assert_eq!(next_n, first_n + 1, "the refused submissions must not have used reference numbers");
    println!("disk full: 3 submissions refused with 503 + Retry-After, 0 rows written; resumed after space returned");
}

#[actix_web::test]
async fn a_read_only_postgres_refuses_submissions_cleanly_and_they_resume_when_writable() {
    if !requires("postgres", "storage::a_read_only_postgres") {
        return;
    }
    let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
    let app = spawn_app().await;
    let name = app.config.database_url.rsplit('/').next().unwrap().to_owned();
    let mut admin = DbUrl::parse(&admin_url).unwrap().connect().unwrap();
    // New sessions start read-only; cutting the pool's sessions makes it reconnect into that.
    let set_read_only = |admin: &mut samavvik::db::DbConnection, on: bool| {
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {name} SET default_transaction_read_only = {on}; \
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
            ))
            .unwrap();
    };
    let nurse = app.login(NURSE).await;
    let stolav = app.organisation(&nurse, "St. Olavs hospital HF").await;
    let body = form(stolav["id"].as_str().unwrap());
    let first = app.submit(&nurse, &body).await;

    set_read_only(&mut admin, true);
    let before = written(&app);
    for _ in 0..3 {
        refused(app.post("/api/v1/deviations", &nurse, &body).await);
    }
    assert_eq!(written(&app), before, "a refused submission left rows behind");
    let id = first["id"].as_str().unwrap();
    app.get(&format!("/api/v1/deviations/{id}"), &nurse).await.expect(200);

    set_read_only(&mut admin, false);
    // The request that finds its pooled session cut is refused like the others (the client
    // retries after Retry-After); the pool then tests its sessions and the retry is stored.
    let r = app.post("/api/v1/deviations", &nurse, &body).await;
    if r.status != 201 {
        refused(r);
        app.submit(&nurse, &body).await;
    }
    assert_eq!(written(&app).0, before.0 + 1);
    println!("read-only PostgreSQL: 3 submissions refused with 503 + Retry-After, 0 rows written; resumed");
}
