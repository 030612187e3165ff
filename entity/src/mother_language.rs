//! Languages a mother speaks, as lower-case ISO 639 codes ("ar", "so", "da"), so that
//! participants can be matched with a mother who speaks their language. Rows go with the mother.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mother_language")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub mother_id: Uuid,
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(8))"
    )]
    pub language: String,
}

impl ActiveModelBehavior for ActiveModel {}
