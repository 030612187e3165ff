//! A referral's timeline: one append-only row per status transition, numbered by
//! `sequence` (unique per referral). Rows go with the referral.

use crate::enums::{ReferralReason, ReferralStatus, TimelineKind};
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "referral_event")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique_key = "referral_sequence")]
    pub referral_id: Uuid,
    #[sea_orm(unique_key = "referral_sequence")]
    pub sequence: i32,
    pub actor_organisation_id: Uuid,
    /// No FK: the timeline must survive the removal of the client that acted.
    pub actor_client_id: Option<Uuid>,
    /// Empty for the event that created the referral.
    pub from_status: Option<ReferralStatus>,
    pub to_status: ReferralStatus,
    pub kind: TimelineKind,
    pub reason: Option<ReferralReason>,
    #[sea_orm(column_type = "Text")]
    pub note: Option<String>,
    pub occurred_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
