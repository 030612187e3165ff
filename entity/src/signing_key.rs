//! The public half of a token signing key, by key id (`kid`, the RFC 7638 thumbprint).
//! Private keys are never stored in the database; a key is retired (`retired_at`), never
//! deleted, because issued tokens name it. Only `EdDSA` (Ed25519) keys exist (CHECK).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_key")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(64))"
    )]
    pub kid: String,
    /// The JWS `alg` the key signs with; always `EdDSA`.
    #[sea_orm(column_type = "String(StringLen::N(16))")]
    pub algorithm: String,
    /// The base64url `x` of the Ed25519 public key, as it appears in the JWKS.
    #[sea_orm(column_type = "Text")]
    pub public_key: String,
    pub created_at: DateTimeUtc,
    /// Set when the key is retired: from then on no token signed with it is accepted.
    pub retired_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
