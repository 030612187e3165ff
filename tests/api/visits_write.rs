//! Writing visits over GraphQL, as a project's front end and the secretariat's scripts do:
//! record, correct, delete within the grace period, and the all-or-nothing bulk import; and
//! every way of being refused, with nothing written.

use bydel::ids::Kind;
use chrono::{Duration, Utc};
use entity::{
    audit_event,
    enums::{PartnerRole, ReferralStatus, VisitChannel, VisitTopic},
    mother, organisation, participant, project, visit, visit_topic,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};

use crate::{
    harness::{GqlResponse, TestApp, fixtures::date},
    queries,
    tokens::{gid, string},
};

/// Writes visits, and reads back what hangs off them.
const WRITER: &str = "visits:write projects:read mothers:read participants:read";

/// A project operated by `ngo-red-cross` in København with a partner NGO, a mother and a
/// participant, and a second project (Randers, same operator) with its own mother and
/// participant: the "foreign" references.
struct World {
    app: TestApp,
    project: project::Model,
    mother: mother::Model,
    participant: participant::Model,
    other_mother: mother::Model,
    other_participant: participant::Model,
    ngo: organisation::Model,
    copenhagen: organisation::Model,
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
    let mother = f.mother(&project, "Amina", &["ar"], |_| {}).await;
    let other_mother = f.mother(&other, "Leyla", &["tr"], |_| {}).await;
    let participant = f
        .participant("NB-0001", Some(&project), &base.ngo, &[], |_| {})
        .await;
    let other_participant = f
        .participant("RØ-0001", Some(&other), &base.ngo, &[], |_| {})
        .await;
    World {
        project,
        mother,
        participant,
        other_mother,
        other_participant,
        ngo: base.ngo,
        copenhagen: base.copenhagen,
        app,
    }
}

impl World {
    fn project_id(&self) -> String {
        gid(Kind::Project, self.project.id)
    }

    /// A valid home visit yesterday by the project's mother.
    fn row(&self) -> Value {
        let yesterday = (Utc::now() - Duration::days(1)).date_naive();
        json!({
            "motherId": gid(Kind::Mother, self.mother.id),
            "channel": "HOME_VISIT",
            "visitedOn": yesterday.to_string(),
            "durationMinutes": 90,
            "topics": ["CHILDREN", "HEALTH"],
            "contactOrigin": "MOTHER_NETWORK",
            "nextStep": "FOLLOW_UP_VISIT",
        })
    }

    /// `recordVisit` input: the valid row in the project with `changes` merged in (a `null`
    /// removes the field).
    fn input(&self, changes: Value) -> Value {
        let mut input = self.row();
        input["projectId"] = json!(self.project_id());
        merge(&mut input, changes);
        input
    }

    async fn record(&self, token: &str, input: Value) -> GqlResponse {
        self.app
            .graphql(
                Some(token),
                queries::RECORD_VISIT,
                json!({ "input": input }),
            )
            .await
    }

    async fn read(&self, token: &str, id: &str) -> Value {
        let response = self
            .app
            .graphql(Some(token), queries::VISIT_RECORD, json!({ "id": id }))
            .await;
        response.data()["visit"].clone()
    }

    /// Rows of visit, visit_topic, and audit events about visits.
    async fn written(&self) -> (u64, u64, u64) {
        let db = &self.app.db;
        (
            visit::Entity::find().count(db).await.expect("visits count"),
            visit_topic::Entity::find()
                .count(db)
                .await
                .expect("topics count"),
            // Changes only: reading her notes back is audited too (a `read`).
            audit_event::Entity::find()
                .filter(audit_event::Column::EntityType.eq("visit"))
                .filter(audit_event::Column::Action.ne(entity::enums::AuditAction::Read))
                .count(db)
                .await
                .expect("audit events count"),
        )
    }
}

pub fn merge(target: &mut Value, changes: Value) {
    if let (Some(target), Value::Object(changes)) = (target.as_object_mut(), changes) {
        for (key, value) in changes {
            if value.is_null() {
                target.remove(&key);
            } else {
                target.insert(key, value);
            }
        }
    }
}

