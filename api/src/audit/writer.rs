//! Group commit for the audit records of personal-data reads.
//!
//! A durable read record costs one WAL flush on PostgreSQL (a synchronous commit). Committed one
//! request at a time, that flush bounds each connection's rate; so one writer task collects the
//! records of the requests that finish at the same moment and commits them together: several
//! INSERTs in one transaction, one flush for the whole batch. Every request still answers only
//! after the commit that holds its records has returned, so an acknowledged response's record
//! survives a crash exactly as before (`--read-audit durable`). A batch that fails is written
//! again one request at a time, so one bad record cannot withhold the others' responses.

use prometheus::{IntCounter, IntGauge, core::Collector};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryTrait, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use super::{Actor, Event, row};
use crate::error::{ApiError, ApiResult};

/// The default for `--read-audit-batch`: how many requests' records one commit may hold.
pub const DEFAULT_BATCH_REQUESTS: usize = 256;

/// Rows per INSERT statement: PostgreSQL binds at most 65,535 parameters per statement and an
/// audit row takes 12, so a batch of many rows is written as several INSERTs in its transaction.
const ROWS_PER_INSERT: usize = 1000;

/// One request's read records, waiting for their commit.
struct Pending {
    rows: Vec<entity::audit_event::ActiveModel>,
    done: oneshot::Sender<ApiResult<()>>,
}

/// The handle requests commit their read records through; cheap to clone. The writer task ends
/// when the last handle is dropped, after committing what it holds.
#[derive(Clone)]
pub struct ReadAuditWriter {
    queue: mpsc::UnboundedSender<Pending>,
    metrics: WriterMetrics,
}

/// What the writer shows on `/metrics`: how many requests wait for their commit now, and how
/// many commits and requests it has written (requests / commits = the mean batch).
#[derive(Clone)]
struct WriterMetrics {
    waiting: IntGauge,
    commits: IntCounter,
    requests: IntCounter,
}

impl WriterMetrics {
    fn new() -> Result<Self, prometheus::Error> {
        Ok(Self {
            waiting: IntGauge::new(
                "bydel_read_audit_waiting",
                "Requests whose personal-data read records wait for their group commit.",
            )?,
            commits: IntCounter::new(
                "bydel_read_audit_commits_total",
                "Group commits of personal-data read records (one WAL flush each).",
            )?,
            requests: IntCounter::new(
                "bydel_read_audit_requests_total",
                "Requests whose personal-data read records a group commit has written.",
            )?,
        })
    }
}

impl ReadAuditWriter {
    /// Starts the writer task on `db`, committing at most `batch_requests` requests' records
    /// (at least one) in one transaction.
    pub fn start(db: DatabaseConnection, batch_requests: usize) -> Result<Self, prometheus::Error> {
        let metrics = WriterMetrics::new()?;
        let (queue, incoming) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(
            db,
            incoming,
            batch_requests.max(1),
            metrics.clone(),
        ));
        Ok(Self { queue, metrics })
    }

    /// The writer's metrics, to be registered with the server's registry.
    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.metrics.waiting.clone()),
            Box::new(self.metrics.commits.clone()),
            Box::new(self.metrics.requests.clone()),
        ]
    }

    /// Commits `events` read by `actor` and returns once they are durable; an error when the
    /// commit failed or the writer is gone (the response must then be withheld).
    pub async fn commit(&self, actor: &Actor, events: Vec<Event>) -> ApiResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        let at = crate::db::now();
        let rows = events.into_iter().map(|e| row(actor, e, at)).collect();
        let (done, committed) = oneshot::channel();
        self.metrics.waiting.inc();
        let outcome = match self.queue.send(Pending { rows, done }) {
            Ok(()) => committed.await.unwrap_or_else(|_| Err(stopped())),
            Err(_) => Err(stopped()),
        };
        self.metrics.waiting.dec();
        outcome
    }
}

fn stopped() -> ApiError {
    ApiError::internal("the read audit writer has stopped")
}

/// The writer task: takes what has queued up (at most `batch_requests` requests), commits it
/// in one transaction, answers each request, and goes again. While one commit runs the next
/// batch gathers, so the batch grows with the load by itself and no timer delays a lone request.
async fn write_batches(
    db: DatabaseConnection,
    mut incoming: mpsc::UnboundedReceiver<Pending>,
    batch_requests: usize,
    metrics: WriterMetrics,
) {
    let mut batch = Vec::with_capacity(batch_requests);
    while incoming.recv_many(&mut batch, batch_requests).await > 0 {
        match commit_together(&db, &batch).await {
            Ok(()) => {
                metrics.commits.inc();
                metrics.requests.inc_by(batch.len() as u64);
                for pending in batch.drain(..) {
                    let _ = pending.done.send(Ok(()));
                }
            }
            Err(err) => {
                tracing::warn!(error = ?err, requests = batch.len(),
                    "a read audit batch failed; writing its requests one by one");
                for pending in batch.drain(..) {
                    let outcome = commit_together(&db, std::slice::from_ref(&pending)).await;
                    if outcome.is_ok() {
                        metrics.commits.inc();
                        metrics.requests.inc();
                    }
                    let _ = pending.done.send(outcome);
                }
            }
        }
    }
}

/// One transaction holding every row of `batch`, as INSERTs of at most [`ROWS_PER_INSERT`].
async fn commit_together(db: &DatabaseConnection, batch: &[Pending]) -> ApiResult<()> {
    let rows: Vec<_> = batch.iter().flat_map(|p| p.rows.iter().cloned()).collect();
    if rows.len() <= ROWS_PER_INSERT {
        // One statement is its own transaction: no BEGIN/COMMIT round trips.
        let insert = entity::audit_event::Entity::insert_many(rows).into_query();
        db.execute(&insert).await?;
        return Ok(());
    }
    let txn = db.begin().await?;
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let insert = entity::audit_event::Entity::insert_many(chunk.to_vec()).into_query();
        txn.execute(&insert).await?;
    }
    txn.commit().await?;
    Ok(())
}
