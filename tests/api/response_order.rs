//! Response keys come back in the order of the selection set (GraphQL spec, "Serialized Map
//! Ordering"), whichever way the answer travels: POST, GET, an automatic persisted query, and
//! the stored answer replayed for a retried `Idempotency-Key`. Checked on the raw bytes of the
//! body, never through a parsed map, which could reorder them.

use bydel::{ids::Kind, persisted::sha256_hex};
use reqwest::header;
use serde_json::{Value, json};

use crate::{
    harness::TestApp,
    tokens::{ADMIN, gid},
};

/// Selected in an order that is neither alphabetical nor its reverse, at two levels.
const PAGE: &str = "query Page { projects(first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { cursor } } zeta: __typename alpha: __typename }";

/// The keys of [`PAGE`]'s answer, in the order they must appear.
const PAGE_KEYS: [&str; 7] = [
    "projects",
    "totalCount",
    "pageInfo",
    "hasNextPage",
    "endCursor",
    "edges",
    "zeta",
];

/// Asserts that `"key":` occurs in `body` for every key, each after the one before.
#[track_caller]
fn assert_key_order(body: &str, keys: &[&str]) {
    let mut from = 0;
    for key in keys {
        let needle = format!("\"{key}\":");
        let at = body[from..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{needle} does not follow the keys before it in {body}"));
        from += at + needle.len();
    }
}

async fn raw(request: reqwest::RequestBuilder) -> (u16, reqwest::header::HeaderMap, String) {
    let response = request
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("a body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_follow_the_selection_over_post_get_and_persisted_queries() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "projects:read").await;
    let post = |body: Value| {
        app.client()
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .json(&body)
    };

    let (status, _, body) = raw(post(json!({ "query": PAGE }))).await;
    assert_eq!(status, 200, "{body}");
    assert_key_order(&body, &PAGE_KEYS);
    assert_key_order(&body, &["zeta", "alpha"]);

    let get = app
        .client()
        .get(app.url("/graphql"))
        .bearer_auth(&token)
        .query(&[("query", PAGE)]);
    let (status, _, body) = raw(get).await;
    assert_eq!(status, 200, "{body}");
    assert_key_order(&body, &PAGE_KEYS);

    let apq = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(PAGE) } });
    let (status, _, body) = raw(post(json!({ "query": PAGE, "extensions": apq }))).await;
    assert_eq!(status, 200, "{body}");
    assert_key_order(&body, &PAGE_KEYS);
    let (status, _, body) = raw(post(json!({ "extensions": apq }))).await;
    assert_eq!(status, 200, "{body}");
    assert_key_order(&body, &PAGE_KEYS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_idempotent_answer_keeps_the_selection_order() {
    let app = TestApp::spawn().await;
    let admin = app.token("secretariat", ADMIN).await;
    let secretariat = bydel::organisations::find_by_reference(&app.db, "secretariat")
        .await
        .expect("the secretariat exists");
    let mutation = "mutation Create($input: CreateApiClientInput!) { createApiClient(input: $input) { scopes name organisation { shortName id } id } }";
    let body = json!({
        "query": mutation,
        "variables": { "input": {
            "organisationId": gid(Kind::Organisation, secretariat.id),
            "name": "ordered-client",
            "scopes": ["referrals:read"],
        }},
    });
    let send = || {
        app.client()
            .post(app.url("/graphql"))
            .bearer_auth(&admin)
            .header("Idempotency-Key", "order-of-keys-1")
            .json(&body)
    };
    let keys = [
        "createApiClient",
        "scopes",
        "name",
        "organisation",
        "shortName",
        "id",
        "id",
    ];

    let (status, headers, first) = raw(send()).await;
    assert_eq!(status, 200, "{first}");
    assert!(headers.get("idempotent-replayed").is_none());
    assert_key_order(&first, &keys);

    let (status, headers, replayed) = raw(send()).await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(
        headers.get("idempotent-replayed").map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_key_order(&replayed, &keys);
    assert_eq!(
        replayed, first,
        "the replay is the first answer, byte for byte"
    );
}
