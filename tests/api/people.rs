//! People (issue 15 part 3): tokens bound to a mother (the mothers' app) or to a named staff
//! member. A mother's token sees her project, herself, her own visits and courses and the
//! women she supports, and writes only her own work; nothing of another mother's. The audit
//! trail names the person as well as the client. Every refusal writes nothing.

use bydel::{
    auth::ScopeSet,
    ids::Kind,
    tokens::{BindTo, MOTHER_SCOPES},
};
use chrono::Duration;
use entity::{
    audit_event, course, enums::AuditAction, enums::MotherStatus, enums::OrganisationKind,
    enums::VisitChannel, enums::VisitTopic, mother, organisation, participant, project, visit,
    volunteer_hours,
};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    harness::{
        ALL_READ, GqlResponse, TestApp,
        fixtures::{Base, date},
        nodes, total_count,
    },
    queries,
    tokens::{ADMIN, gid, new_client, string},
    visits_write::bad_field,
};

/// The mothers' app's client name.
const APP: &str = "mothers-app";

/// Nørrebro (101) and Randers Øst (730), both run by `ngo-red-cross`; Aarhus Vest (751) run
/// by `ngo-other`. Amina and Leyla serve in Nørrebro, Sara in Randers Øst, Noor in Aarhus.
/// Amina visited Fatima (`pa`); Leyla visited Fatima too, and Layla (`pl`); Sara visited
/// `pq`. Amina is enrolled in Nørrebro's spring course, Leyla in its autumn course.
struct World {
    app: TestApp,
    base: Base,
    other: organisation::Model,
    norrebro: project::Model,
    randers: project::Model,
    amina: mother::Model,
    leyla: mother::Model,
    noor: mother::Model,
    pa: participant::Model,
    pl: participant::Model,
    amina_visit: visit::Model,
    leyla_visit: visit::Model,
    spring: course::Model,
    autumn: course::Model,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let f = app.fixtures();
    let base = f.base().await;
    let other = f
        .organisation("ngo-other", OrganisationKind::Ngo, None)
        .await;
    let norrebro = f.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let randers = f.project("Randers Øst", 730, &base.ngo, |_| {}).await;
    let aarhus = f.project("Aarhus Vest", 751, &other, |_| {}).await;
    let amina = f.mother(&norrebro, "Amina", &["ar"], |_| {}).await;
    let leyla = f.mother(&norrebro, "Leyla", &["tr"], |_| {}).await;
    let sara = f.mother(&randers, "Sara", &["so"], |_| {}).await;
    let noor = f.mother(&aarhus, "Noor", &["fa"], |_| {}).await;
    let named = |name: &'static str| {
        move |p: &mut participant::ActiveModel| p.first_name = Set(Some(name.to_owned()))
    };
    let pa = f
        .participant(
            "BM-PA",
            Some(&norrebro),
            &base.ngo,
            &["ar"],
            named("Fatima"),
        )
        .await;
    let pl = f
        .participant("BM-PL", Some(&norrebro), &base.ngo, &["tr"], named("Layla"))
        .await;
    let pq = f
        .participant("BM-PQ", Some(&randers), &base.ngo, &[], named("Hodan"))
        .await;
    f.participant("BM-PR", Some(&aarhus), &other, &[], |_| {})
        .await;
    let of = |participant: &participant::Model| {
        let id = participant.id;
        move |v: &mut visit::ActiveModel| v.participant_id = Set(Some(id))
    };
    let topics = [VisitTopic::Children];
    let amina_visit = f
        .visit(
            &amina,
            date(2025, 5, 1),
            VisitChannel::HomeVisit,
            &topics,
            of(&pa),
        )
        .await;
    let leyla_visit = f
        .visit(
            &leyla,
            date(2025, 5, 2),
            VisitChannel::HomeVisit,
            &topics,
            of(&pa),
        )
        .await;
    f.visit(
        &leyla,
        date(2025, 5, 3),
        VisitChannel::HomeVisit,
        &topics,
        of(&pl),
    )
    .await;
    f.visit(
        &sara,
        date(2025, 5, 4),
        VisitChannel::HomeVisit,
        &topics,
        of(&pq),
    )
    .await;
    f.visit(
        &noor,
        date(2025, 5, 5),
        VisitChannel::HomeVisit,
        &topics,
        |_| {},
    )
    .await;
    let spring = f.course(&norrebro, "Forår", date(2025, 3, 1), |_| {}).await;
    let autumn = f
        .course(&norrebro, "Efterår", date(2025, 9, 1), |_| {})
        .await;
    let winter = f
        .course(&randers, "Vinter", date(2025, 1, 10), |_| {})
        .await;
    f.enrolment(&spring, &amina, None).await;
    f.enrolment(&autumn, &leyla, None).await;
    f.enrolment(&winter, &sara, None).await;
    World {
        app,
        base,
        other,
        norrebro,
        randers,
        amina,
        leyla,
        noor,
        pa,
        pl,
        amina_visit,
        leyla_visit,
        spring,
        autumn,
    }
}

