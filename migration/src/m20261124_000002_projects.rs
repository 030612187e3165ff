//! Local projects, each in one municipality and run by one operator organisation, and the
//! partner/funder organisations attached to them. Invariant: a project does not end before
//! it starts; partner rows go with their project.

use crate::helpers::{NewTable, drop_tables, not_before};
use sea_orm_migration::{prelude::*, schema::*};

const PROJECT_STATUS: &[&str] = &["planned", "active", "paused", "closed"];
const PARTNER_ROLE: &[&str] = &["partner", "funder"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("project")
            .id()
            .col(string("name"))
            .municipality_fk(integer("municipality_code"))
            .uuid_fk(
                uuid("operator_organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .one_of("status", PROJECT_STATUS)
            .col(date("started_on"))
            .col(date_null("ended_on"))
            .check("ended_on", not_before("ended_on", "started_on"))
            .timestamps()
            .index(&["municipality_code", "status"])
            .index(&["operator_organisation_id"])
            .index(&["updated_at", "id"])
            .create(manager)
            .await?;

        NewTable::new("project_partner")
            .uuid_fk(uuid("project_id"), "project", ForeignKeyAction::Cascade)
            .uuid_fk(
                uuid("organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .one_of("role", PARTNER_ROLE)
            .created_at()
            .primary_key(&["project_id", "organisation_id"])
            .index(&["organisation_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["project_partner", "project"]).await
    }
}
