//! A text of a questionnaire (`item_id` empty: its title) or of one item, in one language
//! (ISO 639 code). Languages are rows, not code.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "questionnaire_text")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub questionnaire_id: Uuid,
    pub item_id: Option<Uuid>,
    pub language: String,
    pub text: String,
}

impl ActiveModelBehavior for ActiveModel {}
