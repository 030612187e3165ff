//! Her data's whole life: rectification with optimistic concurrency (`participant.version`),
//! erasure that keeps the pseudonymous row (`participant.erased_at`), consent with a period
//! (`consent.valid_until`), and the lease by which exactly one replica runs a periodic job
//! such as the retention sweep (`maintenance_lease`).
//!
//! Invariants: `version` starts at 1 and grows by one per change; `erased_at` once set is
//! never cleared; `valid_until`, when set, is after `given_at` (the application checks it:
//! SQLite cannot add a CHECK to an existing table); a lease row is claimed by
//! `UPDATE .. WHERE lease_until IS NULL OR lease_until <= now`, so at most one owner holds it.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{NewTable, drop_tables};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one column at a time.
        for column in [
            integer("version").default(1).take(),
            timestamp_with_time_zone_null("erased_at").take(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("participant")
                        .add_column(column)
                        .take(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("consent")
                    .add_column(timestamp_with_time_zone_null("valid_until"))
                    .take(),
            )
            .await?;
        NewTable::new("maintenance_lease")
            .col(string_len("job", 32).primary_key().take())
            .col(string_len_null("owner", 64))
            .col(timestamp_with_time_zone_null("lease_until"))
            .col(timestamp_with_time_zone_null("next_run_at"))
            .created_at()
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["maintenance_lease"]).await?;
        manager
            .alter_table(
                Table::alter()
                    .table("consent")
                    .drop_column("valid_until")
                    .take(),
            )
            .await?;
        for column in ["erased_at", "version"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("participant")
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
