//! A fourth kind of volunteer hours, `other` (preparation, outreach, administration: time a
//! funder counts that is neither a visit, a course module nor a meeting).
//!
//! SQLite cannot change a CHECK, so there the table is rebuilt under the same name with the
//! same columns, constraint names and indexes (the rows copied unchanged); PostgreSQL swaps
//! the constraint. Invariant: after `up` and after `down` the table is as migrations 3 and 12
//! left it, but for the list of kinds; `down` fails (changing nothing) while an `other` row
//! exists, rather than losing it or relabelling it. Runs in one transaction on both backends.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::helpers::NewTable;

const KINDS_BEFORE: &[&str] = &["activity", "training", "meeting"];
const KINDS_AFTER: &[&str] = &["activity", "training", "meeting", "other"];
/// Where the rows wait while SQLite rebuilds the table.
const PARKED: &str = "volunteer_hours_before_17";
/// The indexes of migrations 3 and 12, (name, columns).
const INDEXES: [(&str, &[&str]); 2] = [
    (
        "idx_volunteer_hours_project_id_worked_on",
        &["project_id", "worked_on"],
    ),
    (
        "idx_volunteer_hours_worked_on_project_id",
        &["worked_on", "project_id"],
    ),
];
const COLUMNS: &str = "id, project_id, mother_id, kind, worked_on, minutes, created_at, updated_at";

/// Migration 3's table with `kinds`, and only migration 3's index (12's is added after).
fn table(kinds: &'static [&'static str]) -> NewTable {
    NewTable::new("volunteer_hours")
        .id()
        .uuid_fk(uuid("project_id"), "project", ForeignKeyAction::Restrict)
        .uuid_fk(uuid_null("mother_id"), "mother", ForeignKeyAction::Restrict)
        .one_of("kind", kinds)
        .col(date("worked_on"))
        .col(integer("minutes"))
        .check(
            "minutes",
            Expr::col("minutes")
                .gt(0)
                .and(Expr::col("minutes").lte(1440)),
        )
        .timestamps()
        .index(INDEXES[0].1)
}

/// Restricts `kind` to `kinds`; refuses, before changing anything, while a row has another.
async fn allow(manager: &SchemaManager<'_>, kinds: &'static [&'static str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let list = kinds
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let others = db
        .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
            manager.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM volunteer_hours WHERE kind NOT IN ({list})"),
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    if others > 0 {
        return Err(DbErr::Migration(format!(
            "{others} volunteer hours have a kind outside {list}; change them first"
        )));
    }
    if manager.get_database_backend() != DbBackend::Sqlite {
        db.execute_unprepared(
            "ALTER TABLE volunteer_hours DROP CONSTRAINT IF EXISTS ck_volunteer_hours_kind",
        )
        .await?;
        db.execute_unprepared(&format!(
            "ALTER TABLE volunteer_hours ADD CONSTRAINT ck_volunteer_hours_kind \
             CHECK (kind IN ({list}))"
        ))
        .await?;
        return Ok(());
    }
    for (name, _) in INDEXES {
        db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
            .await?;
    }
    db.execute_unprepared(&format!("ALTER TABLE volunteer_hours RENAME TO {PARKED}"))
        .await?;
    table(kinds).create(manager).await?;
    let (name, cols) = INDEXES[1];
    db.execute_unprepared(&format!(
        "CREATE INDEX {name} ON volunteer_hours ({})",
        cols.join(", ")
    ))
    .await?;
    db.execute_unprepared(&format!(
        "INSERT INTO volunteer_hours ({COLUMNS}) SELECT {COLUMNS} FROM {PARKED}"
    ))
    .await?;
    db.execute_unprepared(&format!("DROP TABLE {PARKED}"))
        .await?;
    Ok(())
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In a transaction on SQLite too: the rebuild is several statements that must all run
    /// on one connection and land together (sea-orm wraps only PostgreSQL's by default).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        allow(manager, KINDS_AFTER).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        allow(manager, KINDS_BEFORE).await
    }
}
