//! API clients and their tokens: issue and revoke.
//!
//! A client belongs to one organisation and holds the maximum scopes its tokens may carry.
//! The token text is returned once at issue and never stored; its `jti` row is what
//! revocation and expiry are checked against on every request.

use chrono::{DateTime, Duration, Utc};
use entity::{api_client, api_token, organisation};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use crate::{
    auth::{Claims, ScopeSet, TokenKeys},
    error::{ApiError, ApiResult},
};

/// The longest lifetime a token may be issued for.
pub const MAX_TTL: Duration = Duration::days(366);

/// A freshly issued token: the only moment its text exists outside the caller.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: String,
    pub jti: Uuid,
    pub client_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// Parses the space-separated scopes a token is asked for; at least one is required.
pub fn parse_scopes(text: &str) -> ApiResult<ScopeSet> {
    let scopes = ScopeSet::parse(text)?;
    ensure_some(&scopes)?;
    Ok(scopes)
}

fn ensure_some(scopes: &ScopeSet) -> ApiResult<()> {
    if scopes.is_empty() {
        return Err(ApiError::validation(
            "scopes",
            "give at least one scope, e.g. \"referrals:read\"",
        ));
    }
    Ok(())
}

/// Parses a lifetime like `90s`, `30m`, `24h`, `7d`.
pub fn parse_ttl(text: &str) -> ApiResult<Duration> {
    let bad = || {
        ApiError::validation(
            "ttl",
            format!("{text:?} is not a lifetime; use a number with s, m, h or d, e.g. 24h"),
        )
    };
    let text = text.trim();
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| bad())?;
    let ttl = match unit {
        "s" => Duration::try_seconds(number),
        "m" => Duration::try_minutes(number),
        "h" => Duration::try_hours(number),
        "d" => Duration::try_days(number),
        _ => None,
    }
    .ok_or_else(bad)?;
    if ttl <= Duration::zero() || ttl > MAX_TTL {
        return Err(ApiError::validation(
            "ttl",
            "a token lives between 1 second and 366 days",
        ));
    }
    Ok(ttl)
}

/// Finds the organisation's client called `client_name`, creating it, or widening its scopes
/// to cover `scopes`. Used by the operator's command line, which acts with database trust.
async fn client_for(
    db: &impl ConnectionTrait,
    organisation: &organisation::Model,
    client_name: &str,
    scopes: &ScopeSet,
    now: DateTime<Utc>,
) -> ApiResult<api_client::Model> {
    let existing = api_client::Entity::find()
        .filter(api_client::Column::OrganisationId.eq(organisation.id))
        .filter(api_client::Column::Name.eq(client_name))
        .one(db)
        .await?;
    match existing {
        Some(client) if client.revoked_at.is_some() => Err(ApiError::Conflict(format!(
            "the client {client_name:?} is revoked; issue under another client name"
        ))),
        Some(client) => {
            let held = ScopeSet::parse(&client.scopes)?;
            if held.covers(scopes) {
                return Ok(client);
            }
            let mut active: api_client::ActiveModel = client.into();
            active.scopes = Set(held.union(scopes).to_string());
            active.updated_at = Set(now);
            Ok(active.update(db).await?)
        }
        None => Ok(api_client::ActiveModel {
            id: Set(Uuid::now_v7()),
            organisation_id: Set(organisation.id),
            name: Set(client_name.to_owned()),
            scopes: Set(scopes.to_string()),
            revoked_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?),
    }
}

/// Issues a token for `organisation` under the client `client_name`, in one transaction.
#[tracing::instrument(skip_all, fields(organisation = %organisation.id))]
pub async fn issue(
    db: &DatabaseConnection,
    keys: &TokenKeys,
    organisation: &organisation::Model,
    client_name: &str,
    scopes: &ScopeSet,
    ttl: Duration,
) -> ApiResult<IssuedToken> {
    ensure_some(scopes)?;
    let txn = db.begin().await?;
    let now = crate::db::now();
    let client = client_for(&txn, organisation, client_name, scopes, now).await?;
    let jti = Uuid::now_v7();
    let expires_at = now + ttl;
    api_token::ActiveModel {
        id: Set(jti),
        client_id: Set(client.id),
        scopes: Set(scopes.to_string()),
        issued_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let token = keys.sign(&Claims {
        iss: keys.issuer().to_owned(),
        aud: keys.audience().to_owned(),
        sub: client.id.to_string(),
        org: organisation.id.to_string(),
        scope: scopes.to_string(),
        jti: jti.to_string(),
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: expires_at.timestamp(),
    })?;
    txn.commit().await?;
    Ok(IssuedToken {
        token,
        jti,
        client_id: client.id,
        expires_at,
    })
}

/// Revokes one token by its `jti`. Revoking twice is harmless; an unknown id is `NOT_FOUND`.
#[tracing::instrument(skip_all, fields(jti = %jti))]
pub async fn revoke(db: &impl ConnectionTrait, jti: Uuid) -> ApiResult<()> {
    let token = api_token::Entity::find_by_id(jti)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("token {jti}")))?;
    if token.revoked_at.is_some() {
        return Ok(());
    }
    let mut active: api_token::ActiveModel = token.into();
    active.revoked_at = Set(Some(crate::db::now()));
    active.update(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lifetimes() {
        assert_eq!(parse_ttl("24h").unwrap(), Duration::hours(24));
        assert_eq!(parse_ttl("90s").unwrap(), Duration::seconds(90));
        assert_eq!(parse_ttl("7d").unwrap(), Duration::days(7));
        for bad in ["", "h", "24", "24x", "-1h", "0s", "400d", "1.5h"] {
            assert_eq!(
                parse_ttl(bad).unwrap_err().code(),
                "BAD_USER_INPUT",
                "{bad}"
            );
        }
    }
}
