//! Statistics: the demo's published figures, row scoping per organisation kind, disclosure
//! control (primary and secondary suppression, exact figures for the secretariat), date parts
//! that agree on both backends, refused dimensions and scopes, one statement per figure.

use std::collections::{BTreeMap, HashMap};

use bydel::ids::Kind;
use chrono::{Duration, NaiveDate, Timelike, Utc};
use entity::{
    enums::{ReferralStatus, VisitChannel, VisitTopic},
    mother, project, referral,
};
use sea_orm::Set;
use serde_json::{Value, json};

use crate::{
    harness::{TestApp, fixtures::date},
    queries,
    tokens::gid,
};

const STATS: &str = "stats:read";

fn cells(data: &Value, figure: &str) -> Vec<Value> {
    data["stats"][figure]["cells"]
        .as_array()
        .unwrap_or_else(|| panic!("no stats.{figure}.cells in {data:#}"))
        .clone()
}

fn value(cell: &Value) -> Option<f64> {
    cell["value"].as_f64()
}

/// Outside the secretariat a published count is the exact one plus cell-key noise of at
/// most 2 either way.
#[track_caller]
fn assert_near(published: Option<f64>, exact: f64, what: &str) {
    let published = published.unwrap_or_else(|| panic!("{what}: nothing published"));
    assert!(
        (published - exact).abs() <= 2.0 && published.fract() == 0.0,
        "{what}: published {published} is not a whole number within 2 of {exact}"
    );
}

/// A cell's value keyed by the named fields (as text), for comparisons.
fn by(data: &Value, figure: &str, fields: &[&str]) -> BTreeMap<Vec<String>, Option<f64>> {
    cells(data, figure)
        .iter()
        .map(|c| {
            let key = fields.iter().map(|f| c[*f].to_string()).collect();
            (key, value(c))
        })
        .collect()
}

#[tokio::test]
async fn the_demo_reproduces_the_published_figures() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let token = app.token("secretariat", STATS).await;
    let filter = json!({"filter": {"from": "2008-01-01", "to": "2012-12-31"}});
    let response = app.graphql(Some(&token), queries::STATS_DEMO, filter).await;
    let data = response.data();

    let trained = by(data, "mothersTrained", &["year"]);
    let expected = [
        (2008, 9.0),
        (2009, 19.0),
        (2010, 15.0),
        (2011, 66.0),
        (2012, 138.0),
    ];
    let published: BTreeMap<Vec<String>, Option<f64>> = expected
        .iter()
        .map(|(y, n)| (vec![y.to_string()], Some(*n)))
        .collect();
    assert_eq!(trained, published);
    assert_eq!(
        data["stats"]["mothersTrained"]["total"]["value"],
        json!(247.0)
    );

    let visits = by(data, "visits", &["year", "month"]);
    assert_eq!(
        visits[&vec!["2012".to_owned(), "5".to_owned()]],
        Some(265.0)
    );
    let sum: f64 = visits.values().map(|v| v.unwrap_or(0.0)).sum();
    assert_eq!(
        data["stats"]["visits"]["total"]["value"].as_f64(),
        Some(sum)
    );
    assert!(
        cells(data, "visits")
            .iter()
            .all(|c| c["suppressed"] == json!(false))
    );

    // The same figure by its own period filter.
    let may = json!({"filter": {"from": "2012-05-01", "to": "2012-05-31"}, "groupBy": []});
    let response = app.graphql(Some(&token), queries::STATS_VISITS, may).await;
    assert_eq!(
        response.data()["stats"]["visits"]["total"]["value"],
        json!(265.0)
    );
}

