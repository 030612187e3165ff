//! What a participant agreed to: one purpose per row, revocable by setting `withdrawn_at`
//! (never deleted), or ending by itself at `valid_until`. Sharing always names its receiver;
//! `withdrawn_at` is not before `given_at`, nor `valid_until`.

use crate::enums::ConsentPurpose;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consent")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub participant_id: Uuid,
    pub purpose: ConsentPurpose,
    pub receiver_organisation_id: Option<Uuid>,
    pub given_at: DateTimeUtc,
    /// No FK: the API client may be deleted later, the record of who took consent must stay.
    pub recorded_by_client_id: Option<Uuid>,
    pub recorded_by_mother_id: Option<Uuid>,
    pub withdrawn_at: Option<DateTimeUtc>,
    /// The end of the period she agreed to; not live from then on. Empty: until withdrawn.
    pub valid_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
