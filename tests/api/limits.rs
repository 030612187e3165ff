//! Cost limits and abuse resistance: pathological operations are refused with their code before
//! any database work, while legitimate queries (every document of this suite, the full
//! introspection query) pass the defaults; a flooding client is rate limited while another
//! client keeps being served; slow requests time out.

use std::time::Duration;

use bydel::limits::{LimitSettings, Limits};
use entity::enums::OrganisationKind;
use reqwest::header;
use sea_orm::TransactionTrait;
use serde_json::{Value, json};

use crate::{
    harness::{ALL_READ, GqlResponse, Options, TestApp},
    queries,
};

/// SQL statements the server ran while `send` was answered (authentication's reads included).
async fn statements_for(
    app: &TestApp,
    send: impl Future<Output = GqlResponse>,
) -> (GqlResponse, u64) {
    let before = app.statements().await;
    let response = send.await;
    (response, app.statements().await - before)
}

/// The statements of a request that does no data work: authentication only.
async fn baseline(app: &TestApp, token: &str) -> u64 {
    let (response, statements) =
        statements_for(app, app.graphql(Some(token), "{ __typename }", json!({}))).await;
    response.data();
    statements
}

#[track_caller]
fn expect_refused(response: &GqlResponse, code: &str, mentions: &str) {
    assert_eq!(response.status, 200, "{:#}", response.body);
    let message = response.expect_error(code);
    assert!(message.contains(mentions), "{message}");
    assert!(response.has_no_data(), "{:#}", response.body);
}

#[tokio::test]
async fn pathological_operations_are_refused_before_any_database_work() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", ALL_READ).await;
    baseline(&app, &token).await;
    let auth_only = baseline(&app, &token).await;

    let aliases: String = (0..40)
        .map(|i| format!("a{i}: projects(first: 1) {{ totalCount }} "))
        .collect();
    let wide = format!("query WideAliases {{ {aliases} }}");
    let cases = [
        (queries::DEEP_NESTING, "levels deep"),
        (queries::HUGE_PAGE, "complexity"),
        (wide.as_str(), "aliases"),
    ];
    for (query, mentions) in cases {
        let (response, statements) =
            statements_for(&app, app.graphql(Some(&token), query, json!({}))).await;
        expect_refused(&response, "QUERY_TOO_COMPLEX", mentions);
        assert_eq!(statements, auth_only, "{mentions}: no database work");
    }
    // The page size may come from a variable too.
    let (response, statements) = statements_for(
        &app,
        app.graphql(
            Some(&token),
            "query($n: Int) { projects(first: $n) { nodes { id mothers { id } } } }",
            json!({ "n": 10_000 }),
        ),
    )
    .await;
    expect_refused(&response, "QUERY_TOO_COMPLEX", "complexity");
    assert_eq!(statements, auth_only);
    assert_eq!(
        app.limits
            .refusals()
            .too_complex
            .load(std::sync::atomic::Ordering::Relaxed),
        4
    );
}

#[tokio::test]
async fn graphql_response_json_clients_get_400_for_a_refused_operation() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", ALL_READ).await;
    let response = app
        .client()
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .header(header::ACCEPT, "application/graphql-response+json")
        .json(&json!({ "query": queries::DEEP_NESTING }))
        .send()
        .await
        .expect("the server answers");
    let response = GqlResponse::read(response).await;
    assert_eq!(response.status, 400);
    response.expect_error("QUERY_TOO_COMPLEX");
    assert!(response.body.get("data").is_none(), "{:#}", response.body);
}

/// Every document this suite sends (each a partner's real query) passes the default limits,
/// even with the largest page (100) for every `$first`/`$last`.
#[test]
fn every_legitimate_query_passes_the_default_limits() {
    let limits = Limits::new(LimitSettings::default(), &bydel::schema::sdl());
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/api/queries");
    let mut checked = 0;
    for entry in std::fs::read_dir(&directory).expect("the queries directory exists") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".graphql")
            || name == "deep_nesting.graphql"
            || name == "huge_page.graphql"
        {
            continue;
        }
        let document = std::fs::read_to_string(&path).expect("a readable query");
        let mut request = async_graphql::Request::new(document).variables(
            async_graphql::Variables::from_json(json!({ "first": 100, "last": 100 })),
        );
        let cost = limits.cost(&mut request).expect("measurable");
        assert!(limits.check(&mut request).is_ok(), "{name}: {cost:?}");
        checked += 1;
    }
    assert!(checked > 50, "only {checked} documents found");
}