#[tokio::test]
async fn every_figure_answers_in_one_statement_whatever_the_groups() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let token = app.token("secretariat", STATS).await;
    let probe = async || {
        let before = app.statements().await;
        app.graphql(Some(&token), queries::STATS_PROBE, json!({}))
            .await
            .data();
        app.statements().await - before
    };
    probe().await; // From now on the token's rows come from the token cache.
    let overhead = probe().await;
    let before = app.statements().await;
    let response = app
        .graphql(Some(&token), queries::STATS_FIGURES, json!({}))
        .await;
    let data = response.data();
    let used = app.statements().await - before;
    assert_eq!(used - overhead, 5, "five figures, five statements");
    assert!(cells(data, "volunteerHours").len() > 50, "many groups");
    assert!(cells(data, "mothersTrained").len() > 50, "many groups");

    let before = app.statements().await;
    let dashboard = json!({"from": "2012-01-01", "to": "2012-12-31", "municipality": 101});
    let response = app
        .graphql(Some(&token), queries::STATS_DASHBOARD, dashboard)
        .await;
    assert!(cells(response.data(), "visits").len() > 12);
    assert_eq!(app.statements().await - before - overhead, 1);
}

#[tokio::test]
async fn response_times_and_hours_are_consistent_with_the_rows() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let token = app.token("secretariat", STATS).await;
    let response = app
        .graphql(Some(&token), queries::STATS_FIGURES, json!({}))
        .await;
    let data = response.data();
    let times = &data["stats"]["referralResponseTimes"];
    let accepted = &times["total"]["toAcceptance"];
    let (median, p90) = (
        accepted["medianHours"].as_f64().expect("a median"),
        accepted["percentile90Hours"]
            .as_f64()
            .expect("a percentile"),
    );
    assert!(0.0 < median && median <= p90, "{accepted:#}");
    let per_category: i64 = times["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| c["toAcceptance"]["count"].as_i64().expect("exact count"))
        .sum();
    assert_eq!(Some(per_category), accepted["count"].as_i64());
    assert_eq!(times["suppressedCells"], json!(0));
    let hours: f64 = cells(data, "volunteerHours")
        .iter()
        .map(|c| value(c).expect("exact"))
        .sum();
    let total = data["stats"]["volunteerHours"]["total"]["value"].as_f64();
    assert!((hours - total.expect("a total")).abs() < 1e-6);
}

/// Two projects: Nørrebro (101, run by the NGO) with 12 visits and Randers (730, run by the
/// municipality of Randers) with 8; a referral from Randers's project addressed to København.
struct Area {
    app: TestApp,
    norrebro: project::Model,
    randers: project::Model,
}

async fn area() -> Area {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let norrebro = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let randers = f.project("Randers Nord", 730, &base.randers, |_| {}).await;
    let amira = f.mother(&norrebro, "Amira", &["ar"], |_| {}).await;
    let layla = f.mother(&randers, "Layla", &["so"], |_| {}).await;
    visits(&app, &amira, 12, VisitChannel::HomeVisit, date(2024, 3, 4)).await;
    visits(&app, &layla, 8, VisitChannel::HomeVisit, date(2024, 3, 4)).await;
    let her = f
        .participant("RA-0001", Some(&randers), &base.randers, &[], |_| {})
        .await;
    f.referral(
        &base.randers,
        &base.copenhagen,
        &her,
        ReferralStatus::Requested,
        |_| {},
    )
    .await;
    Area {
        app,
        norrebro,
        randers,
    }
}

async fn visits(
    app: &TestApp,
    mother: &mother::Model,
    n: usize,
    channel: VisitChannel,
    on: NaiveDate,
) {
    for _ in 0..n {
        app.fixtures()
            .visit(mother, on, channel, &[VisitTopic::Children], |_| {})
            .await;
    }
}

async fn visits_by_project(app: &TestApp, organisation: &str) -> HashMap<String, Option<f64>> {
    let token = app.token(organisation, STATS).await;
    let vars = json!({"groupBy": ["PROJECT"]});
    let response = app.graphql(Some(&token), queries::STATS_VISITS, vars).await;
    cells(response.data(), "visits")
        .iter()
        .map(|c| {
            (
                c["projectId"].as_str().unwrap_or_default().to_owned(),
                value(c),
            )
        })
        .collect()
}

