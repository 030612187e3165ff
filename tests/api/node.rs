//! Relay `node(id:)`: every global id the lists hand out fetches the same object again; an
//! unknown id is `null` without an error; a malformed or wrongly typed id is `BAD_USER_INPUT`.

use bydel::ids::Kind;
use entity::enums::{ConsentPurpose, ReferralStatus, VisitChannel, VisitTopic};
use serde_json::{Value, json};

use crate::{
    harness::{ALL_READ, TestApp, fixtures::date, nodes},
    queries,
};

/// `(typename, id, field, value)` for each object the lists show.
fn listed(
    data: &Value,
    list: &str,
    typename: &str,
    field: &str,
) -> Vec<(String, String, String, Value)> {
    nodes(data, list)
        .into_iter()
        .map(|node| {
            (
                typename.to_owned(),
                node["id"].as_str().expect("an id").to_owned(),
                field.to_owned(),
                node[field].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_fetches_what_the_lists_show_for_every_type() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let mother = fx.mother(&project, "Amina", &["ar"], |_| {}).await;
    let course = fx
        .course(&project, "Hold 2011", date(2011, 2, 1), |_| {})
        .await;
    fx.enrolment(&course, &mother, Some(date(2011, 6, 20)))
        .await;
    let participant = fx
        .participant("BM-NODE-0001", Some(&project), &base.ngo, &[], |_| {})
        .await;
    fx.consent(
        &participant,
        ConsentPurpose::ShareWithReceiver,
        Some(&base.copenhagen),
        |_| {},
    )
    .await;
    fx.visit(
        &mother,
        date(2012, 5, 3),
        VisitChannel::HomeVisit,
        &[VisitTopic::Health],
        |_| {},
    )
    .await;
    let referral = fx
        .referral(
            &base.ngo,
            &base.copenhagen,
            &participant,
            ReferralStatus::Accepted,
            |_| {},
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
    let token = app.token("secretariat", ALL_READ).await;
    let get = |query: &'static str| {
        let app = &app;
        let token = &token;
        async move {
            app.graphql(Some(token), query, json!({}))
                .await
                .data()
                .clone()
        }
    };

    let mut expected = Vec::new();
    let data = get(queries::ORGANISATIONS).await;
    expected.extend(listed(&data, "organisations", "Organisation", "shortName"));
    let data = get(queries::PROJECTS).await;
    expected.extend(listed(&data, "projects", "Project", "name"));
    let data = get(queries::MOTHERS).await;
    expected.extend(listed(&data, "mothers", "Mother", "firstName"));
    let data = get(queries::COURSES).await;
    expected.extend(listed(&data, "courses", "Course", "name"));
    for course in nodes(&data, "courses") {
        for enrolment in course["enrolments"].as_array().expect("enrolments") {
            expected.push((
                "Enrolment".into(),
                enrolment["id"].as_str().expect("an id").into(),
                "enrolmentStatus".into(),
                enrolment["status"].clone(),
            ));
        }
    }
    let data = get(queries::PARTICIPANTS).await;
    expected.extend(listed(&data, "participants", "Participant", "pseudonym"));
    for participant in nodes(&data, "participants") {
        for consent in participant["consents"].as_array().expect("consents") {
            expected.push((
                "Consent".into(),
                consent["id"].as_str().expect("an id").into(),
                "purpose".into(),
                consent["purpose"].clone(),
            ));
        }
    }
    let data = get(queries::VISITS).await;
    expected.extend(listed(&data, "visits", "Visit", "visitedOn"));
    let data = get(queries::REFERRALS).await;
    for referral in nodes(&data, "referrals") {
        expected.push((
            "Referral".into(),
            referral["id"].as_str().expect("an id").into(),
            "referralStatus".into(),
            referral["status"].clone(),
        ));
        for event in referral["events"].as_array().expect("events") {
            expected.push((
                "ReferralEvent".into(),
                event["id"].as_str().expect("an id").into(),
                "sequence".into(),
                event["sequence"].clone(),
            ));
        }
    }
    let typenames: std::collections::BTreeSet<&str> =
        expected.iter().map(|(t, ..)| t.as_str()).collect();
    assert_eq!(typenames.len(), 10, "one of every node type: {typenames:?}");

    for (typename, id, field, value) in &expected {
        let response = app
            .graphql(Some(&token), queries::NODE, json!({ "id": id }))
            .await;
        let node = &response.data()["node"];
        assert_eq!(node["__typename"], json!(typename), "node({id})");
        assert_eq!(node["id"], json!(id), "node({id})");
        assert_eq!(&node[field], value, "{typename} {field} via node({id})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_id_of_any_type_is_null_without_error() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", ALL_READ).await;
    let kinds = [
        Kind::Organisation,
        Kind::Project,
        Kind::Mother,
        Kind::Course,
        Kind::Enrolment,
        Kind::Participant,
        Kind::Consent,
        Kind::Visit,
        Kind::Referral,
        Kind::ReferralEvent,
    ];

    for kind in kinds {
        let id = kind.id(uuid::Uuid::now_v7()).to_string();
        let response = app
            .graphql(Some(&token), queries::NODE, json!({ "id": id }))
            .await;
        assert_eq!(
            response.data()["node"],
            Value::Null,
            "{} that does not exist",
            kind.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_node_id_is_bad_user_input() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", ALL_READ).await;

    for garbage in ["garbage", "", "UHJvamVjdDpub3QtYS11dWlk", "TmVpdGhlcjoxMjM"] {
        let response = app
            .graphql(Some(&token), queries::NODE, json!({ "id": garbage }))
            .await;
        let message = response.expect_error("BAD_USER_INPUT");
        assert!(message.contains("id"), "{garbage:?}: {message}");
        assert!(response.body["data"]["node"].is_null());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referral_by_a_project_id_is_bad_user_input() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let token = app.token("secretariat", ALL_READ).await;

    let response = app
        .graphql(
            Some(&token),
            queries::REFERRAL,
            json!({ "id": Kind::Project.id(project.id).to_string() }),
        )
        .await;

    let message = response.expect_error("BAD_USER_INPUT");
    assert!(
        message.contains("Referral") && message.contains("Project"),
        "the message should say which type was expected and which was given: {message}"
    );
    assert!(response.body["data"]["referral"].is_null());
}
