//! CORS over plain HTTP (`--cors-origins`): a listed origin's preflight needs no token, other
//! origins and the default configuration see no CORS header at all. The browser itself is
//! tested in `browser.rs`.

use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::harness::{Options, TestApp};

const DASHBOARD: &str = "https://dashboard.example.dk";
const ELSEWHERE: &str = "https://elsewhere.example.com";

async fn with_dashboard() -> TestApp {
    TestApp::spawn_with(Options {
        cors_origins: vec![DASHBOARD.to_owned()],
        ..Options::default()
    })
    .await
}

/// A browser's preflight for a POST with the token and an idempotency key.
async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client()
        .request(Method::OPTIONS, app.url("/graphql"))
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type,idempotency-key,x-request-id",
        )
        .send()
        .await
        .expect("the server answers")
}

/// The POST that follows it.
async fn post(app: &TestApp, origin: &str, token: &str) -> reqwest::Response {
    app.client()
        .post(app.url("/graphql"))
        .header(header::ORIGIN, origin)
        .header(header::ACCEPT, "application/json")
        .header("idempotency-key", "dashboard-1")
        .bearer_auth(token)
        .json(&json!({ "query": "{ projects(first: 1) { totalCount } }" }))
        .send()
        .await
        .expect("the server answers")
}

fn header_text(response: &reqwest::Response, name: header::HeaderName) -> String {
    response
        .headers()
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name}: {:?}", response.headers()))
        .to_ascii_lowercase()
}

/// The names of the response's `Access-Control-*` headers.
fn cors_headers(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

#[tokio::test]
async fn a_listed_origin_s_preflight_is_answered_without_a_token() {
    let app = with_dashboard().await;
    let response = preflight(&app, DASHBOARD).await;
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(
        header_text(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        DASHBOARD
    );
    let methods = header_text(&response, header::ACCESS_CONTROL_ALLOW_METHODS);
    assert!(
        methods.contains("get") && methods.contains("post"),
        "{methods}"
    );
    let allowed = header_text(&response, header::ACCESS_CONTROL_ALLOW_HEADERS);
    for name in [
        "authorization",
        "content-type",
        "idempotency-key",
        "x-request-id",
    ] {
        assert!(allowed.contains(name), "{name} not in {allowed}");
    }
    assert!(
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none(),
        "bearer tokens, never cookies"
    );
}

#[tokio::test]
async fn a_listed_origin_reads_the_answer_and_its_request_id() {
    let app = with_dashboard().await;
    let token = app.token("secretariat", "projects:read").await;
    let response = post(&app, DASHBOARD, &token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_text(&response, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        DASHBOARD
    );
    assert!(header_text(&response, header::ACCESS_CONTROL_EXPOSE_HEADERS).contains("x-request-id"));
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert_eq!(body["data"]["projects"]["totalCount"], 0, "{body}");
    // A refusal is readable too, so the page can tell its user the token is wrong.
    let refused = post(&app, DASHBOARD, "not-a-token").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header_text(&refused, header::ACCESS_CONTROL_ALLOW_ORIGIN),
        DASHBOARD
    );
}

#[tokio::test]
async fn another_origin_gets_no_cors_header() {
    let app = with_dashboard().await;
    let token = app.token("secretariat", "projects:read").await;
    let response = preflight(&app, ELSEWHERE).await;
    assert!(!response.status().is_success(), "{}", response.status());
    assert_eq!(cors_headers(&response), Vec::<String>::new());
    let response = post(&app, ELSEWHERE, &token).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "server to server still works"
    );
    assert_eq!(cors_headers(&response), Vec::<String>::new());
    assert!(header_text(&response, header::VARY).contains("origin"));
}

#[tokio::test]
async fn by_default_no_response_has_a_cors_header() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "projects:read").await;
    for origin in [DASHBOARD, ELSEWHERE] {
        let response = preflight(&app, origin).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(cors_headers(&response), Vec::<String>::new());
        let response = post(&app, origin, &token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(cors_headers(&response), Vec::<String>::new());
        assert!(response.headers().get(header::VARY).is_none());
    }
}
