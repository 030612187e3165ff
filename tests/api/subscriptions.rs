//! Referral events over graphql-ws (`referralEvents`), the way a partner's front end
//! subscribes: the token in `connection_init`, events scoped exactly like queries, no
//! personal data pushed, a revoked token ending the stream, and events reaching subscribers
//! on another replica through PostgreSQL.
//!
//! The world is the referrals one: NGO `ngo-red-cross` operates a project in København and
//! refers its participant to the municipality `kommune-101`. No test sleeps: a subscription
//! is live once `ws::Connection::subscribe` returns, and "nothing arrived" is proved by the
//! next thing that does.

use bydel::ids::Kind;
use entity::{consent, enums::ReferralStatus};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    harness::{
        AUDIENCE, Backend, Fixtures, ISSUER, TestDatabase, claims_of,
        process::ServerProcess,
        ws::{self, Connection, Frame},
    },
    queries,
    referrals::{WRITER, World},
    tokens::gid,
};

/// The next notice of subscription `id`, which must carry no errors.
async fn notice(connection: &mut Connection, id: &str) -> Value {
    let payload = connection.next(id).await.payload();
    assert!(
        payload.get("errors").is_none(),
        "unexpected errors: {payload:#}"
    );
    payload["data"]["referralEvents"].clone()
}

/// The first error of the next message of subscription `id`, after which it completes.
async fn final_error(connection: &mut Connection, id: &str) -> Value {
    let payload = connection.next(id).await.payload();
    let error = payload["errors"][0].clone();
    assert!(error.is_object(), "expected an error: {payload:#}");
    assert_eq!(
        connection.next(id).await,
        Frame::Complete,
        "the stream ends"
    );
    error
}

/// Checks a notice's kind, its event's move and the referral it is about.
#[track_caller]
fn assert_notice(notice: &Value, kind: &str, from: Option<&str>, to: &str, referral: &str) {
    assert_eq!(notice["kind"], kind, "{notice:#}");
    assert_eq!(notice["event"]["fromStatus"], json!(from), "{notice:#}");
    assert_eq!(notice["event"]["toStatus"], to, "{notice:#}");
    assert_eq!(notice["referral"]["id"], referral, "{notice:#}");
    assert!(notice["event"]["id"].is_string(), "{notice:#}");
}

impl World {
    /// `createReferral` by the NGO to `receiver`; returns the referral's global id.
    async fn create(&self, receiver: uuid::Uuid) -> String {
        let response = self
            .app
            .graphql(
                Some(&self.ngo),
                queries::CREATE_REFERRAL,
                json!({ "input": {
                    "projectId": gid(Kind::Project, self.project.id),
                    "participantId": gid(Kind::Participant, self.participant.id),
                    "receiverOrganisationId": gid(Kind::Organisation, receiver),
                    "serviceCategory": "HEALTH_VISITOR",
                    "note": "Ring efter kl. 10",
                }}),
            )
            .await;
        response.data()["createReferral"]["id"]
            .as_str()
            .expect("a created referral has an id")
            .to_owned()
    }

    /// [`World::create`], then REQUEST by the NGO: the first event its receiver hears of.
    async fn create_requested(&self, receiver: uuid::Uuid) -> String {
        let id = self.create(receiver).await;
        self.step(&self.ngo, &id, 1, "REQUEST").await;
        id
    }