impl World {
    /// A token of the NGO's mothers' app, bound to `person`, exactly as
    /// `bydel token issue --mother/--staff` makes one.
    async fn bound(&self, person: BindTo, scopes: &str) -> String {
        let scopes = ScopeSet::parse(scopes).expect("test scopes parse");
        bydel::tokens::issue_for_person(
            &self.app.db,
            &self.app.keys,
            &self.base.ngo,
            APP,
            &scopes,
            Duration::hours(1),
            Some(person),
        )
        .await
        .unwrap_or_else(|err| panic!("cannot issue a person-bound token: {err}"))
        .token
    }

    /// Amina's token with every scope a mother's token may carry.
    async fn amina(&self) -> String {
        self.bound(BindTo::Mother(self.amina.id), MOTHER_SCOPES)
            .await
    }

    async fn ngo(&self) -> String {
        self.app.token("ngo-red-cross", ALL_READ).await
    }

    /// The secretariat's token managers, who also read the mothers a token names.
    async fn admin(&self) -> String {
        self.app
            .token("secretariat", &format!("{ADMIN} mothers:read"))
            .await
    }

    async fn own_work(&self, token: &str) -> Value {
        let response = self
            .app
            .graphql(Some(token), queries::OWN_WORK, json!({}))
            .await;
        response.data().clone()
    }

    async fn mutate(&self, token: &str, mutation: &str, input: Value) -> GqlResponse {
        self.app
            .graphql(Some(token), mutation, json!({ "input": input }))
            .await
    }

    fn visit_input(&self, mother: &mother::Model, participant: &participant::Model) -> Value {
        json!({
            "projectId": gid(Kind::Project, mother.project_id),
            "motherId": gid(Kind::Mother, mother.id),
            "participantId": gid(Kind::Participant, participant.id),
            "channel": "HOME_VISIT",
            "visitedOn": "2025-06-01",
            "durationMinutes": 75,
            "topics": ["HEALTH"],
            "contactOrigin": "MOTHER_NETWORK",
            "nextStep": "NONE",
        })
    }

    fn hours_input(&self, mother: Option<&mother::Model>) -> Value {
        json!({
            "projectId": gid(Kind::Project, self.norrebro.id),
            "motherId": mother.map(|m| gid(Kind::Mother, m.id)),
            "kind": "MEETING",
            "workedOn": "2025-06-02",
            "minutes": 90,
        })
    }

    async fn rows(&self) -> (u64, u64, u64) {
        let db = &self.app.db;
        (
            visit::Entity::find().count(db).await.expect("visits count"),
            volunteer_hours::Entity::find()
                .count(db)
                .await
                .expect("hours count"),
            participant::Entity::find()
                .count(db)
                .await
                .expect("participants count"),
        )
    }
}

fn ids(values: Vec<&Value>) -> Vec<String> {
    let mut ids: Vec<String> = values.into_iter().map(|v| string(&v["id"])).collect();
    ids.sort();
    ids
}

fn list_ids(value: &Value) -> Vec<String> {
    let items = value
        .as_array()
        .unwrap_or_else(|| panic!("expected a list, got {value:#}"));
    ids(items.iter().collect())
}

