//! Danish municipalities: reference data keyed by the official three-digit code
//! (101 = København). Projects, municipality organisations and referral pools point here;
//! rows are seeded, never created through the API.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "municipality")]
pub struct Model {
    /// The official code is the key so that seeds and external systems agree without lookups.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: i32,
    pub name: String,
    pub region: String,
}

impl ActiveModelBehavior for ActiveModel {}
