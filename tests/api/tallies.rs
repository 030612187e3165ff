//! The monthly tallies of visits (`visit_month`, `visit_topic_month`): every write of a visit
//! keeps them equal to the visits they count, migrations 13 and 14 fill them (and their key
//! sums) from stored visits, and
//! the statistics read them exactly when a request covers whole months.
//!
//! The expected tallies are computed here in plain Rust from the visit rows, independently of
//! the server's own tally code.

use std::collections::BTreeMap;

use bydel::ids::Kind;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use entity::{
    enums::{VisitChannel, VisitTopic},
    visit, visit_month, visit_topic, visit_topic_month,
};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, ExprTrait, QueryFilter, sea_query::Expr,
};
use serde_json::{Value, json};

use crate::{
    harness::{TestApp, fixtures::date},
    queries,
    tokens::{gid, string},
};

const WRITER: &str = "visits:write projects:read mothers:read";

/// (project, year, month, channel[, topic]) → (visits, women, sum of the visits' record
/// keys: the low 24 bits of each id), zero rows left out.
type Tally = BTreeMap<(String, i32, u32, String, String), (i64, i64, i64)>;

fn key(
    project: uuid::Uuid,
    month: NaiveDate,
    channel: VisitChannel,
    topic: &str,
) -> (String, i32, u32, String, String) {
    (
        project.to_string(),
        month.year(),
        month.month(),
        format!("{channel:?}"),
        topic.to_owned(),
    )
}

/// What the tallies must hold, from the visits and topics as stored.
async fn expected(db: &DatabaseConnection) -> (Tally, Tally) {
    let visits = visit::Entity::find().all(db).await.expect("visits");
    let topics = visit_topic::Entity::find().all(db).await.expect("topics");
    let mut months = Tally::new();
    let mut by_topic = Tally::new();
    for v in &visits {
        let women = i64::from(v.attendee_count.unwrap_or(1));
        let record_key = (v.id.as_u128() % (1 << 24)) as i64;
        let add = |tally: &mut Tally, topic: &str| {
            let entry = tally
                .entry(key(v.project_id, v.visited_on, v.channel, topic))
                .or_default();
            entry.0 += 1;
            entry.1 += women;
            entry.2 += record_key;
        };
        add(&mut months, "");
        for t in topics.iter().filter(|t| t.visit_id == v.id) {
            add(&mut by_topic, &format!("{:?}", t.topic));
        }
    }
    (months, by_topic)
}

/// What the tallies hold, rows at zero left out.
async fn stored(db: &DatabaseConnection) -> (Tally, Tally) {
    let months = visit_month::Entity::find()
        .all(db)
        .await
        .expect("visit_month")
        .into_iter()
        .filter(|r| (r.visits, r.women) != (0, 0))
        .map(|r| {
            let k = key(r.project_id, r.month, r.channel, "");
            (k, (i64::from(r.visits), i64::from(r.women), r.key_sum))
        })
        .collect();
    let topics = visit_topic_month::Entity::find()
        .all(db)
        .await
        .expect("visit_topic_month")
        .into_iter()
        .filter(|r| (r.visits, r.women) != (0, 0))
        .map(|r| {
            assert_eq!(r.month.day(), 1, "a tally's month is its first day");
            let k = key(r.project_id, r.month, r.channel, &format!("{:?}", r.topic));
            (k, (i64::from(r.visits), i64::from(r.women), r.key_sum))
        })
        .collect();
    (months, topics)
}

