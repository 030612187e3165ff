//! The topics discussed on a visit, one row each; rows go with the visit.
//! Indexed by topic first for the funder statistics that count visits per topic.

use crate::enums::VisitTopic;
use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "visit_topic")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub visit_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub topic: VisitTopic,
}

impl ActiveModelBehavior for ActiveModel {}
