//! Safe retries: a create sent again with the same `Idempotency-Key` and input returns the
//! first result and creates nothing; the same key with other input is `CONFLICT`; concurrent
//! duplicates never both run; and a `kill -9` of the real binary loses no acknowledged write
//! and leaves no key that blocks or duplicates its retry.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use bydel::{auth::TokenKeys, ids::Kind};
use entity::api_client;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::{
    harness::{AUDIENCE, ISSUER, TestApp, TestDatabase, process::ServerProcess},
    queries,
    token_cache::{issue, write_key},
    tokens::{ADMIN, gid},
};

async fn clients(app: &TestApp) -> u64 {
    api_client::Entity::find()
        .count(&app.db)
        .await
        .expect("clients count")
}

async fn input(app: &TestApp, name: &str) -> Value {
    let secretariat = bydel::organisations::find_by_reference(&app.db, "secretariat")
        .await
        .expect("the secretariat exists");
    json!({ "input": {
        "organisationId": gid(Kind::Organisation, secretariat.id),
        "name": name,
        "scopes": ["referrals:read"],
    }})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_with_the_same_key_returns_the_first_result_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.token("secretariat", ADMIN).await;
    let before = clients(&app).await;
    let variables = input(&app, "caseworker-sync").await;
    let key = [("Idempotency-Key", "5f0c-create-caseworker-sync")];

    let first = app
        .graphql_with_headers(&admin, queries::CREATE_API_CLIENT, variables.clone(), &key)
        .await;
    let retry = app
        .graphql_with_headers(&admin, queries::CREATE_API_CLIENT, variables, &key)
        .await;

    assert!(first.body["errors"].is_null(), "{}", first.body);
    assert_eq!(retry.status, 200);
    assert_eq!(
        retry.body, first.body,
        "the retry answers the first response"
    );
    assert_eq!(
        retry
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert!(first.headers.get("idempotent-replayed").is_none());
    assert_eq!(clients(&app).await, before + 1, "created exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_with_other_input_is_a_conflict_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.token("secretariat", ADMIN).await;
    let key = [("Idempotency-Key", "reused-key")];
    let first = input(&app, "first").await;
    let other = input(&app, "second").await;
    app.graphql_with_headers(&admin, queries::CREATE_API_CLIENT, first, &key)
        .await;
    let before = clients(&app).await;

    let reused = app
        .graphql_with_headers(&admin, queries::CREATE_API_CLIENT, other, &key)
        .await;

    assert_eq!(reused.status, 409, "{}", reused.body);
    assert_eq!(reused.body["errors"][0]["extensions"]["code"], "CONFLICT");
    assert!(reused.body["data"].is_null());
    assert_eq!(clients(&app).await, before, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_a_retry_runs_again() {
    let app = TestApp::spawn().await;
    let admin = app.token("secretariat", ADMIN).await;
    let variables = input(&app, "no-key").await;
    app.graphql(Some(&admin), queries::CREATE_API_CLIENT, variables.clone())
        .await;

    let again = app
        .graphql(Some(&admin), queries::CREATE_API_CLIENT, variables)
        .await;

    // The contrast that makes the key worth sending: the retry is a new create.
    assert_eq!(again.body["errors"][0]["extensions"]["code"], "CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_create_once() {
    let app = TestApp::spawn().await;
    let admin = app.token("secretariat", ADMIN).await;
    let before = clients(&app).await;
    let variables = input(&app, "raced").await;
    let key = [("Idempotency-Key", "raced-key")];

    let (a, b) = tokio::join!(
        app.graphql_with_headers(&admin, queries::CREATE_API_CLIENT, variables.clone(), &key),
        app.graphql_with_headers(&admin, queries::CREATE_API_CLIENT, variables.clone(), &key),
    );

    assert_eq!(clients(&app).await, before + 1, "{} / {}", a.body, b.body);
    for response in [&a, &b] {
        let created = response.body["data"]["createApiClient"]["name"] == "raced";
        let still_running = response.status == 409
            && response.body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("still running"));
        assert!(created || still_running, "{}", response.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_per_client_and_bad_keys_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.token("secretariat", ADMIN).await;
    let secretariat = bydel::organisations::find_by_reference(&app.db, "secretariat")
        .await
        .expect("the secretariat exists");
    let scopes = bydel::auth::ScopeSet::parse(ADMIN).expect("scopes parse");
    let other_admin = bydel::tokens::issue(
        &app.db,
        &app.keys,
        &secretariat,
        "second-script",
        &scopes,
        chrono::Duration::hours(1),
    )
    .await
    .expect("a second client's token")
    .token;
    let key = [("Idempotency-Key", "shared-key")];
    let first = input(&app, "client-a").await;
    let second = input(&app, "client-b").await;

    let a = app
        .graphql_with_headers(&admin, queries::CREATE_API_CLIENT, first, &key)
        .await;
    let b = app
        .graphql_with_headers(&other_admin, queries::CREATE_API_CLIENT, second, &key)
        .await;
    assert_eq!(a.body["data"]["createApiClient"]["name"], "client-a");
    assert_eq!(b.body["data"]["createApiClient"]["name"], "client-b");

    let too_long = "k".repeat(129);
    let bad = app
        .graphql_with_headers(
            &admin,
            queries::CREATE_API_CLIENT,
            input(&app, "never").await,
            &[("Idempotency-Key", too_long.as_str())],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert!(bad.body["data"].is_null());
}

/// One keyed request of the crash test: two clients created by one mutation, so a request
/// that half-landed would show.
const CREATE_TWO: &str = "mutation Two($a: CreateApiClientInput!, $b: CreateApiClientInput!) {
  a: createApiClient(input: $a) { name }
  b: createApiClient(input: $b) { name }
}";

/// What became of one keyed request sent to the replica that is killed.
#[derive(Debug, Clone, PartialEq)]
enum Sent {
    /// Sent; no answer came (the process died first).
    InFlight,
    /// Answered 200 with both clients.
    Acknowledged,
}

struct CrashRun {
    client: reqwest::Client,
    token: String,
    organisation: String,
}

impl CrashRun {
    fn variables(&self, key: &str) -> Value {
        let input = |name: String| json!({ "organisationId": self.organisation, "name": name, "scopes": ["referrals:read"] });
        json!({ "a": input(format!("{key}-a")), "b": input(format!("{key}-b")) })
    }

    /// Sends the request of `key` to `server`: `None` when no answer came.
    async fn send(&self, server: SocketAddr, key: &str) -> Option<(u16, bool, Value)> {
        let response = self
            .client
            .post(format!("http://{server}/graphql"))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", key)
            .json(&json!({ "query": CREATE_TWO, "variables": self.variables(key) }))
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        let replayed = response.headers().contains_key("idempotent-replayed");
        Some((status, replayed, response.json().await.ok()?))
    }
}

/// How many clients named `name` exist.
async fn named(db: &sea_orm::DatabaseConnection, name: &str) -> u64 {
    use sea_orm::{ColumnTrait, QueryFilter};
    api_client::Entity::find()
        .filter(api_client::Column::Name.eq(name))
        .count(db)
        .await
        .expect("clients count")
}

/// `kill -9` of the real `bydel serve` while keyed mutations run, on SQLite and PostgreSQL:
/// every acknowledged request's writes are there exactly once after the restart, no request
/// half-landed, and a retry of every key sent (acknowledged or in flight) is answered at once
/// (no `CONFLICT` from a key the dead process held) and leaves each write exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loses_no_acknowledged_write_and_every_retry_lands_once() {
    let database = TestDatabase::create().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (key_file, pem) = write_key(dir.path(), "signing-key.pem");
    let flags = ["--rate-limit", "0"];
    let server = ServerProcess::spawn_with(database.url(), &key_file, &flags);
    let db = database.connect().await;
    let keys = TokenKeys::from_pem(&pem, ISSUER, AUDIENCE).expect("the key loads");
    let secretariat = bydel::organisations::find_by_reference(&db, "secretariat")
        .await
        .expect("the secretariat exists");
    let run = Arc::new(CrashRun {
        client: reqwest::Client::new(),
        token: issue(&db, &keys, "crash-script", ADMIN).await,
        organisation: gid(Kind::Organisation, secretariat.id),
    });

    // Four scripts send keyed requests one after another until the server dies under them.
    let sent: Arc<Mutex<BTreeMap<String, Sent>>> = Arc::default();
    let (acks, mut acknowledged) = tokio::sync::mpsc::unbounded_channel();
    let address = server.address;
    let scripts: Vec<_> = (0..4)
        .map(|script| {
            let (run, sent, acks) = (run.clone(), sent.clone(), acks.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let key = format!("crash-{script}-{n}");
                    sent.lock()
                        .expect("the log")
                        .insert(key.clone(), Sent::InFlight);
                    let Some((status, _, body)) = run.send(address, &key).await else {
                        return;
                    };
                    assert_eq!(status, 200, "{body}");
                    assert_eq!(body["data"]["b"]["name"], format!("{key}-b"), "{body}");
                    sent.lock()
                        .expect("the log")
                        .insert(key, Sent::Acknowledged);
                    let _ = acks.send(());
                }
            })
        })
        .collect();
    for _ in 0..12 {
        acknowledged
            .recv()
            .await
            .expect("the scripts acknowledge writes");
    }
    server.kill();
    for script in scripts {
        script.await.expect("a script ends when the server is gone");
    }
    let sent = sent.lock().expect("the log").clone();
    let in_flight = sent.values().filter(|s| **s == Sent::InFlight).count();
    assert!(
        in_flight >= 1,
        "every script had a request in flight: {sent:?}"
    );

    for (key, outcome) in &sent {
        let (a, b) = (
            named(&db, &format!("{key}-a")).await,
            named(&db, &format!("{key}-b")).await,
        );
        assert_eq!(a, b, "{key} half-landed");
        if *outcome == Sent::Acknowledged {
            assert_eq!(a, 1, "{key} was acknowledged, so it is there once");
        }
        assert!(a <= 1, "{key} landed twice");
    }

    let restarted = ServerProcess::spawn_with(database.url(), &key_file, &flags);
    for (key, outcome) in &sent {
        let (status, replayed, body) = run
            .send(restarted.address, key)
            .await
            .expect("the restarted server answers");
        assert_eq!(status, 200, "retry of {key}: {body}");
        assert_eq!(body["data"]["a"]["name"], format!("{key}-a"), "{body}");
        if *outcome == Sent::Acknowledged {
            assert!(replayed, "an acknowledged {key} is answered from its key");
        }
        for part in ["a", "b"] {
            assert_eq!(
                named(&db, &format!("{key}-{part}")).await,
                1,
                "{key}-{part}"
            );
        }
    }
}