/// A refused mutation answers no data: `data` absent, null, or only null fields.
fn nothing_answered(response: &GqlResponse) -> bool {
    response.has_no_data()
        || response.body["data"]
            .as_object()
            .is_some_and(|data| data.values().all(Value::is_null))
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// The NGO's app token reads all of its projects' work; Amina's token only hers: her project,
/// herself, her visit, the woman she visited (and only her own visit of her), her course.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mothers_token_sees_her_own_work_and_nothing_of_another_mothers() {
    let w = world().await;
    let everything = w.own_work(&w.ngo().await).await;
    for (list, count) in [
        ("projects", 2),
        ("mothers", 3),
        ("visits", 4),
        ("participants", 3),
        ("courses", 3),
    ] {
        assert_eq!(total_count(&everything, list), count, "NGO token, {list}");
    }

    let mine = w.own_work(&w.amina().await).await;
    let amina = gid(Kind::Mother, w.amina.id);
    let pa = gid(Kind::Participant, w.pa.id);
    let amina_visit = gid(Kind::Visit, w.amina_visit.id);
    let spring = gid(Kind::Course, w.spring.id);
    let project = &nodes(&mine, "projects");
    assert_eq!(ids(project.clone()), [gid(Kind::Project, w.norrebro.id)]);
    assert_eq!(list_ids(&project[0]["mothers"]), vec![amina.clone()]);
    assert_eq!(list_ids(&project[0]["courses"]), vec![spring.clone()]);
    assert_eq!(ids(nodes(&mine, "mothers")), vec![amina.clone()]);
    assert_eq!(ids(nodes(&mine, "visits")), vec![amina_visit.clone()]);
    assert_eq!(nodes(&mine, "visits")[0]["participant"]["id"], json!(pa));
    let women = nodes(&mine, "participants");
    assert_eq!(ids(women.clone()), vec![pa.clone()]);
    assert_eq!(
        women[0]["firstName"], "Fatima",
        "her operator's personal data"
    );
    assert_eq!(
        ids(nodes(women[0], "visits")),
        [amina_visit],
        "Leyla's visit of the same woman stays hidden"
    );
    let courses = nodes(&mine, "courses");
    assert_eq!(ids(courses.clone()), [spring]);
    let enrolled: Vec<&Value> = courses[0]["enrolments"]
        .as_array()
        .expect("enrolments")
        .iter()
        .map(|e| &e["mother"])
        .collect();
    assert_eq!(ids(enrolled), [amina]);
    for list in ["projects", "mothers", "visits", "participants", "courses"] {
        assert_eq!(total_count(&mine, list), 1, "Amina's token, {list}");
    }
}

/// Looked up by id, another mother's record, visit, woman or course is `null` as if it did not
/// exist, without an error; her own rows resolve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_mothers_rows_by_id_are_null() {
    let w = world().await;
    let token = w.amina().await;
    let lookup = |mother: Uuid, visit: Uuid, participant: Uuid, course: Uuid, project: Uuid| {
        json!({
            "mother": gid(Kind::Mother, mother),
            "visit": gid(Kind::Visit, visit),
            "participant": gid(Kind::Participant, participant),
            "course": gid(Kind::Course, course),
            "project": gid(Kind::Project, project),
        })
    };
    let theirs = lookup(
        w.leyla.id,
        w.leyla_visit.id,
        w.pl.id,
        w.autumn.id,
        w.randers.id,
    );
    let response = w
        .app
        .graphql(Some(&token), queries::OWN_LOOKUPS, theirs)
        .await;
    let data = response.data();
    for field in [
        "mother",
        "visit",
        "participant",
        "course",
        "project",
        "node",
    ] {
        assert!(data[field].is_null(), "{field}: {data:#}");
    }

    let own = lookup(
        w.amina.id,
        w.amina_visit.id,
        w.pa.id,
        w.spring.id,
        w.norrebro.id,
    );
    let response = w.app.graphql(Some(&token), queries::OWN_LOOKUPS, own).await;
    let data = response.data();
    for field in [
        "mother",
        "visit",
        "participant",
        "course",
        "project",
        "node",
    ] {
        assert!(data[field]["id"].is_string(), "{field}: {data:#}");
    }
}

