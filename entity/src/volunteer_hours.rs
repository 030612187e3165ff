//! Volunteer time given to a project, reported to funders per project and year.
//! `minutes` is 1..=1440 (one day); `mother_id` is empty for hours logged for the group.
//! A visit is not an entry here: its own duration counts as activity time, so `activity`
//! entries are only activity that no visit records (the statistics add both, once each).

use crate::enums::HoursKind;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "volunteer_hours")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub project_id: Uuid,
    pub mother_id: Option<Uuid>,
    pub kind: HoursKind,
    pub worked_on: Date,
    pub minutes: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
