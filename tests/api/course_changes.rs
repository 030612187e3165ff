//! Changing a course (`updateCourse`: name, end date) and withdrawing a mother from one
//! (`withdrawEnrolment`): what each party may do, bad input naming the field, the
//! transitions a withdrawal allows, what it leaves alone (her status, her attendance, the
//! figures), and nothing written on any refusal.

use bydel::ids::Kind;
use entity::{
    audit_event, course, enrolment,
    enums::{AuditAction, EnrolmentStatus, MotherStatus, OrganisationKind, PartnerRole},
    mother, project,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    harness::{GqlResponse, TestApp},
    queries,
    tokens::{gid, string},
    visits_write::bad_field,
};

const WRITER: &str = "courses:write mothers:read projects:read";

struct World {
    app: TestApp,
    project: project::Model,
    trainee: mother::Model,
    second: mother::Model,
}

/// A project in København run by the Red Cross, with a partner, a funder, a stranger NGO and
/// two mothers in training.
async fn world() -> World {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let partner = f
        .organisation("ngo-partner", OrganisationKind::Ngo, None)
        .await;
    f.partner(&project, &partner, PartnerRole::Partner).await;
    let funder = f
        .organisation("ngo-funder", OrganisationKind::Ngo, None)
        .await;
    f.partner(&project, &funder, PartnerRole::Funder).await;
    f.organisation("ngo-stranger", OrganisationKind::Ngo, None)
        .await;
    let in_training = |m: &mut mother::ActiveModel| {
        m.status = sea_orm::ActiveValue::Set(MotherStatus::InTraining);
    };
    let trainee = f.mother(&project, "Amina", &["ar"], in_training).await;
    let second = f.mother(&project, "Hodan", &["so"], in_training).await;
    World {
        app,
        project,
        trainee,
        second,
    }
}

impl World {
    async fn send(&self, token: &str, query: &str, input: Value) -> GqlResponse {
        self.app
            .graphql(Some(token), query, json!({ "input": input }))
            .await
    }

    async fn course(&self, token: &str) -> String {
        let input = json!({
            "projectId": gid(Kind::Project, self.project.id),
            "name": "Basic course spring 2024",
            "kind": "BASIC",
            "moduleCount": 15,
            "startsOn": "2024-02-01",
        });
        let response = self.send(token, queries::CREATE_COURSE, input).await;
        string(&response.data()["createCourse"]["id"])
    }

    async fn enrol(&self, token: &str, course: &str, mother: &mother::Model) -> String {
        let input = json!({ "courseId": course, "motherId": gid(Kind::Mother, mother.id) });
        let response = self.send(token, queries::ENROL_MOTHER, input).await;
        string(&response.data()["enrolMother"]["id"])
    }

    async fn withdraw(&self, token: &str, enrolment: &str) -> GqlResponse {
        let input = json!({ "enrolmentId": enrolment });
        self.send(token, queries::WITHDRAW_ENROLMENT, input).await
    }

    /// The courses and enrolments as stored, and every audit event about them.
    async fn written(&self) -> (Vec<course::Model>, Vec<enrolment::Model>, Vec<String>) {
        let db = &self.app.db;
        let events = audit_event::Entity::find()
            .filter(audit_event::Column::EntityType.is_in(["course", "enrolment", "mother"]))
            .order_by_asc(audit_event::Column::OccurredAt)
            .all(db)
            .await
            .expect("events")
            .into_iter()
            .map(|e| format!("{:?} {} {:?}", e.action, e.entity_type, e.detail))
            .collect();
        (
            course::Entity::find().all(db).await.expect("courses"),
            enrolment::Entity::find().all(db).await.expect("enrolments"),
            events,
        )
    }

    async fn last_event(&self, entity: Uuid) -> audit_event::Model {
        audit_event::Entity::find()
            .filter(audit_event::Column::EntityId.eq(entity))
            .order_by_desc(audit_event::Column::OccurredAt)
            .one(&self.app.db)
            .await
            .expect("events")
            .expect("an event")
    }
}

