//! Volunteer hours over GraphQL: recorded, corrected, deleted and imported by the project's
//! operator, every way of being refused with nothing written; and `stats.volunteerHours` as a
//! funder reads it: the recorded entries plus every visit's duration (as ACTIVITY), each
//! minute once, exact for the secretariat and under disclosure control for everyone else.
//!
//! Expected figures are computed here from what the test wrote, independently of the server.

use bydel::{
    ids::{self, Kind, record_key},
    stats::perturbation::CellKeys,
};
use chrono::{Duration, Utc};
use entity::{
    audit_event,
    enums::{HoursKind, PartnerRole, VisitChannel, VisitTopic},
    mother, project, visit, volunteer_hours,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    harness::{GqlResponse, TestApp, fixtures::date},
    queries,
    tokens::{gid, string},
    visits_write::{bad_field, merge},
};

/// Writes hours, and reads back what hangs off them.
const WRITER: &str = "mothers:write mothers:read projects:read";
const STATS: &str = "stats:read";

/// Nørrebro (København, run by `ngo-red-cross`, with a partner NGO) with its mother Amina,
/// who left on 2025-06-30; Randers Øst (same operator) with Leyla, the foreign mother.
struct World {
    app: TestApp,
    project: project::Model,
    mother: mother::Model,
    other_mother: mother::Model,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let partner = f
        .organisation("ngo-partner", entity::enums::OrganisationKind::Ngo, None)
        .await;
    f.partner(&project, &partner, PartnerRole::Partner).await;
    f.organisation("ngo-stranger", entity::enums::OrganisationKind::Ngo, None)
        .await;
    let other = f.project("Randers Øst", 730, &base.ngo, |_| {}).await;
    let mother = f
        .mother(&project, "Amina", &["ar"], |m| {
            m.left_on = Set(Some(date(2025, 6, 30)));
        })
        .await;
    let other_mother = f.mother(&other, "Leyla", &["tr"], |_| {}).await;
    World {
        app,
        project,
        mother,
        other_mother,
    }
}

impl World {
    fn project_id(&self) -> String {
        gid(Kind::Project, self.project.id)
    }

    /// A valid entry: Amina's 90-minute meeting on 2025-05-14.
    fn row(&self) -> Value {
        json!({
            "motherId": gid(Kind::Mother, self.mother.id),
            "kind": "MEETING",
            "workedOn": "2025-05-14",
            "minutes": 90,
        })
    }

    fn input(&self, changes: Value) -> Value {
        let mut input = self.row();
        input["projectId"] = json!(self.project_id());
        merge(&mut input, changes);
        input
    }

    async fn send(&self, token: &str, document: &str, variables: Value) -> GqlResponse {
        self.app.graphql(Some(token), document, variables).await
    }

    async fn record(&self, token: &str, input: Value) -> GqlResponse {
        self.send(
            token,
            queries::RECORD_VOLUNTEER_HOURS,
            json!({ "input": input }),
        )
        .await
    }

    async fn read(&self, token: &str, id: &str) -> Value {
        let response = self
            .send(token, queries::VOLUNTEER_HOURS_RECORD, json!({ "id": id }))
            .await;
        response.data()["node"].clone()
    }

    /// Entries stored, and audit events about them.
    async fn written(&self) -> (u64, u64) {
        let db = &self.app.db;
        (
            volunteer_hours::Entity::find()
                .count(db)
                .await
                .expect("hours count"),
            audit_event::Entity::find()
                .filter(audit_event::Column::EntityType.eq("volunteer_hours"))
                .count(db)
                .await
                .expect("audit events count"),
        )
    }
}

