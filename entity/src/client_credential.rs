//! What an API client authenticates with at the OAuth token endpoint: a secret, stored as an
//! Argon2id PHC string only, or a public JWK it signs client assertions with. Exactly one of
//! `secret_hash` and `public_jwk` is set, by `kind` (a CHECK); a key always has a `kid`,
//! unique within its client. Revoked, never changed.

use sea_orm::entity::prelude::*;

use crate::enums::CredentialKind;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "client_credential")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub client_id: Uuid,
    pub kind: CredentialKind,
    /// The secret's Argon2id hash (PHC string); never the secret.
    #[sea_orm(column_type = "Text", nullable)]
    pub secret_hash: Option<String>,
    /// The public key as a JWK (JSON), without private members.
    #[sea_orm(column_type = "Text", nullable)]
    pub public_jwk: Option<String>,
    /// The key's id: the JWK's own `kid`, else its RFC 7638 thumbprint.
    #[sea_orm(column_type = "String(StringLen::N(128))", nullable)]
    pub kid: Option<String>,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
