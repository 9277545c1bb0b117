//! Database access: one connection type over SQLite and PostgreSQL, chosen by the URL scheme.

pub mod access_log;
pub mod actions;
pub mod analyses;
pub mod categories;
pub mod clients;
pub mod deviations;
pub mod events;
pub mod feed;
pub mod group_commit;
pub mod health_communities;
pub mod idempotency;
pub mod identities;
pub mod imports;
pub mod jobs;
pub mod learning_notes;
pub mod mappings;
pub mod names;
pub mod organisations;
pub mod outbox;
pub mod patients;
pub mod ratings;
pub mod references;
pub mod routing;
pub mod schema;
pub mod stats;
pub mod units;
pub mod users;
pub mod webhooks;

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::ApiError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Where the data lives. Parsed from `DATABASE_URL` before anything connects, so a typo is an error
/// instead of a brand-new SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DbUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err("DATABASE_URL=sqlite:// mangler filsti".into());
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(path)));
        }
        if url.is_empty() || url.contains("://") || url.contains(':') && !url.starts_with('/') {
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(format!(
                "DATABASE_URL har ukjent skjema «{scheme}»: bruk sqlite://sti, en filsti, eller postgres://"
            ));
        }
        Ok(DbUrl::Sqlite(PathBuf::from(url)))
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, DbUrl::Sqlite(_))
    }

    /// A printable form without any password.
    pub fn redacted(&self) -> String {
        match self {
            DbUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DbUrl::Postgres(u) => match (u.find("://"), u.rfind('@')) {
                (Some(s), Some(at)) if at > s => {
                    format!("{}://***@{}", u.get(..s).unwrap_or_default(), u.get(at + 1..).unwrap_or_default())
                }
                _ => u.clone(),
            },
        }
    }

    pub fn connect(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match self {
            DbUrl::Postgres(url) => PgConnection::establish(url).map(DbConnection::Pg),
            DbUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // synchronous=FULL: a 2xx must mean the row survives a power cut. An 8 MB page
                // cache per connection keeps the pool's memory bounded (64 MB each took the server
                // past 150 MB under load); the kernel's file cache serves the rest.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY;",
                )
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

thread_local! {
    /// Set by `run` when the connection it used has stopped answering.
    static LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Until when (ms since the epoch) pooled connections are tested before use.
static SUSPECT_UNTIL: AtomicI64 = AtomicI64::new(0);
const SUSPECT_FOR_MS: i64 = 30_000;

fn suspect() -> bool {
    chrono::Utc::now().timestamp_millis() < SUSPECT_UNTIL.load(Ordering::Relaxed)
}

fn lost_connection() {
    SUSPECT_UNTIL.store(chrono::Utc::now().timestamp_millis() + SUSPECT_FOR_MS, Ordering::Relaxed);
    LOST.with(|lost| lost.set(true));
}

/// r2d2 manager that connects through [`DbUrl::connect`], so the backend is never guessed.
#[derive(Debug, Clone)]
pub struct Manager(DbUrl);

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.0.connect()
    }

    /// A `SELECT 1` before every use was the dearest part of a read, so connections are only
    /// tested for a while after one was found lost (a restart or failover loses them all).
    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        if !suspect() {
            return Ok(());
        }
        conn.batch_execute("SELECT 1").map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        LOST.with(|lost| lost.replace(false))
    }
}

/// Connects once (so a bad URL fails with the driver's own words), runs the embedded migrations and
/// builds the pool.
pub fn open(url: &DbUrl, max_connections: u32) -> anyhow::Result<Pool> {
    open_one(url)?;
    let pool = r2d2::Pool::builder()
        .max_size(max_connections)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        .build(Manager(url.clone()))?;
    Ok(pool)
}

/// Refuses a second `serve` on one SQLite file: SQLite is the one-server deployment (its shared
/// commit and caches assume one server process); several instances share PostgreSQL. Commands
/// (`mail-worker`, `generate`, …) may still run beside the server: SQLite locks across
/// processes. Returns the lock, held while it lives; None for PostgreSQL.
pub fn serve_lock(url: &DbUrl) -> anyhow::Result<Option<std::fs::File>> {
    let DbUrl::Sqlite(path) = url else { return Ok(None) };
    let mut name = path.clone().into_os_string();
    name.push(".serve-lock");
    let lock = PathBuf::from(name);
    if let Some(dir) = lock.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::files::private_dir(dir)
            .map_err(|e| anyhow::anyhow!("kan ikke opprette mappen {}: {e}", dir.display()))?;
    }
    let file = crate::files::private_options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|e| anyhow::anyhow!("kan ikke åpne {}: {e}", lock.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow::anyhow!(
            "en annen samavvik serve bruker allerede SQLite-databasen {}. SQLite tåler bare én server; \
             stopp den andre, eller bruk PostgreSQL (DATABASE_URL=postgres://…) for flere instanser",
            path.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(anyhow::anyhow!("kan ikke låse {}: {e}", lock.display())),
    }
}

