//! Neighbourhood mothers, their languages, training courses, enrolments, module attendance
//! and volunteer hours. Invariants: end dates never precede start dates, a completed
//! enrolment has a certification date, and durations stay within one day.

use crate::helpers::{NewTable, drop_tables, not_before};
use sea_orm_migration::{prelude::*, schema::*};

const MOTHER_STATUS: &[&str] = &["in_training", "certified", "active", "inactive", "left"];
const COURSE_KIND: &[&str] = &["basic", "supplementary"];
const ENROLMENT_STATUS: &[&str] = &["enrolled", "completed", "withdrawn"];
const HOURS_KIND: &[&str] = &["activity", "training", "meeting"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("mother")
            .id()
            .uuid_fk(uuid("project_id"), "project", ForeignKeyAction::Restrict)
            .col(string("first_name"))
            .col(string("last_name"))
            .col(string_null("phone"))
            .col(string_null("email"))
            .one_of("status", MOTHER_STATUS)
            .col(date("joined_on"))
            .col(date_null("left_on"))
            .check("left_on", not_before("left_on", "joined_on"))
            .timestamps()
            .index(&["project_id", "status"])
            .index(&["updated_at", "id"])
            .create(manager)
            .await?;

        NewTable::new("mother_language")
            .uuid_fk(uuid("mother_id"), "mother", ForeignKeyAction::Cascade)
            .col(string_len("language", 8))
            .primary_key(&["mother_id", "language"])
            .index(&["language"])
            .create(manager)
            .await?;

        NewTable::new("course")
            .id()
            .uuid_fk(uuid("project_id"), "project", ForeignKeyAction::Restrict)
            .col(string("name"))
            .one_of("kind", COURSE_KIND)
            .col(integer("module_count"))
            .check("module_count", Expr::col("module_count").between(1, 50))
            .col(date("starts_on"))
            .col(date_null("ends_on"))
            .check("ends_on", not_before("ends_on", "starts_on"))
            .timestamps()
            .index(&["project_id", "starts_on"])
            .index(&["updated_at", "id"])
            .create(manager)
            .await?;

        NewTable::new("enrolment")
            .id()
            .uuid_fk(uuid("course_id"), "course", ForeignKeyAction::Restrict)
            .uuid_fk(uuid("mother_id"), "mother", ForeignKeyAction::Restrict)
            .one_of("status", ENROLMENT_STATUS)
            .col(date_null("contract_signed_on"))
            .col(date_null("certified_on"))
            .check(
                "certified_on",
                Expr::col("status")
                    .ne("completed")
                    .or(Expr::col("certified_on").is_not_null()),
            )
            .timestamps()
            .unique_index(&["course_id", "mother_id"])
            .index(&["mother_id"])
            .index(&["certified_on"])
            .create(manager)
            .await?;

        NewTable::new("module_attendance")
            .uuid_fk(uuid("enrolment_id"), "enrolment", ForeignKeyAction::Cascade)
            .col(integer("module_number"))
            .check("module_number", Expr::col("module_number").gte(1))
            .col(date("attended_on"))
            .created_at()
            .primary_key(&["enrolment_id", "module_number"])
            .create(manager)
            .await?;

        NewTable::new("volunteer_hours")
            .id()
            .uuid_fk(uuid("project_id"), "project", ForeignKeyAction::Restrict)
            .uuid_fk(uuid_null("mother_id"), "mother", ForeignKeyAction::Restrict)
            .one_of("kind", HOURS_KIND)
            .col(date("worked_on"))
            .col(integer("minutes"))
            .check(
                "minutes",
                Expr::col("minutes")
                    .gt(0)
                    .and(Expr::col("minutes").lte(1440)),
            )
            .timestamps()
            .index(&["project_id", "worked_on"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            &[
                "volunteer_hours",
                "module_attendance",
                "enrolment",
                "course",
                "mother_language",
                "mother",
            ],
        )
        .await
    }
}
