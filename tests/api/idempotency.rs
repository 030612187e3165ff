//! Safe retries: a create sent again with the same `Idempotency-Key` and input returns the
//! first result and creates nothing; the same key with other input is `CONFLICT`; concurrent
//! duplicates never both run.

use bydel::ids::Kind;
use entity::api_client;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

use crate::{
    harness::TestApp,
    queries,
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
