//! The seven lists: rows come back with their fields and `totalCount`, every filter keeps
//! what it should and drops what it should not, and bad arguments are `BAD_USER_INPUT` with
//! a message a partner developer can act on — never rows.

use bydel::ids::Kind;
use entity::enums::{
    ConsentPurpose, CourseKind, MotherStatus, PartnerRole, ProjectStatus, ReferralStatus,
    VisitChannel, VisitTopic,
};
use sea_orm::ActiveValue::Set;
use serde_json::{Value, json};

use crate::{
    harness::{
        ALL_READ, TestApp,
        fixtures::{at, date},
        nodes, strings, total_count,
    },
    queries,
};

/// Runs a list query and returns its `data`, failing on any error.
async fn list(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    app.graphql(Some(token), query, variables)
        .await
        .data()
        .clone()
}

fn id(kind: Kind, uuid: uuid::Uuid) -> String {
    kind.id(uuid).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_list_and_filter_by_kind_and_municipality() {
    let app = TestApp::spawn().await;
    let base = app.fixtures().base().await;
    let token = app.token("secretariat", ALL_READ).await;

    let data = list(&app, &token, queries::ORGANISATIONS, json!({})).await;
    assert_eq!(total_count(&data, "organisations"), 4);
    assert_eq!(
        strings(&data, "organisations", "shortName"),
        ["kommune-101", "kommune-730", "ngo-red-cross", "secretariat"]
    );
    let rows = nodes(&data, "organisations");
    assert_eq!(rows[0]["kind"], "MUNICIPALITY");
    assert_eq!(rows[0]["name"], "Organisation kommune-101");
    assert_eq!(
        rows[0]["municipality"],
        json!({ "code": 101, "name": "København", "region": "Region Hovedstaden" })
    );
    assert_eq!(rows[2]["kind"], "NGO");
    assert!(rows[2]["municipality"].is_null());
    assert_eq!(rows[3]["kind"], "SECRETARIAT");
    assert_eq!(rows[3]["id"], id(Kind::Organisation, base.secretariat.id));

    let cases = [
        (
            json!({ "kind": ["MUNICIPALITY"] }),
            vec!["kommune-101", "kommune-730"],
        ),
        (
            json!({ "kind": ["NGO", "SECRETARIAT"] }),
            vec!["ngo-red-cross", "secretariat"],
        ),
        (json!({ "municipalityCode": 730 }), vec!["kommune-730"]),
        (
            json!({ "kind": ["MUNICIPALITY"], "municipalityCode": 101 }),
            vec!["kommune-101"],
        ),
        (json!({ "municipalityCode": 751 }), vec![]),
    ];
    for (filter, expected) in cases {
        let data = list(
            &app,
            &token,
            queries::ORGANISATIONS,
            json!({ "filter": filter }),
        )
        .await;
        assert_eq!(
            strings(&data, "organisations", "shortName"),
            expected,
            "filter {filter}"
        );
        assert_eq!(
            total_count(&data, "organisations"),
            expected.len() as u64,
            "filter {filter}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_list_and_filter_by_municipality_and_status() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let norrebro = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    fx.partner(&norrebro, &base.copenhagen, PartnerRole::Funder)
        .await;
    fx.mother(&norrebro, "Amina", &[], |m| {
        m.joined_on = Set(date(2010, 5, 1))
    })
    .await;
    fx.mother(&norrebro, "Fatima", &[], |m| {
        m.joined_on = Set(date(2012, 1, 1))
    })
    .await;
    fx.course(&norrebro, "Hold 1", date(2011, 2, 1), |_| {})
        .await;
    fx.project("Tingbjerg", 101, &base.ngo, |p| {
        p.status = Set(ProjectStatus::Closed);
        p.started_on = Set(date(2009, 1, 1));
        p.ended_on = Set(Some(date(2013, 6, 30)));
    })
    .await;
    fx.project("Randers Øst", 730, &base.randers, |p| {
        p.status = Set(ProjectStatus::Planned)
    })
    .await;
    fx.project("Gellerup", 751, &base.ngo, |p| {
        p.status = Set(ProjectStatus::Paused)
    })
    .await;
    let token = app.token("secretariat", ALL_READ).await;

    let data = list(&app, &token, queries::PROJECTS, json!({})).await;
    assert_eq!(total_count(&data, "projects"), 4);
    assert_eq!(
        strings(&data, "projects", "name"),
        ["Gellerup", "Nørrebro", "Randers Øst", "Tingbjerg"]
    );
    let rows = nodes(&data, "projects");
    assert_eq!(rows[1]["id"], id(Kind::Project, norrebro.id));
    assert_eq!(rows[1]["status"], "ACTIVE");
    assert_eq!(rows[1]["startedOn"], "2010-01-01");
    assert!(rows[1]["endedOn"].is_null());
    assert_eq!(
        rows[1]["municipality"],
        json!({ "code": 101, "name": "København" })
    );
    assert_eq!(rows[1]["operator"]["shortName"], "ngo-red-cross");
    assert_eq!(
        rows[1]["partners"],
        json!([{ "role": "FUNDER", "organisation": { "shortName": "kommune-101" } }])
    );
    assert_eq!(
        rows[1]["mothers"],
        json!([{ "firstName": "Amina" }, { "firstName": "Fatima" }])
    );
    assert_eq!(rows[1]["courses"], json!([{ "name": "Hold 1" }]));
    assert_eq!(rows[3]["status"], "CLOSED");
    assert_eq!(rows[3]["endedOn"], "2013-06-30");
    assert_eq!(rows[2]["operator"]["shortName"], "kommune-730");

    let cases = [
        (
            json!({ "municipalityCode": 101 }),
            vec!["Nørrebro", "Tingbjerg"],
        ),
        (
            json!({ "status": ["ACTIVE", "PAUSED"] }),
            vec!["Gellerup", "Nørrebro"],
        ),
        (json!({ "status": ["PLANNED"] }), vec!["Randers Øst"]),
        (
            json!({ "municipalityCode": 101, "status": ["CLOSED"] }),
            vec!["Tingbjerg"],
        ),
        (
            json!({ "municipalityCode": 730, "status": ["ACTIVE"] }),
            vec![],
        ),
        (json!({ "municipalityCode": 999 }), vec![]),
    ];
    for (filter, expected) in cases {
        let data = list(&app, &token, queries::PROJECTS, json!({ "filter": filter })).await;
        assert_eq!(
            strings(&data, "projects", "name"),
            expected,
            "filter {filter}"
        );
        assert_eq!(
            total_count(&data, "projects"),
            expected.len() as u64,
            "filter {filter}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mothers_list_and_filter_by_status_language_and_project() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let norrebro = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let randers = fx.project("Randers Øst", 730, &base.randers, |_| {}).await;
    let amina = fx
        .mother(&norrebro, "Amina", &["ar", "da"], |m| {
            m.joined_on = Set(date(2010, 5, 1))
        })
        .await;
    fx.mother(&norrebro, "Hodan", &["so"], |m| {
        m.status = Set(MotherStatus::InTraining);
        m.joined_on = Set(date(2012, 2, 1));
    })
    .await;
    fx.mother(&randers, "Leyla", &["tr", "ar"], |m| {
        m.status = Set(MotherStatus::Certified);
        m.joined_on = Set(date(2011, 1, 15));
    })
    .await;
    fx.mother(&randers, "Maryam", &["fa"], |m| {
        m.status = Set(MotherStatus::Left);
        m.joined_on = Set(date(2009, 9, 1));
        m.left_on = Set(Some(date(2012, 1, 1)));
    })
    .await;
    let token = app.token("secretariat", ALL_READ).await;

    let data = list(&app, &token, queries::MOTHERS, json!({})).await;
    assert_eq!(total_count(&data, "mothers"), 4);
    assert_eq!(
        strings(&data, "mothers", "firstName"),
        ["Maryam", "Amina", "Leyla", "Hodan"],
        "longest-serving first"
    );
    let first = nodes(&data, "mothers")[1];
    assert_eq!(first["id"], id(Kind::Mother, amina.id));
    assert_eq!(first["lastName"], "Hansen");
    assert_eq!(first["status"], "ACTIVE");
    assert_eq!(first["joinedOn"], "2010-05-01");
    assert_eq!(first["languages"], json!(["ar", "da"]));
    assert_eq!(first["project"]["name"], "Nørrebro");

    let norrebro_id = id(Kind::Project, norrebro.id);
    let randers_id = id(Kind::Project, randers.id);
    let cases = [
        (
            json!({ "status": ["ACTIVE", "CERTIFIED"] }),
            vec!["Amina", "Leyla"],
        ),
        (json!({ "status": ["LEFT"] }), vec!["Maryam"]),
        (json!({ "language": "ar" }), vec!["Amina", "Leyla"]),
        (json!({ "language": "so" }), vec!["Hodan"]),
        (json!({ "language": "sw" }), vec![]),
        (json!({ "projectId": randers_id }), vec!["Maryam", "Leyla"]),
        (
            json!({ "projectId": norrebro_id, "language": "ar" }),
            vec!["Amina"],
        ),
        (
            json!({ "projectId": norrebro_id, "status": ["LEFT"] }),
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        let data = list(&app, &token, queries::MOTHERS, json!({ "filter": filter })).await;
        assert_eq!(
            strings(&data, "mothers", "firstName"),
            expected,
            "filter {filter}"
        );
        assert_eq!(
            total_count(&data, "mothers"),
            expected.len() as u64,
            "filter {filter}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_list_with_enrolments_and_filters() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let norrebro = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let other = fx.project("Gellerup", 751, &base.ngo, |_| {}).await;
    let amina = fx.mother(&norrebro, "Amina", &[], |_| {}).await;
    let hodan = fx.mother(&norrebro, "Hodan", &[], |_| {}).await;
    let hold_2011 = fx
        .course(&norrebro, "Hold 2011", date(2011, 2, 1), |_| {})
        .await;
    let hold_2012 = fx
        .course(&norrebro, "Hold 2012", date(2012, 2, 1), |_| {})
        .await;
    fx.course(&norrebro, "Supplerende 2012", date(2012, 9, 1), |c| {
        c.kind = Set(CourseKind::Supplementary);
        c.module_count = Set(4);
    })
    .await;
    let certified = fx
        .enrolment(&hold_2011, &amina, Some(date(2011, 6, 20)))
        .await;
    fx.attended(&certified, 1..=15, date(2011, 2, 1)).await;
    let enrolled = fx.enrolment(&hold_2012, &hodan, None).await;
    fx.attended(&enrolled, 1..=3, date(2012, 2, 1)).await;
    let token = app.token("secretariat", ALL_READ).await;

    let data = list(&app, &token, queries::COURSES, json!({})).await;
    assert_eq!(total_count(&data, "courses"), 3);
    assert_eq!(
        strings(&data, "courses", "name"),
        ["Supplerende 2012", "Hold 2012", "Hold 2011"],
        "newest course first"
    );
    let rows = nodes(&data, "courses");
    assert_eq!(rows[0]["kind"], "SUPPLEMENTARY");
    assert_eq!(rows[0]["moduleCount"], 4);
    assert_eq!(rows[0]["enrolments"], json!([]));
    assert_eq!(rows[2]["id"], id(Kind::Course, hold_2011.id));
    assert_eq!(rows[2]["kind"], "BASIC");
    assert_eq!(rows[2]["moduleCount"], 15);
    assert_eq!(rows[2]["startsOn"], "2011-02-01");
    assert_eq!(rows[2]["project"]["name"], "Nørrebro");
    assert_eq!(
        rows[2]["enrolments"],
        json!([{
            "id": id(Kind::Enrolment, certified.id),
            "status": "COMPLETED",
            "certifiedOn": "2011-06-20",
            "attendedModules": (1..=15).collect::<Vec<i32>>(),
            "mother": { "firstName": "Amina" },
        }])
    );
    assert_eq!(
        rows[1]["enrolments"],
        json!([{
            "id": id(Kind::Enrolment, enrolled.id),
            "status": "ENROLLED",
            "certifiedOn": null,
            "attendedModules": [1, 2, 3],
            "mother": { "firstName": "Hodan" },
        }])
    );

    let cases = [
        (json!({ "kind": "SUPPLEMENTARY" }), vec!["Supplerende 2012"]),
        (
            json!({ "startsFrom": "2012-01-01" }),
            vec!["Supplerende 2012", "Hold 2012"],
        ),
        (
            json!({ "startsFrom": "2012-01-01", "startsTo": "2012-06-30" }),
            vec!["Hold 2012"],
        ),
        (json!({ "projectId": id(Kind::Project, other.id) }), vec![]),
    ];
    for (filter, expected) in cases {
        let data = list(&app, &token, queries::COURSES, json!({ "filter": filter })).await;
        assert_eq!(
            strings(&data, "courses", "name"),
            expected,
            "filter {filter}"
        );
        assert_eq!(
            total_count(&data, "courses"),
            expected.len() as u64,
            "filter {filter}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_list_with_consents_and_filters() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let norrebro = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let sara = fx
        .participant(
            "BM-AAAA-0001",
            Some(&norrebro),
            &base.ngo,
            &["ar", "da"],
            |p| {
                p.first_name = Set(Some("Sara".into()));
                p.birth_year = Set(Some(1980));
                p.created_at = Set(at("2024-01-01T10:00:00Z"));
            },
        )
        .await;
    let share = fx
        .consent(
            &sara,
            ConsentPurpose::ShareWithReceiver,
            Some(&base.copenhagen),
            |_| {},
        )
        .await;
    let withdrawn = fx
        .consent(&sara, ConsentPurpose::Statistics, None, |c| {
            c.given_at = Set(at("2024-01-11T10:00:00Z"));
            c.withdrawn_at = Set(Some(at("2024-02-01T10:00:00Z")));
        })
        .await;
    fx.participant("BM-AAAA-0002", None, &base.copenhagen, &[], |p| {
        p.created_at = Set(at("2024-01-02T10:00:00Z"))
    })
    .await;
    let token = app.token("secretariat", ALL_READ).await;

    let data = list(&app, &token, queries::PARTICIPANTS, json!({})).await;
    assert_eq!(total_count(&data, "participants"), 2);
    assert_eq!(
        strings(&data, "participants", "pseudonym"),
        ["BM-AAAA-0002", "BM-AAAA-0001"],
        "most recently registered first"
    );
    let rows = nodes(&data, "participants");
    assert!(rows[0]["project"].is_null(), "in the municipality's pool");
    assert_eq!(rows[0]["registeredBy"]["shortName"], "kommune-101");
    assert_eq!(rows[0]["consents"], json!([]));
    assert_eq!(rows[1]["id"], id(Kind::Participant, sara.id));
    assert_eq!(rows[1]["firstName"], "Sara");
    assert_eq!(rows[1]["birthYear"], 1980);
    assert_eq!(rows[1]["languages"], json!(["ar", "da"]));
    assert_eq!(rows[1]["project"]["name"], "Nørrebro");
    assert_eq!(rows[1]["registeredBy"]["shortName"], "ngo-red-cross");
    assert_eq!(
        rows[1]["consents"],
        json!([
            {
                "id": id(Kind::Consent, share.id),
                "purpose": "SHARE_WITH_RECEIVER",
                "isLive": true,
                "receiver": { "shortName": "kommune-101" },
            },
            {
                "id": id(Kind::Consent, withdrawn.id),
                "purpose": "STATISTICS",
                "isLive": false,
                "receiver": null,
            },
        ])
    );

    let cases = [
        (json!({ "pseudonym": "BM-AAAA-0001" }), vec!["BM-AAAA-0001"]),
        (json!({ "pseudonym": "bm-aaaa-0002" }), vec!["BM-AAAA-0002"]),
        (json!({ "pseudonym": "BM-ZZZZ-9999" }), vec![]),
        (
            json!({ "projectId": id(Kind::Project, norrebro.id) }),
            vec!["BM-AAAA-0001"],
        ),
    ];
    for (filter, expected) in cases {
        let data = list(
            &app,
            &token,
            queries::PARTICIPANTS,
            json!({ "filter": filter }),
        )
        .await;
        assert_eq!(
            strings(&data, "participants", "pseudonym"),
            expected,
            "filter {filter}"
        );
        assert_eq!(
            total_count(&data, "participants"),
            expected.len() as u64,
            "filter {filter}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visits_list_and_filter_by_dates_channel_topic_and_project() {
    use VisitChannel::*;
    use VisitTopic::*;
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let norrebro = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let randers = fx.project("Randers Øst", 730, &base.randers, |_| {}).await;
    let amina = fx.mother(&norrebro, "Amina", &[], |_| {}).await;
    let leyla = fx.mother(&randers, "Leyla", &[], |_| {}).await;
    let participant = fx
        .participant("BM-VVVV-0001", Some(&randers), &base.ngo, &[], |_| {})
        .await;

    let may_1 = fx
        .visit(
            &amina,
            date(2012, 5, 1),
            HomeVisit,
            &[Children, Health],
            |_| {},
        )
        .await;
    let may_20 = fx
        .visit(&amina, date(2012, 5, 20), PhoneCall, &[Loneliness], |_| {})
        .await;
    let june_1 = fx
        .visit(
            &amina,
            date(2012, 6, 1),
            GroupEvent,
            &[Language, Children],
            |v| {
                v.attendee_count = Set(Some(12));
                v.duration_minutes = Set(120);
            },
        )
        .await;
    let may_15 = fx
        .visit(
            &leyla,
            date(2012, 5, 15),
            Accompaniment,
            &[MunicipalityContact],
            |v| v.participant_id = Set(Some(participant.id)),
        )
        .await;
    let april_30 = fx
        .visit(&leyla, date(2012, 4, 30), HomeVisit, &[Housing], |_| {})
        .await;
    let may_31 = fx
        .visit(&leyla, date(2012, 5, 31), PhoneCall, &[Economy], |_| {})
        .await;
    let token = app.token("secretariat", ALL_READ).await;
    let vid = |visit: &entity::visit::Model| id(Kind::Visit, visit.id);

    let data = list(&app, &token, queries::VISITS, json!({})).await;
    assert_eq!(total_count(&data, "visits"), 6);
    assert_eq!(
        strings(&data, "visits", "id"),
        [
            vid(&june_1),
            vid(&may_31),
            vid(&may_20),
            vid(&may_15),
            vid(&may_1),
            vid(&april_30)
        ],
        "most recent visit first"
    );
    let rows = nodes(&data, "visits");
    assert_eq!(rows[0]["channel"], "GROUP_EVENT");
    assert_eq!(rows[0]["visitedOn"], "2012-06-01");
    assert_eq!(rows[0]["durationMinutes"], 120);
    assert_eq!(rows[0]["topics"], json!(["CHILDREN", "LANGUAGE"]));
    assert_eq!(rows[0]["contactOrigin"], "MOTHER_NETWORK");
    assert_eq!(rows[0]["nextStep"], "NONE");
    assert_eq!(rows[0]["attendeeCount"], 12);
    assert_eq!(rows[0]["project"]["name"], "Nørrebro");
    assert_eq!(rows[0]["mother"]["firstName"], "Amina");
    assert!(rows[0]["participant"].is_null(), "anonymous by default");
    assert_eq!(rows[3]["channel"], "ACCOMPANIMENT");
    assert_eq!(rows[3]["participant"]["pseudonym"], "BM-VVVV-0001");

    let cases = [
        (
            json!({ "from": "2012-05-01", "to": "2012-05-31" }),
            vec![&may_31, &may_20, &may_15, &may_1],
        ),
        (json!({ "from": "2012-05-21" }), vec![&june_1, &may_31]),
        (json!({ "to": "2012-05-01" }), vec![&may_1, &april_30]),
        (json!({ "from": "2012-05-02", "to": "2012-05-02" }), vec![]),
        (
            json!({ "channel": ["HOME_VISIT"] }),
            vec![&may_1, &april_30],
        ),
        (
            json!({ "channel": ["PHONE_CALL", "GROUP_EVENT"] }),
            vec![&june_1, &may_31, &may_20],
        ),
        (json!({ "topic": "CHILDREN" }), vec![&june_1, &may_1]),
        (json!({ "topic": "SCHOOL" }), vec![]),
        (
            json!({ "projectId": id(Kind::Project, randers.id) }),
            vec![&may_31, &may_15, &april_30],
        ),
        (
            json!({
                "projectId": id(Kind::Project, norrebro.id),
                "from": "2012-05-01",
                "to": "2012-05-31",
                "topic": "LONELINESS",
            }),
            vec![&may_20],
        ),
    ];
    for (filter, expected) in cases {
        let data = list(&app, &token, queries::VISITS, json!({ "filter": filter })).await;
        let expected: Vec<String> = expected.into_iter().map(vid).collect();
        assert_eq!(strings(&data, "visits", "id"), expected, "filter {filter}");
        assert_eq!(
            total_count(&data, "visits"),
            expected.len() as u64,
            "filter {filter}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrals_list_and_filter_by_status_receiver_and_updated_since() {
    use ReferralStatus::*;
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let norrebro = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let mut participants = Vec::new();
    for n in 1..=4 {
        participants.push(
            fx.participant(
                &format!("BM-RRRR-000{n}"),
                Some(&norrebro),
                &base.ngo,
                &[],
                |_| {},
            )
            .await,
        );
    }
    let specs = [
        (
            &base.copenhagen,
            Requested,
            "2024-01-01T09:00:00Z",
            "2024-03-01T10:00:00Z",
        ),
        (
            &base.randers,
            Accepted,
            "2024-01-02T09:00:00Z",
            "2024-03-05T10:00:00Z",
        ),
        (
            &base.copenhagen,
            Completed,
            "2024-01-03T09:00:00Z",
            "2024-03-10T12:00:00Z",
        ),
        (
            &base.copenhagen,
            Rejected,
            "2024-01-04T09:00:00Z",
            "2024-02-01T10:00:00Z",
        ),
    ];
    let mut made = Vec::new();
    for ((receiver, status, created, updated), participant) in specs.into_iter().zip(&participants)
    {
        let referral = fx
            .referral(&base.ngo, receiver, participant, status, |r| {
                r.created_at = Set(at(created));
                r.updated_at = Set(at(updated));
            })
            .await;
        made.push(referral);
    }
    let [requested, accepted, completed, rejected]: [entity::referral::Model; 4] =
        made.try_into().expect("four referrals");
    let events = fx
        .timeline(
            &completed,
            &base.ngo,
            &[Draft, Requested, Accepted, InProgress, Completed],
        )
        .await;
    let token = app.token("secretariat", ALL_READ).await;
    let rid = |r: &entity::referral::Model| id(Kind::Referral, r.id);

    let data = list(&app, &token, queries::REFERRALS, json!({})).await;
    assert_eq!(total_count(&data, "referrals"), 4);
    assert_eq!(
        strings(&data, "referrals", "id"),
        [
            rid(&rejected),
            rid(&completed),
            rid(&accepted),
            rid(&requested)
        ],
        "newest referral first"
    );
    let rows = nodes(&data, "referrals");
    assert_eq!(rows[0]["status"], "REJECTED");
    assert_eq!(rows[0]["statusReason"], "COULD_NOT_CONTACT");
    assert!(rows[0]["outcome"].is_null());
    assert_eq!(rows[0]["events"], json!([]));
    let done = rows[1];
    assert_eq!(done["direction"], "OUTBOUND");
    assert_eq!(done["status"], "COMPLETED");
    assert!(done["statusReason"].is_null());
    assert_eq!(done["outcome"], "SERVICE_PROVIDED");
    assert_eq!(done["serviceCategory"], "HEALTH_VISITOR");
    assert_eq!(done["version"], 1);
    assert_eq!(done["requester"]["shortName"], "ngo-red-cross");
    assert_eq!(done["receiver"]["shortName"], "kommune-101");
    assert_eq!(done["project"]["name"], "Nørrebro");
    assert_eq!(done["participant"]["pseudonym"], "BM-RRRR-0003");
    let timeline: Vec<Value> = events
        .iter()
        .zip([
            (Value::Null, "DRAFT"),
            (json!("DRAFT"), "REQUESTED"),
            (json!("REQUESTED"), "ACCEPTED"),
            (json!("ACCEPTED"), "IN_PROGRESS"),
            (json!("IN_PROGRESS"), "COMPLETED"),
        ])
        .map(|(event, (from, to))| {
            json!({
                "id": id(Kind::ReferralEvent, event.id),
                "sequence": event.sequence,
                "fromStatus": from,
                "toStatus": to,
                "actor": { "shortName": "ngo-red-cross" },
            })
        })
        .collect();
    assert_eq!(
        done["events"],
        json!(timeline),
        "the timeline, oldest first"
    );
    assert_eq!(rows[2]["receiver"]["shortName"], "kommune-730");

    let copenhagen = id(Kind::Organisation, base.copenhagen.id);
    let cases = [
        (
            json!({ "status": ["REQUESTED", "ACCEPTED"] }),
            vec![&accepted, &requested],
        ),
        (json!({ "status": ["DRAFT"] }), vec![]),
        (
            json!({ "receiverOrganisationId": copenhagen }),
            vec![&rejected, &completed, &requested],
        ),
        (
            json!({ "receiverOrganisationId": id(Kind::Organisation, base.ngo.id) }),
            vec![],
        ),
        (
            json!({ "status": ["COMPLETED", "REJECTED"], "receiverOrganisationId": copenhagen }),
            vec![&rejected, &completed],
        ),
        (
            json!({ "updatedSince": "2024-03-01T10:00:00Z" }),
            vec![&completed, &accepted, &requested],
        ),
        (
            json!({ "updatedSince": "2024-03-06T00:00:00Z" }),
            vec![&completed],
        ),
        (json!({ "updatedSince": "2024-03-10T12:00:01Z" }), vec![]),
    ];
    for (filter, expected) in cases {
        let data = list(
            &app,
            &token,
            queries::REFERRALS,
            json!({ "filter": filter }),
        )
        .await;
        let expected: Vec<String> = expected.into_iter().map(rid).collect();
        assert_eq!(
            strings(&data, "referrals", "id"),
            expected,
            "filter {filter}"
        );
        assert_eq!(
            total_count(&data, "referrals"),
            expected.len() as u64,
            "filter {filter}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_list_arguments_are_bad_user_input_with_a_useful_message() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let participant = fx
        .participant("BM-BBBB-0001", Some(&project), &base.ngo, &[], |_| {})
        .await;
    fx.referral(
        &base.ngo,
        &base.copenhagen,
        &participant,
        ReferralStatus::Requested,
        |_| {},
    )
    .await;
    let token = app.token("secretariat", ALL_READ).await;
    let by_update = app
        .graphql(
            Some(&token),
            queries::REFERRALS,
            json!({ "orderBy": "UPDATED_AT", "first": 1 }),
        )
        .await;
    let update_cursor = by_update.data()["referrals"]["pageInfo"]["endCursor"].clone();
    assert!(update_cursor.is_string(), "{}", by_update.body);

    let cases = [
        (
            "first over the maximum",
            queries::REFERRALS,
            json!({ "first": 101 }),
            "100",
        ),
        (
            "negative first",
            queries::REFERRALS,
            json!({ "first": -1 }),
            "-1",
        ),
        (
            "negative last",
            queries::REFERRALS,
            json!({ "last": -5 }),
            "-5",
        ),
        (
            "first and last together",
            queries::REFERRALS,
            json!({ "first": 5, "last": 5 }),
            "not both",
        ),
        (
            "a Project id as receiverOrganisationId",
            queries::REFERRALS,
            json!({ "filter": { "receiverOrganisationId": id(Kind::Project, project.id) } }),
            "Organisation",
        ),
        (
            "a garbage id",
            queries::REFERRALS,
            json!({ "filter": { "receiverOrganisationId": "not-an-id" } }),
            "not-an-id",
        ),
        (
            "a garbage project id in the visits filter",
            queries::VISITS,
            json!({ "filter": { "projectId": "!!" } }),
            "Bydel id",
        ),
        (
            "an unknown status in the document",
            queries::REFERRALS_UNKNOWN_STATUS,
            json!({}),
            "LOST",
        ),
        (
            "an unknown status in the variables",
            queries::REFERRALS,
            json!({ "filter": { "status": ["LOST"] } }),
            "LOST",
        ),
        (
            "an unknown visit channel",
            queries::VISITS,
            json!({ "filter": { "channel": ["TELEPATHY"] } }),
            "TELEPATHY",
        ),
        (
            "a date that is not a date",
            queries::VISITS,
            json!({ "filter": { "from": "2012-13-45" } }),
            "NaiveDate",
        ),
        (
            "to before from",
            queries::VISITS,
            json!({ "filter": { "from": "2012-05-31", "to": "2012-05-01" } }),
            "`to` is before `from`",
        ),
        (
            "a malformed cursor",
            queries::REFERRALS,
            json!({ "after": "definitely not a cursor" }),
            "cursor",
        ),
        (
            "a malformed before cursor",
            queries::REFERRALS,
            json!({ "last": 2, "before": "bm90IGpzb24" }),
            "cursor",
        ),
        (
            "a cursor made for another ordering",
            queries::REFERRALS,
            json!({ "after": update_cursor }),
            "ordering",
        ),
    ];
    let mut failures = Vec::new();
    for (case, query, variables, hint) in cases {
        let response = app.graphql(Some(&token), query, variables).await;
        if response.code() != Some("BAD_USER_INPUT") {
            failures.push(format!(
                "{case}: code {:?}, body {}",
                response.code(),
                response.body
            ));
            continue;
        }
        if !response.message().contains(hint) {
            failures.push(format!(
                "{case}: the message {:?} does not mention {hint:?}",
                response.message()
            ));
        }
        let data = &response.body["data"];
        let leaked = ["referrals", "visits"]
            .iter()
            .any(|list| data.get(list).is_some_and(|v| !v.is_null()));
        if leaked {
            failures.push(format!("{case}: rows came back with the error: {data}"));
        }
    }
    assert!(
        failures.is_empty(),
        "bad arguments not refused properly:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisation_filter_rejects_an_unknown_kind() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", ALL_READ).await;

    let response = app
        .graphql(
            Some(&token),
            queries::ORGANISATIONS,
            json!({ "filter": { "kind": ["CHURCH"] } }),
        )
        .await;

    let message = response.expect_error("BAD_USER_INPUT");
    assert!(message.contains("CHURCH"), "{message}");
    assert!(response.has_no_data(), "{}", response.body);
}
