//! The caller of one request, built from a verified token and the database.
//!
//! A token is only as good as its database rows: the token (`jti`) must exist and not be
//! revoked or expired, its client must not be revoked, its organisation must exist. That makes
//! revocation effective on every replica at once, because no replica trusts memory for it.

use chrono::Utc;
use entity::{api_client, api_token, enums::OrganisationKind, organisation};
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use super::{Scope, ScopeSet, TokenKeys};
use crate::error::{ApiError, ApiResult};

/// The organisation a principal acts for, with what row scoping needs to know about it.
#[derive(Debug, Clone)]
pub struct OrganisationRef {
    pub id: Uuid,
    pub kind: OrganisationKind,
    pub municipality_code: Option<i32>,
}

/// An authenticated caller. Only [`authenticate`] (and tests of the access rules) build one.
#[derive(Debug, Clone)]
pub struct Principal {
    pub client_id: Uuid,
    pub token_id: Uuid,
    pub organisation: OrganisationRef,
    scopes: ScopeSet,
}

impl Principal {
    pub fn new(
        client_id: Uuid,
        token_id: Uuid,
        organisation: OrganisationRef,
        scopes: ScopeSet,
    ) -> Self {
        Self {
            client_id,
            token_id,
            organisation,
            scopes,
        }
    }

    pub fn scopes(&self) -> &ScopeSet {
        &self.scopes
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.grants(scope)
    }

    /// `FORBIDDEN` naming the missing scope, so a partner knows what to ask the secretariat for.
    pub fn require(&self, scope: Scope) -> ApiResult<()> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this token lacks the scope {scope}"
            )))
        }
    }

    pub fn is_secretariat(&self) -> bool {
        self.organisation.kind == OrganisationKind::Secretariat
    }
}

fn parse_uuid(text: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| ApiError::Unauthenticated("invalid token: malformed".into()))
}

/// Verifies a bearer token and resolves it against the database.
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    bearer: &str,
) -> ApiResult<Principal> {
    let claims = keys.verify(bearer)?;
    let token_id = parse_uuid(&claims.jti)?;
    let client_id = parse_uuid(&claims.sub)?;
    let organisation_id = parse_uuid(&claims.org)?;
    let refused = |why: &str| ApiError::Unauthenticated(format!("token refused: {why}"));

    let token = api_token::Entity::find_by_id(token_id)
        .one(db)
        .await?
        .filter(|t| t.client_id == client_id)
        .ok_or_else(|| refused("unknown token"))?;
    if token.revoked_at.is_some() {
        return Err(refused("revoked"));
    }
    if token.expires_at <= Utc::now() {
        return Err(refused("expired"));
    }
    let client = api_client::Entity::find_by_id(client_id)
        .one(db)
        .await?
        .filter(|c| c.organisation_id == organisation_id)
        .ok_or_else(|| refused("unknown client"))?;
    if client.revoked_at.is_some() {
        return Err(refused("client revoked"));
    }
    let organisation = organisation::Entity::find_by_id(organisation_id)
        .one(db)
        .await?
        .ok_or_else(|| refused("unknown organisation"))?;
    let scopes = ScopeSet::parse(&token.scopes)
        .map_err(|_| ApiError::internal("stored token scopes do not parse"))?;
    Ok(Principal::new(
        client.id,
        token.id,
        OrganisationRef {
            id: organisation.id,
            kind: organisation.kind,
            municipality_code: organisation.municipality_code,
        },
        scopes,
    ))
}
