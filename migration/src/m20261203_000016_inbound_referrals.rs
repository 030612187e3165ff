//! The municipality's side of the loop: a referral's `priority` (HL7 FHIR request priority:
//! routine, urgent, asap, stat), and the `kind` of each timeline event, so that a handover
//! (claim, release, forward) or a message between the parties is told apart from a status
//! change even when the status stays the same.
//!
//! Invariants: every existing referral is `routine`; existing events are `transition`, except
//! the claims written so far (requested -> requested), which become `claim`. Both columns are
//! closed vocabularies checked by CHECK on new rows (SQLite cannot re-check old ones; the fill
//! below writes only listed values).

use sea_orm_migration::{prelude::*, schema::*};

pub const REFERRAL_PRIORITY: &[&str] = &["routine", "urgent", "asap", "stat"];
pub const REFERRAL_EVENT_KIND: &[&str] = &["transition", "claim", "release", "forward", "message"];

fn one_of(column: &str, values: &[&str]) -> Expr {
    Expr::col(Alias::new(column)).is_in(values.iter().copied())
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column, default, values) in [
            ("referral", "priority", "routine", REFERRAL_PRIORITY),
            ("referral_event", "kind", "transition", REFERRAL_EVENT_KIND),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(
                            string_len(column, 16)
                                .default(default)
                                .check(one_of(column, values))
                                .take(),
                        )
                        .take(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE referral_event SET kind = 'claim' \
                 WHERE from_status = 'requested' AND to_status = 'requested'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [("referral_event", "kind"), ("referral", "priority")] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}
