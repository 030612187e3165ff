//! Webhooks: an organisation's registered endpoints (`webhook`), one queued push of a referral
//! event to one endpoint (`webhook_delivery`) and each try at sending it (`webhook_attempt`).
//!
//! Invariants: a delivery is unique per (webhook, event), so an event is queued once per
//! endpoint; `lease_until`/`lease_owner` mark the one dispatcher sending it right now, so two
//! replicas never send the same attempt; attempts are numbered from 1 per delivery. Deleting a
//! webhook removes its queue and history; a referral event's deliveries go with it.

use crate::helpers::{NewTable, drop_tables};
use sea_orm_migration::{prelude::*, schema::*};

const DELIVERY_STATUS: &[&str] = &["pending", "delivered", "failed"];
const EVENT_TYPE: &[&str] = &[
    "referral.created",
    "referral.transitioned",
    "referral.claimed",
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("webhook")
            .id()
            .uuid_fk(
                uuid("organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .col(text("url"))
            .col(text("secret"))
            .col(string_len_null("description", 256))
            .col(boolean("active"))
            .timestamps()
            .index(&["organisation_id"])
            .create(manager)
            .await?;

        NewTable::new("webhook_delivery")
            .id()
            .uuid_fk(uuid("webhook_id"), "webhook", ForeignKeyAction::Cascade)
            .uuid_fk(
                uuid("referral_event_id"),
                "referral_event",
                ForeignKeyAction::Cascade,
            )
            .one_of("event_type", EVENT_TYPE)
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
            .create(manager)
            .await?;

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
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["webhook_attempt", "webhook_delivery", "webhook"]).await
    }
}
