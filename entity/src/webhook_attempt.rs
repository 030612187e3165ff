//! One try at sending a webhook delivery, numbered from 1 per delivery: when, how long, and
//! what came back (the HTTP status, or a short fixed description of the failure).

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempt")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub number: i32,
    pub started_at: DateTimeUtc,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    #[sea_orm(column_type = "String(StringLen::N(200))", nullable)]
    pub error: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