/// One migrated connection, for the command line.
pub fn open_one(url: &DbUrl) -> anyhow::Result<DbConnection> {
    if let DbUrl::Sqlite(path) = url {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::files::private_dir(dir)
                .map_err(|e| anyhow::anyhow!("kan ikke opprette mappen {}: {e}", dir.display()))?;
        }
        // Made owner-only before SQLite opens it: its WAL and shared-memory files take its mode.
        if !path.to_string_lossy().starts_with(":memory:") && !path.to_string_lossy().starts_with("file:") {
            crate::files::private_file(path)
                .map_err(|e| anyhow::anyhow!("kan ikke opprette {}: {e}", path.display()))?;
        }
    }
    let mut conn = url.connect().map_err(|e| {
        anyhow::anyhow!("kan ikke koble til databasen {}: {}", url.redacted(), one_line(&e.to_string()))
    })?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// The advisory lock key migrations hold on PostgreSQL ("samavvik" in ASCII, as a number).
const MIGRATION_LOCK: i64 = 0x73616d6176766b;

pub fn migrate(conn: &mut DbConnection) -> anyhow::Result<()> {
    let result = match conn {
        DbConnection::Pg(c) => {
            // Instances started together would otherwise run the same migration side by side; the
            // second waits here, then finds nothing pending. SQLite's write lock does this itself.
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = c.run_pending_migrations(PG_MIGRATIONS).map(|_| ());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            result
        }
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| anyhow::anyhow!("migrering feilet: {e}"))
}

/// Undoes the newest migration and names it: for an operator stepping back a release, and for the
/// tests that show each migration that moves data can go both ways without losing any.
pub fn revert_last(conn: &mut DbConnection) -> anyhow::Result<String> {
    let result = match conn {
        DbConnection::Pg(c) => c.revert_last_migration(PG_MIGRATIONS),
        DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
    };
    result.map(|v| v.to_string()).map_err(|e| anyhow::anyhow!("tilbakerulling feilet: {e}"))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Runs blocking diesel work off the async workers.
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let waiting = std::time::Instant::now();
        let conn = pool.get();
        crate::monitoring::pool_waited(waiting.elapsed(), conn.is_ok());
        let mut conn = conn.map_err(ApiError::unavailable)?;
        let result = f(&mut conn);
        if result.as_ref().is_err_and(|e| e.status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE) {
            // The database may have gone away under this connection: if it no longer answers,
            // the pool drops it when it comes back (on this thread, in `has_broken`), and tests
            // the others before use for a while.
            if conn.batch_execute("SELECT 1").is_err() {
                lost_connection();
            }
        }
        result
    })
    .await
    .map_err(ApiError::internal)?
}

/// A write transaction. On SQLite it takes the database's write lock with its first statement, so
/// concurrent writers queue on `busy_timeout` instead of failing when a read lock cannot be upgraded.
pub fn write_tx<T, F>(conn: &mut DbConnection, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError>,
{
    use diesel::prelude::*;
    conn.transaction(|conn| {
        if matches!(conn, DbConnection::Sqlite(_)) {
            use schema::write_lock::dsl as w;
            diesel::update(w::write_lock.find(1)).set(w::n.eq(w::n + 1)).execute(conn)?;
        }
        f(conn)
    })
}

/// Looks up an organisation by its number and, optionally, one of its units by name (for the CLI).
pub fn find_org_and_unit(
    conn: &mut DbConnection,
    org_number: &str,
    unit: Option<&str>,
) -> anyhow::Result<(crate::ids::OrganisationId, Option<crate::ids::UnitId>)> {
    let org = organisations::list(conn, None, true, None)?
        .into_iter()
        .find(|o| o.org_number == org_number.replace(' ', ""))
        .ok_or_else(|| anyhow::anyhow!("ingen organisasjon med organisasjonsnummer {org_number}"))?;
    let unit_id = match unit {
        None => None,
        Some(name) => Some(
            units::for_organisations(conn, std::slice::from_ref(&org.id), true)?
                .into_iter()
                .find(|u| u.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| anyhow::anyhow!("{} har ingen enhet som heter {name}", org.name))?
                .id,
        ),
    };
    Ok((org.id, unit_id))
}

#[cfg(test)]
mod tests {
    use super::DbUrl;
    use std::path::PathBuf;

    #[test]
    fn picks_backend_by_scheme() {
        assert_eq!(
            DbUrl::parse("sqlite://data/samavvik.db").unwrap(),
            DbUrl::Sqlite(PathBuf::from("data/samavvik.db"))
        );
        assert_eq!(DbUrl::parse("/tmp/x.db").unwrap(), DbUrl::Sqlite(PathBuf::from("/tmp/x.db")));
        assert_eq!(DbUrl::parse("data/x.db").unwrap(), DbUrl::Sqlite(PathBuf::from("data/x.db")));
        assert!(matches!(DbUrl::parse("postgres://u@h/db").unwrap(), DbUrl::Postgres(_)));
        assert!(matches!(DbUrl::parse("postgresql://h/db").unwrap(), DbUrl::Postgres(_)));
    }

    #[test]
    fn refuses_unknown_schemes() {
        for bad in ["mysql://x", "postgress://x", "", "sqlite://", "redis:x"] {
            assert!(DbUrl::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn redacts_password() {
        let url = DbUrl::parse("postgres://user:secret@db:5432/samavvik").unwrap();
        assert_eq!(url.redacted(), "postgres://***@db:5432/samavvik");
    }
}
