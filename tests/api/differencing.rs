//! Disclosure control across queries: the differencing attack of issue 11 (subtract two
//! cumulative totals to recover a suppressed month) performed over HTTP, whole-month periods,
//! repeatable answers, and the noise every figure carries outside the secretariat.
//!
//! The expected figures are counted here from what the fixtures inserted, independently of
//! the server.

use chrono::{Months, NaiveDate};
use entity::{enums::ReferralStatus, referral};
use sea_orm::ActiveValue::Set;
use serde_json::{Value, json};

use crate::{
    harness::{TestApp, fixtures::at},
    queries,
};

const STATS: &str = "stats:read";
const MONTHS: u32 = 40;

/// The first attacked month; the base month before it holds enough referrals that every
/// cumulative total is published.
fn month(i: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2015, 1, 1)
        .and_then(|first| first.checked_add_months(Months::new(i)))
        .unwrap_or_else(|| panic!("month {i}"))
}

fn last_day(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or_else(|| panic!("the month of {first}"))
}

/// Randers refers women to København: 30 referrals in December 2014, then 1 to 4 in each of
/// the 40 months from January 2015, every one accepted a day after its request. Returns the
/// app and the exact count per attacked month.
async fn referrals_every_month() -> (TestApp, Vec<u32>) {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Randers Nord", 730, &base.randers, |_| {}).await;
    let her = f
        .participant("RA-0001", Some(&project), &base.randers, &[], |_| {})
        .await;
    let refer = async |on: NaiveDate| {
        let requested = at(&format!("{on}T10:00:00Z"));
        f.referral(
            &base.randers,
            &base.copenhagen,
            &her,
            ReferralStatus::Accepted,
            |row: &mut referral::ActiveModel| {
                row.requested_at = Set(Some(requested));
                row.accepted_at = Set(Some(requested + chrono::Duration::days(1)));
            },
        )
        .await;
    };
    for day in 1..=30 {
        refer(NaiveDate::from_ymd_opt(2014, 12, day).unwrap_or_default()).await;
    }
    let mut exact = Vec::new();
    for i in 0..MONTHS {
        let count = 1 + (i * 7 + 3) % 4;
        for day in 0..count {
            refer(month(i) + chrono::Days::new(u64::from(3 + 5 * day))).await;
        }
        exact.push(count);
    }
    (app, exact)
}

async fn period(app: &TestApp, token: &str, filter: Value, group_by: Value) -> Value {
    let vars = json!({"filter": filter, "groupBy": group_by});
    let response = app.graphql(Some(token), queries::STATS_PERIOD, vars).await;
    response.data()["stats"].clone()
}