#[tokio::test]
async fn each_organisation_sees_the_figures_of_its_area() {
    let Area {
        app,
        norrebro,
        randers,
    } = area().await;
    let (n, r) = (
        gid(Kind::Project, norrebro.id),
        gid(Kind::Project, randers.id),
    );
    let secretariat = visits_by_project(&app, "secretariat").await;
    assert_eq!(
        secretariat,
        HashMap::from([(n.clone(), Some(12.0)), (r.clone(), Some(8.0))])
    );
    for (org, project, exact) in [
        ("kommune-101", &n, 12.0),
        ("ngo-red-cross", &n, 12.0),
        ("kommune-730", &r, 8.0),
    ] {
        let seen = visits_by_project(&app, org).await;
        assert_eq!(seen.keys().collect::<Vec<_>>(), [project], "{org}'s area");
        assert_near(seen[project], exact, org);
    }

    // The referral of Randers's project addressed to København counts for both
    // municipalities (suppressed: one is below the threshold), not for the NGO (none: zero
    // is published).
    let total = async |org: &str| {
        let token = app.token(org, STATS).await;
        let vars = json!({"groupBy": []});
        let response = app
            .graphql(Some(&token), queries::STATS_REFERRALS, vars)
            .await;
        response.data()["stats"]["referrals"]["total"].clone()
    };
    let suppressed = json!({"value": null, "suppressed": true});
    assert_eq!(total("kommune-101").await, suppressed);
    assert_eq!(total("kommune-730").await, suppressed);
    assert_eq!(
        total("ngo-red-cross").await,
        json!({"value": 0.0, "suppressed": false})
    );
    assert_eq!(
        total("secretariat").await,
        json!({"value": 1.0, "suppressed": false})
    );
}

#[tokio::test]
async fn filters_narrow_by_project_municipality_organisation_and_period() {
    let Area {
        app,
        norrebro,
        randers,
    } = area().await;
    let token = app.token("secretariat", STATS).await;
    let total = async |filter: Value| {
        let vars = json!({"filter": filter, "groupBy": []});
        let response = app.graphql(Some(&token), queries::STATS_VISITS, vars).await;
        response.data()["stats"]["visits"]["total"]["value"].clone()
    };
    let randers_org = bydel::organisations::find_by_reference(&app.db, "kommune-730")
        .await
        .expect("Randers exists");
    assert_eq!(
        total(json!({"projectIds": [gid(Kind::Project, norrebro.id)]})).await,
        json!(12.0)
    );
    assert_eq!(total(json!({"municipalityCodes": [730]})).await, json!(8.0));
    assert_eq!(
        total(json!({"organisationIds": [gid(Kind::Organisation, randers_org.id)]})).await,
        json!(8.0)
    );
    assert_eq!(total(json!({"from": "2024-03-05"})).await, json!(0.0));
    assert_eq!(
        total(json!({"to": "2024-03-04", "from": "2024-03-04"})).await,
        json!(20.0)
    );
    let both = json!({"projectIds": [gid(Kind::Project, randers.id)], "municipalityCodes": [101]});
    assert_eq!(total(both).await, json!(0.0));

    let bad = json!({"filter": {"from": "2024-03-05", "to": "2024-03-04"}, "groupBy": []});
    let response = app.graphql(Some(&token), queries::STATS_VISITS, bad).await;
    assert!(response.expect_error("BAD_USER_INPUT").contains("before"));
    let bad = json!({"filter": {"projectIds": [gid(Kind::Mother, norrebro.id)]}});
    let response = app.graphql(Some(&token), queries::STATS_VISITS, bad).await;
    response.expect_error("BAD_USER_INPUT");
}

