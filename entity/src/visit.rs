//! A mother's activity: home visit, call, group event or accompaniment. Anonymous by
//! default (`participant_id` empty); duration is 1..=1440 minutes and `attendee_count`,
//! when given, is at least 1.

use crate::enums::{ContactOrigin, NextStep, VisitChannel};
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "visit")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub project_id: Uuid,
    pub mother_id: Uuid,
    pub participant_id: Option<Uuid>,
    pub channel: VisitChannel,
    pub visited_on: Date,
    pub duration_minutes: i32,
    pub contact_origin: ContactOrigin,
    pub next_step: NextStep,
    pub attendee_count: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
