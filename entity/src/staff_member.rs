//! A person working for an organisation (a caseworker, a coordinator) whom tokens can be
//! bound to, so the audit trail says who read her data and not only which system. Known by
//! the organisation's own reference for them (`external_ref`, unique within it); deactivated,
//! never deleted, because audit events name them.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "staff_member")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique_key = "organisation_ref")]
    pub organisation_id: Uuid,
    #[sea_orm(column_type = "String(StringLen::N(128))")]
    pub name: String,
    #[sea_orm(
        unique_key = "organisation_ref",
        column_type = "String(StringLen::N(128))"
    )]
    pub external_ref: String,
    /// From then on, tokens bound to them are refused.
    pub deactivated_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
