//! Trusted external issuers (issue 15): an organisation's own identity provider whose tokens
//! Bydel accepts for that organisation, and the per-organisation scope ceiling that caps what
//! such tokens are granted.
//!
//! Invariants: an issuer registration names exactly one key source (a JWKS URL or an inline
//! JWKS, CHECK), belongs to one organisation and to the API client that audit events and
//! rate limits name for its tokens; registrations are revoked, never deleted, so the audit
//! trail keeps naming them. The ceiling sits in its own table so organisation rows stay as
//! they are; no row means nothing is granted.

use crate::helpers::{NewTable, drop_tables};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("trusted_issuer")
            .id()
            .uuid_fk(
                uuid("organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .uuid_fk(uuid("client_id"), "api_client", ForeignKeyAction::Restrict)
            .col(string_len("issuer", 512))
            .col(string_len_null("jwks_url", 2048))
            .col(text_null("jwks"))
            .check(
                "one_key_source",
                Expr::col("jwks_url")
                    .is_null()
                    .and(Expr::col("jwks").is_not_null())
                    .or(Expr::col("jwks_url")
                        .is_not_null()
                        .and(Expr::col("jwks").is_null())),
            )
            .col(string_len("audience", 512))
            .col(string_len("algorithms", 64))
            .col(string_len("scope_claim", 128))
            .col(text("conditions"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .timestamps()
            .index(&["issuer"])
            .index(&["organisation_id"])
            .create(manager)
            .await?;

        NewTable::new("scope_ceiling")
            .uuid_fk(
                pk_uuid("organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .col(text("scopes"))
            .timestamps()
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["scope_ceiling", "trusted_issuer"]).await
    }
}
