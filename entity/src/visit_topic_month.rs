//! Visits per project, calendar month, channel and topic: the tally of `visit_topic` as
//! [`crate::visit_month`] is of `visit` (a visit with two topics counts under both), kept in
//! the visit's own transaction.
//!
//! Invariant: for every (project, month, channel, topic), `visits` is the number of visits
//! that discussed the topic and `women` the sum of their attendee counts (1 for a visit
//! without one); `month` is the first day of the month. A row may hold zeros after deletions.

use crate::enums::{VisitChannel, VisitTopic};
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "visit_topic_month")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub project_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub month: Date,
    #[sea_orm(primary_key, auto_increment = false)]
    pub channel: VisitChannel,
    #[sea_orm(primary_key, auto_increment = false)]
    pub topic: VisitTopic,
    pub visits: i32,
    pub women: i32,
    /// The sum of the counted visits' record keys (low 24 bits of each id): what the
    /// statistics' cell keys are derived from, so tallies and rows get the same noise.
    pub key_sum: i64,
}

impl ActiveModelBehavior for ActiveModel {}
