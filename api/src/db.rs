//! Opening the database: embedded SQLite (WAL, foreign keys, busy timeout) or PostgreSQL,
//! with a statement counter that feeds `/metrics` (and lets tests prove there is no N+1).

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use prometheus::IntCounter;

use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, ExecResult, IsolationLevel, QueryResult, SqliteTransactionMode, Statement,
    TransactionError, TransactionOptions, TransactionTrait,
    prelude::async_trait,
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

/// How long the first connection to PostgreSQL may take before start-up gives up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects and installs the statement counter. Migrations are not run here (see `cli`).
///
/// On PostgreSQL one direct connection comes first, within [`CONNECT_TIMEOUT`]: the pool
/// would retry a refused connection, a missing database or a wrong password until its
/// acquire timeout and then report only "pool timed out"; the direct attempt fails at once
/// with what happened, in one line.
pub async fn connect(url: &str) -> Result<(DatabaseConnection, StatementCounter), DbErr> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        probe_postgres(url).await?;
    }
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

/// One connection to the PostgreSQL server `url` names, closed again; `Err` says in one line
/// why there is none (never the password).
async fn probe_postgres(url: &str) -> Result<(), DbErr> {
    use sea_orm::sqlx::{
        self, Connection,
        postgres::{PgConnectOptions, PgConnection},
    };
    let refused = |reason: String| DbErr::Conn(sea_orm::RuntimeErr::Internal(reason));
    let options: PgConnectOptions = url
        .parse()
        .map_err(|_| refused("the PostgreSQL URL does not parse".into()))?;
    let server = match options.get_socket() {
        Some(socket) => format!("PostgreSQL at {}", socket.display()),
        None => format!(
            "PostgreSQL at {}:{}",
            options.get_host(),
            options.get_port()
        ),
    };
    let attempt = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options));
    let err = match attempt.await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            return Ok(());
        }
        Ok(Err(err)) => err,
        Err(_) => {
            return Err(refused(format!(
                "{server} did not answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
    };
    let reason = match &err {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("connection refused by {server}: is it running and listening there?")
        }
        sqlx::Error::Io(io) => format!("cannot reach {server}: {io}"),
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("3D000") => format!(
                "database {:?} does not exist on {server}; create it or fix the URL",
                options.get_database().unwrap_or_default()
            ),
            Some("28P01" | "28000") => format!(
                "authentication failed for user {:?} on {server}",
                options.get_username()
            ),
            _ => format!("{server} refused the connection: {}", db.message()),
        },
        other => format!("cannot connect to {server}: {other}"),
    };
    Err(refused(reason.replace('\n', " ")))
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
    db: &impl TransactionTrait<Transaction = DatabaseTransaction>,
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

/// The database a request works on: the shared pool, or the one transaction a whole request
/// runs in when it must land atomically with its stored answer (a mutation sent with an
/// `Idempotency-Key`, see [`crate::idempotency`]).
///
/// Invariants: every resolver, loader and write of a request uses the request's `Db`, so in
/// the transaction case the request reads its own writes, and a write's own
/// [`transaction`] becomes a savepoint inside the request's transaction (a failed field rolls
/// back alone; nothing is durable before the request's transaction commits).
#[derive(Clone, Debug)]
pub enum Db {
    Pool(DatabaseConnection),
    Request(Arc<DatabaseTransaction>),
}

impl From<DatabaseConnection> for Db {
    fn from(pool: DatabaseConnection) -> Self {
        Db::Pool(pool)
    }
}

impl Db {
    fn connection(&self) -> &dyn ConnectionTraitObject {
        match self {
            Db::Pool(pool) => pool,
            Db::Request(txn) => txn.as_ref(),
        }
    }
}

/// The object-safe part of [`ConnectionTrait`] that [`Db`] forwards.
trait ConnectionTraitObject: Sync {
    fn backend(&self) -> DbBackend;
    fn execute_raw(&self, stmt: Statement) -> BoxFuture<'_, Result<ExecResult, DbErr>>;
    fn execute_unprepared<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, Result<ExecResult, DbErr>>;
    fn query_one_raw(&self, stmt: Statement) -> BoxFuture<'_, Result<Option<QueryResult>, DbErr>>;
    fn query_all_raw(&self, stmt: Statement) -> BoxFuture<'_, Result<Vec<QueryResult>, DbErr>>;
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl<C: ConnectionTrait + Send + Sync> ConnectionTraitObject for C {
    fn backend(&self) -> DbBackend {
        self.get_database_backend()
    }
    fn execute_raw(&self, stmt: Statement) -> BoxFuture<'_, Result<ExecResult, DbErr>> {
        ConnectionTrait::execute_raw(self, stmt)
    }
    fn execute_unprepared<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, Result<ExecResult, DbErr>> {
        ConnectionTrait::execute_unprepared(self, sql)
    }
    fn query_one_raw(&self, stmt: Statement) -> BoxFuture<'_, Result<Option<QueryResult>, DbErr>> {
        ConnectionTrait::query_one_raw(self, stmt)
    }
    fn query_all_raw(&self, stmt: Statement) -> BoxFuture<'_, Result<Vec<QueryResult>, DbErr>> {
        ConnectionTrait::query_all_raw(self, stmt)
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.connection().backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.connection().execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.connection().execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.connection().query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.connection().query_all_raw(stmt).await
    }
}

#[async_trait::async_trait]
impl TransactionTrait for Db {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Db::Pool(pool) => pool.begin().await,
            Db::Request(txn) => txn.begin().await,
        }
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Db::Pool(pool) => pool.begin_with_config(isolation_level, access_mode).await,
            Db::Request(txn) => txn.begin_with_config(isolation_level, access_mode).await,
        }
    }

    async fn begin_with_options(
        &self,
        options: TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        match self {
            Db::Pool(pool) => pool.begin_with_options(options).await,
            Db::Request(txn) => txn.begin_with_options(options).await,
        }
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        match self {
            Db::Pool(pool) => pool.transaction(callback).await,
            Db::Request(txn) => txn.transaction(callback).await,
        }
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<IsolationLevel>,
        access_mode: Option<AccessMode>,
    ) -> Result<T, TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        match self {
            Db::Pool(pool) => {
                pool.transaction_with_config(callback, isolation_level, access_mode)
                    .await
            }
            Db::Request(txn) => {
                txn.transaction_with_config(callback, isolation_level, access_mode)
                    .await
            }
        }
    }
}
