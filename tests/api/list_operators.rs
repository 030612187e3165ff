//! The lists' operators on the demo data: `nameContains` (ignoring case, `%` and `_`
//! literal), `in` lists of municipality codes and priorities, date and time ranges, and
//! `direction` on every `orderBy`, each checked against the rows themselves; the participant
//! first-name search matches only where rule 3 lets the caller read her name, and is audited.

use entity::{enums::AuditAction, prelude::*};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::harness::{ALL_READ, TestApp, nodes, strings, total_count};

const PROJECTS: &str = r#"
query Projects($filter: ProjectFilter, $orderBy: ProjectOrder, $direction: SortDirection,
               $first: Int, $after: String) {
  projects(filter: $filter, orderBy: $orderBy, direction: $direction, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name startedOn municipality { code } } }
  }
}"#;

const MOTHERS: &str = r#"
query Mothers($filter: MotherFilter) {
  mothers(filter: $filter, first: 100) { totalCount edges { node { firstName lastName joinedOn } } }
}"#;

const REFERRALS: &str = r#"
query Referrals($filter: ReferralFilter, $direction: SortDirection) {
  referrals(filter: $filter, direction: $direction, first: 100) {
    totalCount edges { node { id priority createdAt } }
  }
}"#;

const PARTICIPANTS: &str = r#"
query Participants($filter: ParticipantFilter) {
  participants(filter: $filter, first: 100) { totalCount edges { node { id pseudonym } } }
}"#;

async fn demo() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let token = app.token("secretariat", ALL_READ).await;
    (app, token)
}