/// Visits of one project by channel: home 12, phone 2, group 7, accompaniment 9 in March
/// 2024, and home 6, phone 8, group 1, accompaniment 10 in April.
async fn channels() -> TestApp {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let amira = f.mother(&project, "Amira", &["ar"], |_| {}).await;
    let (march, april) = (date(2024, 3, 4), date(2024, 4, 8));
    for (channel, m, a) in [
        (VisitChannel::HomeVisit, 12, 6),
        (VisitChannel::PhoneCall, 2, 8),
        (VisitChannel::GroupEvent, 7, 1),
        (VisitChannel::Accompaniment, 9, 10),
    ] {
        visits(&app, &amira, m, channel, march).await;
        visits(&app, &amira, a, channel, april).await;
    }
    app
}

async fn visits_table(app: &TestApp, organisation: &str, group_by: Value) -> Value {
    let token = app.token(organisation, STATS).await;
    let vars = json!({"groupBy": group_by, "filter": {"from": "2024-03-01", "to": "2024-03-31"}});
    let response = app.graphql(Some(&token), queries::STATS_VISITS, vars).await;
    response.data()["stats"]["visits"].clone()
}

#[tokio::test]
async fn small_cells_are_suppressed_with_a_partner_so_the_total_gives_nothing_away() {
    let app = channels().await;
    let table = visits_table(&app, "kommune-101", json!(["CHANNEL"])).await;
    let got: Vec<(String, Value, bool)> = table["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| {
            (
                c["channel"].as_str().unwrap_or_default().to_owned(),
                c["value"].clone(),
                c["suppressed"] == json!(true),
            )
        })
        .collect();
    // Phone calls (2) are below the threshold; group events (7), the next smallest, go too.
    let pattern: Vec<(&str, bool)> = got.iter().map(|(c, _, s)| (c.as_str(), *s)).collect();
    assert_eq!(
        pattern,
        [
            ("ACCOMPANIMENT", false),
            ("GROUP_EVENT", true),
            ("HOME_VISIT", false),
            ("PHONE_CALL", true),
        ]
    );
    assert_eq!((&got[1].1, &got[3].1), (&Value::Null, &Value::Null));
    assert_near(got[0].1.as_f64(), 9.0, "accompaniment");
    assert_near(got[2].1.as_f64(), 12.0, "home visits");
    assert_eq!(table["total"]["suppressed"], json!(false));
    assert_near(table["total"]["value"].as_f64(), 30.0, "the total");
    assert_eq!(table["suppressedCells"], json!(2));

    let exact = visits_table(&app, "secretariat", json!(["CHANNEL"])).await;
    let values: Vec<Value> = exact["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| c["value"].clone())
        .collect();
    assert_eq!(values, [json!(9.0), json!(7.0), json!(12.0), json!(2.0)]);
    assert_eq!(exact["suppressedCells"], json!(0));
}

#[tokio::test]
async fn a_suppressed_cell_cannot_be_recomputed_from_its_row_and_column_totals() {
    let app = channels().await;
    let token = app.token("ngo-red-cross", STATS).await;
    let exact_token = app.token("secretariat", STATS).await;
    let vars = json!({"groupBy": ["MONTH", "CHANNEL"]});
    let response = app
        .graphql(Some(&token), queries::STATS_VISITS, vars.clone())
        .await;
    let published = cells(response.data(), "visits");
    let response = app
        .graphql(Some(&exact_token), queries::STATS_VISITS, vars)
        .await;
    let exact = cells(response.data(), "visits");
    assert_eq!(published.len(), exact.len());
    assert!(published.iter().any(|c| c["suppressed"] == json!(true)));

    // Row and column totals are what the 1-D tables (or the secretariat's figures) publish.
    for fixed in ["channel", "month"] {
        let mut groups: HashMap<String, Vec<(f64, Option<f64>)>> = HashMap::new();
        for (p, e) in published.iter().zip(&exact) {
            assert_eq!(p[fixed], e[fixed]);
            if let Some(v) = value(p) {
                assert_near(Some(v), value(e).expect("exact"), "a published cell");
            } else {
                assert!(value(e).is_some());
            }
            groups
                .entry(p[fixed].to_string())
                .or_default()
                .push((value(e).expect("exact"), value(p)));
        }
        for (key, cells) in groups {
            let hidden: Vec<f64> = cells
                .iter()
                .filter(|(_, p)| p.is_none())
                .map(|(e, _)| *e)
                .collect();
            let line_total: f64 = cells.iter().map(|(e, _)| e).sum();
            let known: f64 = cells.iter().filter_map(|(_, p)| *p).sum();
            if let [only] = hidden.as_slice() {
                panic!("{fixed} {key}: the hidden {only} equals {line_total} - {known}");
            }
        }
    }
}

