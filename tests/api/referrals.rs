//! Referral writes over HTTP: create a draft, the whole lifecycle table for both sides,
//! optimistic concurrency (stale versions and two clients racing), consent to leave draft,
//! pool claims, and bad input that writes nothing.
//!
//! The world: NGO `ngo-red-cross` operates a project in København (101) and refers its
//! participant to the municipality `kommune-101` (the performer).

use bydel::ids::Kind;
use entity::{
    audit_event,
    enums::{ConsentPurpose, ReferralStatus},
    participant, project, referral, referral_event,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};

use crate::{
    harness::{GqlResponse, TestApp, fixtures::Base},
    queries,
    tokens::gid,
};

/// What each party's client holds.
pub const WRITER: &str =
    "projects:read referrals:read referrals:write participants:read participants:write";

pub struct World {
    pub app: TestApp,
    pub base: Base,
    pub project: project::Model,
    pub participant: participant::Model,
    /// The requester (the NGO operating the project).
    pub ngo: String,
    /// The performer (the municipality receiving the referral).
    pub municipality: String,
}

impl World {
    /// The world with her live consent to share with the municipality.
    pub async fn new() -> World {
        let app = TestApp::spawn().await;
        let fx = app.fixtures();
        let base = fx.base().await;
        let project = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
        let participant = fx
            .participant("BM-TEST-0001", Some(&project), &base.ngo, &["ar"], |p| {
                p.first_name = Set(Some("Amina".into()));
            })
            .await;
        fx.consent(
            &participant,
            ConsentPurpose::ShareWithReceiver,
            Some(&base.copenhagen),
            |_| {},
        )
        .await;
        let ngo = app.token("ngo-red-cross", WRITER).await;
        let municipality = app.token("kommune-101", WRITER).await;
        World {
            app,
            base,
            project,
            participant,
            ngo,
            municipality,
        }
    }

    /// A referral from the NGO to the municipality in `status`, with a one-event timeline.
    pub async fn referral(&self, status: ReferralStatus) -> referral::Model {
        let fx = self.app.fixtures();
        let referral = fx
            .referral(
                &self.base.ngo,
                &self.base.copenhagen,
                &self.participant,
                status,
                |_| {},
            )
            .await;
        fx.timeline(&referral, &self.base.ngo, &[status]).await;
        referral
    }

    pub async fn transition(&self, token: &str, input: Value) -> GqlResponse {
        self.app
            .graphql(
                Some(token),
                queries::TRANSITION_REFERRAL,
                json!({ "input": input }),
            )
            .await
    }
}

/// The referral row and its timeline, as stored.
pub async fn snapshot(
    app: &TestApp,
    id: uuid::Uuid,
) -> (Option<referral::Model>, Vec<referral_event::Model>) {
    let row = referral::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("referral reads");
    let events = referral_event::Entity::find()
        .filter(referral_event::Column::ReferralId.eq(id))
        .order_by_asc(referral_event::Column::Sequence)
        .all(&app.db)
        .await
        .expect("events read");
    (row, events)
}

/// Row counts of everything a referral write touches.
pub async fn counts(app: &TestApp) -> (u64, u64, u64) {
    (
        referral::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        referral_event::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        audit_event::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
    )
}

/// Audit events recording a transition of the referral `id`.
async fn transitions_audited(app: &TestApp, id: uuid::Uuid) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::EntityId.eq(id))
        .filter(audit_event::Column::Action.eq(entity::enums::AuditAction::Transition))
        .count(&app.db)
        .await
        .expect("count")
}

/// The GraphQL name of a status.
fn status(status: ReferralStatus) -> &'static str {
    bydel::referrals::lifecycle::status_name(status)
}

const STATUSES: [ReferralStatus; 10] = [
    ReferralStatus::Draft,
    ReferralStatus::Requested,
    ReferralStatus::Accepted,
    ReferralStatus::Rejected,
    ReferralStatus::InProgress,
    ReferralStatus::OnHold,
    ReferralStatus::Failed,
    ReferralStatus::Completed,
    ReferralStatus::Cancelled,
    ReferralStatus::EnteredInError,
];

