//! Token management over GraphQL, as the secretariat's admin front end uses it: create a
//! client, issue tokens, list them (never their text), revoke a token, revoke and delete a
//! client; and every way of being refused, with nothing written.

use bydel::ids::Kind;
use entity::{api_client, api_token, audit_event};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    harness::{GqlResponse, TestApp, claims_of, nodes, total_count},
    queries,
};

/// The scopes of the admin token most tests act with.
pub const ADMIN: &str = "tokens:admin audit:read";

/// The global id of a row of `kind`.
pub fn gid(kind: Kind, id: Uuid) -> String {
    kind.id(id).0
}

/// The API client a token issued by the harness belongs to, as a global id.
pub fn client_of(token: &str) -> String {
    let sub = claims_of(token).sub;
    gid(
        Kind::ApiClient,
        sub.parse().expect("`sub` is a client UUID"),
    )
}

/// The token's own global id (its `jti`).
pub fn token_id(token: &str) -> String {
    let jti = claims_of(token).jti;
    gid(Kind::ApiToken, jti.parse().expect("`jti` is a UUID"))
}

/// Rows of the three tables token management writes: clients, tokens, audit events.
pub async fn written(app: &TestApp) -> (u64, u64, u64) {
    let clients = api_client::Entity::find().count(&app.db).await;
    let tokens = api_token::Entity::find().count(&app.db).await;
    let events = audit_event::Entity::find().count(&app.db).await;
    (
        clients.expect("api_client counts"),
        tokens.expect("api_token counts"),
        events.expect("audit_event counts"),
    )
}

pub async fn create_client(
    app: &TestApp,
    token: &str,
    organisation: &str,
    name: &str,
    scopes: &[&str],
) -> GqlResponse {
    let input = json!({ "organisationId": organisation, "name": name, "scopes": scopes });
    app.graphql(
        Some(token),
        queries::CREATE_API_CLIENT,
        json!({ "input": input }),
    )
    .await
}

/// Creates a client and answers its global id, failing the test on any error.
pub async fn new_client(
    app: &TestApp,
    token: &str,
    organisation: &str,
    name: &str,
    scopes: &[&str],
) -> String {
    let response = create_client(app, token, organisation, name, scopes).await;
    string(&response.data()["createApiClient"]["id"])
}

pub async fn issue(app: &TestApp, token: &str, input: Value) -> GqlResponse {
    app.graphql(Some(token), queries::ISSUE_TOKEN, json!({ "input": input }))
        .await
}

/// Issues a token and answers (token text, token global id).
pub async fn new_token(app: &TestApp, token: &str, input: Value) -> (String, String) {
    let response = issue(app, token, input).await;
    let issued = &response.data()["issueToken"];
    (string(&issued["token"]), string(&issued["apiToken"]["id"]))
}

pub async fn by_id(app: &TestApp, token: &str, mutation: &str, id: &str) -> GqlResponse {
    app.graphql(Some(token), mutation, json!({ "id": id }))
        .await
}

#[track_caller]
pub fn string(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value:#}"))
        .to_owned()
}

