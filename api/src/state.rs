//! What every request handler shares: the server's state, built once at start-up and cloned
//! (cheaply: handles and `Arc`s) into each request. Handlers that need only a part of it take
//! that part (`State<Arc<Metrics>>`, `State<Endpoints>`) through `FromRef`, so the telemetry
//! and the OAuth endpoints do not depend on the whole server.

use std::sync::Arc;

use axum::extract::FromRef;
use sea_orm::DatabaseConnection;

use crate::{
    audit::{ReadAuditCommit, ReadAuditWriter},
    auth::{TokenCache, TokenKeys},
    cors::CorsPolicy,
    db::StatementCounter,
    events::EventBus,
    limits::Limits,
    metrics::Metrics,
    oauth::{OAuth, endpoint::Endpoints},
    persisted::PersistedQueries,
    schema::BydelSchema,
    shutdown::Shutdown,
};

/// What every request handler shares. Cheap to clone; holds no per-caller state.
#[derive(Clone)]
pub struct AppState {
    pub schema: BydelSchema,
    pub db: DatabaseConnection,
    pub keys: Arc<TokenKeys>,
    /// The rows of recently seen tokens (see `auth::token_cache`); the bus's.
    pub tokens: Arc<TokenCache>,
    pub statements: StatementCounter,
    /// Referral events for the subscriptions of this replica.
    pub events: EventBus,
    /// Cost limits, response size, timeout and the per-client rate limiter.
    pub limits: Arc<Limits>,
    /// APQ cache and registered operations.
    pub persisted: Arc<PersistedQueries>,
    pub metrics: Arc<Metrics>,
    /// Cancelled when the server begins to shut down; long-lived connections watch it.
    pub shutdown: Shutdown,
    /// How the audit records of personal-data reads are committed.
    pub read_audit: ReadAuditCommit,
    /// The group-commit writer of durable read records (see [`AppState::with_read_audit`]);
    /// `None`: each request commits its own.
    pub read_audit_writer: Option<ReadAuditWriter>,
    /// Which browser origins may call Bydel (`--cors-origins`); off by default.
    pub cors: Arc<CorsPolicy>,
    /// The OAuth endpoints' settings and per-client rate limit (`--public-url`, ...).
    pub oauth: Arc<OAuth>,
}

impl AppState {
    /// The state of one server over `db`, with its own metrics registry.
    pub fn new(
        schema: BydelSchema,
        db: DatabaseConnection,
        keys: Arc<TokenKeys>,
        statements: StatementCounter,
        events: EventBus,
        limits: Arc<Limits>,
        persisted: Arc<PersistedQueries>,
    ) -> Result<AppState, prometheus::Error> {
        Ok(AppState {
            metrics: Arc::new(Metrics::new(db.clone(), &statements)?),
            schema,
            db,
            keys,
            tokens: events.tokens().clone(),
            statements,
            events,
            limits,
            persisted,
            shutdown: Shutdown::default(),
            read_audit: ReadAuditCommit::default(),
            read_audit_writer: None,
            cors: Arc::default(),
            oauth: Arc::default(),
        })
    }
}

impl AppState {
    /// Commits read records as `commit` says; durable ones through a group-commit writer of
    /// at most `batch_requests` requests a commit (`--read-audit-batch`; 0: each request on
    /// its own). Deferred records need no flush to wait for, so they are not grouped.
    pub fn with_read_audit(
        self,
        commit: ReadAuditCommit,
        batch_requests: usize,
    ) -> Result<AppState, prometheus::Error> {
        let writer = match (commit, batch_requests) {
            (ReadAuditCommit::Durable, 1..) => {
                let writer = ReadAuditWriter::start(self.db.clone(), batch_requests)?;
                for collector in writer.collectors() {
                    self.metrics.register(collector)?;
                }
                Some(writer)
            }
            _ => None,
        };
        Ok(AppState {
            read_audit: commit,
            read_audit_writer: writer,
            ..self
        })
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.clone()
    }
}

impl FromRef<AppState> for Endpoints {
    fn from_ref(state: &AppState) -> Self {
        Endpoints {
            db: state.db.clone(),
            keys: state.keys.clone(),
            tokens: state.tokens.clone(),
            limits: state.limits.clone(),
            oauth: state.oauth.clone(),
        }
    }
}
