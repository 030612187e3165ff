//! The committed `schema.graphql` is the schema the server serves, and introspection over
//! HTTP shows the query root partners build on.

use std::path::Path;

use serde_json::json;

use crate::{harness::TestApp, queries};

#[test]
fn schema_graphql_is_the_served_schema() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let served = bydel::schema::sdl();
    if committed != served {
        let first_difference = committed
            .lines()
            .zip(served.lines())
            .enumerate()
            .find(|(_, (file, server))| file != server)
            .map_or_else(
                || "one is a prefix of the other".to_owned(),
                |(line, (file, server))| {
                    format!(
                        "line {}: file has {file:?}, server has {server:?}",
                        line + 1
                    )
                },
            );
        panic!(
            "schema.graphql differs from the schema the server serves ({first_difference}).\n\
             Regenerate it with `cargo run -p bydel -- schema --output schema.graphql` and commit it."
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_shows_the_query_root() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "projects:read").await;

    let response = app
        .graphql(Some(&token), queries::QUERY_TYPE, json!({}))
        .await;

    let query_type = &response.data()["__schema"]["queryType"];
    assert_eq!(query_type["name"], "Query");
    let fields: Vec<&str> = query_type["fields"]
        .as_array()
        .expect("the query type lists its fields")
        .iter()
        .filter_map(|field| field["name"].as_str())
        .collect();
    for expected in [
        "organisations",
        "projects",
        "mothers",
        "courses",
        "participants",
        "visits",
        "referrals",
        "node",
    ] {
        assert!(
            fields.contains(&expected),
            "Query has no field {expected}; it has {fields:?}"
        );
    }
}
