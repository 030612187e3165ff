//! `bydel generate`: the synthetic benchmark data set at a tiny scale, on the backend under
//! test. The same seed gives the same rows, the constraints hold as it is written (any
//! violation fails the load), and the API reads it like any other data.

use entity::{enums::OrganisationKind, organisation, prelude::*, referral, visit};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::json;

use bydel::demo::scale::{GenerateError, Scale, ScaleSummary, generate};

use crate::{
    cli::Workspace,
    harness::{ALL_READ, TestApp, total_count},
    queries,
};

const TINY: &str = "0.001";

fn tiny() -> Scale {
    TINY.parse().expect("a factor parses")
}

async fn generated(seed: u64) -> (TestApp, ScaleSummary) {
    let app = TestApp::spawn().await;
    let summary = generate(&app.db, tiny(), seed, |_| {})
        .await
        .expect("the tiny scale generates");
    (app, summary)
}

/// Columns that change with any change in the generator: ids, statuses, versions, dates.
async fn fingerprint(db: &DatabaseConnection) -> (Vec<(String, String, i32)>, Vec<String>) {
    let referrals = Referral::find()
        .order_by_asc(referral::Column::Id)
        .all(db)
        .await
        .expect("referrals load")
        .into_iter()
        .map(|r| (r.id.to_string(), format!("{:?}", r.status), r.version))
        .collect();
    let visits = Visit::find()
        .order_by_asc(visit::Column::Id)
        .all(db)
        .await
        .expect("visits load")
        .into_iter()
        .map(|v| format!("{} {} {:?}", v.id, v.visited_on, v.participant_id))
        .collect();
    (referrals, visits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_generates_the_same_rows() {
    let (first, first_summary) = generated(7).await;
    let (second, second_summary) = generated(7).await;
    let (other, _) = generated(8).await;

    assert_eq!(first_summary, second_summary);
    assert!(first_summary.rows("visit") >= 300, "{first_summary}");
    assert!(first_summary.rows("referral") >= 50, "{first_summary}");
    assert_eq!(
        Referral::find().count(&first.db).await.expect("a count"),
        first_summary.rows("referral") as u64
    );
    let fingerprint_first = fingerprint(&first.db).await;
    assert_eq!(fingerprint_first, fingerprint(&second.db).await);
    assert_ne!(fingerprint_first, fingerprint(&other.db).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reads_generated_data() {
    let (app, summary) = generated(1).await;
    let secretariat = app.token("secretariat", ALL_READ).await;

    let all = app
        .graphql(Some(&secretariat), queries::REFERRAL_COUNT, json!({}))
        .await;
    assert_eq!(
        total_count(all.data(), "referrals"),
        summary.rows("referral") as u64
    );

    // The monthly tallies are generated with the visits, and volunteer hours with the mothers.
    crate::tallies::assert_tallies_match(&app.db, "generation").await;
    assert!(summary.rows("volunteer_hours") > 0, "{summary}");
    let stats = app.token("secretariat", "stats:read").await;
    let figures = app
        .graphql(Some(&stats), queries::STATS_FIGURES, json!({}))
        .await;
    let hours = &figures.data()["stats"]["volunteerHours"]["total"]["value"];
    assert!(hours.as_f64().is_some_and(|h| h > 0.0), "{hours}");

    let receiver = Organisation::find()
        .filter(organisation::Column::Kind.eq(OrganisationKind::Municipality))
        .order_by_asc(organisation::Column::ShortName)
        .one(&app.db)
        .await
        .expect("organisations load")
        .expect("a municipality runs or funds a project");
    let municipality = app.token(&receiver.short_name, ALL_READ).await;
    let inbox = app
        .graphql(
            Some(&municipality),
            queries::REFERRALS,
            json!({ "first": 50, "filter": { "status": ["REQUESTED", "IN_PROGRESS", "COMPLETED"] } }),
        )
        .await;
    let edges = inbox.data()["referrals"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    for edge in &edges {
        let node = &edge["node"];
        let events = node["events"].as_array().expect("a timeline");
        assert_eq!(
            events.len() as u64,
            node["version"].as_u64().expect("version")
        );
        assert_eq!(events.last().map(|e| &e["toStatus"]), Some(&node["status"]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generation_refuses_a_database_with_projects() {
    let (app, _) = generated(1).await;

    let again = generate(&app.db, tiny(), 1, |_| {}).await;

    assert!(
        matches!(again, Err(GenerateError::NotEmpty(n)) if n > 0),
        "{again:?}"
    );
}

#[test]
fn the_cli_generates_and_then_refuses() {
    let workspace = Workspace::new();

    let run = workspace.run_db(&["generate", "--scale", TINY, "--seed", "3"]);
    run.succeeded();
    assert!(run.stderr().contains("generated:"), "{}", run.stderr());
    assert_eq!(run.stdout(), "");

    let reason = workspace.run_db(&["generate", "--scale", TINY]).refused();
    assert!(reason.contains("already holds"), "{reason}");
}

/// The evaluations' surveys are in the generated data set too, written through the same path
/// as real responses: every basic course since 2011 has its rounds, and the responses counted
/// in the summary are the rows stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_data_set_holds_survey_rounds_and_responses() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let (app, summary) = generated(1).await;
    let rounds = entity::survey_round::Entity::find()
        .count(&app.db)
        .await
        .expect("rounds count");
    let responses = entity::survey_response::Entity::find()
        .count(&app.db)
        .await
        .expect("responses count");
    assert!(responses > 0, "no survey responses generated");
    assert_eq!(summary.rows("survey_round") as u64, rounds);
    assert_eq!(summary.rows("survey_response") as u64, responses);
}
