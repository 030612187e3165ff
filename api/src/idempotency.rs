//! Safe retries for scripts: a mutation sent with an `Idempotency-Key` header runs once per
//! API client and key; a retry with the same key and the same operation gets the first
//! response again, and nothing is created twice.
//!
//! Invariants: a key binds to the SHA-256 fingerprint of its first operation (query, operation
//! name, variables with sorted keys), so the same key with other input is `CONFLICT`; a first
//! request still running makes a concurrent duplicate `CONFLICT` (retry later) instead of
//! running twice; a response with an `INTERNAL` error is not kept, so a retry can succeed;
//! keys bind for a day, and a pending claim left by a crashed replica is taken over after a
//! minute.

use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};
use entity::{enums::IdempotencyStatus, idempotency_key};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, OnConflict},
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

pub const HEADER: &str = "idempotency-key";
/// How long a key binds its first response.
const BINDING: Duration = Duration::hours(24);
/// After this, a `pending` claim is taken to belong to a request that died with its replica.
const ABANDONED_AFTER: Duration = Duration::seconds(60);
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
    // serde_json's map is ordered by key, so the variables' text does not depend on the
    // order a client happened to send them in.
    let variables = serde_json::to_value(&request.variables)
        .map(|v| v.to_string())
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

/// A key this request holds while it runs; settle it with [`finish`].
#[derive(Debug)]
pub struct Claim {
    client_id: Uuid,
    key: String,
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Outcome {
    /// First use (or an expired/abandoned one): run it.
    Run(Claim),
    /// A retry: answer with the stored response.
    Replay(String),
}

fn in_use(why: &str) -> ApiError {
    ApiError::Conflict(format!("Idempotency-Key conflict: {why}"))
}

/// Claims `key` for this client and operation, or says why not.
pub async fn begin(
    db: &impl ConnectionTrait,
    client_id: Uuid,
    key: String,
    fingerprint: String,
) -> ApiResult<Outcome> {
    let now = crate::db::now();
    let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
        client_id: Set(client_id),
        key: Set(key.clone()),
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
    .exec_without_returning(db)
    .await?;
    let claim = Claim { client_id, key };
    if inserted == 1 {
        return Ok(Outcome::Run(claim));
    }
    let existing = idempotency_key::Entity::find_by_id((client_id, claim.key.clone()))
        .one(db)
        .await?
        .ok_or_else(|| in_use("the key was released while this request arrived; retry"))?;
    if existing.created_at < now - BINDING {
        return retake(db, claim, &existing, Some(fingerprint), now).await;
    }
    if existing.fingerprint != fingerprint {
        return Err(in_use(
            "this key was used for a different request; use a new key for new input",
        ));
    }
    match existing.status {
        IdempotencyStatus::Done => Ok(Outcome::Replay(existing.response.unwrap_or_default())),
        IdempotencyStatus::Pending if existing.updated_at < now - ABANDONED_AFTER => {
            retake(db, claim, &existing, None, now).await
        }
        IdempotencyStatus::Pending => Err(in_use(
            "the first request with this key is still running; retry in a moment",
        )),
    }
}

/// Takes over an expired or abandoned row, unless another request took it first.
async fn retake(
    db: &impl ConnectionTrait,
    claim: Claim,
    existing: &idempotency_key::Model,
    fingerprint: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<Outcome> {
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
    let taken = update
        .filter(idempotency_key::Column::ClientId.eq(claim.client_id))
        .filter(idempotency_key::Column::Key.eq(claim.key.as_str()))
        .filter(idempotency_key::Column::UpdatedAt.eq(existing.updated_at))
        .exec(db)
        .await?;
    if taken.rows_affected == 1 {
        Ok(Outcome::Run(claim))
    } else {
        Err(in_use(
            "another request took this key first; retry in a moment",
        ))
    }
}

/// Settles a claim: keeps `response` for retries, or (after an internal failure) releases
/// the key so that a retry runs again.
pub async fn finish(
    db: &impl ConnectionTrait,
    claim: Claim,
    response: Option<&[u8]>,
) -> ApiResult<()> {
    let row = idempotency_key::Entity::update_many()
        .filter(idempotency_key::Column::ClientId.eq(claim.client_id))
        .filter(idempotency_key::Column::Key.eq(claim.key.as_str()));
    match response {
        Some(body) => {
            row.col_expr(
                idempotency_key::Column::Status,
                Expr::value(IdempotencyStatus::Done),
            )
            .col_expr(
                idempotency_key::Column::Response,
                Expr::value(String::from_utf8_lossy(body).into_owned()),
            )
            .col_expr(
                idempotency_key::Column::UpdatedAt,
                Expr::value(crate::db::now()),
            )
            .exec(db)
            .await?;
        }
        None => {
            idempotency_key::Entity::delete_many()
                .filter(idempotency_key::Column::ClientId.eq(claim.client_id))
                .filter(idempotency_key::Column::Key.eq(claim.key.as_str()))
                .exec(db)
                .await?;
        }
    }
    Ok(())
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
