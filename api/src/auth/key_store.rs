//! The `signing_key` table: the public keys Bydel tokens are verified with, their rotation,
//! and the JWKS that publishes them.
//!
//! Invariants: only public halves are stored (private keys stay in the operator's key file
//! or environment); a key is retired, never deleted, because issued tokens name it; at least
//! one key stays active, so `retire` refuses to retire the last one; retiring takes effect on
//! every replica at once because it announces itself to their token caches (see
//! `token_cache`; on SQLite, from a separate process, after at most the cache time).

use chrono::{DateTime, Utc};
use entity::{api_token, signing_key};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait, sea_query::Expr,
};
use serde::Serialize;

use super::{
    TokenCache,
    keys::{KeyError, PublicKey},
    token_cache,
};
use crate::audit::{self, Actor, Event};
use crate::error::{ApiError, ApiResult};
use entity::enums::AuditAction;

/// The only algorithm Bydel signs with (the table's CHECK says the same).
pub const ALGORITHM: &str = "EdDSA";

/// Every stored key, retired ones included, oldest first. Verification keeps retired keys so
/// that a token signed by one is refused for that reason, from the database, rather than
/// as an unknown key that makes every replica reload.
pub async fn all(db: &impl ConnectionTrait) -> ApiResult<Vec<signing_key::Model>> {
    Ok(signing_key::Entity::find()
        .order_by_asc(signing_key::Column::CreatedAt)
        .order_by_asc(signing_key::Column::Kid)
        .all(db)
        .await?)
}

fn row(public: &PublicKey, now: DateTime<Utc>) -> signing_key::ActiveModel {
    signing_key::ActiveModel {
        kid: Set(public.kid.clone()),
        algorithm: Set(ALGORITHM.to_owned()),
        public_key: Set(public.x.clone()),
        created_at: Set(now),
        retired_at: Set(None),
    }
}

/// Start-up registration of the configured signing key: recorded when absent (two replicas
/// starting at once both succeed), refused when retired.
///
/// Tokens issued before key ids were recorded (`api_token.kid` NULL, from before migration 9
/// or from a replica of that version still running) were signed with the key configured
/// then; they are attributed to the configured key, so they keep working when that key is
/// unchanged and become retirable. Were they signed by another key, their header's key id
/// differs from the attributed one and they are refused, as they would be anyway.
pub async fn register_configured(
    db: &impl ConnectionTrait,
    public: &PublicKey,
) -> Result<(), KeyError> {
    let database = |e: sea_orm::DbErr| KeyError::Database(e.to_string());
    let existing = signing_key::Entity::find_by_id(public.kid.clone())
        .one(db)
        .await
        .map_err(database)?;
    match existing {
        Some(key) if key.retired_at.is_some() => {
            return Err(KeyError::Retired {
                kid: public.kid.clone(),
            });
        }
        Some(_) => {}
        None => {
            signing_key::Entity::insert(row(public, crate::db::now()))
                .on_conflict_do_nothing()
                .exec_without_returning(db)
                .await
                .map_err(database)?;
        }
    }
    // Needs no announcement: a row without a key id is refused, so no cache holds it.
    api_token::Entity::update_many()
        .col_expr(api_token::Column::Kid, Expr::value(public.kid.clone()))
        .filter(api_token::Column::Kid.is_null())
        .exec(db)
        .await
        .map_err(database)?;
    Ok(())
}

/// Records a newly generated key (`bydel key add`). It verifies tokens at once on every
/// replica (they reload on an unknown key id) and signs once a replica is configured with it.
pub async fn add(db: &impl ConnectionTrait, public: &PublicKey) -> ApiResult<signing_key::Model> {
    let model = row(public, crate::db::now());
    signing_key::Entity::insert(model)
        .exec_without_returning(db)
        .await?;
    let added = Event::unkeyed(
        AuditAction::Create,
        "signing_key",
        format!("kid {}", public.kid),
    );
    audit::record(db, &Actor::operator(), [added]).await?;
    signing_key::Entity::find_by_id(public.kid.clone())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::internal("a signing key just inserted is missing"))
}

/// What [`retire`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retirement {
    /// The key was active and is retired now.
    Retired,
    /// The key was retired before; nothing changed.
    AlreadyRetired,
}

/// Retires a key: from now on every replica refuses the tokens it signed. Refuses an unknown
/// key id (`NOT_FOUND`) and the last active key (`CONFLICT`), because without an active key
/// no token could be issued or accepted. The retirement is announced in its transaction
/// (every replica's token cache forgets its rows on commit) and `cache`, this process's own,
/// is cleared once the transaction has ended.
pub async fn retire(
    db: &DatabaseConnection,
    cache: &TokenCache,
    kid: &str,
) -> ApiResult<Retirement> {
    let outcome = retire_in_transaction(db, kid).await;
    cache.clear();
    outcome
}

async fn retire_in_transaction(db: &DatabaseConnection, kid: &str) -> ApiResult<Retirement> {
    let txn = db
        .begin_with_options(crate::db::write_transaction())
        .await?;
    // Locks the active keys (PostgreSQL), so two concurrent retirements cannot both see
    // another active key and leave none; on SQLite the immediate transaction serialises them.
    let active = signing_key::Entity::find()
        .filter(signing_key::Column::RetiredAt.is_null())
        .lock_exclusive()
        .all(&txn)
        .await?;
    if !active.iter().any(|key| key.kid == kid) {
        let known = signing_key::Entity::find_by_id(kid.to_owned())
            .one(&txn)
            .await?;
        return match known {
            Some(_) => Ok(Retirement::AlreadyRetired),
            None => Err(ApiError::NotFound(format!("signing key {kid}"))),
        };
    }
    if active.len() == 1 {
        return Err(ApiError::Conflict(format!(
            "{kid} is the only active signing key; add another with `bydel key add` and \
             configure the replicas with it first"
        )));
    }
    signing_key::Entity::update_many()
        .col_expr(
            signing_key::Column::RetiredAt,
            Expr::value(crate::db::now()),
        )
        .filter(signing_key::Column::Kid.eq(kid))
        .exec(&txn)
        .await?;
    let retired = Event::unkeyed(AuditAction::Revoke, "signing_key", format!("kid {kid}"));
    audit::record(&txn, &Actor::operator(), [retired]).await?;
    token_cache::announce(&txn).await?;
    txn.commit().await?;
    Ok(Retirement::Retired)
}

/// One public key in JWK form (RFC 8037 for Ed25519).
#[derive(Debug, Clone, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub x: String,
    pub kid: String,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
}

/// The body of `/.well-known/jwks.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// The active keys, oldest first, as a JWKS: what a partner or a gateway verifies with.
pub async fn jwks(db: &impl ConnectionTrait) -> ApiResult<Jwks> {
    let active = signing_key::Entity::find()
        .filter(signing_key::Column::RetiredAt.is_null())
        .order_by_asc(signing_key::Column::CreatedAt)
        .order_by_asc(signing_key::Column::Kid)
        .all(db)
        .await?;
    let keys = active
        .into_iter()
        .map(|key| Jwk {
            kty: "OKP",
            crv: "Ed25519",
            x: key.public_key,
            kid: key.kid,
            alg: ALGORITHM,
            use_: "sig",
        })
        .collect();
    Ok(Jwks { keys })
}
