//! One respondent's answers in a round. `respondent` is a pseudonym (HMAC of the mother's id
//! and the questionnaire key under the statistics secret), never her id: one response per
//! respondent and round, and her rounds of one questionnaire pair.

use crate::enums::Corps;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_response")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub round_id: Uuid,
    pub respondent: String,
    pub corps: Corps,
    pub recorded_by_organisation_id: Uuid,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
