//! No N+1: nested fields go through DataLoaders, so a page of 50 referrals with their mother,
//! project (and operator), participant, events (and actor) and requester costs exactly as
//! many SQL statements as a page of 5.

use entity::enums::{OrganisationKind, ReferralStatus};
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
