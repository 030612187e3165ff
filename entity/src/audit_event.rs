//! Who read or changed personal data, when, and through which request. Append-only and
//! without foreign keys, because the log must outlive the rows it describes.

use crate::enums::AuditAction;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub occurred_at: DateTimeUtc,
    #[sea_orm(column_type = "String(StringLen::N(64))")]
    pub request_id: Option<String>,
    pub client_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub action: AuditAction,
    /// The table name of the affected row, e.g. "participant".
    #[sea_orm(column_type = "String(StringLen::N(32))")]
    pub entity_type: String,
    pub entity_id: Option<Uuid>,
    /// Set whenever the data concerns a participant, so her access log can be produced.
    pub participant_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub detail: Option<String>,
    /// The mother who acted, when the request's token was bound to her.
    pub mother_id: Option<Uuid>,
    /// The staff member who acted, when the request's token was bound to them.
    pub staff_member_id: Option<Uuid>,
}

impl ActiveModelBehavior for ActiveModel {}
