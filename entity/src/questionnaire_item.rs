//! An item of a questionnaire version: its position, a code stable across versions, the goal
//! it measures and its scale; a CHOICE item's choice codes one a line in `choices`.

use crate::enums::{ItemScale, SurveyGoal};
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_item")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub questionnaire_id: Uuid,
    pub position: i32,
    pub code: String,
    pub goal: SurveyGoal,
    pub scale: ItemScale,
    pub choices: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
