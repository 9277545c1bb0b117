//! samavvik: samhandlingsavvik between municipalities and the hospital.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::string_slice, clippy::panic)
)]

pub mod actions;
pub mod analyses;
pub mod api;
pub mod auth;
pub mod bench;
pub mod clock;
pub mod config;
pub mod db;
pub mod deviations;
pub mod directory;
pub mod domain;
pub mod error;
pub mod export;
pub mod files;
pub mod generate;
pub mod headers;
pub mod ids;
pub mod import;
pub mod integration;
pub mod jobs;
pub mod keyed;
pub mod learning;
pub mod mail;
pub mod monitoring;
pub mod pages;
pub mod patients;
pub mod policy;
pub mod seed;
pub mod spreadsheet;
pub mod state;
pub mod stats;
pub mod telemetry;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::auth::LocalTokens;
use crate::clock::Clock;
use crate::config::{AuthMode, Config, GroupCommit, Profile, SeedDemo};
use crate::state::AppState;

pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on its own address, where one is configured.
    metrics: Option<Server>,
    jobs: (db::Pool, Arc<Config>, Clock),
    worker: Option<mail::worker::Worker>,
    webhooks: Option<integration::webhooks::delivery::Deliverer>,
}

impl Application {
    /// Opens the database (migrating it), seeds demo data when configured to, binds the listener and
    /// builds the server. Nothing is served until [`Application::run`].
    pub fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Clock::default())
    }

    /// As `build`, with a clock the caller controls (tests move it forward).
    pub fn build_with_clock(config: Config, clock: Clock) -> anyhow::Result<Self> {
        // Never sign with an empty or weak key, whoever built the configuration.
        let config = config.with_secret().map_err(anyhow::Error::msg)?;
        monitoring::handle();
        let url = config.db_url();
        let pool = db::open(&url, config.db_max_connections)?;
        if config.seed_demo == SeedDemo::Auto && config.profile == Profile::Dev && url.is_sqlite() {
            let mut conn = pool.get()?;
            if seed::seed_demo_if_empty(&mut conn)? {
                seed::seed_demo_cases(&mut conn, &config)?;
                tracing::info!("demo data seeded (DEMODATA)");
            }
        }
        let listener = TcpListener::bind(&config.listen)
            .map_err(|e| anyhow::anyhow!("kan ikke lytte på {}: {e}", config.listen))?;
        let port = listener.local_addr()?.port();
        let worker = match config.mail_worker {
            true => Some(mail::worker::Worker::new(pool.clone(), &config, clock.clone())?),
            false => None,
        };
        let config = Arc::new(config);
        let webhooks = match config.webhook_worker {
            true => Some(integration::webhooks::delivery::Deliverer::new(pool.clone(), config.clone(), clock.clone())?),
            false => None,
        };
        let jobs = (pool.clone(), config.clone(), clock.clone());
        let metrics = match config.metrics_listen.as_str() {
            "" => None,
            at => Some(TcpListener::bind(at).map_err(|e| anyhow::anyhow!("kan ikke lytte på {at} (målinger): {e}"))?),
        };
        let (server, metrics) = Self::server(listener, metrics, pool, config, clock)?;
        Ok(Application { port, server, metrics, jobs, worker, webhooks })
    }

    fn server(
        listener: TcpListener,
        metrics: Option<TcpListener>,
        pool: db::Pool,
        config: Arc<Config>,
        clock: Clock,
    ) -> anyhow::Result<(Server, Option<Server>)> {
        let tokens = Arc::new(LocalTokens::new(&config));
        let url = config.db_url();
        let group_commit = match config.group_commit {
            GroupCommit::On => true,
            GroupCommit::Off => false,
            GroupCommit::Auto => url.is_sqlite(),
        };
        let group_commit = group_commit.then(|| db::group_commit::Committer::start(url)).transpose()?;
        let oidc = match config.auth_mode {
            AuthMode::Oidc => {
                Some(Arc::new(auth::oidc::Oidc::new(&config, clock.clone()).map_err(anyhow::Error::msg)?))
            }
            AuthMode::Local => None,
        };
        let state = web::Data::new(AppState {
            pool,
            config: config.clone(),
            tokens: tokens.clone(),
            verifier: tokens,
            clock,
            group_commit,
            callers: auth::caller::callers(),
            login_failures: auth::limits::failures(),
            patients: Arc::new(patients::Patients::from_config(&config).map_err(anyhow::Error::msg)?),
            oidc,
        });
        let login_limit = auth::limits::login_limiter(
            state.config.login_attempts_per_minute,
            &state.config.trusted_proxy_list().map_err(anyhow::Error::msg)?,
        )?;
        let for_metrics = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                // Innermost first: page errors get the user's frame, API errors become problem+json, then get the request id header, and
                // the tracing span (outermost) sees the final response.
                .wrap(actix_web::middleware::from_fn(pages::frame_errors))
                .wrap(api::problems::render_errors())
                .wrap(actix_web::middleware::from_fn(telemetry::request_id_header))
                .wrap(actix_web::middleware::from_fn(headers::security_headers))
                .wrap(actix_web::middleware::from_fn(monitoring::count_requests))
                .wrap(TracingLogger::<telemetry::RequestSpan>::new())
                .app_data(state.clone())
                .configure(|cfg| api::configure(cfg, &state.config, &login_limit))
                .configure(|cfg| pages::configure(cfg, &login_limit))
        })
        .listen(listener)?
        .run();
        let metrics = metrics.map(|l| monitoring::server(l, for_metrics)).transpose()?;
        Ok((server, metrics))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until stopped, with the background jobs running beside the server.
    pub async fn run(self) -> std::io::Result<()> {
        let (pool, config, clock) = self.jobs;
        let interval = std::time::Duration::from_millis(config.mail_poll_interval_ms);
        let jobs = config.background_jobs.then(|| actix_web::rt::spawn(jobs::run_forever(pool, config, clock)));
        let worker = self.worker.map(|w| actix_web::rt::spawn(w.run_forever(interval)));
        let webhooks = self.webhooks.map(|w| actix_web::rt::spawn(w.run_forever(interval)));
        let metrics = self.metrics.map(actix_web::rt::spawn);
        let result = self.server.await;
        if let Some(metrics) = metrics {
            metrics.abort();
        }
        for task in jobs.into_iter().chain(worker).chain(webhooks) {
            task.abort();
        }
        result
    }
}