/// She records her own visits and hours and registers a woman she meets; the same writes in
/// another mother's name are `FORBIDDEN`, and in another organisation's project `NOT_FOUND`,
/// with nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mother_records_her_own_work_only() {
    let w = world().await;
    let token = w.amina().await;
    let before = w.rows().await;

    let visit = w
        .mutate(
            &token,
            queries::RECORD_VISIT,
            w.visit_input(&w.amina, &w.pa),
        )
        .await;
    let visit_id = string(&visit.data()["recordVisit"]["id"]);
    let hours = w
        .mutate(
            &token,
            queries::RECORD_VOLUNTEER_HOURS,
            w.hours_input(Some(&w.amina)),
        )
        .await;
    assert_eq!(hours.data()["recordVolunteerHours"]["minutes"], 90);
    let registered = w
        .mutate(
            &token,
            queries::REGISTER_PARTICIPANT,
            json!({ "projectId": gid(Kind::Project, w.norrebro.id), "firstName": "Zainab" }),
        )
        .await;
    let newcomer = string(&registered.data()["registerParticipant"]["id"]);
    let after = w.rows().await;
    assert_eq!(after, (before.0 + 1, before.1 + 1, before.2 + 1));

    let mine = w.own_work(&token).await;
    assert!(ids(nodes(&mine, "visits")).contains(&visit_id));
    assert_eq!(
        ids(nodes(&mine, "participants")),
        sorted(vec![gid(Kind::Participant, w.pa.id), newcomer]),
        "the woman she registered is one she supports"
    );

    for (what, response) in [
        (
            "a visit in Leyla's name",
            w.mutate(
                &token,
                queries::RECORD_VISIT,
                w.visit_input(&w.leyla, &w.pl),
            )
            .await,
        ),
        (
            "hours in Leyla's name",
            w.mutate(
                &token,
                queries::RECORD_VOLUNTEER_HOURS,
                w.hours_input(Some(&w.leyla)),
            )
            .await,
        ),
        (
            "the group's hours",
            w.mutate(&token, queries::RECORD_VOLUNTEER_HOURS, w.hours_input(None))
                .await,
        ),
        (
            "a course",
            w.mutate(
                &token,
                queries::CREATE_COURSE,
                json!({
                    "projectId": gid(Kind::Project, w.norrebro.id),
                    "name": "Hendes eget",
                    "kind": "BASIC",
                    "moduleCount": 15,
                    "startsOn": "2026-01-05",
                }),
            )
            .await,
        ),
        (
            "a change to her own record",
            w.mutate(
                &token,
                queries::UPDATE_MOTHER,
                json!({ "id": gid(Kind::Mother, w.amina.id), "lastName": "Other" }),
            )
            .await,
        ),
    ] {
        response.expect_error("FORBIDDEN");
        assert!(nothing_answered(&response), "{what}: {:#}", response.body);
    }
    let foreign = w
        .mutate(&token, queries::RECORD_VISIT, w.visit_input(&w.noor, &w.pa))
        .await;
    foreign.expect_error("NOT_FOUND");
    let correction = w
        .mutate(
            &token,
            queries::CORRECT_VISIT,
            json!({ "id": gid(Kind::Visit, w.leyla_visit.id), "durationMinutes": 5 }),
        )
        .await;
    correction.expect_error("NOT_FOUND");
    let handover = w
        .mutate(
            &token,
            queries::CORRECT_VISIT,
            json!({ "id": gid(Kind::Visit, w.amina_visit.id), "motherId": gid(Kind::Mother, w.leyla.id) }),
        )
        .await;
    handover.expect_error("FORBIDDEN");
    let stats = w
        .app
        .graphql(Some(&token), queries::STATS_PROBE, json!({}))
        .await;
    stats.expect_error("FORBIDDEN");

    assert_eq!(w.rows().await, after, "no refused write left a row");
    let leyla_visit = visit::Entity::find_by_id(w.leyla_visit.id)
        .one(&w.app.db)
        .await
        .expect("visit reads")
        .expect("Leyla's visit is there");
    assert_eq!(leyla_visit.duration_minutes, 60);
    let amina_visit = visit::Entity::find_by_id(w.amina_visit.id)
        .one(&w.app.db)
        .await
        .expect("visit reads")
        .expect("Amina's visit is there");
    assert_eq!(amina_visit.mother_id, w.amina.id);
    let group_hours = volunteer_hours::Entity::find()
        .filter(volunteer_hours::Column::MotherId.is_null())
        .count(&w.app.db)
        .await
        .expect("hours count");
    assert_eq!(group_hours, 0);
}

