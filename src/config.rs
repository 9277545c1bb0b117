//! Typed settings from the environment (and an optional TOML file named by `SAMAVVIK_CONFIG`).
//! Every setting is documented once, in `deploy/samavvik.example.env`.

use std::path::PathBuf;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::db::DbUrl;

/// A fresh random signing secret: 256 bits from the operating system, as 64 hex digits.
pub fn random_secret() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The `dev` profile's secret: kept in `file` (made at first start, readable by the owner only),
/// so sessions survive a restart and no token signed with a secret from the source is accepted.
fn dev_secret(file: &std::path::Path) -> Result<String, String> {
    let problem = |e: std::io::Error| format!("SAMAVVIK_SECRET_FILE {}: {e}", file.display());
    match std::fs::read_to_string(file) {
        Ok(s) => Ok(s.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::files::private_dir(dir).map_err(problem)?;
            }
            let secret = random_secret();
            let mut created =
                crate::files::private_options().write(true).create_new(true).open(file).map_err(problem)?;
            std::io::Write::write_all(&mut created, secret.as_bytes()).map_err(problem)?;
            Ok(secret)
        }
        Err(e) => Err(problem(e)),
    }
}

/// Long enough and not one character repeated: the least a signing secret must be.
fn weak(secret: &str) -> bool {
    let distinct: std::collections::BTreeSet<char> = secret.chars().collect();
    secret.len() < 32 || distinct.len() < 12
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Dev,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTransport {
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain SMTP, for a local relay or sink only.
    None,
    Starttls,
    /// Implicit TLS (SMTPS, usually port 465).
    Tls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedDemo {
    /// Seed when the database is empty, in the dev profile on SQLite.
    Auto,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// Whether concurrent submissions share one transaction and one disk flush.
/// Whether the form takes the patient's national id (#18): a helsefellesskap switches it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatientIdentity {
    Off,
    Optional,
    Required,
}

/// Who signs the tokens the API takes: this service (`local`: passwords, for development and the
/// demo) or an OpenID provider (`oidc`: HelseID), see `auth::oidc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    Local,
    Oidc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupCommit {
    /// On for SQLite, whose single writer makes it pay; off for PostgreSQL, which overlaps commits itself.
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub profile: Profile,
    pub listen: String,
    pub database_url: String,
    pub db_max_connections: u32,
    pub group_commit: GroupCommit,
    pub public_base_url: String,
    pub jwt_secret: String,
    pub secret_file: PathBuf,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub token_ttl_minutes: i64,
    pub login_attempts_per_minute: u32,
    pub login_failures_per_account: u32,
    pub trusted_proxies: String,
    pub max_body_bytes: usize,
    pub allow_cross_community_cases: bool,
    pub mail_transport: MailTransport,
    pub mail_dir: PathBuf,
    pub mail_from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username: String,
    pub smtp_password: String,
    pub smtp_timeout_seconds: u64,
    pub smtp_ca_file: String,
    pub mail_worker: bool,
    pub mail_poll_interval_ms: u64,
    pub mail_max_attempts: i32,
    pub webhook_worker: bool,
    pub webhook_timeout_seconds: u64,
    pub webhook_allow_loopback: bool,
    /// Where `/metrics` is served on its own (e.g. `10.0.0.5:9464`, inside the deployment's
    /// network); empty: nowhere.
    pub metrics_listen: String,
    /// With a token, `/metrics` also answers on the main port to `Authorization: Bearer <token>`.
    pub metrics_token: String,
    pub escalation_recipients: String,
    pub committee_recipients: String,
    pub suppression_threshold: i64,
    pub seed_demo: SeedDemo,
    pub log_format: LogFormat,
    pub acknowledge_working_days: u32,
    pub answer_working_days: u32,
    /// Working days before an action's due date that its owner is reminded (and again on the day).
    pub action_reminder_working_days: u32,
    pub auto_close_days: i64,
    pub job_interval_seconds: u64,
    pub background_jobs: bool,
    pub patient_identity: PatientIdentity,
    /// `id=hex` entries (see `patients::keys`).
    pub patient_keys: String,
    pub patient_keys_file: String,
    pub patient_active_key: String,
    pub patient_hash_key: String,
    pub patient_hash_key_file: String,
    pub patient_identity_retention_days: i64,
    pub patient_access_log_retention_days: i64,
    pub patient_reveals_per_day_alert: usize,
    pub auth_mode: AuthMode,
    pub oidc_issuer: String,
    pub oidc_audience: String,
    /// Scopes every API token must carry, separated by spaces or commas.
    pub oidc_scopes: String,
    pub oidc_min_security_level: u8,
    pub oidc_accept_bearer: bool,
    pub oidc_organisation_claim: String,
    /// The web pages' client in HelseID, and its private key (private JWK or PKCS#8 PEM) for private_key_jwt.
    pub oidc_client_id: String,
    pub oidc_client_key_file: String,
    /// What the web login asks for, separated by spaces.
    pub oidc_client_scopes: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            profile: Profile::Dev,
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/samavvik.db".into(),
            db_max_connections: 8,
            group_commit: GroupCommit::Auto,
            public_base_url: "http://127.0.0.1:8080".into(),
            jwt_secret: random_secret(),
            secret_file: PathBuf::from("data/secret"),
            jwt_issuer: "samavvik".into(),
            jwt_audience: "samavvik-api".into(),
            token_ttl_minutes: 60,
            login_attempts_per_minute: 20,
            login_failures_per_account: 10,
            trusted_proxies: String::new(),
            max_body_bytes: 64 * 1024,
            allow_cross_community_cases: false,
            mail_transport: MailTransport::File,
            mail_dir: PathBuf::from("data/mail"),
            mail_from: "samavvik <ikke-svar@samavvik.example>".into(),
            smtp_host: "127.0.0.1".into(),
            smtp_port: 25,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: String::new(),
            smtp_password: String::new(),
            smtp_timeout_seconds: 10,
            smtp_ca_file: String::new(),
            mail_worker: true,
            mail_poll_interval_ms: 1000,
            mail_max_attempts: 10,
            webhook_worker: true,
            webhook_timeout_seconds: 15,
            webhook_allow_loopback: false,
            metrics_listen: String::new(),
            metrics_token: String::new(),
            escalation_recipients: "forbedringsgruppa@helsefellesskap.example".into(),
            committee_recipients: "asu@helsefellesskap.example".into(),
            suppression_threshold: 3,
            seed_demo: SeedDemo::Auto,
            log_format: LogFormat::Text,
            acknowledge_working_days: 5,
            answer_working_days: 15,
            action_reminder_working_days: 5,
            auto_close_days: 14,
            job_interval_seconds: 60,
            background_jobs: true,
            patient_identity: PatientIdentity::Off,
            patient_keys: String::new(),
            patient_keys_file: String::new(),
            patient_active_key: String::new(),
            patient_hash_key: String::new(),
            patient_hash_key_file: String::new(),
            patient_identity_retention_days: 30,
            patient_access_log_retention_days: 730,
            patient_reveals_per_day_alert: 20,
            auth_mode: AuthMode::Local,
            oidc_issuer: String::new(),
            oidc_audience: String::new(),
            oidc_scopes: String::new(),
            oidc_min_security_level: 4,
            oidc_accept_bearer: false,
            oidc_organisation_claim: "helseid://claims/client/claims/orgnr_parent".into(),
            oidc_client_id: String::new(),
            oidc_client_key_file: String::new(),
            oidc_client_scopes:
                "openid profile helseid://scopes/identity/pid helseid://scopes/identity/security_level \
                                 helseid://scopes/hpr/hpr_number"
                    .into(),
        }
    }
}

