//! Persisted queries: Apollo's automatic persisted queries (register, hit, miss, hash mismatch,
//! over POST and GET) and the registered-operations-only mode.

use bydel::persisted::{Manifest, PersistedQueries, sha256_hex};
use reqwest::header;
use serde_json::{Value, json};

use crate::harness::{GqlResponse, Options, TestApp};

const QUERY: &str = "query ProjectCount { projects { totalCount } }";

fn apq(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn post(app: &TestApp, token: &str, body: Value) -> GqlResponse {
    let response = app
        .client()
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    GqlResponse::read(response).await
}

async fn get(app: &TestApp, token: &str, params: &[(&str, &str)]) -> GqlResponse {
    let response = app
        .client()
        .get(app.url("/graphql"))
        .bearer_auth(token)
        .header(header::ACCEPT, "application/json")
        .query(params)
        .send()
        .await
        .expect("the server answers");
    GqlResponse::read(response).await
}

#[tokio::test]
async fn automatic_persisted_queries_register_hit_and_miss() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "projects:read").await;
    let hash = sha256_hex(QUERY);

    // Miss: Apollo clients re-send with the document on this exact code and message.
    let miss = post(&app, &token, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(
        miss.expect_error("PERSISTED_QUERY_NOT_FOUND"),
        "PersistedQueryNotFound"
    );
    assert!(miss.has_no_data());

    // Register: the document with its hash runs and is kept.
    let registered = post(
        &app,
        &token,
        json!({ "query": QUERY, "extensions": apq(&hash) }),
    )
    .await;
    assert_eq!(registered.data()["projects"]["totalCount"], 0);

    // Hit, over POST and GET.
    let hit = post(&app, &token, json!({ "extensions": apq(&hash) })).await;
    assert_eq!(hit.data()["projects"]["totalCount"], 0);
    let extensions = apq(&hash).to_string();
    let hit = get(&app, &token, &[("extensions", &extensions)]).await;
    assert_eq!(hit.data()["projects"]["totalCount"], 0);

    // A GET registration works as well.
    let other = "{ projects(first: 1) { totalCount } }";
    let other_extensions = apq(&sha256_hex(other)).to_string();
    let miss = get(&app, &token, &[("extensions", &other_extensions)]).await;
    miss.expect_error("PERSISTED_QUERY_NOT_FOUND");
    get(
        &app,
        &token,
        &[("query", other), ("extensions", &other_extensions)],
    )
    .await
    .data();
    get(&app, &token, &[("extensions", &other_extensions)])
        .await
        .data();
}

#[tokio::test]
async fn a_hash_that_is_not_the_documents_is_refused() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "projects:read").await;
    let wrong = sha256_hex("{ __typename }");
    let response = post(
        &app,
        &token,
        json!({ "query": QUERY, "extensions": apq(&wrong) }),
    )
    .await;
    response.expect_error("BAD_USER_INPUT");
    assert_eq!(
        response.errors()[0]["extensions"]["field"],
        "extensions.persistedQuery.sha256Hash"
    );
    // Nothing was stored under the wrong hash.
    post(&app, &token, json!({ "extensions": apq(&wrong) }))
        .await
        .expect_error("PERSISTED_QUERY_NOT_FOUND");
    let bad_version =
        json!({ "persistedQuery": { "version": 2, "sha256Hash": sha256_hex(QUERY) } });
    post(
        &app,
        &token,
        json!({ "query": QUERY, "extensions": bad_version }),
    )
    .await
    .expect_error("BAD_USER_INPUT");
}

#[tokio::test]
async fn a_persisted_mutation_is_still_refused_over_get() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "tokens:admin").await;
    let mutation = "mutation { revokeToken(id: \"x\") { id } }";
    let extensions = apq(&sha256_hex(mutation));
    post(
        &app,
        &token,
        json!({ "query": mutation, "extensions": extensions }),
    )
    .await;
    let response = app
        .client()
        .get(app.url("/graphql"))
        .bearer_auth(&token)
        .query(&[("extensions", extensions.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

#[tokio::test]
async fn only_registered_operations_run_in_persisted_only_mode() {
    let directory = tempfile::tempdir().unwrap();
    let manifest_file = directory.path().join("operations.json");
    std::fs::write(
        &manifest_file,
        json!({ sha256_hex(QUERY): QUERY }).to_string(),
    )
    .unwrap();
    let manifest = Manifest::load(&manifest_file).expect("the manifest loads");
    let app = TestApp::spawn_with(Options {
        persisted: PersistedQueries::new(manifest, true),
        ..Options::default()
    })
    .await;
    let token = app.token("secretariat", "projects:read").await;

    // The registered operation by hash (POST and GET), and its exact text.
    let hash = sha256_hex(QUERY);
    post(&app, &token, json!({ "extensions": apq(&hash) }))
        .await
        .data();
    let extensions = apq(&hash).to_string();
    get(&app, &token, &[("extensions", &extensions)])
        .await
        .data();
    post(&app, &token, json!({ "query": QUERY })).await.data();

    // Anything else: refused, with its own code, and never learnt through APQ.
    let ad_hoc = "{ projects { totalCount } }";
    let refused = post(&app, &token, json!({ "query": ad_hoc })).await;
    assert!(
        refused
            .expect_error("PERSISTED_QUERY_REQUIRED")
            .contains("registered")
    );
    let ad_hoc_hash = sha256_hex(ad_hoc);
    post(
        &app,
        &token,
        json!({ "query": ad_hoc, "extensions": apq(&ad_hoc_hash) }),
    )
    .await
    .expect_error("PERSISTED_QUERY_REQUIRED");
    post(&app, &token, json!({ "extensions": apq(&ad_hoc_hash) }))
        .await
        .expect_error("PERSISTED_QUERY_NOT_FOUND");
}

#[test]
fn a_directory_of_graphql_files_is_a_manifest() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("count.graphql"), QUERY).unwrap();
    std::fs::write(directory.path().join("notes.txt"), "not an operation").unwrap();
    let manifest = Manifest::load(directory.path()).expect("the directory loads");
    assert_eq!(manifest.len(), 1);
    let store = PersistedQueries::new(manifest, true);
    let extensions = apq(&sha256_hex(QUERY));
    let document = store
        .document(None, extensions.as_object().unwrap())
        .expect("the file's operation is registered");
    assert_eq!(document, QUERY);
}
