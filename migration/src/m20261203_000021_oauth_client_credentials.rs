//! OAuth 2.0 client credentials (issue 15): what an API client proves itself with at
//! `POST /oauth/token`, and the client assertions already used.
//!
//! - `client_credential`: a secret (an Argon2id PHC string; the secret itself is shown once
//!   and never stored) or a registered public key (a JWK without private parts, RFC 7523
//!   `private_key_jwt`), exactly one of the two by its kind (CHECK). Revoked, never changed;
//!   deleted with its client.
//! - `client_assertion_jti`: the `jti` of every accepted client assertion until it expires, so
//!   a replay is refused on every replica and after a restart (the primary key is the
//!   uniqueness the check relies on).

use crate::helpers::{NewTable, drop_tables};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("client_credential")
            .id()
            .uuid_fk(uuid("client_id"), "api_client", ForeignKeyAction::Cascade)
            .one_of("kind", &["secret", "public_key"])
            .col(text_null("secret_hash"))
            .col(text_null("public_jwk"))
            .col(string_len_null("kid", 128))
            .check(
                "one_proof",
                Expr::col("kind")
                    .eq("secret")
                    .and(Expr::col("secret_hash").is_not_null())
                    .and(Expr::col("public_jwk").is_null())
                    .or(Expr::col("kind")
                        .eq("public_key")
                        .and(Expr::col("public_jwk").is_not_null())
                        .and(Expr::col("kid").is_not_null())
                        .and(Expr::col("secret_hash").is_null())),
            )
            .created_at()
            .col(timestamp_with_time_zone_null("revoked_at"))
            .index(&["client_id"])
            .unique_index(&["client_id", "kid"])
            .create(manager)
            .await?;

        NewTable::new("client_assertion_jti")
            .uuid_fk(uuid("client_id"), "api_client", ForeignKeyAction::Cascade)
            .col(string_len("jti", 256))
            .col(timestamp_with_time_zone("expires_at"))
            .primary_key(&["client_id", "jti"])
            .index(&["expires_at"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["client_assertion_jti", "client_credential"]).await
    }
}
