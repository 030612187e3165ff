//! One opening period of a location on one weekday (an HSDS `schedule` with `freq` weekly
//! and one `byday`): `opens` and `closes` as local `HH:MM`, `closes` after `opens`.
//! Rows go with their location and are replaced as a whole.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "opening_hours")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub location_id: Uuid,
    /// ISO 8601: 1 Monday to 7 Sunday.
    pub weekday: i32,
    pub opens: String,
    pub closes: String,
}

impl ActiveModelBehavior for ActiveModel {}
