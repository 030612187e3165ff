//! Her data's whole life over HTTP, on both databases: register, consent, refer, read
//! (audited), rectify, export, erase (figures unchanged, no personal value left anywhere in
//! the database), and the retention sweep on a clock moved forward, run by two replicas of
//! which exactly one erases. Also every refusal on the way: unknown id, wrong party, stale
//! version, bad input, a consent past its period.

use bydel::{
    ids::Kind,
    participants::retention::{self, RetentionPolicy},
};
use chrono::{Months, TimeDelta, Utc};
use entity::{
    audit_event,
    enums::{AuditAction, ConsentPurpose, ReferralStatus},
    participant, referral,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, Statement,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{cli::run_in, harness::TestApp, queries, referrals::World, tokens::gid};

/// What an NGO caseworker system with the right to answer her requests holds.
const ADMIN: &str = "projects:read mothers:read visits:write referrals:write participants:admin";

const UPDATE: &str = "mutation Update($input: UpdateParticipantInput!) {
  updateParticipant(input: $input) { id version phone municipalityCaseRef languages }
}";
const ERASE: &str = "mutation Erase($id: ID!, $reason: String!) {
  eraseParticipant(id: $id, reason: $reason) {
    id pseudonym erasedAt version firstName phone email district notes languages
    preferredLanguage
    consents { purpose isLive }
  }
}";
const EXPORT: &str = "query Export($id: ID!) { participantDataExport(participantId: $id) }";
const HER: &str = "query Her($id: ID!) {
  participant(id: $id) {
    firstName phone version erasedAt
    referrals { nodes { id status } }
  }
}";
const HER_VISITS: &str =
    "query Visits($id: ID!) { participant(id: $id) { visits { nodes { id } } } }";

fn input(id: &str, version: i64, fields: Value) -> Value {
    let mut input = json!({ "id": id, "version": version });
    if let (Some(input), Value::Object(fields)) = (input.as_object_mut(), fields) {
        input.extend(fields);
    }
    json!({ "input": input })
}

async fn audit_count(db: &DatabaseConnection, participant: Uuid, action: AuditAction) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::ParticipantId.eq(participant))
        .filter(audit_event::Column::Action.eq(action))
        .count(db)
        .await
        .expect("count audit events")
}

/// Every column of every table of the database, as `(table, column)`.
async fn columns(db: &DatabaseConnection) -> Vec<(String, String)> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => {
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
        _ => {
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = 'public'"
        }
    };
    let rows = db
        .query_all_raw(Statement::from_string(backend, sql))
        .await
        .expect("the catalogue");
    rows.iter()
        .map(|row| {
            (
                row.try_get_by_index::<String>(0).expect("table"),
                row.try_get_by_index::<String>(1).expect("column"),
            )
        })
        .collect()
}