/// DESIGN.md's table, stated here independently of the server: (action, requester side?,
/// from statuses, to status).
fn table() -> Vec<(&'static str, bool, Vec<ReferralStatus>, ReferralStatus)> {
    use ReferralStatus as S;
    let open = vec![
        S::Draft,
        S::Requested,
        S::Accepted,
        S::InProgress,
        S::OnHold,
    ];
    vec![
        ("REQUEST", true, vec![S::Draft], S::Requested),
        ("CANCEL", true, open.clone(), S::Cancelled),
        ("MARK_ENTERED_IN_ERROR", true, open, S::EnteredInError),
        ("ACCEPT", false, vec![S::Requested], S::Accepted),
        ("REJECT", false, vec![S::Requested], S::Rejected),
        ("START", false, vec![S::Accepted], S::InProgress),
        ("HOLD", false, vec![S::InProgress], S::OnHold),
        ("RESUME", false, vec![S::OnHold], S::InProgress),
        (
            "COMPLETE",
            false,
            vec![S::Accepted, S::InProgress],
            S::Completed,
        ),
        (
            "FAIL",
            false,
            vec![S::Accepted, S::InProgress, S::OnHold],
            S::Failed,
        ),
    ]
}

/// A valid input for `action` on `referral` (reason / outcome where required).
fn input(referral: &referral::Model, action: &str) -> Value {
    let mut input = json!({
        "id": gid(Kind::Referral, referral.id),
        "version": referral.version,
        "action": action,
        "note": "called her twice",
    });
    match action {
        "REJECT" | "FAIL" | "CANCEL" => input["reason"] = json!("OTHER"),
        "COMPLETE" => input["outcome"] = json!("SERVICE_PROVIDED"),
        _ => {}
    }
    input
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_lifecycle_table_over_http() {
    let world = World::new().await;
    for (action, by_requester, from, to) in table() {
        let (right, wrong) = if by_requester {
            (&world.ngo, &world.municipality)
        } else {
            (&world.municipality, &world.ngo)
        };
        for status_now in STATUSES {
            let case = format!("{action} from {}", status(status_now));
            let referral = world.referral(status_now).await;
            let before = snapshot(&world.app, referral.id).await;
            let audits = transitions_audited(&world.app, referral.id).await;
            if from.contains(&status_now) {
                // The other side is refused, and nothing changes. A draft is the requester's
                // own: the receiver does not even see it.
                let refused = world.transition(wrong, input(&referral, action)).await;
                refused.expect_error(if status_now == ReferralStatus::Draft {
                    "NOT_FOUND"
                } else {
                    "FORBIDDEN"
                });
                assert_eq!(snapshot(&world.app, referral.id).await, before, "{case}");

                let response = world.transition(right, input(&referral, action)).await;
                let moved = &response.data()["transitionReferral"];
                assert_eq!(moved["status"], status(to), "{case}");
                assert_eq!(moved["version"], 2, "{case}");
                let events = moved["events"].as_array().expect("events");
                assert_eq!(events.len(), 2, "{case}");
                assert_eq!(events[1]["fromStatus"], status(status_now), "{case}");
                assert_eq!(events[1]["toStatus"], status(to), "{case}");
                assert_eq!(events[1]["sequence"], 2, "{case}");
                assert_eq!(events[1]["note"], "called her twice", "{case}");
                if matches!(action, "REJECT" | "FAIL" | "CANCEL") {
                    assert_eq!(moved["statusReason"], "OTHER", "{case}");
                    assert_eq!(events[1]["reason"], "OTHER", "{case}");
                    assert!(moved["closedAt"].is_string(), "{case}");
                }
                if action == "COMPLETE" {
                    assert_eq!(moved["outcome"], "SERVICE_PROVIDED", "{case}");
                }
                assert_eq!(
                    transitions_audited(&world.app, referral.id).await,
                    audits + 1,
                    "{case}: one audit event"
                );
            } else if status_now == ReferralStatus::Draft && !by_requester {
                // The receiver's actions on a draft it cannot see.
                let response = world.transition(right, input(&referral, action)).await;
                response.expect_error("NOT_FOUND");
                assert_eq!(snapshot(&world.app, referral.id).await, before, "{case}");
            } else {
                let response = world.transition(right, input(&referral, action)).await;
                let message = response.expect_error("INVALID_TRANSITION");
                assert!(message.contains(status(status_now)), "{case}: {message}");
                assert!(message.contains("allowed actions"), "{case}: {message}");
                assert_eq!(
                    snapshot(&world.app, referral.id).await,
                    before,
                    "{case}: the row and its timeline are unchanged"
                );
                assert_eq!(
                    transitions_audited(&world.app, referral.id).await,
                    audits,
                    "{case}: no audit event"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_a_draft_request_it_and_walk_it_to_completion() {
    let world = World::new().await;
    let app = &world.app;
    let response = app
        .graphql(
            Some(&world.ngo),
            queries::CREATE_REFERRAL,
            json!({ "input": {
                "projectId": gid(Kind::Project, world.project.id),
                "participantId": gid(Kind::Participant, world.participant.id),
                "receiverOrganisationId": gid(Kind::Organisation, world.base.copenhagen.id),
                "serviceCategory": "HEALTH_VISITOR",
                "note": "  she asked for help with her baby  ",
            }}),
        )
        .await;
    let created = &response.data()["createReferral"];
    assert_eq!(created["status"], "DRAFT");
    assert_eq!(created["version"], 1);
    assert_eq!(created["direction"], "OUTBOUND");
    assert_eq!(created["note"], "she asked for help with her baby");
    assert_eq!(
        created["requester"]["id"],
        gid(Kind::Organisation, world.base.ngo.id)
    );
    assert_eq!(
        created["events"],
        json!([{ "sequence": 1, "fromStatus": null, "toStatus": "DRAFT" }])
    );
    let id = created["id"].as_str().expect("id").to_owned();
    let steps = [
        (&world.ngo, "REQUEST", json!({}), "REQUESTED"),
        (&world.municipality, "ACCEPT", json!({}), "ACCEPTED"),
        (&world.municipality, "START", json!({}), "IN_PROGRESS"),
        (&world.municipality, "HOLD", json!({}), "ON_HOLD"),
        (&world.municipality, "RESUME", json!({}), "IN_PROGRESS"),
        (
            &world.municipality,
            "COMPLETE",
            json!({ "outcome": "SERVICE_PROVIDED" }),
            "COMPLETED",
        ),
    ];
    for (version, (token, action, extra, expected)) in (1..).zip(steps) {
        let mut input = json!({ "id": id, "version": version, "action": action });
        if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
            input.extend(extra.clone());
        }
        let response = world.transition(token, input).await;
        let moved = &response.data()["transitionReferral"];
        assert_eq!(moved["status"], expected, "{action}");
        assert_eq!(moved["version"], version + 1, "{action}");
    }
    let uuid = bydel::ids::decode_as(&id, Kind::Referral, "id").expect("a referral id");
    let (row, events) = snapshot(app, uuid).await;
    let row = row.expect("the referral exists");
    assert!(row.requested_at.is_some() && row.accepted_at.is_some() && row.closed_at.is_some());
    assert_eq!(events.len(), 7);
    assert_eq!(
        events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
    let audited = audit_event::Entity::find()
        .filter(audit_event::Column::EntityId.eq(uuid))
        .filter(audit_event::Column::ParticipantId.eq(world.participant.id))
        .count(&app.db)
        .await
        .expect("count");
    assert_eq!(audited, 7, "the creation and six transitions are audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_version_is_a_conflict_and_writes_nothing() {
    let world = World::new().await;
    let referral = world.referral(ReferralStatus::Requested).await;
    let before = snapshot(&world.app, referral.id).await;
    let counted = counts(&world.app).await;
    for version in [0, 2, 7] {
        let mut stale = input(&referral, "ACCEPT");
        stale["version"] = json!(version);
        let response = world.transition(&world.municipality, stale).await;
        let message = response.expect_error("CONFLICT");
        assert!(
            message.contains(&format!("since version {version}")),
            "{message}"
        );
        assert!(message.contains("reload"), "{message}");
        assert!(response.body["data"]["transitionReferral"].is_null());
    }
    assert_eq!(snapshot(&world.app, referral.id).await, before);
    assert_eq!(counts(&world.app).await, counted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_clients_racing_with_one_version_exactly_one_wins() {
    let world = World::new().await;
    let other = world.app.token("kommune-101", WRITER).await;
    for round in 0..3 {
        let referral = world.referral(ReferralStatus::Requested).await;
        let (a, b) = tokio::join!(
            world.transition(&world.municipality, input(&referral, "ACCEPT")),
            world.transition(&other, input(&referral, "REJECT")),
        );
        let wins = [&a, &b].iter().filter(|r| r.errors().is_empty()).count();
        assert_eq!(wins, 1, "round {round}: {:#} {:#}", a.body, b.body);
        let loser = if a.errors().is_empty() { &b } else { &a };
        loser.expect_error("CONFLICT");
        let (row, events) = snapshot(&world.app, referral.id).await;
        assert_eq!(row.expect("exists").version, 2, "round {round}");
        assert_eq!(events.len(), 2, "round {round}: exactly one new event");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_draft_needs_her_live_consent() {
    let world = World::new().await;
    let fx = world.app.fixtures();
    // A receiver she never consented to share with.
    let randers = &world.base.randers;
    let referral = fx
        .referral(
            &world.base.ngo,
            randers,
            &world.participant,
            ReferralStatus::Draft,
            |_| {},
        )
        .await;
    fx.timeline(&referral, &world.base.ngo, &[ReferralStatus::Draft])
        .await;
    let before = snapshot(&world.app, referral.id).await;
    let response = world
        .transition(&world.ngo, input(&referral, "REQUEST"))
        .await;
    let message = response.expect_error("FORBIDDEN");
    assert!(message.contains("consent"), "{message}");
    assert_eq!(snapshot(&world.app, referral.id).await, before);

    // A withdrawn consent is no consent.
    fx.consent(
        &world.participant,
        ConsentPurpose::ShareWithReceiver,
        Some(randers),
        |c| c.withdrawn_at = Set(Some(crate::harness::fixtures::now())),
    )
    .await;
    let response = world
        .transition(&world.ngo, input(&referral, "REQUEST"))
        .await;
    response.expect_error("FORBIDDEN");

    // Cancelling the draft shares nothing and needs no consent.
    let response = world
        .transition(&world.ngo, input(&referral, "CANCEL"))
        .await;
    assert_eq!(response.data()["transitionReferral"]["status"], "CANCELLED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_referrals_are_not_found_and_outsiders_forbidden() {
    let world = World::new().await;
    let referral = world.referral(ReferralStatus::Requested).await;
    // Randers sees nothing of it.
    let randers = world.app.token("kommune-730", WRITER).await;
    world
        .transition(&randers, input(&referral, "ACCEPT"))
        .await
        .expect_error("NOT_FOUND");
    // The secretariat sees it but is no party.
    let secretariat = world.app.token("secretariat", WRITER).await;
    world
        .transition(&secretariat, input(&referral, "ACCEPT"))
        .await
        .expect_error("FORBIDDEN");
    // Reading is not writing.
    let reader = world.app.token("kommune-101", "referrals:read").await;
    world
        .transition(&reader, input(&referral, "ACCEPT"))
        .await
        .expect_error("FORBIDDEN");
    let (row, events) = snapshot(&world.app, referral.id).await;
    assert_eq!(row.expect("exists").version, 1);
    assert_eq!(events.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_transition_input_writes_nothing() {
    let world = World::new().await;
    let referral = world.referral(ReferralStatus::Requested).await;
    let counted = counts(&world.app).await;
    let id = gid(Kind::Referral, referral.id);
    let cases = [
        (
            "missing reason",
            json!({ "id": id, "version": 1, "action": "REJECT" }),
            "BAD_USER_INPUT",
        ),
        (
            "reason on accept",
            json!({ "id": id, "version": 1, "action": "ACCEPT", "reason": "OTHER" }),
            "BAD_USER_INPUT",
        ),
        (
            "unknown action",
            json!({ "id": id, "version": 1, "action": "TELEPORT" }),
            "BAD_USER_INPUT",
        ),
        (
            "missing version",
            json!({ "id": id, "action": "ACCEPT" }),
            "BAD_USER_INPUT",
        ),
        (
            "wrong id type",
            json!({ "id": gid(Kind::Project, referral.id), "version": 1, "action": "ACCEPT" }),
            "BAD_USER_INPUT",
        ),
        (
            "garbage id",
            json!({ "id": "!!", "version": 1, "action": "ACCEPT" }),
            "BAD_USER_INPUT",
        ),
        (
            "unknown referral",
            json!({ "id": gid(Kind::Referral, uuid::Uuid::now_v7()), "version": 1, "action": "ACCEPT" }),
            "NOT_FOUND",
        ),
        (
            "oversize note",
            json!({ "id": id, "version": 1, "action": "ACCEPT", "note": "x".repeat(4001) }),
            "BAD_USER_INPUT",
        ),
    ];
    for (case, input, code) in cases {
        let response = world.transition(&world.municipality, input).await;
        assert_eq!(response.code(), Some(code), "{case}: {:#}", response.body);
    }
    assert_eq!(counts(&world.app).await, counted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_create_input_writes_nothing() {
    let world = World::new().await;
    let app = &world.app;
    let fx = app.fixtures();
    let other_ngo = fx
        .organisation("ngo-other", entity::enums::OrganisationKind::Ngo, None)
        .await;
    let foreign_project = fx.project("Aarhus Vest", 751, &other_ngo, |_| {}).await;
    let other_project = fx.project("Vesterbro", 101, &world.base.ngo, |_| {}).await;
    let stranger = fx
        .participant(
            "BM-TEST-0002",
            Some(&other_project),
            &world.base.ngo,
            &[],
            |_| {},
        )
        .await;
    let good = json!({
        "projectId": gid(Kind::Project, world.project.id),
        "participantId": gid(Kind::Participant, world.participant.id),
        "receiverOrganisationId": gid(Kind::Organisation, world.base.copenhagen.id),
        "serviceCategory": "HEALTH_VISITOR",
    });
    let with = |field: &str, value: Value| {
        let mut input = good.clone();
        input[field] = value;
        input
    };
    let without = |field: &str| {
        let mut input = good.clone();
        if let Some(input) = input.as_object_mut() {
            input.remove(field);
        }
        input
    };
    let cases = [
        (
            "missing participant",
            &world.ngo,
            without("participantId"),
            "BAD_USER_INPUT",
        ),
        (
            "unknown category",
            &world.ngo,
            with("serviceCategory", json!("MAGIC")),
            "BAD_USER_INPUT",
        ),
        (
            "wrong id type",
            &world.ngo,
            with(
                "projectId",
                json!(gid(Kind::Participant, world.participant.id)),
            ),
            "BAD_USER_INPUT",
        ),
        (
            "unknown receiver",
            &world.ngo,
            with(
                "receiverOrganisationId",
                json!(gid(Kind::Organisation, uuid::Uuid::now_v7())),
            ),
            "BAD_USER_INPUT",
        ),
        (
            "participant of another project",
            &world.ngo,
            with("participantId", json!(gid(Kind::Participant, stranger.id))),
            "BAD_USER_INPUT",
        ),
        (
            "mother of no project",
            &world.ngo,
            with("motherId", json!(gid(Kind::Mother, uuid::Uuid::now_v7()))),
            "BAD_USER_INPUT",
        ),
        (
            "oversize note",
            &world.ngo,
            with("note", json!("x".repeat(4001))),
            "BAD_USER_INPUT",
        ),
        (
            "a project it cannot see",
            &world.ngo,
            with("projectId", json!(gid(Kind::Project, foreign_project.id))),
            "NOT_FOUND",
        ),
        (
            "a project it does not operate",
            &world.municipality,
            good.clone(),
            "FORBIDDEN",
        ),
    ];
    let counted = counts(app).await;
    for (case, token, input, code) in cases {
        let response = app
            .graphql(
                Some(token),
                queries::CREATE_REFERRAL,
                json!({ "input": input }),
            )
            .await;
        assert_eq!(response.code(), Some(code), "{case}: {:#}", response.body);
    }
    assert_eq!(counts(app).await, counted, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_claims_a_pool_referral() {
    let world = World::new().await;
    let fx = world.app.fixtures();
    let waiting = fx
        .participant("BM-POOL-0001", None, &world.base.copenhagen, &[], |_| {})
        .await;
    let referral = fx
        .pool_referral(
            &world.base.copenhagen,
            &waiting,
            ReferralStatus::Requested,
            |_| {},
        )
        .await;
    fx.timeline(
        &referral,
        &world.base.copenhagen,
        &[ReferralStatus::Requested],
    )
    .await;
    let claim = |token: String, version: i32, project: &project::Model| {
        let input = json!({
            "id": gid(Kind::Referral, referral.id),
            "version": version,
            "projectId": gid(Kind::Project, project.id),
        });
        let app = &world.app;
        async move {
            app.graphql(
                Some(&token),
                queries::CLAIM_REFERRAL,
                json!({ "input": input }),
            )
            .await
        }
    };
    // Refusals write nothing: stale version, wrong id type, a reader, another municipality's
    // project, a pool referral still in draft.
    let reader = world.app.token("ngo-red-cross", "referrals:read").await;
    let counted = counts(&world.app).await;
    claim(world.ngo.clone(), 7, &world.project)
        .await
        .expect_error("CONFLICT");
    claim(reader, 1, &world.project)
        .await
        .expect_error("FORBIDDEN");
    let wrong_type = json!({
        "id": gid(Kind::Project, referral.id),
        "version": 1,
        "projectId": gid(Kind::Project, world.project.id),
    });
    world
        .app
        .graphql(
            Some(&world.ngo),
            queries::CLAIM_REFERRAL,
            json!({ "input": wrong_type }),
        )
        .await
        .expect_error("BAD_USER_INPUT");
    let drafted = fx
        .pool_referral(
            &world.base.copenhagen,
            &waiting,
            ReferralStatus::Draft,
            |_| {},
        )
        .await;
    let draft_claim = json!({
        "id": gid(Kind::Referral, drafted.id),
        "version": 1,
        "projectId": gid(Kind::Project, world.project.id),
    });
    world
        .app
        .graphql(
            Some(&world.ngo),
            queries::CLAIM_REFERRAL,
            json!({ "input": draft_claim }),
        )
        .await
        .expect_error("NOT_FOUND");
    let counted = (counted.0 + 1, counted.1, counted.2);
    // A project in another municipality may not claim it.
    let aarhus_project = fx.project("Aarhus Øst", 751, &world.base.ngo, |_| {}).await;
    claim(world.ngo.clone(), 1, &aarhus_project)
        .await
        .expect_error("FORBIDDEN");
    assert_eq!(counts(&world.app).await, counted, "nothing written");
    let response = claim(world.ngo.clone(), 1, &world.project).await;
    let claimed = &response.data()["claimReferral"];
    assert_eq!(claimed["version"], 2);
    assert_eq!(
        claimed["project"]["id"],
        gid(Kind::Project, world.project.id)
    );
    assert_eq!(
        claimed["receiver"]["id"],
        gid(Kind::Organisation, world.base.ngo.id)
    );
    assert_eq!(claimed["events"].as_array().map(Vec::len), Some(2));
    let her = participant::Entity::find_by_id(waiting.id)
        .one(&world.app.db)
        .await
        .expect("reads")
        .expect("exists");
    // Claiming does not hand her record over (issue 12): she keeps no project.
    assert_eq!(her.project_id, None);
    // Claimed once; the NGO is now the performer and accepts it.
    claim(world.ngo.clone(), 2, &world.project)
        .await
        .expect_error("FORBIDDEN");
    let response = world
        .transition(
            &world.ngo,
            json!({ "id": gid(Kind::Referral, referral.id), "version": 2, "action": "ACCEPT" }),
        )
        .await;
    assert_eq!(
        response.body["data"]["transitionReferral"]["status"],
        "ACCEPTED"
    );
    // She has not consented to share with the claimant: the timeline's notes stay hidden.
    response.expect_error("FORBIDDEN");
}

/// Issue 12: a receiver learns of a referral only once it is requested. A draft (before any
/// consent may cover the receiver), also one the requester marked entered-in-error, is the
/// requester's own: by id, in lists and by count the receiver finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_learns_of_a_referral_only_once_it_is_requested() {
    let world = World::new().await;
    let draft = world.referral(ReferralStatus::Draft).await;
    let erroneous = world
        .app
        .fixtures()
        .referral(
            &world.base.ngo,
            &world.base.copenhagen,
            &world.participant,
            ReferralStatus::EnteredInError,
            |row| row.requested_at = sea_orm::ActiveValue::Set(None),
        )
        .await;
    let requested = world.referral(ReferralStatus::Requested).await;
    let read = async |token: &str, id: uuid::Uuid| {
        let vars = json!({ "id": gid(Kind::Referral, id) });
        let response = world
            .app
            .graphql(Some(token), queries::REFERRAL, vars)
            .await;
        response.body["data"]["referral"]["id"].clone()
    };
    let count = async |token: &str| {
        let response = world
            .app
            .graphql(Some(token), queries::REFERRAL_COUNT, json!({}))
            .await;
        response.data()["referrals"]["totalCount"].clone()
    };
    for unsent in [draft.id, erroneous.id] {
        assert_eq!(read(&world.municipality, unsent).await, Value::Null);
        assert_eq!(
            read(&world.ngo, unsent).await,
            json!(gid(Kind::Referral, unsent)),
            "the requester reads its own draft"
        );
    }
    assert_eq!(
        read(&world.municipality, requested.id).await,
        json!(gid(Kind::Referral, requested.id))
    );
    assert_eq!(
        count(&world.municipality).await,
        json!(1),
        "only the requested one"
    );
    assert_eq!(count(&world.ngo).await, json!(3));
}
