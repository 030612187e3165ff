//! Participant and consent writes over HTTP: registering (a pseudonym is generated, the
//! write is audited), bad input that writes nothing, recording consent, and withdrawing it,
//! which cancels her open referrals to that receiver and hides her data from it at once.

use bydel::ids::Kind;
use entity::{
    audit_event, consent,
    enums::{ReferralReason, ReferralStatus},
    participant, participant_language,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    harness::TestApp,
    queries,
    referrals::{World, snapshot},
    tokens::gid,
};

async fn rows(app: &TestApp) -> (u64, u64, u64, u64) {
    (
        participant::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        participant_language::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        consent::Entity::find().count(&app.db).await.expect("count"),
        audit_event::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
    )
}

async fn register(world: &World, token: &str, input: Value) -> crate::harness::GqlResponse {
    world
        .app
        .graphql(
            Some(token),
            queries::REGISTER_PARTICIPANT,
            json!({ "input": input }),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_a_participant_with_a_generated_pseudonym() {
    let world = World::new().await;
    let project = gid(Kind::Project, world.project.id);
    let response = register(
        &world,
        &world.ngo,
        json!({
            "projectId": project,
            "firstName": " Fatima ",
            "birthYear": 1985,
            "languages": ["so", "da", "so"],
            "preferredContact": "VIA_MOTHER",
            "preferredLanguage": "so",
            "phone": "+45 12 34 56 78",
            "district": "Nørrebro",
        }),
    )
    .await;
    let her = &response.data()["registerParticipant"];
    let pseudonym = her["pseudonym"].as_str().expect("a pseudonym");
    assert_eq!(pseudonym.len(), 12, "{pseudonym}");
    assert!(pseudonym.starts_with("BM-"), "{pseudonym}");
    assert!(
        pseudonym[3..]
            .chars()
            .all(|c| c == '-' || "23456789ABCDEFGHJKLMNPQRSTUVWXYZ".contains(c)),
        "{pseudonym}"
    );
    assert_eq!(her["firstName"], "Fatima");
    assert_eq!(her["languages"], json!(["da", "so"]));
    assert_eq!(her["project"]["id"], project);
    assert_eq!(
        her["registeredBy"]["id"],
        gid(Kind::Organisation, world.base.ngo.id)
    );
    let id = bydel::ids::decode_as(her["id"].as_str().expect("id"), Kind::Participant, "id")
        .expect("a participant id");
    let created = audit_event::Entity::find()
        .filter(audit_event::Column::ParticipantId.eq(id))
        .filter(audit_event::Column::EntityType.eq("participant"))
        .filter(audit_event::Column::Action.eq(entity::enums::AuditAction::Create))
        .count(&world.app.db)
        .await
        .expect("count");
    assert_eq!(created, 1);

    // Two more get distinct pseudonyms.
    let a = register(&world, &world.ngo, json!({ "projectId": project })).await;
    let b = register(&world, &world.ngo, json!({ "projectId": project })).await;
    assert_ne!(
        a.data()["registerParticipant"]["pseudonym"],
        b.data()["registerParticipant"]["pseudonym"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_participant_input_writes_nothing() {
    let world = World::new().await;
    let fx = world.app.fixtures();
    let other = fx
        .organisation("ngo-other", entity::enums::OrganisationKind::Ngo, None)
        .await;
    let foreign = fx.project("Aarhus Vest", 751, &other, |_| {}).await;
    let project = gid(Kind::Project, world.project.id);
    let with = |field: &str, value: Value| json!({ "projectId": project, field: value });
    let cases = [
        (
            "missing project",
            &world.ngo,
            json!({ "firstName": "A" }),
            "BAD_USER_INPUT",
        ),
        (
            "birth year too early",
            &world.ngo,
            with("birthYear", json!(1850)),
            "BAD_USER_INPUT",
        ),
        (
            "birth year in the future",
            &world.ngo,
            with("birthYear", json!(2999)),
            "BAD_USER_INPUT",
        ),
        (
            "birth year not a number",
            &world.ngo,
            with("birthYear", json!("1980")),
            "BAD_USER_INPUT",
        ),
        (
            "upper-case language",
            &world.ngo,
            with("languages", json!(["AR"])),
            "BAD_USER_INPUT",
        ),
        (
            "long language",
            &world.ngo,
            with("languages", json!(["arab"])),
            "BAD_USER_INPUT",
        ),
        (
            "bad preferred language",
            &world.ngo,
            with("preferredLanguage", json!("x")),
            "BAD_USER_INPUT",
        ),
        (
            "unknown contact",
            &world.ngo,
            with("preferredContact", json!("PIGEON")),
            "BAD_USER_INPUT",
        ),
        (
            "oversize name",
            &world.ngo,
            with("firstName", json!("x".repeat(101))),
            "BAD_USER_INPUT",
        ),
        (
            "oversize notes",
            &world.ngo,
            with("notes", json!("x".repeat(4001))),
            "BAD_USER_INPUT",
        ),
        (
            "letters in phone",
            &world.ngo,
            with("phone", json!("ring me")),
            "BAD_USER_INPUT",
        ),
        (
            "not an e-mail",
            &world.ngo,
            with("email", json!("amina")),
            "BAD_USER_INPUT",
        ),
        (
            "wrong id type",
            &world.ngo,
            json!({ "projectId": gid(Kind::Participant, world.participant.id) }),
            "BAD_USER_INPUT",
        ),
        (
            "a project it cannot see",
            &world.ngo,
            json!({ "projectId": gid(Kind::Project, foreign.id) }),
            "NOT_FOUND",
        ),
        (
            "a project it does not operate",
            &world.municipality,
            with("firstName", json!("A")),
            "FORBIDDEN",
        ),
    ];
    let before = rows(&world.app).await;
    for (case, token, input, code) in cases {
        let response = register(&world, token, input).await;
        assert_eq!(response.code(), Some(code), "{case}: {:#}", response.body);
    }
    assert_eq!(rows(&world.app).await, before, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_is_recorded_once_and_checked() {
    let world = World::new().await;
    let app = &world.app;
    let her = gid(Kind::Participant, world.participant.id);
    let randers = gid(Kind::Organisation, world.base.randers.id);
    let record = |token: &str, input: Value| {
        let token = token.to_owned();
        async move {
            app.graphql(
                Some(&token),
                queries::RECORD_CONSENT,
                json!({ "input": input }),
            )
            .await
        }
    };
    let input = json!({ "participantId": her, "purpose": "SHARE_WITH_RECEIVER", "receiverOrganisationId": randers });
    let first = record(&world.ngo, input.clone()).await;
    let consent = &first.data()["recordConsent"];
    assert_eq!(consent["isLive"], true);
    assert_eq!(consent["receiver"]["id"], randers);
    let before = rows(app).await;
    let again = record(&world.ngo, input).await;
    assert_eq!(
        again.data()["recordConsent"]["id"],
        consent["id"],
        "a retry answers the first"
    );
    let cases = [
        (
            "sharing without receiver",
            &world.ngo,
            json!({ "participantId": her, "purpose": "SHARE_WITH_RECEIVER" }),
            "BAD_USER_INPUT",
        ),
        (
            "receiver on statistics",
            &world.ngo,
            json!({ "participantId": her, "purpose": "STATISTICS", "receiverOrganisationId": randers }),
            "BAD_USER_INPUT",
        ),
        (
            "unknown purpose",
            &world.ngo,
            json!({ "participantId": her, "purpose": "EVERYTHING" }),
            "BAD_USER_INPUT",
        ),
        (
            "unknown receiver",
            &world.ngo,
            json!({ "participantId": her, "purpose": "SHARE_WITH_RECEIVER", "receiverOrganisationId": gid(Kind::Organisation, uuid::Uuid::now_v7()) }),
            "BAD_USER_INPUT",
        ),
        (
            "wrong id type",
            &world.ngo,
            json!({ "participantId": randers, "purpose": "CONTACT" }),
            "BAD_USER_INPUT",
        ),
        (
            "unknown participant",
            &world.ngo,
            json!({ "participantId": gid(Kind::Participant, uuid::Uuid::now_v7()), "purpose": "CONTACT" }),
            "NOT_FOUND",
        ),
        // The receiver sees her on a referral, but does not keep her consents.
        (
            "the receiver",
            &world.municipality,
            json!({ "participantId": her, "purpose": "CONTACT" }),
            "NOT_FOUND",
        ),
    ];
    for (case, token, input, code) in cases {
        let response = record(token, input).await;
        assert_eq!(response.code(), Some(code), "{case}: {:#}", response.body);
    }
    assert_eq!(rows(app).await, before, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawing_consent_cancels_open_referrals_and_hides_her_data() {
    let world = World::new().await;
    let app = &world.app;
    let accepted = world.referral(ReferralStatus::Accepted).await;
    let draft = world.referral(ReferralStatus::Draft).await;
    let completed = world.referral(ReferralStatus::Completed).await;
    let completed_before = snapshot(app, completed.id).await;
    let her = gid(Kind::Participant, world.participant.id);
    let read = app
        .graphql(
            Some(&world.municipality),
            queries::PARTICIPANT_FIRST_NAME,
            json!({ "id": her }),
        )
        .await;
    assert_eq!(read.data()["participant"]["firstName"], "Amina");

    let consent = consent::Entity::find()
        .filter(consent::Column::ParticipantId.eq(world.participant.id))
        .filter(consent::Column::ReceiverOrganisationId.eq(world.base.copenhagen.id))
        .one(&app.db)
        .await
        .expect("reads")
        .expect("the world's consent");
    let id = gid(Kind::Consent, consent.id);
    // The receiver may not withdraw on her behalf; nothing changes.
    app.graphql(
        Some(&world.municipality),
        queries::WITHDRAW_CONSENT,
        json!({ "id": id }),
    )
    .await
    .expect_error("FORBIDDEN");
    app.graphql(
        Some(&world.ngo),
        queries::WITHDRAW_CONSENT,
        json!({ "id": "!!" }),
    )
    .await
    .expect_error("BAD_USER_INPUT");

    let response = app
        .graphql(
            Some(&world.ngo),
            queries::WITHDRAW_CONSENT,
            json!({ "id": id }),
        )
        .await;
    let withdrawn = &response.data()["withdrawConsent"];
    assert_eq!(withdrawn["isLive"], false);
    assert!(withdrawn["withdrawnAt"].is_string());

    for open in [&accepted, &draft] {
        let (row, events) = snapshot(app, open.id).await;
        let row = row.expect("exists");
        assert_eq!(row.status, ReferralStatus::Cancelled);
        assert_eq!(row.status_reason, Some(ReferralReason::ConsentWithdrawn));
        assert_eq!(row.version, 2);
        assert!(row.closed_at.is_some());
        let last = events.last().expect("events");
        assert_eq!(
            (last.sequence, last.to_status),
            (2, ReferralStatus::Cancelled)
        );
        assert_eq!(last.reason, Some(ReferralReason::ConsentWithdrawn));
    }
    assert_eq!(
        snapshot(app, completed.id).await,
        completed_before,
        "closed ones stay"
    );
    let audited = |action: entity::enums::AuditAction, entity: &'static str| {
        audit_event::Entity::find()
            .filter(audit_event::Column::ParticipantId.eq(world.participant.id))
            .filter(audit_event::Column::EntityType.eq(entity))
            .filter(audit_event::Column::Action.eq(action))
            .count(&app.db)
    };
    let revoked = audited(entity::enums::AuditAction::Revoke, "consent").await;
    assert_eq!(revoked.expect("count"), 1, "the withdrawal is audited");
    let cancelled = audited(entity::enums::AuditAction::Transition, "referral").await;
    assert_eq!(cancelled.expect("count"), 2, "each cancellation is audited");

    let read = app
        .graphql(
            Some(&world.municipality),
            queries::PARTICIPANT_FIRST_NAME,
            json!({ "id": her }),
        )
        .await;
    assert!(
        read.body["data"]["participant"]["firstName"].is_null(),
        "{:#}",
        read.body
    );
    read.expect_error("FORBIDDEN");

    // Withdrawing again changes nothing.
    let events = audit_event::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    app.graphql(
        Some(&world.ngo),
        queries::WITHDRAW_CONSENT,
        json!({ "id": id }),
    )
    .await
    .data();
    assert_eq!(
        audit_event::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        events
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pseudonym_collision_is_retried_inside_the_transaction() {
    use sea_orm::{ActiveValue::Set, TransactionTrait};

    let world = World::new().await;
    let app = &world.app;
    let taken = world.participant.pseudonym.clone();
    let txn = app.db.begin().await.expect("a transaction");
    let now = crate::harness::fixtures::now();
    let row = |pseudonym: String| participant::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        pseudonym: Set(pseudonym),
        project_id: Set(Some(world.project.id)),
        registered_by_mother_id: Set(None),
        registered_by_organisation_id: Set(world.base.ngo.id),
        first_name: Set(None),
        birth_year: Set(None),
        preferred_contact: Set(None),
        preferred_language: Set(None),
        phone: Set(None),
        email: Set(None),
        district: Set(None),
        municipality_case_ref: Set(None),
        notes: Set(None),
        version: Set(1),
        erased_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut offered = vec!["BM-FREE-2222".to_owned(), taken.clone(), taken].into_iter();
    let next = move || Ok(offered.next_back().expect("enough pseudonyms"));
    let inserted = bydel::participants::write::insert_with_fresh_pseudonym(&txn, row, next)
        .await
        .expect("the third pseudonym is free");
    assert_eq!(inserted.pseudonym, "BM-FREE-2222");
    // The transaction survived the two failed inserts (PostgreSQL would abort it otherwise).
    txn.commit().await.expect("the transaction commits");
    let stored = participant::Entity::find_by_id(inserted.id)
        .one(&app.db)
        .await
        .expect("reads");
    assert!(stored.is_some());
}
