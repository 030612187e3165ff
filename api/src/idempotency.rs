//! Safe retries for scripts: a mutation sent with an `Idempotency-Key` header runs once per
//! API client and key; a retry with the same key and the same operation gets the first
//! response again, and nothing is created twice, whenever the first attempt died.
//!
//! Invariants:
//! - **A key is either unused or answered.** A keyed mutation runs in one transaction
//!   ([`Keyed`]): the key's row is inserted first, every write of the request (each field's
//!   own transaction becomes a savepoint in it) and its audit events follow, and the response
//!   is stored in the same transaction before it commits. A process killed at any point
//!   before the commit leaves nothing, so the retry runs afresh at once; after it, the retry
//!   is answered with the stored response. No committed row is ever `pending` (rows written
//!   by versions before this one may be, and are taken over at once).
//! - A key binds to the SHA-256 fingerprint of its first operation (query, operation name,
//!   variables with sorted keys), so the same key with other input is `CONFLICT`.
//! - A duplicate arriving while the first request runs waits for it (the row lock on
//!   PostgreSQL, the write lock on SQLite) and is then answered with the stored response, or
//!   runs if the first one left nothing; a wait beyond the database's lock timeout is
//!   `CONFLICT` (retry later), never a second run.
//! - A request whose answer holds an `INTERNAL` error keeps nothing: its transaction rolls
//!   back, the caller is told nothing was written, and a retry with the key runs again.
//! - Keys bind for a day.

use std::sync::Arc;

use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};
use entity::{enums::IdempotencyStatus, idempotency_key};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QuerySelect, TransactionTrait,
    sea_query::{Expr, OnConflict},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    db::Db,
    error::{ApiError, ApiResult},
};

pub const HEADER: &str = "idempotency-key";
/// How long a key binds its first response.
const BINDING: Duration = Duration::hours(24);
const MAX_KEY_LENGTH: usize = 128;

