//! Municipalities (reference data keyed by official code) and the organisations that use
//! Bydel. Invariant: an organisation has a municipality code exactly when it is a
//! municipality, and at most one organisation holds each code.

use crate::helpers::{NewTable, drop_tables};
use sea_orm_migration::{prelude::*, schema::*};

const ORGANISATION_KIND: &[&str] = &["secretariat", "municipality", "ngo"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("municipality")
            .col(integer("code").primary_key().take())
            .col(string("name"))
            .col(string("region"))
            .check("code", Expr::col("code").between(100, 999))
            .create(manager)
            .await?;

        NewTable::new("organisation")
            .id()
            .col(string_len_uniq("short_name", 64))
            .col(string("name"))
            .one_of("kind", ORGANISATION_KIND)
            .municipality_fk(integer_null("municipality_code").unique_key().take())
            .check(
                "municipality_code",
                Expr::col("kind")
                    .eq("municipality")
                    .and(Expr::col("municipality_code").is_not_null())
                    .or(Expr::col("kind")
                        .ne("municipality")
                        .and(Expr::col("municipality_code").is_null())),
            )
            .timestamps()
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["organisation", "municipality"]).await
    }
}
