//! Training over GraphQL: create a course, enrol a mother, record module attendance, and
//! certify her on completion; a certification without every module is refused naming the
//! missing ones; and every way of being refused, with nothing written.

use bydel::ids::Kind;
use chrono::{Duration, Utc};
use entity::{
    audit_event, course, enrolment,
    enums::{MotherStatus, OrganisationKind, PartnerRole},
    module_attendance, mother, project,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    harness::{GqlResponse, TestApp},
    queries,
    tokens::{gid, string},
    visits_write::{bad_field, merge},
};

const WRITER: &str = "courses:write mothers:read projects:read";

struct World {
    app: TestApp,
    project: project::Model,
    trainee: mother::Model,
    foreign: mother::Model,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let other = f.project("Randers Øst", 730, &base.ngo, |_| {}).await;
    let partner = f
        .organisation("ngo-partner", OrganisationKind::Ngo, None)
        .await;
    f.partner(&project, &partner, PartnerRole::Partner).await;
    f.organisation("ngo-stranger", OrganisationKind::Ngo, None)
        .await;
    let trainee = f
        .mother(&project, "Amina", &["ar"], |m| {
            m.status = sea_orm::ActiveValue::Set(MotherStatus::InTraining);
        })
        .await;
    let foreign = f.mother(&other, "Leyla", &["tr"], |_| {}).await;
    World {
        app,
        project,
        trainee,
        foreign,
    }
}

impl World {
    async fn send(&self, token: &str, query: &str, input: Value) -> GqlResponse {
        self.app
            .graphql(Some(token), query, json!({ "input": input }))
            .await
    }

    fn course_input(&self, changes: Value) -> Value {
        let mut input = json!({
            "projectId": gid(Kind::Project, self.project.id),
            "name": "Basic course spring 2024",
            "kind": "BASIC",
            "moduleCount": 15,
            "startsOn": "2024-02-01",
        });
        merge(&mut input, changes);
        input
    }

    async fn course(&self, token: &str) -> String {
        let response = self
            .send(token, queries::CREATE_COURSE, self.course_input(json!({})))
            .await;
        string(&response.data()["createCourse"]["id"])
    }

    async fn enrol(&self, token: &str, course: &str) -> String {
        let input = json!({ "courseId": course, "motherId": gid(Kind::Mother, self.trainee.id) });
        let response = self.send(token, queries::ENROL_MOTHER, input).await;
        string(&response.data()["enrolMother"]["id"])
    }

    async fn attend(&self, token: &str, enrolment: &str, module: i32) -> GqlResponse {
        let input = json!({
            "enrolmentId": enrolment, "moduleNumber": module,
            "attendedOn": format!("2024-{:02}-10", 2 + module / 3),
        });
        self.send(token, queries::RECORD_ATTENDANCE, input).await
    }

