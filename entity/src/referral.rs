//! Bridge building in both directions, with the HL7 SDOH referral Task lifecycle.
//! A referral always has somewhere to go (receiver, municipality pool or project);
//! rejected/failed/cancelled need a `status_reason`, completed needs an `outcome`.
//! `version` starts at 1 and guards concurrent transitions.

use crate::enums::{
    ReferralDirection, ReferralOutcome, ReferralPriority, ReferralReason, ReferralStatus,
    ServiceCategory,
};
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referral")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub direction: ReferralDirection,
    pub requester_organisation_id: Uuid,
    /// Empty only for an inbound referral waiting in a municipality pool.
    pub receiver_organisation_id: Option<Uuid>,
    pub pool_municipality_code: Option<i32>,
    /// Outbound: the referring project; inbound: the project that claimed it or was
    /// addressed; empty while unclaimed in a pool.
    pub project_id: Option<Uuid>,
    pub participant_id: Uuid,
    pub mother_id: Option<Uuid>,
    pub visit_id: Option<Uuid>,
    pub service_category: ServiceCategory,
    pub priority: ReferralPriority,
    /// The directory entry asked for (of the receiver, in `service_category`), if named.
    pub service_id: Option<Uuid>,
    pub status: ReferralStatus,
    pub status_reason: Option<ReferralReason>,
    pub outcome: Option<ReferralOutcome>,
    #[sea_orm(column_type = "Text")]
    pub note: Option<String>,
    pub requested_at: Option<DateTimeUtc>,
    pub accepted_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
