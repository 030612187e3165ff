//! Idempotency keys: the first response to a mutation sent with an `Idempotency-Key`, so a
//! script's retry returns it instead of creating the record again.
//!
//! Invariants: one row per (client, key); `fingerprint` is the SHA-256 of the operation the key
//! was first used for, so the same key with other input is refused; `status` is `pending`
//! while the first request runs and `done` with its `response` afterwards.

use crate::helpers::{NewTable, drop_tables};
use sea_orm_migration::{prelude::*, schema::*};

const STATUS: &[&str] = &["pending", "done"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("idempotency_key")
            .col(uuid("client_id"))
            .col(string_len("key", 128))
            .primary_key(&["client_id", "key"])
            .col(string_len("fingerprint", 64))
            .one_of("status", STATUS)
            .col(text_null("response"))
            .timestamps()
            .index(&["created_at"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["idempotency_key"]).await
    }
}
