//! Real-browser tests (headless Chromium, see `harness::browser`): GraphiQL works with nothing
//! but this server, and a page on another origin reaches Bydel only when CORS allows it.

use axum::{Router, response::Html, routing::get};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::harness::{Options, TestApp, browser};

/// Every URL the page asked for, with its host, so a failure names the stray request.
fn requests(result: &Value) -> Vec<String> {
    result["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("the script recorded no requests: {result}"))
        .iter()
        .map(|url| url.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// GraphiQL loads offline, opens with the Authorization template, and a token typed into the
/// header editor runs the first query; every request the page made went to this server.
#[tokio::test]
async fn graphiql_runs_the_first_query_with_a_typed_token_and_only_talks_to_bydel() {
    let app = TestApp::spawn().await;
    let base = app.fixtures().base().await;
    app.fixtures()
        .project("Bydelsmødre Nørrebro", 101, &base.ngo, |_| {})
        .await;
    let token = app
        .token("ngo-red-cross", "projects:read referrals:read")
        .await;
    let result = browser::run("graphiql.mjs", &[&app.url("/graphql"), &token]).await;

    assert!(
        result["error"].is_null(),
        "the page did not work: {result:#}"
    );
    assert_eq!(result["status"], 200, "{result:#}");
    let template: Value = serde_json::from_str(result["headerTemplate"].as_str().unwrap_or(""))
        .unwrap_or_else(|err| panic!("the header editor holds no JSON ({err}): {result:#}"));
    assert_eq!(template, serde_json::json!({ "Authorization": "Bearer " }));
    assert!(
        result["query"]
            .as_str()
            .is_some_and(|q| q.contains("query FirstLook")),
        "the editor opens with Bydel's first query, not the stock welcome: {result:#}"
    );
    let typed: Value = serde_json::from_str(result["headers"].as_str().unwrap_or(""))
        .unwrap_or_else(|err| panic!("the typed headers are no JSON ({err}): {result:#}"));
    assert_eq!(typed["Authorization"], format!("Bearer {token}"));

    let response = &result["response"];
    assert!(response["errors"].is_null(), "{response:#}");
    assert_eq!(
        response["data"]["projects"]["totalCount"], 1,
        "{response:#}"
    );
    let project = &response["data"]["projects"]["edges"][0]["node"];
    assert_eq!(project["name"], "Bydelsmødre Nørrebro");
    assert_eq!(project["operator"]["name"], "Organisation ngo-red-cross");
    assert_eq!(
        response["data"]["referrals"]["totalCount"], 0,
        "{response:#}"
    );

    assert_eq!(
        result["websocket"], "open",
        "subscriptions can connect: {result:#}"
    );
    assert_eq!(result["dialog"], true, "{result:#}");

    let origin = format!("http://{}/", app.address);
    let requests = requests(&result);
    assert!(
        requests
            .iter()
            .any(|url| url.ends_with("/graphiql/assets/graphiql-4.1.2.min.js")),
        "{requests:#?}"
    );
    let stray: Vec<_> = requests
        .iter()
        .filter(|url| {
            let websocket = origin.replacen("http://", "ws://", 1);
            !url.starts_with(&origin) && !url.starts_with(&websocket) && !url.starts_with("data:")
        })
        .collect();
    assert!(stray.is_empty(), "requests left {origin}: {stray:#?}");
    assert_eq!(result["cspViolations"], serde_json::json!([]), "{result:#}");
    // Before the token is typed, GraphiQL's schema fetch is refused with 401, as it must be.
    let problems: Vec<_> = result["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|problem| !problem.contains("status of 401 (Unauthorized)"))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

/// A partner's dashboard: its script POSTs a query to the `target` of its URL's fragment with
/// the `token`, an `Idempotency-Key` and an `X-Request-Id`, and keeps what happened in
/// `window.__outcome`.
const DASHBOARD_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Dashboard</title></head><body>
<script>
(async () => {
  const params = new URLSearchParams(location.hash.slice(1));
  try {
    const response = await fetch(params.get("target"), {
      method: "POST",
      headers: {
        "Authorization": "Bearer " + params.get("token"),
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Idempotency-Key": "dashboard-" + Date.now(),
        "X-Request-Id": "dashboard-request",
      },
      body: JSON.stringify({ query: "{ projects(first: 5) { totalCount edges { node { name } } } }" }),
    });
    window.__outcome = {
      fetched: true,
      status: response.status,
      requestId: response.headers.get("x-request-id"),
      body: await response.json(),
    };
  } catch (error) {
    window.__outcome = { fetched: false, error: String(error) };
  }
})();
</script></body></html>"#;

/// Serves [`DASHBOARD_PAGE`] on its own loopback port (another origin than Bydel's) until the
/// test's runtime ends; returns its origin.
async fn dashboard() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the dashboard page");
    let origin = format!("http://{}", listener.local_addr().expect("an address"));
    let page = Router::new().route("/", get(|| async { Html(DASHBOARD_PAGE) }));
    tokio::spawn(async move { axum::serve(listener, page).await });
    origin
}

/// Opens the dashboard in Chromium against `app` and returns what its script saw.
async fn dashboard_calls(dashboard: &str, app: &TestApp, token: &str) -> Value {
    let page = format!("{dashboard}/#target={}&token={token}", app.url("/graphql"));
    let result = browser::run("cors.mjs", &[&page]).await;
    assert!(
        result["error"].is_null(),
        "the page did not run: {result:#}"
    );
    result["outcome"].clone()
}

async fn with_project(options: Options) -> (TestApp, String) {
    let app = TestApp::spawn_with(options).await;
    let base = app.fixtures().base().await;
    app.fixtures()
        .project("Bydelsmødre Gellerup", 751, &base.ngo, |_| {})
        .await;
    let token = app.token("ngo-red-cross", "projects:read").await;
    (app, token)
}

/// A page on a listed origin gets the data (and the response's request id) in the browser.
#[tokio::test]
async fn a_page_on_a_listed_origin_reads_bydel_s_answer() {
    let dashboard = dashboard().await;
    let (app, token) = with_project(Options {
        cors_origins: vec![dashboard.clone()],
        ..Options::default()
    })
    .await;
    let outcome = dashboard_calls(&dashboard, &app, &token).await;
    assert_eq!(outcome["fetched"], true, "{outcome:#}");
    assert_eq!(outcome["status"], 200, "{outcome:#}");
    assert_eq!(outcome["requestId"], "dashboard-request", "{outcome:#}");
    let projects = &outcome["body"]["data"]["projects"];
    assert_eq!(projects["totalCount"], 1, "{outcome:#}");
    assert_eq!(projects["edges"][0]["node"]["name"], "Bydelsmødre Gellerup");
}

/// Without its origin listed (CORS off, or other origins only) the browser blocks the call.
#[tokio::test]
async fn the_browser_blocks_a_page_whose_origin_is_not_listed() {
    let dashboard = dashboard().await;
    for options in [
        Options::default(),
        Options {
            cors_origins: vec!["https://dashboard.example.dk".to_owned()],
            ..Options::default()
        },
    ] {
        let (app, token) = with_project(options).await;
        let outcome = dashboard_calls(&dashboard, &app, &token).await;
        assert_eq!(outcome["fetched"], false, "{outcome:#}");
        assert!(
            outcome["error"]
                .as_str()
                .is_some_and(|e| e.contains("Failed to fetch")),
            "{outcome:#}"
        );
    }
}