fn uuid_of(id: &str) -> Uuid {
    bydel::ids::decode(id, "id").expect("an id").1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_course_is_renamed_and_given_an_end_date_naming_what_changed() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let course = w.course(&token).await;
    let id = uuid_of(&course);

    let input = json!({ "id": course, "name": "Grundkursus forår 2024", "endsOn": "2024-06-30" });
    let response = w.send(&token, queries::UPDATE_COURSE, input.clone()).await;
    let updated = &response.data()["updateCourse"];
    assert_eq!(updated["name"], "Grundkursus forår 2024");
    assert_eq!(updated["endsOn"], "2024-06-30");
    assert_eq!(updated["startsOn"], "2024-02-01");
    let event = w.last_event(id).await;
    assert_eq!(event.action, AuditAction::Update);
    assert_eq!(event.detail.as_deref(), Some("name, endsOn"));

    // The same values again change nothing and write nothing (a retried script is safe).
    let before = w.written().await;
    let again = w.send(&token, queries::UPDATE_COURSE, input).await;
    assert_eq!(
        again.data()["updateCourse"]["updatedAt"],
        updated["updatedAt"]
    );
    assert_eq!(
        w.written().await,
        before,
        "an unchanged course is not written"
    );

    // Only the field given changes; `null` clears the end date.
    let input = json!({ "id": course, "endsOn": null });
    let response = w.send(&token, queries::UPDATE_COURSE, input).await;
    let cleared = &response.data()["updateCourse"];
    assert!(cleared["endsOn"].is_null(), "{cleared}");
    assert_eq!(cleared["name"], "Grundkursus forår 2024");
    assert_eq!(w.last_event(id).await.detail.as_deref(), Some("endsOn"));

    // The secretariat changes any project's course.
    let secretariat = w.app.token("secretariat", WRITER).await;
    let input = json!({ "id": course, "name": "Basic course, spring" });
    let response = w.send(&secretariat, queries::UPDATE_COURSE, input).await;
    assert_eq!(
        response.data()["updateCourse"]["name"],
        "Basic course, spring"
    );
    assert_eq!(w.last_event(id).await.detail.as_deref(), Some("name"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_course_changes_are_refused_naming_the_field() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let course = w.course(&token).await;
    let enrolment = w.enrol(&token, &course, &w.trainee).await;
    let before = w.written().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "id": course, "name": " " }), "input.name"),
        (
            json!({ "id": course, "name": "x".repeat(201) }),
            "input.name",
        ),
        (
            json!({ "id": course, "endsOn": "2024-01-31" }),
            "input.endsOn",
        ),
        (json!({ "id": course, "endsOn": "30/06/2024" }), ""),
        (json!({ "id": course, "name": 7 }), ""),
        (json!({ "id": enrolment, "name": "A" }), "input.id"),
        (json!({ "id": "not-an-id", "name": "A" }), "input.id"),
        (json!({ "name": "A" }), ""),
    ];
    for (input, field) in cases {
        let response = w.send(&token, queries::UPDATE_COURSE, input.clone()).await;
        let got = bad_field(&response);
        assert!(
            got.starts_with(field),
            "{input}: expected {field}, got {got}"
        );
    }
    let response = w.withdraw(&token, &course).await;
    assert_eq!(bad_field(&response), "input.enrolmentId");
    // An id of the right type that names nothing.
    let unknown = gid(Kind::Course, Uuid::now_v7());
    let input = json!({ "id": unknown, "name": "A" });
    w.send(&token, queries::UPDATE_COURSE, input)
        .await
        .expect_error("NOT_FOUND");
    let unknown = gid(Kind::Enrolment, Uuid::now_v7());
    w.withdraw(&token, &unknown).await.expect_error("NOT_FOUND");
    assert_eq!(w.written().await, before, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_or_the_secretariat_changes_a_course_or_withdraws() {
    let w = world().await;
    let owner = w.app.token("ngo-red-cross", WRITER).await;
    let course = w.course(&owner).await;
    let enrolment = w.enrol(&owner, &course, &w.trainee).await;
    let before = w.written().await;
    // Who sees the course but does not operate the project is FORBIDDEN; who does not see
    // it (a funder gets figures, not courses; a stranger nothing) does not learn it exists.
    let cases = [
        ("kommune-101", WRITER, "FORBIDDEN"),
        ("ngo-partner", WRITER, "FORBIDDEN"),
        ("ngo-funder", WRITER, "NOT_FOUND"),
        ("ngo-stranger", WRITER, "NOT_FOUND"),
        ("kommune-730", WRITER, "NOT_FOUND"),
        ("ngo-red-cross", "courses:read mothers:read", "FORBIDDEN"),
        ("secretariat", "courses:read", "FORBIDDEN"),
    ];
    for (organisation, scopes, code) in cases {
        let token = w.app.token(organisation, scopes).await;
        let input = json!({ "id": course, "name": "Taken over", "endsOn": "2024-06-30" });
        let response = w.send(&token, queries::UPDATE_COURSE, input).await;
        assert_eq!(
            response.code(),
            Some(code),
            "updateCourse by {organisation} {scopes}: {:#}",
            response.body
        );
        assert!(
            response.body["data"]["updateCourse"].is_null(),
            "{:#}",
            response.body
        );
        let response = w.withdraw(&token, &enrolment).await;
        assert_eq!(
            response.code(),
            Some(code),
            "withdrawEnrolment by {organisation} {scopes}: {:#}",
            response.body
        );
    }
    assert_eq!(w.written().await, before, "nothing written");

    let secretariat = w.app.token("secretariat", WRITER).await;
    let response = w.withdraw(&secretariat, &enrolment).await;
    assert_eq!(response.data()["withdrawEnrolment"]["status"], "WITHDRAWN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_ends_an_enrolment_and_leaves_her_status_and_the_figures_alone() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let course = w.course(&token).await;
    let enrolment = w.enrol(&token, &course, &w.trainee).await;
    let completed = w.enrol(&token, &course, &w.second).await;
    for (id, modules) in [(&enrolment, 1..=3), (&completed, 1..=15)] {
        for module in modules {
            let input = json!({
                "enrolmentId": id, "moduleNumber": module, "attendedOn": "2024-03-01",
            });
            w.send(&token, queries::RECORD_ATTENDANCE, input)
                .await
                .data();
        }
    }
    let input = json!({ "enrolmentId": completed, "certifiedOn": "2024-08-01" });
    w.send(&token, queries::CERTIFY, input).await.data();

    let started = chrono::Utc::now();
    let response = w.withdraw(&token, &enrolment).await;
    let withdrawn = &response.data()["withdrawEnrolment"];
    assert_eq!(withdrawn["status"], "WITHDRAWN");
    let at: chrono::DateTime<chrono::Utc> = string(&withdrawn["withdrawnAt"])
        .parse()
        .expect("a timestamp");
    assert!(
        at >= started - chrono::Duration::seconds(1),
        "{at} {started}"
    );
    assert_eq!(
        withdrawn["attendedModules"],
        json!([1, 2, 3]),
        "attendance stays"
    );
    assert_eq!(
        withdrawn["mother"]["status"], "IN_TRAINING",
        "a withdrawal leaves her status to changeMotherStatus"
    );
    let event = w.last_event(uuid_of(&enrolment)).await;
    assert_eq!(event.action, AuditAction::Transition);
    assert_eq!(event.detail.as_deref(), Some("Enrolled -> Withdrawn"));
    let stored = enrolment::Entity::find_by_id(uuid_of(&enrolment))
        .one(&w.app.db)
        .await
        .expect("read")
        .expect("the enrolment");
    assert_eq!(stored.status, EnrolmentStatus::Withdrawn);

    // Final: no second withdrawal, no attendance, no diploma; a completed one is never
    // withdrawn. Nothing is written by any of these.
    let before = w.written().await;
    let message = w
        .withdraw(&token, &enrolment)
        .await
        .expect_error("INVALID_TRANSITION")
        .to_owned();
    assert!(message.contains("Withdrawn"), "{message}");
    let message = w
        .withdraw(&token, &completed)
        .await
        .expect_error("INVALID_TRANSITION")
        .to_owned();
    assert!(message.contains("Completed"), "{message}");
    let input = json!({ "enrolmentId": enrolment, "moduleNumber": 4, "attendedOn": "2024-03-01" });
    w.send(&token, queries::RECORD_ATTENDANCE, input)
        .await
        .expect_error("INVALID_TRANSITION");
    let input = json!({ "courseId": course, "motherId": gid(Kind::Mother, w.trainee.id) });
    w.send(&token, queries::ENROL_MOTHER, input)
        .await
        .expect_error("CONFLICT");
    assert_eq!(w.written().await, before, "nothing written");

    // The figures: the certified mother counts, the withdrawn one never did.
    let stats = w.app.token("secretariat", "stats:read").await;
    let response = w
        .app
        .graphql(
            Some(&stats),
            "{ stats { mothersTrained { total { value } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        response.data()["stats"]["mothersTrained"]["total"]["value"],
        json!(1.0)
    );
    let record = w
        .app
        .graphql(
            Some(&token),
            queries::COURSE_RECORD,
            json!({ "id": course }),
        )
        .await;
    let statuses: Vec<&Value> = record.data()["course"]["enrolments"]
        .as_array()
        .expect("enrolments")
        .iter()
        .map(|e| &e["status"])
        .collect();
    assert_eq!(statuses, [&json!("WITHDRAWN"), &json!("COMPLETED")]);
}
