//! The bodies that use Bydel: the national secretariat, municipalities and NGOs.
//! A municipality organisation is tied to exactly one municipality code and no other kind
//! has one (CHECK in the migration); `short_name` is the stable handle used in seeds and tokens.

use crate::enums::OrganisationKind;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique, column_type = "String(StringLen::N(64))")]
    pub short_name: String,
    pub name: String,
    pub kind: OrganisationKind,
    /// Unique: one organisation speaks for a municipality, so access rules can key on the code.
    #[sea_orm(unique)]
    pub municipality_code: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
