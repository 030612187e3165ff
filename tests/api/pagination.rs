//! Relay paging: forward with `first`/`after` and backward with `last`/`before` both visit
//! every row exactly once in one stable order (ties broken by id), `pageInfo` is right at
//! both ends, and `updatedSince` + `orderBy: UPDATED_AT` is an oldest-change-first sync feed.

use bydel::ids::Kind;
use chrono::Duration;
use entity::enums::ReferralStatus;
use sea_orm::ActiveValue::Set;
use serde_json::{Value, json};

use crate::{
    harness::{
        ALL_READ, TestApp,
        fixtures::{Base, Fixtures, at},
        strings,
    },
    queries,
};

const PAGE: u64 = 7;

struct Page {
    ids: Vec<String>,
    info: Value,
    cursors: Vec<String>,
}

async fn page(app: &TestApp, token: &str, query: &str, list: &str, variables: Value) -> Page {
    let response = app.graphql(Some(token), query, variables).await;
    let data = response.data();
    let edges = data[list]["edges"].as_array().expect("edges").clone();
    Page {
        ids: strings(data, list, "id"),
        info: data[list]["pageInfo"].clone(),
        cursors: edges
            .iter()
            .map(|e| e["cursor"].as_str().expect("a cursor").to_owned())
            .collect(),
    }
}

fn with(variables: &Value, extra: Value) -> Value {
    let mut merged = variables.clone();
    for (key, value) in extra.as_object().expect("an object") {
        merged[key] = value.clone();
    }
    merged
}

/// Pages forward from the start until `hasNextPage` is false.
async fn forward(app: &TestApp, token: &str, query: &str, list: &str, vars: &Value) -> Vec<Page> {
    let mut pages: Vec<Page> = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = page(
            app,
            token,
            query,
            list,
            with(vars, json!({ "first": PAGE, "after": after })),
        )
        .await;
        let more = page.info["hasNextPage"] == true;
        after = page.info["endCursor"].clone();
        pages.push(page);
        if !more {
            return pages;
        }
        assert!(pages.len() < 50, "forward paging does not end");
    }
}

/// Pages backward from the end until `hasPreviousPage` is false.
async fn backward(app: &TestApp, token: &str, query: &str, list: &str, vars: &Value) -> Vec<Page> {
    let mut pages: Vec<Page> = Vec::new();
    let mut before = Value::Null;
    loop {
        let page = page(
            app,
            token,
            query,
            list,
            with(vars, json!({ "last": PAGE, "before": before })),
        )
        .await;
        let more = page.info["hasPreviousPage"] == true;
        before = page.info["startCursor"].clone();
        pages.push(page);
        if !more {
            return pages;
        }
        assert!(pages.len() < 50, "backward paging does not end");
    }
}

/// Pages through `list` both ways and checks each way sees exactly `expected`, in order.
async fn assert_paging_covers(
    app: &TestApp,
    token: &str,
    query: &str,
    list: &str,
    vars: Value,
    expected: &[String],
) {
    let total = expected.len();
    let full_pages = total / PAGE as usize;
    let rest = total % PAGE as usize;
    let mut sizes = vec![PAGE as usize; full_pages];
    if rest > 0 {
        sizes.push(rest);
    }

    let pages = forward(app, token, query, list, &vars).await;
    let seen: Vec<String> = pages.iter().flat_map(|p| p.ids.clone()).collect();
    assert_eq!(seen, expected, "{list}: forward paging order");
    assert_eq!(
        pages.iter().map(|p| p.ids.len()).collect::<Vec<_>>(),
        sizes,
        "{list}: forward page sizes"
    );
    let first = &pages[0];
    assert_eq!(first.info["hasPreviousPage"], false, "{list}: first page");
    assert_eq!(first.info["hasNextPage"], true, "{list}: first page");
    let last = pages.last().expect("at least one page");
    assert_eq!(last.info["hasNextPage"], false, "{list}: last page");
    for page in &pages {
        assert_eq!(page.info["startCursor"], json!(page.cursors.first()));
        assert_eq!(page.info["endCursor"], json!(page.cursors.last()));
    }

    let pages = backward(app, token, query, list, &vars).await;
    let seen: Vec<String> = pages.iter().rev().flat_map(|p| p.ids.clone()).collect();
    assert_eq!(
        seen, expected,
        "{list}: backward paging, pages read in reverse"
    );
    let mut backward_sizes = sizes.clone();
    backward_sizes.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        pages.iter().map(|p| p.ids.len()).collect::<Vec<_>>(),
        backward_sizes,
        "{list}: backward page sizes"
    );
    let first = &pages[0];
    assert_eq!(first.info["hasNextPage"], false, "{list}: last rows");
    assert_eq!(first.info["hasPreviousPage"], true, "{list}: last rows");
    let last = pages.last().expect("at least one page");
    assert_eq!(last.info["hasPreviousPage"], false, "{list}: first rows");
}

