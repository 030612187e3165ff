//! Cell keys for the statistics' perturbation (see `bydel::stats::perturbation`): every
//! counted row has a *record key* (the low 24 bits of its UUID), a published figure's noise
//! is derived from the sum of the record keys it counts, and the monthly tallies of visits
//! carry that sum (`key_sum`) so that a figure read from the tallies gets exactly the noise
//! of the same visits read from the rows. `stats_secret` holds the installation's secret
//! that turns a key sum into noise; the server writes its single row on first start.
//!
//! Invariant: after `up`, every tally's `key_sum` is the sum of the record keys of the visits
//! it counts; the application keeps it so in each visit's own transaction. The record key
//! expression here must stay equal to `stats::sql::record_key` (history does not import it).

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::helpers::{NewTable, drop_tables};

/// The low 24 bits of `v.id` as an integer, as each backend stores a UUID (a 16-byte blob on
/// SQLite, `uuid` on PostgreSQL).
fn record_key(backend: DbBackend) -> String {
    match backend {
        DbBackend::Sqlite => (0..6)
            .map(|i| {
                format!(
                    "(instr('0123456789ABCDEF', substr(hex(v.id), {}, 1)) - 1) * {}",
                    27 + i,
                    1u32 << (4 * (5 - i))
                )
            })
            .collect::<Vec<_>>()
            .join(" + "),
        _ => "('x' || right(replace(v.id::text, '-', ''), 6))::bit(24)::int".to_owned(),
    }
}

fn month_of_visit(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Sqlite => "date(v.visited_on, 'start of month')",
        _ => "CAST(date_trunc('month', v.visited_on) AS DATE)",
    }
}

fn fill_statements(backend: DbBackend) -> [String; 2] {
    let key = record_key(backend);
    let month = month_of_visit(backend);
    [
        format!(
            "UPDATE visit_month SET key_sum = COALESCE((SELECT SUM({key}) FROM visit v \
             WHERE v.project_id = visit_month.project_id AND {month} = visit_month.month \
             AND v.channel = visit_month.channel), 0)"
        ),
        format!(
            "UPDATE visit_topic_month SET key_sum = COALESCE((SELECT SUM({key}) FROM visit v \
             JOIN visit_topic t ON t.visit_id = v.id \
             WHERE v.project_id = visit_topic_month.project_id \
             AND {month} = visit_topic_month.month AND v.channel = visit_topic_month.channel \
             AND t.topic = visit_topic_month.topic), 0)"
        ),
    ]
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["visit_month", "visit_topic_month"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(big_integer("key_sum").default(0))
                        .take(),
                )
                .await?;
        }
        let db = manager.get_connection();
        for statement in fill_statements(manager.get_database_backend()) {
            db.execute_unprepared(&statement).await?;
        }
        NewTable::new("stats_secret")
            .col(integer("id").primary_key().take())
            .check("single_row", Expr::col("id").eq(1))
            .col(string_len("secret", 64))
            .created_at()
            .create(manager)
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, &["stats_secret"]).await?;
        for table in ["visit_month", "visit_topic_month"] {
            manager
                .alter_table(Table::alter().table(table).drop_column("key_sum").take())
                .await?;
        }
        Ok(())
    }
}
