//! Prometheus metrics (`/metrics`): requests, the connection pool, the outbox, jobs and
//! submissions. Recorded with the `metrics` crate into one process-wide recorder; the outbox and
//! pool figures are read when scraped, so every instance reports the shared database's backlog.
//!
//! Not for the world: served on its own address (`SAMAVVIK_METRICS_LISTEN`, inside the
//! deployment's network) and on the main port only to a bearer of `SAMAVVIK_METRICS_TOKEN`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::clock::Clock;
use crate::db::{self, outbox, Pool};
use crate::error::ApiError;

const HTTP_REQUESTS: &str = "samavvik_http_requests_total";
const HTTP_DURATION: &str = "samavvik_http_request_duration_seconds";
const POOL_WAIT: &str = "samavvik_db_pool_wait_seconds";
const POOL_TIMEOUTS: &str = "samavvik_db_pool_timeouts_total";
const POOL_CONNECTIONS: &str = "samavvik_db_pool_connections";
const POOL_IN_USE: &str = "samavvik_db_pool_connections_in_use";
const POOL_MAX: &str = "samavvik_db_pool_connections_max";
const OUTBOX_PENDING: &str = "samavvik_outbox_pending";
const OUTBOX_FAILED: &str = "samavvik_outbox_failed";
const OUTBOX_OLDEST: &str = "samavvik_outbox_oldest_pending_age_seconds";
const JOB_RUNS: &str = "samavvik_job_runs_total";
const JOB_DURATION: &str = "samavvik_job_duration_seconds";
const SUBMISSIONS: &str = "samavvik_submissions_total";

/// Request and job latencies, 1 ms to 30 s.
const BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The process's recorder, installed on first use. Tests start many servers in one process; they
/// share it, as the threads of one instance do.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // Refused only for an empty list of buckets; then histograms become summaries.
        let builder = PrometheusBuilder::new().set_buckets(&BUCKETS).unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder was installed first; then this one still renders.
        let _ = metrics::set_global_recorder(recorder);
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(HTTP_REQUESTS, "HTTP requests by route pattern, method and status");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency by route pattern, method and status");
    describe_histogram!(POOL_WAIT, Unit::Seconds, "Time spent waiting for a pooled database connection");
    describe_counter!(POOL_TIMEOUTS, "Requests that got no database connection in time");
    describe_gauge!(POOL_CONNECTIONS, "Database connections open in this instance's pool");
    describe_gauge!(POOL_IN_USE, "Database connections in use in this instance's pool");
    describe_gauge!(POOL_MAX, "Most database connections this instance's pool opens");
    describe_gauge!(OUTBOX_PENDING, "Outbox messages waiting to be sent, by channel (shared database)");
    describe_gauge!(OUTBOX_FAILED, "Outbox messages given up on, by channel (shared database)");
    describe_gauge!(OUTBOX_OLDEST, Unit::Seconds, "Age of the oldest unsent outbox message, by channel");
    describe_counter!(JOB_RUNS, "Periodic job runs in this instance, by job and outcome");
    describe_histogram!(JOB_DURATION, Unit::Seconds, "Periodic job run time, by job");
    describe_counter!(SUBMISSIONS, "Deviations stored (not replays), by kind");
}

/// Counts each request under its route pattern (`/api/v1/deviations/{id}`), never the concrete
/// path, which may carry an id or what a user typed.
pub async fn count_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = method_label(req.method()).to_owned();
    let response = next.call(req).await?;
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let labels = [("route", route), ("method", method), ("status", response.status().as_u16().to_string())];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(started.elapsed().as_secs_f64());
    Ok(response)
}

/// The method as a label: a standard one, or `other`. Any name a client sends is a method to
/// HTTP, and a label made of each would grow the series — and the memory — without bound.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// How long getting a pooled connection took, and whether it timed out.
pub fn pool_waited(waited: Duration, got: bool) {
    metrics::histogram!(POOL_WAIT).record(waited.as_secs_f64());
    if !got {
        metrics::counter!(POOL_TIMEOUTS).increment(1);
    }
}

pub fn job_ran(job: &'static str, took: Duration, ok: bool) {
    metrics::counter!(JOB_RUNS, "job" => job, "outcome" => if ok { "ok" } else { "failed" }).increment(1);
    metrics::histogram!(JOB_DURATION, "job" => job).record(took.as_secs_f64());
}

pub fn submitted(kind: &str) {
    metrics::counter!(SUBMISSIONS, "kind" => kind.to_owned()).increment(1);
}

/// The text a scrape gets: the recorded metrics, with the pool and outbox read now.
pub async fn render(pool: &Pool, clock: &Clock) -> Result<String, ApiError> {
    let state = pool.state();
    metrics::gauge!(POOL_CONNECTIONS).set(state.connections);
    metrics::gauge!(POOL_IN_USE).set(state.connections - state.idle_connections);
    metrics::gauge!(POOL_MAX).set(pool.max_size());
    let backlog = db::run(pool, |c| Ok(outbox::backlog(c)?)).await?;
    let now = clock.now_naive();
    for channel in [outbox::MAIL, outbox::WEBHOOK] {
        let of = |status: &str| backlog.iter().find(|(ch, st, ..)| ch == channel && st == status);
        let pending = of(outbox::PENDING);
        metrics::gauge!(OUTBOX_PENDING, "channel" => channel).set(pending.map_or(0, |p| p.2) as f64);
        metrics::gauge!(OUTBOX_FAILED, "channel" => channel).set(of(outbox::FAILED).map_or(0, |f| f.2) as f64);
        let oldest = pending.and_then(|p| p.3).map_or(0.0, |at| (now - at).num_milliseconds().max(0) as f64 / 1000.0);
        metrics::gauge!(OUTBOX_OLDEST, "channel" => channel).set(oldest);
    }
    Ok(handle().render())
}

async fn scrape(state: web::Data<crate::state::AppState>) -> Result<HttpResponse, ApiError> {
    let text = render(&state.pool, &state.clock).await?;
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text))
}

/// `/metrics` on the main port: only with the configured token; without one it does not exist.
pub async fn scrape_with_token(
    req: HttpRequest,
    state: web::Data<crate::state::AppState>,
) -> Result<HttpResponse, ApiError> {
    let expected = Some(state.config.metrics_token.as_str()).filter(|t| !t.is_empty());
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match (expected, given) {
        (None, _) => Err(ApiError::not_found("Finnes ikke.")),
        (Some(expected), Some(given)) if same(expected, given) => scrape(state).await,
        (Some(_), _) => {
            Err(ApiError::unauthorized("invalid_token", "Målingene krever tokenet i SAMAVVIK_METRICS_TOKEN.")
                .challenge("Bearer"))
        }
    }
}

/// Compares keyed digests, so the time taken says nothing about how much of a guess was right.
fn same(expected: &str, given: &str) -> bool {
    let tag = |t: &str| crate::keyed::raw(b"samavvik-metrics", b"token", t.as_bytes());
    tag(expected) == tag(given)
}

/// The metrics server on its own address: `/metrics` for anyone who can reach it.
pub fn server(
    listener: std::net::TcpListener,
    state: web::Data<crate::state::AppState>,
) -> std::io::Result<actix_web::dev::Server> {
    Ok(actix_web::HttpServer::new(move || {
        actix_web::App::new().app_data(state.clone()).route("/metrics", web::get().to(scrape))
    })
    .workers(1)
    .listen(listener)?
    .run())
}
