//! The committed schemas are the schemas the server serves: `schema.graphql` (the federation
//! subgraph SDL) and `schema.client.graphql` (the client SDL). The tools partners point at the
//! client schema read it (graphql-js, graphql-inspector, graphql-schema-linter with every
//! description rule, pinned in `tests/schema-tools`), and introspection over HTTP shows the
//! query root partners build on.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::json;

use crate::{
    harness::{TestApp, node},
    queries,
};

fn repo_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

/// Fails, naming the first line that differs, when the committed `file` is not `served`.
fn assert_committed(file: &str, served: &str, regenerate: &str) {
    let path = repo_file(file);
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
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
            "{file} differs from the schema the server serves ({first_difference}).\n\
             Regenerate it with `{regenerate}` and commit it."
        );
    }
}

#[test]
fn schema_graphql_is_the_served_schema() {
    assert_committed(
        "schema.graphql",
        &bydel::schema::sdl(),
        "cargo run -p bydel -- schema --output schema.graphql",
    );
}

#[test]
fn schema_client_graphql_is_the_served_client_schema() {
    assert_committed(
        "schema.client.graphql",
        &bydel::schema::client_sdl(),
        "cargo run -p bydel -- schema --client --output schema.client.graphql",
    );
}

/// `tests/schema-tools/check.mjs` over the SDL `bydel schema --client` prints: graphql-js
/// builds and validates it (all three roots, every directive defined), graphql-inspector
/// loads it, and graphql-schema-linter finds nothing, a missing description included.
#[tokio::test]
async fn the_client_schema_is_read_by_partners_tools_and_describes_everything() {
    let dir = repo_file("tests/schema-tools");
    let file = std::env::temp_dir().join(format!(
        "bydel-schema-client-{}.graphql",
        std::process::id()
    ));
    std::fs::write(&file, bydel::schema::client_sdl()).expect("the client SDL can be written");
    let path = file.clone();
    let output = tokio::task::spawn_blocking(move || {
        node::npm_ci_in(&dir, &[]).unwrap_or_else(|err| panic!("{err}"));
        Command::new("node")
            .arg("check.mjs")
            .arg(&path)
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|err| panic!("cannot run node (needed for this test): {err}"))
    })
    .await
    .expect("the schema tools run");
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: serde_json::Value = stdout
        .lines()
        .find_map(|line| line.strip_prefix("SUMMARY "))
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_else(|| {
            panic!(
                "no SUMMARY line:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert_eq!(summary["graphql"]["ok"], true, "graphql-js:\n{stdout}");
    assert_eq!(
        summary["inspector"]["ok"], true,
        "graphql-inspector:\n{stdout}"
    );
    assert_eq!(
        summary["linter"]["errors"], 0,
        "graphql-schema-linter (fix each line above; descriptions come from `///` comments \
         and `#[graphql(desc = ...)]`):\n{stdout}"
    );
    assert!(output.status.success(), "{stdout}");
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
