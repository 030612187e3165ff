//! Token signing keys: the public half of every Ed25519 key that has signed Bydel tokens, by
//! key id (`kid`), and the key id each token was signed with.
//!
//! Invariants: private keys are never stored here (they live in the operator's key file or
//! environment); `public_key` is the base64url `x` of the public key and `kid` its RFC 7638
//! thumbprint; `algorithm` is `EdDSA`; a key is retired by setting `retired_at`, never deleted,
//! because tokens name it. `api_token.kid` has no foreign key so it stays a plain `ADD COLUMN`,
//! which SQLite can do on an existing table; the application always writes a registered kid.

use crate::helpers::{NewTable, drop_tables};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("signing_key")
            .col(string_len("kid", 64).primary_key().take())
            .col(string_len("algorithm", 16))
            .check("algorithm", Expr::col("algorithm").eq("EdDSA"))
            .col(text("public_key"))
            .created_at()
            .col(timestamp_with_time_zone_null("retired_at"))
            .create(manager)
            .await?;

        manager
            .alter_table(
                Table::alter()
                    .table("api_token")
                    .add_column(string_len_null("kid", 64))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("api_token").drop_column("kid").take())
            .await?;
        drop_tables(manager, &["signing_key"]).await
    }
}
