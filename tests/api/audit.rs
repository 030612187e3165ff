//! The audit trail over GraphQL: every token-management change leaves exactly one event
//! naming the acting client, its organisation and the request; reads of a participant's
//! personal data land on her trail; the secretariat reads the trail by client and by
//! participant (a data-subject access request) with `audit:read`, newest first.

use bydel::{
    audit::{Actor, Event},
    ids::Kind,
};
use chrono::Duration;
use entity::{audit_event, enums::AuditAction};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbBackend, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    harness::{ALL_READ, TestApp, fixtures, nodes, total_count},
    queries,
    tokens::{ADMIN, client_of, gid, new_client, string, token_id, written},
};

async fn trail(app: &TestApp, token: &str, filter: Value) -> Value {
    let response = app
        .graphql(
            Some(token),
            queries::AUDIT_EVENTS,
            json!({ "filter": filter, "first": 100 }),
        )
        .await;
    response.data()["auditEvents"].clone()
}

/// The events of a trail answer, as (requestId, action, entityType, entityId).
fn summary(trail: &Value) -> Vec<(String, String, String, String)> {
    let data = json!({ "auditEvents": trail });
    nodes(&data, "auditEvents")
        .into_iter()
        .map(|event| {
            (
                event["requestId"].as_str().unwrap_or_default().to_owned(),
                string(&event["action"]),
                string(&event["entityType"]),
                event["entityId"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The UUID inside a global id.
fn uuid_of(global: &str) -> String {
    let (_, uuid) = bydel::ids::decode(global, "id").expect("a Bydel id");
    uuid.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_token_mutation_leaves_one_event_with_its_request_id() {
    let app = TestApp::spawn().await;
    let base = app.fixtures().base().await;
    let admin = app.token("secretariat", ADMIN).await;
    let admin_client = client_of(&admin);
    let randers = gid(Kind::Organisation, base.randers.id);
    let send = async |request_id: &str, query: &str, variables: Value| {
        let response = app
            .graphql_with_request_id(&admin, request_id, query, variables)
            .await;
        response.data().clone()
    };

    let input =
        json!({ "organisationId": randers, "name": "caseworker", "scopes": ["referrals:write"] });
    let created = send(
        "req-create",
        queries::CREATE_API_CLIENT,
        json!({ "input": input }),
    )
    .await;
    let client = string(&created["createApiClient"]["id"]);
    let issued = send(
        "req-issue",
        queries::ISSUE_TOKEN,
        json!({ "input": { "clientId": client } }),
    )
    .await;
    let token = string(&issued["issueToken"]["apiToken"]["id"]);
    send(
        "req-revoke-token",
        queries::REVOKE_TOKEN,
        json!({ "id": token }),
    )
    .await;
    send(
        "req-revoke-token-again",
        queries::REVOKE_TOKEN,
        json!({ "id": token }),
    )
    .await;
    send(
        "req-revoke-client",
        queries::REVOKE_API_CLIENT,
        json!({ "id": client }),
    )
    .await;
    send(
        "req-delete-client",
        queries::DELETE_API_CLIENT,
        json!({ "id": client }),
    )
    .await;

    let trail = trail(&app, &admin, json!({ "clientId": admin_client })).await;
    let (client, token) = (uuid_of(&client), uuid_of(&token));
    let expected = [
        ("req-delete-client", "DELETE", "api_client", &client),
        ("req-revoke-client", "REVOKE", "api_client", &client),
        ("req-revoke-token", "REVOKE", "api_token", &token),
        ("req-issue", "CREATE", "api_token", &token),
        ("req-create", "CREATE", "api_client", &client),
    ]
    .map(|(r, a, t, id)| (r.to_owned(), a.to_owned(), t.to_owned(), id.clone()));
    assert_eq!(
        summary(&trail),
        expected,
        "one event per change, newest first; a repeated revoke changes nothing"
    );
    for event in nodes(&json!({ "auditEvents": trail }), "auditEvents") {
        assert_eq!(event["client"]["id"], admin_client.as_str());
        assert_eq!(event["clientId"], uuid_of(&admin_client).as_str());
        assert_eq!(event["organisation"]["shortName"], "secretariat");
        assert!(event["participantId"].is_null());
    }
    let first = string(&trail["edges"][0]["node"]["id"]);
    let node = app
        .graphql(Some(&admin), queries::NODE_TYPE, json!({ "id": first }))
        .await;
    assert_eq!(node.data()["node"]["__typename"], "AuditEvent");
    // Nothing in the trail carries a token's text.
    let text = trail.to_string();
    let issued_token = string(&issued["issueToken"]["token"]);
    assert!(!text.contains(&issued_token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_writes_its_changes_to_the_trail_as_the_operator() {
    let app = TestApp::spawn().await;
    let before = written(&app).await.2;
    // The harness issues exactly as `bydel token issue` does: a new client, then its token.
    let first = app.token("secretariat", "audit:read").await;
    // Widening the same client is an update; the second token another create.
    let second = app.token("secretariat", "audit:read stats:read").await;
    bydel::tokens::revoke(&app.db, &app.tokens, claims_uuid(&second))
        .await
        .expect("the operator revokes");

    let trail = trail(&app, &first, json!({})).await;
    let client = uuid_of(&client_of(&first));
    let expected = [
        ("REVOKE", "api_token", uuid_of(&token_id(&second))),
        ("CREATE", "api_token", uuid_of(&token_id(&second))),
        ("UPDATE", "api_client", client.clone()),
        ("CREATE", "api_token", uuid_of(&token_id(&first))),
        ("CREATE", "api_client", client),
    ]
    .map(|(a, t, id)| (String::new(), a.to_owned(), t.to_owned(), id));
    assert_eq!(summary(&trail), expected);
    assert_eq!(written(&app).await.2, before + 5);
    for event in nodes(&json!({ "auditEvents": trail }), "auditEvents") {
        assert!(event["client"].is_null() && event["clientId"].is_null());
        assert!(event["organisation"].is_null());
    }
}

fn claims_uuid(token: &str) -> Uuid {
    crate::harness::claims_of(token)
        .jti
        .parse()
        .expect("`jti` is a UUID")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_subject_access_request_lists_her_events_only() {
    let app = TestApp::spawn().await;
    let base = app.fixtures().base().await;
    let project = app
        .fixtures()
        .project("Bydelsmødre Randers", 730, &base.ngo, |_| {})
        .await;
    let her = app
        .fixtures()
        .participant("BM-AAAA", Some(&project), &base.ngo, &[], |p| {
            p.first_name = Set(Some("Amina".into()));
        })
        .await;
    let other = app
        .fixtures()
        .participant("BM-BBBB", Some(&project), &base.ngo, &[], |_| {})
        .await;
    let token = app
        .token("secretariat", &format!("{ALL_READ} audit:read tokens:read"))
        .await;

    // Reading her personal data over the API puts the read on her trail, with the request.
    let read = app
        .graphql_with_request_id(
            &token,
            "req-read-her",
            queries::PARTICIPANT_FIRST_NAME,
            json!({ "id": gid(Kind::Participant, her.id) }),
        )
        .await;
    assert_eq!(read.data()["participant"]["firstName"], "Amina");

    // Older events about both women, written as the data functions write them.
    let year_ago = fixtures::now() - Duration::days(365);
    for (participant, days) in [(&her, 0), (&other, 1), (&her, 2)] {
        let row = audit_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            occurred_at: Set(year_ago + Duration::days(days)),
            request_id: Set(Some(format!("old-{days}"))),
            client_id: Set(None),
            organisation_id: Set(None),
            mother_id: Set(None),
            staff_member_id: Set(None),
            action: Set(AuditAction::Update),
            entity_type: Set("participant".into()),
            entity_id: Set(Some(participant.id)),
            participant_id: Set(Some(participant.id)),
            detail: Set(None),
        };
        row.insert(&app.db).await.expect("an audit event inserts");
    }
    bydel::audit::record(
        &app.db,
        &Actor::operator(),
        [Event::new(AuditAction::Update, "participant", other.id).about_participant(other.id)],
    )
    .await
    .expect("an audit event is recorded");

    let hers = gid(Kind::Participant, her.id);
    let trail_of_her = trail(&app, &token, json!({ "participantId": hers })).await;
    let events: Vec<(String, String)> = summary(&trail_of_her)
        .into_iter()
        .map(|(request, action, _, _)| (request, action))
        .collect();
    assert_eq!(
        events,
        [
            ("req-read-her".to_owned(), "READ".to_owned()),
            ("old-2".to_owned(), "UPDATE".to_owned()),
            ("old-0".to_owned(), "UPDATE".to_owned()),
        ],
        "her events only, newest first"
    );
    let read_event = &trail_of_her["edges"][0]["node"];
    assert_eq!(read_event["participant"]["pseudonym"], "BM-AAAA");
    assert_eq!(read_event["participantId"], her.id.to_string());
    assert_eq!(read_event["entityType"], "participant");
    assert_eq!(read_event["client"]["id"], client_of(&token).as_str());

    // A period: from is inclusive, to exclusive.
    let period = json!({
        "participantId": hers,
        "from": year_ago + Duration::days(1),
        "to": year_ago + Duration::days(3),
    });
    let in_period = trail(&app, &token, period).await;
    assert_eq!(
        total_count(&json!({ "auditEvents": in_period }), "auditEvents"),
        1
    );
    assert_eq!(in_period["edges"][0]["node"]["requestId"], "old-2");

    // Paging through her trail keeps the order.
    let page = app
        .graphql(
            Some(&token),
            queries::AUDIT_EVENTS,
            json!({ "filter": { "participantId": hers }, "first": 2 }),
        )
        .await;
    let page = page.data()["auditEvents"].clone();
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let rest = app
        .graphql(
            Some(&token),
            queries::AUDIT_EVENTS,
            json!({ "filter": { "participantId": hers }, "first": 2, "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(
        rest.data()["auditEvents"]["edges"][0]["node"]["requestId"],
        "old-0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_the_trail_needs_audit_read_and_well_formed_filters() {
    let app = TestApp::spawn().await;
    let base = app.fixtures().base().await;
    let admin = app.token("secretariat", "tokens:admin").await;
    let secretariat = gid(Kind::Organisation, base.secretariat.id);
    new_client(&app, &admin, &secretariat, "script", &["stats:read"]).await;

    let refused = app
        .graphql(Some(&admin), queries::AUDIT_EVENTS, json!({}))
        .await;
    assert!(refused.expect_error("FORBIDDEN").contains("audit:read"));
    assert!(refused.body["data"]["auditEvents"].is_null());

    let auditor = app.token("secretariat", "audit:read").await;
    let cases = [
        (
            json!({ "participantId": client_of(&auditor) }),
            "filter.participantId",
        ),
        (
            json!({ "clientId": gid(Kind::Participant, Uuid::now_v7()) }),
            "filter.clientId",
        ),
        (json!({ "clientId": "garbage" }), "filter.clientId"),
        (
            json!({ "from": "2025-02-01T00:00:00Z", "to": "2025-01-01T00:00:00Z" }),
            "filter.to",
        ),
    ];
    for (filter, field) in cases {
        let response = app
            .graphql(
                Some(&auditor),
                queries::AUDIT_EVENTS,
                json!({ "filter": filter }),
            )
            .await;
        response.expect_error("BAD_USER_INPUT");
        assert_eq!(response.errors()[0]["extensions"]["field"], field);
    }

    // An unknown participant simply has no events.
    let nobody = json!({ "participantId": gid(Kind::Participant, Uuid::now_v7()) });
    let empty = trail(&app, &auditor, nobody).await;
    assert_eq!(
        total_count(&json!({ "auditEvents": empty }), "auditEvents"),
        0
    );

    // Without tokens:read the auditor sees the events, but each `client` is null with a
    // FORBIDDEN naming the scope; the rest of every event still loads.
    let everything = app
        .graphql(Some(&auditor), queries::AUDIT_EVENTS, json!({}))
        .await;
    assert_eq!(everything.status, 200);
    let events = nodes(&everything.body["data"], "auditEvents");
    let acted_by_clients = events.iter().filter(|e| e["clientId"].is_string()).count();
    assert!(acted_by_clients > 0, "{:#}", everything.body);
    assert!(
        events
            .iter()
            .all(|e| e["client"].is_null() && e["action"].is_string())
    );
    assert_eq!(everything.errors().len(), acted_by_clients);
    for error in everything.errors() {
        assert_eq!(error["extensions"]["code"], "FORBIDDEN");
        assert_eq!(
            error["path"].as_array().and_then(|p| p.last()),
            Some(&json!("client"))
        );
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains("tokens:read")
        );
    }

    // Outside the secretariat the trail is not there, whatever the scope.
    let ngo = app.token(&base.ngo.short_name, "audit:read").await;
    let response = app
        .graphql(Some(&ngo), queries::AUDIT_EVENTS, json!({}))
        .await;
    match response.code() {
        Some(code) => assert_eq!(code, "FORBIDDEN", "{:#}", response.body),
        None => assert_eq!(total_count(response.data(), "auditEvents"), 0),
    }
}

/// With `--read-audit deferred` a read of personal data is still on her trail when the
/// response arrives (PostgreSQL commits it without waiting for the WAL flush).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_read_audit_still_records_every_read_before_responding() {
    let app = TestApp::spawn_with(crate::harness::Options {
        read_audit: bydel::audit::ReadAuditCommit::Deferred,
        ..Default::default()
    })
    .await;
    let base = app.fixtures().base().await;
    let project = app
        .fixtures()
        .project("Bydelsmødre Randers", 730, &base.ngo, |_| {})
        .await;
    let her = app
        .fixtures()
        .participant("BM-AAAA", Some(&project), &base.ngo, &[], |p| {
            p.first_name = Set(Some("Amina".into()));
        })
        .await;
    let token = app
        .token("secretariat", &format!("{ALL_READ} audit:read tokens:read"))
        .await;
    for request in ["req-1", "req-2"] {
        let read = app
            .graphql_with_request_id(
                &token,
                request,
                queries::PARTICIPANT_FIRST_NAME,
                json!({ "id": gid(Kind::Participant, her.id) }),
            )
            .await;
        assert_eq!(read.data()["participant"]["firstName"], "Amina");
    }
    let hers = gid(Kind::Participant, her.id);
    let events: Vec<(String, String)> =
        summary(&trail(&app, &token, json!({ "participantId": hers })).await)
            .into_iter()
            .map(|(request, action, _, _)| (request, action))
            .collect();
    assert_eq!(
        events,
        [
            ("req-2".to_owned(), "READ".to_owned()),
            ("req-1".to_owned(), "READ".to_owned())
        ]
    );
}

/// A connection of the test's own that holds the write lock on the audit table until dropped
/// (rolled back), so the server's read-audit commits wait behind it.
struct AuditTableLock(sea_orm::DatabaseTransaction);

impl AuditTableLock {
    async fn take(app: &TestApp) -> Self {
        let db = sea_orm::Database::connect(app.database_url())
            .await
            .expect("a second connection to the test database");
        let txn = db.begin().await.expect("a transaction");
        let lock = match txn.get_database_backend() {
            DbBackend::Postgres => "LOCK TABLE audit_event IN EXCLUSIVE MODE",
            // Any write statement takes SQLite's one write lock for the transaction.
            _ => "DELETE FROM audit_event WHERE 1 = 0",
        };
        txn.execute_unprepared(lock)
            .await
            .expect("the audit table lock");
        Self(txn)
    }

    async fn release(self) {
        self.0.rollback().await.expect("the lock is released");
    }
}

/// One sample of the server's `/metrics`, 0 when it is not there.
async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app
        .client()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Waits until the metric reaches `value`: polled, with a bound so a broken writer fails
/// the test instead of hanging it.
async fn metric_reaches(app: &TestApp, name: &str, value: f64) {
    for _ in 0..500 {
        if metric(app, name).await == value {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!(
        "{name} never reached {value}: now {}",
        metric(app, name).await
    );
}

async fn a_participant_with_a_name(app: &TestApp) -> Uuid {
    let base = app.fixtures().base().await;
    let project = app
        .fixtures()
        .project("Bydelsmødre Randers", 730, &base.ngo, |_| {})
        .await;
    app.fixtures()
        .participant("BM-AAAA", Some(&project), &base.ngo, &[], |p| {
            p.first_name = Set(Some("Amina".into()));
        })
        .await
        .id
}

/// Reads her first name in `requests` concurrent requests, `gc-0`, `gc-1`, ...
fn read_concurrently(
    app: &TestApp,
    token: &str,
    her: Uuid,
    requests: usize,
) -> tokio::task::JoinSet<(String, Value)> {
    let mut reads = tokio::task::JoinSet::new();
    for i in 0..requests {
        let (client, url, token) = (app.client().clone(), app.url("/graphql"), token.to_owned());
        reads.spawn(async move {
            let request_id = format!("gc-{i}");
            let body: Value = client
                .post(url)
                .bearer_auth(token)
                .header("x-request-id", &request_id)
                .json(&json!({
                    "query": queries::PARTICIPANT_FIRST_NAME,
                    "variables": { "id": gid(Kind::Participant, her) },
                }))
                .send()
                .await
                .expect("an answer")
                .json()
                .await
                .expect("a JSON answer");
            (request_id, body)
        });
    }
    reads
}

/// The request ids of the READ events on her trail, sorted.
async fn reads_on_her_trail(app: &TestApp, token: &str, her: Uuid) -> Vec<String> {
    let hers = gid(Kind::Participant, her);
    let mut ids: Vec<String> = summary(&trail(app, token, json!({ "participantId": hers })).await)
        .into_iter()
        .filter(|(_, action, _, _)| action == "READ")
        .map(|(request, ..)| request)
        .collect();
    ids.sort();
    ids
}

/// Group commit: the read records of concurrent requests are committed together, and every
/// request answers only once its own record is on the trail. While the audit table is locked
/// the first commit waits and the other requests queue behind it (each answer held back);
/// released, the queue is written in one more commit: 8 requests, 2 commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_are_committed_together_and_each_answers_after_its_record() {
    let app = TestApp::spawn().await;
    let her = a_participant_with_a_name(&app).await;
    let token = app
        .token("secretariat", &format!("{ALL_READ} audit:read tokens:read"))
        .await;
    let commits = metric(&app, "bydel_read_audit_commits_total").await;
    let requests = metric(&app, "bydel_read_audit_requests_total").await;

    let lock = AuditTableLock::take(&app).await;
    let mut reads = read_concurrently(&app, &token, her, 8);
    metric_reaches(&app, "bydel_read_audit_waiting", 8.0).await;
    assert!(
        reads.try_join_next().is_none(),
        "no answer before its record is committed"
    );
    lock.release().await;

    let mut answered = Vec::new();
    while let Some(read) = reads.join_next().await {
        let (request_id, body) = read.expect("the read task");
        assert_eq!(body["data"]["participant"]["firstName"], "Amina", "{body}");
        answered.push(request_id);
    }
    answered.sort();
    assert_eq!(reads_on_her_trail(&app, &token, her).await, answered);
    assert_eq!(
        metric(&app, "bydel_read_audit_commits_total").await - commits,
        2.0
    );
    assert_eq!(
        metric(&app, "bydel_read_audit_requests_total").await - requests,
        8.0
    );
    assert_eq!(metric(&app, "bydel_read_audit_waiting").await, 0.0);
}

/// `--read-audit-batch 0` commits each request's records on its own, as before group commit:
/// every read is still on the trail before its answer, and no group commit is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_group_commit_each_request_commits_its_own_records() {
    let app = TestApp::spawn_with(crate::harness::Options {
        read_audit_batch: 0,
        ..Default::default()
    })
    .await;
    let her = a_participant_with_a_name(&app).await;
    let token = app
        .token("secretariat", &format!("{ALL_READ} audit:read tokens:read"))
        .await;
    let mut reads = read_concurrently(&app, &token, her, 8);
    let mut answered = Vec::new();
    while let Some(read) = reads.join_next().await {
        let (request_id, body) = read.expect("the read task");
        assert_eq!(body["data"]["participant"]["firstName"], "Amina", "{body}");
        answered.push(request_id);
    }
    answered.sort();
    assert_eq!(reads_on_her_trail(&app, &token, her).await, answered);
    assert_eq!(metric(&app, "bydel_read_audit_commits_total").await, 0.0);
}