#[tokio::test]
async fn medians_over_too_few_referrals_are_suppressed_outside_the_secretariat() {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let requested = Utc::now().with_nanosecond(0).expect("whole seconds") - Duration::days(10);
    for hours in [4, 8] {
        let her = f
            .participant(
                &format!("NB-{hours:04}"),
                Some(&project),
                &base.ngo,
                &[],
                |_| {},
            )
            .await;
        f.referral(
            &base.ngo,
            &base.copenhagen,
            &her,
            ReferralStatus::Accepted,
            |row: &mut referral::ActiveModel| {
                row.requested_at = Set(Some(requested));
                row.accepted_at = Set(Some(requested + Duration::hours(hours)));
            },
        )
        .await;
    }
    let read = async |org: &str| {
        let token = app.token(org, STATS).await;
        let response = app
            .graphql(Some(&token), queries::STATS_FIGURES, json!({}))
            .await;
        response.data()["stats"]["referralResponseTimes"]["total"]["toAcceptance"].clone()
    };
    assert_eq!(
        read("secretariat").await,
        json!({"count": 2, "medianHours": 4.0, "percentile90Hours": 8.0, "suppressed": false})
    );
    assert_eq!(
        read("kommune-101").await,
        json!({"count": null, "medianHours": null, "percentile90Hours": null, "suppressed": true})
    );
}