#[track_caller]
/// The `field` of a validation error, after checking it is one and nothing came back; empty
/// for GraphQL's own input coercion errors (missing field, wrong enum or type).
pub fn bad_field(response: &GqlResponse) -> String {
    response.expect_error("BAD_USER_INPUT");
    assert!(
        response.body["data"].is_null()
            || response.body["data"]
                .as_object()
                .is_some_and(|d| d.values().all(Value::is_null)),
        "{:#}",
        response.body
    );
    response.errors()[0]["extensions"]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_is_recorded_corrected_and_deleted_and_read_back() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;

    let response = w
        .record(
            &token,
            w.input(json!({ "notes": "talked about the school" })),
        )
        .await;
    let id = string(&response.data()["recordVisit"]["id"]);
    let visit = w.read(&token, &id).await;
    assert_eq!(visit["channel"], "HOME_VISIT");
    assert_eq!(visit["durationMinutes"], 90);
    assert_eq!(visit["topics"], json!(["CHILDREN", "HEALTH"]));
    assert_eq!(visit["contactOrigin"], "MOTHER_NETWORK");
    assert_eq!(visit["nextStep"], "FOLLOW_UP_VISIT");
    assert_eq!(visit["notes"], "talked about the school");
    assert!(visit["participant"].is_null(), "anonymous by default");
    assert!(visit["attendeeCount"].is_null());
    assert_eq!(visit["project"]["id"], w.project_id());
    assert_eq!(w.written().await, (1, 2, 1));

    // A correction replaces the topics and can turn it into a group event with a participant.
    let participant = gid(Kind::Participant, w.participant.id);
    let input = json!({
        "id": id, "channel": "GROUP_EVENT", "attendeeCount": 12, "topics": ["HOUSING"],
        "participantId": participant, "notes": null,
    });
    let response = w
        .app
        .graphql(
            Some(&token),
            queries::CORRECT_VISIT,
            json!({ "input": input }),
        )
        .await;
    assert_eq!(response.data()["correctVisit"]["id"], id.as_str());
    let visit = w.read(&token, &id).await;
    assert_eq!(visit["channel"], "GROUP_EVENT");
    assert_eq!(visit["attendeeCount"], 12);
    assert_eq!(visit["topics"], json!(["HOUSING"]));
    assert_eq!(visit["participant"]["id"], participant.as_str());
    assert!(visit["notes"].is_null(), "null clears the notes");
    assert_eq!(visit["durationMinutes"], 90, "fields left out stay");
    assert_eq!(w.written().await, (1, 1, 2));

    // Back to a home visit, the attendee count must go too.
    let input = json!({ "id": id, "channel": "HOME_VISIT" });
    let response = w
        .app
        .graphql(
            Some(&token),
            queries::CORRECT_VISIT,
            json!({ "input": input }),
        )
        .await;
    assert_eq!(bad_field(&response), "input.attendeeCount");

    let response = w
        .app
        .graphql(Some(&token), queries::DELETE_VISIT, json!({ "id": id }))
        .await;
    assert_eq!(response.data()["deleteVisit"], id.as_str());
    assert_eq!(w.written().await, (0, 0, 3));
    let response = w
        .app
        .graphql(Some(&token), queries::VISIT_RECORD, json!({ "id": id }))
        .await;
    assert!(response.data()["visit"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_is_refused_after_the_grace_period_and_once_a_referral_came_of_it() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let f = w.app.fixtures();
    let old = f
        .visit(
            &w.mother,
            date(2024, 5, 1),
            VisitChannel::HomeVisit,
            &[VisitTopic::Health],
            |_| {},
        )
        .await;
    let mut backdated: visit::ActiveModel = old.clone().into();
    backdated.created_at = Set(Utc::now() - Duration::days(8));
    backdated
        .update(&w.app.db)
        .await
        .expect("the visit can be backdated");
    let response = w
        .app
        .graphql(
            Some(&token),
            queries::DELETE_VISIT,
            json!({ "id": gid(Kind::Visit, old.id) }),
        )
        .await;
    let message = response.expect_error("INVALID_TRANSITION");
    assert!(message.contains("within 7 days"), "{message}");

    let fresh = f
        .visit(
            &w.mother,
            date(2024, 5, 2),
            VisitChannel::HomeVisit,
            &[VisitTopic::Health],
            |_| {},
        )
        .await;
    f.referral(
        &w.ngo,
        &w.copenhagen,
        &w.participant,
        ReferralStatus::Draft,
        |r| {
            r.visit_id = Set(Some(fresh.id));
        },
    )
    .await;
    let response = w
        .app
        .graphql(
            Some(&token),
            queries::DELETE_VISIT,
            json!({ "id": gid(Kind::Visit, fresh.id) }),
        )
        .await;
    response.expect_error("CONFLICT");
    assert_eq!(
        w.written().await,
        (2, 2, 0),
        "nothing deleted, nothing audited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_with_the_write_scope_writes() {
    let w = world().await;
    let input = w.input(json!({}));
    let f = w.app.fixtures();
    let existing = f
        .visit(
            &w.mother,
            date(2024, 5, 1),
            VisitChannel::HomeVisit,
            &[VisitTopic::Health],
            |_| {},
        )
        .await;
    let existing = gid(Kind::Visit, existing.id);
    let cases = [
        ("kommune-101", WRITER, "FORBIDDEN"),
        ("ngo-partner", WRITER, "FORBIDDEN"),
        ("ngo-stranger", WRITER, "NOT_FOUND"),
        ("kommune-730", WRITER, "NOT_FOUND"),
        ("ngo-red-cross", "visits:read", "FORBIDDEN"),
        ("ngo-red-cross", "mothers:write projects:write", "FORBIDDEN"),
    ];
    for (organisation, scopes, code) in cases {
        let token = w.app.token(organisation, scopes).await;
        let response = w.record(&token, input.clone()).await;
        assert_eq!(
            response.code(),
            Some(code),
            "record as {organisation} {scopes}: {:#}",
            response.body
        );
        let import = json!({ "projectId": w.project_id(), "visits": [w.row()] });
        let response = w
            .app
            .graphql(
                Some(&token),
                queries::IMPORT_VISITS,
                json!({ "input": import }),
            )
            .await;
        assert_eq!(
            response.code(),
            Some(code),
            "import as {organisation} {scopes}: {:#}",
            response.body
        );
        let correct = json!({ "id": existing, "durationMinutes": 5 });
        let response = w
            .app
            .graphql(
                Some(&token),
                queries::CORRECT_VISIT,
                json!({ "input": correct }),
            )
            .await;
        assert!(
            matches!(response.code(), Some("FORBIDDEN" | "NOT_FOUND")),
            "{:#}",
            response.body
        );
        let response = w
            .app
            .graphql(
                Some(&token),
                queries::DELETE_VISIT,
                json!({ "id": existing }),
            )
            .await;
        assert!(
            matches!(response.code(), Some("FORBIDDEN" | "NOT_FOUND")),
            "{:#}",
            response.body
        );
    }
    assert_eq!(w.written().await, (1, 1, 0), "nothing written");
    // The secretariat writes everywhere.
    let token = w.app.token("secretariat", WRITER).await;
    w.record(&token, input).await.data();
    assert_eq!(w.written().await, (2, 3, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_naming_the_field_and_writes_nothing() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive().to_string();
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "motherId": null }), ""),
        (json!({ "channel": "SEANCE" }), ""),
        (json!({ "durationMinutes": "long" }), ""),
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
        (
            json!({ "participantId": gid(Kind::Participant, w.other_participant.id) }),
            "input.participantId",
        ),
        (json!({ "visitedOn": tomorrow }), "input.visitedOn"),
        (json!({ "visitedOn": "2006-12-31" }), "input.visitedOn"),
        (json!({ "visitedOn": "yesterday" }), ""),
        (json!({ "durationMinutes": 0 }), "input.durationMinutes"),
        (json!({ "durationMinutes": 1441 }), "input.durationMinutes"),
        (json!({ "topics": [] }), "input.topics"),
        (json!({ "topics": ["HEALTH", "HEALTH"] }), "input.topics"),
        (json!({ "attendeeCount": 3 }), "input.attendeeCount"),
        (json!({ "channel": "GROUP_EVENT" }), "input.attendeeCount"),
        (
            json!({ "channel": "GROUP_EVENT", "attendeeCount": 0 }),
            "input.attendeeCount",
        ),
        (json!({ "notes": "x".repeat(4001) }), "input.notes"),
    ];
    for (changes, field) in cases {
        let response = w.record(&token, w.input(changes.clone())).await;
        let got = bad_field(&response);
        assert!(
            got.starts_with(field),
            "{changes}: expected {field}, got {got}: {:#}",
            response.body
        );
    }
    // Exactly 4000 characters is fine, and a group event with its count.
    w.record(&token, w.input(json!({ "notes": "é".repeat(4000) })))
        .await
        .data();
    w.record(
        &token,
        w.input(json!({ "channel": "GROUP_EVENT", "attendeeCount": 30 })),
    )
    .await
    .data();
    assert_eq!(w.written().await, (2, 4, 2), "only the two good visits");

    // Corrections are checked like new visits; the visit's own id must be a visit's.
    let visit = w
        .app
        .fixtures()
        .visit(
            &w.mother,
            date(2024, 5, 1),
            VisitChannel::HomeVisit,
            &[VisitTopic::Health],
            |_| {},
        )
        .await;
    let id = gid(Kind::Visit, visit.id);
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "id": gid(Kind::Mother, w.mother.id) }), "input.id"),
        (
            json!({ "id": id, "durationMinutes": 2000 }),
            "input.durationMinutes",
        ),
        (json!({ "id": id, "topics": [] }), "input.topics"),
        (
            json!({ "id": id, "motherId": gid(Kind::Mother, w.other_mother.id) }),
            "input.motherId",
        ),
        (
            json!({ "id": id, "notes": "x".repeat(4001) }),
            "input.notes",
        ),
        (json!({ "id": id, "nextStep": "PARTY" }), ""),
    ];
    for (input, field) in cases {
        let response = w
            .app
            .graphql(
                Some(&token),
                queries::CORRECT_VISIT,
                json!({ "input": input.clone() }),
            )
            .await;
        let got = bad_field(&response);
        assert!(
            got.starts_with(field),
            "{input}: expected {field}, got {got}"
        );
    }
    let response = w
        .app
        .graphql(
            Some(&token),
            queries::DELETE_VISIT,
            json!({ "id": w.project_id() }),
        )
        .await;
    assert_eq!(bad_field(&response), "id");
    assert_eq!(
        w.written().await,
        (3, 5, 2),
        "the corrections and the delete wrote nothing"
    );
    let unchanged = w.read(&token, &id).await;
    assert_eq!(unchanged["durationMinutes"], 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_with_bad_rows_reports_every_one_and_writes_nothing() {
    let w = world().await;
    let token = w.app.token("secretariat", WRITER).await;
    let mut rows: Vec<Value> = (0..6).map(|_| w.row()).collect();
    merge(&mut rows[1], json!({ "durationMinutes": 0 }));
    merge(
        &mut rows[3],
        json!({ "motherId": gid(Kind::Mother, w.other_mother.id) }),
    );
    merge(
        &mut rows[4],
        json!({ "motherId": "nonsense", "topics": [] }),
    );
    let input = json!({ "projectId": w.project_id(), "visits": rows });
    let response = w
        .app
        .graphql(
            Some(&token),
            queries::IMPORT_VISITS,
            json!({ "input": input }),
        )
        .await;
    response.expect_error("BAD_USER_INPUT");
    let reported: Vec<(u64, String)> = response.errors()[0]["extensions"]["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {:#}", response.body))
        .iter()
        .map(|r| (r["index"].as_u64().unwrap_or(99), string(&r["field"])))
        .collect();
    assert_eq!(
        reported,
        [
            (1, "input.visits[1].durationMinutes".to_owned()),
            (3, "input.visits[3].motherId".to_owned()),
            (4, "input.visits[4].motherId".to_owned()),
        ],
        "{:#}",
        response.body
    );
    assert_eq!(w.written().await, (0, 0, 0));

    // Too many rows, and none at all.
    for count in [0, 1001] {
        let rows: Vec<Value> = (0..count).map(|_| w.row()).collect();
        let input = json!({ "projectId": w.project_id(), "visits": rows });
        let response = w
            .app
            .graphql(
                Some(&token),
                queries::IMPORT_VISITS,
                json!({ "input": input }),
            )
            .await;
        assert_eq!(bad_field(&response), "input.visits");
    }
    assert_eq!(w.written().await, (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_import_writes_every_row_in_chunks() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let rows: Vec<Value> = (0..1000).map(|_| w.row()).collect();
    let input = json!({ "projectId": w.project_id(), "visits": rows });
    let response = w
        .app
        .graphql(
            Some(&token),
            queries::IMPORT_VISITS,
            json!({ "input": input }),
        )
        .await;
    let imported = &response.data()["importVisits"];
    assert_eq!(imported["count"], 1000);
    let ids = imported["visitIds"].as_array().expect("ids");
    assert_eq!(ids.len(), 1000);
    assert_eq!(w.written().await, (1000, 2000, 1000));
    let last = w.read(&token, &string(&ids[999])).await;
    assert_eq!(last["topics"], json!(["CHILDREN", "HEALTH"]));
    assert_eq!(
        last["mother"]["id"],
        gid(Kind::Mother, w.mother.id).as_str()
    );
}
