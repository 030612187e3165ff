//! An issued JWT, keyed by its `jti`, so a single token can be revoked before it expires.
//! The token text itself is never stored; `expires_at` is after `issued_at`; `kid` names the
//! signing key, whose retirement refuses the token.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_token")]
pub struct Model {
    /// The token's `jti` claim.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub client_id: Uuid,
    /// The scopes granted at issue time, which may be fewer than the client's.
    #[sea_orm(column_type = "Text")]
    pub scopes: String,
    pub issued_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// The `kid` of the key that signed the token, so retiring that key refuses the token.
    /// `None` only for tokens issued before keys were recorded (see migration 9).
    #[sea_orm(column_type = "String(StringLen::N(64))", nullable)]
    pub kid: Option<String>,
    /// The mother this token acts for (the mothers' app), whose own work bounds what it sees
    /// and writes; at most one of `mother_id` and `staff_member_id` is set.
    pub mother_id: Option<Uuid>,
    /// The staff member this token acts for (a caseworker), named in the audit trail.
    pub staff_member_id: Option<Uuid>,
}

impl ActiveModelBehavior for ActiveModel {}
