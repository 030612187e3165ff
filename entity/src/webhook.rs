//! An endpoint an organisation registered to be told about referral changes it may see.
//! `secret` signs every delivery; it is written by the organisation and never read back out
//! of the API (nor printed: [`WebhookSecret`]'s `Debug` is redacted).

use sea_orm::entity::prelude::*;

/// The shared secret deliveries are signed with. Kept out of `Debug`, so logging a webhook
/// row cannot leak it.
#[derive(Clone, PartialEq, Eq, DeriveValueType)]
pub struct WebhookSecret(pub String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// Absolute `https` URL (`http` only for loopback hosts or when the operator allows it).
    #[sea_orm(column_type = "Text")]
    pub url: String,
    #[sea_orm(column_type = "Text")]
    pub secret: WebhookSecret,
    #[sea_orm(column_type = "String(StringLen::N(256))", nullable)]
    pub description: Option<String>,
    /// Inactive webhooks get no new deliveries and their pending ones wait.
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
