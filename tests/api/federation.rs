//! Apollo Federation v2: Bydel as a subgraph. `_service { sdl }` is the federation SDL,
//! `_entities` resolves every entity type through the same access rules as `node(id:)`, and a
//! municipality's own subgraph composes with Bydel (`@apollo/composition`) and is queried
//! through a real gateway (`@apollo/gateway`) that forwards the caller's token.

use bydel::ids::Kind;
use entity::enums::{ReferralStatus, VisitChannel, VisitTopic};
use serde_json::{Value, json};

use crate::{
    harness::{
        ALL_READ, TestApp,
        fixtures::date,
        node::{self, NodeProcess},
    },
    queries,
};

/// A København token that may read referrals and projects.
const COPENHAGEN_SCOPES: &str = "referrals:read projects:read";

/// One object of each entity type, plus a referral København receives and one it cannot see.
struct World {
    app: TestApp,
    organisation: String,
    project: String,
    mother: String,
    visit: String,
    participant: String,
    /// NGO → København: visible to København.
    own_referral: String,
    /// NGO → Randers: hidden from København.
    foreign_referral: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let mother = fx.mother(&project, "Amina", &["ar"], |_| {}).await;
    let visit = fx
        .visit(
            &mother,
            date(2012, 5, 3),
            VisitChannel::HomeVisit,
            &[VisitTopic::Health],
            |_| {},
        )
        .await;
    let participant = fx
        .participant("BM-FED-0001", Some(&project), &base.ngo, &[], |_| {})
        .await;
    let own = fx
        .referral(
            &base.ngo,
            &base.copenhagen,
            &participant,
            ReferralStatus::Requested,
            |_| {},
        )
        .await;
    let foreign = fx
        .referral(
            &base.ngo,
            &base.randers,
            &participant,
            ReferralStatus::Requested,
            |_| {},
        )
        .await;
    World {
        organisation: Kind::Organisation.id(base.copenhagen.id).to_string(),
        project: Kind::Project.id(project.id).to_string(),
        mother: Kind::Mother.id(mother.id).to_string(),
        visit: Kind::Visit.id(visit.id).to_string(),
        participant: Kind::Participant.id(participant.id).to_string(),
        own_referral: Kind::Referral.id(own.id).to_string(),
        foreign_referral: Kind::Referral.id(foreign.id).to_string(),
        app,
    }
}

fn representation(typename: &str, id: &str) -> Value {
    json!({ "__typename": typename, "id": id })
}

