//! A mother on a course: the contract is signed at module 1, the diploma on completion.
//! One enrolment per (course, mother); a `Completed` enrolment always has `certified_on`.

use crate::enums::EnrolmentStatus;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "enrolment")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique_key = "course_mother")]
    pub course_id: Uuid,
    #[sea_orm(unique_key = "course_mother")]
    pub mother_id: Uuid,
    pub status: EnrolmentStatus,
    pub contract_signed_on: Option<Date>,
    pub certified_on: Option<Date>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
