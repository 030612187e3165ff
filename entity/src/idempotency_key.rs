//! The first response to a mutation sent with an `Idempotency-Key`, per API client.
//! `fingerprint` (SHA-256 of the operation) ties the key to one input; `response` is set when
//! `status` is `done`. Rows older than a day no longer bind their key.

use crate::enums::IdempotencyStatus;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_key")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: Uuid,
    #[sea_orm(
        primary_key,
        auto_increment = false,
        column_type = "String(StringLen::N(128))"
    )]
    pub key: String,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub fingerprint: String,
    pub status: IdempotencyStatus,
    #[sea_orm(column_type = "Text")]
    pub response: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