async fn entities(app: &TestApp, token: &str, representations: Vec<Value>) -> Value {
    let response = app
        .graphql(
            Some(token),
            queries::FEDERATION_ENTITIES,
            json!({ "representations": representations }),
        )
        .await;
    response.data()["_entities"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_answers_the_federation_sdl_with_keyed_entities() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", "projects:read").await;

    let response = app
        .graphql(Some(&token), queries::FEDERATION_SERVICE, json!({}))
        .await;

    let sdl = response.data()["_service"]["sdl"]
        .as_str()
        .expect("_service.sdl is text");
    assert!(
        sdl.contains("@link(") && sdl.contains("https://specs.apollo.dev/federation/v2."),
        "the SDL links the federation v2 spec:\n{sdl}"
    );
    for entity in [
        "Organisation",
        "Project",
        "Mother",
        "Visit",
        "Participant",
        "Referral",
        "Service",
    ] {
        let declaration = format!("type {entity} implements Node @key(fields: \"id\")");
        assert!(sdl.contains(&declaration), "{declaration} is missing");
    }
    assert!(
        !sdl.contains("_entities") && !sdl.contains("_Any"),
        "the federation fields are the gateway's business, not part of the SDL"
    );
    assert!(
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql"))
            .expect("schema.graphql is readable")
            .contains("type Referral implements Node @key(fields: \"id\")"),
        "the committed schema.graphql is the federation SDL too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_resolves_every_entity_type() {
    let w = world().await;
    let token = w
        .app
        .token("secretariat", &format!("{ALL_READ} visits:read"))
        .await;

    let found = entities(
        &w.app,
        &token,
        vec![
            representation("Organisation", &w.organisation),
            representation("Project", &w.project),
            representation("Mother", &w.mother),
            representation("Visit", &w.visit),
            representation("Participant", &w.participant),
            representation("Referral", &w.own_referral),
        ],
    )
    .await;

    assert_eq!(
        found,
        json!([
            { "__typename": "Organisation", "id": w.organisation, "shortName": "kommune-101" },
            { "__typename": "Project", "id": w.project, "name": "Nørrebro" },
            { "__typename": "Mother", "id": w.mother, "firstName": "Amina" },
            { "__typename": "Visit", "id": w.visit, "visitedOn": "2012-05-03" },
            { "__typename": "Participant", "id": w.participant, "pseudonym": "BM-FED-0001" },
            { "__typename": "Referral", "id": w.own_referral, "status": "REQUESTED" },
        ])
    );
}

/// A municipality asking for a referral addressed to another municipality gets `null`, exactly
/// what it gets for an id that does not exist, and the same as `node(id:)` answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_referral_resolves_to_null_like_a_missing_one() {
    let w = world().await;
    let token = w.app.token("kommune-101", COPENHAGEN_SCOPES).await;
    let missing = Kind::Referral.id(uuid::Uuid::now_v7()).to_string();

    let found = entities(
        &w.app,
        &token,
        vec![
            representation("Referral", &w.own_referral),
            representation("Referral", &w.foreign_referral),
            representation("Referral", &missing),
        ],
    )
    .await;

    assert_eq!(
        found,
        json!([
            { "__typename": "Referral", "id": w.own_referral, "status": "REQUESTED" },
            null,
            null,
        ])
    );
    let node = w
        .app
        .graphql(
            Some(&token),
            queries::NODE,
            json!({ "id": w.foreign_referral }),
        )
        .await;
    assert_eq!(node.data()["node"], Value::Null, "node(id:) agrees");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_need_the_scope_of_their_type() {
    let w = world().await;
    let token = w.app.token("secretariat", "projects:read").await;

    let response = w
        .app
        .graphql(
            Some(&token),
            queries::FEDERATION_ENTITIES,
            json!({ "representations": [representation("Referral", &w.own_referral)] }),
        )
        .await;

    let message = response.expect_error("FORBIDDEN");
    assert!(message.contains("referrals:read"), "{message}");
    assert_eq!(response.body["data"]["_entities"], json!([null]));
    assert_eq!(response.errors()[0]["path"], json!(["_entities", 0]));
}

/// A batch from a gateway is many independent lookups: each representation that cannot be
/// resolved is `null` at its index with its own error (path `["_entities", i]`), and every
/// other one resolves as if it had come alone. An unknown id stays a quiet `null`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_representation_of_a_batch_fails_alone() {
    let w = world().await;
    let token = w.app.token("secretariat", ALL_READ).await;
    let missing = Kind::Referral.id(uuid::Uuid::now_v7()).to_string();
    let batch = vec![
        representation("Project", &w.project),
        json!({ "__typename": "Referral" }),
        representation("Nonsense", &w.project),
        json!({ "__typename": "Referral", "id": 42 }),
        representation("Referral", &w.project),
        json!("Referral"),
        json!({ "id": w.project }),
        representation("Referral", &missing),
        json!({ "__typename": "Referral" }),
        representation("Referral", &w.own_referral),
    ];

    let response = w
        .app
        .graphql(
            Some(&token),
            queries::FEDERATION_ENTITIES,
            json!({ "representations": batch }),
        )
        .await;

    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.body["data"]["_entities"],
        json!([
            { "__typename": "Project", "id": w.project, "name": "Nørrebro" },
            null, null, null, null, null, null, null, null,
            { "__typename": "Referral", "id": w.own_referral, "status": "REQUESTED" },
        ]),
        "{:#}",
        response.body
    );
    let mut failed: Vec<(u64, String)> = response
        .errors()
        .iter()
        .map(|error| {
            assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
            assert_eq!(error["path"][0], "_entities", "{error:#}");
            let index = error["path"][1].as_u64().expect("an index in the path");
            (
                index,
                error["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    failed.sort();
    let indices: Vec<u64> = failed.iter().map(|(index, _)| *index).collect();
    assert_eq!(indices, [1, 2, 3, 4, 5, 6, 8], "{:#}", response.body);
    for (index, hint) in [
        (1, "`id` is missing"),
        (2, "Nonsense"),
        (3, "`id` must be a string"),
        (5, "an object"),
        (6, "__typename"),
    ] {
        let message = &failed.iter().find(|(i, _)| *i == index).expect("listed").1;
        assert!(
            message.contains(hint),
            "error {index}: {message:?} lacks {hint:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_refuse_an_id_of_another_type() {
    let w = world().await;
    let token = w.app.token("secretariat", ALL_READ).await;

    let response = w
        .app
        .graphql(
            Some(&token),
            queries::FEDERATION_ENTITIES,
            json!({ "representations": [representation("Referral", &w.project)] }),
        )
        .await;

    response.expect_error("BAD_USER_INPUT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_need_a_token() {
    let w = world().await;

    let response = w
        .app
        .graphql(
            None,
            queries::FEDERATION_ENTITIES,
            json!({ "representations": [representation("Referral", &w.own_referral)] }),
        )
        .await;

    assert_eq!(response.status, 401);
    response.expect_error("UNAUTHENTICATED");
    assert!(response.has_no_data());
}

/// The whole path a municipality takes: compose Bydel's served SDL with its own subgraph, run
/// a gateway over both and query across them with its Bydel token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_joins_bydel_with_a_municipality_subgraph() {
    let w = world().await;
    let token = w.app.token("kommune-101", COPENHAGEN_SCOPES).await;
    node::install().await;

    let sdl = w
        .app
        .graphql(Some(&token), queries::FEDERATION_SERVICE, json!({}))
        .await
        .data()["_service"]["sdl"]
        .as_str()
        .expect("_service.sdl is text")
        .to_owned();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sdl_file = dir.path().join("bydel.graphql");
    std::fs::write(&sdl_file, sdl).expect("the SDL can be written");
    let cases = json!([
        { "caseNumber": "K-2024-001", "team": "Sundhedspleje", "referralId": w.own_referral },
        { "caseNumber": "K-2024-002", "team": "Jobcenter", "referralId": w.foreign_referral },
    ])
    .to_string();
    let kommune = NodeProcess::start("kommune.mjs", &[], &[("KOMMUNE_CASES", &cases)]).await;

    let supergraph = dir.path().join("supergraph.graphql");
    let (composed, _, errors) = node::run(
        "compose.mjs",
        &[
            &sdl_file.to_string_lossy(),
            &w.app.url("/graphql"),
            &kommune.url,
            &supergraph.to_string_lossy(),
        ],
    )
    .await;
    assert!(
        composed && errors.is_empty(),
        "composition failed:\n{errors}"
    );
    let gateway = NodeProcess::start("gateway.mjs", &[&supergraph.to_string_lossy()], &[]).await;
    let client = reqwest::Client::new();
    let through_gateway = async |document: &str, token: Option<&str>| -> Value {
        let mut request = client
            .post(&gateway.url)
            .json(&json!({ "query": document }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("the gateway answers")
            .json()
            .await
            .expect("the gateway answers JSON")
    };

    let cases = through_gateway(queries::GATEWAY_CASES, Some(&token)).await;
    assert_eq!(
        cases["data"]["cases"],
        json!([
            {
                "caseNumber": "K-2024-001",
                "team": "Sundhedspleje",
                "referral": {
                    "id": w.own_referral,
                    "status": "REQUESTED",
                    "serviceCategory": "HEALTH_VISITOR",
                    "caseNumber": "K-2024-001",
                },
            },
            { "caseNumber": "K-2024-002", "team": "Jobcenter", "referral": null },
        ]),
        "{cases:#}\ngateway stderr:\n{}\nkommune stderr:\n{}",
        gateway.stderr(),
        kommune.stderr()
    );

    let referrals = through_gateway(queries::GATEWAY_REFERRALS, Some(&token)).await;
    assert_eq!(
        referrals["data"]["referrals"],
        json!({
            "totalCount": 1,
            "edges": [{ "node": {
                "id": w.own_referral,
                "status": "REQUESTED",
                "caseNumber": "K-2024-001",
            } }],
        }),
        "{referrals:#}"
    );

    let anonymous = through_gateway(queries::GATEWAY_REFERRALS, None).await;
    assert!(
        anonymous["data"]["referrals"].is_null(),
        "without a token Bydel gives the gateway nothing: {anonymous:#}"
    );
}
