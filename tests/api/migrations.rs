//! The migrations build the whole schema on a fresh database, roll all of it back and build
//! it again, on whichever backend this run uses; and the constraints they create are real.

use std::collections::BTreeSet;

use entity::enums::{OrganisationKind, ReferralReason, ReferralStatus};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, Statement,
};
use sea_orm_migration::MigrationStatus;

use crate::harness::{Backend, TestApp, TestDatabase, fixtures::now};

/// Every table of the data model.
const TABLES: [&str; 35] = [
    "api_client",
    "api_token",
    "audit_event",
    "consent",
    "course",
    "enrolment",
    "module_attendance",
    "mother",
    "mother_language",
    "municipality",
    "organisation",
    "participant",
    "participant_language",
    "project",
    "project_partner",
    "referral",
    "referral_event",
    "opening_hours",
    "service",
    "service_area",
    "service_contact",
    "service_language",
    "service_location",
    "signing_key",
    "stats_secret",
    "idempotency_key",
    "maintenance_lease",
    "visit",
    "visit_month",
    "visit_topic",
    "visit_topic_month",
    "volunteer_hours",
    "webhook",
    "webhook_attempt",
    "webhook_delivery",
];

/// The application's tables (the migrator's own bookkeeping table left out).
async fn tables(db: &DatabaseConnection) -> BTreeSet<String> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        DbBackend::Postgres => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()"
        }
        other => panic!("the suite does not run on {other:?}"),
    };
    db.query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("the catalogue can be read")
        .into_iter()
        .map(|row| row.try_get::<String>("", "name").expect("a table name"))
        .filter(|name| name != "seaql_migrations")
        .collect()
}

fn all_tables() -> BTreeSet<String> {
    TABLES.iter().map(|t| (*t).to_owned()).collect()
}

async fn applied(db: &DatabaseConnection) -> Vec<String> {
    Migrator::get_migration_with_status(db)
        .await
        .expect("the migration status can be read")
        .iter()
        .filter(|m| m.status() == MigrationStatus::Applied)
        .map(|m| m.name().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_go_up_down_and_up_again() {
    let database = TestDatabase::create().await;
    let db = database.connect().await;
    let expected_backend = match database.backend() {
        Backend::Sqlite => DbBackend::Sqlite,
        Backend::Postgres => DbBackend::Postgres,
    };
    assert_eq!(db.get_database_backend(), expected_backend);
    assert!(
        tables(&db).await.is_empty(),
        "a fresh database has no tables"
    );

    Migrator::up(&db, None).await.expect("migrations go up");
    assert_eq!(tables(&db).await, all_tables());
    let names = applied(&db).await;
    assert_eq!(names.len(), 16, "applied migrations: {names:?}");
    assert!(
        Migrator::get_pending_migrations(&db)
            .await
            .expect("pending migrations can be listed")
            .is_empty()
    );
    Migrator::status(&db).await.expect("status can be shown");

    Migrator::down(&db, None).await.expect("migrations go down");
    assert_eq!(
        tables(&db).await,
        BTreeSet::new(),
        "down removes every table"
    );
    assert!(applied(&db).await.is_empty());

    Migrator::up(&db, None)
        .await
        .expect("migrations go up again after down");
    assert_eq!(tables(&db).await, all_tables());
    assert_eq!(applied(&db).await, names);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_enforces_keys_and_checks() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let participant = fx
        .participant("BM-0000-0001", Some(&project), &base.ngo, &[], |_| {})
        .await;

    // A municipality organisation needs its code; another kind must not have one.
    let row = entity::organisation::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        short_name: Set("kommune-uden-kode".into()),
        name: Set("Kommune uden kode".into()),
        kind: Set(OrganisationKind::Municipality),
        municipality_code: Set(None),
        created_at: Set(now()),
        updated_at: Set(now()),
    };
    assert!(
        row.insert(&app.db).await.is_err(),
        "CHECK municipality code"
    );

    // Pseudonyms are unique.
    let mut twin: entity::participant::ActiveModel = participant.clone().into();
    twin.id = Set(uuid::Uuid::now_v7());
    assert!(twin.insert(&app.db).await.is_err(), "UNIQUE pseudonym");

    // A project points at an existing municipality.
    let mut nowhere: entity::project::ActiveModel = project.clone().into();
    nowhere.id = Set(uuid::Uuid::now_v7());
    nowhere.municipality_code = Set(998);
    assert!(
        nowhere.insert(&app.db).await.is_err(),
        "FOREIGN KEY municipality"
    );

    // A rejected referral carries its reason.
    let referral = fx
        .referral(
            &base.ngo,
            &base.copenhagen,
            &participant,
            ReferralStatus::Rejected,
            |_| {},
        )
        .await;
    assert_eq!(
        referral.status_reason,
        Some(ReferralReason::CouldNotContact)
    );
    let mut without_reason: entity::referral::ActiveModel = referral.into();
    without_reason.id = Set(uuid::Uuid::now_v7());
    without_reason.status_reason = Set(None);
    assert!(
        without_reason.insert(&app.db).await.is_err(),
        "CHECK status_reason"
    );
}