/// The `Idempotency-Key` of a request, if it sent one: 1 to 128 visible ASCII characters.
pub fn key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().ok().map(str::trim).unwrap_or_default();
    let visible = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_KEY_LENGTH || !visible {
        return Err(ApiError::validation(
            "Idempotency-Key",
            "use 1 to 128 visible ASCII characters, e.g. a UUID per logical operation",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// What the request is, for telling a retry from new input under the same key.
pub fn fingerprint(request: &async_graphql::Request) -> String {
    // Keys sorted, so the variables' text does not depend on the order a client happened to
    // send them in (serde_json keeps insertion order: `preserve_order`, see Cargo.toml).
    let variables = serde_json::to_value(&request.variables)
        .map(|v| canonical(v).to_string())
        .unwrap_or_default();
    let mut hash = Sha256::new();
    for part in [
        request.query.as_str(),
        request.operation_name.as_deref().unwrap_or_default(),
        variables.as_str(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` with the keys of every object sorted, at every depth.
fn canonical(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Which key a request holds.
#[derive(Debug)]
struct Claim {
    client_id: Uuid,
    key: String,
}

/// A keyed mutation under way: the transaction that holds its key and will hold everything it
/// writes. End it with [`Keyed::commit`] or [`Keyed::abandon`]; dropped, it rolls back.
pub struct Keyed {
    txn: Arc<DatabaseTransaction>,
    claim: Claim,
}

/// What to do with a request that carries a key.
pub enum Outcome {
    /// First use (or an expired one): run it on [`Keyed::db`].
    Run(Keyed),
    /// A retry: answer with the stored response.
    Replay(String),
}

fn in_use(why: &str) -> ApiError {
    ApiError::Conflict(format!("Idempotency-Key conflict: {why}"))
}

const STILL_RUNNING: &str = "the first request with this key is still running; retry in a moment";

/// A lock wait that ran out (SQLite's busy timeout, PostgreSQL's `lock_timeout`) means another
/// request with the key holds it: `CONFLICT`, not an internal error.
fn lock_wait(err: DbErr) -> ApiError {
    let text = err.to_string();
    if text.contains("database is locked") || text.contains("lock timeout") {
        return in_use(STILL_RUNNING);
    }
    ApiError::from(err)
}

/// Opens the request's transaction and claims `key` in it for this client and operation, or
/// says why not (a replay, or a conflict).
pub async fn begin(
    db: &DatabaseConnection,
    client_id: Uuid,
    key: String,
    fingerprint: String,
) -> ApiResult<Outcome> {
    let txn = db
        .begin_with_options(crate::db::write_transaction())
        .await
        .map_err(lock_wait)?;
    let claim = Claim { client_id, key };
    match take(&txn, &claim, fingerprint).await {
        Ok(true) => Ok(Outcome::Run(Keyed {
            txn: Arc::new(txn),
            claim,
        })),
        Ok(false) => {
            let stored = stored(&txn, &claim).await;
            txn.rollback().await?;
            stored.map(Outcome::Replay)
        }
        Err(err) => {
            txn.rollback().await?;
            Err(err)
        }
    }
}

/// Inserts the key's row, or takes over an expired or (from an older version) pending one.
/// `false` when the key is answered and this request is its retry.
async fn take(txn: &DatabaseTransaction, claim: &Claim, fingerprint: String) -> ApiResult<bool> {
    let now = crate::db::now();
    let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        client_id: Set(claim.client_id),
        key: Set(claim.key.clone()),
        fingerprint: Set(fingerprint.clone()),
        status: Set(IdempotencyStatus::Pending),
        response: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            idempotency_key::Column::ClientId,
            idempotency_key::Column::Key,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(txn)
    .await
    .map_err(lock_wait)?;
    if inserted == 1 {
        return Ok(true);
    }
    // The row lock makes a concurrent retry wait here until this one's holder commits.
    let existing = idempotency_key::Entity::find_by_id((claim.client_id, claim.key.clone()))
        .lock_exclusive()
        .one(txn)
        .await
        .map_err(lock_wait)?
        .ok_or_else(|| in_use("the key was released while this request arrived; retry"))?;
    if existing.created_at < now - BINDING {
        retake(txn, claim, Some(fingerprint), now).await?;
        return Ok(true);
    }
    if existing.fingerprint != fingerprint {
        return Err(in_use(
            "this key was used for a different request; use a new key for new input",
        ));
    }
    match existing.status {
        IdempotencyStatus::Done => Ok(false),
        IdempotencyStatus::Pending => {
            retake(txn, claim, None, now).await?;
            Ok(true)
        }
    }
}

async fn find(
    db: &impl ConnectionTrait,
    claim: &Claim,
) -> ApiResult<Option<idempotency_key::Model>> {
    Ok(
        idempotency_key::Entity::find_by_id((claim.client_id, claim.key.clone()))
            .one(db)
            .await?,
    )
}

/// The stored response of an answered key.
async fn stored(db: &impl ConnectionTrait, claim: &Claim) -> ApiResult<String> {
    Ok(find(db, claim)
        .await?
        .and_then(|row| row.response)
        .unwrap_or_default())
}

/// Takes over an expired row (with the new fingerprint) or a pending one left by an older
/// version; [`take`] holds the row's lock, so no other request races for it.
async fn retake(
    txn: &DatabaseTransaction,
    claim: &Claim,
    fingerprint: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let mut update = idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::Status,
            Expr::value(IdempotencyStatus::Pending),
        )
        .col_expr(
            idempotency_key::Column::Response,
            Expr::value(None::<String>),
        )
        .col_expr(idempotency_key::Column::UpdatedAt, Expr::value(now));
    if let Some(fingerprint) = fingerprint {
        update = update
            .col_expr(
                idempotency_key::Column::Fingerprint,
                Expr::value(fingerprint),
            )
            .col_expr(idempotency_key::Column::CreatedAt, Expr::value(now));
    }
    update
        .filter(idempotency_key::Column::ClientId.eq(claim.client_id))
        .filter(idempotency_key::Column::Key.eq(claim.key.as_str()))
        .exec(txn)
        .await?;
    Ok(())
}

impl Keyed {
    /// The database the request runs on: this transaction.
    pub fn db(&self) -> Db {
        Db::Request(self.txn.clone())
    }

    /// Stores `response` under the key and commits it with everything the request wrote.
    /// An error means nothing of the request is kept (or, if the commit's answer was lost on
    /// the way, that the outcome is unknown: a retry with the key finds out).
    pub async fn commit(self, response: &[u8]) -> ApiResult<()> {
        idempotency_key::Entity::update_many()
            .col_expr(
                idempotency_key::Column::Status,
                Expr::value(IdempotencyStatus::Done),
            )
            .col_expr(
                idempotency_key::Column::Response,
                Expr::value(String::from_utf8_lossy(response).into_owned()),
            )
            .col_expr(
                idempotency_key::Column::UpdatedAt,
                Expr::value(crate::db::now()),
            )
            .filter(idempotency_key::Column::ClientId.eq(self.claim.client_id))
            .filter(idempotency_key::Column::Key.eq(self.claim.key.as_str()))
            .exec(self.txn.as_ref())
            .await?;
        let txn = Arc::try_unwrap(self.txn)
            .map_err(|_| ApiError::internal("the request's transaction is still in use"))?;
        txn.commit().await?;
        Ok(())
    }

    /// Rolls back the key and everything the request wrote: a retry runs again.
    pub async fn abandon(self) {
        let Ok(txn) = Arc::try_unwrap(self.txn) else {
            // The last holder's drop rolls it back.
            return;
        };
        if let Err(err) = txn.rollback().await {
            tracing::error!(error = ?err, "could not roll back a keyed request");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, variables: serde_json::Value) -> async_graphql::Request {
        async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables))
    }

    #[test]
    fn fingerprint_ignores_variable_order_but_not_values() {
        let a = request("mutation { x }", serde_json::json!({"a": 1, "b": 2}));
        let b = request("mutation { x }", serde_json::json!({"b": 2, "a": 1}));
        let c = request("mutation { x }", serde_json::json!({"a": 1, "b": 3}));
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
        let nested = |v| request("mutation { x }", v);
        assert_eq!(
            fingerprint(&nested(
                serde_json::json!({"i": {"y": [{"q": 1, "p": 2}], "x": 1}})
            )),
            fingerprint(&nested(
                serde_json::json!({"i": {"x": 1, "y": [{"p": 2, "q": 1}]}})
            )),
            "at every depth"
        );
        assert_eq!(fingerprint(&a).len(), 64);
    }

    #[test]
    fn keys_are_short_visible_ascii() {
        let with = |v: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(HEADER, v.parse().unwrap());
            key(&headers)
        };
        assert_eq!(with("abc-123").unwrap().as_deref(), Some("abc-123"));
        assert!(key(&HeaderMap::new()).unwrap().is_none());
        for bad in ["", "a b", &"x".repeat(129)] {
            assert_eq!(with(bad).unwrap_err().code(), "BAD_USER_INPUT", "{bad:?}");
        }
    }
}
