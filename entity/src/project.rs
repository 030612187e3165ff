//! A local Neighbourhood Mothers project in one municipality, run by one operator
//! organisation; most personal data is scoped to a project. `ended_on`, when set, is not
//! before `started_on`.

use crate::enums::{ProjectCorps, ProjectStatus};
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub municipality_code: i32,
    pub operator_organisation_id: Uuid,
    pub status: ProjectStatus,
    pub started_on: Date,
    pub ended_on: Option<Date>,
    /// Which corps (issue 17); the API keeps the name `Mother` for fathers too.
    pub corps: ProjectCorps,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
