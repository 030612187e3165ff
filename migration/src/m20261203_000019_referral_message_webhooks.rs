//! Webhooks learn of messages on a referral: `webhook_delivery.event_type` admits
//! `referral.message` besides migration 11's three types.
//!
//! PostgreSQL replaces the CHECK. SQLite cannot change a CHECK in place, so the two queue
//! tables are rebuilt with the same definitions (names, keys, indexes) as migration 11 and the
//! rows copied: the old tables are renamed aside first (SQLite then points the attempts' key
//! at the renamed deliveries), their indexes dropped, the new tables created and filled, and
//! the old ones dropped, attempts first, so no cascading delete ever fires. All of it in the
//! migration's transaction.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::{DbBackend, Statement},
};

use crate::helpers::NewTable;

const DELIVERY_STATUS: &[&str] = &["pending", "delivered", "failed"];
const BEFORE: &[&str] = &[
    "referral.created",
    "referral.transitioned",
    "referral.claimed",
];
const AFTER: &[&str] = &[
    "referral.created",
    "referral.transitioned",
    "referral.claimed",
    "referral.message",
];

/// Migration 11's `webhook_delivery`, with `event_types`.
fn deliveries(event_types: &[&'static str]) -> NewTable {
    NewTable::new("webhook_delivery")
        .id()
        .uuid_fk(uuid("webhook_id"), "webhook", ForeignKeyAction::Cascade)
        .uuid_fk(
            uuid("referral_event_id"),
            "referral_event",
            ForeignKeyAction::Cascade,
        )
        .one_of("event_type", event_types)
        .col(text("payload"))
        .one_of("status", DELIVERY_STATUS)
        .col(integer("attempts"))
        .check("attempts", Expr::col("attempts").gte(0))
        .col(timestamp_with_time_zone("next_attempt_at"))
        .col(timestamp_with_time_zone_null("lease_until"))
        .col(uuid_null("lease_owner"))
        .col(integer_null("last_status_code"))
        .col(string_len_null("last_error", 200))
        .col(timestamp_with_time_zone_null("delivered_at"))
        .timestamps()
        .unique_index(&["webhook_id", "referral_event_id"])
        .index(&["status", "next_attempt_at"])
        .index(&["webhook_id", "created_at"])
        .index(&["referral_event_id"])
}

/// Migration 11's `webhook_attempt`.
fn attempts() -> NewTable {
    NewTable::new("webhook_attempt")
        .id()
        .uuid_fk(
            uuid("delivery_id"),
            "webhook_delivery",
            ForeignKeyAction::Cascade,
        )
        .col(integer("number"))
        .check("number", Expr::col("number").gte(1))
        .col(timestamp_with_time_zone("started_at"))
        .col(integer("duration_ms"))
        .col(integer_null("status_code"))
        .col(string_len_null("error", 200))
        .unique_index(&["delivery_id", "number"])
}

async fn run(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}

async fn allow(manager: &SchemaManager<'_>, event_types: &[&'static str]) -> Result<(), DbErr> {
    let listed = event_types
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    if manager.get_database_backend() != DbBackend::Sqlite {
        return run(
            manager,
            &format!(
                "ALTER TABLE webhook_delivery DROP CONSTRAINT ck_webhook_delivery_event_type, \
                 ADD CONSTRAINT ck_webhook_delivery_event_type CHECK (event_type IN ({listed}))"
            ),
        )
        .await;
    }
    run(
        manager,
        "ALTER TABLE webhook_attempt RENAME TO webhook_attempt_old",
    )
    .await?;
    run(
        manager,
        "ALTER TABLE webhook_delivery RENAME TO webhook_delivery_old",
    )
    .await?;
    let db = manager.get_connection();
    let indexes = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name IN ('webhook_attempt_old', 'webhook_delivery_old')",
        ))
        .await?;
    for row in indexes {
        let name: String = row.try_get_by_index(0)?;
        run(manager, &format!("DROP INDEX \"{name}\"")).await?;
    }
    deliveries(event_types).create(manager).await?;
    attempts().create(manager).await?;
    run(
        manager,
        "INSERT INTO webhook_delivery SELECT * FROM webhook_delivery_old",
    )
    .await?;
    run(
        manager,
        "INSERT INTO webhook_attempt SELECT * FROM webhook_attempt_old",
    )
    .await?;
    run(manager, "DROP TABLE webhook_attempt_old").await?;
    run(manager, "DROP TABLE webhook_delivery_old").await
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on every backend (SQLite's default is none): the rebuild's statements
    /// must run on one connection and land together.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        allow(manager, AFTER).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            "DELETE FROM webhook_delivery WHERE event_type = 'referral.message'",
        )
        .await?;
        allow(manager, BEFORE).await
    }
}