/// The secretariat issues a mother's token over GraphQL: the scopes default to the client's
/// within the mother's ceiling; more than the ceiling, a mother of another organisation, one
/// who left, two persons at once, or a staff member of another organisation are each refused
/// on their field, and no token is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secretariat_issues_person_bound_tokens_within_their_bounds() {
    let w = world().await;
    let admin = w.admin().await;
    let ngo = gid(Kind::Organisation, w.base.ngo.id);
    let client = new_client(
        &w.app,
        &admin,
        &ngo,
        APP,
        &[
            "mothers:read",
            "visits:read",
            "visits:write",
            "referrals:read",
        ],
    )
    .await;
    let amina = gid(Kind::Mother, w.amina.id);
    let issued = w
        .mutate(
            &admin,
            queries::ISSUE_PERSON_TOKEN,
            json!({ "clientId": client, "motherId": amina }),
        )
        .await;
    let api_token = &issued.data()["issueToken"]["apiToken"];
    assert_eq!(api_token["mother"]["id"], json!(amina));
    assert!(api_token["staffMember"].is_null());
    assert_eq!(
        api_token["scopes"],
        json!(["mothers:read", "visits:write"]),
        "referrals:read is beyond a mother's ceiling and left out by default (write covers read)"
    );
    let token = string(&issued.data()["issueToken"]["token"]);
    let mothers = w
        .app
        .graphql(Some(&token), queries::MOTHERS, json!({}))
        .await;
    // Without projects:read, `project` is refused; the list itself holds her alone.
    mothers.expect_error("FORBIDDEN");
    assert_eq!(
        ids(nodes(&mothers.body["data"], "mothers")),
        vec![amina.clone()]
    );

    let staff = register_staff(&w, &admin, &w.other, "Karen Other", "other-1").await;
    let left = w
        .app
        .fixtures()
        .mother(&w.norrebro, "Gone", &[], |m| {
            m.status = Set(MotherStatus::Left);
            m.left_on = Set(Some(date(2024, 12, 31)));
        })
        .await;
    let tokens_before = entity::api_token::Entity::find()
        .count(&w.app.db)
        .await
        .expect("tokens count");
    for (input, field) in [
        (
            json!({ "clientId": client, "motherId": amina, "scopes": ["referrals:read"] }),
            "input.scopes",
        ),
        (
            json!({ "clientId": client, "motherId": gid(Kind::Mother, w.noor.id) }),
            "input.motherId",
        ),
        (
            json!({ "clientId": client, "motherId": gid(Kind::Mother, left.id) }),
            "input.motherId",
        ),
        (
            json!({ "clientId": client, "motherId": amina, "staffMemberId": staff }),
            "input.staffMemberId",
        ),
        (
            json!({ "clientId": client, "staffMemberId": staff }),
            "input.staffMemberId",
        ),
    ] {
        let response = w.mutate(&admin, queries::ISSUE_PERSON_TOKEN, input).await;
        assert_eq!(bad_field(&response), field, "{:#}", response.body);
    }
    let tokens_after = entity::api_token::Entity::find()
        .count(&w.app.db)
        .await
        .expect("tokens count");
    assert_eq!(tokens_after, tokens_before);

    let by_ngo = w
        .mutate(
            &w.app.token("ngo-red-cross", ADMIN).await,
            queries::ISSUE_PERSON_TOKEN,
            json!({ "clientId": client, "motherId": amina }),
        )
        .await;
    by_ngo.expect_error("FORBIDDEN");
}

