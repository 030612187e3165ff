//! Bydel's schema history: one sea-orm migration per change, run unchanged on SQLite and
//! PostgreSQL. Migrations never import the entity crate, so history does not move when
//! entities do; enum values are repeated here as literal CHECK lists.

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261124_000001_municipalities_and_organisations;
mod m20261124_000002_projects;
mod m20261124_000003_mothers_and_training;
mod m20261124_000004_participants_and_consent;
mod m20261124_000005_visits;
mod m20261124_000006_referrals;
mod m20261124_000007_api_clients;
mod m20261124_000008_audit;
mod m20261124_000009_signing_keys;
mod m20261124_000010_idempotency_keys;
mod m20261124_000011_webhooks;
mod m20261124_000012_stats_indexes;
mod m20261125_000013_visit_tallies;
mod m20261203_000014_stats_cell_keys;
mod m20261203_000015_participant_rights;
mod m20261203_000016_inbound_referrals;
mod m20261203_000017_hours_kind_other;
mod m20261203_000018_service_directory;
mod m20261203_000019_referral_message_webhooks;
mod m20261203_000020_trusted_issuers;
mod m20261203_000021_oauth_client_credentials;
mod m20261203_000022_people;
mod m20261204_000023_surveys;

/// Applies the migrations in order; `Migrator::up(db, None)` brings a database current.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_municipalities_and_organisations::Migration),
            Box::new(m20261124_000002_projects::Migration),
            Box::new(m20261124_000003_mothers_and_training::Migration),
            Box::new(m20261124_000004_participants_and_consent::Migration),
            Box::new(m20261124_000005_visits::Migration),
            Box::new(m20261124_000006_referrals::Migration),
            Box::new(m20261124_000007_api_clients::Migration),
            Box::new(m20261124_000008_audit::Migration),
            Box::new(m20261124_000009_signing_keys::Migration),
            Box::new(m20261124_000010_idempotency_keys::Migration),
            Box::new(m20261124_000011_webhooks::Migration),
            Box::new(m20261124_000012_stats_indexes::Migration),
            Box::new(m20261125_000013_visit_tallies::Migration),
            Box::new(m20261203_000014_stats_cell_keys::Migration),
            Box::new(m20261203_000015_participant_rights::Migration),
            Box::new(m20261203_000016_inbound_referrals::Migration),
            Box::new(m20261203_000017_hours_kind_other::Migration),
            Box::new(m20261203_000018_service_directory::Migration),
            Box::new(m20261203_000019_referral_message_webhooks::Migration),
            Box::new(m20261203_000020_trusted_issuers::Migration),
            Box::new(m20261203_000021_oauth_client_credentials::Migration),
            Box::new(m20261203_000022_people::Migration),
            Box::new(m20261204_000023_surveys::Migration),
        ]
    }
}
