//! `GET /api/v1/exports/deviations`: the analysts' row export (`crate::export`) streamed as it is
//! written. Everything that can be refused — the period, the format, the scope, an XLSX too large
//! for a worksheet — is refused before the first byte, so a 200 is the export.

use std::io::{self, Write};

use actix_web::web::{Bytes, Data};
use actix_web::HttpResponse;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::auth::Caller;
use crate::db;
use crate::error::ApiError;
use crate::export::{self, Format, XLSX_MAX_ROWS};
use crate::ids::{HealthCommunityId, OrganisationId};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub format: Option<String>,
    pub organisation_id: Option<OrganisationId>,
    pub health_community_id: Option<HealthCommunityId>,
}

const CHUNK: usize = 64 * 1024;

/// Hands what the blocking writer produces to the response in chunks; fails once the client is
/// gone, which stops the export.
struct ChannelWriter {
    buffer: Vec<u8>,
    tx: mpsc::Sender<io::Result<Bytes>>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client gone"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

pub async fn deviations(
    state: Data<AppState>,
    caller: Caller,
    query: super::query::Params<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let period = super::stats::period(q.period.as_deref(), q.from.as_deref(), q.to.as_deref())?;
    let format = q.format.as_deref().map_or(Ok(Format::Csv), Format::parse)?;
    let bounds = period.utc_bounds();
    let scope = db::run(&state.pool, move |c| {
        let scope = super::stats::scope(c, &caller, q.organisation_id, q.health_community_id)?;
        if format == Format::Xlsx && db::stats::count_submitted_in(c, &scope, bounds.0, bounds.1)? > XLSX_MAX_ROWS {
            return Err(ApiError::field(
                "format",
                "too_many_rows",
                "Perioden har flere avvik enn et regneark rommer. Velg format csv, eller en kortere periode.",
            ));
        }
        Ok(scope)
    })
    .await?;

    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
    let (pool, failed) = (state.pool.clone(), tx.clone());
    actix_web::rt::spawn(async move {
        let written = db::run(&pool, move |c| {
            let out = ChannelWriter { buffer: Vec::with_capacity(CHUNK), tx };
            export::write(c, &scope, bounds, format, out).map_err(ApiError::internal)
        })
        .await;
        if let Err(e) = written {
            if !failed.is_closed() {
                tracing::error!(error = ?e, "the export stopped halfway");
                // Ends the response without its last chunk, so the client sees it is incomplete.
                let _ = failed.send(Err(io::Error::other("export failed"))).await;
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let name = format!("samhandlingsavvik-{}.{}", period.to_string().replace('–', "_"), format.extension());
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(("content-disposition", format!("attachment; filename=\"{name}\"")))
        .streaming(body))
}
