//! Visits (a mother's activities, anonymous unless a participant is named) and the topics
//! discussed on them. Invariants: a visit lasts 1 to 1440 minutes and counts at least one
//! attendee when it counts any; topics go with their visit.

use crate::helpers::{NewTable, drop_tables};
use sea_orm_migration::{prelude::*, schema::*};

const VISIT_CHANNEL: &[&str] = &["home_visit", "phone_call", "group_event", "accompaniment"];
const CONTACT_ORIGIN: &[&str] = &[
    "mother_network",
    "outreach",
    "event",
    "self_referred",
    "municipality_referral",
    "other_organisation",
];
const NEXT_STEP: &[&str] = &[
    "none",
    "follow_up_visit",
    "referral",
    "accompaniment",
    "group_activity",
    "other",
];
const VISIT_TOPIC: &[&str] = &[
    "children",
    "health",
    "municipality_contact",
    "school",
    "economy",
    "loneliness",
    "education_work",
    "language",
    "housing",
    "other",
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("visit")
            .id()
            .uuid_fk(uuid("project_id"), "project", ForeignKeyAction::Restrict)
            .uuid_fk(uuid("mother_id"), "mother", ForeignKeyAction::Restrict)
            .uuid_fk(
                uuid_null("participant_id"),
                "participant",
                ForeignKeyAction::Restrict,
            )
            .one_of("channel", VISIT_CHANNEL)
            .col(date("visited_on"))
            .col(integer("duration_minutes"))
            .check(
                "duration_minutes",
                Expr::col("duration_minutes")
                    .gt(0)
                    .and(Expr::col("duration_minutes").lte(1440)),
            )
            .one_of("contact_origin", CONTACT_ORIGIN)
            .one_of("next_step", NEXT_STEP)
            .col(integer_null("attendee_count"))
            .check(
                "attendee_count",
                Expr::col("attendee_count")
                    .is_null()
                    .or(Expr::col("attendee_count").gte(1)),
            )
            .col(text_null("notes"))
            .timestamps()
            .index(&["project_id", "visited_on"])
            .index(&["mother_id", "visited_on"])
            .index(&["participant_id"])
            .index(&["updated_at", "id"])
            .create(manager)
            .await?;

        NewTable::new("visit_topic")
            .uuid_fk(uuid("visit_id"), "visit", ForeignKeyAction::Cascade)
            .one_of("topic", VISIT_TOPIC)
            .primary_key(&["visit_id", "topic"])
            .index(&["topic", "visit_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["visit_topic", "visit"]).await
    }
}
