//! One answer of a response: `value` for a LIKERT_5 (1-5), YES_NO (0 no, 1 yes) or CHOICE
//! (the choice's index from 0) item; `text` for a FREE_TEXT item, personal data read under
//! the rules of notes.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_answer")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub response_id: Uuid,
    pub item_id: Uuid,
    pub value: Option<i32>,
    pub text: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
