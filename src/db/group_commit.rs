//! Group commit: concurrent writes share one transaction and one flush to disk.
//!
//! SQLite has one writer, and each durable commit waits for its own fsync; writers queued on the
//! lock also sleep in SQLite's busy handler instead of being woken. Here one thread owns a
//! connection, takes every job that is waiting, runs each in its own savepoint (a job's failure
//! undoes only that job) and commits once. No job hears its result before that commit has
//! returned, so a 201 still means stored; if the commit fails, every job in it fails.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use diesel::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{write_tx, DbConnection, DbUrl};
use crate::error::ApiError;

type Output = Box<dyn Any + Send>;
type Work = Box<dyn FnOnce(&mut DbConnection) -> Result<Output, ApiError> + Send>;

struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Output, ApiError>>,
}

/// Most jobs in one transaction: bounds how long one commit holds the write lock.
const MAX_BATCH: usize = 64;
/// Jobs waiting beyond this are refused with 503 rather than queued without limit.
const QUEUE: usize = 1024;

#[derive(Clone)]
pub struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Starts the committing thread; it connects lazily and reconnects after a failed commit.
    pub fn start(url: DbUrl) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new().name("group-commit".into()).spawn(move || run(url, rx))?;
        Ok(Committer { jobs })
    }

    /// Runs `work` in the next group transaction and returns its result once that has committed.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let work: Work = Box::new(move |c| work(c).map(|t| Box::new(t) as Output));
        self.jobs
            .try_send(Job { work, reply })
            .map_err(|_| ApiError::unavailable(anyhow::anyhow!("group commit queue full or stopped")))?;
        let output =
            answer.await.map_err(|_| ApiError::internal(anyhow::anyhow!("group commit job was dropped")))??;
        output.downcast::<T>().map(|t| *t).map_err(|_| ApiError::internal(anyhow::anyhow!("group commit type")))
    }
}

fn run(url: DbUrl, mut rx: mpsc::Receiver<Job>) {
    let mut conn: Option<DbConnection> = None;
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match conn.take().map_or_else(|| url.connect(), Ok) {
            Ok(c) => conn = commit(c, batch),
            Err(e) => {
                tracing::error!(error = %e, "group commit cannot connect; database unavailable");
                for job in batch {
                    let _ = job.reply.send(Err(ApiError::unavailable(anyhow::anyhow!("group commit: {e}"))));
                }
            }
        }
    }
}

/// Commits one batch and answers every job in it. Returns the connection if it may be reused: a
/// failed commit may have left it broken (a lost server, a panic mid-transaction), and it is
/// closed — its transaction rolled back — before anyone hears of the failure.
fn commit(mut conn: DbConnection, batch: Vec<Job>) -> Option<DbConnection> {
    let (works, replies): (Vec<Work>, Vec<_>) = batch.into_iter().map(|j| (j.work, j.reply)).unzip();
    let mut results = Vec::with_capacity(works.len());
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        write_tx(&mut conn, |c| {
            for work in works {
                // A savepoint per job: its error rolls back only its own writes.
                results.push(c.transaction(work));
            }
            Ok(())
        })
    }));
    match outcome {
        Ok(Ok(())) => {
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
            Some(conn)
        }
        Ok(Err(e)) => {
            drop(conn);
            tracing::error!(error = %e, jobs = replies.len(), "group commit failed; nothing of it was stored");
            for reply in replies {
                let _ = reply.send(Err(e.again()));
            }
            None
        }
        Err(_) => {
            drop(conn);
            tracing::error!(jobs = replies.len(), "a job panicked in group commit; nothing of its batch was stored");
            None // dropping the replies answers each job with an internal error
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::*;
    use crate::db::schema::reference_counters as rc;

    fn years(url: &DbUrl) -> Vec<i32> {
        rc::table.select(rc::year).order(rc::year).load(&mut url.connect().unwrap()).unwrap()
    }

    async fn insert(g: &Committer, year: i32, fail: bool) -> Result<i32, ApiError> {
        g.run(move |c| {
            diesel::insert_into(rc::table).values((rc::year.eq(year), rc::last_value.eq(0))).execute(c)?;
            if fail {
                return Err(ApiError::bad_request("refused", "nei"));
            }
            Ok(year)
        })
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_undoes_only_itself_and_a_panic_stores_nothing_of_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let url = DbUrl::Sqlite(dir.path().join("g.db"));
        crate::db::open_one(&url).unwrap();
        let g = Committer::start(url.clone()).unwrap();

        let jobs = (1..=40).map(|y| insert(&g, y, y % 2 == 1));
        let results = futures_util::future::join_all(jobs).await;
        for (y, r) in (1..=40).zip(&results) {
            assert_eq!(r.as_ref().ok(), (y % 2 == 0).then_some(&y), "job {y}");
        }
        assert_eq!(years(&url), (1..=40).filter(|y| y % 2 == 0).collect::<Vec<_>>());

        let panics = g.run(|c| -> Result<(), ApiError> {
            diesel::insert_into(rc::table).values((rc::year.eq(100), rc::last_value.eq(0))).execute(c)?;
            panic!("a bug in a job");
        });
        assert_eq!(panics.await.unwrap_err().status, 500);
        assert!(!years(&url).contains(&100), "the panicking batch must not be stored");
        // The committer goes on, on a new connection.
        assert_eq!(insert(&g, 101, false).await.unwrap(), 101);
        assert!(years(&url).contains(&101));
    }
}
