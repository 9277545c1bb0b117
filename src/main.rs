//! The `samavvik` command line: serve, migrate, seed demo data, manage users, print tokens.

use std::io::{BufRead, IsTerminal};

use clap::{Parser, Subcommand};
use samavvik::config::{Config, Profile};
use samavvik::directory::users::{self, NewUser};
use samavvik::{db, seed, telemetry, Application};

#[derive(Parser)]
#[command(name = "samavvik", version, about = "Samhandlingsavvik mellom kommuner og sykehus")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve {
        /// Address to listen on (overrides SAMAVVIK_LISTEN).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Run the database migrations and exit.
    Migrate,
    /// Exit 0 when the service on this machine answers /health with 200 (the container health check).
    Healthcheck {
        /// The address the service listens on; 0.0.0.0 is asked on 127.0.0.1.
        #[arg(long, env = "SAMAVVIK_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Insert the demo organisations and users (only what is missing).
    SeedDemo,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Write the tertial report (HTML with charts, CSV or XLSX) to a file.
    Report {
        /// For example 2026-T2.
        #[arg(long)]
        tertial: String,
        /// html, csv or xlsx.
        #[arg(long, default_value = "html")]
        format: String,
        #[arg(long)]
        out: std::path::PathBuf,
        /// Only deviations this organisation (id) sent or received.
        #[arg(long)]
        organisation_id: Option<String>,
    },
    /// Fill the database with synthetic deviations (for statistics at scale).
    Generate {
        #[arg(long, default_value_t = 10_000)]
        deviations: usize,
        #[arg(long, default_value_t = 3)]
        years: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Import historic deviations from a quality system's export (CSV or XLSX), as the mapping says.
    Import {
        /// The export: CSV (`;` or `,`, UTF-8 or Windows-1252) or XLSX.
        file: std::path::PathBuf,
        /// The mapping file (TOML); see README, «Importere historikk».
        #[arg(long, required_unless_present = "suggest_mapping")]
        mapping: Option<std::path::PathBuf>,
        /// Check every row and report what would happen; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write a starting mapping for the file to standard output.
        #[arg(long, conflicts_with_all = ["mapping", "dry_run"])]
        suggest_mapping: bool,
        /// Import the rows that pass and leave the refused ones (exit status 0).
        #[arg(long)]
        skip_refused: bool,
        /// Leave the free text behind.
        #[arg(long)]
        without_description: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Rows per transaction.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// Export one row per deviation (no free text, people or patient) for analysis in other tools.
    Export {
        /// A tertial (2026-T2), month (2026-03) or year (2026); or --from and --to.
        #[arg(long, required_unless_present = "from")]
        period: Option<String>,
        /// First day (ÅÅÅÅ-MM-DD), with --to.
        #[arg(long, requires = "to", conflicts_with = "period")]
        from: Option<String>,
        /// Last day, included.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// csv or xlsx.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Only deviations this organisation (id) sent or received.
        #[arg(long, conflicts_with = "health_community_id")]
        organisation_id: Option<String>,
        /// Only deviations of this helsefellesskap (id).
        #[arg(long)]
        health_community_id: Option<String>,
        /// The file to write; standard output if left out.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
    },
    /// Benchmarks (figures, not tests).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Deliver queued mail (and nothing else), for running delivery apart from `serve`.
    MailWorker,
    /// The keys that protect patient identity.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The patient access log.
    PatientLog {
        #[command(subcommand)]
        command: PatientLogCommand,
    },
    /// Print a signed access token for an existing user.
    Token {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Re-encrypt every stored patient identity with the active key (SAMAVVIK_PATIENT_ACTIVE_KEY), in
    /// batches that each commit; safe to stop and run again, and the server keeps working meanwhile.
    Rotate {
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
}

#[derive(Subcommand)]
enum PatientLogCommand {
    /// Check the access log's hash chain from the first row to the head and name the first broken
    /// link; exit status 1 if there is one. Needs the server's SAMAVVIK_JWT_SECRET.
    Verify {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Time the statistics endpoint and the equivalent raw SQL on the configured database.
    Stats {
        /// Defaults to the last finished tertial.
        #[arg(long)]
        period: Option<String>,
        #[arg(long, default_value_t = 20)]
        iterations: usize,
    },
    /// Time the reminder job with this many open deviations (changes the newest ones: a bench database only).
    Reminders {
        #[arg(long, default_value_t = 100_000)]
        open: i64,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user. The password is prompted for, or read from standard input when piped.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Organisation number (9 digits) of the user's organisation.
        #[arg(long)]
        org_number: String,
        /// Unit name inside the organisation.
        #[arg(long)]
        unit: Option<String>,
        /// reporter, handler, quality_advisor, analyst, admin or privacy_officer.
        #[arg(long)]
        role: String,
        /// HPR number, which finds the person at their first HelseID login.
        #[arg(long)]
        hpr_number: Option<String>,
    },
}

fn main() {
    if let Err(e) = run() {
        eprintln!("samavvik: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Before the configuration: a health probe must not create files or need the secret.
    if let Command::Healthcheck { listen } = &cli.command {
        return healthcheck(listen);
    }
    let mut config = Config::load().map_err(anyhow::Error::msg)?;
    telemetry::init(config.log_format);
    match cli.command {
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                config.listen = listen;
            }
            serve(config)
        }
        Command::Migrate => {
            db::open_one(&config.db_url())?;
            println!("Databasen er migrert: {}", config.db_url().redacted());
            Ok(())
        }
        Command::SeedDemo => {
            let mut conn = db::open_one(&config.db_url())?;
            seed::seed_demo(&mut conn)?;
            seed::seed_demo_cases(&mut conn, &config)?;
            println!("Demodata er lagt inn. Passord for alle demobrukere: {}", seed::DEMO_PASSWORD);
            Ok(())
        }
        Command::User { command: UserCommand::Add { email, name, org_number, unit, role, hpr_number } } => {
            let mut conn = db::open_one(&config.db_url())?;
            let (organisation_id, unit_id) = db::find_org_and_unit(&mut conn, &org_number, unit.as_deref())?;
            // With HelseID nobody logs in with a password.
            let password = match config.auth_mode {
                samavvik::config::AuthMode::Local => Some(read_password()?),
                samavvik::config::AuthMode::Oidc => None,
            };
            let new = NewUser { name, email, organisation_id, unit_id, role, password, hpr_number };
            let user = users::create(&mut conn, new).map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
            println!("Opprettet bruker {} ({})", user.email, user.id);
            Ok(())
        }
        Command::MailWorker => mail_worker(config),
        Command::Keys { command: KeysCommand::Rotate { batch } } => {
            let patients = samavvik::patients::Patients::from_config(&config).map_err(anyhow::Error::msg)?;
            let keyring = patients
                .keyring
                .ok_or_else(|| anyhow::anyhow!("SAMAVVIK_PATIENT_IDENTITY er off: ingen nøkler å rotere"))?;
            let mut conn = db::open_one(&config.db_url())?;
            let done = samavvik::patients::rotate(&mut conn, &keyring, batch.max(1))?;
            println!(
                "Nøkkelrotasjon til «{}»: {} krypterte på nytt, {} endret av andre underveis, {} kunne ikke åpnes.",
                keyring.active(),
                done.rotated,
                done.skipped,
                done.failed
            );
            if done.failed > 0 {
                anyhow::bail!("{} pasientidentiteter kunne ikke åpnes; se loggen", done.failed);
            }
            Ok(())
        }
        Command::PatientLog { command: PatientLogCommand::Verify { json } } => {
            let config = config.with_secret().map_err(anyhow::Error::msg)?;
            let key = samavvik::patients::chain::ChainKey::from_config(&config);
            let mut conn = db::open_one(&config.db_url())?;
            let v =
                samavvik::patients::chain::verify(&mut conn, &key).map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", samavvik::patients::chain::describe(&v));
            }
            if v.first_break.is_some() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Healthcheck { .. } => Ok(()),
        Command::Bench { command: BenchCommand::Stats { period, iterations } } => {
            let period = match period {
                Some(p) => samavvik::domain::period::Period::parse(&p).map_err(anyhow::Error::msg)?,
                None => samavvik::domain::period::Period::tertial_of(samavvik::domain::calendar::oslo_today(
                    chrono::Utc::now(),
                ))
                .previous(),
            };
            let pool = db::open(&config.db_url(), 2)?;
            Ok(samavvik::bench::stats(&pool, period, iterations.max(1))?)
        }
        Command::Bench { command: BenchCommand::Reminders { open } } => {
            Ok(samavvik::bench::reminders(&mut db::open_one(&config.db_url())?, &config, open)?)
        }
        Command::Generate { deviations, years, seed } => {
            let mut conn = db::open_one(&config.db_url())?;
            seed::seed_demo_if_empty(&mut conn)?;
            let started = std::time::Instant::now();
            let made = samavvik::generate::generate(&mut conn, deviations, years, seed, true)?;
            eprintln!("Gjør databasen klar for spørringer ({}) …", samavvik::import::ready_words(&conn));
            db::deviations::make_ready(&mut conn)?;
            println!("La inn {made} genererte avvik over {years} år på {:.1} s", started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Import {
            file,
            mapping,
            dry_run,
            suggest_mapping: _,
            skip_refused,
            without_description,
            json,
            batch,
        } => {
            let mut conn = db::open_one(&config.db_url())?;
            let source = samavvik::import::read::Source::Path(file);
            let fail = |e: samavvik::error::ApiError| -> ! {
                eprintln!("samavvik import: {}", describe(&e));
                std::process::exit(2)
            };
            let Some(mapping) = mapping else {
                let text =
                    samavvik::import::suggest(&mut conn, &source, &Default::default()).unwrap_or_else(|e| fail(e));
                print!("{text}");
                return Ok(());
            };
            let text = std::fs::read_to_string(&mapping)
                .map_err(|e| anyhow::anyhow!("kunne ikke lese {}: {e}", mapping.display()))?;
            let mapping = samavvik::import::parse_mapping(&text).unwrap_or_else(|e| fail(e));
            let progress = if std::io::stderr().is_terminal() {
                samavvik::import::Progress::Bar
            } else {
                samavvik::import::Progress::Lines
            };
            let options =
                samavvik::import::Options { dry_run, skip_refused, without_description, batch: batch.max(1), progress };
            let report =
                samavvik::import::run(&mut conn, &config, &source, &mapping, &options, chrono::Utc::now(), None)
                    .unwrap_or_else(|e| fail(e));
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", samavvik::import::describe(&report));
            }
            if report.failed(skip_refused) {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Export { period, from, to, format, organisation_id, health_community_id, output } => {
            let fail = |e: samavvik::error::ApiError| -> ! {
                eprintln!("samavvik export: {}", describe(&e));
                std::process::exit(2)
            };
            let period = samavvik::api::stats::period(period.as_deref(), from.as_deref(), to.as_deref())
                .unwrap_or_else(|e| fail(e));
            let format = samavvik::export::Format::parse(&format).unwrap_or_else(|e| fail(e));
            let scope = match (organisation_id, health_community_id) {
                (Some(o), _) => samavvik::stats::StatsScope::Organisation(o.into()),
                (None, Some(c)) => samavvik::stats::StatsScope::Community(c.into()),
                (None, None) => samavvik::stats::StatsScope::All,
            };
            let mut conn = db::open_one(&config.db_url())?;
            let started = std::time::Instant::now();
            let rows = match output {
                Some(path) => {
                    let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
                    samavvik::export::write(&mut conn, &scope, period.utc_bounds(), format, file)?
                }
                None => samavvik::export::write(
                    &mut conn,
                    &scope,
                    period.utc_bounds(),
                    format,
                    std::io::BufWriter::new(std::io::stdout()),
                )?,
            };
            eprintln!("Eksporterte {rows} avvik for {period} på {:.1} s", started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::Report { tertial, format, out, organisation_id } => {
            let period = match samavvik::domain::period::Period::parse(&tertial) {
                Ok(p @ samavvik::domain::period::Period::Tertial { .. }) => p,
                _ => anyhow::bail!("--tertial må være et tertial, for eksempel 2026-T2"),
            };
            anyhow::ensure!(
                matches!(format.as_str(), "html" | "csv" | "xlsx"),
                "--format må være html, csv eller xlsx"
            );
            let mut conn = db::open_one(&config.db_url())?;
            let started = std::time::Instant::now();
            // On a million deviations the report takes seconds; show that work is going on.
            let spinner =
                indicatif::ProgressBar::new_spinner().with_message(format!("Lager rapporten for {tertial} …"));
            spinner.enable_steady_tick(std::time::Duration::from_millis(120));
            let scope = match organisation_id {
                Some(o) => samavvik::stats::StatsScope::Organisation(o.into()),
                None => samavvik::stats::StatsScope::All,
            };
            let report = samavvik::stats::report::Report::build(
                &mut conn,
                period,
                &scope,
                config.suppression_threshold,
                samavvik::domain::calendar::oslo_today(chrono::Utc::now()),
            )?;
            let scope = samavvik::api::stats::scope_name(&mut conn, &scope)?;
            let (bytes, _) = samavvik::api::stats::render(&report, &format, &scope)?;
            std::fs::write(&out, bytes)?;
            spinner.finish_and_clear();
            println!(
                "Skrev {} ({} avvik i {tertial}) på {:.1} s",
                out.display(),
                report.overall().total,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Token { email } => {
            let user = db::users::find_by_email(&mut db::open_one(&config.db_url())?, &email)?
                .filter(|u| u.active)
                .ok_or_else(|| anyhow::anyhow!("ingen aktiv bruker med e-post {email}"))?;
            let token = samavvik::auth::LocalTokens::new(&config.with_secret().map_err(anyhow::Error::msg)?)
                .issue(&user.id, user.session_epoch)?;
            println!("{token}");
            Ok(())
        }
    }
}

/// One plain HTTP/1.0 request to `/health`: no client library, no TLS, nothing to configure.
fn healthcheck(listen: &str) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let addr: std::net::SocketAddr = listen.parse().map_err(|_| anyhow::anyhow!("ugyldig adresse {listen}"))?;
    let ip = if addr.ip().is_unspecified() { std::net::Ipv4Addr::LOCALHOST.into() } else { addr.ip() };
    let timeout = std::time::Duration::from_secs(3);
    let mut stream = std::net::TcpStream::connect_timeout(&(ip, addr.port()).into(), timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    anyhow::ensure!(head.starts_with(b"HTTP/1.") && head.ends_with(b" 200"), "/health svarte ikke 200");
    Ok(())
}

fn describe(e: &samavvik::error::ApiError) -> String {
    let fields: Vec<String> = e.fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
    if fields.is_empty() {
        e.detail.clone()
    } else {
        fields.join("; ")
    }
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Passord: ")?;
        let again = rpassword::prompt_password("Gjenta passord: ")?;
        anyhow::ensure!(first == again, "passordene er ikke like");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

#[actix_web::main]
async fn mail_worker(config: Config) -> anyhow::Result<()> {
    let pool = db::open(&config.db_url(), 2)?;
    let worker = samavvik::mail::worker::Worker::new(pool, &config, Default::default())?;
    eprintln!("samavvik mail-worker leverer e-post ({:?})", config.mail_transport);
    worker.run_forever(std::time::Duration::from_millis(config.mail_poll_interval_ms)).await;
    Ok(())
}

#[actix_web::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    let demo = config.profile == Profile::Dev;
    let db = config.db_url().redacted();
    // Held until the process ends; the operating system lets go of it even after kill -9.
    let _one_server = db::serve_lock(&config.db_url())?;
    let app = Application::build(config)?;
    let port = app.port();
    tracing::info!(port, database = %db, "samavvik lytter");
    eprintln!("samavvik lytter på port {port} (database {db})");
    if demo {
        eprintln!(
            "Demo: logg inn med f.eks. sykepleier@trondheim.example / {pw}:\n  curl -s -X POST http://127.0.0.1:{port}/api/v1/auth/token \
             -H 'content-type: application/json' -d '{{\"email\":\"sykepleier@trondheim.example\",\"password\":\"{pw}\"}}'",
            pw = seed::DEMO_PASSWORD
        );
    }
    app.run().await?;
    Ok(())
}