/// An entry written straight into the table, as older data or another client left it.
async fn stored_entry(app: &TestApp, mother: &mother::Model, kind: HoursKind) -> Uuid {
    let now = Utc::now();
    let row = volunteer_hours::ActiveModel {
        id: Set(Uuid::now_v7()),
        project_id: Set(mother.project_id),
        mother_id: Set(Some(mother.id)),
        kind: Set(kind),
        worked_on: Set(date(2024, 5, 1)),
        minutes: Set(60),
        created_at: Set(now),
        updated_at: Set(now),
    };
    row.insert(&app.db).await.expect("an entry").id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hours_are_recorded_corrected_and_deleted_and_read_back() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;

    let response = w.record(&token, w.input(json!({}))).await;
    let id = string(&response.data()["recordVolunteerHours"]["id"]);
    let entry = w.read(&token, &id).await;
    assert_eq!(entry["kind"], "MEETING");
    assert_eq!(entry["workedOn"], "2025-05-14");
    assert_eq!(entry["minutes"], 90);
    assert_eq!(entry["project"]["id"], w.project_id());
    assert_eq!(entry["mother"]["id"], gid(Kind::Mother, w.mother.id));
    assert_eq!(w.written().await, (1, 1));

    // The audit event names the entry only: no mother, no minutes.
    let event = audit_event::Entity::find()
        .filter(audit_event::Column::EntityType.eq("volunteer_hours"))
        .one(&w.app.db)
        .await
        .expect("the event can be read")
        .expect("an event");
    let (_, uuid) = ids::decode(&id, "id").expect("an id");
    assert_eq!(event.entity_id, Some(uuid));
    assert_eq!((event.participant_id, event.detail), (None, None));

    // A correction changes only what it names; `motherId: null` makes them the group's.
    let input = json!({ "id": id, "kind": "OTHER", "minutes": 30, "motherId": null });
    let response = w
        .send(
            &token,
            queries::CORRECT_VOLUNTEER_HOURS,
            json!({ "input": input }),
        )
        .await;
    assert_eq!(response.data()["correctVolunteerHours"]["id"], id.as_str());
    let entry = w.read(&token, &id).await;
    assert_eq!(entry["kind"], "OTHER");
    assert_eq!(entry["minutes"], 30);
    assert!(entry["mother"].is_null(), "the group's hours");
    assert_eq!(entry["workedOn"], "2025-05-14", "fields left out stay");
    assert_eq!(w.written().await, (1, 2));

    let response = w
        .send(&token, queries::DELETE_VOLUNTEER_HOURS, json!({ "id": id }))
        .await;
    assert_eq!(response.data()["deleteVolunteerHours"], id.as_str());
    assert_eq!(w.written().await, (0, 3));
    assert!(w.read(&token, &id).await.is_null());

    // An import writes every row.
    let rows: Vec<Value> = (0..3).map(|_| w.row()).collect();
    let input = json!({ "projectId": w.project_id(), "hours": rows });
    let response = w
        .send(
            &token,
            queries::IMPORT_VOLUNTEER_HOURS,
            json!({ "input": input }),
        )
        .await;
    let imported = &response.data()["importVolunteerHours"];
    assert_eq!(imported["count"], 3);
    let last = w.read(&token, &string(&imported["ids"][2])).await;
    assert_eq!(last["minutes"], 90);
    assert_eq!(w.written().await, (3, 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_with_mothers_write_writes_hours() {
    let w = world().await;
    let existing = gid(
        Kind::VolunteerHours,
        stored_entry(&w.app, &w.mother, HoursKind::Training).await,
    );
    let cases = [
        ("kommune-101", WRITER, "FORBIDDEN"),
        ("ngo-partner", WRITER, "FORBIDDEN"),
        ("ngo-stranger", WRITER, "NOT_FOUND"),
        ("kommune-730", WRITER, "NOT_FOUND"),
        ("ngo-red-cross", "mothers:read", "FORBIDDEN"),
        ("ngo-red-cross", "visits:write projects:write", "FORBIDDEN"),
    ];
    for (organisation, scopes, code) in cases {
        let token = w.app.token(organisation, scopes).await;
        let response = w.record(&token, w.input(json!({}))).await;
        assert_eq!(
            response.code(),
            Some(code),
            "record as {organisation} {scopes}: {:#}",
            response.body
        );
        let import = json!({ "projectId": w.project_id(), "hours": [w.row()] });
        let response = w
            .send(
                &token,
                queries::IMPORT_VOLUNTEER_HOURS,
                json!({ "input": import }),
            )
            .await;
        assert_eq!(
            response.code(),
            Some(code),
            "import as {organisation} {scopes}: {:#}",
            response.body
        );
        let correct = json!({ "id": existing, "minutes": 5 });
        let response = w
            .send(
                &token,
                queries::CORRECT_VOLUNTEER_HOURS,
                json!({ "input": correct }),
            )
            .await;
        assert!(
            matches!(response.code(), Some("FORBIDDEN" | "NOT_FOUND")),
            "correct as {organisation} {scopes}: {:#}",
            response.body
        );
        let response = w
            .send(
                &token,
                queries::DELETE_VOLUNTEER_HOURS,
                json!({ "id": existing }),
            )
            .await;
        assert!(
            matches!(response.code(), Some("FORBIDDEN" | "NOT_FOUND")),
            "delete as {organisation} {scopes}: {:#}",
            response.body
        );
    }
    // The stranger does not learn the entry exists: the same answer as for a missing one.
    let stranger = w.app.token("ngo-stranger", WRITER).await;
    let missing = gid(Kind::VolunteerHours, Uuid::now_v7());
    for id in [&existing, &missing] {
        let response = w
            .send(
                &stranger,
                queries::DELETE_VOLUNTEER_HOURS,
                json!({ "id": id }),
            )
            .await;
        assert_eq!(response.code(), Some("NOT_FOUND"), "{:#}", response.body);
    }
    assert_eq!(w.written().await, (1, 0), "nothing written");
    let unchanged = volunteer_hours::Entity::find()
        .one(&w.app.db)
        .await
        .expect("read")
        .expect("the entry");
    assert_eq!(unchanged.minutes, 60);

    // The secretariat writes everywhere.
    let token = w.app.token("secretariat", WRITER).await;
    w.record(&token, w.input(json!({}))).await.data();
    assert_eq!(w.written().await, (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_hours_are_refused_naming_the_field_and_write_nothing() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive().to_string();
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "kind": null }), ""),
        (json!({ "kind": "NAP" }), ""),
        (json!({ "minutes": "long" }), ""),
        (
            json!({ "projectId": gid(Kind::Mother, w.mother.id) }),
            "input.projectId",
        ),
        (json!({ "projectId": "garbage" }), "input.projectId"),
        (
            json!({ "motherId": gid(Kind::Project, w.project.id) }),
            "input.motherId",
        ),
        (
            json!({ "motherId": gid(Kind::Mother, w.other_mother.id) }),
            "input.motherId",
        ),
        (json!({ "workedOn": tomorrow }), "input.workedOn"),
        (json!({ "workedOn": "2006-12-31" }), "input.workedOn"),
        // Amina joined on 2011-03-01 and left on 2025-06-30.
        (json!({ "workedOn": "2011-02-28" }), "input.workedOn"),
        (json!({ "workedOn": "2025-07-01" }), "input.workedOn"),
        (json!({ "minutes": 0 }), "input.minutes"),
        (json!({ "minutes": 1441 }), "input.minutes"),
    ];
    for (changes, field) in cases {
        let response = w.record(&token, w.input(changes.clone())).await;
        let got = bad_field(&response);
        assert!(
            got == field || (field.is_empty() && got.is_empty()),
            "{changes}: expected {field:?}, got {got:?}: {:#}",
            response.body
        );
    }
    assert_eq!(w.written().await, (0, 0));
    // The edges are fine: one day of minutes, her last day, the group's hours after it.
    for good in [
        json!({ "minutes": 1440, "kind": "OTHER" }),
        json!({ "workedOn": "2025-06-30", "kind": "ACTIVITY" }),
        json!({ "workedOn": "2025-07-01", "motherId": null }),
    ] {
        w.record(&token, w.input(good)).await.data();
    }
    assert_eq!(w.written().await, (3, 3));

    // Corrections are checked like new entries; the id must be an entry's.
    let existing = stored_entry(&w.app, &w.mother, HoursKind::Meeting).await;
    let id = gid(Kind::VolunteerHours, existing);
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "id": gid(Kind::Visit, existing) }), "input.id"),
        (json!({ "id": id, "minutes": 2000 }), "input.minutes"),
        (json!({ "id": id, "workedOn": tomorrow }), "input.workedOn"),
        (
            json!({ "id": id, "motherId": gid(Kind::Mother, w.other_mother.id) }),
            "input.motherId",
        ),
        (json!({ "id": id, "kind": "PARTY" }), ""),
    ];
    for (input, field) in cases {
        let response = w
            .send(
                &token,
                queries::CORRECT_VOLUNTEER_HOURS,
                json!({ "input": input.clone() }),
            )
            .await;
        let got = bad_field(&response);
        assert_eq!(got, field, "{input}: {:#}", response.body);
    }
    let response = w
        .send(
            &token,
            queries::DELETE_VOLUNTEER_HOURS,
            json!({ "id": w.project_id() }),
        )
        .await;
    assert_eq!(bad_field(&response), "id");
    assert_eq!(w.written().await, (4, 3), "the refusals wrote nothing");

    // An import reports every bad row and writes none; too many or no rows is refused.
    let mut rows: Vec<Value> = (0..4).map(|_| w.row()).collect();
    merge(&mut rows[1], json!({ "minutes": 0 }));
    merge(
        &mut rows[2],
        json!({ "motherId": gid(Kind::Mother, w.other_mother.id) }),
    );
    merge(&mut rows[3], json!({ "motherId": "nonsense" }));
    let input = json!({ "projectId": w.project_id(), "hours": rows });
    let response = w
        .send(
            &token,
            queries::IMPORT_VOLUNTEER_HOURS,
            json!({ "input": input }),
        )
        .await;
    response.expect_error("BAD_USER_INPUT");
    let reported: Vec<String> = response.errors()[0]["extensions"]["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {:#}", response.body))
        .iter()
        .map(|r| string(&r["field"]))
        .collect();
    assert_eq!(
        reported,
        [
            "input.hours[1].minutes",
            "input.hours[2].motherId",
            "input.hours[3].motherId"
        ]
    );
    for count in [0, 1001] {
        let rows: Vec<Value> = (0..count).map(|_| w.row()).collect();
        let input = json!({ "projectId": w.project_id(), "hours": rows });
        let response = w
            .send(
                &token,
                queries::IMPORT_VOLUNTEER_HOURS,
                json!({ "input": input }),
            )
            .await;
        assert_eq!(bad_field(&response), "input.hours");
    }
    assert_eq!(w.written().await, (4, 3));
}

