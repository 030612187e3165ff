//! Writing mothers over GraphQL: register, update, change status; and every way of being
//! refused, with nothing written.

use bydel::ids::Kind;
use chrono::{Duration, Utc};
use entity::{
    audit_event,
    enums::{OrganisationKind, PartnerRole},
    mother, mother_language, project,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    harness::{GqlResponse, TestApp},
    queries,
    tokens::{gid, string},
    visits_write::{bad_field, merge},
};

const WRITER: &str = "mothers:write projects:read courses:read";

struct World {
    app: TestApp,
    project: project::Model,
    existing: mother::Model,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let partner = f
        .organisation("ngo-partner", OrganisationKind::Ngo, None)
        .await;
    f.partner(&project, &partner, PartnerRole::Partner).await;
    f.organisation("ngo-stranger", OrganisationKind::Ngo, None)
        .await;
    let existing = f.mother(&project, "Amina", &["ar"], |_| {}).await;
    World {
        app,
        project,
        existing,
    }
}

impl World {
    fn input(&self, changes: Value) -> Value {
        let mut input = json!({
            "projectId": gid(Kind::Project, self.project.id),
            "firstName": " Fatima ",
            "lastName": "Ali",
            "phone": "+45 12 34 56 78",
            "email": "fatima@example.org",
            "languages": ["ar", "da", "kmr"],
            "joinedOn": "2024-02-01",
        });
        merge(&mut input, changes);
        input
    }

    async fn send(&self, token: &str, query: &str, input: Value) -> GqlResponse {
        self.app
            .graphql(Some(token), query, json!({ "input": input }))
            .await
    }

    async fn read(&self, token: &str, id: &str) -> Value {
        let response = self
            .app
            .graphql(Some(token), queries::MOTHER_RECORD, json!({ "id": id }))
            .await;
        response.data()["mother"].clone()
    }

