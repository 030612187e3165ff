//! Stale referrals: requested and unanswered for longer than the response time (14 days in
//! the harness, the `serve` default). The `stale` filter runs in SQL and must agree with the
//! `isStale` flag, with `totalCount`, and with the row scoping of the caller.

use std::collections::BTreeSet;

use bydel::ids::Kind;
use chrono::{DateTime, Duration, Timelike, Utc};
use entity::{enums::ReferralStatus, referral};
use sea_orm::Set;
use serde_json::{Value, json};

use crate::{
    harness::{TestApp, nodes, total_count},
    queries,
    tokens::gid,
};

/// Whole seconds, so a timestamp reads back identically on every backend.
fn days_ago(days: i64) -> DateTime<Utc> {
    let now = Utc::now() - Duration::days(days);
    now.with_nanosecond(0).unwrap_or(now)
}

struct World {
    app: TestApp,
    /// Requested 20 days ago of kommune-101: stale.
    stale: referral::Model,
    /// Requested 20 days ago of kommune-730: stale, but not København's.
    stale_elsewhere: referral::Model,
    /// Requested 3 days ago: not yet due.
    fresh: referral::Model,
    /// Requested 60 days ago but accepted: answered, so never stale.
    accepted: referral::Model,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let her = f
        .participant("NB-0001", Some(&project), &base.ngo, &[], |_| {})
        .await;
    let requested = |days| {
        move |row: &mut referral::ActiveModel| {
            row.requested_at = Set(Some(days_ago(days)));
        }
    };
    let stale = f
        .referral(
            &base.ngo,
            &base.copenhagen,
            &her,
            ReferralStatus::Requested,
            requested(20),
        )
        .await;
    let stale_elsewhere = f
        .referral(
            &base.ngo,
            &base.randers,
            &her,
            ReferralStatus::Requested,
            requested(20),
        )
        .await;
    let fresh = f
        .referral(
            &base.ngo,
            &base.copenhagen,
            &her,
            ReferralStatus::Requested,
            requested(3),
        )
        .await;
    let accepted = f
        .referral(
            &base.ngo,
            &base.copenhagen,
            &her,
            ReferralStatus::Accepted,
            |row| {
                row.requested_at = Set(Some(days_ago(60)));
                row.accepted_at = Set(Some(days_ago(59)));
            },
        )
        .await;
    World {
        app,
        stale,
        stale_elsewhere,
        fresh,
        accepted,
    }
}

impl World {
    async fn list(&self, organisation: &str, stale: Value) -> Value {
        let token = self.app.token(organisation, "referrals:read").await;
        let response = self
            .app
            .graphql(
                Some(&token),
                queries::STALE_REFERRALS,
                json!({ "stale": stale }),
            )
            .await;
        response.data().clone()
    }
}

fn ids(data: &Value) -> BTreeSet<String> {
    nodes(data, "referrals")
        .into_iter()
        .map(|n| n["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn id(referral: &referral::Model) -> String {
    gid(Kind::Referral, referral.id)
}

fn set(referrals: &[&referral::Model]) -> BTreeSet<String> {
    referrals.iter().map(|r| id(r)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stale_filter_returns_exactly_the_stale_referrals() {
    let w = world().await;

    let stale = w.list("secretariat", json!(true)).await;
    assert_eq!(ids(&stale), set(&[&w.stale, &w.stale_elsewhere]));
    assert_eq!(total_count(&stale, "referrals"), 2);

    let not_stale = w.list("secretariat", json!(false)).await;
    assert_eq!(ids(&not_stale), set(&[&w.fresh, &w.accepted]));
    assert_eq!(total_count(&not_stale, "referrals"), 2);

    let all = w.list("secretariat", Value::Null).await;
    assert_eq!(total_count(&all, "referrals"), 4);
    // The filter and the flag agree on every row.
    for node in nodes(&all, "referrals") {
        let flagged = node["isStale"].as_bool().expect("isStale is a Boolean");
        let filtered = ids(&stale).contains(node["id"].as_str().unwrap_or_default());
        assert_eq!(flagged, filtered, "{node:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn is_stale_and_respond_by_follow_the_response_time() {
    let w = world().await;
    let all = w.list("secretariat", Value::Null).await;
    let by_id = |r: &referral::Model| {
        nodes(&all, "referrals")
            .into_iter()
            .find(|n| n["id"] == id(r))
            .unwrap_or_else(|| panic!("referral {} is listed: {all:#}", r.id))
            .clone()
    };
    let due = |node: &Value| {
        let text = node["respondBy"].as_str().expect("respondBy is set");
        DateTime::parse_from_rfc3339(text)
            .expect("respondBy is RFC 3339")
            .with_timezone(&Utc)
    };

    let stale = by_id(&w.stale);
    assert_eq!(stale["isStale"], true);
    let requested = w
        .stale
        .requested_at
        .expect("a requested referral has requestedAt");
    assert_eq!(due(&stale), requested + Duration::days(14));

    let fresh = by_id(&w.fresh);
    assert_eq!(fresh["isStale"], false);
    let requested = w
        .fresh
        .requested_at
        .expect("a requested referral has requestedAt");
    assert_eq!(due(&fresh), requested + Duration::days(14));
    assert!(due(&fresh) > Utc::now());

    let accepted = by_id(&w.accepted);
    assert_eq!(
        accepted["isStale"], false,
        "an answered referral is never stale"
    );
    assert!(accepted["respondBy"].is_null(), "{accepted:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_municipality_sees_only_its_own_stale_referrals() {
    let w = world().await;
    let stale = w.list("kommune-101", json!(true)).await;
    assert_eq!(ids(&stale), set(&[&w.stale]));
    assert_eq!(total_count(&stale, "referrals"), 1);

    let stale = w.list("kommune-730", json!(true)).await;
    assert_eq!(ids(&stale), set(&[&w.stale_elsewhere]));
    assert_eq!(total_count(&stale, "referrals"), 1);

    let not_stale = w.list("kommune-101", json!(false)).await;
    assert_eq!(ids(&not_stale), set(&[&w.fresh, &w.accepted]));
    assert_eq!(total_count(&not_stale, "referrals"), 2);
}