    /// Rows of course, enrolment, module_attendance, and audit events about training.
    async fn written(&self) -> (u64, u64, u64, u64) {
        let db = &self.app.db;
        (
            course::Entity::find().count(db).await.expect("count"),
            enrolment::Entity::find().count(db).await.expect("count"),
            module_attendance::Entity::find()
                .count(db)
                .await
                .expect("count"),
            audit_event::Entity::find()
                .filter(audit_event::Column::EntityType.is_in(["course", "enrolment", "mother"]))
                .count(db)
                .await
                .expect("count"),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mother_is_trained_and_certified_only_with_every_module() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let course = w.course(&token).await;
    let enrolment = w.enrol(&token, &course).await;

    // Enrolling twice is a conflict.
    let input = json!({ "courseId": course, "motherId": gid(Kind::Mother, w.trainee.id) });
    w.send(&token, queries::ENROL_MOTHER, input)
        .await
        .expect_error("CONFLICT");

    // Module 1 signs the contract; the same module again changes nothing.
    let response = w.attend(&token, &enrolment, 1).await;
    assert_eq!(
        response.data()["recordAttendance"]["contractSignedOn"],
        "2024-02-10"
    );
    w.attend(&token, &enrolment, 1).await.data();
    for module in [2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 14] {
        w.attend(&token, &enrolment, module).await.data();
    }
    assert_eq!(w.written().await, (1, 1, 12, 2 + 12));

    let input = json!({ "enrolmentId": enrolment, "certifiedOn": "2024-08-01" });
    let response = w.send(&token, queries::CERTIFY, input.clone()).await;
    let message = response.expect_error("INVALID_TRANSITION");
    assert!(message.contains("module(s) 4, 13, 15 of 15"), "{message}");
    assert_eq!(
        w.written().await,
        (1, 1, 12, 14),
        "the refusal wrote nothing"
    );

    for module in [4, 13, 15] {
        w.attend(&token, &enrolment, module).await.data();
    }
    let response = w.send(&token, queries::CERTIFY, input).await;
    let certified = &response.data()["certify"];
    assert_eq!(certified["status"], "COMPLETED");
    assert_eq!(certified["certifiedOn"], "2024-08-01");

    let mother = w
        .app
        .graphql(
            Some(&token),
            queries::MOTHER_RECORD,
            json!({ "id": gid(Kind::Mother, w.trainee.id) }),
        )
        .await;
    let mother = &mother.data()["mother"];
    assert_eq!(
        mother["status"], "CERTIFIED",
        "an IN_TRAINING mother is certified"
    );
    let enrolled = &mother["enrolments"][0];
    assert_eq!(
        enrolled["attendedModules"],
        json!((1..=15).collect::<Vec<_>>())
    );
    assert_eq!(enrolled["contractSignedOn"], "2024-02-10");
    let record = w
        .app
        .graphql(
            Some(&token),
            queries::COURSE_RECORD,
            json!({ "id": course }),
        )
        .await;
    let record = &record.data()["course"];
    assert_eq!(record["kind"], "BASIC");
    assert_eq!(record["moduleCount"], 15);
    assert_eq!(record["enrolments"][0]["status"], "COMPLETED");

    // A completed enrolment takes no more attendance.
    w.attend(&token, &enrolment, 3)
        .await
        .expect_error("INVALID_TRANSITION");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_with_the_write_scope_trains() {
    let w = world().await;
    let owner = w.app.token("ngo-red-cross", WRITER).await;
    let course = w.course(&owner).await;
    let enrolment = w.enrol(&owner, &course).await;
    let before = w.written().await;
    let cases = [
        ("kommune-101", WRITER, "FORBIDDEN"),
        ("ngo-partner", WRITER, "FORBIDDEN"),
        ("ngo-stranger", WRITER, "NOT_FOUND"),
        ("ngo-red-cross", "courses:read", "FORBIDDEN"),
        ("ngo-red-cross", "mothers:write visits:write", "FORBIDDEN"),
    ];
    for (organisation, scopes, code) in cases {
        let token = w.app.token(organisation, scopes).await;
        let response = w
            .send(&token, queries::CREATE_COURSE, w.course_input(json!({})))
            .await;
        assert_eq!(
            response.code(),
            Some(code),
            "{organisation} {scopes}: {:#}",
            response.body
        );
        let input = json!({ "courseId": course, "motherId": gid(Kind::Mother, w.trainee.id) });
        let response = w.send(&token, queries::ENROL_MOTHER, input).await;
        assert!(
            matches!(response.code(), Some("FORBIDDEN" | "NOT_FOUND")),
            "{:#}",
            response.body
        );
        let response = w.attend(&token, &enrolment, 1).await;
        assert!(
            matches!(response.code(), Some("FORBIDDEN" | "NOT_FOUND")),
            "{:#}",
            response.body
        );
        let input = json!({ "enrolmentId": enrolment, "certifiedOn": "2024-08-01" });
        let response = w.send(&token, queries::CERTIFY, input).await;
        assert!(
            matches!(response.code(), Some("FORBIDDEN" | "NOT_FOUND")),
            "{:#}",
            response.body
        );
    }
    assert_eq!(w.written().await, before, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_training_input_is_refused_naming_the_field() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "name": null }), ""),
        (json!({ "kind": "ADVANCED" }), ""),
        (json!({ "moduleCount": "15" }), ""),
        (
            json!({ "projectId": gid(Kind::Mother, w.trainee.id) }),
            "input.projectId",
        ),
        (json!({ "name": " " }), "input.name"),
        (json!({ "name": "x".repeat(201) }), "input.name"),
        (json!({ "moduleCount": 14 }), "input.moduleCount"),
        (
            json!({ "kind": "SUPPLEMENTARY", "moduleCount": 0 }),
            "input.moduleCount",
        ),
        (
            json!({ "kind": "SUPPLEMENTARY", "moduleCount": 51 }),
            "input.moduleCount",
        ),
        (json!({ "startsOn": "2006-08-01" }), "input.startsOn"),
    ];
    for (changes, field) in cases {
        let response = w
            .send(
                &token,
                queries::CREATE_COURSE,
                w.course_input(changes.clone()),
            )
            .await;
        let got = bad_field(&response);
        assert!(
            got.starts_with(field),
            "{changes}: expected {field}, got {got}"
        );
    }
    let course = w.course(&token).await;
    let enrolment = w.enrol(&token, &course).await;
    let before = w.written().await;
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive().to_string();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            queries::ENROL_MOTHER,
            json!({ "courseId": course, "motherId": gid(Kind::Mother, w.foreign.id) }),
            "input.motherId",
        ),
        (
            queries::ENROL_MOTHER,
            json!({ "courseId": course, "motherId": course }),
            "input.motherId",
        ),
        (
            queries::ENROL_MOTHER,
            json!({ "courseId": enrolment, "motherId": gid(Kind::Mother, w.trainee.id) }),
            "input.courseId",
        ),
        (
            queries::RECORD_ATTENDANCE,
            json!({ "enrolmentId": enrolment, "moduleNumber": 0, "attendedOn": "2024-03-01" }),
            "input.moduleNumber",
        ),
        (
            queries::RECORD_ATTENDANCE,
            json!({ "enrolmentId": enrolment, "moduleNumber": 16, "attendedOn": "2024-03-01" }),
            "input.moduleNumber",
        ),
        (
            queries::RECORD_ATTENDANCE,
            json!({ "enrolmentId": enrolment, "moduleNumber": 2, "attendedOn": tomorrow }),
            "input.attendedOn",
        ),
        (
            queries::RECORD_ATTENDANCE,
            json!({ "enrolmentId": enrolment, "moduleNumber": 2, "attendedOn": "2024-01-01" }),
            "input.attendedOn",
        ),
        (
            queries::RECORD_ATTENDANCE,
            json!({ "enrolmentId": enrolment, "moduleNumber": 2 }),
            "",
        ),
        (
            queries::CERTIFY,
            json!({ "enrolmentId": course, "certifiedOn": "2024-08-01" }),
            "input.enrolmentId",
        ),
        (
            queries::CERTIFY,
            json!({ "enrolmentId": enrolment, "certifiedOn": tomorrow }),
            "input.certifiedOn",
        ),
    ];
    for (query, input, field) in cases {
        let response = w.send(&token, query, input.clone()).await;
        let got = bad_field(&response);
        assert!(
            got.starts_with(field),
            "{input}: expected {field}, got {got}"
        );
    }
    assert_eq!(w.written().await, before, "nothing written");
}
