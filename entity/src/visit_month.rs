//! Visits per project, calendar month and channel: a tally of `visit`, kept in the same
//! transaction as every visit written, corrected or deleted, so that the statistics of whole
//! months read a few thousand rows instead of millions of visits.
//!
//! Invariant: for every (project, month, channel), `visits` is the number of visits and
//! `women` the sum of their attendee counts (1 for a visit without one); `month` is the
//! first day of the month. A row may hold zeros after deletions.

use crate::enums::VisitChannel;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "visit_month")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub project_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: Date,
    #[sea_orm(primary_key, auto_increment = false)]
    pub channel: VisitChannel,
    pub visits: i32,
    pub women: i32,
    /// The sum of the counted visits' record keys (low 24 bits of each id): what the
    /// statistics' cell keys are derived from, so tallies and rows get the same noise.
    pub key_sum: i64,
}

impl ActiveModelBehavior for ActiveModel {}
