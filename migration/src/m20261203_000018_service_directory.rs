//! The service directory the referrals point to, shaped after Open Referral HSDS 3.0:
//! `service` (an organisation's service, with its HSDS `status`), its `service_language`s
//! (ISO 639) and `service_area`s (municipality codes), its `service_location`s (HSDS
//! `location` + `address` + `service_at_location` in one row: a location here serves one
//! service) with their `opening_hours` (HSDS `schedule`: weekday, opens, closes), and its
//! `service_contact`s (HSDS `contact` + `phone`: a role or department, never a person).
//! `referral.service_id` names the service a referral asks for.
//!
//! Invariants: rows under a service go with it (CASCADE); a service that a referral names
//! cannot be deleted (RESTRICT: the referral's history must keep saying what was asked for;
//! a service that ends is marked `defunct`); opening hours close after they open (`HH:MM`,
//! compared as text); weekdays are ISO 8601 numbers, 1 Monday to 7 Sunday.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{NewTable, drop_tables};

/// Repeated from migration 6 (migrations never import each other's vocabularies).
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
/// HSDS 3.0 `service.status`.
const SERVICE_STATUS: &[&str] = &["active", "inactive", "defunct", "temporarily_closed"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("service")
            .id()
            .uuid_fk(
                uuid("organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .col(string_len("name", 200))
            .one_of("category", SERVICE_CATEGORY)
            .one_of("status", SERVICE_STATUS)
            .col(text_null("description"))
            .timestamps()
            .index(&["organisation_id", "name"])
            .index(&["category"])
            .index(&["updated_at", "id"])
            .index(&["name", "id"])
            .create(manager)
            .await?;

        NewTable::new("service_language")
            .uuid_fk(uuid("service_id"), "service", ForeignKeyAction::Cascade)
            .col(string_len("language", 8))
            .primary_key(&["service_id", "language"])
            .index(&["language"])
            .create(manager)
            .await?;

        NewTable::new("service_area")
            .uuid_fk(uuid("service_id"), "service", ForeignKeyAction::Cascade)
            .municipality_fk(integer("municipality_code"))
            .primary_key(&["service_id", "municipality_code"])
            .index(&["municipality_code"])
            .create(manager)
            .await?;

        NewTable::new("service_location")
            .id()
            .uuid_fk(uuid("service_id"), "service", ForeignKeyAction::Cascade)
            .col(string_len_null("name", 200))
            .col(string_len("street", 200))
            .col(string_len("postcode", 4))
            .col(string_len("city", 100))
            .municipality_fk(integer("municipality_code"))
            .col(text_null("opening_hours_notes"))
            .timestamps()
            .index(&["service_id"])
            .create(manager)
            .await?;

        NewTable::new("opening_hours")
            .id()
            .uuid_fk(
                uuid("location_id"),
                "service_location",
                ForeignKeyAction::Cascade,
            )
            .col(integer("weekday"))
            .check("weekday", Expr::col("weekday").between(1, 7))
            .col(string_len("opens", 5))
            .col(string_len("closes", 5))
            .check(
                "closes_after_opens",
                Expr::col("closes").gt(Expr::col("opens")),
            )
            .index(&["location_id", "weekday", "opens"])
            .create(manager)
            .await?;

        NewTable::new("service_contact")
            .id()
            .uuid_fk(uuid("service_id"), "service", ForeignKeyAction::Cascade)
            .col(string_len("name", 200))
            .col(string_len_null("phone", 32))
            .col(string_len_null("email", 254))
            .col(string_len_null("website", 500))
            .timestamps()
            .index(&["service_id"])
            .create(manager)
            .await?;

        // SQLite adds a column with a REFERENCES clause (not a table constraint), so the
        // foreign key is written inline; PostgreSQL reads the same column definition.
        manager
            .alter_table(
                Table::alter()
                    .table("referral")
                    .add_column(
                        uuid_null("service_id")
                            .extra(
                                "CONSTRAINT fk_referral_service_id REFERENCES service (id) \
                                 ON DELETE RESTRICT",
                            )
                            .take(),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_referral_service_id")
                    .table("referral")
                    .col("service_id")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_referral_service_id")
                    .table("referral")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("referral")
                    .drop_column("service_id")
                    .take(),
            )
            .await?;
        drop_tables(
            manager,
            &[
                "service_contact",
                "opening_hours",
                "service_location",
                "service_area",
                "service_language",
                "service",
            ],
        )
        .await
    }
}