fn strs(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {value:#}"))
        .iter()
        .map(|v| v.as_str().expect("a string item"))
        .collect()
}

/// Whether `token` is accepted: 200 on a query that needs no scope, or 401.
async fn accepted(app: &TestApp, token: &str) -> bool {
    let response = app
        .graphql(Some(token), queries::ORGANISATIONS, json!({}))
        .await;
    match response.status {
        200 => true,
        401 => {
            assert_eq!(
                response.code(),
                Some("UNAUTHENTICATED"),
                "{:#}",
                response.body
            );
            assert!(response.has_no_data(), "{:#}", response.body);
            false
        }
        other => panic!("HTTP {other}: {:#}", response.body),
    }
}

/// The `field` of a validation error, after checking it is one.
#[track_caller]
fn bad_field(response: &GqlResponse) -> &str {
    response.expect_error("BAD_USER_INPUT");
    response.errors()[0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("BAD_USER_INPUT without a field: {:#}", response.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_and_its_tokens_live_and_die_over_graphql() {
    let app = TestApp::spawn().await;
    let base = app.fixtures().base().await;
    let admin = app.token("secretariat", ADMIN).await;
    let copenhagen = gid(Kind::Organisation, base.copenhagen.id);

    let created = create_client(
        &app,
        &admin,
        &copenhagen,
        "  caseworker system ",
        &["mothers:read", "projects:read"],
    )
    .await;
    let client = &created.data()["createApiClient"];
    assert_eq!(client["name"], "caseworker system", "the name is trimmed");
    // Canonical order: by area, as `bydel` lists them.
    assert_eq!(strs(&client["scopes"]), ["projects:read", "mothers:read"]);
    assert_eq!(client["organisation"]["shortName"], "kommune-101");
    assert!(client["revokedAt"].is_null());
    assert_eq!(client["tokens"], json!([]));
    let client_id = string(&client["id"]);

    // A token with part of the client's scopes, for two hours.
    let response = issue(
        &app,
        &admin,
        json!({ "clientId": client_id, "scopes": ["projects:read"], "ttl": "2h" }),
    )
    .await;
    let issued = &response.data()["issueToken"];
    let narrow = string(&issued["token"]);
    let narrow_id = string(&issued["apiToken"]["id"]);
    assert_eq!(strs(&issued["apiToken"]["scopes"]), ["projects:read"]);
    assert_eq!(issued["apiToken"]["isActive"], true);
    assert_eq!(issued["apiToken"]["client"]["id"], client_id.as_str());
    let claims = claims_of(&narrow);
    assert_eq!(claims.scope, "projects:read");
    assert_eq!(gid(Kind::ApiClient, claims.sub.parse().unwrap()), client_id);
    assert_eq!(claims.org, base.copenhagen.id.to_string());
    assert_eq!(gid(Kind::ApiToken, claims.jti.parse().unwrap()), narrow_id);
    assert_eq!(claims.exp - claims.iat, 2 * 3600);

    // It has exactly its scopes: projects, and organisations (which need none); not mothers,
    // which its client could have given it, nor token administration.
    let probe = app
        .graphql(Some(&narrow), queries::TOKEN_SCOPE_PROBE, json!({}))
        .await;
    assert_eq!(probe.status, 200, "{:#}", probe.body);
    assert!(probe.body["data"]["organisations"]["totalCount"].is_u64());
    assert!(probe.body["data"]["projects"]["totalCount"].is_u64());
    assert!(probe.body["data"]["mothers"].is_null());
    assert!(probe.body["data"]["apiClients"].is_null());
    let mut refused: Vec<(&str, &str)> = probe
        .errors()
        .iter()
        .map(|e| {
            (
                e["path"][0].as_str().expect("a field error has a path"),
                e["extensions"]["code"]
                    .as_str()
                    .expect("an error has a code"),
            )
        })
        .collect();
    refused.sort();
    assert_eq!(
        refused,
        [("apiClients", "FORBIDDEN"), ("mothers", "FORBIDDEN")],
        "{:#}",
        probe.body
    );

    // By default a token carries its client's scopes and lives 24 hours.
    let (wide, wide_id) = new_token(&app, &admin, json!({ "clientId": client_id })).await;
    let claims = claims_of(&wide);
    assert_eq!(claims.scope, "projects:read mothers:read");
    assert_eq!(claims.exp - claims.iat, 24 * 3600);
    assert!(accepted(&app, &narrow).await && accepted(&app, &wide).await);

    // Listing shows both tokens by id, and never their text.
    let filter = json!({ "filter": { "organisationId": copenhagen } });
    let listed = app
        .graphql(Some(&admin), queries::API_CLIENTS, filter.clone())
        .await;
    let data = listed.data();
    assert_eq!(total_count(data, "apiClients"), 1);
    let tokens: Vec<String> = nodes(data, "apiClients")[0]["tokens"]
        .as_array()
        .expect("tokens is a list")
        .iter()
        .map(|t| string(&t["id"]))
        .collect();
    assert_eq!(tokens, [narrow_id.clone(), wide_id.clone()], "oldest first");
    let single = by_id(&app, &admin, queries::API_CLIENT, &client_id).await;
    for body in [&listed.body, &single.body] {
        let text = body.to_string();
        assert!(!text.contains(&narrow) && !text.contains(&wide));
        assert!(!text.contains(narrow.split('.').nth(2).expect("a JWT has a signature")));
    }
    assert_eq!(single.data()["apiClient"]["tokens"][1]["isActive"], true);
    for (id, typename) in [(&client_id, "ApiClient"), (&narrow_id, "ApiToken")] {
        let node = by_id(&app, &admin, queries::NODE_TYPE, id).await;
        assert_eq!(node.data()["node"]["__typename"], typename);
        assert_eq!(node.data()["node"]["id"], id.as_str());
    }

    // Revoking one token refuses it and only it; revoking it again changes nothing.
    let revoked = by_id(&app, &admin, queries::REVOKE_TOKEN, &narrow_id).await;
    let revoked_at = revoked.data()["revokeToken"]["revokedAt"].clone();
    assert!(revoked_at.is_string());
    assert_eq!(revoked.data()["revokeToken"]["isActive"], false);
    assert!(!accepted(&app, &narrow).await);
    assert!(accepted(&app, &wide).await);
    let again = by_id(&app, &admin, queries::REVOKE_TOKEN, &narrow_id).await;
    assert_eq!(again.data()["revokeToken"]["revokedAt"], revoked_at);

    // Revoking the client refuses every token of it, and hides it from the default list.
    let response = by_id(&app, &admin, queries::REVOKE_API_CLIENT, &client_id).await;
    let revoked_client = &response.data()["revokeApiClient"];
    assert!(revoked_client["revokedAt"].is_string());
    assert_eq!(revoked_client["tokens"][1]["isActive"], false);
    assert!(!accepted(&app, &wide).await);
    let listed = app
        .graphql(Some(&admin), queries::API_CLIENTS, filter)
        .await;
    assert_eq!(total_count(listed.data(), "apiClients"), 0);
    let with_revoked =
        json!({ "filter": { "organisationId": copenhagen, "includeRevoked": true } });
    let listed = app
        .graphql(Some(&admin), queries::API_CLIENTS, with_revoked)
        .await;
    assert_eq!(total_count(listed.data(), "apiClients"), 1);
    let again = by_id(&app, &admin, queries::REVOKE_API_CLIENT, &client_id).await;
    assert_eq!(
        again.data()["revokeApiClient"]["revokedAt"],
        revoked_client["revokedAt"]
    );
    let refused = issue(&app, &admin, json!({ "clientId": client_id })).await;
    refused.expect_error("CONFLICT");

    // Deleting it removes it and its token rows; its tokens are then unknown.
    let deleted = by_id(&app, &admin, queries::DELETE_API_CLIENT, &client_id).await;
    assert_eq!(deleted.data()["deleteApiClient"], client_id.as_str());
    assert!(!accepted(&app, &wide).await);
    let gone = by_id(&app, &admin, queries::API_CLIENT, &client_id).await;
    assert!(gone.data()["apiClient"].is_null());
    let client_uuid = claims.sub.parse::<Uuid>().unwrap();
    let rows = api_token::Entity::find()
        .filter(api_token::Column::ClientId.eq(client_uuid))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    let again = by_id(&app, &admin, queries::DELETE_API_CLIENT, &client_id).await;
    again.expect_error("NOT_FOUND");
    // The admin token that did all this still works.
    assert!(accepted(&app, &admin).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tokens_admin_every_mutation_is_forbidden_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let base = app.fixtures().base().await;
    let reader = app.token("secretariat", "tokens:read audit:read").await;
    let secretariat = gid(Kind::Organisation, base.secretariat.id);
    let client = client_of(&reader);
    let before = written(&app).await;

    let attempts = [
        create_client(&app, &reader, &secretariat, "script", &["stats:read"]).await,
        issue(&app, &reader, json!({ "clientId": client })).await,
        by_id(&app, &reader, queries::REVOKE_TOKEN, &token_id(&reader)).await,
        by_id(&app, &reader, queries::REVOKE_API_CLIENT, &client).await,
        by_id(&app, &reader, queries::DELETE_API_CLIENT, &client).await,
    ];
    for response in &attempts {
        assert!(
            response.expect_error("FORBIDDEN").contains("tokens:admin"),
            "{:#}",
            response.body
        );
        let data = response.body["data"]
            .as_object()
            .expect("data is an object");
        assert!(data.values().all(Value::is_null), "{:#}", response.body);
    }
    assert_eq!(
        written(&app).await,
        before,
        "a refused mutation writes nothing"
    );
    assert!(accepted(&app, &reader).await, "the token is still valid");

    // `tokens:read` lists clients (here the harness's own) but changes nothing.
    let listed = app
        .graphql(Some(&reader), queries::API_CLIENTS, json!({}))
        .await;
    assert_eq!(total_count(listed.data(), "apiClients"), 1);

    // Without any tokens scope even the list is refused, naming the scope.
    let other = app.token("secretariat", "projects:read").await;
    let listed = app
        .graphql(Some(&other), queries::API_CLIENTS, json!({}))
        .await;
    assert!(listed.expect_error("FORBIDDEN").contains("tokens:read"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_secretariat_manages_tokens_whatever_the_scope_says() {
    let app = TestApp::spawn().await;
    let base = app.fixtures().base().await;
    // Someone gave an NGO and a municipality token-administration scopes at the command line.
    for organisation in [&base.ngo, &base.copenhagen] {
        let token = app.token(&organisation.short_name, ADMIN).await;
        let own = gid(Kind::Organisation, organisation.id);
        let before = written(&app).await;

        let listed = app
            .graphql(Some(&token), queries::API_CLIENTS, json!({}))
            .await;
        match listed.code() {
            Some(code) => assert_eq!(code, "FORBIDDEN", "{:#}", listed.body),
            None => assert_eq!(
                total_count(listed.data(), "apiClients"),
                0,
                "clients exist (at least this token's own), yet none may be listed"
            ),
        }
        let own_client = by_id(&app, &token, queries::API_CLIENT, &client_of(&token)).await;
        assert!(
            own_client.body["data"]["apiClient"].is_null(),
            "{:#}",
            own_client.body
        );
        let node = by_id(&app, &token, queries::NODE_TYPE, &token_id(&token)).await;
        assert!(node.body["data"]["node"].is_null(), "{:#}", node.body);

        let attempts = [
            create_client(&app, &token, &own, "own script", &["projects:read"]).await,
            issue(&app, &token, json!({ "clientId": client_of(&token) })).await,
            by_id(&app, &token, queries::REVOKE_TOKEN, &token_id(&token)).await,
            by_id(&app, &token, queries::REVOKE_API_CLIENT, &client_of(&token)).await,
            by_id(&app, &token, queries::DELETE_API_CLIENT, &client_of(&token)).await,
        ];
        for response in &attempts {
            assert!(
                response.expect_error("FORBIDDEN").contains("secretariat"),
                "{:#}",
                response.body
            );
        }
        let audit = app
            .graphql(Some(&token), queries::AUDIT_EVENTS, json!({}))
            .await;
        match audit.code() {
            Some(code) => assert_eq!(code, "FORBIDDEN", "{:#}", audit.body),
            None => assert_eq!(total_count(audit.data(), "auditEvents"), 0),
        }
        assert_eq!(written(&app).await, before, "nothing written");
        assert!(accepted(&app, &token).await, "its own token still works");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_naming_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let base = app.fixtures().base().await;
    let admin = app.token("secretariat", ADMIN).await;
    let randers = gid(Kind::Organisation, base.randers.id);
    let client = new_client(&app, &admin, &randers, "caseworker", &["referrals:write"]).await;
    let before = written(&app).await;

    let longest = "ø".repeat(128);
    let too_long = "ø".repeat(129);
    let nowhere = gid(Kind::Organisation, Uuid::now_v7());
    let a_project = gid(Kind::Project, Uuid::now_v7());
    let cases: Vec<(&str, Value, &str)> = vec![
        ("empty name", json!({ "name": " " }), "input.name"),
        ("name too long", json!({ "name": too_long }), "input.name"),
        ("no scopes", json!({ "scopes": [] }), "input.scopes"),
        (
            "unknown scope",
            json!({ "scopes": ["referrals:delete"] }),
            "input.scopes",
        ),
        (
            "unknown area",
            json!({ "scopes": ["secrets:read"] }),
            "input.scopes",
        ),
        (
            "no such organisation",
            json!({ "organisationId": nowhere }),
            "input.organisationId",
        ),
        (
            "a project's id",
            json!({ "organisationId": a_project }),
            "input.organisationId",
        ),
        (
            "not an id",
            json!({ "organisationId": "garbage" }),
            "input.organisationId",
        ),
    ];
    for (case, change, field) in cases {
        let mut input =
            json!({ "organisationId": randers, "name": "other", "scopes": ["stats:read"] });
        for (key, value) in change.as_object().unwrap() {
            input[key] = value.clone();
        }
        let response = app
            .graphql(
                Some(&admin),
                queries::CREATE_API_CLIENT,
                json!({ "input": input }),
            )
            .await;
        assert_eq!(bad_field(&response), field, "{case}: {:#}", response.body);
    }

    let duplicate = create_client(&app, &admin, &randers, " caseworker", &["stats:read"]).await;
    assert!(duplicate.expect_error("CONFLICT").contains("caseworker"));

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "beyond the client",
            json!({ "scopes": ["referrals:write", "participants:read"] }),
            "input.scopes",
        ),
        (
            "admin of a written area",
            json!({ "scopes": ["referrals:admin"] }),
            "input.scopes",
        ),
        ("no scopes", json!({ "scopes": [] }), "input.scopes"),
        (
            "bad scope text",
            json!({ "scopes": ["referrals"] }),
            "input.scopes",
        ),
        ("ttl without unit", json!({ "ttl": "24" }), "input.ttl"),
        ("ttl with a bad unit", json!({ "ttl": "24x" }), "input.ttl"),
        ("ttl of zero", json!({ "ttl": "0s" }), "input.ttl"),
        ("ttl over a year", json!({ "ttl": "400d" }), "input.ttl"),
        ("ttl not ascii", json!({ "ttl": "1ø" }), "input.ttl"),
        (
            "no such client",
            json!({ "clientId": gid(Kind::ApiClient, Uuid::now_v7()) }),
            "input.clientId",
        ),
        (
            "a token's id as client",
            json!({ "clientId": token_id(&admin) }),
            "input.clientId",
        ),
    ];
    for (case, change, field) in cases {
        let mut input = json!({ "clientId": client });
        for (key, value) in change.as_object().unwrap() {
            input[key] = value.clone();
        }
        let response = issue(&app, &admin, input).await;
        assert_eq!(bad_field(&response), field, "{case}: {:#}", response.body);
    }
    let beyond = issue(
        &app,
        &admin,
        json!({ "clientId": client, "scopes": ["referrals:write", "participants:read"] }),
    )
    .await;
    assert!(
        beyond.message().contains("participants:read"),
        "{}",
        beyond.message()
    );
    assert!(
        !beyond.message().contains("referrals:write exceed"),
        "{}",
        beyond.message()
    );

    for mutation in [
        queries::REVOKE_TOKEN,
        queries::REVOKE_API_CLIENT,
        queries::DELETE_API_CLIENT,
    ] {
        let kind = if mutation == queries::REVOKE_TOKEN {
            Kind::ApiToken
        } else {
            Kind::ApiClient
        };
        let unknown = by_id(&app, &admin, mutation, &gid(kind, Uuid::now_v7())).await;
        unknown.expect_error("NOT_FOUND");
        let garbage = by_id(&app, &admin, mutation, "garbage").await;
        assert_eq!(bad_field(&garbage), "id");
        let wrong_kind = by_id(&app, &admin, mutation, &gid(Kind::Project, Uuid::now_v7())).await;
        assert_eq!(bad_field(&wrong_kind), "id");
    }
    assert_eq!(written(&app).await, before, "refused input writes nothing");

    // A name of exactly 128 characters (not bytes) fits.
    let response = create_client(&app, &admin, &randers, &longest, &["stats:read"]).await;
    assert_eq!(response.data()["createApiClient"]["name"], longest.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mutation_sent_with_get_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.token("secretariat", ADMIN).await;
    let before = written(&app).await;
    let mutation = format!(
        "mutation {{ revokeApiClient(id: \"{}\") {{ id }} }}",
        client_of(&admin)
    );

    let response = app.graphql_get(Some(&admin), &mutation).await;

    assert_eq!(response.status, 405, "{:#}", response.body);
    assert_eq!(response.headers["allow"], "POST");
    assert!(response.has_no_data());
    assert_eq!(written(&app).await, before);
    assert!(accepted(&app, &admin).await);
}
