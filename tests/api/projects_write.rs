//! Writing projects and their partner organisations over GraphQL, as the secretariat's
//! scripts do: create, update, set and remove partners, read back over HTTP; and every way of
//! being refused (another organisation, bad input), with nothing written.

use bydel::ids::Kind;
use entity::{
    audit_event,
    enums::{OrganisationKind, PartnerRole},
    organisation, project, project_partner,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    harness::{GqlResponse, TestApp, fixtures::Base},
    queries,
    tokens::{gid, string},
    visits_write::{bad_field, merge},
};

/// What the secretariat's project script holds.
const MANAGER: &str = "projects:read projects:write";

/// The base organisations, an NGO project in København with no partners yet, and a second
/// NGO to make a partner.
struct World {
    app: TestApp,
    base: Base,
    project: project::Model,
    partner: organisation::Model,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let project = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let partner = f
        .organisation("ngo-partner", OrganisationKind::Ngo, None)
        .await;
    World {
        app,
        base,
        project,
        partner,
    }
}

impl World {
    fn project_id(&self) -> String {
        gid(Kind::Project, self.project.id)
    }

    /// A valid `createProject` input with `changes` merged in (a `null` removes the field).
    fn create_input(&self, changes: Value) -> Value {
        let mut input = json!({
            "name": "Vollsmose",
            "municipalityCode": 751,
            "operatorOrganisationId": gid(Kind::Organisation, self.base.ngo.id),
            "startedOn": "2025-01-01",
        });
        merge(&mut input, changes);
        input
    }

    fn partner_input(&self, changes: Value) -> Value {
        let mut input = json!({
            "projectId": self.project_id(),
            "organisationId": gid(Kind::Organisation, self.partner.id),
            "role": "PARTNER",
        });
        merge(&mut input, changes);
        input
    }

    async fn send(&self, token: &str, mutation: &str, input: Value) -> GqlResponse {
        self.app
            .graphql(Some(token), mutation, json!({ "input": input }))
            .await
    }

    async fn read(&self, token: &str, id: &str) -> Value {
        let response = self
            .app
            .graphql(Some(token), queries::PROJECT_RECORD, json!({ "id": id }))
            .await;
        response.data()["project"].clone()
    }

