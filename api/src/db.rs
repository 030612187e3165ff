//! Opening the database: embedded SQLite (WAL, foreign keys, busy timeout) or PostgreSQL,
//! with a statement counter that feeds `/metrics` (and lets tests prove there is no N+1).

use std::time::Duration;

use prometheus::IntCounter;

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

use crate::error::ApiResult;

/// How many SQL statements this connection pool has executed; monotonic, exported at
/// `/metrics` as `bydel_db_statements_total`.
#[derive(Debug, Clone)]
pub struct StatementCounter(IntCounter);

impl StatementCounter {
    fn new() -> Result<Self, DbErr> {
        IntCounter::new(
            "bydel_db_statements_total",
            "SQL statements executed by this process.",
        )
        .map(Self)
        .map_err(|err| DbErr::Custom(err.to_string()))
    }

    pub fn get(&self) -> u64 {
        self.0.get()
    }

    /// The Prometheus counter itself, for the metrics registry.
    pub fn counter(&self) -> &IntCounter {
        &self.0
    }
}

/// Connects and installs the statement counter. Migrations are not run here (see `cli`).
pub async fn connect(url: &str) -> Result<(DatabaseConnection, StatementCounter), DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(if is_sqlite(url) { 8 } else { 20 })
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    let mut db = Database::connect(options).await?;
    let counter = StatementCounter::new()?;
    let inner = counter.0.clone();
    db.set_metric_callback(move |_info| inner.inc());
    Ok((db, counter))
}

/// The current time at the precision both backends store (microseconds). SQLite would keep
/// nanoseconds and PostgreSQL microseconds; without this a row read back, or a cursor made
/// from it, would differ between the two.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::DurationRound;
    let now = chrono::Utc::now();
    now.duration_trunc(chrono::TimeDelta::microseconds(1))
        .unwrap_or(now)
}

pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Runs `work` in one transaction: committed when it returns `Ok`, rolled back when it
/// fails, so a change and its audit events land together or not at all. The rollback is
/// awaited, not left to `Drop`: a refused write that already took SQLite's write lock (a
/// referral transition claims its version first) must release it before the answer goes
/// out, or the caller's next write could meet `SQLITE_BUSY`.
///
/// On SQLite the transaction takes the write lock at `BEGIN` (`BEGIN IMMEDIATE`): a deferred
/// transaction that reads before it writes fails at once with "database is locked" when
/// another connection commits in between (the busy timeout cannot help a read snapshot that
/// went stale), whereas an immediate one waits its turn. PostgreSQL ignores the option.
pub async fn transaction<T>(
    db: &DatabaseConnection,
    work: impl AsyncFnOnce(&DatabaseTransaction) -> ApiResult<T>,
) -> ApiResult<T> {
    let txn = db.begin_with_options(write_transaction()).await?;
    match work(&txn).await {
        Ok(out) => {
            txn.commit().await?;
            Ok(out)
        }
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

/// The options of every write transaction (see [`transaction`]).
pub fn write_transaction() -> TransactionOptions {
    TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    }
}
