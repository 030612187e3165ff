//! Monthly tallies of visits (`visit_month`, `visit_topic_month`) so that dashboard figures
//! over whole months read the tallies instead of millions of visits, filled here from the
//! visits already stored; and an index for the caseworker inbox (requested referrals addressed
//! to one organisation, newest first).
//!
//! Invariant: after `up`, every tally equals the aggregate of the visits it counts; the
//! application keeps it so in each visit's own transaction. `month` is the first day of the
//! month; `women` counts a visit's attendees (1 when it has no count).

use crate::helpers::{NewTable, drop_tables};
use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

const VISIT_CHANNEL: &[&str] = &["home_visit", "phone_call", "group_event", "accompaniment"];
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
const INBOX_INDEX: &str = "idx_referral_receiver_organisation_id_status_created_at_id";

/// The first day of `visited_on`'s month, as each backend writes a DATE.
fn month_of_visit(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Sqlite => "date(v.visited_on, 'start of month')",
        _ => "CAST(date_trunc('month', v.visited_on) AS DATE)",
    }
}

fn fill_statements(backend: DbBackend) -> [String; 2] {
    let month = month_of_visit(backend);
    [
        format!(
            "INSERT INTO visit_month (project_id, month, channel, visits, women) \
             SELECT v.project_id, {month}, v.channel, COUNT(*), SUM(COALESCE(v.attendee_count, 1)) \
             FROM visit v GROUP BY v.project_id, {month}, v.channel"
        ),
        format!(
            "INSERT INTO visit_topic_month (project_id, month, channel, topic, visits, women) \
             SELECT v.project_id, {month}, v.channel, t.topic, COUNT(*), \
             SUM(COALESCE(v.attendee_count, 1)) \
             FROM visit v JOIN visit_topic t ON t.visit_id = v.id \
             GROUP BY v.project_id, {month}, v.channel, t.topic"
        ),
    ]
}

fn tally(name: &'static str) -> NewTable {
    NewTable::new(name)
        .uuid_fk(uuid("project_id"), "project", ForeignKeyAction::Restrict)
        .col(date("month"))
        .one_of("channel", VISIT_CHANNEL)
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        tally("visit_month")
            .col(integer("visits"))
            .col(integer("women"))
            .primary_key(&["project_id", "month", "channel"])
            .create(manager)
            .await?;
        tally("visit_topic_month")
            .one_of("topic", VISIT_TOPIC)
            .col(integer("visits"))
            .col(integer("women"))
            .primary_key(&["project_id", "month", "channel", "topic"])
            .create(manager)
            .await?;
        let db = manager.get_connection();
        for statement in fill_statements(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(INBOX_INDEX)
                    .table("referral")
                    .col("receiver_organisation_id")
                    .col("status")
                    .col("created_at")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INBOX_INDEX).table("referral").to_owned())
            .await?;
        drop_tables(manager, &["visit_topic_month", "visit_month"]).await
    }
}
