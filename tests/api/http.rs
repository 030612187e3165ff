//! GraphQL over HTTP: media type negotiation, the status codes each media type's rules ask
//! for, malformed requests (415, 400, 406, 413), GET parameters and `operationName`.

use reqwest::{StatusCode, header};
use serde_json::json;

use crate::harness::{GqlResponse, TestApp};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

struct Client<'a> {
    app: &'a TestApp,
    token: String,
}

impl Client<'_> {
    async fn new(app: &TestApp) -> Client<'_> {
        let token = app.token("secretariat", "projects:read").await;
        Client { app, token }
    }

    /// POSTs `body` as it is, with `content_type` and `accept` when given.
    async fn post(&self, body: &str, content_type: Option<&str>, accept: Option<&str>) -> Raw {
        let mut request = self
            .app
            .client()
            .post(self.app.url("/graphql"))
            .bearer_auth(&self.token)
            .body(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        Raw::read(request.send().await.expect("the server answers")).await
    }

    async fn post_json(&self, body: serde_json::Value, accept: Option<&str>) -> Raw {
        self.post(&body.to_string(), Some("application/json"), accept)
            .await
    }

    async fn get(&self, query: &[(&str, &str)], accept: Option<&str>) -> Raw {
        let mut request = self
            .app
            .client()
            .get(self.app.url("/graphql"))
            .bearer_auth(&self.token)
            .query(query);
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        Raw::read(request.send().await.expect("the server answers")).await
    }
}

/// Status, content type and JSON body of an answer.
struct Raw {
    status: StatusCode,
    content_type: String,
    response: GqlResponse,
}

impl Raw {
    async fn read(response: reqwest::Response) -> Raw {
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        Raw {
            status,
            content_type,
            response: GqlResponse::read(response).await,
        }
    }

    #[track_caller]
    fn expect(&self, status: u16, content_type: &str) -> &GqlResponse {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.response.body);
        assert!(
            self.content_type.starts_with(content_type),
            "{} is not {content_type}",
            self.content_type
        );
        &self.response
    }
}

#[tokio::test]
async fn the_response_media_type_follows_accept() {
    let app = TestApp::spawn().await;
    let client = Client::new(&app).await;
    let query = json!({ "query": "{ __typename }" });
    let cases = [
        (None, "application/json"),
        (Some("application/json"), "application/json"),
        (Some("*/*"), "application/json"),
        (Some(GRAPHQL_RESPONSE_JSON), GRAPHQL_RESPONSE_JSON),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            GRAPHQL_RESPONSE_JSON,
        ),
        (
            Some("application/graphql-response+json;q=0.5, application/json"),
            "application/json",
        ),
        (Some("text/html, */*;q=0.1"), "application/json"),
    ];
    for (accept, expected) in cases {
        let raw = client.post_json(query.clone(), accept).await;
        let response = raw.expect(200, expected);
        assert_eq!(response.data()["__typename"], "Query", "{accept:?}");
    }
    let raw = client.post_json(query, Some("text/html")).await;
    raw.expect(406, "application/json")
        .expect_error("BAD_USER_INPUT");
}

#[tokio::test]
async fn request_errors_are_400_only_under_graphql_response_json() {
    let app = TestApp::spawn().await;
    let client = Client::new(&app).await;
    let failures = [
        json!({ "query": "{" }),
        json!({ "query": "{ noSuchField }" }),
        json!({ "query": "query($id: ID!) { __typename }", "variables": { "id": null } }),
    ];
    for body in failures {
        let graphql = client
            .post_json(body.clone(), Some(GRAPHQL_RESPONSE_JSON))
            .await;
        let response = graphql.expect(400, GRAPHQL_RESPONSE_JSON);
        response.expect_error("BAD_USER_INPUT");
        assert!(
            response.body.get("data").is_none(),
            "{body}: {:#}",
            response.body
        );

        let json = client
            .post_json(body.clone(), Some("application/json"))
            .await;
        json.expect(200, "application/json")
            .expect_error("BAD_USER_INPUT");
    }
    // A field error is not a request error: data is there, the status 200 under both.
    let partial = json!({ "query": "{ mothers(first: 1) { totalCount } }" });
    let response = client.post_json(partial, Some(GRAPHQL_RESPONSE_JSON)).await;
    let response = response.expect(200, GRAPHQL_RESPONSE_JSON);
    response.expect_error("FORBIDDEN");
    assert!(response.body["data"].is_object(), "{:#}", response.body);
}

