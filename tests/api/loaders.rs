//! No N+1: nested fields go through DataLoaders, so a page of 50 referrals with their mother,
//! project (and operator), participant, events (and actor) and requester costs exactly as
//! many SQL statements as a page of 5.

use bydel::ids::Kind;
use entity::enums::{ConsentPurpose, ContactMethod, OrganisationKind, ReferralStatus};
use sea_orm::ActiveValue::Set;
use serde_json::json;

use crate::{
    harness::{ALL_READ, GqlResponse, TestApp, nodes},
    queries,
};

/// Runs the inbox query for `first` referrals; returns the response and its statement count.
async fn measured(app: &TestApp, token: &str, first: u64) -> (GqlResponse, u64) {
    let before = app.statements().await;
    let response = app
        .graphql(
            Some(token),
            queries::REFERRALS_WITH_DETAILS,
            json!({ "first": first }),
        )
        .await;
    let after = app.statements().await;
    (response, after - before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_do_not_grow_with_the_page_size() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let mut operators = vec![base.ngo.clone(), base.randers.clone()];
    operators.push(
        fx.organisation("ngo-dansk-flygtningehjaelp", OrganisationKind::Ngo, None)
            .await,
    );
    let mut projects = Vec::new();
    for (i, operator) in operators.iter().cycle().take(6).enumerate() {
        let code = if i % 2 == 0 { 101 } else { 730 };
        projects.push(
            fx.project(&format!("Projekt {i}"), code, operator, |_| {})
                .await,
        );
    }
    for i in 0..60 {
        let project = &projects[i % projects.len()];
        let mother = fx
            .mother(project, &format!("Mor {i}"), &["ar"], |_| {})
            .await;
        let participant = fx
            .participant(
                &format!("BM-LOAD-{i:04}"),
                Some(project),
                &base.ngo,
                &[],
                |_| {},
            )
            .await;
        let receiver = if i % 2 == 0 {
            &base.copenhagen
        } else {
            &base.randers
        };
        let referral = fx
            .referral(
                &operators[i % 3],
                receiver,
                &participant,
                ReferralStatus::Accepted,
                |r| r.mother_id = sea_orm::ActiveValue::Set(Some(mother.id)),
            )
            .await;
        fx.timeline(
            &referral,
            receiver,
            &[
                ReferralStatus::Draft,
                ReferralStatus::Requested,
                ReferralStatus::Accepted,
            ],
        )
        .await;
    }
    let token = app.token("secretariat", ALL_READ).await;

    let (small, small_cost) = measured(&app, &token, 5).await;
    let (large, large_cost) = measured(&app, &token, 50).await;

    assert_eq!(nodes(small.data(), "referrals").len(), 5);
    let rows = nodes(large.data(), "referrals");
    assert_eq!(rows.len(), 50);
    for row in rows {
        assert!(row["mother"]["firstName"].is_string(), "{row}");
        assert!(row["project"]["name"].is_string(), "{row}");
        assert!(row["project"]["operator"]["name"].is_string(), "{row}");
        assert!(row["participant"]["pseudonym"].is_string(), "{row}");
        assert!(row["requester"]["name"].is_string(), "{row}");
        let events = row["events"].as_array().expect("events");
        assert_eq!(events.len(), 3, "{row}");
        for event in events {
            assert!(event["actor"]["shortName"].is_string(), "{row}");
        }
    }
    assert!(small_cost > 0, "the statement counter does not count");
    // One statement per (field, level) at most, whatever the page size. The only slack: the
    // level-2 organisation batches of `project.operator` and `events.actor` merge into one
    // when their parents' batches return in the same poll, so two runs may differ by one.
    // An N+1 would add about 45 statements for the 45 extra rows.
    const MERGEABLE_BATCHES: u64 = 1;
    assert!(
        large_cost.abs_diff(small_cost) <= MERGEABLE_BATCHES,
        "SQL statements for 5 referrals: {small_cost}, for 50: {large_cost}; nested fields must \
         be batched so the count does not depend on the page size"
    );
}

/// The statement count of the `node` benchmark's query, exactly: a key asked for again while
/// its batch is running joins that batch. `Referral.note` asks whether her personal data may
/// be shown while her `Participant` loads; her own fields ask the same question later, while
/// the first answer is still in flight, and must not send its query a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_in_flight_is_not_asked_again() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let mother = fx.mother(&project, "Amina", &["ar"], |_| {}).await;
    let participant = fx
        .participant("BM-NODE-0001", Some(&project), &base.ngo, &[], |p| {
            p.first_name = Set(Some("Sara".into()));
            p.birth_year = Set(Some(1990));
            p.preferred_language = Set(Some("ar".into()));
            p.preferred_contact = Set(Some(ContactMethod::Phone));
            p.district = Set(Some("Nørrebro".into()));
        })
        .await;
    fx.consent(
        &participant,
        ConsentPurpose::ShareWithReceiver,
        Some(&base.copenhagen),
        |_| {},
    )
    .await;
    let referral = fx
        .referral(
            &base.ngo,
            &base.copenhagen,
            &participant,
            ReferralStatus::Accepted,
            |r| {
                r.note = Set(Some("Ønsker tolk".into()));
                r.mother_id = Set(Some(mother.id));
            },
        )
        .await;
    fx.timeline(
        &referral,
        &base.ngo,
        &[
            ReferralStatus::Draft,
            ReferralStatus::Requested,
            ReferralStatus::Accepted,
        ],
    )
    .await;
    // The receiver, who sees her personal data through her consent: both halves of the
    // personal-data rule (own and shared) are asked.
    const SCOPES: &str = "participants:read referrals:read mothers:read projects:read";
    let id = Kind::Referral.id(referral.id);

    // Whether her fields ask while the first answer is in flight depends on which query the
    // pool finishes first, so the request runs several times (each with a token not used
    // before, so that every run authenticates alike); an extra batch shows in most runs.
    let mut costs = Vec::new();
    for _ in 0..8 {
        let token = app.token("kommune-101", SCOPES).await;
        let before = app.statements().await;
        let response = app
            .graphql(
                Some(&token),
                queries::REFERRAL_NODE_DETAILS,
                json!({ "id": id }),
            )
            .await;
        costs.push(app.statements().await - before);

        let node = &response.data()["node"];
        assert!(response.body.get("errors").is_none(), "{}", response.body);
        assert_eq!(node["note"], "Ønsker tolk", "{node}");
        let her = &node["participant"];
        assert_eq!(her["firstName"], "Sara", "{node}");
        assert_eq!(her["birthYear"], 1990, "{node}");
        assert_eq!(her["preferredLanguage"], "ar", "{node}");
        assert_eq!(her["preferredContact"], "PHONE", "{node}");
        assert_eq!(her["district"], "Nørrebro", "{node}");
        assert_eq!(node["mother"]["firstName"], "Amina", "{node}");
        assert_eq!(node["project"]["name"], "Nørrebro", "{node}");
        assert_eq!(node["events"].as_array().map(Vec::len), Some(3), "{node}");
    }
    // The token's rows; the referral with her participant row, the mother and the project
    // (`crate::planned`); may she be shown (one statement for both halves of the rule); the
    // events; the audit of the read.
    assert_eq!(
        costs, [5; 8],
        "statements for one referral by node(id:) with her personal fields, per run"
    );
}
