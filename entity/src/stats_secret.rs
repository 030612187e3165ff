//! The installation's secret for the statistics' cell keys: one row (`id = 1`), written by the
//! first server to start and shared by every replica, so that the same records get the same
//! noise on every replica and after every restart.
//!
//! Invariant: never changed once written (a new secret would give every published figure new
//! noise, and two answers about the same records could then be averaged); never published.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_secret")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// 32 random bytes, hex.
    pub secret: String,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