#[tokio::test]
async fn malformed_requests_are_refused_with_their_status() {
    let app = TestApp::spawn().await;
    let client = Client::new(&app).await;
    let query = r#"{"query": "{ __typename }"}"#;
    let cases: [(&str, Option<&str>, u16, &str); 9] = [
        (query, None, 415, "Content-Type"),
        (query, Some("text/plain"), 415, "application/json"),
        (
            query,
            Some("application/json; charset=latin1"),
            415,
            "UTF-8",
        ),
        ("", Some("application/json"), 400, "empty"),
        (
            r#"{ "not a JSON"#,
            Some("application/json"),
            400,
            "not valid JSON",
        ),
        (
            r#"[{"query": "{ __typename }"}]"#,
            Some("application/json"),
            400,
            "batched",
        ),
        (
            r#"{"qeury": "{ __typename }"}"#,
            Some("application/json"),
            400,
            "`query` is missing",
        ),
        (
            r#"{"query": 1}"#,
            Some("application/json"),
            400,
            "must be a string",
        ),
        (
            r#"{"query": "{ __typename }", "variables": []}"#,
            Some("application/json"),
            400,
            "object",
        ),
    ];
    for (body, content_type, status, mentions) in cases {
        let raw = client.post(body, content_type, None).await;
        let message = raw
            .expect(status, "application/json")
            .expect_error("BAD_USER_INPUT");
        assert!(message.contains(mentions), "{body}: {message}");
    }
    let ok = client
        .post(query, Some("application/json; charset=utf-8"), None)
        .await;
    ok.expect(200, "application/json").data();
}

#[tokio::test]
async fn a_ten_megabyte_body_is_413() {
    let app = TestApp::spawn().await;
    let client = Client::new(&app).await;
    let padding = "x".repeat(10 * 1024 * 1024);
    let body = json!({ "query": "{ __typename }", "variables": { "padding": padding } });
    let raw = client.post_json(body, None).await;
    let message = raw
        .expect(413, "application/json")
        .expect_error("BAD_USER_INPUT");
    assert!(message.contains("larger than"), "{message}");
    // The server is still there for the next request.
    client
        .post_json(json!({ "query": "{ __typename }" }), None)
        .await
        .expect(200, "application/json")
        .data();
}

#[tokio::test]
async fn get_reads_variables_and_operation_name_and_refuses_mutations() {
    let app = TestApp::spawn().await;
    let client = Client::new(&app).await;
    let query = "query Type($name: String!) { __type(name: $name) { name } }";
    let raw = client
        .get(
            &[("query", query), ("variables", r#"{"name": "Project"}"#)],
            None,
        )
        .await;
    assert_eq!(
        raw.expect(200, "application/json").data()["__type"]["name"],
        "Project"
    );
    let raw = client
        .get(&[("query", query), ("variables", "{not json")], None)
        .await;
    raw.expect(400, "application/json")
        .expect_error("BAD_USER_INPUT");
    let raw = client
        .get(&[("query", "{ __typename }"), ("extensions", "[]")], None)
        .await;
    raw.expect(400, "application/json")
        .expect_error("BAD_USER_INPUT");

    // A document with a query and a mutation: GET may run the query, never the mutation.
    let document = "query A { __typename } mutation B { revokeToken(id: \"x\") { id } }";
    let raw = client
        .get(&[("query", document), ("operationName", "A")], None)
        .await;
    assert_eq!(
        raw.expect(200, "application/json").data()["__typename"],
        "Query"
    );
    let response = app
        .client()
        .get(app.url("/graphql"))
        .bearer_auth(&client.token)
        .query(&[("query", document), ("operationName", "B")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()[header::ALLOW], "POST");
}

#[tokio::test]
async fn operation_name_picks_the_operation() {
    let app = TestApp::spawn().await;
    let client = Client::new(&app).await;
    let document = "query A { a: __typename } query B { b: __typename }";
    let raw = client
        .post_json(json!({ "query": document, "operationName": "B" }), None)
        .await;
    assert_eq!(raw.expect(200, "application/json").data()["b"], "Query");
    for name in [json!(null), json!("C")] {
        let raw = client
            .post_json(
                json!({ "query": document, "operationName": name }),
                Some(GRAPHQL_RESPONSE_JSON),
            )
            .await;
        raw.expect(400, GRAPHQL_RESPONSE_JSON)
            .expect_error("BAD_USER_INPUT");
    }
}
