//! One referral event queued for one webhook: unique per (webhook, event). `payload` is the
//! exact JSON body (ids and statuses only, never personal data); `attempts` counts the
//! claims so far, and a dispatcher holds the delivery while `lease_until` is in the future
//! and `lease_owner` is its own.

use crate::enums::{WebhookDeliveryStatus, WebhookEventType};
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_delivery")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub referral_event_id: Uuid,
    pub event_type: WebhookEventType,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub status: WebhookDeliveryStatus,
    pub attempts: i32,
    /// When a pending delivery is due (again).
    pub next_attempt_at: DateTimeUtc,
    pub lease_until: Option<DateTimeUtc>,
    pub lease_owner: Option<Uuid>,
    pub last_status_code: Option<i32>,
    /// A short, fixed description of the last failure; never the receiver's response body.
    #[sea_orm(column_type = "String(StringLen::N(200))", nullable)]
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