    /// Rows of mother, mother_language, and audit events about mothers.
    async fn written(&self) -> (u64, u64, u64) {
        let db = &self.app.db;
        (
            mother::Entity::find().count(db).await.expect("count"),
            mother_language::Entity::find()
                .count(db)
                .await
                .expect("count"),
            // Changes only: reading her contact details back is audited too (a `read`).
            audit_event::Entity::find()
                .filter(audit_event::Column::EntityType.eq("mother"))
                .filter(audit_event::Column::Action.ne(entity::enums::AuditAction::Read))
                .count(db)
                .await
                .expect("count"),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mother_is_registered_updated_and_leaves() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let response = w
        .send(&token, queries::REGISTER_MOTHER, w.input(json!({})))
        .await;
    let id = string(&response.data()["registerMother"]["id"]);
    let mother = w.read(&token, &id).await;
    assert_eq!(mother["firstName"], "Fatima", "trimmed");
    assert_eq!(mother["lastName"], "Ali");
    assert_eq!(mother["status"], "IN_TRAINING");
    assert_eq!(mother["joinedOn"], "2024-02-01");
    assert_eq!(mother["languages"], json!(["ar", "da", "kmr"]));
    assert_eq!(mother["phone"], "+45 12 34 56 78");
    assert_eq!(mother["email"], "fatima@example.org");
    assert_eq!(w.written().await, (2, 4, 1));

    let input = json!({ "id": id, "lastName": "Hassan", "email": null, "languages": ["so"] });
    w.send(&token, queries::UPDATE_MOTHER, input).await.data();
    let mother = w.read(&token, &id).await;
    assert_eq!(mother["lastName"], "Hassan");
    assert!(mother["email"].is_null(), "null clears");
    assert_eq!(mother["phone"], "+45 12 34 56 78", "left out stays");
    assert_eq!(mother["languages"], json!(["so"]));

    // CERTIFIED needs a completed course.
    let input = json!({ "id": id, "status": "CERTIFIED", "on": "2024-06-01" });
    let response = w.send(&token, queries::CHANGE_MOTHER_STATUS, input).await;
    let message = response.expect_error("INVALID_TRANSITION");
    assert!(message.contains("completing a course"), "{message}");
    // Before she joined, or in the future: bad input.
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive().to_string();
    for on in ["2024-01-31", tomorrow.as_str()] {
        let input = json!({ "id": id, "status": "LEFT", "on": on });
        let response = w.send(&token, queries::CHANGE_MOTHER_STATUS, input).await;
        assert_eq!(bad_field(&response), "input.on");
    }
    let input = json!({ "id": id, "status": "LEFT", "on": "2024-09-30" });
    let response = w.send(&token, queries::CHANGE_MOTHER_STATUS, input).await;
    assert_eq!(
        response.data()["changeMotherStatus"]["leftOn"],
        "2024-09-30"
    );
    let input = json!({ "id": id, "status": "LEFT", "on": "2024-10-01" });
    let response = w.send(&token, queries::CHANGE_MOTHER_STATUS, input).await;
    response.expect_error("INVALID_TRANSITION");
    // Rejoining clears the leaving date.
    let input = json!({ "id": id, "status": "ACTIVE", "on": "2025-01-01" });
    let response = w.send(&token, queries::CHANGE_MOTHER_STATUS, input).await;
    assert!(response.data()["changeMotherStatus"]["leftOn"].is_null());
    assert_eq!(w.written().await, (2, 2, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_operator_with_the_write_scope_writes_mothers() {
    let w = world().await;
    let existing = gid(Kind::Mother, w.existing.id);
    let cases = [
        ("kommune-101", WRITER, "FORBIDDEN"),
        ("ngo-partner", WRITER, "FORBIDDEN"),
        ("ngo-stranger", WRITER, "NOT_FOUND"),
        ("ngo-red-cross", "mothers:read", "FORBIDDEN"),
        ("ngo-red-cross", "visits:write courses:write", "FORBIDDEN"),
    ];
    for (organisation, scopes, code) in cases {
        let token = w.app.token(organisation, scopes).await;
        let response = w
            .send(&token, queries::REGISTER_MOTHER, w.input(json!({})))
            .await;
        assert_eq!(
            response.code(),
            Some(code),
            "{organisation} {scopes}: {:#}",
            response.body
        );
        let input = json!({ "id": existing, "firstName": "X" });
        let response = w.send(&token, queries::UPDATE_MOTHER, input).await;
        assert!(
            matches!(response.code(), Some("FORBIDDEN" | "NOT_FOUND")),
            "{:#}",
            response.body
        );
        let input = json!({ "id": existing, "status": "INACTIVE", "on": "2024-01-01" });
        let response = w.send(&token, queries::CHANGE_MOTHER_STATUS, input).await;
        assert!(
            matches!(response.code(), Some("FORBIDDEN" | "NOT_FOUND")),
            "{:#}",
            response.body
        );
    }
    assert_eq!(w.written().await, (1, 1, 0), "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_mother_input_is_refused_naming_the_field() {
    let w = world().await;
    let token = w.app.token("ngo-red-cross", WRITER).await;
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive().to_string();
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "firstName": null }), ""),
        (json!({ "languages": [1] }), ""),
        (
            json!({ "projectId": gid(Kind::Mother, w.existing.id) }),
            "input.projectId",
        ),
        (json!({ "firstName": "   " }), "input.firstName"),
        (json!({ "lastName": "x".repeat(101) }), "input.lastName"),
        (json!({ "phone": "1".repeat(33) }), "input.phone"),
        (json!({ "email": "not-an-address" }), "input.email"),
        (json!({ "languages": ["Arabic"] }), "input.languages"),
        (json!({ "languages": ["AR"] }), "input.languages"),
        (json!({ "languages": ["ar", "ar"] }), "input.languages"),
        (json!({ "joinedOn": tomorrow }), "input.joinedOn"),
    ];
    for (changes, field) in cases {
        let response = w
            .send(&token, queries::REGISTER_MOTHER, w.input(changes.clone()))
            .await;
        let got = bad_field(&response);
        assert!(
            got.starts_with(field),
            "{changes}: expected {field}, got {got}"
        );
    }
    let existing = gid(Kind::Mother, w.existing.id);
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "id": gid(Kind::Project, w.project.id) }),
            "input.id",
        ),
        (
            json!({ "id": existing, "firstName": "" }),
            "input.firstName",
        ),
        (
            json!({ "id": existing, "languages": ["e1"] }),
            "input.languages",
        ),
        (json!({ "id": existing, "email": "a@" }), "input.email"),
    ];
    for (input, field) in cases {
        let response = w.send(&token, queries::UPDATE_MOTHER, input.clone()).await;
        assert_eq!(bad_field(&response), field, "{input}");
    }
    let input = json!({ "id": existing, "status": "RETIRED", "on": "2024-01-01" });
    let response = w.send(&token, queries::CHANGE_MOTHER_STATUS, input).await;
    bad_field(&response);
    assert_eq!(w.written().await, (1, 1, 0), "nothing written");
}
