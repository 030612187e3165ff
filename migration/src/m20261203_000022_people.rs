//! People, not only organisations (issue 15): a token may be bound to a mother of its
//! organisation's project (the mothers' app) or to a named staff member of its organisation
//! (a caseworker), and the audit trail names that person beside the API client.
//!
//! - `staff_member`: a person working for an organisation, named as the organisation's own
//!   systems know them (`external_ref`, e.g. the directory's user name; unique within the
//!   organisation). Deactivated, never deleted: audit events name them.
//! - `api_token.mother_id` / `api_token.staff_member_id`: the person a token acts for, at most
//!   one of the two (the application checks it, as it checks that they exist: SQLite cannot
//!   add a CHECK or a foreign key to an existing table).
//! - `audit_event.mother_id` / `audit_event.staff_member_id`: the person who acted. No foreign
//!   keys, like the rest of the trail: it outlives what it names.
//! - `participant.registered_by_mother_id`: the mother who registered her, so the woman a
//!   mother meets is among "the participants she supports" before her first visit is recorded.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{NewTable, drop_tables};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns this migration adds to existing tables, one statement each (SQLite alters one
/// column at a time).
const ADDED: [(&str, &str); 5] = [
    ("api_token", "mother_id"),
    ("api_token", "staff_member_id"),
    ("audit_event", "mother_id"),
    ("audit_event", "staff_member_id"),
    ("participant", "registered_by_mother_id"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("staff_member")
            .id()
            .uuid_fk(
                uuid("organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .col(string_len("name", 128))
            .col(string_len("external_ref", 128))
            .col(timestamp_with_time_zone_null("deactivated_at"))
            .timestamps()
            .unique_index(&["organisation_id", "external_ref"])
            .create(manager)
            .await?;
        for (table, column) in ADDED {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(uuid_null(column))
                        .take(),
                )
                .await?;
        }
        // Who did what, per person: the trail's question "who read her data".
        for column in ["mother_id", "staff_member_id"] {
            manager
                .create_index(
                    Index::create()
                        .name(format!("idx_audit_event_{column}"))
                        .table("audit_event")
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["mother_id", "staff_member_id"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(format!("idx_audit_event_{column}"))
                        .table("audit_event")
                        .to_owned(),
                )
                .await?;
        }
        for (table, column) in ADDED.iter().rev() {
            manager
                .alter_table(Table::alter().table(*table).drop_column(*column).take())
                .await?;
        }
        drop_tables(manager, &["staff_member"]).await
    }
}
