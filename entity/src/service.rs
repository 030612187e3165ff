//! A service an organisation offers, as the Open Referral HSDS `service` object: name,
//! category (the referrals' vocabulary), HSDS status, description. Reference data: no
//! personal data. Its languages, areas, locations and contacts go with it; a referral that
//! names it keeps it from being deleted (mark it `defunct` instead).

use crate::enums::{ServiceCategory, ServiceStatus};
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "service")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organisation that provides the service and alone (with the secretariat) edits it.
    pub organisation_id: Uuid,
    pub name: String,
    pub category: ServiceCategory,
    pub status: ServiceStatus,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    pub created_at: DateTimeUtc,
    /// Bumped by every change to the service or anything under it, for `updatedSince`.
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
