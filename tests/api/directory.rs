//! The service directory over HTTP: an organisation writes its own services, locations
//! (address, opening hours) and contact points; every token reads them (reference data);
//! another organisation and a token without `directory:write` are refused with nothing
//! written; bad input names its field; lists filter by area, category and language and sync
//! by `updatedSince`; a referral names a service of its receiver, and only such a one.

use bydel::ids::Kind;
use entity::{
    audit_event, enums::ServiceStatus, opening_hours, referral, service, service_area,
    service_contact, service_language, service_location,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set,
};
use serde_json::{Value, json};

use crate::{
    harness::{GqlResponse, TestApp, fixtures::Base, nodes, strings, total_count},
    queries, referrals,
    tokens::{gid, string},
    visits_write::{bad_field, merge},
};

/// What a provider's directory client holds.
const EDITOR: &str = "directory:write";

struct World {
    app: TestApp,
    base: Base,
    /// `kommune-101` with `directory:write`.
    copenhagen: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let base = app.fixtures().base().await;
    let copenhagen = app.token("kommune-101", EDITOR).await;
    World {
        app,
        base,
        copenhagen,
    }
}

/// A valid `createService` input with `changes` merged in (a `null` removes the field).
fn service_input(changes: Value) -> Value {
    let mut input = json!({
        "name": "Sundhedsplejen",
        "category": "HEALTH_VISITOR",
        "description": "Sundhedsplejersker besøger familier med spæd- og småbørn.",
        "languages": ["da", "ar", "so"],
        "municipalityCodes": [101],
    });
    merge(&mut input, changes);
    input
}

fn location_input(service: &str, changes: Value) -> Value {
    let mut input = json!({
        "serviceId": service,
        "name": "Sundhedsplejen Nørrebro",
        "street": "Nørrebrogade 208",
        "postcode": "2200",
        "city": "København N",
        "municipalityCode": 101,
        "openingHours": [
            { "weekday": "WEDNESDAY", "opens": "13:00", "closes": "15:00" },
            { "weekday": "MONDAY", "opens": "08:00", "closes": "12:00" },
            { "weekday": "MONDAY", "opens": "13:00", "closes": "15:30" },
        ],
        "openingHoursNotes": "Åben rådgivning uden tidsbestilling om onsdagen.",
    });
    merge(&mut input, changes);
    input
}

fn contact_input(service: &str, changes: Value) -> Value {
    let mut input = json!({
        "serviceId": service,
        "name": "Tidsbestilling",
        "phone": "+45 33 17 33 17",
        "email": "sundhedsplejen@kk.dk",
        "website": "https://www.kk.dk/sundhedspleje",
    });
    merge(&mut input, changes);
    input
}

impl World {
    async fn send(&self, token: &str, mutation: &str, input: Value) -> GqlResponse {
        self.app
            .graphql(Some(token), mutation, json!({ "input": input }))
            .await
    }

    /// Creates a service as `token`; answers its global id.
    async fn service(&self, token: &str, changes: Value) -> String {
        let response = self
            .send(token, queries::CREATE_SERVICE, service_input(changes))
            .await;
        string(&response.data()["createService"]["id"])
    }

    async fn location(&self, token: &str, service: &str) -> String {
        let input = location_input(service, json!({}));
        let response = self.send(token, queries::ADD_SERVICE_LOCATION, input).await;
        string(&response.data()["addServiceLocation"]["id"])
    }

    async fn contact(&self, token: &str, service: &str) -> String {
        let input = contact_input(service, json!({}));
        let response = self.send(token, queries::ADD_SERVICE_CONTACT, input).await;
        string(&response.data()["addServiceContact"]["id"])
    }

    async fn remove(&self, token: &str, operation: &str, id: &str) -> GqlResponse {
        self.app
            .graphql_operation(
                token,
                queries::REMOVE_SERVICE_ENTRIES,
                operation,
                json!({ "id": id }),
            )
            .await
    }

