//! A caller of the API, acting for one organisation with a fixed set of scopes.
//! Names are unique within an organisation (revoked clients keep theirs). A client is
//! revoked to refuse its tokens; deleting it takes its token rows along, while the audit
//! trail keeps its id.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_client")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique_key = "organisation_name")]
    pub organisation_id: Uuid,
    #[sea_orm(
        unique_key = "organisation_name",
        column_type = "String(StringLen::N(128))"
    )]
    pub name: String,
    /// Space-separated, as in OAuth 2.0 `scope`, so it can be copied into tokens verbatim.
    #[sea_orm(column_type = "Text")]
    pub scopes: String,
    pub revoked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
