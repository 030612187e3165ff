//! The most an organisation's external tokens may be granted (issue 15), set by the
//! secretariat. Kept apart from `organisation` so its rows stay as they are; an organisation
//! without a row is granted nothing through external tokens.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scope_ceiling")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organisation_id: Uuid,
    /// Space-separated scopes, canonical (sorted).
    #[sea_orm(column_type = "Text")]
    pub scopes: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
