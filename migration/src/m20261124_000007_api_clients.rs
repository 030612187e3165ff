//! API clients (who may call, for which organisation, with which scopes) and the tokens
//! issued to them, by `jti`; token text is never stored. Invariants: client names are unique
//! per organisation and a token expires after it is issued.

use crate::helpers::{NewTable, drop_tables};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("api_client")
            .id()
            .uuid_fk(
                uuid("organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .col(string_len("name", 128))
            .col(text("scopes"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .timestamps()
            .unique_index(&["organisation_id", "name"])
            .create(manager)
            .await?;

        NewTable::new("api_token")
            .id()
            .uuid_fk(uuid("client_id"), "api_client", ForeignKeyAction::Restrict)
            .col(text("scopes"))
            .col(timestamp_with_time_zone("issued_at"))
            .col(timestamp_with_time_zone("expires_at"))
            .check(
                "expires_at",
                Expr::col("expires_at").gt(Expr::col("issued_at")),
            )
            .col(timestamp_with_time_zone_null("revoked_at"))
            .created_at()
            .index(&["client_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["api_token", "api_client"]).await
    }
}