    async fn list(&self, token: &str, variables: Value) -> Value {
        let response = self
            .app
            .graphql(Some(token), queries::SERVICES, variables)
            .await;
        response.data().clone()
    }

    /// Rows of every directory table, referrals naming a service, and directory audit events.
    async fn written(&self) -> [u64; 8] {
        let db = &self.app.db;
        [
            service::Entity::find().count(db).await.expect("services"),
            service_language::Entity::find()
                .count(db)
                .await
                .expect("languages"),
            service_area::Entity::find().count(db).await.expect("areas"),
            service_location::Entity::find()
                .count(db)
                .await
                .expect("locations"),
            opening_hours::Entity::find()
                .count(db)
                .await
                .expect("hours"),
            service_contact::Entity::find()
                .count(db)
                .await
                .expect("contacts"),
            referral::Entity::find()
                .filter(referral::Column::ServiceId.is_not_null())
                .count(db)
                .await
                .expect("referrals"),
            audit_event::Entity::find()
                .filter(audit_event::Column::EntityType.is_in([
                    "service",
                    "service_location",
                    "service_contact",
                ]))
                .count(db)
                .await
                .expect("audit events"),
        ]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_writes_its_entries_and_every_token_reads_them() {
    let w = world().await;
    let response = w
        .send(
            &w.copenhagen,
            queries::CREATE_SERVICE,
            service_input(json!({})),
        )
        .await;
    let created = &response.data()["createService"];
    assert_eq!(
        created["organisation"]["shortName"], "kommune-101",
        "the caller's own"
    );
    assert_eq!(created["status"], "ACTIVE", "the default status");
    assert_eq!(
        created["languages"],
        json!(["ar", "da", "so"]),
        "alphabetically"
    );
    assert_eq!(created["serviceAreas"], json!([{ "code": 101 }]));
    let id = string(&created["id"]);
    let location = w.location(&w.copenhagen, &id).await;
    let contact = w.contact(&w.copenhagen, &id).await;
    assert_eq!(w.written().await, [1, 3, 1, 1, 3, 1, 0, 3]);

    // An NGO's app and another municipality's system, with scopes of other areas only.
    for (organisation, scopes) in [
        ("ngo-red-cross", "projects:read"),
        ("kommune-730", "stats:read"),
    ] {
        let token = w.app.token(organisation, scopes).await;
        let data = w.list(&token, json!({})).await;
        let listed = nodes(&data, "services");
        assert_eq!(listed.len(), 1, "{organisation}");
        let service = listed[0];
        assert_eq!(service["name"], "Sundhedsplejen");
        assert_eq!(service["category"], "HEALTH_VISITOR");
        assert_eq!(
            service["serviceAreas"],
            json!([{ "code": 101, "name": "København" }])
        );
        assert_eq!(
            service["locations"],
            json!([{
                "id": location, "name": "Sundhedsplejen Nørrebro", "street": "Nørrebrogade 208",
                "postcode": "2200", "city": "København N", "municipality": { "code": 101 },
                "openingHours": [
                    { "weekday": "MONDAY", "opens": "08:00", "closes": "12:00" },
                    { "weekday": "MONDAY", "opens": "13:00", "closes": "15:30" },
                    { "weekday": "WEDNESDAY", "opens": "13:00", "closes": "15:00" },
                ],
                "openingHoursNotes": "Åben rådgivning uden tidsbestilling om onsdagen.",
            }]),
            "Monday first, in opening order"
        );
        assert_eq!(
            service["contacts"],
            json!([{
                "id": contact, "name": "Tidsbestilling", "phone": "+45 33 17 33 17",
                "email": "sundhedsplejen@kk.dk", "website": "https://www.kk.dk/sundhedspleje",
            }])
        );
        let response = w
            .app
            .graphql(
                Some(&token),
                queries::DIRECTORY_NODES,
                json!({ "service": id, "location": location, "contact": contact }),
            )
            .await;
        let data = response.data();
        assert_eq!(data["service"]["__typename"], "Service");
        assert_eq!(data["location"]["service"]["name"], "Sundhedsplejen");
        assert_eq!(data["contact"]["name"], "Tidsbestilling");
        assert_eq!(data["byId"]["name"], "Sundhedsplejen");
    }

    let input = json!({
        "id": id, "name": " Sundhedsplejen København ", "languages": ["da", "ur"],
        "municipalityCodes": [101, 730, 101], "status": "TEMPORARILY_CLOSED", "description": "",
    });
    let response = w.send(&w.copenhagen, queries::UPDATE_SERVICE, input).await;
    let updated = &response.data()["updateService"];
    assert_eq!(updated["name"], "Sundhedsplejen København", "trimmed");
    assert_eq!(updated["languages"], json!(["da", "ur"]), "replaced");
    assert_eq!(
        updated["serviceAreas"],
        json!([{ "code": 101 }, { "code": 730 }])
    );
    assert_eq!(updated["status"], "TEMPORARILY_CLOSED");
    assert!(updated["description"].is_null(), "an empty text clears it");
    assert_eq!(updated["category"], "HEALTH_VISITOR", "unchanged");

    for (input, field) in [
        (
            json!({ "id": location, "postcode": "22" }),
            "input.postcode",
        ),
        (json!({ "id": location, "street": " " }), "input.street"),
        (
            json!({ "id": location, "openingHours": [{ "weekday": "MONDAY", "opens": "16:00", "closes": "08:00" }] }),
            "input.openingHours[0].closes",
        ),
    ] {
        let response = w
            .send(&w.copenhagen, queries::UPDATE_SERVICE_LOCATION, input)
            .await;
        assert_eq!(bad_field(&response), field);
    }
    assert_eq!(
        w.written().await,
        [1, 2, 2, 1, 3, 1, 0, 4],
        "nothing written"
    );
    let input = json!({
        "id": location, "street": "Nørrebrogade 210", "openingHoursNotes": "",
        "openingHours": [{ "weekday": "SATURDAY", "opens": "10:00", "closes": "12:00" }],
    });
    let response = w
        .send(&w.copenhagen, queries::UPDATE_SERVICE_LOCATION, input)
        .await;
    let moved = &response.data()["updateServiceLocation"];
    assert_eq!(moved["street"], "Nørrebrogade 210");
    assert_eq!(moved["postcode"], "2200", "unchanged");
    assert_eq!(
        moved["openingHours"],
        json!([{ "weekday": "SATURDAY", "opens": "10:00", "closes": "12:00" }]),
        "the week replaced"
    );
    assert!(
        moved["openingHoursNotes"].is_null(),
        "an empty text clears it"
    );
    assert!(
        string(&moved["service"]["updatedAt"]) > string(&updated["updatedAt"]),
        "the service's updatedAt moves with its location"
    );
    assert_eq!(w.written().await, [1, 2, 2, 1, 1, 1, 0, 5]);

    let response = w
        .remove(&w.copenhagen, "RemoveServiceContact", &contact)
        .await;
    assert_eq!(
        response.data()["removeServiceContact"]["contacts"],
        json!([])
    );
    let response = w
        .remove(&w.copenhagen, "RemoveServiceLocation", &location)
        .await;
    assert_eq!(
        response.data()["removeServiceLocation"]["locations"],
        json!([])
    );
    assert_eq!(
        w.written().await,
        [1, 2, 2, 0, 0, 0, 0, 7],
        "hours went with the location"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organisation_or_a_token_without_the_scope_is_refused() {
    let w = world().await;
    let id = w.service(&w.copenhagen, json!({})).await;
    let location = w.location(&w.copenhagen, &id).await;
    let contact = w.contact(&w.copenhagen, &id).await;
    let before = w.written().await;
    let copenhagen = gid(Kind::Organisation, w.base.copenhagen.id);
    let attempts = |token: &str| {
        [
            (
                queries::CREATE_SERVICE,
                service_input(json!({ "organisationId": copenhagen })),
            ),
            (
                queries::UPDATE_SERVICE,
                json!({ "id": id, "name": "Overtaget" }),
            ),
            (
                queries::ADD_SERVICE_LOCATION,
                location_input(&id, json!({})),
            ),
            (queries::ADD_SERVICE_CONTACT, contact_input(&id, json!({}))),
            (
                queries::UPDATE_SERVICE_LOCATION,
                json!({ "id": location, "street": "Et andet sted 1" }),
            ),
        ]
        .map(|(mutation, input)| (token.to_owned(), mutation, input))
    };
    let ngo = w.app.token("ngo-red-cross", EDITOR).await;
    let randers = w
        .app
        .token("kommune-730", "directory:read directory:write")
        .await;
    let unscoped = w
        .app
        .token(
            "kommune-101",
            "directory:read referrals:write projects:write",
        )
        .await;
    for token in [&ngo, &randers, &unscoped] {
        for (token, mutation, input) in attempts(token) {
            let response = w.send(&token, mutation, input).await;
            response.expect_error("FORBIDDEN");
            let data = &response.body["data"];
            assert!(
                data.is_null()
                    || data
                        .as_object()
                        .is_some_and(|d| d.values().all(Value::is_null)),
                "{:#}",
                response.body
            );
        }
        for (operation, entry) in [
            ("RemoveServiceLocation", &location),
            ("RemoveServiceContact", &contact),
        ] {
            w.remove(token, operation, entry)
                .await
                .expect_error("FORBIDDEN");
        }
    }
    // Unknown records are NOT_FOUND (the directory hides nothing, so there is nothing to mask).
    let unknown = gid(Kind::Service, uuid::Uuid::now_v7());
    let response = w
        .send(
            &w.copenhagen,
            queries::UPDATE_SERVICE,
            json!({ "id": unknown, "name": "x" }),
        )
        .await;
    response.expect_error("NOT_FOUND");
    let unknown_location = gid(Kind::ServiceLocation, uuid::Uuid::now_v7());
    w.remove(&w.copenhagen, "RemoveServiceLocation", &unknown_location)
        .await
        .expect_error("NOT_FOUND");
    assert_eq!(w.written().await, before, "nothing written");

    // The secretariat changes every organisation's entries and adds them for anyone.
    let secretariat = w.app.token("secretariat", EDITOR).await;
    let input = json!({ "id": id, "name": "Sundhedsplejen (rettet)" });
    let response = w.send(&secretariat, queries::UPDATE_SERVICE, input).await;
    assert_eq!(
        response.data()["updateService"]["name"],
        "Sundhedsplejen (rettet)"
    );
    let for_ngo = service_input(json!({
        "organisationId": gid(Kind::Organisation, w.base.ngo.id),
        "name": "Bydelsmødrenes rådgivning", "category": "NEIGHBOURHOOD_MOTHER",
    }));
    let response = w.send(&secretariat, queries::CREATE_SERVICE, for_ngo).await;
    assert_eq!(
        response.data()["createService"]["organisation"]["shortName"],
        "ngo-red-cross"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_and_writes_nothing() {
    let w = world().await;
    let id = w.service(&w.copenhagen, json!({})).await;
    let before = w.written().await;
    let long = |n: usize| "x".repeat(n);
    let cases = [
        (
            queries::CREATE_SERVICE,
            service_input(json!({ "municipalityCodes": [101, 999] })),
            "input.municipalityCodes[1]",
        ),
        (
            queries::CREATE_SERVICE,
            service_input(json!({ "languages": ["da", "zz"] })),
            "input.languages[1]",
        ),
        (
            queries::CREATE_SERVICE,
            service_input(json!({ "languages": ["Arabic"] })),
            "input.languages[0]",
        ),
        (
            queries::CREATE_SERVICE,
            service_input(json!({ "name": long(201) })),
            "input.name",
        ),
        (
            queries::CREATE_SERVICE,
            service_input(json!({ "name": "  " })),
            "input.name",
        ),
        (
            queries::CREATE_SERVICE,
            service_input(json!({ "description": long(4001) })),
            "input.description",
        ),
        (
            queries::CREATE_SERVICE,
            service_input(json!({ "organisationId": gid(Kind::Project, uuid::Uuid::now_v7()) })),
            "input.organisationId",
        ),
        (
            queries::UPDATE_SERVICE,
            json!({ "id": id, "languages": ["ar", "xx"] }),
            "input.languages[1]",
        ),
        (
            queries::UPDATE_SERVICE,
            json!({ "id": id, "municipalityCodes": [0] }),
            "input.municipalityCodes[0]",
        ),
        (
            queries::ADD_SERVICE_LOCATION,
            location_input(&id, json!({ "postcode": "220" })),
            "input.postcode",
        ),
        (
            queries::ADD_SERVICE_LOCATION,
            location_input(&id, json!({ "postcode": "DK-2200" })),
            "input.postcode",
        ),
        (
            queries::ADD_SERVICE_LOCATION,
            location_input(&id, json!({ "municipalityCode": 999 })),
            "input.municipalityCode",
        ),
        (
            queries::ADD_SERVICE_LOCATION,
            location_input(&id, json!({ "street": long(201) })),
            "input.street",
        ),
        (
            queries::ADD_SERVICE_LOCATION,
            location_input(&id, json!({ "city": long(101) })),
            "input.city",
        ),
        (
            queries::ADD_SERVICE_LOCATION,
            location_input(&id, json!({ "openingHoursNotes": long(1001) })),
            "input.openingHoursNotes",
        ),
        (
            queries::ADD_SERVICE_LOCATION,
            location_input(
                &id,
                json!({ "openingHours": [{ "weekday": "FRIDAY", "opens": "15:00", "closes": "09:00" }] }),
            ),
            "input.openingHours[0].closes",
        ),
        (
            queries::ADD_SERVICE_LOCATION,
            location_input(
                &id,
                json!({ "openingHours": [{ "weekday": "FRIDAY", "opens": "9:00", "closes": "12:00" }] }),
            ),
            "input.openingHours[0].opens",
        ),
        (
            queries::ADD_SERVICE_LOCATION,
            location_input(
                &id,
                json!({ "openingHours": [
                { "weekday": "FRIDAY", "opens": "09:00", "closes": "12:00" },
                { "weekday": "FRIDAY", "opens": "11:00", "closes": "14:00" },
            ] }),
            ),
            "input.openingHours",
        ),
        (
            queries::ADD_SERVICE_CONTACT,
            contact_input(
                &id,
                json!({ "phone": null, "email": null, "website": null }),
            ),
            "input.phone",
        ),
        (
            queries::ADD_SERVICE_CONTACT,
            contact_input(&id, json!({ "phone": "ring os" })),
            "input.phone",
        ),
        (
            queries::ADD_SERVICE_CONTACT,
            contact_input(&id, json!({ "email": "kk.dk" })),
            "input.email",
        ),
        (
            queries::ADD_SERVICE_CONTACT,
            contact_input(&id, json!({ "website": "www.kk.dk" })),
            "input.website",
        ),
        (
            queries::ADD_SERVICE_CONTACT,
            contact_input(&id, json!({ "name": long(201) })),
            "input.name",
        ),
    ];
    for (mutation, input, field) in cases {
        let response = w.send(&w.copenhagen, mutation, input.clone()).await;
        assert_eq!(bad_field(&response), field, "{input}: {:#}", response.body);
    }
    assert_eq!(w.written().await, before, "nothing written");

    // Behind the API, the migration's CHECKs hold the same line for hours and weekdays.
    let location = w.location(&w.copenhagen, &id).await;
    let (_, location) = bydel::ids::decode(&location, "id").expect("a location id");
    for (weekday, opens, closes) in [
        (1, "12:00", "09:00"),
        (1, "09:00", "09:00"),
        (8, "09:00", "12:00"),
    ] {
        let row = opening_hours::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            location_id: Set(location),
            weekday: Set(weekday),
            opens: Set(opens.into()),
            closes: Set(closes.into()),
        };
        let inserted = row.insert(&w.app.db).await;
        assert!(
            inserted.is_err(),
            "{weekday} {opens}-{closes}: {inserted:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_filter_by_area_category_and_language_and_sync_by_update() {
    let w = world().await;
    let aarhus = w.app.token("secretariat", EDITOR).await;
    let health = w.service(&w.copenhagen, json!({})).await;
    let response = w
        .send(
            &w.copenhagen,
            queries::CREATE_SERVICE,
            service_input(json!({
                "name": "Jobcenter København", "category": "JOB_CENTRE",
                "languages": ["da", "en"], "municipalityCodes": [101],
            })),
        )
        .await;
    let job = &response.data()["createService"];
    let (job_id, job_updated) = (string(&job["id"]), string(&job["updatedAt"]));
    let debt = w
        .service(
            &aarhus,
            json!({
                "name": "Gældsrådgivning Aarhus", "category": "DEBT_COUNSELLING",
                "languages": ["da", "ar", "so"], "municipalityCodes": [751, 730],
            }),
        )
        .await;
    let reader = w.app.token("ngo-red-cross", "visits:read").await;
    let names = |data: &Value| strings(data, "services", "name");

    let data = w.list(&reader, json!({})).await;
    assert_eq!(total_count(&data, "services"), 3);
    assert_eq!(
        names(&data),
        [
            "Gældsrådgivning Aarhus",
            "Jobcenter København",
            "Sundhedsplejen"
        ],
        "by name"
    );
    let filtered = |filter: Value| w.list(&reader, json!({ "filter": filter }));
    assert_eq!(
        names(&filtered(json!({ "municipalityCode": 730 })).await),
        ["Gældsrådgivning Aarhus"]
    );
    assert_eq!(
        names(&filtered(json!({ "municipalityCode": 101 })).await),
        ["Jobcenter København", "Sundhedsplejen"]
    );
    assert_eq!(
        names(&filtered(json!({ "category": ["HEALTH_VISITOR", "DEBT_COUNSELLING"] })).await),
        ["Gældsrådgivning Aarhus", "Sundhedsplejen"]
    );
    assert_eq!(
        names(&filtered(json!({ "language": "so", "municipalityCode": 101 })).await),
        ["Sundhedsplejen"]
    );
    assert_eq!(
        names(&filtered(json!({ "language": "en" })).await),
        ["Jobcenter København"]
    );
    let organisation = gid(Kind::Organisation, w.base.copenhagen.id);
    assert_eq!(
        names(&filtered(json!({ "organisationId": organisation, "status": ["ACTIVE"] })).await),
        ["Jobcenter København", "Sundhedsplejen"]
    );

    // A contact point added to the oldest service moves it to the end of the sync order.
    w.contact(&w.copenhagen, &health).await;
    let data = w
        .list(
            &reader,
            json!({ "filter": { "updatedSince": job_updated }, "orderBy": "UPDATED_AT" }),
        )
        .await;
    let ids = strings(&data, "services", "id");
    assert_eq!(
        ids,
        [job_id, debt, health],
        "oldest change first, from the job centre on"
    );

    let response = w
        .app
        .graphql(
            Some(&reader),
            queries::SERVICES,
            json!({ "filter": { "language": "Arabic" } }),
        )
        .await;
    assert_eq!(bad_field(&response), "filter.language");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_names_a_service_of_its_receiver_and_no_other() {
    let world = referrals::World::new().await;
    let app = &world.app;
    let editor = |org: &'static str| async move { app.token(org, EDITOR).await };
    let copenhagen = editor("kommune-101").await;
    let create = |token: &str, changes: Value| {
        let token = token.to_owned();
        async move {
            let response = app
                .graphql(
                    Some(&token),
                    queries::CREATE_SERVICE,
                    json!({ "input": service_input(changes) }),
                )
                .await;
            string(&response.data()["createService"]["id"])
        }
    };
    let health = create(&copenhagen, json!({})).await;
    app.graphql(
        Some(&copenhagen),
        queries::ADD_SERVICE_LOCATION,
        json!({ "input": location_input(&health, json!({})) }),
    )
    .await
    .data();
    let job = create(
        &copenhagen,
        json!({ "name": "Jobcenter", "category": "JOB_CENTRE" }),
    )
    .await;
    let closed = create(
        &copenhagen,
        json!({ "name": "Lukket", "status": "DEFUNCT" }),
    )
    .await;
    let elsewhere = create(
        &editor("kommune-730").await,
        json!({ "name": "Sundhedsplejen Randers" }),
    )
    .await;
    let input = |service: &str| {
        json!({ "input": {
            "projectId": gid(Kind::Project, world.project.id),
            "participantId": gid(Kind::Participant, world.participant.id),
            "receiverOrganisationId": gid(Kind::Organisation, world.base.copenhagen.id),
            "serviceCategory": "HEALTH_VISITOR",
            "serviceId": service,
        }})
    };
    let named = || async {
        referral::Entity::find()
            .filter(referral::Column::ServiceId.is_not_null())
            .count(&app.db)
            .await
            .expect("referrals")
    };
    for (service, why) in [
        (&elsewhere, "another organisation's"),
        (&job, "another category"),
        (&closed, "no longer offered"),
        (&gid(Kind::Service, uuid::Uuid::now_v7()), "unknown"),
    ] {
        let response = app
            .graphql(
                Some(&world.ngo),
                queries::CREATE_REFERRAL_FOR_SERVICE,
                input(service),
            )
            .await;
        assert_eq!(
            bad_field(&response),
            "input.serviceId",
            "{why}: {:#}",
            response.body
        );
    }
    assert_eq!(named().await, 0, "nothing written");

    let response = app
        .graphql(
            Some(&world.ngo),
            queries::CREATE_REFERRAL_FOR_SERVICE,
            input(&health),
        )
        .await;
    let created = &response.data()["createReferral"];
    assert_eq!(created["service"]["id"], health);
    assert_eq!(created["service"]["name"], "Sundhedsplejen");
    assert_eq!(
        created["service"]["organisation"]["shortName"],
        "kommune-101"
    );
    assert_eq!(
        created["service"]["locations"],
        json!([{ "street": "Nørrebrogade 208" }])
    );
    let stored = referral::Entity::find()
        .filter(referral::Column::ServiceId.is_not_null())
        .one(&app.db)
        .await
        .expect("the referral")
        .expect("one referral names the service");

    // RESTRICT: the referral's history keeps its service; a service that ends is DEFUNCT.
    let service_id = stored.service_id.expect("the service");
    let deleted = service::Entity::delete_by_id(service_id)
        .exec(&app.db)
        .await;
    assert!(
        deleted.is_err(),
        "a named service cannot be deleted: {deleted:?}"
    );
    let mut row = service::Entity::find_by_id(service_id)
        .one(&app.db)
        .await
        .expect("read")
        .expect("still there")
        .into_active_model();
    row.status = Set(ServiceStatus::Defunct);
    row.update(&app.db).await.expect("marked defunct");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_directory_tells_a_mother_where_to_go() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let token = app.token("ngo-brobyggerne", "visits:read").await;
    let response = app
        .graphql(
            Some(&token),
            queries::SERVICES,
            json!({ "filter": { "municipalityCode": 751, "language": "ti" } }),
        )
        .await;
    let data = response.data();
    assert_eq!(strings(data, "services", "name"), ["Sprogcenter Aarhus"]);
    let school = nodes(data, "services")[0];
    assert_eq!(school["locations"][0]["postcode"], "8000");
    assert_eq!(
        school["locations"][0]["openingHours"][0]["weekday"],
        "MONDAY"
    );
    let named = referral::Entity::find()
        .filter(referral::Column::ServiceId.is_not_null())
        .count(&app.db)
        .await
        .expect("referrals");
    assert!(
        named > 0,
        "some demo referrals name the service they ask for"
    );
}
