//! Real-browser tests (headless Chromium, see `harness::browser`): GraphiQL works with nothing
//! but this server, and a page on another origin reaches Bydel only when CORS allows it.

use serde_json::Value;

use crate::harness::{TestApp, browser};

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
        .filter(|url| !url.starts_with(&origin) && !url.starts_with("data:"))
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
