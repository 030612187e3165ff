//! A questionnaire given to a project's cohort (optionally one course) at a moment; it takes
//! responses from `opened_at` until `closed_at`.

use crate::enums::SurveyMoment;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_round")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub questionnaire_id: Uuid,
    pub project_id: Uuid,
    pub course_id: Option<Uuid>,
    pub moment: SurveyMoment,
    pub opened_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
