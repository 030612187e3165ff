//! A woman the mothers support, known by a generated pseudonym and never by CPR number.
//! `project_id` is empty while she waits in a municipality's inbound pool; everything
//! identifying beyond the pseudonym is optional, and all of it is emptied on erasure.

use crate::enums::ContactMethod;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "participant")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Generated code like "BM-7K3Q-9XPA": lets organisations talk about her without names.
    #[sea_orm(unique, column_type = "String(StringLen::N(32))")]
    pub pseudonym: String,
    pub project_id: Option<Uuid>,
    pub registered_by_organisation_id: Uuid,
    pub first_name: Option<String>,
    pub birth_year: Option<i32>,
    pub preferred_contact: Option<ContactMethod>,
    #[sea_orm(column_type = "String(StringLen::N(8))")]
    pub preferred_language: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub district: Option<String>,
    pub municipality_case_ref: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub notes: Option<String>,
    /// Starts at 1, one more per change: rectification and erasure name the version they
    /// change, so two caseworkers cannot overwrite each other unseen.
    pub version: i32,
    /// When her personal data was erased (Art. 17 or retention); never cleared. The row stays,
    /// pseudonymous, so the figures that count her do not change.
    pub erased_at: Option<DateTimeUtc>,
    /// The mother who registered her through a token bound to that mother: she is one of the
    /// women that mother supports from the start, before a visit is recorded.
    pub registered_by_mother_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
