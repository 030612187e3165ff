//! A language a service is offered in (HSDS `language`), as a lower-case ISO 639 code.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_language")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_id: Uuid,
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(8))"
    )]
    pub language: String,
}

impl ActiveModelBehavior for ActiveModel {}