async fn register_staff(
    w: &World,
    admin: &str,
    organisation: &organisation::Model,
    name: &str,
    external_ref: &str,
) -> String {
    let response = w
        .mutate(
            admin,
            queries::REGISTER_STAFF_MEMBER,
            json!({
                "organisationId": gid(Kind::Organisation, organisation.id),
                "name": name,
                "externalRef": external_ref,
            }),
        )
        .await;
    string(&response.data()["registerStaffMember"]["id"])
}

/// Staff members are the secretariat's to register, list and deactivate: an NGO's token with
/// `tokens:admin` is refused, a second staff member with the same reference is a `CONFLICT`,
/// a blank name `BAD_USER_INPUT`; nothing is written by a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_members_are_the_secretariats_to_manage() {
    let w = world().await;
    let admin = w.admin().await;
    let ngo = gid(Kind::Organisation, w.base.ngo.id);
    let karen = register_staff(&w, &admin, &w.base.ngo, "Karen Jensen", "kj-1").await;
    let input = |name: &str, external_ref: &str| json!({ "organisationId": ngo, "name": name, "externalRef": external_ref });
    let duplicate = w
        .mutate(
            &admin,
            queries::REGISTER_STAFF_MEMBER,
            input("Karen Other", "kj-1"),
        )
        .await;
    duplicate.expect_error("CONFLICT");
    let blank = w
        .mutate(&admin, queries::REGISTER_STAFF_MEMBER, input("  ", "kj-2"))
        .await;
    assert_eq!(bad_field(&blank), "input.name");
    let ngo_admin = w.app.token("ngo-red-cross", ADMIN).await;
    let by_ngo = w
        .mutate(
            &ngo_admin,
            queries::REGISTER_STAFF_MEMBER,
            input("Self Made", "kj-3"),
        )
        .await;
    by_ngo.expect_error("FORBIDDEN");
    let deactivate_by_ngo = w
        .app
        .graphql(
            Some(&ngo_admin),
            queries::DEACTIVATE_STAFF_MEMBER,
            json!({ "id": karen }),
        )
        .await;
    deactivate_by_ngo.expect_error("FORBIDDEN");

    let listed = w
        .app
        .graphql(
            Some(&admin),
            queries::STAFF_MEMBERS,
            json!({ "organisationId": ngo }),
        )
        .await;
    let staff = &listed.data()["staffMembers"];
    assert_eq!(
        list_ids(staff),
        vec![karen.clone()],
        "refusals wrote nothing"
    );
    assert!(staff[0]["deactivatedAt"].is_null());
    let listed_by_ngo = w
        .app
        .graphql(
            Some(&ngo_admin),
            queries::STAFF_MEMBERS,
            json!({ "organisationId": ngo }),
        )
        .await;
    assert_eq!(
        listed_by_ngo.data()["staffMembers"],
        json!([]),
        "another organisation's tokens:admin sees no staff rows, not even its own"
    );
}

/// A person's token ends with their role, on the next request even when it was cached: a
/// mother who leaves the programme, a staff member who is deactivated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persons_token_ends_with_their_role() {
    let w = world().await;
    let admin = w.admin().await;
    let karen = register_staff(&w, &admin, &w.base.ngo, "Karen Jensen", "kj-1").await;
    let karen_id: Uuid =
        bydel::ids::decode_as(&karen, Kind::StaffMember, "id").expect("a staff member id");
    let staff_token = w.bound(BindTo::Staff(karen_id), ALL_READ).await;
    let amina = w.amina().await;
    for token in [&staff_token, &amina] {
        let data = w.own_work(token).await;
        assert!(total_count(&data, "mothers") >= 1);
    }

    let writer = w.app.token("ngo-red-cross", "mothers:write").await;
    let left = w
        .mutate(
            &writer,
            queries::CHANGE_MOTHER_STATUS,
            json!({ "id": gid(Kind::Mother, w.amina.id), "status": "LEFT", "on": "2026-11-30" }),
        )
        .await;
    assert_eq!(left.data()["changeMotherStatus"]["status"], "LEFT");
    let refused = w
        .app
        .graphql(Some(&amina), queries::OWN_WORK, json!({}))
        .await;
    assert_eq!(refused.status, 401, "{:#}", refused.body);
    assert!(
        refused
            .expect_error("UNAUTHENTICATED")
            .contains("left the programme")
    );

    let deactivated = w
        .app
        .graphql(
            Some(&admin),
            queries::DEACTIVATE_STAFF_MEMBER,
            json!({ "id": karen }),
        )
        .await;
    assert!(deactivated.data()["deactivateStaffMember"]["deactivatedAt"].is_string());
    let refused = w
        .app
        .graphql(Some(&staff_token), queries::OWN_WORK, json!({}))
        .await;
    assert_eq!(refused.status, 401, "{:#}", refused.body);
    assert!(
        refused
            .expect_error("UNAUTHENTICATED")
            .contains("deactivated")
    );
}

