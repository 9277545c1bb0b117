//! Typed settings from the environment (and an optional TOML file named by `SAMAVVIK_CONFIG`).
//! Every setting is documented once, in `deploy/samavvik.example.env`.

use std::path::PathBuf;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::db::DbUrl;

/// The signing secret that ships in the source. Fine on a laptop, refused in production.
pub const DEV_JWT_SECRET: &str = "samavvik-dev-secret-not-for-production-use-0123456789";

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
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub token_ttl_minutes: i64,
    pub login_attempts_per_minute: u32,
    pub max_body_bytes: usize,
    pub mail_transport: MailTransport,
    pub mail_dir: PathBuf,
    pub mail_from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_username: String,
    pub smtp_password: String,
    pub smtp_timeout_seconds: u64,
    pub mail_worker: bool,
    pub mail_poll_interval_ms: u64,
    pub mail_max_attempts: i32,
    pub escalation_recipients: String,
    pub committee_recipients: String,
    pub suppression_threshold: i64,
    pub seed_demo: SeedDemo,
    pub log_format: LogFormat,
    pub acknowledge_working_days: u32,
    pub answer_working_days: u32,
    pub auto_close_days: i64,
    pub job_interval_seconds: u64,
    pub background_jobs: bool,
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
            jwt_secret: DEV_JWT_SECRET.into(),
            jwt_issuer: "samavvik".into(),
            jwt_audience: "samavvik-api".into(),
            token_ttl_minutes: 60,
            login_attempts_per_minute: 20,
            max_body_bytes: 64 * 1024,
            mail_transport: MailTransport::File,
            mail_dir: PathBuf::from("data/mail"),
            mail_from: "samavvik <ikke-svar@samavvik.example>".into(),
            smtp_host: "127.0.0.1".into(),
            smtp_port: 25,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: String::new(),
            smtp_password: String::new(),
            smtp_timeout_seconds: 10,
            mail_worker: true,
            mail_poll_interval_ms: 1000,
            mail_max_attempts: 10,
            escalation_recipients: "forbedringsgruppa@helsefellesskap.example".into(),
            committee_recipients: "asu@helsefellesskap.example".into(),
            suppression_threshold: 3,
            seed_demo: SeedDemo::Auto,
            log_format: LogFormat::Text,
            acknowledge_working_days: 5,
            answer_working_days: 15,
            auto_close_days: 14,
            job_interval_seconds: 60,
            background_jobs: true,
        }
    }
}

impl Config {
    /// Defaults, then the TOML file named by `SAMAVVIK_CONFIG`, then `SAMAVVIK_*` variables
    /// (and the conventional unprefixed `DATABASE_URL` and `PUBLIC_BASE_URL`).
    pub fn load() -> Result<Self, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
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
        if self.profile == Profile::Production {
            if self.jwt_secret == DEV_JWT_SECRET {
                return Err(
                    "SAMAVVIK_JWT_SECRET er utviklingshemmeligheten; sett en egen hemmelighet i produksjon".into()
                );
            }
            if self.mail_transport == MailTransport::File {
                return Err("SAMAVVIK_MAIL_TRANSPORT=file er ikke tillatt i produksjon; bruk smtp".into());
            }
        }
        if self.jwt_secret.len() < 32 {
            return Err("SAMAVVIK_JWT_SECRET må ha minst 32 tegn".into());
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
        if self.db_max_connections == 0 || self.login_attempts_per_minute == 0 {
            return Err("SAMAVVIK_DB_MAX_CONNECTIONS og SAMAVVIK_LOGIN_ATTEMPTS_PER_MINUTE må være større enn 0".into());
        }
        Ok(())
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
    fn production_refuses_dev_secret_and_file_mail() {
        let mut c = Config { profile: Profile::Production, ..Config::default() };
        assert!(c.check().unwrap_err().contains("JWT_SECRET"));
        c.jwt_secret = "x".repeat(40);
        assert!(c.check().unwrap_err().contains("MAIL_TRANSPORT"));
        c.mail_transport = MailTransport::Smtp;
        assert!(c.check().is_ok());
    }
}
