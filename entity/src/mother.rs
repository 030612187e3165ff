//! A volunteer neighbourhood mother, belonging to one project.
//! `left_on`, when set, is not before `joined_on`.

use crate::enums::{Corps, MotherStatus};
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mother")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub project_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub status: MotherStatus,
    pub joined_on: Date,
    pub left_on: Option<Date>,
    /// Which corps (issue 17); the API keeps the name `Mother` for fathers too.
    pub corps: Corps,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