/// `n` participants in one project, for referrals to point at.
async fn participants(fx: &Fixtures<'_>, base: &Base, n: usize) -> Vec<entity::participant::Model> {
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let mut made = Vec::with_capacity(n);
    for i in 0..n {
        made.push(
            fx.participant(
                &format!("BM-PAGE-{i:04}"),
                Some(&project),
                &base.ngo,
                &[],
                |_| {},
            )
            .await,
        );
    }
    made
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrals_page_both_ways_in_one_stable_order() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let start = at("2024-01-01T00:00:00Z");
    let mut referrals = Vec::new();
    for (i, participant) in participants(&fx, &base, 25).await.iter().enumerate() {
        // Three referrals share each creation time, so the id must break ties.
        let created = start + Duration::hours((i / 3) as i64);
        let referral = fx
            .referral(
                &base.ngo,
                &base.copenhagen,
                participant,
                ReferralStatus::Requested,
                |r| {
                    r.created_at = Set(created);
                    r.updated_at = Set(created);
                },
            )
            .await;
        referrals.push(referral);
    }
    referrals.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
    let expected: Vec<String> = referrals
        .iter()
        .map(|r| Kind::Referral.id(r.id).to_string())
        .collect();
    let token = app.token("secretariat", ALL_READ).await;

    assert_paging_covers(
        &app,
        &token,
        queries::REFERRALS,
        "referrals",
        json!({}),
        &expected,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_page_both_ways_with_duplicate_names() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let mut projects = Vec::new();
    for i in 0..25 {
        // Names repeat, so the id must break ties.
        let name = format!("Projekt {:02}", i / 2);
        projects.push(fx.project(&name, 101, &base.ngo, |_| {}).await);
    }
    projects.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
    let expected: Vec<String> = projects
        .iter()
        .map(|p| Kind::Project.id(p.id).to_string())
        .collect();
    let token = app.token("secretariat", ALL_READ).await;

    assert_paging_covers(
        &app,
        &token,
        queries::PROJECTS,
        "projects",
        json!({}),
        &expected,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updated_since_in_update_order_is_a_sync_feed() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let start = at("2024-05-01T00:00:00Z");
    // Changed out of creation order: hour k after `start`.
    let hours = [7, 2, 11, 0, 5, 9, 1, 10, 3, 8, 6, 4];
    let mut referrals = Vec::new();
    for (k, participant) in hours
        .iter()
        .zip(participants(&fx, &base, hours.len()).await.iter())
    {
        let updated = start + Duration::hours(*k);
        let referral = fx
            .referral(
                &base.ngo,
                &base.copenhagen,
                participant,
                ReferralStatus::Accepted,
                |r| r.updated_at = Set(updated),
            )
            .await;
        referrals.push(referral);
    }
    let since = start + Duration::hours(4);
    let mut changed: Vec<_> = referrals.iter().filter(|r| r.updated_at >= since).collect();
    changed.sort_by_key(|r| r.updated_at);
    let expected: Vec<String> = changed
        .iter()
        .map(|r| Kind::Referral.id(r.id).to_string())
        .collect();
    assert_eq!(expected.len(), 8);
    let token = app.token("secretariat", ALL_READ).await;
    let vars = json!({
        "orderBy": "UPDATED_AT",
        "filter": { "updatedSince": since.to_rfc3339() },
    });

    let one_page = page(
        &app,
        &token,
        queries::REFERRALS,
        "referrals",
        with(&vars, json!({ "first": 100 })),
    )
    .await;
    assert_eq!(one_page.ids, expected, "oldest change first, none before");

    // A sync client pages through the same feed.
    let pages = forward(&app, &token, queries::REFERRALS, "referrals", &vars).await;
    let seen: Vec<String> = pages.iter().flat_map(|p| p.ids.clone()).collect();
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mothers_updated_since_in_update_order() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let start = at("2024-05-01T00:00:00Z");
    let mut mothers = Vec::new();
    for (i, k) in [3, 0, 5, 1, 4, 2].into_iter().enumerate() {
        let mother = fx
            .mother(&project, &format!("Mor {i}"), &[], |m| {
                m.updated_at = Set(start + Duration::minutes(k))
            })
            .await;
        mothers.push((k, mother));
    }
    mothers.sort_by_key(|(k, _)| *k);
    let expected: Vec<String> = mothers
        .iter()
        .filter(|(k, _)| *k >= 2)
        .map(|(_, m)| Kind::Mother.id(m.id).to_string())
        .collect();
    let token = app.token("secretariat", ALL_READ).await;

    let page = page(
        &app,
        &token,
        queries::MOTHERS,
        "mothers",
        json!({
            "orderBy": "UPDATED_AT",
            "filter": { "updatedSince": "2024-05-01T00:02:00Z" },
        }),
    )
    .await;

    assert_eq!(page.ids, expected);
}