/// The audit trail names the person as well as the client: Amina's read of Fatima's personal
/// data and her recorded visit carry her id; a caseworker's read carries the staff member's;
/// an app token's carries neither. The secretariat filters the trail by either person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_names_the_person_who_acted() {
    let w = world().await;
    let admin = w.admin().await;
    let karen = register_staff(&w, &admin, &w.base.ngo, "Karen Jensen", "kj-1").await;
    let karen_id: Uuid =
        bydel::ids::decode_as(&karen, Kind::StaffMember, "id").expect("a staff member id");
    let amina = w.amina().await;
    w.own_work(&amina).await;
    w.mutate(
        &amina,
        queries::RECORD_VISIT,
        w.visit_input(&w.amina, &w.pa),
    )
    .await
    .data();
    let staff_token = w.bound(BindTo::Staff(karen_id), ALL_READ).await;
    w.own_work(&staff_token).await;
    w.own_work(&w.ngo().await).await;

    let events = |filter: Value| {
        let app = &w.app;
        let admin = admin.clone();
        async move {
            let response = app
                .graphql(
                    Some(&admin),
                    queries::AUDIT_PEOPLE,
                    json!({ "filter": filter }),
                )
                .await;
            nodes(response.data(), "auditEvents")
                .into_iter()
                .cloned()
                .collect::<Vec<Value>>()
        }
    };
    let amina_gid = gid(Kind::Mother, w.amina.id);
    let hers = events(json!({ "motherId": amina_gid })).await;
    let pa = w.pa.id.to_string();
    assert!(
        hers.iter()
            .any(|e| e["action"] == "READ" && e["participantId"] == json!(pa)),
        "her read of Fatima's name: {hers:#?}"
    );
    assert!(
        hers.iter()
            .any(|e| e["action"] == "CREATE" && e["entityType"] == "visit"),
        "her recorded visit: {hers:#?}"
    );
    for event in &hers {
        assert_eq!(event["motherId"], json!(w.amina.id.to_string()));
        assert_eq!(event["mother"]["id"], json!(amina_gid));
        assert!(event["staffMemberId"].is_null());
        assert!(
            event["client"]["id"].is_string(),
            "the client too: {event:#}"
        );
    }

    let karens = events(json!({ "staffMemberId": karen })).await;
    assert!(
        karens
            .iter()
            .filter(|e| e["action"] == "READ")
            .map(|e| e["participantId"].as_str().unwrap_or_default())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            >= 3,
        "her reads of the three women's names: {karens:#?}"
    );
    for event in &karens {
        assert_eq!(event["staffMemberId"], json!(karen_id.to_string()));
        assert_eq!(event["staffMember"]["id"], json!(karen));
        assert!(event["motherId"].is_null());
    }

    let rows = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(AuditAction::Read))
        .all(&w.app.db)
        .await
        .expect("audit events read");
    let anonymous = rows
        .iter()
        .filter(|e| e.mother_id.is_none() && e.staff_member_id.is_none())
        .count();
    assert!(anonymous >= 3, "the app token's own reads name no person");
    assert_eq!(
        rows.len(),
        hers.iter().filter(|e| e["action"] == "READ").count()
            + karens.iter().filter(|e| e["action"] == "READ").count()
            + anonymous
    );
}
