//! Who runs a periodic job now: one row per job (e.g. `retention`). Every replica tries to
//! claim it; the claim is one conditional UPDATE, so at most one holds a lease at a time and
//! a crashed holder's lease simply expires.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "maintenance_lease")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(32))"
    )]
    pub job: String,
    /// A fresh token per claim, so a holder only ever releases its own lease.
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    /// Before this the job is not due again (a run that finished sets it).
    pub next_run_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
