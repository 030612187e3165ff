//! The demo data set reproduces the programme's published figures: about 21 projects, 265
//! visits in May 2012, the mothers certified per year 2008–2012, referrals in every status;
//! and loading it again changes nothing.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use entity::{enums::EnrolmentStatus, prelude::*};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::{
    harness::{ALL_READ, TestApp, total_count},
    queries,
};

/// The evaluation's "mothers trained per year" (certifications), 2008–2012; 247 in all.
const CERTIFIED_PER_YEAR: [(i32, u64); 5] =
    [(2008, 9), (2009, 19), (2010, 15), (2011, 66), (2012, 138)];

const REFERRAL_STATUSES: [&str; 10] = [
    "DRAFT",
    "REQUESTED",
    "ACCEPTED",
    "REJECTED",
    "IN_PROGRESS",
    "ON_HOLD",
    "FAILED",
    "COMPLETED",
    "CANCELLED",
    "ENTERED_IN_ERROR",
];

async fn demo_app() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let token = app.token("secretariat", ALL_READ).await;
    (app, token)
}

/// Rows in every table, by table name.
async fn row_counts(db: &DatabaseConnection) -> BTreeMap<&'static str, u64> {
    async fn count<E: EntityTrait>(db: &DatabaseConnection, _: E) -> u64
    where
        E::Model: Sync,
    {
        E::find().count(db).await.expect("a table can be counted")
    }
    BTreeMap::from([
        ("municipality", count(db, Municipality).await),
        ("organisation", count(db, Organisation).await),
        ("project", count(db, Project).await),
        ("project_partner", count(db, ProjectPartner).await),
        ("mother", count(db, Mother).await),
        ("mother_language", count(db, MotherLanguage).await),
        ("course", count(db, Course).await),
        ("enrolment", count(db, Enrolment).await),
        ("module_attendance", count(db, ModuleAttendance).await),
        ("volunteer_hours", count(db, VolunteerHours).await),
        ("participant", count(db, Participant).await),
        ("participant_language", count(db, ParticipantLanguage).await),
        ("consent", count(db, Consent).await),
        ("visit", count(db, Visit).await),
        ("visit_topic", count(db, VisitTopic).await),
        ("referral", count(db, Referral).await),
        ("referral_event", count(db, ReferralEvent).await),
        ("service", count(db, Service).await),
        ("service_location", count(db, ServiceLocation).await),
        ("opening_hours", count(db, OpeningHours).await),
        ("service_contact", count(db, ServiceContact).await),
        ("api_client", count(db, ApiClient).await),
        ("api_token", count(db, ApiToken).await),
        ("audit_event", count(db, AuditEvent).await),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_has_about_21_projects() {
    let (app, token) = demo_app().await;

    let response = app
        .graphql(Some(&token), queries::PROJECT_NAMES, json!({}))
        .await;

    let projects = total_count(response.data(), "projects");
    assert!(
        (18..=25).contains(&projects),
        "the demo should have about 21 projects, has {projects}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_has_265_visits_in_may_2012() {
    let (app, token) = demo_app().await;

    let response = app
        .graphql(
            Some(&token),
            queries::VISIT_COUNT,
            json!({ "filter": { "from": "2012-05-01", "to": "2012-05-31" } }),
        )
        .await;

    assert_eq!(total_count(response.data(), "visits"), 265);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_certifications_per_year_match_the_evaluation() {
    let (app, _token) = demo_app().await;

    let mut counted = Vec::new();
    for (year, _) in CERTIFIED_PER_YEAR {
        let first = NaiveDate::from_ymd_opt(year, 1, 1).expect("a date");
        let last = NaiveDate::from_ymd_opt(year, 12, 31).expect("a date");
        let certified = Enrolment::find()
            .filter(entity::enrolment::Column::Status.eq(EnrolmentStatus::Completed))
            .filter(entity::enrolment::Column::CertifiedOn.between(first, last))
            .count(&app.db)
            .await
            .expect("enrolments can be counted");
        counted.push((year, certified));
    }

    assert_eq!(counted, CERTIFIED_PER_YEAR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_has_referrals_in_every_status() {
    let (app, token) = demo_app().await;

    let mut missing = Vec::new();
    for status in REFERRAL_STATUSES {
        let response = app
            .graphql(
                Some(&token),
                queries::REFERRAL_COUNT,
                json!({ "filter": { "status": [status] } }),
            )
            .await;
        if total_count(response.data(), "referrals") == 0 {
            missing.push(status);
        }
    }
    assert!(missing.is_empty(), "no demo referrals in {missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loading_the_demo_twice_inserts_nothing_the_second_time() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let once = row_counts(&app.db).await;
    assert!(
        once["project"] > 0 && once["referral"] > 0 && once["opening_hours"] > 0,
        "the first load inserts the data set: {once:?}"
    );

    app.load_demo().await;

    assert_eq!(row_counts(&app.db).await, once);
}

/// København's caseworker inbox and its inbound referrals, as the municipality reads them.
const KOBENHAVN_WEEK: &str = r#"
query Week($inbox: ReferralFilter, $sent: ReferralFilter) {
  inbox: referrals(filter: $inbox, first: 50) {
    totalCount
    edges { node { id direction status requestedAt availableActions } }
  }
  sent: referrals(filter: $sent, first: 50) {
    edges { node {
      id priority status
      receiver { shortName }
      participant { pseudonym municipalityCaseRef }
      events { kind toStatus }
      messages { body author { shortName } }
    } }
  }
}"#;

fn week_variables() -> serde_json::Value {
    json!({
        "inbox": { "status": ["REQUESTED"], "direction": "OUTBOUND" },
        "sent": { "direction": "INBOUND", "updatedSince": "2026-11-21T00:00:00Z" },
    })
}

/// The demo's newest rows are København's week done through the write path: its inbox holds
/// REQUESTED referrals from NGO projects, it has referred women to its pool and to a
/// project, one was claimed with a thread of messages; each step is audited under the load's
/// request id, and another municipality sees none of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_kobenhavn_has_an_inbox_and_referrals_made_through_the_write_path() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let scopes = "participants:read referrals:read projects:read";
    let kobenhavn = app.token("kommune-101", scopes).await;

    let week = app
        .graphql(Some(&kobenhavn), KOBENHAVN_WEEK, week_variables())
        .await;
    let data = week.data();
    let inbox = data["inbox"]["edges"].as_array().expect("an inbox");
    assert!(
        inbox.len() >= 3,
        "København's inbox holds the NGO projects' REQUESTED referrals: {inbox:?}"
    );
    let sent = data["sent"]["edges"].as_array().expect("sent referrals");
    let fresh: Vec<&serde_json::Value> = sent
        .iter()
        .map(|e| &e["node"])
        .filter(|n| {
            n["participant"]["municipalityCaseRef"]
                .as_str()
                .is_some_and(|r| r.starts_with("KK-2026-401"))
        })
        .collect();
    assert_eq!(fresh.len(), 3, "three women referred this week: {sent:?}");
    let pool = fresh.iter().filter(|n| n["receiver"].is_null()).count();
    assert_eq!(pool, 1, "one still waits in the pool: {fresh:?}");
    let claimed = fresh
        .iter()
        .find(|n| {
            n["events"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["kind"] == "CLAIM"))
        })
        .expect("one was claimed from the pool");
    assert_eq!(claimed["priority"], "URGENT");
    let thread: Vec<&str> = claimed["messages"]
        .as_array()
        .expect("a thread")
        .iter()
        .filter_map(|m| m["author"]["shortName"].as_str())
        .collect();
    assert_eq!(thread, ["ngo-faellesskabshuset", "kommune-101"]);
    assert!(fresh.iter().all(|n| n["status"] == "REQUESTED"));

    let audited = AuditEvent::find()
        .filter(entity::audit_event::Column::RequestId.eq("demo-load"))
        .count(&app.db)
        .await
        .expect("audit events can be counted");
    assert!(
        audited >= 6 * 3,
        "each woman's registration, consent, referral and request is audited: {audited}"
    );

    let aarhus = app.token("kommune-751", scopes).await;
    let theirs = app
        .graphql(Some(&aarhus), KOBENHAVN_WEEK, week_variables())
        .await;
    let ids = |data: &serde_json::Value, key: &str| -> Vec<String> {
        data[key]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
            .collect()
    };
    let ours: Vec<String> = [ids(data, "inbox"), ids(data, "sent")].concat();
    let seen: Vec<String> = [ids(theirs.data(), "inbox"), ids(theirs.data(), "sent")].concat();
    assert!(
        seen.iter().all(|id| !ours.contains(id)),
        "Aarhus sees none of København's referrals"
    );
}