/// Every project the secretariat sees: (name, startedOn, municipality code), by name.
async fn all_projects(app: &TestApp, token: &str) -> Vec<(String, String, i64)> {
    let data = app
        .graphql(Some(token), PROJECTS, json!({ "first": 100 }))
        .await;
    nodes(data.data(), "projects")
        .into_iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            let started = p["startedOn"].as_str().unwrap_or_default().to_owned();
            (
                name,
                started,
                p["municipality"]["code"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

async fn project_names(app: &TestApp, token: &str, variables: Value) -> Vec<String> {
    let data = app.graphql(Some(token), PROJECTS, variables).await;
    strings(data.data(), "projects", "name")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_names_dates_and_municipality_lists_filter_like_the_rows_say() {
    let (app, token) = demo().await;
    let all = all_projects(&app, &token).await;
    assert!(all.len() > 20, "{all:?}");

    for text in ["NØRRE", "bro", "Bydelsmødre A"] {
        let want: Vec<String> = all
            .iter()
            .filter(|(name, ..)| name.to_lowercase().contains(&text.to_lowercase()))
            .map(|(name, ..)| name.clone())
            .collect();
        assert!(!want.is_empty(), "{text} matches some demo project");
        let got = project_names(&app, &token, json!({ "filter": { "nameContains": text } })).await;
        assert_eq!(got, want, "nameContains {text:?}");
    }
    for literal in ["%", "_", "\\"] {
        let got = project_names(
            &app,
            &token,
            json!({ "filter": { "nameContains": literal } }),
        )
        .await;
        assert!(
            got.is_empty(),
            "{literal:?} is literal, not a wildcard: {got:?}"
        );
    }

    let codes = [101, 751];
    let want: Vec<String> = all
        .iter()
        .filter(|(_, _, code)| codes.contains(code))
        .map(|(name, ..)| name.clone())
        .collect();
    let got = project_names(
        &app,
        &token,
        json!({ "filter": { "municipalityCodes": codes } }),
    )
    .await;
    assert_eq!(got, want);
    assert!(want.len() > 2 && want.len() < all.len());

    let (from, to) = ("2009-01-01", "2010-12-31");
    let want: Vec<String> = all
        .iter()
        .filter(|(_, started, _)| started.as_str() >= from && started.as_str() <= to)
        .map(|(name, ..)| name.clone())
        .collect();
    let filter = json!({ "filter": { "startedFrom": from, "startedTo": to } });
    assert_eq!(project_names(&app, &token, filter).await, want);
    assert!(!want.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_order_takes_a_direction_and_its_cursors_keep_it() {
    let (app, token) = demo().await;
    let ascending = project_names(&app, &token, json!({ "first": 100 })).await;
    let mut reversed = ascending.clone();
    reversed.reverse();
    let descending =
        project_names(&app, &token, json!({ "first": 100, "direction": "DESC" })).await;
    assert_eq!(descending, reversed);

    let first = app
        .graphql(
            Some(&token),
            PROJECTS,
            json!({ "first": 5, "direction": "DESC" }),
        )
        .await;
    let cursor = first.data()["projects"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    let next = project_names(
        &app,
        &token,
        json!({ "first": 5, "after": cursor, "direction": "DESC" }),
    )
    .await;
    assert_eq!(next, reversed[5..10]);

    let replayed = app
        .graphql(
            Some(&token),
            PROJECTS,
            json!({ "first": 5, "after": cursor, "direction": "ASC" }),
        )
        .await;
    let message = replayed.expect_error("BAD_USER_INPUT");
    assert!(message.contains("another ordering"), "{message}");

    let newest = app
        .graphql(Some(&token), REFERRALS, json!({ "direction": "ASC" }))
        .await;
    let times: Vec<String> = strings(newest.data(), "referrals", "createdAt");
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "ASC puts the oldest referral first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mother_names_and_join_dates_filter_like_the_rows_say() {
    let (app, token) = demo().await;
    let mothers = Mother::find().all(&app.db).await.expect("mothers");
    let text = "an";
    let want = mothers
        .iter()
        .filter(|m| {
            m.first_name.to_lowercase().contains(text) || m.last_name.to_lowercase().contains(text)
        })
        .count() as u64;
    let data = app
        .graphql(
            Some(&token),
            MOTHERS,
            json!({ "filter": { "nameContains": "AN" } }),
        )
        .await;
    assert_eq!(total_count(data.data(), "mothers"), want);
    assert!(want > 0 && want < mothers.len() as u64);

    let from = chrono::NaiveDate::from_ymd_opt(2011, 1, 1).expect("a date");
    let to = chrono::NaiveDate::from_ymd_opt(2011, 12, 31).expect("a date");
    let want = mothers
        .iter()
        .filter(|m| m.joined_on >= from && m.joined_on <= to)
        .count() as u64;
    let filter = json!({ "filter": { "joinedFrom": "2011-01-01", "joinedTo": "2011-12-31" } });
    let data = app.graphql(Some(&token), MOTHERS, filter).await;
    assert_eq!(total_count(data.data(), "mothers"), want);
    assert!(want > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referral_priorities_and_creation_ranges_partition_the_list() {
    let (app, token) = demo().await;
    let count = |data: &Value| total_count(data, "referrals");
    let all = app.graphql(Some(&token), REFERRALS, json!({})).await;
    let total = count(all.data());

    let urgent = app
        .graphql(
            Some(&token),
            REFERRALS,
            json!({ "filter": { "priority": ["URGENT", "ASAP"] } }),
        )
        .await;
    let rows = nodes(urgent.data(), "referrals");
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["priority"] == "URGENT" || r["priority"] == "ASAP")
    );
    let stored = Referral::find()
        .filter(entity::referral::Column::Priority.is_in([
            entity::enums::ReferralPriority::Urgent,
            entity::enums::ReferralPriority::Asap,
        ]))
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(count(urgent.data()), stored);

    let split = "2020-01-01T00:00:00Z";
    let before = app
        .graphql(
            Some(&token),
            REFERRALS,
            json!({ "filter": { "createdBefore": split } }),
        )
        .await;
    let after = app
        .graphql(
            Some(&token),
            REFERRALS,
            json!({ "filter": { "createdFrom": split } }),
        )
        .await;
    let (before, after) = (count(before.data()), count(after.data()));
    assert!(before > 0 && after > 0);
    assert_eq!(
        before + after,
        total,
        "a range's two halves never overlap or leave a gap"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_operators_are_bad_user_input_naming_the_field() {
    let (app, token) = demo().await;
    let long = "x".repeat(101);
    let cases = [
        (
            PROJECTS,
            json!({ "filter": { "nameContains": "  " } }),
            "filter.nameContains",
        ),
        (
            PROJECTS,
            json!({ "filter": { "nameContains": long } }),
            "filter.nameContains",
        ),
        (
            PROJECTS,
            json!({ "filter": { "startedFrom": "2012-01-01", "startedTo": "2011-01-01" } }),
            "filter.startedTo",
        ),
        (
            REFERRALS,
            json!({ "filter": {
                "createdFrom": "2021-01-01T00:00:00Z", "createdBefore": "2020-01-01T00:00:00Z" } }),
            "filter.createdBefore",
        ),
        (
            MOTHERS,
            json!({ "filter": { "joinedFrom": "2012-01-01", "joinedTo": "2011-01-01" } }),
            "filter.joinedTo",
        ),
    ];
    for (query, variables, field) in cases {
        let response = app.graphql(Some(&token), query, variables.clone()).await;
        let message = response.expect_error("BAD_USER_INPUT");
        assert!(message.contains(field), "{variables}: {message}");
    }
}

/// Hodan is registered by København this week and referred to its pool, where an NGO
/// claimed her without her consent to share with it.
async fn hodan(app: &TestApp) -> (String, String) {
    let her = Participant::find()
        .filter(entity::participant::Column::MunicipalityCaseRef.eq("KK-2026-40117"))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the demo's Hodan");
    let id = bydel::ids::Kind::Participant.id(her.id).to_string();
    (id, her.pseudonym)
}

async fn found(app: &TestApp, token: &str) -> Vec<String> {
    let data = app
        .graphql(
            Some(token),
            PARTICIPANTS,
            json!({ "filter": { "firstNameContains": "hoda" } }),
        )
        .await;
    strings(data.data(), "participants", "id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_name_search_matches_only_whom_rule_3_lets_you_read_and_is_audited() {
    let (app, secretariat) = demo().await;
    let (her, pseudonym) = hodan(&app).await;
    let scopes = "participants:read referrals:read projects:read";

    assert!(found(&app, &secretariat).await.contains(&her));
    let kobenhavn = app.token("kommune-101", scopes).await;
    let reads_before = AuditEvent::find()
        .filter(entity::audit_event::Column::Action.eq(AuditAction::Read))
        .count(&app.db)
        .await
        .expect("count");
    let theirs = found(&app, &kobenhavn).await;
    assert!(theirs.contains(&her), "her registrar finds her: {theirs:?}");
    let reads_after = AuditEvent::find()
        .filter(entity::audit_event::Column::Action.eq(AuditAction::Read))
        .count(&app.db)
        .await
        .expect("count");
    assert!(
        reads_after >= reads_before + theirs.len() as u64,
        "every match is an audited read ({reads_before} -> {reads_after})"
    );

    // The NGO holding her pool referral may read her pool profile, not her name.
    let claimant = app.token("ngo-faellesskabshuset", scopes).await;
    let row = app
        .graphql(
            Some(&claimant),
            PARTICIPANTS,
            json!({ "filter": { "pseudonym": pseudonym } }),
        )
        .await;
    assert_eq!(
        strings(row.data(), "participants", "id"),
        std::slice::from_ref(&her),
        "her row is visible"
    );
    assert!(
        !found(&app, &claimant).await.contains(&her),
        "no consent to share: no match"
    );
    let aarhus = app.token("kommune-751", scopes).await;
    assert!(!found(&app, &aarhus).await.contains(&her));

    let without = app.token("kommune-101", "referrals:read").await;
    let refused = app
        .graphql(
            Some(&without),
            PARTICIPANTS,
            json!({ "filter": { "firstNameContains": "hoda" } }),
        )
        .await;
    refused.expect_error("FORBIDDEN");
}