/// The `table.column`s anywhere in the database whose text contains `needle`.
async fn found_anywhere(db: &DatabaseConnection, needle: &str) -> Vec<String> {
    let backend = db.get_database_backend();
    let mut found = Vec::new();
    for (table, column) in columns(db).await {
        let sql =
            format!("SELECT COUNT(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE $1");
        let sql = match backend {
            DbBackend::Sqlite => sql.replace("$1", "?"),
            _ => sql,
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [format!("%{needle}%").into()],
            ))
            .await
            .expect("a count")
            .expect("a row");
        if row.try_get_by_index::<i64>(0).expect("a number") > 0 {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

async fn register(app: &TestApp, token: &str, project: &str, fields: Value) -> (String, Uuid) {
    let mut input = json!({ "projectId": project });
    if let (Some(input), Value::Object(fields)) = (input.as_object_mut(), fields) {
        input.extend(fields);
    }
    let response = app
        .graphql(
            Some(token),
            queries::REGISTER_PARTICIPANT,
            json!({ "input": input }),
        )
        .await;
    let id = response.data()["registerParticipant"]["id"]
        .as_str()
        .expect("her id")
        .to_owned();
    let uuid = bydel::ids::decode_as(&id, Kind::Participant, "id").expect("a participant id");
    (id, uuid)
}

async fn step(app: &TestApp, token: &str, referral: &str, version: i64, action: Value) -> i64 {
    let mut input = json!({ "id": referral, "version": version });
    if let (Some(input), Value::Object(action)) = (input.as_object_mut(), action) {
        input.extend(action);
    }
    let response = app
        .graphql(
            Some(token),
            queries::TRANSITION_REFERRAL,
            json!({ "input": input }),
        )
        .await;
    response.data()["transitionReferral"]["version"]
        .as_i64()
        .expect("a version")
}

async fn figures(app: &TestApp, token: &str) -> Value {
    app.graphql(Some(token), queries::STATS_FIGURES, json!({}))
        .await
        .data()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn her_data_lives_from_registration_through_erasure_to_retention() {
    let world = World::new().await;
    let app = &world.app;
    let fx = app.fixtures();
    let ngo = app.token("ngo-red-cross", ADMIN).await;
    let municipality = world.municipality.clone();
    let project = gid(Kind::Project, world.project.id);
    let copenhagen = gid(Kind::Organisation, world.base.copenhagen.id);

    // Register and consent.
    let (her, id) = register(
        app,
        &ngo,
        &project,
        json!({
            "firstName": "Zahrawalk",
            "birthYear": 1984,
            "preferredLanguage": "ar",
            "languages": ["ar", "da"],
            "phone": "+45 31 41 59 26",
            "email": "zahrawalk@example.dk",
            "district": "Mjolnerwalkparken",
            "notes": "NOTEWALK-register",
        }),
    )
    .await;
    let pseudonym = participant::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("read her")
        .expect("her row")
        .pseudonym;
    app.graphql(
        Some(&ngo),
        queries::RECORD_CONSENT,
        json!({ "input": {
            "participantId": her, "purpose": "SHARE_WITH_RECEIVER", "receiverOrganisationId": copenhagen,
        }}),
    )
    .await
    .data();

    // A visit with her, and a referral about her to the municipality, with notes.
    let mother = fx.mother(&world.project, "Hodan", &["so"], |_| {}).await;
    let visited_on = (Utc::now() - TimeDelta::days(3)).date_naive();
    app.graphql(
        Some(&ngo),
        queries::RECORD_VISIT,
        json!({ "input": {
            "projectId": project, "motherId": gid(Kind::Mother, mother.id), "participantId": her,
            "channel": "HOME_VISIT", "visitedOn": visited_on, "durationMinutes": 60,
            "contactOrigin": "MOTHER_NETWORK", "nextStep": "REFERRAL", "topics": ["HEALTH"],
            "notes": "NOTEWALK-visit",
        }}),
    )
    .await
    .data();
    let created = app
        .graphql(
            Some(&ngo),
            queries::CREATE_REFERRAL,
            json!({ "input": {
                "projectId": project, "participantId": her, "receiverOrganisationId": copenhagen,
                "serviceCategory": "HEALTH_VISITOR", "note": "NOTEWALK-referral",
            }}),
        )
        .await;
    let referral = created.data()["createReferral"]["id"]
        .as_str()
        .expect("a referral id")
        .to_owned();
    let v = step(
        app,
        &ngo,
        &referral,
        1,
        json!({"action": "REQUEST", "note": "NOTEWALK-request"}),
    )
    .await;

    // The municipality reads her (audited), works the referral, keeps its case reference.
    let read = app
        .graphql(Some(&municipality), HER, json!({ "id": her }))
        .await;
    assert_eq!(read.data()["participant"]["firstName"], "Zahrawalk");
    assert_eq!(
        read.data()["participant"]["referrals"]["nodes"][0]["id"],
        referral
    );
    let visits = app
        .graphql(Some(&ngo), HER_VISITS, json!({ "id": her }))
        .await;
    assert_eq!(
        visits.data()["participant"]["visits"]["nodes"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let no_visits = app
        .graphql(Some(&municipality), HER_VISITS, json!({ "id": her }))
        .await;
    assert_eq!(
        no_visits.code(),
        Some("FORBIDDEN"),
        "visits need visits:read"
    );
    let v = step(
        app,
        &municipality,
        &referral,
        v,
        json!({"action": "ACCEPT"}),
    )
    .await;
    let v = step(app, &municipality, &referral, v, json!({"action": "START"})).await;
    step(
        app,
        &municipality,
        &referral,
        v,
        json!({"action": "COMPLETE", "outcome": "SERVICE_PROVIDED", "note": "NOTEWALK-complete"}),
    )
    .await;
    let kept = app
        .graphql(
            Some(&municipality),
            UPDATE,
            input(
                &her,
                1,
                json!({ "municipalityCaseRef": "KKWALK-2026-0042" }),
            ),
        )
        .await;
    assert_eq!(
        kept.data()["updateParticipant"]["municipalityCaseRef"],
        "KKWALK-2026-0042"
    );
    assert_eq!(kept.data()["updateParticipant"]["version"], 2);
    let not_hers = app
        .graphql(
            Some(&municipality),
            UPDATE,
            input(&her, 2, json!({ "phone": "+45 11 11 11 11" })),
        )
        .await;
    assert_eq!(
        not_hers.code(),
        Some("FORBIDDEN"),
        "{:?}",
        not_hers.errors()
    );

    // The NGO corrects her phone number; the stored idempotent answer holds the new one.
    let corrected = app
        .graphql_with_headers(
            &ngo,
            UPDATE,
            input(&her, 2, json!({ "phone": "+45 31 41 59 27" })),
            &[("Idempotency-Key", "walk-rectify-1")],
        )
        .await;
    assert_eq!(
        corrected.data()["updateParticipant"]["phone"],
        "+45 31 41 59 27"
    );
    assert_eq!(corrected.data()["updateParticipant"]["version"], 3);
    let stale = app
        .graphql(
            Some(&ngo),
            UPDATE,
            input(&her, 2, json!({ "phone": "+45 99 99 99 99" })),
        )
        .await;
    assert_eq!(stale.code(), Some("CONFLICT"));
    let rectified: Vec<String> = audit_event::Entity::find()
        .filter(audit_event::Column::ParticipantId.eq(id))
        .filter(audit_event::Column::Action.eq(AuditAction::Update))
        .filter(audit_event::Column::EntityType.eq("participant"))
        .all(&app.db)
        .await
        .expect("audit events")
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    assert_eq!(
        rectified,
        ["rectified: municipalityCaseRef", "rectified: phone"]
    );
    assert!(rectified.iter().all(|d| !d.contains("31 41")));

    // Her export holds all of it.
    let export = app.graphql(Some(&ngo), EXPORT, json!({ "id": her })).await;
    let document = &export.data()["participantDataExport"];
    assert_eq!(document["format"], "bydel.participant-export/1");
    assert_eq!(document["participant"]["firstName"], "Zahrawalk");
    assert_eq!(document["participant"]["phone"], "+45 31 41 59 27");
    assert_eq!(document["participant"]["languages"], json!(["ar", "da"]));
    assert_eq!(
        document["participant"]["municipalityCaseRef"],
        "KKWALK-2026-0042"
    );
    assert_eq!(document["consents"][0]["purpose"], "SHARE_WITH_RECEIVER");
    assert_eq!(document["referrals"][0]["note"], "NOTEWALK-referral");
    assert_eq!(document["referrals"][0]["status"], "COMPLETED");
    let timeline = document["referrals"][0]["timeline"]
        .as_array()
        .expect("a timeline");
    assert_eq!(timeline.len(), 5);
    assert_eq!(timeline[1]["note"], "NOTEWALK-request");
    assert_eq!(document["visits"][0]["notes"], "NOTEWALK-visit");
    assert_eq!(document["visits"][0]["topics"], json!(["HEALTH"]));
    let trail = document["auditEvents"].as_array().expect("an audit trail");
    let read_by_copenhagen = trail.iter().any(|e| {
        e["action"] == "READ"
            && e["organisation"]["id"] == copenhagen
            && e["client"]["name"].is_string()
    });
    assert!(read_by_copenhagen, "{trail:#?}");
    assert!(trail.iter().any(|e| e["detail"] == "data export (Art. 15)"));
    assert!(trail.iter().any(|e| e["detail"] == "rectified: phone"));

    // Erasure keeps every figure.
    let secretariat = app.token("secretariat", "stats:read").await;
    let municipal_stats = app.token("kommune-101", "stats:read").await;
    let exact_before = figures(app, &secretariat).await;
    let perturbed_before = figures(app, &municipal_stats).await;
    let erased = app
        .graphql(
            Some(&ngo),
            ERASE,
            json!({ "id": her, "reason": "request 2026-17" }),
        )
        .await;
    let erased = &erased.data()["eraseParticipant"];
    assert!(
        erased["pseudonym"]
            .as_str()
            .is_some_and(|p| p.starts_with("ER-")),
        "{erased}"
    );
    assert!(erased["erasedAt"].is_string());
    for field in [
        "firstName",
        "phone",
        "email",
        "district",
        "notes",
        "preferredLanguage",
    ] {
        assert_eq!(erased[field], Value::Null, "{field}");
    }
    assert_eq!(erased["languages"], json!([]));
    assert_eq!(
        erased["consents"],
        json!([{ "purpose": "SHARE_WITH_RECEIVER", "isLive": false }])
    );
    assert_eq!(figures(app, &secretariat).await, exact_before);
    assert_eq!(figures(app, &municipal_stats).await, perturbed_before);

    // No personal value is left anywhere in the database.
    for needle in [
        "Zahrawalk",
        "zahrawalk@",
        "31 41 59",
        "Mjolnerwalkparken",
        "NOTEWALK",
        "KKWALK",
        pseudonym.as_str(),
    ] {
        assert_eq!(
            found_anywhere(&app.db, needle).await,
            Vec::<String>::new(),
            "{needle}"
        );
    }
    let erasures: Vec<String> = audit_event::Entity::find()
        .filter(audit_event::Column::ParticipantId.eq(id))
        .filter(audit_event::Column::Action.eq(AuditAction::Delete))
        .all(&app.db)
        .await
        .expect("audit events")
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    assert_eq!(
        erasures,
        ["erased; 0 open referral(s) cancelled; reason: request 2026-17"]
    );

    // Idempotent and irreversible.
    let again = app
        .graphql(
            Some(&ngo),
            ERASE,
            json!({ "id": her, "reason": "request 2026-17" }),
        )
        .await;
    assert_eq!(
        again.data()["eraseParticipant"]["version"],
        erased["version"]
    );
    assert_eq!(audit_count(&app.db, id, AuditAction::Delete).await, 1);
    let version = erased["version"].as_i64().expect("a version");
    let after = app
        .graphql(
            Some(&ngo),
            UPDATE,
            input(&her, version, json!({ "firstName": "Back" })),
        )
        .await;
    assert_eq!(after.code(), Some("INVALID_TRANSITION"));
    let consent = app
        .graphql(
            Some(&ngo),
            queries::RECORD_CONSENT,
            json!({ "input": { "participantId": her, "purpose": "CONTACT" }}),
        )
        .await;
    assert_eq!(consent.code(), Some("INVALID_TRANSITION"));
    let replayed = app
        .graphql_with_headers(
            &ngo,
            UPDATE,
            input(&her, 2, json!({ "phone": "+45 31 41 59 27" })),
            &[("Idempotency-Key", "walk-rectify-1")],
        )
        .await;
    assert_ne!(
        replayed.body["data"]["updateParticipant"]["phone"],
        "+45 31 41 59 27"
    );

    // Retention on a clock moved forward: a woman registered today, with no activity after.
    let (leila, leila_id) = register(
        app,
        &ngo,
        &project,
        json!({ "firstName": "Leilawalk", "phone": "+45 27 18 28 18" }),
    )
    .await;
    // The operator corrects her at the command line, as updateParticipant would.
    let dir = tempfile::tempdir().expect("a working directory");
    let url = app.database_url();
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--database-url", url]);
        run_in(dir.path(), &all)
    };
    let updated = cli(&[
        "participant",
        "update",
        &leila,
        "--version",
        "1",
        "--set",
        "phone=+45 27 18 28 19",
        "--clear",
        "firstName",
    ]);
    updated.succeeded();
    assert_eq!(updated.stdout(), "2\n");
    let refused = cli(&[
        "participant",
        "update",
        &leila,
        "--version",
        "2",
        "--set",
        "shoeSize=38",
    ]);
    assert!(refused.refused().contains("shoeSize"));
    let stale = cli(&[
        "participant",
        "update",
        &leila,
        "--version",
        "1",
        "--set",
        "district=Vest",
    ]);
    assert!(stale.refused().contains("changed meanwhile"));
    let cli_audit = audit_event::Entity::find()
        .filter(audit_event::Column::ParticipantId.eq(leila_id))
        .filter(audit_event::Column::Action.eq(AuditAction::Update))
        .one(&app.db)
        .await
        .expect("audit")
        .expect("the command line's change is audited");
    assert_eq!(
        cli_audit.detail.as_deref(),
        Some("rectified: firstName, phone")
    );
    assert_eq!(cli_audit.client_id, None);
    let policy = RetentionPolicy::default();
    let now = bydel::db::now();
    assert!(
        retention::due(&app.db, &policy, now, 100)
            .await
            .expect("due")
            .is_empty()
    );
    let later = now + Months::new(25);
    let due: Vec<Uuid> = retention::due(&app.db, &policy, later, 100)
        .await
        .expect("due")
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert!(due.contains(&leila_id), "{due:?}");
    assert!(!due.contains(&id), "an erased participant is not due again");

    // Two replicas sweep at once: exactly one erases.
    let (second, _) = bydel::db::connect(app.database_url())
        .await
        .expect("a second replica's connection");
    let (a, b) = tokio::join!(
        retention::run_if_due(&app.db, &policy, later, false, None),
        retention::run_if_due(&second, &policy, later, false, None),
    );
    let ran: Vec<_> = [a.expect("replica a"), b.expect("replica b")]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ran.len(), 1, "exactly one replica sweeps: {ran:?}");
    assert!(ran[0].participants.contains(&leila_id));
    let sweeps = audit_event::Entity::find()
        .filter(audit_event::Column::EntityType.eq("retention"))
        .all(&app.db)
        .await
        .expect("audit events");
    assert_eq!(sweeps.len(), 1);
    let summary = sweeps[0].detail.clone().unwrap_or_default();
    assert!(
        summary.contains("participant(s) erased (no activity for 24 months)"),
        "{summary}"
    );
    assert!(!summary.contains("Leilawalk"));
    let third = retention::run_if_due(&second, &policy, later, false, None)
        .await
        .expect("a third try");
    assert_eq!(third, None, "not due again within the interval");
    let leila_now = app.graphql(Some(&ngo), HER, json!({ "id": leila })).await;
    assert_eq!(leila_now.data()["participant"]["firstName"], Value::Null);
    assert!(leila_now.data()["participant"]["erasedAt"].is_string());
    assert_eq!(
        found_anywhere(&app.db, "Leilawalk").await,
        Vec::<String>::new()
    );

    // The command line: export prints the same document; the dry run at today's clock finds
    // no one due.
    let printed = run_in(
        dir.path(),
        &[
            "participant",
            "export",
            &her,
            "--database-url",
            app.database_url(),
        ],
    );
    printed.succeeded();
    let document: Value = serde_json::from_str(&printed.stdout()).expect("JSON on stdout");
    assert_eq!(document["participant"]["id"], her);
    assert!(document["participant"]["erasedAt"].is_string());
    let dry = run_in(
        dir.path(),
        &[
            "retention",
            "run",
            "--dry-run",
            "--database-url",
            app.database_url(),
        ],
    );
    dry.succeeded();
    assert_eq!(dry.stdout(), "");
    assert!(
        dry.stderr().contains("0 participant(s) due"),
        "{}",
        dry.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_her_parties_rectify_export_and_erase_her() {
    let world = World::new().await;
    let app = &world.app;
    let fx = app.fixtures();
    let her = gid(Kind::Participant, world.participant.id);
    let other = fx
        .organisation("ngo-other", entity::enums::OrganisationKind::Ngo, None)
        .await;
    fx.project("Aarhus Vest", 751, &other, |_| {}).await;
    let stranger = app.token("ngo-other", ADMIN).await;
    let writer_only = world.ngo.as_str();
    let municipal_admin = app
        .token("kommune-101", "participants:admin referrals:read")
        .await;
    let unknown = gid(Kind::Participant, Uuid::now_v7());
    let before = audit_event::Entity::find()
        .count(&app.db)
        .await
        .expect("count");

    let (stranger, municipal_admin) = (stranger.as_str(), municipal_admin.as_str());
    let cases: [(&str, &str, Value, &str); 8] = [
        (
            "unknown id",
            writer_only,
            json!({"query": UPDATE, "v": input(&unknown, 1, json!({"phone": "1234"}))}),
            "NOT_FOUND",
        ),
        (
            "stranger rectifies",
            stranger,
            json!({"query": UPDATE, "v": input(&her, 1, json!({"phone": "1234"}))}),
            "NOT_FOUND",
        ),
        (
            "bad phone",
            writer_only,
            json!({"query": UPDATE, "v": input(&her, 1, json!({"phone": "call me"}))}),
            "BAD_USER_INPUT",
        ),
        (
            "ngo keeps the municipality's reference",
            writer_only,
            json!({"query": UPDATE, "v": input(&her, 1, json!({"municipalityCaseRef": "X-1"}))}),
            "FORBIDDEN",
        ),
        (
            "export without admin",
            writer_only,
            json!({"query": EXPORT, "v": {"id": her}}),
            "FORBIDDEN",
        ),
        (
            "stranger exports",
            stranger,
            json!({"query": EXPORT, "v": {"id": her}}),
            "NOT_FOUND",
        ),
        (
            "receiver erases",
            municipal_admin,
            json!({"query": ERASE, "v": {"id": her, "reason": "asked"}}),
            "NOT_FOUND",
        ),
        (
            "erase without admin",
            writer_only,
            json!({"query": ERASE, "v": {"id": her, "reason": "asked"}}),
            "FORBIDDEN",
        ),
    ];
    for (what, token, case, code) in cases {
        let query = case["query"].as_str().expect("a query");
        let response = app.graphql(Some(token), query, case["v"].clone()).await;
        assert_eq!(
            response.code(),
            Some(code),
            "{what}: {:?}",
            response.errors()
        );
    }
    let still = participant::Entity::find_by_id(world.participant.id)
        .one(&app.db)
        .await
        .expect("read her")
        .expect("her row");
    assert_eq!(still, world.participant, "nothing about her changed");
    let after = audit_event::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(after, before, "a refusal writes no audit event");

    // A reason that repeats her data is refused before anything is erased.
    let secretariat = app.token("secretariat", "participants:admin").await;
    let repeats = app
        .graphql(
            Some(&secretariat),
            ERASE,
            json!({"id": her, "reason": "Amina asked"}),
        )
        .await;
    assert_eq!(repeats.code(), Some("BAD_USER_INPUT"));
    assert_eq!(
        participant::Entity::find_by_id(world.participant.id)
            .one(&app.db)
            .await
            .expect("read her")
            .and_then(|p| p.first_name)
            .as_deref(),
        Some("Amina")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_her_cancels_her_open_referrals_and_keeps_the_counts() {
    let world = World::new().await;
    let app = &world.app;
    let open = world.referral(ReferralStatus::Requested).await;
    let closed = world.referral(ReferralStatus::Completed).await;
    let secretariat = app
        .token("secretariat", "participants:admin stats:read")
        .await;
    let referrals_before = referral::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    let total = |figures: &Value| figures["stats"]["referrals"]["total"]["value"].clone();
    let before = figures(app, &secretariat).await;
    let her = gid(Kind::Participant, world.participant.id);
    let erased = app
        .graphql(
            Some(&secretariat),
            ERASE,
            json!({"id": her, "reason": "request 7"}),
        )
        .await;
    erased.data();
    let open = referral::Entity::find_by_id(open.id)
        .one(&app.db)
        .await
        .expect("read")
        .expect("the referral stays");
    assert_eq!(open.status, ReferralStatus::Cancelled);
    assert_eq!(
        open.status_reason,
        Some(entity::enums::ReferralReason::ConsentWithdrawn)
    );
    let closed = referral::Entity::find_by_id(closed.id)
        .one(&app.db)
        .await
        .expect("read")
        .expect("the referral stays");
    assert_eq!(closed.status, ReferralStatus::Completed);
    assert_eq!(
        referral::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        referrals_before
    );
    let after = figures(app, &secretariat).await;
    assert_eq!(total(&after), total(&before), "every referral still counts");
    let live = entity::consent::Entity::find()
        .filter(entity::consent::Column::ParticipantId.eq(world.participant.id))
        .filter(entity::consent::Column::WithdrawnAt.is_null())
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(live, 0, "every consent is withdrawn");
    // The receiver no longer sees anything of her.
    let read = app
        .graphql(
            Some(&world.municipality),
            queries::PARTICIPANT_FIRST_NAME,
            json!({ "id": her }),
        )
        .await;
    assert_ne!(read.body["data"]["participant"]["firstName"], "Amina");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_ends_with_its_period_and_statistics_needs_none() {
    let world = World::new().await;
    let app = &world.app;
    let fx = app.fixtures();
    let her = gid(Kind::Participant, world.participant.id);
    let record = |fields: Value| {
        let mut input = json!({ "participantId": her });
        if let (Some(input), Value::Object(fields)) = (input.as_object_mut(), fields) {
            input.extend(fields);
        }
        json!({ "input": input })
    };
    let now = Utc::now();
    let other_project = fx
        .project("Aarhus Vest", 751, &world.base.ngo, |_| {})
        .await;
    let foreign_mother = fx.mother(&other_project, "Sara", &["ar"], |_| {}).await;
    let cases = [
        (json!({"purpose": "STATISTICS"}), "input.purpose"),
        (
            json!({"purpose": "CONTACT", "validUntil": now - TimeDelta::hours(1)}),
            "input.validUntil",
        ),
        (
            json!({"purpose": "CONTACT", "givenAt": now + TimeDelta::hours(1)}),
            "input.givenAt",
        ),
        (
            json!({"purpose": "CONTACT", "givenAt": now - TimeDelta::days(200)}),
            "input.givenAt",
        ),
        (
            json!({"purpose": "CONTACT", "recordedByMotherId": gid(Kind::Mother, foreign_mother.id)}),
            "input.recordedByMotherId",
        ),
    ];
    let consents_before = entity::consent::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    for (fields, field) in cases {
        let response = app
            .graphql(
                Some(&world.ngo),
                queries::RECORD_CONSENT,
                record(fields.clone()),
            )
            .await;
        assert_eq!(response.code(), Some("BAD_USER_INPUT"), "{fields}");
        assert!(
            response.message().starts_with(field),
            "{fields}: {}",
            response.message()
        );
    }
    assert_eq!(
        entity::consent::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        consents_before
    );

    // The schema says so too: STATISTICS is deprecated, the others are not.
    let purposes = app
        .graphql(
            Some(&world.ngo),
            r#"{ __type(name: "ConsentPurpose") {
                   enumValues(includeDeprecated: true) { name isDeprecated } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        purposes.data()["__type"]["enumValues"],
        json!([
            {"name": "SHARE_WITH_RECEIVER", "isDeprecated": false},
            {"name": "CONTACT", "isDeprecated": false},
            {"name": "STATISTICS", "isDeprecated": true},
        ])
    );

    // A paper consent with a period, taken by a mother of her project.
    let mother = fx.mother(&world.project, "Hodan", &["so"], |_| {}).await;
    let given = now - TimeDelta::days(10);
    let until = now + TimeDelta::days(365);
    let paper = app
        .graphql(
            Some(&world.ngo),
            "mutation C($input: RecordConsentInput!) {
               recordConsent(input: $input) { id givenAt validUntil isLive }
             }",
            record(json!({
                "purpose": "CONTACT", "givenAt": given, "validUntil": until,
                "recordedByMotherId": gid(Kind::Mother, mother.id),
            })),
        )
        .await;
    let paper = &paper.data()["recordConsent"];
    assert_eq!(paper["isLive"], true);
    let paper_id = paper["id"].as_str().expect("an id");
    let paper_id = bydel::ids::decode_as(paper_id, Kind::Consent, "id").expect("a consent id");
    let stored = entity::consent::Entity::find_by_id(paper_id)
        .one(&app.db)
        .await
        .expect("read")
        .expect("the consent");
    assert_eq!(stored.recorded_by_mother_id, Some(mother.id));
    assert_eq!(stored.given_at.timestamp(), given.timestamp());
    assert_eq!(
        stored.valid_until.map(|u| u.timestamp()),
        Some(until.timestamp())
    );

    // Her sharing consent ends: the receiver reads nothing more and cannot be asked.
    world.referral(ReferralStatus::Requested).await;
    let first_name = json!({ "id": her });
    let read = || {
        app.graphql(
            Some(&world.municipality),
            queries::PARTICIPANT_FIRST_NAME,
            first_name.clone(),
        )
    };
    assert_eq!(read().await.data()["participant"]["firstName"], "Amina");
    let draft = world.referral(ReferralStatus::Draft).await;
    entity::consent::Entity::update_many()
        .col_expr(
            entity::consent::Column::ValidUntil,
            sea_orm::sea_query::Expr::value(now - TimeDelta::minutes(1)),
        )
        .filter(entity::consent::Column::ParticipantId.eq(world.participant.id))
        .filter(entity::consent::Column::Purpose.eq(ConsentPurpose::ShareWithReceiver))
        .exec(&app.db)
        .await
        .expect("the period ends");
    let ended = read().await;
    assert_eq!(ended.code(), Some("FORBIDDEN"));
    let request = world
        .transition(
            &world.ngo,
            json!({"id": gid(Kind::Referral, draft.id), "version": draft.version, "action": "REQUEST"}),
        )
        .await;
    assert_eq!(request.code(), Some("FORBIDDEN"));
    let consents = app
        .graphql(
            Some(&world.ngo),
            "query Q($id: ID!) { participant(id: $id) { consents { purpose isLive validUntil } } }",
            json!({ "id": her }),
        )
        .await;
    let sharing = consents.data()["participant"]["consents"]
        .as_array()
        .expect("consents")
        .iter()
        .find(|c| c["purpose"] == "SHARE_WITH_RECEIVER")
        .cloned()
        .expect("her sharing consent");
    assert_eq!(sharing["isLive"], false);
}

/// Registered 2009, referral closed 2009: due; the same with an open referral, or a recent
/// visit, is not. The sweep erases the first only, deletes audit events past the audit
/// period, and a dry run before it changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_sweep_erases_only_who_is_due() {
    use sea_orm::ActiveValue::Set;
    let world = World::new().await;
    let app = &world.app;
    let fx = app.fixtures();
    let long_ago = crate::harness::fixtures::at("2009-03-01T10:00:00Z");
    let old = |name: &'static str| {
        move |p: &mut participant::ActiveModel| {
            p.first_name = Set(Some(name.to_owned()));
            p.phone = Set(Some("+45 20 09 20 09".into()));
            p.created_at = Set(long_ago);
            p.updated_at = Set(long_ago);
        }
    };
    let closed = fx
        .participant(
            "BM-OLD-0001",
            Some(&world.project),
            &world.base.ngo,
            &["ar"],
            old("Oldclosed"),
        )
        .await;
    let busy = fx
        .participant(
            "BM-OLD-0002",
            Some(&world.project),
            &world.base.ngo,
            &[],
            old("Oldbusy"),
        )
        .await;
    let visited = fx
        .participant(
            "BM-OLD-0003",
            Some(&world.project),
            &world.base.ngo,
            &[],
            old("Oldvisited"),
        )
        .await;
    let finished_2009 = |r: &mut referral::ActiveModel| {
        r.created_at = Set(long_ago);
        r.requested_at = Set(Some(long_ago));
        r.closed_at = Set(Some(long_ago));
    };
    fx.referral(
        &world.base.ngo,
        &world.base.copenhagen,
        &closed,
        ReferralStatus::Completed,
        finished_2009,
    )
    .await;
    fx.referral(
        &world.base.ngo,
        &world.base.copenhagen,
        &busy,
        ReferralStatus::Accepted,
        |_| {},
    )
    .await;
    let mother = fx.mother(&world.project, "Hodan", &["so"], |_| {}).await;
    let recent = (Utc::now() - TimeDelta::days(30)).date_naive();
    fx.visit(
        &mother,
        recent,
        entity::enums::VisitChannel::HomeVisit,
        &[],
        |v| {
            v.participant_id = Set(Some(visited.id));
        },
    )
    .await;
    // An audit event of 2015 is past the 60 months; one of last year is not.
    for (at, detail) in [
        ("2015-01-01T00:00:00Z", "very old"),
        ("2025-06-01T00:00:00Z", "recent"),
    ] {
        audit_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            occurred_at: Set(crate::harness::fixtures::at(at)),
            request_id: Set(None),
            client_id: Set(None),
            organisation_id: Set(None),
            mother_id: Set(None),
            staff_member_id: Set(None),
            action: Set(AuditAction::Read),
            entity_type: Set("participant".into()),
            entity_id: Set(None),
            participant_id: Set(None),
            detail: Set(Some(detail.into())),
        }
        .insert_into(&app.db)
        .await;
    }
    let policy = RetentionPolicy::default();
    let now = bydel::db::now();
    let dry = retention::sweep(&app.db, &policy, now, true, None)
        .await
        .expect("a dry run");
    assert_eq!(dry.participants, [closed.id]);
    assert_eq!(dry.audit_events, 1);
    let unchanged = participant::Entity::find_by_id(closed.id)
        .one(&app.db)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(unchanged.first_name.as_deref(), Some("Oldclosed"));

    let done = retention::run_if_due(&app.db, &policy, now, true, None)
        .await
        .expect("a sweep")
        .expect("the lease was free");
    assert_eq!(done.participants, [closed.id]);
    assert_eq!(done.audit_events, 1);
    let names = |p: Option<participant::Model>| p.and_then(|p| p.first_name);
    let find = |id: Uuid| participant::Entity::find_by_id(id).one(&app.db);
    assert_eq!(names(find(closed.id).await.expect("read")), None);
    assert_eq!(
        names(find(busy.id).await.expect("read")).as_deref(),
        Some("Oldbusy")
    );
    assert_eq!(
        names(find(visited.id).await.expect("read")).as_deref(),
        Some("Oldvisited")
    );
    let details: Vec<String> = audit_event::Entity::find()
        .all(&app.db)
        .await
        .expect("audit")
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    assert!(!details.contains(&"very old".to_owned()));
    assert!(details.contains(&"recent".to_owned()));
    assert!(
        details
            .iter()
            .any(|d| d.starts_with("retention sweep: 1 participant(s) erased")),
        "{details:?}"
    );
}

/// `insert` for a row the suite writes as history (the audit trail is append-only in the
/// API, so there is no fixture for it).
trait InsertInto {
    async fn insert_into(self, db: &DatabaseConnection);
}

impl InsertInto for audit_event::ActiveModel {
    async fn insert_into(self, db: &DatabaseConnection) {
        audit_event::Entity::insert(self)
            .exec_without_returning(db)
            .await
            .expect("an audit event");
    }
}

/// A failure late in an erasure (here the database refuses to empty a timeline note, after
/// her row, languages and consents were already changed in the transaction) leaves her
/// exactly as she was: nothing half-erased.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_that_fails_midway_leaves_her_whole() {
    let world = World::new().await;
    let app = &world.app;
    let fx = app.fixtures();
    let referral = world.referral(ReferralStatus::Completed).await;
    fx.event(
        &referral,
        &world.base.ngo,
        9,
        (Some(ReferralStatus::Completed), ReferralStatus::Completed),
        |e| {
            e.note = sea_orm::ActiveValue::Set(Some("a note the trigger guards".into()));
        },
    )
    .await;
    let backend = app.db.get_database_backend();
    let refuse = match backend {
        DbBackend::Sqlite => vec![
            "CREATE TRIGGER refuse_note_change BEFORE UPDATE OF note ON referral_event \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
                .to_owned(),
        ],
        _ => vec![
            "CREATE FUNCTION refuse_note_change() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"
                .to_owned(),
            "CREATE TRIGGER refuse_note_change BEFORE UPDATE OF note ON referral_event \
             FOR EACH ROW EXECUTE FUNCTION refuse_note_change()"
                .to_owned(),
        ],
    };
    for sql in refuse {
        app.db
            .execute_raw(Statement::from_string(backend, sql))
            .await
            .expect("the injected failure is installed");
    }
    let before = participant::Entity::find_by_id(world.participant.id)
        .one(&app.db)
        .await
        .expect("read")
        .expect("her row");
    let consents_before = entity::consent::Entity::find()
        .filter(entity::consent::Column::ParticipantId.eq(before.id))
        .all(&app.db)
        .await
        .expect("consents");
    let secretariat = app.token("secretariat", "participants:admin").await;
    let audit_before = audit_event::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    let failed = app
        .graphql(
            Some(&secretariat),
            ERASE,
            json!({"id": gid(Kind::Participant, before.id), "reason": "request 9"}),
        )
        .await;
    // SQLite reports the trigger's abort as a constraint, PostgreSQL as an internal error:
    // what matters is that the erasure failed and took everything with it.
    assert!(failed.code().is_some(), "the erasure fails");
    assert_eq!(failed.body["data"]["eraseParticipant"], Value::Null);
    let after = participant::Entity::find_by_id(before.id)
        .one(&app.db)
        .await
        .expect("read")
        .expect("her row");
    assert_eq!(after, before);
    let consents_after = entity::consent::Entity::find()
        .filter(entity::consent::Column::ParticipantId.eq(before.id))
        .all(&app.db)
        .await
        .expect("consents");
    assert_eq!(consents_after, consents_before);
    assert_eq!(
        bydel::participants::write::languages_of(&app.db, before.id)
            .await
            .expect("languages"),
        ["ar"]
    );
    assert_eq!(
        audit_event::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        audit_before
    );
}
