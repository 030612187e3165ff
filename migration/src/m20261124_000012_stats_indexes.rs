//! Indexes for the statistics (`stats`): national figures filter by period across every
//! project, so each figure's natural date gets an index of its own (the scoped case already
//! has `project_id, <date>`), and stale referrals are found by status and request time.
//!
//! Invariant: indexes only, named `idx_<table>_<cols>` like the helpers' ones; `down` drops
//! exactly these.

use sea_orm_migration::prelude::*;

/// (table, columns) of every index this migration adds.
const INDEXES: &[(&str, &[&str])] = &[
    ("visit", &["visited_on", "project_id"]),
    ("volunteer_hours", &["worked_on", "project_id"]),
    ("referral", &["requested_at"]),
    ("referral", &["status", "requested_at"]),
];

fn name(table: &str, cols: &[&str]) -> String {
    format!("idx_{table}_{}", cols.join("_"))
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, cols) in INDEXES {
            let mut index = Index::create();
            index.name(name(table, cols)).table(Alias::new(*table));
            for col in *cols {
                index.col(Alias::new(*col));
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, cols) in INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(name(table, cols))
                        .table(Alias::new(*table))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
