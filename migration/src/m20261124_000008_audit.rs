//! The audit log: who read or changed personal data, when, through which request.
//! Append-only and deliberately without foreign keys, so it outlives what it describes.

use crate::helpers::{NewTable, drop_tables};
use sea_orm_migration::{prelude::*, schema::*};

const AUDIT_ACTION: &[&str] = &["read", "create", "update", "delete", "transition", "revoke"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("audit_event")
            .id()
            .col(timestamp_with_time_zone("occurred_at"))
            .col(string_len_null("request_id", 64))
            .col(uuid_null("client_id"))
            .col(uuid_null("organisation_id"))
            .one_of("action", AUDIT_ACTION)
            .col(string_len("entity_type", 32))
            .col(uuid_null("entity_id"))
            .col(uuid_null("participant_id"))
            .col(text_null("detail"))
            .index(&["participant_id", "occurred_at"])
            .index(&["client_id", "occurred_at"])
            .index(&["entity_type", "entity_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["audit_event"]).await
    }
}
