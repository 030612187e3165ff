//! Referrals in both directions, with the HL7 SDOH referral Task lifecycle, and their
//! append-only timeline. Invariants: a referral always has a destination (receiver, pool or
//! project); closing statuses carry a reason, completion an outcome; events are numbered
//! uniquely per referral and go with it.

use crate::helpers::{NewTable, drop_tables};
use sea_orm_migration::{prelude::*, schema::*};

const REFERRAL_DIRECTION: &[&str] = &["outbound", "inbound"];
const SERVICE_CATEGORY: &[&str] = &[
    "health_visitor",
    "job_centre",
    "school",
    "day_care",
    "language_school",
    "family_counselling",
    "housing",
    "debt_counselling",
    "citizen_service",
    "health",
    "neighbourhood_mother",
    "other",
];
const REFERRAL_STATUS: &[&str] = &[
    "draft",
    "requested",
    "accepted",
    "rejected",
    "in_progress",
    "on_hold",
    "failed",
    "completed",
    "cancelled",
    "entered_in_error",
];
const REFERRAL_REASON: &[&str] = &[
    "could_not_contact",
    "not_eligible",
    "no_capacity",
    "no_longer_interested",
    "referred_elsewhere",
    "consent_withdrawn",
    "duplicate",
    "other",
];
const REFERRAL_OUTCOME: &[&str] = &[
    "service_provided",
    "partially_provided",
    "declined_by_participant",
    "other",
];
/// The statuses that close a referral without the service: they must say why.
const NEEDS_REASON: &[&str] = &["rejected", "failed", "cancelled"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("referral")
            .id()
            .one_of("direction", REFERRAL_DIRECTION)
            .uuid_fk(
                uuid("requester_organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .uuid_fk(
                uuid_null("receiver_organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .municipality_fk(integer_null("pool_municipality_code"))
            .uuid_fk(
                uuid_null("project_id"),
                "project",
                ForeignKeyAction::Restrict,
            )
            .check(
                "destination",
                Expr::col("receiver_organisation_id")
                    .is_not_null()
                    .or(Expr::col("pool_municipality_code").is_not_null())
                    .or(Expr::col("project_id").is_not_null()),
            )
            .uuid_fk(
                uuid("participant_id"),
                "participant",
                ForeignKeyAction::Restrict,
            )
            .uuid_fk(uuid_null("mother_id"), "mother", ForeignKeyAction::Restrict)
            .uuid_fk(uuid_null("visit_id"), "visit", ForeignKeyAction::Restrict)
            .one_of("service_category", SERVICE_CATEGORY)
            .one_of("status", REFERRAL_STATUS)
            .one_of_null("status_reason", REFERRAL_REASON)
            .check(
                "reason_required",
                Expr::col("status")
                    .is_not_in(NEEDS_REASON.iter().copied())
                    .or(Expr::col("status_reason").is_not_null()),
            )
            .one_of_null("outcome", REFERRAL_OUTCOME)
            .check(
                "outcome_required",
                Expr::col("status")
                    .ne("completed")
                    .or(Expr::col("outcome").is_not_null()),
            )
            .col(text_null("note"))
            .col(timestamp_with_time_zone_null("requested_at"))
            .col(timestamp_with_time_zone_null("accepted_at"))
            .col(timestamp_with_time_zone_null("closed_at"))
            .col(integer("version"))
            .check("version", Expr::col("version").gte(1))
            .timestamps()
            .index(&["receiver_organisation_id", "status", "updated_at"])
            .index(&["project_id", "status", "updated_at"])
            .index(&["requester_organisation_id", "updated_at"])
            .index(&["pool_municipality_code", "status"])
            .index(&["participant_id"])
            .index(&["updated_at", "id"])
            .create(manager)
            .await?;

        NewTable::new("referral_event")
            .id()
            .uuid_fk(uuid("referral_id"), "referral", ForeignKeyAction::Cascade)
            .col(integer("sequence"))
            .uuid_fk(
                uuid("actor_organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            // No FK: the timeline must survive the removal of the client that acted.
            .col(uuid_null("actor_client_id"))
            .one_of_null("from_status", REFERRAL_STATUS)
            .one_of("to_status", REFERRAL_STATUS)
            .one_of_null("reason", REFERRAL_REASON)
            .col(text_null("note"))
            .col(timestamp_with_time_zone("occurred_at"))
            .created_at()
            .unique_index(&["referral_id", "sequence"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["referral_event", "referral"]).await
    }
}