    /// Rows of project, project_partner, and audit events about either.
    async fn written(&self) -> (u64, u64, u64) {
        let db = &self.app.db;
        (
            project::Entity::find()
                .count(db)
                .await
                .expect("projects count"),
            project_partner::Entity::find()
                .count(db)
                .await
                .expect("partners count"),
            audit_event::Entity::find()
                .filter(audit_event::Column::EntityType.is_in(["project", "project_partner"]))
                .count(db)
                .await
                .expect("audit events count"),
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secretariat_creates_updates_and_partners_a_project() {
    let w = world().await;
    let token = w.app.token("secretariat", MANAGER).await;

    let response = w
        .send(&token, queries::CREATE_PROJECT, w.create_input(json!({})))
        .await;
    let id = string(&response.data()["createProject"]["id"]);
    let project = w.read(&token, &id).await;
    assert_eq!(project["name"], "Vollsmose");
    assert_eq!(project["status"], "PLANNED", "the default status");
    assert_eq!(project["startedOn"], "2025-01-01");
    assert!(project["endedOn"].is_null());
    assert_eq!(project["municipality"]["code"], 751);
    assert_eq!(project["operator"]["shortName"], "ngo-red-cross");
    assert_eq!(project["partners"], json!([]));
    assert_eq!(w.written().await, (2, 0, 1));

    let input = json!({
        "id": id, "name": "  Vollsmose Syd ", "status": "ACTIVE", "endedOn": "2026-06-30",
        "operatorOrganisationId": gid(Kind::Organisation, w.partner.id),
    });
    w.send(&token, queries::UPDATE_PROJECT, input).await.data();
    let project = w.read(&token, &id).await;
    assert_eq!(project["name"], "Vollsmose Syd", "trimmed");
    assert_eq!(project["status"], "ACTIVE");
    assert_eq!(project["endedOn"], "2026-06-30");
    assert_eq!(project["startedOn"], "2025-01-01", "unchanged");
    assert_eq!(project["operator"]["shortName"], "ngo-partner");
    assert_eq!(w.written().await, (2, 0, 2));

    // Set twice: the second call changes the role of the one partnership. Each partner
    // change bumps the project's updatedAt, so updatedSince polling sees it.
    let updated = |project: &Value| {
        chrono::DateTime::parse_from_rfc3339(&string(&project["updatedAt"]))
            .expect("updatedAt is RFC 3339")
    };
    let before = updated(&w.read(&token, &w.project_id()).await);
    let response = w
        .send(
            &token,
            queries::SET_PROJECT_PARTNER,
            w.partner_input(json!({})),
        )
        .await;
    let partner = &response.data()["setProjectPartner"];
    assert_eq!(partner["role"], "PARTNER");
    assert_eq!(partner["organisation"]["shortName"], "ngo-partner");
    let input = w.partner_input(json!({ "role": "FUNDER" }));
    w.send(&token, queries::SET_PROJECT_PARTNER, input)
        .await
        .data();
    let project = w.read(&token, &w.project_id()).await;
    assert_eq!(
        project["partners"],
        json!([{ "role": "FUNDER", "organisation": { "shortName": "ngo-partner" } }])
    );
    assert_eq!(w.written().await, (2, 1, 4));
    let after = updated(&project);
    assert!(after > before, "{after} after {before}");

    let input = w.partner_input(json!({ "role": null }));
    let response = w.send(&token, queries::REMOVE_PROJECT_PARTNER, input).await;
    assert_eq!(
        response.data()["removeProjectPartner"]["id"],
        w.project_id()
    );
    let project = w.read(&token, &w.project_id()).await;
    assert_eq!(project["partners"], json!([]));
    assert!(updated(&project) > after, "removal bumps updatedAt");
    assert_eq!(w.written().await, (2, 0, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_secretariat_manages_projects() {
    let w = world().await;
    let f = w.app.fixtures();
    f.partner(&w.project, &w.partner, PartnerRole::Partner)
        .await;
    let before = w.written().await;
    let update = json!({ "id": w.project_id(), "name": "Taken over" });
    for organisation in ["ngo-red-cross", "kommune-101", "ngo-partner"] {
        let token = w.app.token(organisation, MANAGER).await;
        let attempts = [
            (queries::CREATE_PROJECT, w.create_input(json!({}))),
            (queries::UPDATE_PROJECT, update.clone()),
            (
                queries::SET_PROJECT_PARTNER,
                w.partner_input(json!({ "role": "FUNDER" })),
            ),
            (
                queries::REMOVE_PROJECT_PARTNER,
                w.partner_input(json!({ "role": null })),
            ),
        ];
        for (mutation, input) in attempts {
            let response = w.send(&token, mutation, input).await;
            response.expect_error("FORBIDDEN");
            assert!(
                response.body["data"]
                    .as_object()
                    .is_none_or(|d| d.values().all(Value::is_null)),
                "{organisation}: {:#}",
                response.body
            );
        }
    }
    // The secretariat itself needs the scope.
    let reader = w.app.token("secretariat", "projects:read").await;
    let response = w.send(&reader, queries::UPDATE_PROJECT, update).await;
    assert!(
        response
            .expect_error("FORBIDDEN")
            .contains("projects:write")
    );
    assert_eq!(w.written().await, before, "nothing was written");
    let token = w.app.token("secretariat", MANAGER).await;
    assert_eq!(w.read(&token, &w.project_id()).await["name"], "Nørrebro");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_and_writes_nothing() {
    let w = world().await;
    let stranger = w
        .app
        .fixtures()
        .organisation("ngo-stranger", OrganisationKind::Ngo, None)
        .await;
    w.app
        .fixtures()
        .partner(&w.project, &w.partner, PartnerRole::Partner)
        .await;
    let token = w.app.token("secretariat", MANAGER).await;
    let before = w.written().await;
    let unknown_org = gid(Kind::Organisation, Uuid::now_v7());
    let unknown_project = gid(Kind::Project, Uuid::now_v7());
    let ngo = gid(Kind::Organisation, w.base.ngo.id);
    let long = "x".repeat(201);
    let cases = [
        (
            queries::CREATE_PROJECT,
            w.create_input(json!({ "municipalityCode": 999 })),
            "input.municipalityCode",
        ),
        (
            queries::CREATE_PROJECT,
            w.create_input(json!({ "operatorOrganisationId": unknown_org })),
            "input.operatorOrganisationId",
        ),
        (
            queries::CREATE_PROJECT,
            w.create_input(json!({ "operatorOrganisationId": w.project_id() })),
            "input.operatorOrganisationId",
        ),
        (
            queries::CREATE_PROJECT,
            w.create_input(json!({ "name": "   " })),
            "input.name",
        ),
        (
            queries::CREATE_PROJECT,
            w.create_input(json!({ "name": long })),
            "input.name",
        ),
        (
            queries::CREATE_PROJECT,
            w.create_input(json!({ "endedOn": "2024-12-31" })),
            "input.endedOn",
        ),
        (
            queries::UPDATE_PROJECT,
            json!({ "id": w.project_id(), "endedOn": "2009-12-31" }),
            "input.endedOn",
        ),
        (
            queries::UPDATE_PROJECT,
            json!({ "id": w.project_id(), "name": "" }),
            "input.name",
        ),
        (
            queries::UPDATE_PROJECT,
            json!({ "id": ngo, "name": "Wrong kind" }),
            "input.id",
        ),
        (
            queries::UPDATE_PROJECT,
            json!({ "id": w.project_id(), "operatorOrganisationId": unknown_org }),
            "input.operatorOrganisationId",
        ),
        // The operator cannot also be a partner, whichever way round.
        (
            queries::UPDATE_PROJECT,
            json!({
                "id": w.project_id(),
                "operatorOrganisationId": gid(Kind::Organisation, w.partner.id),
            }),
            "input.operatorOrganisationId",
        ),
        (
            queries::SET_PROJECT_PARTNER,
            w.partner_input(json!({ "projectId": unknown_project })),
            "input.projectId",
        ),
        (
            queries::SET_PROJECT_PARTNER,
            w.partner_input(json!({ "projectId": ngo })),
            "input.projectId",
        ),
        (
            queries::SET_PROJECT_PARTNER,
            w.partner_input(json!({ "organisationId": unknown_org })),
            "input.organisationId",
        ),
        (
            queries::SET_PROJECT_PARTNER,
            w.partner_input(json!({ "organisationId": w.project_id() })),
            "input.organisationId",
        ),
        (
            queries::SET_PROJECT_PARTNER,
            w.partner_input(json!({ "organisationId": ngo })),
            "input.organisationId",
        ),
        (
            queries::REMOVE_PROJECT_PARTNER,
            json!({
                "projectId": w.project_id(),
                "organisationId": gid(Kind::Organisation, stranger.id),
            }),
            "input.organisationId",
        ),
        (
            queries::REMOVE_PROJECT_PARTNER,
            json!({
                "projectId": unknown_project,
                "organisationId": gid(Kind::Organisation, w.partner.id),
            }),
            "input.projectId",
        ),
    ];
    for (mutation, input, field) in cases {
        let response = w.send(&token, mutation, input.clone()).await;
        assert_eq!(
            bad_field(&response),
            field,
            "{input:#}: {:#}",
            response.body
        );
    }
    // GraphQL's own coercion: an unknown enum value, a missing field.
    let response = w
        .send(
            &token,
            queries::SET_PROJECT_PARTNER,
            w.partner_input(json!({ "role": "OWNER" })),
        )
        .await;
    bad_field(&response);
    let response = w
        .send(
            &token,
            queries::CREATE_PROJECT,
            w.create_input(json!({ "startedOn": null })),
        )
        .await;
    bad_field(&response);
    assert_eq!(w.written().await, before, "nothing was written");
}
