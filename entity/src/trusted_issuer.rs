//! An external identity provider an organisation trusts (issue 15): Bydel accepts its tokens
//! for that organisation only, with the scopes its claim mapping grants, capped by the
//! organisation's [`super::scope_ceiling`]. Exactly one of `jwks_url` and `jwks` is set (a
//! CHECK). Revoked, never deleted: audit events name its client.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "trusted_issuer")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// The API client that audit events and rate limits name for this issuer's tokens.
    pub client_id: Uuid,
    /// The exact `iss` its tokens carry.
    #[sea_orm(column_type = "String(StringLen::N(512))")]
    pub issuer: String,
    #[sea_orm(column_type = "String(StringLen::N(2048))", nullable)]
    pub jwks_url: Option<String>,
    /// An inline JWKS (JSON), for a provider that publishes none.
    #[sea_orm(column_type = "Text", nullable)]
    pub jwks: Option<String>,
    #[sea_orm(column_type = "String(StringLen::N(512))")]
    pub audience: String,
    /// Space-separated JWS algorithms: `RS256`, `ES256`, `EdDSA`.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub algorithms: String,
    /// The claim holding the scopes (dots reach into objects: `realm_access.roles`).
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub scope_claim: String,
    /// JSON array of `{"claim": ..., "value": ...}`; every one must equal.
    #[sea_orm(column_type = "Text")]
    pub conditions: String,
    pub revoked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
