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
const TABLES: [&str; 46] = [
    "api_client",
    "api_token",
    "audit_event",
    "client_assertion_jti",
    "client_credential",
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
    "scope_ceiling",
    "opening_hours",
    "service",
    "service_area",
    "service_contact",
    "service_language",
    "service_location",
    "signing_key",
    "staff_member",
    "stats_secret",
    "trusted_issuer",
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
    "questionnaire",
    "questionnaire_item",
    "questionnaire_text",
    "survey_round",
    "survey_response",
    "survey_answer",
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
    assert_eq!(names.len(), 23, "applied migrations: {names:?}");
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

/// Migration 19 widens the webhook event types; on SQLite it rebuilds the queue tables. The
/// queued deliveries and their attempts survive it both ways, a `referral.message` delivery
/// is accepted only after it, and deleting a delivery still takes its attempts along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_19_keeps_the_webhook_queue_and_admits_messages() {
    use entity::{
        enums::{WebhookDeliveryStatus, WebhookEventType},
        webhook, webhook_attempt, webhook_delivery,
    };
    use sea_orm::{EntityTrait, PaginatorTrait};

    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let her = fx
        .participant("BM-MIGR-0019", Some(&project), &base.ngo, &[], |_| {})
        .await;
    let referral = fx
        .referral(
            &base.ngo,
            &base.copenhagen,
            &her,
            ReferralStatus::Requested,
            |_| {},
        )
        .await;
    let events = fx
        .timeline(
            &referral,
            &base.ngo,
            &[ReferralStatus::Draft, ReferralStatus::Requested],
        )
        .await;
    let now = now();
    let hook = webhook::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        organisation_id: Set(base.copenhagen.id),
        url: Set("https://sag.kk.dk/bydel".into()),
        secret: Set(webhook::WebhookSecret("s".repeat(32))),
        description: Set(None),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.db)
    .await
    .expect("a webhook");
    let delivery = |event: uuid::Uuid, kind: WebhookEventType| webhook_delivery::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        webhook_id: Set(hook.id),
        referral_event_id: Set(event),
        event_type: Set(kind),
        payload: Set("{}".into()),
        status: Set(WebhookDeliveryStatus::Pending),
        attempts: Set(1),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        lease_owner: Set(None),
        last_status_code: Set(Some(500)),
        last_error: Set(None),
        delivered_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let queued = delivery(events[0].id, WebhookEventType::ReferralCreated)
        .insert(&app.db)
        .await
        .expect("a delivery");
    webhook_attempt::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        delivery_id: Set(queued.id),
        number: Set(1),
        started_at: Set(now),
        duration_ms: Set(12),
        status_code: Set(Some(500)),
        error: Set(None),
    }
    .insert(&app.db)
    .await
    .expect("an attempt");

    // The later migrations go first, so 19 is the last one to go down.
    let down_to_eighteen = u32::try_from(Migrator::migrations().len() - 18).expect("a count");
    Migrator::down(&app.db, Some(down_to_eighteen))
        .await
        .expect("19 goes down");
    let refused = delivery(events[1].id, WebhookEventType::ReferralMessage)
        .insert(&app.db)
        .await;
    assert!(refused.is_err(), "before 19 there is no referral.message");
    Migrator::up(&app.db, None).await.expect("19 goes up");
    assert_eq!(
        webhook_delivery::Entity::find_by_id(queued.id)
            .one(&app.db)
            .await
            .expect("read"),
        Some(queued.clone())
    );
    assert_eq!(
        webhook_attempt::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        1
    );
    delivery(events[1].id, WebhookEventType::ReferralMessage)
        .insert(&app.db)
        .await
        .expect("after 19 a message delivery is accepted");
    webhook_delivery::Entity::delete_by_id(queued.id)
        .exec(&app.db)
        .await
        .expect("a delivery is deleted");
    assert_eq!(
        webhook_attempt::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        0,
        "its attempts went with it: the rebuilt key still cascades"
    );
}

/// Migration 17 lets hours be OTHER, keeps the rest of the table's checks and keys, and goes
/// down only once no OTHER hours are left (it does not relabel them), changing nothing when
/// it refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_17_allows_other_hours_and_goes_down_only_without_them() {
    use entity::{enums::HoursKind, volunteer_hours};
    use sea_orm::EntityTrait;

    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let entry = |kind: HoursKind, minutes: i32| volunteer_hours::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        project_id: Set(project.id),
        mother_id: Set(None),
        kind: Set(kind),
        worked_on: Set(chrono::NaiveDate::from_ymd_opt(2025, 5, 1).expect("a day")),
        minutes: Set(minutes),
        created_at: Set(now()),
        updated_at: Set(now()),
    };
    let other = entry(HoursKind::Other, 60)
        .insert(&app.db)
        .await
        .expect("OTHER is a kind");
    entry(HoursKind::Meeting, 90)
        .insert(&app.db)
        .await
        .expect("a meeting");
    assert!(
        entry(HoursKind::Other, 1441).insert(&app.db).await.is_err(),
        "CHECK minutes survives the rebuild"
    );
    let mut nowhere = entry(HoursKind::Other, 30);
    nowhere.project_id = Set(uuid::Uuid::now_v7());
    assert!(
        nowhere.insert(&app.db).await.is_err(),
        "FOREIGN KEY project survives the rebuild"
    );

    // The later migrations go first, so 17 is the last one applied.
    let after_seventeen = u32::try_from(Migrator::migrations().len() - 17).expect("a count");
    Migrator::down(&app.db, Some(after_seventeen))
        .await
        .expect("the migrations after 17 go down");
    let refused = Migrator::down(&app.db, Some(1)).await;
    assert!(refused.is_err(), "down refuses over OTHER hours");
    assert_eq!(applied(&app.db).await.len(), 17, "still applied");
    assert_eq!(
        volunteer_hours::Entity::find()
            .all(&app.db)
            .await
            .expect("rows")
            .len(),
        2
    );

    volunteer_hours::Entity::delete_by_id(other.id)
        .exec(&app.db)
        .await
        .expect("the OTHER hours can go");
    Migrator::down(&app.db, Some(1))
        .await
        .expect("17 goes down");
    assert!(
        entry(HoursKind::Other, 60).insert(&app.db).await.is_err(),
        "CHECK kind without OTHER"
    );
    let kept = volunteer_hours::Entity::find()
        .all(&app.db)
        .await
        .expect("rows");
    assert_eq!(kept.len(), 1, "the meeting is copied through the rebuild");
    assert_eq!((kept[0].kind, kept[0].minutes), (HoursKind::Meeting, 90));
    Migrator::up(&app.db, None).await.expect("17 goes up again");
    entry(HoursKind::Other, 60)
        .insert(&app.db)
        .await
        .expect("OTHER again");
}
