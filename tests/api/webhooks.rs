//! Webhooks over HTTP: registration and its checks, referral events pushed to a local
//! receiver (in order, signed, ids and statuses only), retries until delivered or failed
//! with every attempt visible, two dispatchers on one database, and the scoping of rule 5
//! (a foreign organisation's webhook neither receives nor can be touched).
//!
//! The receiver is a small axum server on 127.0.0.1:0 that records each request into a
//! channel and answers a scripted sequence of statuses; tests wait on the channel with a
//! timeout, or drive the dispatcher round by round (`run_once`), never sleep.

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, http::HeaderMap, http::StatusCode, routing::post};
use bydel::{
    ids::Kind,
    webhooks::{DispatchSettings, EgressPolicy, WebhookPolicy},
};
use entity::{audit_event, webhook, webhook_delivery};
use hmac::{Hmac, Mac};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::{net::TcpListener, sync::mpsc, task::JoinHandle};

use crate::{
    harness::{GqlResponse, Options, TestApp, nodes},
    queries,
    referrals::World,
    tokens::gid,
};

/// What an organisation's integration holds to manage its webhooks.
const ADMIN: &str = "referrals:admin";
const SECRET: &str = "a-long-shared-secret-of-at-least-32-chars";

/// Fast settings: retries due at once, three attempts, quick polls.
fn fast() -> DispatchSettings {
    DispatchSettings {
        retry_base: Duration::ZERO,
        retry_cap: Duration::ZERO,
        max_attempts: 3,
        timeout: Duration::from_secs(5),
        poll: Duration::from_millis(20),
        egress: EgressPolicy {
            allow_loopback: true,
        },
        ..DispatchSettings::default()
    }
}

/// One request the receiver got.
struct Received {
    headers: HeaderMap,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a delivery body is JSON")
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header: {:?}", self.headers))
    }
}

/// A local endpoint that answers `statuses` in turn (then the last one for ever).
struct Receiver {
    address: SocketAddr,
    requests: mpsc::UnboundedReceiver<Received>,
    server: JoinHandle<()>,
}