#[tokio::test]
async fn years_months_and_iso_weeks_are_the_same_on_every_backend() {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let amira = f.mother(&project, "Amira", &["ar"], |_| {}).await;
    // 2012-01-01 is in ISO week 52 of 2011; 2012-12-31 in week 1 of 2013.
    visits(&app, &amira, 1, VisitChannel::PhoneCall, date(2012, 1, 1)).await;
    visits(&app, &amira, 1, VisitChannel::PhoneCall, date(2012, 12, 31)).await;
    let token = app.token("secretariat", STATS).await;
    let table = async |group_by: Value| {
        let response = app
            .graphql(
                Some(&token),
                queries::STATS_VISITS,
                json!({"groupBy": group_by}),
            )
            .await;
        cells(response.data(), "visits")
            .iter()
            .map(|c| (c["year"].clone(), c["month"].clone(), c["week"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        table(json!(["YEAR", "WEEK"])).await,
        [
            (json!(2011), Value::Null, json!(52)),
            (json!(2013), Value::Null, json!(1))
        ]
    );
    assert_eq!(
        table(json!(["YEAR", "MONTH"])).await,
        [
            (json!(2012), json!(1), Value::Null),
            (json!(2012), json!(12), Value::Null)
        ]
    );

    // A referral requested late on New Year's Eve (UTC) belongs to that year.
    let her = f
        .participant("NB-0001", Some(&project), &base.ngo, &[], |_| {})
        .await;
    let late = fixtures_at("2020-12-31T23:30:00Z");
    f.referral(
        &base.ngo,
        &base.copenhagen,
        &her,
        ReferralStatus::Requested,
        |row: &mut referral::ActiveModel| {
            row.requested_at = Set(Some(late));
        },
    )
    .await;
    let vars = json!({"groupBy": ["YEAR", "MONTH", "WEEK"], "filter": {"from": "2020-12-31", "to": "2020-12-31"}});
    let response = app
        .graphql(Some(&token), queries::STATS_REFERRALS, vars)
        .await;
    let cell = &cells(response.data(), "referrals")[0];
    assert_eq!(
        (&cell["year"], &cell["month"], &cell["week"]),
        (&json!(2020), &json!(12), &json!(53))
    );
}

fn fixtures_at(text: &str) -> chrono::DateTime<Utc> {
    crate::harness::fixtures::at(text)
}

#[tokio::test]
async fn a_dimension_that_does_not_apply_is_refused_by_name() {
    let app = channels().await;
    let token = app.token("secretariat", STATS).await;
    let vars = json!({"groupBy": ["MONTH", "STATUS"]});
    let response = app.graphql(Some(&token), queries::STATS_VISITS, vars).await;
    let message = response.expect_error("BAD_USER_INPUT");
    assert!(
        message.contains("STATUS") && message.contains("visits"),
        "{message}"
    );
    let vars = json!({"groupBy": ["TOPIC"]});
    let response = app
        .graphql(Some(&token), queries::STATS_REFERRALS, vars)
        .await;
    assert!(response.expect_error("BAD_USER_INPUT").contains("TOPIC"));
    let vars = json!({"groupBy": ["MONTH", "MONTH"]});
    let response = app.graphql(Some(&token), queries::STATS_VISITS, vars).await;
    assert!(response.expect_error("BAD_USER_INPUT").contains("twice"));
}

#[tokio::test]
async fn statistics_need_the_stats_scope() {
    let app = channels().await;
    let token = app.token("secretariat", "visits:read referrals:read").await;
    let response = app
        .graphql(Some(&token), queries::STATS_VISITS, json!({"groupBy": []}))
        .await;
    assert!(response.expect_error("FORBIDDEN").contains("stats:read"));
    assert_eq!(response.body["data"]["stats"], Value::Null);
}

#[tokio::test]
async fn stale_referrals_are_counted_and_listed_for_their_receiver() {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let old = Utc::now().with_nanosecond(0).expect("whole seconds") - Duration::days(20);
    for (n, receiver) in [&base.copenhagen, &base.copenhagen, &base.randers]
        .into_iter()
        .enumerate()
    {
        let her = f
            .participant(
                &format!("NB-{n:04}"),
                Some(&project),
                &base.ngo,
                &[],
                |_| {},
            )
            .await;
        f.referral(
            &base.ngo,
            receiver,
            &her,
            ReferralStatus::Requested,
            |row: &mut referral::ActiveModel| {
                row.requested_at = Set(Some(old));
            },
        )
        .await;
    }
    let fresh = f
        .participant("NB-0100", Some(&project), &base.ngo, &[], |_| {})
        .await;
    f.referral(
        &base.ngo,
        &base.copenhagen,
        &fresh,
        ReferralStatus::Requested,
        |_| {},
    )
    .await;

    let read = async |org: &str, scopes: &str| {
        let token = app.token(org, scopes).await;
        app.graphql(Some(&token), queries::STATS_STALE, json!({}))
            .await
    };
    let response = read("kommune-101", "stats:read referrals:read").await;
    let data = &response.data()["stats"]["staleReferrals"];
    assert_eq!(data["count"], json!(2));
    assert_eq!(data["referrals"]["totalCount"], json!(2));
    let listed: Vec<&Value> = data["referrals"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"]["isStale"])
        .collect();
    assert_eq!(listed, [&json!(true), &json!(true)]);
    let response = read("secretariat", "stats:read referrals:read").await;
    assert_eq!(
        response.data()["stats"]["staleReferrals"]["count"],
        json!(3)
    );
    let response = read("kommune-730", "stats:read referrals:read").await;
    assert_eq!(
        response.data()["stats"]["staleReferrals"]["count"],
        json!(1)
    );

    // The count is statistics; the rows need referrals:read.
    let response = read("kommune-101", STATS).await;
    assert_eq!(
        response.body["data"]["stats"]["staleReferrals"]["count"],
        json!(2)
    );
    assert!(
        response
            .expect_error("FORBIDDEN")
            .contains("referrals:read")
    );
}