/// Asserts the invariant and returns the tallies, which must not be empty.
pub async fn assert_tallies_match(db: &DatabaseConnection, after: &str) -> (Tally, Tally) {
    let expected = expected(db).await;
    assert_eq!(stored(db).await, expected, "tallies after {after}");
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_of_a_visit_keeps_the_monthly_tallies() {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let mother = f.mother(&project, "Amina", &["ar"], |_| {}).await;
    let token = app.token("ngo-red-cross", WRITER).await;
    let project_id = gid(Kind::Project, project.id);
    let today = Utc::now().date_naive();
    let row = |on: NaiveDate, channel: &str, topics: Value, attendees: Option<i32>| {
        let mut row = json!({
            "motherId": gid(Kind::Mother, mother.id), "channel": channel,
            "visitedOn": on.to_string(), "durationMinutes": 60, "topics": topics,
            "contactOrigin": "MOTHER_NETWORK", "nextStep": "NONE",
        });
        if let Some(n) = attendees {
            row["attendeeCount"] = json!(n);
        }
        row
    };

    let mut input = row(
        today - Duration::days(1),
        "HOME_VISIT",
        json!(["CHILDREN", "HEALTH"]),
        None,
    );
    input["projectId"] = json!(project_id);
    let response = app
        .graphql(
            Some(&token),
            queries::RECORD_VISIT,
            json!({ "input": input }),
        )
        .await;
    let first = string(&response.data()["recordVisit"]["id"]);
    let (months, topics) = assert_tallies_match(&app.db, "recording a visit").await;
    assert_eq!((months.len(), topics.len()), (1, 2));

    let rows = json!([
        row(
            today - Duration::days(1),
            "HOME_VISIT",
            json!(["HEALTH"]),
            None
        ),
        row(
            today - Duration::days(70),
            "GROUP_EVENT",
            json!(["SCHOOL", "HEALTH"]),
            Some(7)
        ),
        row(
            today - Duration::days(70),
            "PHONE_CALL",
            json!(["ECONOMY"]),
            None
        ),
    ]);
    let input = json!({ "projectId": project_id, "visits": rows });
    let response = app
        .graphql(
            Some(&token),
            queries::IMPORT_VISITS,
            json!({ "input": input }),
        )
        .await;
    assert_eq!(response.data()["importVisits"]["count"], 3);
    let (months, _) = assert_tallies_match(&app.db, "an import").await;
    let women: i64 = months.values().map(|(_, women, _)| women).sum();
    assert_eq!(women, 1 + 1 + 7 + 1, "a group event counts its attendees");

    // A refused import (one bad row) changes no tally.
    let before = stored(&app.db).await;
    let bad = json!([
        row(today, "HOME_VISIT", json!(["HEALTH"]), None),
        row(today, "HOME_VISIT", json!([]), Some(0))
    ]);
    let input = json!({ "projectId": project_id, "visits": bad });
    let response = app
        .graphql(
            Some(&token),
            queries::IMPORT_VISITS,
            json!({ "input": input }),
        )
        .await;
    assert_eq!(
        response.code(),
        Some("BAD_USER_INPUT"),
        "the import is refused"
    );
    assert_eq!(
        stored(&app.db).await,
        before,
        "a refused import leaves the tallies"
    );

    // A correction moving the first visit to another month, channel and topic set.
    let moved_to = today - Duration::days(100);
    let input = json!({
        "id": first, "visitedOn": moved_to.to_string(), "channel": "GROUP_EVENT",
        "attendeeCount": 5, "topics": ["HOUSING"],
    });
    let response = app
        .graphql(
            Some(&token),
            queries::CORRECT_VISIT,
            json!({ "input": input }),
        )
        .await;
    assert_eq!(response.data()["correctVisit"]["id"], first.as_str());
    let (_, topics) = assert_tallies_match(&app.db, "a correction").await;
    assert!(
        topics
            .keys()
            .any(|k| k.4 == "Housing" && (k.1, k.2) == (moved_to.year(), moved_to.month())),
        "the moved visit counts in its new month: {topics:?}"
    );

    let response = app
        .graphql(Some(&token), queries::DELETE_VISIT, json!({ "id": first }))
        .await;
    assert_eq!(response.data()["deleteVisit"], first.as_str());
    let (months, _) = assert_tallies_match(&app.db, "a deletion").await;
    let visits: i64 = months.values().map(|(visits, _, _)| visits).sum();
    assert_eq!(visits, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_13_and_14_fill_the_tallies_and_key_sums_from_the_stored_visits() {
    let app = TestApp::spawn().await;
    bydel::demo::load(&app.db).await.expect("demo data");
    let loaded = assert_tallies_match(&app.db, "loading the demo").await;
    assert!(loaded.0.len() > 100, "the demo has visits in many months");

    // Migration 17 refuses to go down over hours of kind OTHER, which the demo has.
    entity::volunteer_hours::Entity::delete_many()
        .filter(entity::volunteer_hours::Column::Kind.eq(entity::enums::HoursKind::Other))
        .exec(&app.db)
        .await
        .expect("the demo's OTHER hours are deleted");
    // Every migration after the twelfth, so 13 and 14 run again on the stored visits
    // whatever later migrations exist.
    let after_twelve = u32::try_from(Migrator::migrations().len() - 12).expect("a count");
    Migrator::down(&app.db, Some(after_twelve))
        .await
        .expect("every migration after 12 goes down");
    Migrator::up(&app.db, None)
        .await
        .expect("migrations 13 and 14 go up");
    assert_eq!(
        assert_tallies_match(&app.db, "migrations 13 and 14").await,
        loaded,
        "filled from the stored visits, the tallies equal the loader's"
    );
}

/// The statistics read the tallies exactly when a request covers whole months: a tally
/// changed behind the server's back shows in a whole-month figure and nowhere else. (The
/// tampering is only a probe of which source a figure reads.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_months_are_counted_from_the_tallies_and_other_periods_from_the_visits() {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let mother = f.mother(&project, "Amina", &["ar"], |_| {}).await;
    for day in [4, 5, 20] {
        f.visit(
            &mother,
            date(2024, 3, day),
            VisitChannel::HomeVisit,
            &[VisitTopic::Health],
            |_| {},
        )
        .await;
    }
    let token = app.token("secretariat", "stats:read").await;
    let total = async |from: &str, to: &str, group_by: Value| {
        let vars = json!({"filter": {"from": from, "to": to}, "groupBy": group_by});
        let response = app.graphql(Some(&token), queries::STATS_VISITS, vars).await;
        response.data()["stats"]["visits"]["total"]["value"].clone()
    };
    let march = ("2024-03-01", "2024-03-31");
    assert_eq!(total(march.0, march.1, json!(["MONTH"])).await, json!(3.0));

    visit_month::Entity::update_many()
        .col_expr(
            visit_month::Column::Visits,
            Expr::col(visit_month::Column::Visits).add(100),
        )
        .exec(&app.db)
        .await
        .expect("tally probe");
    visit_topic_month::Entity::update_many()
        .col_expr(
            visit_topic_month::Column::Visits,
            Expr::col(visit_topic_month::Column::Visits).add(10),
        )
        .filter(visit_topic_month::Column::Topic.eq(VisitTopic::Health))
        .exec(&app.db)
        .await
        .expect("topic tally probe");

    assert_eq!(
        total(march.0, march.1, json!(["MONTH"])).await,
        json!(103.0),
        "whole months: tallies"
    );
    assert_eq!(
        total("2024-01-01", "2024-12-31", json!(["YEAR", "CHANNEL"])).await,
        json!(103.0)
    );
    let vars = json!({"filter": {"from": march.0, "to": march.1}, "groupBy": ["TOPIC"]});
    let response = app.graphql(Some(&token), queries::STATS_VISITS, vars).await;
    let cells = &response.data()["stats"]["visits"]["cells"];
    assert_eq!(cells[0]["topic"], "HEALTH");
    assert_eq!(
        cells[0]["value"],
        json!(13.0),
        "per topic: the topic tallies"
    );

    assert_eq!(
        total("2024-03-05", march.1, json!(["MONTH"])).await,
        json!(2.0),
        "part of a month: visits"
    );
    assert_eq!(
        total(march.0, "2024-03-30", json!([])).await,
        json!(3.0),
        "part of a month: visits"
    );
    assert_eq!(
        total(march.0, march.1, json!(["WEEK"])).await,
        json!(3.0),
        "weeks: visits"
    );
}