/// The published referral total from 1 December 2014 to `to`.
async fn total_to(app: &TestApp, token: &str, to: NaiveDate) -> f64 {
    let stats = period(
        app,
        token,
        json!({"from": "2014-12-01", "to": to}),
        json!([]),
    )
    .await;
    stats["referrals"]["total"]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("the total to {to} is published: {stats:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn differencing_two_cumulative_totals_recovers_no_suppressed_month() {
    let (app, exact) = referrals_every_month().await;
    let attacker = app.token("kommune-101", STATS).await;
    let secretariat = app.token("secretariat", STATS).await;

    // Every attacked month is suppressed in the monthly table.
    let table = period(
        &app,
        &attacker,
        json!({"from": "2015-01-01", "to": last_day(month(MONTHS - 1))}),
        json!(["YEAR", "MONTH"]),
    )
    .await;
    let cells = table["referrals"]["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), MONTHS as usize);
    assert!(
        cells.iter().all(|c| c["suppressed"] == json!(true)),
        "{cells:#?}"
    );

    // The attack: the total to the end of a month minus the total to the end of the month
    // before. For the secretariat it gives every month exactly (a control that the attack
    // is real); for the attacker it gives the month plus the difference of two unknown noises.
    let mut recovered = 0;
    let mut previous = (
        total_to(
            &app,
            &attacker,
            NaiveDate::from_ymd_opt(2014, 12, 31).unwrap_or_default(),
        )
        .await,
        total_to(
            &app,
            &secretariat,
            NaiveDate::from_ymd_opt(2014, 12, 31).unwrap_or_default(),
        )
        .await,
    );
    assert_eq!(previous.1, 30.0);
    for (i, count) in exact.iter().enumerate() {
        let end = last_day(month(i as u32));
        let now = (
            total_to(&app, &attacker, end).await,
            total_to(&app, &secretariat, end).await,
        );
        assert_eq!(
            now.1 - previous.1,
            f64::from(*count),
            "the secretariat's {end}"
        );
        let guess = now.0 - previous.0;
        assert!(
            (guess - f64::from(*count)).abs() <= 4.0,
            "noise is bounded: {guess} for {count} in the month to {end}"
        );
        if guess == f64::from(*count) {
            recovered += 1;
        }
        // A day inside the month is the whole month: the cell cannot be narrowed to a day.
        let mid_month = month(i as u32) + chrono::Days::new(12);
        assert_eq!(
            total_to(&app, &attacker, mid_month).await,
            now.0,
            "{mid_month}"
        );
        previous = now;
    }
    // Two independent noises agree with probability 0.26; without perturbation every month
    // is recovered. 24 of 40 is more than 4.9 standard deviations above the expected 10.4.
    assert!(
        recovered <= 24,
        "the attack recovered {recovered} of {MONTHS} suppressed months"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_the_secretariat_periods_are_whole_months_and_answers_repeat() {
    let (app, exact) = referrals_every_month().await;
    let attacker = app.token("kommune-101", STATS).await;
    let secretariat = app.token("secretariat", STATS).await;
    let asked = json!({"from": "2015-03-10", "to": "2015-04-15"});

    let snapped = period(&app, &attacker, asked.clone(), json!([])).await;
    assert_eq!(
        (&snapped["from"], &snapped["to"], &snapped["perturbed"]),
        (&json!("2015-03-01"), &json!("2015-04-30"), &json!(true))
    );
    let whole = period(
        &app,
        &attacker,
        json!({"from": "2015-03-01", "to": "2015-04-30"}),
        json!([]),
    )
    .await;
    assert_eq!(snapped, whole, "the same rows, the same answer");
    for _ in 0..3 {
        assert_eq!(
            period(&app, &attacker, asked.clone(), json!([])).await,
            snapped,
            "asking again gives nothing to average"
        );
    }
    // March and April 2015, counted and accepted: published near the exact count, or
    // suppressed when below the threshold.
    let two_months = f64::from(exact[2] + exact[3]);
    let response_times = &snapped["referralResponseTimes"]["total"]["toAcceptance"];
    for (published, suppressed) in [
        (
            &snapped["referrals"]["total"]["value"],
            &snapped["referrals"]["total"]["suppressed"],
        ),
        (&response_times["count"], &response_times["suppressed"]),
    ] {
        if two_months < 5.0 {
            assert_eq!((published, suppressed), (&Value::Null, &json!(true)));
            continue;
        }
        let published = published.as_f64().expect("published");
        assert!(
            (published - two_months).abs() <= 2.0,
            "{published} vs {two_months}"
        );
    }

    let exact_answer = period(&app, &secretariat, asked.clone(), json!([])).await;
    assert_eq!(
        (
            &exact_answer["from"],
            &exact_answer["to"],
            &exact_answer["perturbed"]
        ),
        (&json!("2015-03-10"), &json!("2015-04-15"), &json!(false)),
        "the secretariat's periods are days"
    );

    // Weeks would cut months into parts: refused outside the secretariat, by field.
    let vars = json!({"filter": asked, "groupBy": ["YEAR", "WEEK"]});
    let response = app
        .graphql(Some(&attacker), queries::STATS_PERIOD, vars.clone())
        .await;
    assert!(response.expect_error("BAD_USER_INPUT").contains("WEEK"));
    assert_eq!(response.errors()[0]["extensions"]["field"], "groupBy");
    assert_eq!(response.body["data"]["stats"]["referrals"], Value::Null);
    let response = app
        .graphql(Some(&secretariat), queries::STATS_PERIOD, vars)
        .await;
    assert!(
        !response.data()["stats"]["referrals"]["cells"]
            .as_array()
            .expect("weeks")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_figure_is_perturbed_near_the_exact_one_outside_the_secretariat() {
    let app = TestApp::spawn().await;
    bydel::demo::load(&app.db).await.expect("demo data");
    let filter = json!({"filter": {"municipalityCodes": [101]}});
    let read = async |org: &str| {
        let token = app.token(org, STATS).await;
        let response = app
            .graphql(Some(&token), queries::STATS_FIGURES, filter.clone())
            .await;
        response.data()["stats"].clone()
    };
    let (published, exact) = (read("kommune-101").await, read("secretariat").await);

    let mut compared = 0;
    let mut moved = 0;
    for (figure, hours) in [
        ("mothersTrained", false),
        ("womenReached", false),
        ("volunteerHours", true),
    ] {
        let cells = |stats: &Value| {
            let mut all = stats[figure]["cells"].as_array().expect("cells").clone();
            all.push(stats[figure]["total"].clone());
            all
        };
        let (p, e) = (cells(&published), cells(&exact));
        assert_eq!(p.len(), e.len(), "{figure}: the same cells");
        for (p, e) in p.iter().zip(&e) {
            let Some(value) = p["value"].as_f64() else {
                assert_eq!(p["suppressed"], json!(true));
                continue;
            };
            let truth = e["value"]
                .as_f64()
                .expect("the secretariat's figures are exact");
            // Published hours have at least 5 mothers, so they move by at most 2/5.
            let bound = if hours { truth * 0.4 + 0.05 } else { 2.0 };
            assert!(
                (value - truth).abs() <= bound,
                "{figure}: {value} is not near {truth}"
            );
            if !hours {
                assert_eq!(value.fract(), 0.0, "{figure}: counts stay whole");
            }
            compared += 1;
            if value != truth {
                moved += 1;
            }
        }
    }
    assert!(
        compared >= 10,
        "the demo publishes figures in København ({compared})"
    );
    // Each figure keeps its exact value with probability 0.4; all of them keeping it means
    // there is no noise.
    assert!(
        moved * 4 >= compared,
        "{moved} of {compared} figures carry noise"
    );
}