impl Receiver {
    async fn start(statuses: &[u16]) -> Receiver {
        let (tx, requests) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(statuses.to_vec()));
        let answer = move |headers: HeaderMap, body: String| {
            let tx = tx.clone();
            let script = script.clone();
            async move {
                let status = {
                    let mut script = script.lock().expect("the script lock");
                    if script.len() > 1 {
                        script.remove(0)
                    } else {
                        script[0]
                    }
                };
                let _ = tx.send(Received { headers, body });
                StatusCode::from_u16(status).expect("a scripted status is valid")
            }
        };
        let app = Router::new().route("/hook", post(answer));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a receiver port");
        let address = listener.local_addr().expect("a bound address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            address,
            requests,
            server,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(30), self.requests.recv())
            .await
            .expect("the receiver got a delivery in time")
            .expect("the receiver is running")
    }

    /// Nothing arrived that was not taken yet.
    fn is_idle(&mut self) -> bool {
        self.requests.try_recv().is_err()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Checks `Bydel-Signature: t=<unix>,v1=<hex>` against an HMAC computed here.
#[track_caller]
fn assert_signed(received: &Received, secret: &str) {
    let header = received.header("bydel-signature");
    let (t, v1) = header
        .split_once(",v1=")
        .and_then(|(t, v1)| Some((t.strip_prefix("t=")?, v1)))
        .unwrap_or_else(|| panic!("malformed signature header {header:?}"));
    let t: i64 = t.parse().expect("t is a unix time");
    assert!(
        (chrono::Utc::now().timestamp() - t).abs() < 300,
        "t is now: {t}"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{t}.{}", received.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, expected, "the signature verifies");
}

async fn register(app: &TestApp, token: &str, url: &str) -> GqlResponse {
    app.graphql(
        Some(token),
        queries::REGISTER_WEBHOOK,
        json!({ "input": { "url": url, "secret": SECRET, "description": "case system" } }),
    )
    .await
}

/// Registers a webhook for the organisation of `token`; its global id.
async fn registered(app: &TestApp, token: &str, url: &str) -> String {
    let response = register(app, token, url).await;
    response.data()["registerWebhook"]["id"]
        .as_str()
        .expect("a webhook id")
        .to_owned()
}

/// The world's NGO creates a draft referral of her to København; its id and version.
async fn create_referral(world: &World) -> (String, i64) {
    let response = world
        .app
        .graphql(
            Some(&world.ngo),
            queries::CREATE_REFERRAL,
            json!({ "input": {
                "projectId": gid(Kind::Project, world.project.id),
                "participantId": gid(Kind::Participant, world.participant.id),
                "receiverOrganisationId": gid(Kind::Organisation, world.base.copenhagen.id),
                "serviceCategory": "HEALTH_VISITOR",
                "note": "Amina asked for help with her baby",
            }}),
        )
        .await;
    let created = &response.data()["createReferral"];
    (
        created["id"].as_str().expect("an id").to_owned(),
        created["version"].as_i64().expect("a version"),
    )
}

async fn transition(world: &World, token: &str, id: &str, version: i64, action: &str) -> i64 {
    let response = world
        .transition(
            token,
            json!({ "id": id, "version": version, "action": action, "note": "Amina, 0601 2345" }),
        )
        .await;
    response.data()["transitionReferral"]["version"]
        .as_i64()
        .expect("a version")
}

/// The deliveries of the caller's first webhook, newest first.
async fn deliveries(app: &TestApp, token: &str) -> Vec<Value> {
    let response = app.graphql(Some(token), queries::WEBHOOKS, json!({})).await;
    let hooks = nodes(response.data(), "webhooks");
    assert_eq!(hooks.len(), 1, "{:#}", response.body);
    nodes(hooks[0], "deliveries").into_iter().cloned().collect()
}

/// The deliveries of the webhook at `url` among those the caller reads (the secretariat
/// reads every organisation's), newest first.
async fn deliveries_at(app: &TestApp, token: &str, url: &str) -> Vec<Value> {
    let response = app.graphql(Some(token), queries::WEBHOOKS, json!({})).await;
    let hooks = nodes(response.data(), "webhooks");
    let hook = hooks
        .iter()
        .find(|h| h["url"] == url)
        .unwrap_or_else(|| panic!("no webhook at {url}: {:#}", response.body));
    nodes(hook, "deliveries").into_iter().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_receive_the_referral_events_in_order_signed_and_without_personal_data() {
    let world = World::new().await;
    let app = &world.app;
    let mut ngo_end = Receiver::start(&[200]).await;
    let mut municipality_end = Receiver::start(&[204]).await;
    let mut foreign_end = Receiver::start(&[200]).await;
    registered(
        app,
        &app.token("ngo-red-cross", ADMIN).await,
        &ngo_end.url(),
    )
    .await;
    registered(
        app,
        &app.token("kommune-101", ADMIN).await,
        &municipality_end.url(),
    )
    .await;
    // Tokens before the dispatcher runs: on SQLite, issuing one reads before it writes, and a
    // concurrent commit would make that transaction's upgrade fail (SQLITE_BUSY_SNAPSHOT).
    let randers = app.token("kommune-730", ADMIN).await;
    let foreign = registered(app, &randers, &foreign_end.url()).await;
    let _dispatcher = app.deliver_webhooks(fast()).await;

    let (id, version) = create_referral(&world).await;
    let version = transition(&world, &world.ngo, &id, version, "REQUEST").await;
    let version = transition(&world, &world.municipality, &id, version, "ACCEPT").await;
    assert_eq!(version, 3);

    let expected = [
        ("referral.created", 1, Value::Null, "DRAFT", 1),
        ("referral.transitioned", 2, json!("DRAFT"), "REQUESTED", 2),
        (
            "referral.transitioned",
            3,
            json!("REQUESTED"),
            "ACCEPTED",
            3,
        ),
    ];
    let keys: BTreeSet<&str> = [
        "deliveryId",
        "eventId",
        "type",
        "referralId",
        "sequence",
        "fromStatus",
        "toStatus",
        "reason",
        "occurredAt",
        "version",
    ]
    .into();
    // The receiver learns of the referral once it is requested, never of the draft.
    for (end, skipped) in [(&mut ngo_end, 0), (&mut municipality_end, 1)] {
        let mut delivery_ids = BTreeSet::new();
        for (kind, sequence, from, to, version) in expected.iter().skip(skipped) {
            let received = end.next().await;
            assert_signed(&received, SECRET);
            assert_eq!(received.header("content-type"), "application/json");
            let body = received.json();
            let fields: BTreeSet<&str> = body
                .as_object()
                .expect("an object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(fields, keys, "{body:#}");
            assert_eq!(body["type"], *kind, "{body:#}");
            assert_eq!(body["referralId"], id.as_str());
            assert_eq!(body["sequence"], *sequence);
            assert_eq!(body["fromStatus"], *from);
            assert_eq!(body["toStatus"], *to);
            assert_eq!(body["reason"], Value::Null);
            assert_eq!(body["version"], *version);
            assert_eq!(received.header("bydel-delivery"), body["deliveryId"]);
            delivery_ids.insert(body["deliveryId"].as_str().expect("an id").to_owned());
            for personal in ["Amina", "BM-TEST-0001", "baby", "0601 2345"] {
                assert!(
                    !received.body.contains(personal),
                    "{personal} in {}",
                    received.body
                );
            }
        }
        assert_eq!(delivery_ids.len(), 3 - skipped, "one delivery per event");
    }

    // kommune-730 cannot read the referral: nothing was queued for it, nothing arrived.
    let foreign_uuid = bydel::ids::decode_as(&foreign, Kind::Webhook, "id").expect("an id");
    let queued = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(foreign_uuid))
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(queued, 0);
    assert!(foreign_end.is_idle());
    let seen = deliveries(app, &randers).await;
    assert!(seen.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_is_retried_until_it_answers_2xx() {
    let world = World::new().await;
    let app = &world.app;
    // The requester hears of the draft; the receiver only once it is requested.
    let admin = app.token("ngo-red-cross", ADMIN).await;
    let mut end = Receiver::start(&[500, 500, 200]).await;
    registered(app, &admin, &end.url()).await;
    let dispatcher = app.dispatcher(fast()).await;
    let (id, _) = create_referral(&world).await;

    for round in 1..=3 {
        assert_eq!(
            dispatcher.run_once().await.expect("a round"),
            1,
            "round {round}"
        );
        let received = end.next().await;
        assert_eq!(received.json()["referralId"], id.as_str());
        assert_signed(&received, SECRET);
    }
    assert_eq!(dispatcher.run_once().await.expect("a round"), 0);
    assert!(end.is_idle(), "a delivered delivery is not sent again");

    let seen = deliveries(app, &admin).await;
    assert_eq!(seen.len(), 1);
    let delivery = &seen[0];
    assert_eq!(delivery["status"], "DELIVERED", "{delivery:#}");
    assert_eq!(delivery["eventType"], "REFERRAL_CREATED");
    assert_eq!(delivery["attemptCount"], 3);
    assert_eq!(delivery["lastStatusCode"], 200);
    assert_eq!(delivery["lastError"], Value::Null);
    assert_eq!(delivery["nextAttemptAt"], Value::Null);
    assert!(delivery["deliveredAt"].is_string());
    assert_eq!(delivery["event"]["sequence"], 1);
    let attempts: Vec<(i64, i64)> = delivery["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| {
            (
                a["number"].as_i64().expect("n"),
                a["statusCode"].as_i64().expect("code"),
            )
        })
        .collect();
    assert_eq!(attempts, [(1, 500), (2, 500), (3, 200)]);
    assert_eq!(
        delivery["attempts"][0]["error"],
        "the receiver did not answer 2xx"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_2xx_fails_the_delivery_after_the_last_attempt() {
    let world = World::new().await;
    let app = &world.app;
    let admin = app.token("ngo-red-cross", ADMIN).await;
    let mut end = Receiver::start(&[503]).await;
    registered(app, &admin, &end.url()).await;
    // A second endpoint where nothing listens: the failure is "could not connect".
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let nobody = format!("http://{}/hook", closed.local_addr().expect("an address"));
    drop(closed);
    let other = app.token("secretariat", ADMIN).await;
    registered(app, &other, &nobody).await;
    let dispatcher = app.dispatcher(fast()).await;
    create_referral(&world).await;

    for round in 1..=3 {
        assert_eq!(
            dispatcher.run_once().await.expect("a round"),
            2,
            "round {round}"
        );
        assert_eq!(end.next().await.json()["sequence"], 1);
    }
    assert_eq!(dispatcher.run_once().await.expect("a round"), 0);
    assert!(end.is_idle(), "no attempt after the last");

    let failed = |delivery: &Value, code: Value, error: &str| {
        assert_eq!(delivery["status"], "FAILED", "{delivery:#}");
        assert_eq!(delivery["attemptCount"], 3);
        assert_eq!(delivery["nextAttemptAt"], Value::Null);
        assert_eq!(delivery["deliveredAt"], Value::Null);
        assert_eq!(delivery["lastStatusCode"], code);
        assert_eq!(delivery["lastError"], error);
        let attempts = delivery["attempts"].as_array().expect("attempts");
        assert_eq!(attempts.len(), 3);
        for (n, attempt) in attempts.iter().enumerate() {
            assert_eq!(attempt["number"], n + 1);
            assert_eq!(attempt["statusCode"], code);
            assert!(attempt["durationMs"].as_i64().expect("ms") >= 0);
        }
    };
    failed(
        &deliveries(app, &admin).await[0],
        json!(503),
        "the receiver did not answer 2xx",
    );
    failed(
        &deliveries_at(app, &other, &nobody).await[0],
        Value::Null,
        "could not connect",
    );
    let response = app
        .graphql(
            Some(&admin),
            queries::WEBHOOKS,
            json!({ "status": ["PENDING"] }),
        )
        .await;
    let hooks = nodes(response.data(), "webhooks");
    assert_eq!(hooks[0]["deliveries"]["totalCount"], 0, "the status filter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_on_one_database_never_send_the_same_attempt() {
    let world = World::new().await;
    let app = &world.app;
    let mut end = Receiver::start(&[200]).await;
    registered(app, &app.token("ngo-red-cross", ADMIN).await, &end.url()).await;
    let (first, second) = (app.dispatcher(fast()).await, app.dispatcher(fast()).await);

    // One delivery, two claims at once: exactly one wins, and the lease keeps the other out.
    let (id, version) = create_referral(&world).await;
    let pending = webhook_delivery::Entity::find()
        .one(&app.db)
        .await
        .expect("a delivery reads")
        .expect("the creation was queued");
    let (a, b) = tokio::join!(first.try_claim(pending.id), second.try_claim(pending.id));
    let (a, b) = (a.expect("claim"), b.expect("claim"));
    assert!(a ^ b, "exactly one claim wins: {a} {b}");
    assert!(!first.try_claim(pending.id).await.expect("claim"));
    assert!(!second.try_claim(pending.id).await.expect("claim"));
    // Out of the way: its lease would hold it well past this test.
    webhook_delivery::Entity::delete_by_id(pending.id)
        .exec(&app.db)
        .await
        .expect("delete");

    // Many deliveries, both dispatchers at once: each is sent exactly once.
    let version = transition(&world, &world.ngo, &id, version, "REQUEST").await;
    for _ in 0..4 {
        create_referral(&world).await;
    }
    let queued = webhook_delivery::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(queued, 5);
    let (a, b) = tokio::join!(first.run_once(), second.run_once());
    assert_eq!(a.expect("a round") + b.expect("a round"), 5);
    let mut ids = BTreeSet::new();
    for _ in 0..5 {
        ids.insert(end.next().await.header("bydel-delivery").to_owned());
    }
    assert_eq!(ids.len(), 5, "five different deliveries");
    assert!(end.is_idle(), "none twice");
    let attempts: Vec<i32> = webhook_delivery::Entity::find()
        .all(&app.db)
        .await
        .expect("deliveries")
        .into_iter()
        .map(|d| d.attempts)
        .collect();
    assert_eq!(attempts, [1; 5]);
    assert_eq!(version, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_managed_by_their_own_organisation_with_referrals_admin() {
    let world = World::new().await;
    let app = &world.app;
    let own = app.token("kommune-101", ADMIN).await;
    let foreign = app.token("kommune-730", ADMIN).await;
    let secretariat = app.token("secretariat", ADMIN).await;
    let audits = || async {
        audit_event::Entity::find()
            .filter(audit_event::Column::EntityType.eq("webhook"))
            .count(&app.db)
            .await
            .expect("count")
    };

    // Without referrals:admin: FORBIDDEN, reading included.
    let writer = app.token("kommune-101", "referrals:write").await;
    register(app, &writer, "https://hooks.example.org/bydel")
        .await
        .expect_error("FORBIDDEN");
    let response = app
        .graphql(Some(&writer), queries::WEBHOOKS, json!({}))
        .await;
    response.expect_error("FORBIDDEN");

    // Bad input names the field and writes nothing.
    let cases = [
        (
            json!({ "url": "ftp://hooks.example.org/", "secret": SECRET }),
            "input.url",
        ),
        (
            json!({ "url": "http://hooks.example.org/", "secret": SECRET }),
            "input.url",
        ),
        (json!({ "url": "/relative", "secret": SECRET }), "input.url"),
        (
            json!({ "url": "https://u:p@hooks.example.org/", "secret": SECRET }),
            "input.url",
        ),
        (
            json!({ "url": "https://hooks.example.org/", "secret": "too-short" }),
            "input.secret",
        ),
        (
            json!({ "url": "https://hooks.example.org/", "secret": "x".repeat(257) }),
            "input.secret",
        ),
        (
            json!({ "url": "https://hooks.example.org/", "secret": SECRET, "description": "d".repeat(257) }),
            "input.description",
        ),
    ];
    for (input, field) in cases {
        let response = app
            .graphql(
                Some(&own),
                queries::REGISTER_WEBHOOK,
                json!({ "input": input }),
            )
            .await;
        response.expect_error("BAD_USER_INPUT");
        assert_eq!(
            response.errors()[0]["extensions"]["field"],
            field,
            "{input}"
        );
        assert!(!response.body.to_string().contains("too-short"));
    }
    assert_eq!(
        webhook::Entity::find().count(&app.db).await.expect("count"),
        0
    );
    assert_eq!(audits().await, 0);

    // Registered, changed, rotated: audited, and the secret is never answered.
    let id = registered(app, &own, "https://hooks.example.org/bydel?tenant=101").await;
    let updated = app
        .graphql(
            Some(&own),
            queries::UPDATE_WEBHOOK,
            json!({ "input": { "id": id, "active": false, "description": "" } }),
        )
        .await;
    let updated = &updated.data()["updateWebhook"];
    assert_eq!(updated["active"], false);
    assert_eq!(updated["description"], Value::Null);
    let rotated_secret = "another-secret-that-is-long-enough-0123";
    let rotated = app
        .graphql(
            Some(&own),
            queries::ROTATE_WEBHOOK_SECRET,
            json!({ "input": { "id": id, "secret": rotated_secret } }),
        )
        .await;
    assert_eq!(rotated.data()["rotateWebhookSecret"]["id"], id.as_str());
    let stored = webhook::Entity::find()
        .one(&app.db)
        .await
        .expect("reads")
        .expect("stored");
    assert_eq!(stored.secret.0, rotated_secret);
    assert_eq!(audits().await, 3);
    let details: Vec<String> = audit_event::Entity::find()
        .all(&app.db)
        .await
        .expect("reads")
        .into_iter()
        .filter_map(|e| e.detail)
        .collect();
    assert!(
        details
            .iter()
            .all(|d| !d.contains(SECRET) && !d.contains(rotated_secret) && !d.contains("tenant")),
        "{details:?}"
    );

    // Another organisation's webhook: NOT_FOUND for every change, invisible when read.
    for (document, variables) in [
        (
            queries::UPDATE_WEBHOOK,
            json!({ "input": { "id": id, "active": true } }),
        ),
        (
            queries::ROTATE_WEBHOOK_SECRET,
            json!({ "input": { "id": id, "secret": SECRET } }),
        ),
        (queries::DELETE_WEBHOOK, json!({ "id": id })),
    ] {
        let response = app.graphql(Some(&foreign), document, variables).await;
        response.expect_error("NOT_FOUND");
    }
    let seen = app
        .graphql(Some(&foreign), queries::WEBHOOKS, json!({}))
        .await;
    assert_eq!(seen.data()["webhooks"]["totalCount"], 0);
    let node = app
        .graphql(Some(&foreign), queries::NODE_TYPE, json!({ "id": id }))
        .await;
    assert_eq!(node.data()["node"], Value::Null);
    assert_eq!(audits().await, 3, "refused changes write nothing");

    // The secretariat sees every organisation's; the owner its own. No answer holds a secret.
    registered(app, &foreign, "https://randers.example.org/hook").await;
    for (token, count) in [(&secretariat, 2), (&own, 1), (&foreign, 1)] {
        let response = app.graphql(Some(token), queries::WEBHOOKS, json!({})).await;
        assert_eq!(response.data()["webhooks"]["totalCount"], count);
        let text = response.body.to_string();
        assert!(
            !text.contains(SECRET) && !text.contains(rotated_secret),
            "{text}"
        );
    }

    let deleted = app
        .graphql(Some(&own), queries::DELETE_WEBHOOK, json!({ "id": id }))
        .await;
    assert_eq!(deleted.data()["deleteWebhook"], id.as_str());
    let seen = app.graphql(Some(&own), queries::WEBHOOKS, json!({})).await;
    assert_eq!(seen.data()["webhooks"]["totalCount"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_webhook_gets_nothing_queued() {
    let world = World::new().await;
    let app = &world.app;
    let admin = app.token("kommune-101", ADMIN).await;
    let id = registered(app, &admin, "https://hooks.example.org/bydel").await;
    app.graphql(
        Some(&admin),
        queries::UPDATE_WEBHOOK,
        json!({ "input": { "id": id, "active": false } }),
    )
    .await
    .data();
    create_referral(&world).await;
    assert!(deliveries(app, &admin).await.is_empty());
}

/// The generated history (two thousand timeline events dated in the past) notifies no one;
/// this week's work, which the loader does through the write path as the parties would, is
/// announced like any request's: one delivery per new timeline row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_loader_queues_deliveries_only_for_this_weeks_work() {
    let app = TestApp::spawn().await;
    let secretariat = app.token("secretariat", ADMIN).await;
    registered(&app, &secretariat, "https://hooks.example.org/bydel").await;
    app.load_demo().await;
    let events = entity::referral_event::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    let this_week = entity::referral_event::Entity::find()
        .filter(
            entity::referral_event::Column::CreatedAt
                .gt(chrono::Utc::now() - chrono::TimeDelta::hours(1)),
        )
        .count(&app.db)
        .await
        .expect("count");
    assert!(
        events > 1000 && this_week > 0 && this_week < 50,
        "{events} / {this_week}"
    );
    let queued = webhook_delivery::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(queued, this_week);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_retried_with_its_idempotency_key_registers_once() {
    let app = TestApp::spawn().await;
    let admin = app.token("secretariat", ADMIN).await;
    let variables =
        json!({ "input": { "url": "https://hooks.example.org/bydel", "secret": SECRET } });
    let key = [("Idempotency-Key", "register-hook-1")];
    let first = app
        .graphql_with_headers(&admin, queries::REGISTER_WEBHOOK, variables.clone(), &key)
        .await;
    let again = app
        .graphql_with_headers(&admin, queries::REGISTER_WEBHOOK, variables, &key)
        .await;
    assert_eq!(again.data(), first.data());
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(
        webhook::Entity::find().count(&app.db).await.expect("count"),
        1
    );
    assert!(!again.body.to_string().contains(SECRET));
}

/// Every spelling of an address inside a private network, and `localhost`, as a partner with
/// `referrals:admin` could try them against a server without `--webhook-allow-loopback`.
const INTERNAL_ENDPOINTS: [&str; 21] = [
    "https://169.254.169.254/latest/meta-data/",
    "https://2852039166/latest/meta-data/",
    "https://0xa9fea9fe/latest/meta-data/",
    "https://0251.0376.0251.0376/",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://10.0.0.1/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",
    "https://[fc00::1]/",
    "https://[fe80::1]/",
    "https://[::ffff:10.0.0.1]/",
    "https://[::ffff:a9fe:a9fe]/",
    "https://[64:ff9b::a9fe:a9fe]/",
    "https://0.0.0.0/",
    "https://[::]/",
    "http://127.0.0.1:5432/",
    "http://[::1]:8080/",
    "http://localhost:5432/",
    "https://db.localhost/",
    "https://127.0.0.1.nip.io.localhost/",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_addresses_and_control_characters_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn_with(Options {
        webhooks: WebhookPolicy::default(),
        ..Options::default()
    })
    .await;
    app.fixtures().base().await;
    let admin = app.token("kommune-101", ADMIN).await;
    let kept = registered(&app, &admin, "https://hooks.example.org/bydel").await;
    let with_control = [
        "https://hooks.example.org/bydel\r\nX-Injected: 1",
        "https://hooks.example.org/by\ndel",
        "https://hooks.exa\tmple.org/",
        "https://hooks.example.org/\u{0}",
    ];
    for url in INTERNAL_ENDPOINTS.iter().chain(&with_control) {
        let response = register(&app, &admin, url).await;
        response.expect_error("BAD_USER_INPUT");
        assert_eq!(response.errors()[0]["extensions"]["field"], "input.url");
        let response = app
            .graphql(
                Some(&admin),
                queries::UPDATE_WEBHOOK,
                json!({ "input": { "id": kept, "url": url } }),
            )
            .await;
        response.expect_error("BAD_USER_INPUT");
    }
    for url in INTERNAL_ENDPOINTS {
        let message = register(&app, &admin, url).await.errors()[0]["message"].to_string();
        assert!(
            message.contains("public addresses only"),
            "{url}: {message}"
        );
    }
    let stored = webhook::Entity::find()
        .all(&app.db)
        .await
        .expect("the webhooks");
    assert_eq!(stored.len(), 1, "only the public endpoint was stored");
    assert_eq!(stored[0].url, "https://hooks.example.org/bydel");
}

/// A webhook registered while loopback was allowed (or whose name later resolves to an
/// internal address) is not sent by a dispatcher whose policy refuses it: the check holds
/// at every attempt, for a literal address and for a name alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_without_the_loopback_flag_sends_nothing_to_loopback() {
    let world = World::new().await;
    let app = &world.app;
    let mut literal_end = Receiver::start(&[200]).await;
    let mut named_end = Receiver::start(&[200]).await;
    let municipality = app.token("secretariat", ADMIN).await;
    let ngo = app.token("ngo-red-cross", ADMIN).await;
    registered(app, &municipality, &literal_end.url()).await;
    let by_name = format!("http://localhost:{}/hook", named_end.address.port());
    registered(app, &ngo, &by_name).await;
    let strict = app
        .dispatcher(DispatchSettings {
            egress: EgressPolicy::default(),
            ..fast()
        })
        .await;
    create_referral(&world).await;

    for round in 1..=3 {
        assert_eq!(
            strict.run_once().await.expect("a round"),
            2,
            "round {round}"
        );
    }
    assert!(literal_end.is_idle(), "nothing reached 127.0.0.1");
    assert!(named_end.is_idle(), "nothing reached localhost");
    for (token, url) in [(&municipality, literal_end.url()), (&ngo, by_name.clone())] {
        let delivery = &deliveries_at(app, token, &url).await[0];
        assert_eq!(delivery["status"], "FAILED", "{delivery:#}");
        assert_eq!(delivery["lastStatusCode"], Value::Null);
        assert_eq!(delivery["lastError"], bydel::webhooks::dispatch::REFUSED);
    }

    // The same queue with the flag is delivered: the refusal above was the policy's.
    let world = World::new().await;
    let app = &world.app;
    registered(app, &app.token("ngo-red-cross", ADMIN).await, &by_name).await;
    let dev = app.dispatcher(fast()).await;
    create_referral(&world).await;
    assert_eq!(dev.run_once().await.expect("a round"), 1);
    assert_eq!(named_end.next().await.json()["sequence"], 1);
}
