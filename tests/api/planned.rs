//! Planned loading (`bydel::planned`): a referral read by id brings its participant, mother
//! and project in its own statement, each joined under the very rule its own loader applies
//! (a page keeps its loaders). So asking for them costs no statement, a row the caller may
//! not see is `null` exactly as before, a pointed table whose scope the token lacks fails that
//! field alone with `FORBIDDEN`, and a party with no relationship to the referral gets
//! nothing; the page checks run beside, so both paths are held to the same answers.

use bydel::ids::Kind;
use entity::{enums::ReferralStatus, referral};
use sea_orm::ActiveValue::Set;
use serde_json::{Value, json};

use crate::harness::{GqlResponse, TestApp, nodes};

const FULL: &str = "referrals:read participants:read mothers:read projects:read";

/// What a referral points at, as the selection of one referral.
const POINTED: &str = "participant { pseudonym } mother { id } project { name }";

fn pointed_or_not(pointed: bool) -> &'static str {
    if pointed { POINTED } else { "" }
}

/// A referral by `node(id:)`, with what it points at when `pointed`.
fn node_query(pointed: bool) -> String {
    let nested = pointed_or_not(pointed);
    format!("query($id: ID!) {{ node(id: $id) {{ id ... on Referral {{ status {nested} }} }} }}")
}

/// The same through the `referrals` connection.
fn page_query(nested: &str) -> String {
    format!("{{ referrals(first: 20) {{ edges {{ node {{ id status {nested} }} }} }} }}")
}

/// A referral from the NGO's project in København (101), with a mother, to Randers (730):
/// Randers receives it, sees her pseudonym, and neither the project nor its mother.
struct World {
    app: TestApp,
    referral: referral::Model,
    mother_id: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let mother = fx.mother(&project, "Amina", &["ar"], |_| {}).await;
    let participant = fx
        .participant("BM-PLAN-0001", Some(&project), &base.ngo, &[], |_| {})
        .await;
    let referral = fx
        .referral(
            &base.ngo,
            &base.randers,
            &participant,
            ReferralStatus::Requested,
            |r| r.mother_id = Set(Some(mother.id)),
        )
        .await;
    World {
        app,
        referral,
        mother_id: Kind::Mother.id(mother.id).to_string(),
    }
}

async fn node(w: &World, token: &str, pointed: bool) -> GqlResponse {
    let id = Kind::Referral.id(w.referral.id);
    w.app
        .graphql(Some(token), &node_query(pointed), json!({ "id": id }))
        .await
}

async fn page(w: &World, token: &str, pointed: bool) -> GqlResponse {
    let query = page_query(pointed_or_not(pointed));
    w.app.graphql(Some(token), &query, json!({})).await
}

/// The statements `request` costs on `w`'s server.
async fn cost(w: &World, request: impl std::future::Future<Output = GqlResponse>) -> u64 {
    let before = w.app.statements().await;
    let response = request.await;
    assert_eq!(response.status, 200, "{}", response.body);
    w.app.statements().await - before
}

/// The error codes of `response` at `path` (e.g. `["node", "mother"]`).
fn code_at(response: &GqlResponse, path: &[Value]) -> Option<String> {
    response
        .errors()
        .iter()
        .find(|e| e["path"].as_array().is_some_and(|p| p.as_slice() == path))
        .and_then(|e| e["extensions"]["code"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_referral_points_at_costs_no_statement() {
    let w = world().await;
    for org in ["kommune-730", "ngo-red-cross"] {
        let token = w.app.token(org, FULL).await;
        // Warm: the token's rows are read once and cached.
        node(&w, &token, false).await.data();
        let alone = cost(&w, node(&w, &token, false)).await;
        let pointed = cost(&w, node(&w, &token, true)).await;
        assert_eq!(
            pointed, alone,
            "{org}: node with participant, mother, project"
        );
        // A page keeps its loaders: one statement per pointed table, whatever its size.
        let alone = cost(&w, page(&w, &token, false)).await;
        let pointed = cost(&w, page(&w, &token, true)).await;
        assert_eq!(
            pointed,
            alone + 3,
            "{org}: a page with participant, mother, project"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_row_follows_its_own_rule() {
    let w = world().await;
    let randers = w.app.token("kommune-730", FULL).await;
    let ngo = w.app.token("ngo-red-cross", FULL).await;

    // Randers receives the referral: her pseudonym, but not the project in København nor its
    // mother.
    let by_node = node(&w, &randers, true).await;
    let by_page = page(&w, &randers, true).await;
    let pages = by_page.data();
    let listed = nodes(pages, "referrals");
    assert_eq!(listed.len(), 1, "{pages}");
    for referral in [&by_node.data()["node"], listed[0]] {
        assert_eq!(
            referral["participant"]["pseudonym"], "BM-PLAN-0001",
            "{referral}"
        );
        assert!(
            referral["mother"].is_null(),
            "not Randers' mother: {referral}"
        );
        assert!(
            referral["project"].is_null(),
            "not Randers' project: {referral}"
        );
    }

    // The operator of the project sees all three.
    let by_node = node(&w, &ngo, true).await;
    let referral = &by_node.data()["node"];
    assert_eq!(referral["mother"]["id"], w.mother_id.as_str(), "{referral}");
    assert_eq!(referral["project"]["name"], "Nørrebro", "{referral}");

    // København has the project and its mother, but no relationship to this referral: the
    // referral is not there, so neither is anything it points at.
    let copenhagen = w.app.token("kommune-101", FULL).await;
    let by_node = node(&w, &copenhagen, true).await;
    assert!(by_node.data()["node"].is_null(), "{}", by_node.body);
    let by_page = page(&w, &copenhagen, true).await;
    assert!(
        nodes(by_page.data(), "referrals").is_empty(),
        "{}",
        by_page.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pointed_table_out_of_scope_fails_only_its_field() {
    let w = world().await;
    let token = w
        .app
        .token("ngo-red-cross", "referrals:read participants:read")
        .await;

    let by_node = node(&w, &token, true).await;
    let referral = &by_node.body["data"]["node"];
    assert_eq!(
        referral["participant"]["pseudonym"], "BM-PLAN-0001",
        "{}",
        by_node.body
    );
    assert!(
        referral["mother"].is_null() && referral["project"].is_null(),
        "{referral}"
    );
    for field in ["mother", "project"] {
        assert_eq!(
            code_at(&by_node, &[json!("node"), json!(field)]).as_deref(),
            Some("FORBIDDEN"),
            "{field}: {}",
            by_node.body
        );
    }

    let by_page = page(&w, &token, true).await;
    let first = &by_page.body["data"]["referrals"]["edges"][0]["node"];
    assert_eq!(
        first["participant"]["pseudonym"], "BM-PLAN-0001",
        "{}",
        by_page.body
    );
    let path = |field: &str| {
        [
            json!("referrals"),
            json!("edges"),
            json!(0),
            json!("node"),
            json!(field),
        ]
    };
    for field in ["mother", "project"] {
        assert_eq!(
            code_at(&by_page, &path(field)).as_deref(),
            Some("FORBIDDEN"),
            "{field}: {}",
            by_page.body
        );
    }
}