    /// `transitionReferral` that must succeed.
    async fn step(&self, token: &str, id: &str, version: i64, action: &str) {
        let response = self
            .transition(
                token,
                json!({ "id": id, "version": version, "action": action }),
            )
            .await;
        response.data();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receiver_and_the_requester_hear_every_step_of_their_referral() {
    let world = World::new().await;
    let copenhagen = gid(Kind::Organisation, world.base.copenhagen.id);
    let mut receiver = ws::connect_with_token(world.app.address, &world.municipality).await;
    let to_receiver = receiver
        .subscribe(
            queries::REFERRAL_EVENTS,
            json!({ "filter": { "side": "RECEIVER" } }),
        )
        .await;
    let mut requester = ws::connect_with_token(world.app.address, &world.ngo).await;
    let project = gid(Kind::Project, world.project.id);
    let to_requester = requester
        .subscribe(
            queries::REFERRAL_EVENTS,
            json!({ "filter": { "side": "REQUESTER", "projectId": project } }),
        )
        .await;

    // The draft is the requester's own: the receiver's first notice is the request.
    let id = world.create(world.base.copenhagen.id).await;
    let created = notice(&mut requester, &to_requester).await;
    assert_notice(&created, "CREATED", None, "DRAFT", &id);
    assert_eq!(created["event"]["sequence"], 1);
    assert_eq!(created["referral"]["status"], "DRAFT");
    assert_eq!(created["referral"]["receiver"]["id"], copenhagen);
    assert_eq!(created["referral"]["project"]["id"], project);

    world.step(&world.ngo, &id, 1, "REQUEST").await;
    for (connection, sub) in [
        (&mut receiver, &to_receiver),
        (&mut requester, &to_requester),
    ] {
        let requested = notice(connection, sub).await;
        assert_notice(&requested, "TRANSITIONED", Some("DRAFT"), "REQUESTED", &id);
        assert_eq!(requested["event"]["sequence"], 2);
        assert_eq!(requested["referral"]["version"], 2);
    }

    world.step(&world.municipality, &id, 2, "ACCEPT").await;
    for (connection, sub) in [
        (&mut requester, &to_requester),
        (&mut receiver, &to_receiver),
    ] {
        let accepted = notice(connection, sub).await;
        assert_notice(
            &accepted,
            "TRANSITIONED",
            Some("REQUESTED"),
            "ACCEPTED",
            &id,
        );
        assert_eq!(accepted["event"]["actor"]["id"], copenhagen);
        assert_eq!(accepted["referral"]["status"], "ACCEPTED");
    }

    let consent = consent::Entity::find()
        .filter(consent::Column::ParticipantId.eq(world.participant.id))
        .one(&world.app.db)
        .await
        .expect("consents read")
        .expect("the world has her consent");
    world
        .app
        .graphql(
            Some(&world.ngo),
            queries::WITHDRAW_CONSENT,
            json!({ "id": gid(Kind::Consent, consent.id) }),
        )
        .await
        .data();
    for (connection, sub) in [
        (&mut receiver, &to_receiver),
        (&mut requester, &to_requester),
    ] {
        let cancelled = notice(connection, sub).await;
        assert_notice(&cancelled, "CANCELLED", Some("ACCEPTED"), "CANCELLED", &id);
        assert_eq!(cancelled["event"]["reason"], "CONSENT_WITHDRAWN");
        assert_eq!(cancelled["referral"]["statusReason"], "CONSENT_WITHDRAWN");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_municipality_hears_nothing_of_a_referral_it_cannot_read() {
    let world = World::new().await;
    let randers_token = world
        .app
        .token("kommune-730", "projects:read referrals:read")
        .await;
    let mut copenhagen = ws::connect_with_token(world.app.address, &world.municipality).await;
    let to_copenhagen = copenhagen
        .subscribe(queries::REFERRAL_EVENTS, json!({}))
        .await;
    let mut randers = ws::connect_with_token(world.app.address, &randers_token).await;
    let to_randers = randers.subscribe(queries::REFERRAL_EVENTS, json!({})).await;

    let for_copenhagen = world.create_requested(world.base.copenhagen.id).await;
    let requested = notice(&mut copenhagen, &to_copenhagen).await;
    assert_notice(
        &requested,
        "TRANSITIONED",
        Some("DRAFT"),
        "REQUESTED",
        &for_copenhagen,
    );

    // Randers' first notice is about its own referral: it never heard of København's.
    world
        .app
        .fixtures()
        .consent(
            &world.participant,
            entity::enums::ConsentPurpose::ShareWithReceiver,
            Some(&world.base.randers),
            |_| {},
        )
        .await;
    let for_randers = world.create_requested(world.base.randers.id).await;
    let first = notice(&mut randers, &to_randers).await;
    assert_notice(
        &first,
        "TRANSITIONED",
        Some("DRAFT"),
        "REQUESTED",
        &for_randers,
    );

    // And København's next notice is its own referral's, not Randers'.
    let again = world.create_requested(world.base.copenhagen.id).await;
    let next = notice(&mut copenhagen, &to_copenhagen).await;
    assert_notice(&next, "TRANSITIONED", Some("DRAFT"), "REQUESTED", &again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_without_referrals_read_cannot_subscribe() {
    let world = World::new().await;
    let token = world.app.token("kommune-101", "projects:read").await;
    let mut connection = ws::connect_with_token(world.app.address, &token).await;
    let sub = connection
        .subscribe(queries::REFERRAL_EVENTS, json!({}))
        .await;
    let error = final_error(&mut connection, &sub).await;
    assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("referrals:read")),
        "{error:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_init_refuses_missing_bad_and_expired_tokens() {
    let world = World::new().await;
    let app = &world.app;
    let mut expired = claims_of(&world.municipality);
    expired.iat -= 7200;
    expired.nbf -= 7200;
    expired.exp = chrono::Utc::now().timestamp() - 3600;
    let expired = app.sign(&expired);
    let refused = [
        ("no payload", json!({})),
        ("a null token", json!({ "token": null })),
        ("an empty token", json!({ "token": "" })),
        (
            "not a bearer",
            json!({ "Authorization": format!("Basic {}", world.ngo) }),
        ),
        ("garbage", json!({ "Authorization": "Bearer not.a.jwt" })),
        (
            "expired",
            json!({ "Authorization": format!("Bearer {expired}") }),
        ),
    ];
    for (what, payload) in refused {
        match ws::connect(app.address, payload).await {
            Err(Frame::Closed(code, reason)) => {
                assert_eq!(code, 4403, "{what}: {reason}");
                assert!(reason.starts_with("Forbidden"), "{what}: {reason}");
            }
            Err(other) => panic!("{what}: unexpected end {other:?}"),
            Ok(_) => panic!("{what}: the connection was acknowledged"),
        }
    }
    for payload in [
        json!({ "token": world.ngo }),
        json!({ "authorization": format!("Bearer {}", world.ngo) }),
    ] {
        assert!(
            ws::connect(app.address, payload.clone()).await.is_ok(),
            "{payload} is accepted"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_ends_the_stream_at_the_next_event() {
    let world = World::new().await;
    let mut connection = ws::connect_with_token(world.app.address, &world.municipality).await;
    let sub = connection
        .subscribe(queries::REFERRAL_EVENTS, json!({}))
        .await;
    let jti = claims_of(&world.municipality)
        .jti
        .parse()
        .expect("a jti is a UUID");
    bydel::tokens::revoke(&world.app.db, &world.app.tokens, jti)
        .await
        .expect("the token is revoked");

    world.create_requested(world.base.copenhagen.id).await;
    let error = final_error(&mut connection, &sub).await;
    assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED", "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("revoked")),
        "{error:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_never_pushed_even_to_those_who_may_query_it() {
    let world = World::new().await;
    // The NGO operates her project: over HTTP it reads her name and the note.
    let mut connection = ws::connect_with_token(world.app.address, &world.ngo).await;
    let sub = connection
        .subscribe(queries::REFERRAL_EVENTS_PERSONAL_DATA, json!({}))
        .await;
    let id = world.create(world.base.copenhagen.id).await;

    let payload = connection.next(&sub).await.payload();
    let pushed = &payload["data"]["referralEvents"];
    assert_eq!(pushed["kind"], "CREATED", "{payload:#}");
    assert_eq!(pushed["referral"]["id"], id, "{payload:#}");
    assert_eq!(
        pushed["referral"]["participant"]["pseudonym"], "BM-TEST-0001",
        "the pseudonym is not personal data: {payload:#}"
    );
    for refused in [
        &pushed["referral"]["note"],
        &pushed["referral"]["participant"]["firstName"],
        &pushed["event"]["note"],
    ] {
        assert!(refused.is_null(), "{payload:#}");
    }
    let errors = payload["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 3, "{payload:#}");
    for error in errors {
        assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{payload:#}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("HTTP")),
            "{payload:#}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_that_does_not_validate_is_bad_user_input() {
    let world = World::new().await;
    let mut connection = ws::connect_with_token(world.app.address, &world.ngo).await;
    let sub = connection
        .subscribe("subscription { referralEvents { nope } }", json!({}))
        .await;
    let error = final_error(&mut connection, &sub).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_carries_subscriptions_only() {
    let world = World::new().await;
    let mut connection = ws::connect_with_token(world.app.address, &world.ngo).await;
    let sub = connection
        .subscribe(queries::REFERRAL_COUNT, json!({}))
        .await;
    let error = final_error(&mut connection, &sub).await;
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("POST /graphql")),
        "{error:#}"
    );
}

/// Two `bydel serve` processes on one PostgreSQL database: a change through one reaches a
/// subscriber of the other (LISTEN/NOTIFY). SQLite serves one process by design, so there
/// the same scenario runs against a single `bydel serve` process (its in-process bus); the
/// PostgreSQL run (`BYDEL_TEST_DATABASE=postgres`) is the one that proves replicas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reaches_a_subscriber_on_another_replica() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let key_file = dir.path().join("signing-key.pem");
    let pem = bydel::auth::keys::generate_pem().expect("a key generates");
    std::fs::write(&key_file, &pem).expect("the key file is written");

    let a = ServerProcess::spawn(database.url(), &key_file);
    let b = match database.backend() {
        Backend::Postgres => Some(ServerProcess::spawn(database.url(), &key_file)),
        Backend::Sqlite => None,
    };
    let subscriber_address = b.as_ref().map_or(a.address, |b| b.address);
    if database.backend() == Backend::Postgres {
        assert_ne!(subscriber_address, a.address, "two replicas");
    }

    let db = database.connect().await;
    let fx = Fixtures::new(&db);
    let base = fx.base().await;
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let participant = fx
        .participant("BM-TEST-0001", Some(&project), &base.ngo, &["ar"], |_| {})
        .await;
    let referral = fx
        .referral(
            &base.ngo,
            &base.copenhagen,
            &participant,
            ReferralStatus::Requested,
            |_| {},
        )
        .await;
    fx.timeline(
        &referral,
        &base.ngo,
        &[ReferralStatus::Draft, ReferralStatus::Requested],
    )
    .await;
    let keys = bydel::auth::TokenKeys::from_pem(&pem, ISSUER, AUDIENCE).expect("the key loads");
    let municipality = bydel::organisations::find_by_reference(&db, "kommune-101")
        .await
        .expect("the municipality exists");
    let scopes = bydel::auth::ScopeSet::parse(WRITER).expect("scopes parse");
    let token = bydel::tokens::issue(
        &db,
        &keys,
        &municipality,
        "integration-tests",
        &scopes,
        chrono::Duration::hours(1),
    )
    .await
    .expect("a token is issued")
    .token;

    let mut connection = ws::connect_with_token(subscriber_address, &token).await;
    let sub = connection
        .subscribe(
            queries::REFERRAL_EVENTS,
            json!({ "filter": { "side": "RECEIVER" } }),
        )
        .await;

    let id = gid(Kind::Referral, referral.id);
    let response = reqwest::Client::new()
        .post(format!("http://{}/graphql", a.address))
        .bearer_auth(&token)
        .json(&json!({
            "query": queries::TRANSITION_REFERRAL,
            "variables": { "input": { "id": id, "version": 1, "action": "ACCEPT" } },
        }))
        .send()
        .await
        .expect("replica A answers");
    let body: Value = response.json().await.expect("a JSON answer");
    assert_eq!(
        body["data"]["transitionReferral"]["status"], "ACCEPTED",
        "{body:#}"
    );

    let accepted = notice(&mut connection, &sub).await;
    assert_notice(
        &accepted,
        "TRANSITIONED",
        Some("REQUESTED"),
        "ACCEPTED",
        &id,
    );
    assert_eq!(accepted["event"]["sequence"], 3);
    assert_eq!(accepted["referral"]["version"], 2);

    drop(connection);
    drop(b);
    drop(a);
    drop(db);
}

/// PostgreSQL: when a replica's `LISTEN` connection is cut, what was notified meanwhile is
/// lost, so its subscribers are told (`CONFLICT`, the stream ends) instead of silently missing
/// events; the replica listens again and a new subscription hears the next event. SQLite has no
/// listener to lose (its bus is in-process): there the test checks only that part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listener_connection_ends_streams_with_conflict_and_recovers() {
    use sea_orm::ConnectionTrait;

    let world = World::new().await;
    let postgres = world.app.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    if postgres {
        let mut connection = ws::connect_with_token(world.app.address, &world.municipality).await;
        let sub = connection
            .subscribe(queries::REFERRAL_EVENTS, json!({}))
            .await;
        let cut = world
            .app
            .db
            .execute_unprepared(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN %'",
            )
            .await
            .expect("the listener's connection can be cut");
        assert_eq!(cut.rows_affected(), 1, "one listener per replica");
        let error = final_error(&mut connection, &sub).await;
        assert_eq!(error["extensions"]["code"], "CONFLICT", "{error:#}");
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains("updatedSince")),
            "{error:#}"
        );
    }
    let mut connection = ws::connect_with_token(world.app.address, &world.municipality).await;
    let sub = connection
        .subscribe(queries::REFERRAL_EVENTS, json!({}))
        .await;
    let id = world.create_requested(world.base.copenhagen.id).await;
    let requested = notice(&mut connection, &sub).await;
    assert_notice(&requested, "TRANSITIONED", Some("DRAFT"), "REQUESTED", &id);
}

/// The websocket applies the same cost limits as HTTP: a subscription with more aliases than
/// allowed is refused before it subscribes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_over_the_cost_limits_is_refused() {
    let world = World::new().await;
    let mut connection = ws::connect_with_token(world.app.address, &world.ngo).await;
    let fields: String = (0..40)
        .map(|i| format!("a{i}: kind "))
        .collect::<Vec<_>>()
        .join("");
    let document = format!("subscription {{ referralEvents {{ {fields} }} }}");
    let sub = connection.subscribe(&document, json!({})).await;
    let error = final_error(&mut connection, &sub).await;
    assert_eq!(
        error["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{error:#}"
    );
}