/// Six mothers in Nørrebro (København), two in Vesterbro (København), all operated by the
/// NGO; visits and recorded entries in March 2024, and some in April that March must not
/// count.
struct Funded {
    app: TestApp,
    norrebro: project::Model,
    vesterbro: project::Model,
}

/// Minutes and record keys of what a figure counts, by kind.
#[derive(Default, Debug)]
struct Expected {
    minutes: std::collections::BTreeMap<&'static str, i64>,
    key_sum: i64,
    mothers: std::collections::BTreeSet<Uuid>,
}

impl Expected {
    fn add(&mut self, kind: &'static str, mother: Option<Uuid>, minutes: i64, id: Uuid) {
        *self.minutes.entry(kind).or_default() += minutes;
        self.key_sum += record_key(id);
        self.mothers.extend(mother);
    }

    fn hours(&self) -> f64 {
        self.minutes.values().sum::<i64>() as f64 / 60.0
    }
}

async fn funded() -> Funded {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let norrebro = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let vesterbro = f.project("Vesterbro", 101, &base.ngo, |_| {}).await;
    Funded {
        app,
        norrebro,
        vesterbro,
    }
}

impl Funded {
    /// `mothers` mothers in `project`, each with two visits and a meeting in March 2024 (and
    /// a visit in April), plus the group's OTHER entry and an ACTIVITY entry (a festival
    /// stand) recorded through the API. Returns what March counts.
    async fn fill(&self, project: &project::Model, mothers: usize) -> Expected {
        let f = self.app.fixtures();
        let token = self.app.token("ngo-red-cross", WRITER).await;
        let mut march = Expected::default();
        let project_id = gid(Kind::Project, project.id);
        let record = async |mother: Option<Uuid>, kind: &str, on: &str, minutes: i64| {
            let input = json!({
                "projectId": project_id, "kind": kind, "workedOn": on, "minutes": minutes,
                "motherId": mother.map(|m| gid(Kind::Mother, m)),
            });
            let response = self
                .app
                .graphql(
                    Some(&token),
                    queries::RECORD_VOLUNTEER_HOURS,
                    json!({ "input": input }),
                )
                .await;
            let id = string(&response.data()["recordVolunteerHours"]["id"]);
            ids::decode_as(&id, Kind::VolunteerHours, "id").expect("an entry's id")
        };
        for i in 0..mothers {
            let her = f
                .mother(project, &format!("Mor {i}"), &["ar"], |_| {})
                .await;
            for (day, minutes) in [(4, 45 + 15 * i as i32), (20, 120)] {
                let v = f
                    .visit(
                        &her,
                        date(2024, 3, day),
                        VisitChannel::HomeVisit,
                        &[VisitTopic::Health],
                        |v: &mut visit::ActiveModel| v.duration_minutes = Set(minutes),
                    )
                    .await;
                march.add("ACTIVITY", Some(her.id), i64::from(minutes), v.id);
            }
            f.visit(
                &her,
                date(2024, 4, 2),
                VisitChannel::PhoneCall,
                &[VisitTopic::Health],
                |_| {},
            )
            .await;
            let id = record(Some(her.id), "MEETING", "2024-03-12", 90).await;
            march.add("MEETING", Some(her.id), 90, id);
            record(Some(her.id), "TRAINING", "2024-04-09", 180).await;
        }
        let id = record(None, "OTHER", "2024-03-15", 60).await;
        march.add("OTHER", None, 60, id);
        let id = record(None, "ACTIVITY", "2024-03-23", 240).await;
        march.add("ACTIVITY", None, 240, id);
        march
    }
}

