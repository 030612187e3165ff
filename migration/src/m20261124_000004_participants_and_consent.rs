//! Participants (pseudonymous: never a CPR number), their languages and their consents.
//! Invariants: the pseudonym is unique; sharing consent names its receiver; a consent is
//! withdrawn no earlier than it was given.

use crate::helpers::{NewTable, drop_tables, not_before};
use sea_orm_migration::{prelude::*, schema::*};

const CONTACT_METHOD: &[&str] = &["phone", "sms", "email", "in_person", "via_mother"];
const CONSENT_PURPOSE: &[&str] = &["share_with_receiver", "contact", "statistics"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("participant")
            .id()
            .col(string_len_uniq("pseudonym", 32))
            .uuid_fk(
                uuid_null("project_id"),
                "project",
                ForeignKeyAction::Restrict,
            )
            .uuid_fk(
                uuid("registered_by_organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .col(string_null("first_name"))
            .col(integer_null("birth_year"))
            .check(
                "birth_year",
                Expr::col("birth_year")
                    .is_null()
                    .or(Expr::col("birth_year").between(1900, 2100)),
            )
            .one_of_null("preferred_contact", CONTACT_METHOD)
            .col(string_len_null("preferred_language", 8))
            .col(string_null("phone"))
            .col(string_null("email"))
            .col(string_null("district"))
            .col(string_null("municipality_case_ref"))
            .col(text_null("notes"))
            .timestamps()
            .index(&["project_id"])
            .index(&["registered_by_organisation_id"])
            .index(&["updated_at", "id"])
            .create(manager)
            .await?;

        NewTable::new("participant_language")
            .uuid_fk(
                uuid("participant_id"),
                "participant",
                ForeignKeyAction::Cascade,
            )
            .col(string_len("language", 8))
            .primary_key(&["participant_id", "language"])
            .create(manager)
            .await?;

        NewTable::new("consent")
            .id()
            .uuid_fk(
                uuid("participant_id"),
                "participant",
                ForeignKeyAction::Restrict,
            )
            .one_of("purpose", CONSENT_PURPOSE)
            .uuid_fk(
                uuid_null("receiver_organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .check(
                "receiver_organisation_id",
                Expr::col("purpose")
                    .ne("share_with_receiver")
                    .or(Expr::col("receiver_organisation_id").is_not_null()),
            )
            .col(timestamp_with_time_zone("given_at"))
            // No FK: the record of who took the consent must survive the API client.
            .col(uuid_null("recorded_by_client_id"))
            .uuid_fk(
                uuid_null("recorded_by_mother_id"),
                "mother",
                ForeignKeyAction::Restrict,
            )
            .col(timestamp_with_time_zone_null("withdrawn_at"))
            .check("withdrawn_at", not_before("withdrawn_at", "given_at"))
            .timestamps()
            .index(&["participant_id", "purpose"])
            .index(&["receiver_organisation_id"])
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["consent", "participant_language", "participant"]).await
    }
}