impl Config {
    /// Defaults, then the TOML file named by `SAMAVVIK_CONFIG`, then `SAMAVVIK_*` variables
    /// (and the conventional unprefixed `DATABASE_URL` and `PUBLIC_BASE_URL`).
    pub fn load() -> Result<Self, String> {
        // No secret unless one is configured: `dev` then keeps its own in `secret_file`.
        let defaults = Config { jwt_secret: String::new(), ..Config::default() };
        let mut figment = Figment::from(Serialized::defaults(defaults));
        if let Ok(path) = std::env::var("SAMAVVIK_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        let config: Config = figment
            .merge(Env::raw().only(&["DATABASE_URL", "PUBLIC_BASE_URL"]))
            .merge(Env::prefixed("SAMAVVIK_").ignore(&["CONFIG"]))
            .extract()
            .map_err(|e| format!("ugyldig konfigurasjon: {e}"))?;
        config.check()?;
        Ok(config)
    }

    /// Refuses combinations that would be unsafe or cannot work, with one line saying which.
    pub fn check(&self) -> Result<(), String> {
        DbUrl::parse(&self.database_url)?;
        // An empty secret in `dev` is made (or read) by `with_secret` when a command needs one.
        let later = self.jwt_secret.is_empty() && self.profile == Profile::Dev;
        if !later && weak(&self.jwt_secret) {
            return Err("SAMAVVIK_JWT_SECRET må settes til en tilfeldig hemmelighet på minst 32 tegn \
                        (for eksempel `openssl rand -hex 32`)"
                .into());
        }
        if self.profile == Profile::Production && self.mail_transport == MailTransport::File {
            return Err("SAMAVVIK_MAIL_TRANSPORT=file er ikke tillatt i produksjon; bruk smtp".into());
        }
        if !(1..=24 * 60).contains(&self.token_ttl_minutes) {
            return Err("SAMAVVIK_TOKEN_TTL_MINUTES må være mellom 1 og 1440".into());
        }
        if self.acknowledge_working_days == 0 || self.answer_working_days < self.acknowledge_working_days {
            return Err("SAMAVVIK_ANSWER_WORKING_DAYS må være minst like stor som SAMAVVIK_ACKNOWLEDGE_WORKING_DAYS, og begge over 0".into());
        }
        if self.auto_close_days < 1 || self.job_interval_seconds == 0 {
            return Err("SAMAVVIK_AUTO_CLOSE_DAYS og SAMAVVIK_JOB_INTERVAL_SECONDS må være større enn 0".into());
        }
        if self.mail_max_attempts < 1 || self.mail_poll_interval_ms == 0 {
            return Err("SAMAVVIK_MAIL_MAX_ATTEMPTS og SAMAVVIK_MAIL_POLL_INTERVAL_MS må være større enn 0".into());
        }
        if !(1..=60).contains(&self.webhook_timeout_seconds) {
            return Err("SAMAVVIK_WEBHOOK_TIMEOUT_SECONDS må være mellom 1 og 60".into());
        }
        if !self.metrics_token.is_empty() && self.metrics_token.len() < 32 {
            return Err("SAMAVVIK_METRICS_TOKEN må være minst 32 tegn, eller tom".into());
        }
        if !self.metrics_listen.is_empty() && self.metrics_listen.parse::<std::net::SocketAddr>().is_err() {
            return Err("SAMAVVIK_METRICS_LISTEN må være adresse:port, for eksempel 127.0.0.1:9464".into());
        }
        if self.webhook_allow_loopback && self.profile == Profile::Production {
            return Err("SAMAVVIK_WEBHOOK_ALLOW_LOOPBACK er bare for test og utvikling, ikke i production".into());
        }
        self.trusted_proxy_list()?;
        if self.login_failures_per_account == 0 {
            return Err("SAMAVVIK_LOGIN_FAILURES_PER_ACCOUNT må være større enn 0".into());
        }
        if self.db_max_connections == 0 || self.login_attempts_per_minute == 0 {
            return Err("SAMAVVIK_DB_MAX_CONNECTIONS og SAMAVVIK_LOGIN_ATTEMPTS_PER_MINUTE må være større enn 0".into());
        }
        if self.patient_identity_retention_days < 0 || self.patient_access_log_retention_days < 1 {
            return Err("SAMAVVIK_PATIENT_IDENTITY_RETENTION_DAYS kan ikke være negativ, og \
                        SAMAVVIK_PATIENT_ACCESS_LOG_RETENTION_DAYS må være minst 1"
                .into());
        }
        crate::patients::keys::Keyring::from_config(self)?;
        if self.auth_mode == AuthMode::Oidc {
            crate::auth::oidc::Settings::from_config(self)?;
        }
        Ok(())
    }

    /// The configuration with its signing secret: in `dev` without one, the secret kept in
    /// `secret_file` (made at first use). Only commands that sign or check tokens ask for it, so
    /// `migrate` leaves no file behind.
    pub fn with_secret(mut self) -> Result<Self, String> {
        if self.jwt_secret.is_empty() && self.profile == Profile::Dev {
            self.jwt_secret = dev_secret(&self.secret_file)?;
        }
        if weak(&self.jwt_secret) {
            return Err("SAMAVVIK_JWT_SECRET er for svak".into());
        }
        Ok(self)
    }

    /// The reverse proxies whose `X-Forwarded-For` names the real client.
    pub fn trusted_proxy_list(&self) -> Result<Vec<std::net::IpAddr>, String> {
        split_list(&self.trusted_proxies)
            .iter()
            .map(|a| a.parse().map_err(|_| format!("SAMAVVIK_TRUSTED_PROXIES: «{a}» er ikke en IP-adresse")))
            .collect()
    }

    /// The scopes an API token must carry.
    pub fn oidc_scope_list(&self) -> Vec<String> {
        self.oidc_scopes.split([',', ' ']).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    /// The improvement group's addresses for escalations.
    pub fn escalation_list(&self) -> Vec<String> {
        split_list(&self.escalation_recipients)
    }

    /// The committee (ASU) addresses for the tertial report.
    pub fn committee_list(&self) -> Vec<String> {
        split_list(&self.committee_recipients)
    }

    pub fn db_url(&self) -> DbUrl {
        // `check` has parsed it already; fall back to the default rather than panic.
        DbUrl::parse(&self.database_url).unwrap_or_else(|_| DbUrl::Sqlite("data/samavvik.db".into()))
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_start_on_a_fresh_machine() {
        Jail::expect_with(|_| {
            let c = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(c.listen, "127.0.0.1:8080");
            assert_eq!(c.database_url, "sqlite://data/samavvik.db");
            assert_eq!(c.mail_transport, MailTransport::File);
            assert_eq!(c.profile, Profile::Dev);
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_with_types() {
        Jail::expect_with(|jail| {
            jail.set_env("SAMAVVIK_LISTEN", "0.0.0.0:9000");
            jail.set_env("SAMAVVIK_DB_MAX_CONNECTIONS", "3");
            jail.set_env("DATABASE_URL", "postgres://postgres@db/samavvik");
            jail.set_env("SAMAVVIK_MAIL_TRANSPORT", "smtp");
            let c = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(c.listen, "0.0.0.0:9000");
            assert_eq!(c.db_max_connections, 3);
            assert_eq!(c.mail_transport, MailTransport::Smtp);
            assert!(matches!(c.db_url(), DbUrl::Postgres(_)));
            Ok(())
        });
    }

    #[test]
    fn file_is_read_and_environment_wins() {
        Jail::expect_with(|jail| {
            jail.create_file("s.toml", "listen = \"127.0.0.1:7000\"\ntoken_ttl_minutes = 15\n")?;
            jail.set_env("SAMAVVIK_CONFIG", "s.toml");
            jail.set_env("SAMAVVIK_TOKEN_TTL_MINUTES", "30");
            let c = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(c.listen, "127.0.0.1:7000");
            assert_eq!(c.token_ttl_minutes, 30);
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_one_clear_line() {
        Jail::expect_with(|jail| {
            jail.set_env("SAMAVVIK_DB_MAX_CONNECTIONS", "many");
            let err = Config::load().unwrap_err();
            assert!(err.to_lowercase().contains("db_max_connections"), "{err}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("DATABASE_URL", "mysql://x");
            let err = Config::load().unwrap_err();
            assert!(err.contains("mysql"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn every_setting_is_documented_in_the_example_env_and_readme() {
        let env = include_str!("../deploy/samavvik.example.env");
        let readme = include_str!("../README.md");
        let defaults = serde_json::to_value(Config::default()).unwrap();
        for key in defaults.as_object().unwrap().keys() {
            let var = match key.as_str() {
                "database_url" | "public_base_url" => key.to_uppercase(),
                _ => format!("SAMAVVIK_{}", key.to_uppercase()),
            };
            assert!(env.contains(&format!("\n{var}=")), "{var} missing in deploy/samavvik.example.env");
            assert!(readme.contains(&format!("`{var}`")), "{var} missing in the README table");
        }
    }

    #[test]
    fn dev_keeps_a_random_secret_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data/secret");
        let first = dev_secret(&file).unwrap();
        assert!(!weak(&first));
        assert_eq!(dev_secret(&file).unwrap(), first, "the same secret after a restart");
        let other = dev_secret(&tempfile::tempdir().unwrap().path().join("secret")).unwrap();
        assert_ne!(first, other, "each installation has its own");
    }

    #[test]
    fn production_refuses_dev_secret_and_file_mail() {
        let mut c = Config { profile: Profile::Production, jwt_secret: String::new(), ..Config::default() };
        assert!(c.check().unwrap_err().contains("JWT_SECRET"));
        c.jwt_secret = "x".repeat(40);
        assert!(c.check().unwrap_err().contains("JWT_SECRET"), "one character repeated is weak");
        c.jwt_secret = random_secret();
        assert!(c.check().unwrap_err().contains("MAIL_TRANSPORT"));
        c.mail_transport = MailTransport::Smtp;
        assert!(c.check().is_ok());
    }
}