async fn hours_of(
    app: &TestApp,
    organisation: &str,
    project: &project::Model,
    by_kind: bool,
) -> Value {
    let token = app.token(organisation, STATS).await;
    let filter = json!({
        "from": "2024-03-01", "to": "2024-03-31",
        "projectIds": [gid(Kind::Project, project.id)],
    });
    let group_by = if by_kind { json!(["KIND"]) } else { json!([]) };
    let response = app
        .graphql(
            Some(&token),
            queries::STATS_HOURS,
            json!({ "filter": filter, "groupBy": group_by }),
        )
        .await;
    response.data()["stats"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volunteer_hours_are_the_recorded_entries_plus_the_visits_once() {
    let w = funded().await;
    let march = w.fill(&w.norrebro, 6).await;
    let small = w.fill(&w.vesterbro, 2).await;

    // The secretariat: exact, and by kind the visits are ACTIVITY with the festival stand.
    let exact = hours_of(&w.app, "secretariat", &w.norrebro, true).await;
    assert_eq!(exact["perturbed"], json!(false));
    let total = exact["volunteerHours"]["total"]["value"]
        .as_f64()
        .expect("exact");
    assert!((total - march.hours()).abs() < 1e-9, "{total} != {march:?}");
    let visit_minutes: i64 = (0..6).map(|i| 45 + 15 * i + 120).sum();
    let by_kind: Vec<(String, f64)> = exact["volunteerHours"]["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| (string(&c["kind"]), c["value"].as_f64().expect("exact")))
        .collect();
    let minutes = |kind: &str| march.minutes[kind] as f64 / 60.0;
    assert_eq!(
        by_kind,
        [
            ("ACTIVITY".to_owned(), minutes("ACTIVITY")),
            ("MEETING".to_owned(), minutes("MEETING")),
            ("OTHER".to_owned(), minutes("OTHER")),
        ]
    );
    assert_eq!(
        march.minutes["ACTIVITY"],
        visit_minutes + 240,
        "the visits' minutes once, plus the one recorded activity"
    );
    assert_eq!(exact["visits"]["total"]["value"], json!(12.0));

    // The municipality: the same figure under cell-key noise derived from the keys of the
    // visits *and* the entries it counts, its hours moved as much as its mothers' count.
    let published = hours_of(&w.app, "kommune-101", &w.norrebro, false).await;
    assert_eq!(published["perturbed"], json!(true));
    let keys = CellKeys::load(&w.app.db).await.expect("the cell keys");
    let count = march.mothers.len() as u64;
    assert_eq!(count, 6);
    let noisy = keys.perturb("volunteerHours", count, march.key_sum);
    let expected = (march.hours() * noisy as f64 / count as f64 * 10.0).round() / 10.0;
    let value = published["volunteerHours"]["total"]["value"].as_f64();
    assert_eq!(value, Some(expected), "{published:#}");
    assert!((expected - march.hours()).abs() <= march.hours() * 2.0 / 6.0 + 0.05);

    // Two mothers are too few outside the secretariat, whatever the minutes.
    let hidden = hours_of(&w.app, "ngo-red-cross", &w.vesterbro, false).await;
    assert_eq!(
        hidden["volunteerHours"]["total"],
        json!({ "value": null, "suppressed": true })
    );
    let shown = hours_of(&w.app, "secretariat", &w.vesterbro, false).await;
    let value = shown["volunteerHours"]["total"]["value"].as_f64();
    assert!((value.expect("exact") - small.hours()).abs() < 1e-9);

    // Deleting an entry takes exactly its minutes out; the visits stay.
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let meeting = volunteer_hours::Entity::find()
        .filter(volunteer_hours::Column::ProjectId.eq(w.norrebro.id))
        .filter(volunteer_hours::Column::Kind.eq(HoursKind::Meeting))
        .one(&w.app.db)
        .await
        .expect("read")
        .expect("a meeting");
    w.app
        .graphql(
            Some(&token),
            queries::DELETE_VOLUNTEER_HOURS,
            json!({ "id": gid(Kind::VolunteerHours, meeting.id) }),
        )
        .await
        .data();
    let after = hours_of(&w.app, "secretariat", &w.norrebro, false).await;
    let value = after["volunteerHours"]["total"]["value"].as_f64();
    assert!((value.expect("exact") - (march.hours() - 1.5)).abs() < 1e-9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_counts_its_visits_once_as_activity_hours() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let token = app.token("secretariat", STATS).await;
    let may = json!({ "from": "2012-05-01", "to": "2012-05-31" });
    let response = app
        .graphql(
            Some(&token),
            queries::STATS_HOURS,
            json!({ "filter": may, "groupBy": ["KIND"] }),
        )
        .await;
    let stats = &response.data()["stats"];
    let minutes_of = |value: &Value| (value.as_f64().expect("exact") * 60.0).round() as i64;
    let in_may = |v: &volunteer_hours::Model| v.worked_on.format("%Y-%m").to_string() == "2012-05";
    let entries: Vec<volunteer_hours::Model> = volunteer_hours::Entity::find()
        .all(&app.db)
        .await
        .expect("hours")
        .into_iter()
        .filter(in_may)
        .collect();
    let visit_minutes: i64 = visit::Entity::find()
        .filter(visit::Column::VisitedOn.between(date(2012, 5, 1), date(2012, 5, 31)))
        .all(&app.db)
        .await
        .expect("visits")
        .iter()
        .map(|v| i64::from(v.duration_minutes))
        .sum();
    let recorded = |kind: Option<HoursKind>| -> i64 {
        entries
            .iter()
            .filter(|e| kind.is_none_or(|k| e.kind == k))
            .map(|e| i64::from(e.minutes))
            .sum()
    };
    // The published demo: 265 visits of 377 h 40 min in May 2012, and 70 h of entries.
    assert_eq!(stats["visits"]["total"]["value"], json!(265.0));
    assert_eq!((visit_minutes, recorded(None)), (22_660, 4_200));
    let total = minutes_of(&stats["volunteerHours"]["total"]["value"]);
    assert_eq!(total, visit_minutes + recorded(None), "each minute once");
    let cells = stats["volunteerHours"]["cells"].as_array().expect("cells");
    let activity = cells
        .iter()
        .find(|c| c["kind"] == "ACTIVITY")
        .expect("activity");
    assert_eq!(
        minutes_of(&activity["value"]),
        visit_minutes + recorded(Some(HoursKind::Activity)),
        "the visits are activity, with the group's own activity no visit records"
    );
    assert!(
        entries
            .iter()
            .all(|e| e.kind != HoursKind::Activity || e.mother_id.is_none()),
        "no mother's visit is also an ACTIVITY entry"
    );
}
