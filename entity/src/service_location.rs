//! Where a service is given: HSDS `location`, its physical `address` and the
//! `service_at_location` link in one row (a location here serves one service). An
//! organisation's address, never a person's.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service_location")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub service_id: Uuid,
    pub name: Option<String>,
    pub street: String,
    /// Four digits.
    pub postcode: String,
    pub city: String,
    pub municipality_code: i32,
    /// Free text about the hours: holidays, drop-in times, "call first".
    #[sea_orm(column_type = "Text")]
    pub opening_hours_notes: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