#[tokio::test]
async fn the_full_introspection_query_passes_the_default_limits() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "projects:read").await;
    let response = app
        .graphql(Some(&token), queries::INTROSPECTION, json!({}))
        .await;
    let schema = &response.data()["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query");
    let types = schema["types"].as_array().expect("types");
    assert!(
        types.iter().any(|t| t["name"] == "ReferralConnection"),
        "{types:?}"
    );
    // A hostile introspection (lists nested three deep) is refused, as graphql-js does.
    let nested =
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    let response = app.graphql(Some(&token), nested, json!({})).await;
    expect_refused(&response, "QUERY_TOO_COMPLEX", "introspection");
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let app = TestApp::spawn_with(Options {
        limits: LimitSettings {
            introspection: false,
            ..Options::default().limits
        },
        ..Options::default()
    })
    .await;
    let token = app.token("secretariat", "projects:read").await;
    for query in [
        queries::INTROSPECTION,
        "{ __type(name: \"Query\") { name } }",
        "{ ...F } fragment F on Query { __schema { queryType { name } } }",
    ] {
        let response = app.graphql(Some(&token), query, json!({})).await;
        expect_refused(&response, "FORBIDDEN", "introspection is disabled");
    }
    let response = app.graphql(Some(&token), "{ __typename }", json!({})).await;
    assert_eq!(response.data()["__typename"], "Query");
    // GraphiQL's page still loads.
    let page = app
        .client()
        .get(app.url("/graphql"))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .expect("the server answers");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("GraphiQL"));
}

#[tokio::test]
async fn an_oversized_response_is_refused() {
    let app = TestApp::spawn_with(Options {
        limits: LimitSettings {
            max_response_bytes: 4_000,
            ..Options::default().limits
        },
        ..Options::default()
    })
    .await;
    let token = app.token("secretariat", "projects:read").await;
    let response = app
        .graphql(Some(&token), queries::INTROSPECTION, json!({}))
        .await;
    expect_refused(&response, "RESPONSE_TOO_LARGE", "at most 4000");
    let response = app.graphql(Some(&token), "{ __typename }", json!({})).await;
    response.data();
}

#[tokio::test]
async fn a_flooding_client_is_rate_limited_while_another_is_served() {
    let app = TestApp::spawn_with(Options {
        limits: LimitSettings {
            rate: 1.0,
            burst: 5,
            ..LimitSettings::default()
        },
        ..Options::default()
    })
    .await;
    let flooder = app.token("secretariat", "projects:read").await;
    let other_org = app
        .fixtures()
        .organisation("ngo-other", OrganisationKind::Ngo, None)
        .await;
    let issued = bydel::tokens::issue(
        &app.db,
        &app.keys,
        &other_org,
        "another-client",
        &bydel::auth::ScopeSet::parse("projects:read").unwrap(),
        chrono::Duration::hours(1),
    )
    .await
    .expect("a second client's token");

    let query = "{ projects(first: 1) { totalCount } }";
    let started = std::time::Instant::now();
    let flood =
        futures::future::join_all((0..30).map(|_| app.graphql(Some(&flooder), query, json!({}))));
    let during = app.graphql(Some(&issued.token), query, json!({}));
    let (flood, during) = tokio::join!(flood, during);
    let elapsed = started.elapsed().as_secs_f64();
    during.data();

    let refused: Vec<&GqlResponse> = flood.iter().filter(|r| r.status == 429).collect();
    let served = flood.iter().filter(|r| r.status == 200).count();
    assert_eq!(served + refused.len(), 30);
    // The burst, plus what the bucket refilled (1 per second) while the flood ran.
    assert!(
        served >= 5 && served as f64 <= 6.0 + elapsed,
        "{served} served of 30 in {elapsed} s"
    );
    for response in &refused {
        response.expect_error("RATE_LIMITED");
        let header: u64 = response.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(header >= 1);
        assert_eq!(
            response.errors()[0]["extensions"]["retryAfterSeconds"],
            Value::from(header)
        );
    }
    assert_eq!(app.limits.rate_limiter().refusals(), refused.len() as u64);
    // After the flood, too, the other client is served.
    app.graphql(Some(&issued.token), query, json!({}))
        .await
        .data();
}

#[tokio::test]
async fn a_request_that_runs_too_long_times_out_and_changes_nothing() {
    let app = TestApp::spawn_with(Options {
        limits: LimitSettings {
            request_timeout: Duration::from_millis(500),
            ..Options::default().limits
        },
        ..Options::default()
    })
    .await;
    let token = app.token("secretariat", "tokens:admin").await;
    let secretariat = bydel::organisations::find_by_reference(&app.db, "secretariat")
        .await
        .unwrap();
    let organisation = crate::tokens::gid(bydel::ids::Kind::Organisation, secretariat.id);
    // Hold every connection of the server's pool that can be had (long-lived tasks such as
    // PostgreSQL's event listener may own one): the request then waits for a connection
    // longer than it may take. A second without a free connection means the pool is empty.
    let mut held = Vec::new();
    while let Ok(txn) = tokio::time::timeout(Duration::from_secs(1), app.db.begin()).await {
        held.push(txn.expect("a pooled connection"));
    }
    assert!(
        held.len() >= 4,
        "only {} connections could be held",
        held.len()
    );

    let response = crate::tokens::create_client(
        &app,
        &token,
        &organisation,
        "slow-client",
        &["projects:read"],
    )
    .await;
    assert_eq!(response.status, 503, "{:#}", response.body);
    let message = response.expect_error("TIMEOUT");
    assert!(message.contains("500 ms"), "{message}");
    drop(held);

    assert_eq!(
        app.limits
            .refusals()
            .timed_out
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    let clients = app
        .graphql(Some(&token), "{ apiClients { nodes { name } } }", json!({}))
        .await;
    let names = clients.data()["apiClients"]["nodes"].to_string();
    assert!(!names.contains("slow-client"), "{names}");
}
