//! The municipality's half of the loop over HTTP: København registers a woman, records her
//! consent to be contacted, refers her to its pool; one NGO claims and releases her referral,
//! another claims, accepts, forwards it to its other project and completes it; København sees
//! every step; an organisation outside the loop sees nothing. Every refusal on the way too.

use bydel::ids::Kind;
use entity::enums::OrganisationKind;
use serde_json::{Value, json};

use crate::{
    harness::{GqlResponse, TestApp, fixtures::Base},
    queries,
    tokens::gid,
};

const MUNICIPALITY: &str =
    "participants:write referrals:write projects:read participants:read referrals:read";
const NGO: &str = "participants:read referrals:write projects:read";

const REFER: &str = "mutation Refer($input: ReferToProgrammeInput!) {
  referToProgramme(input: $input) {
    id status version direction priority serviceCategory note
    requester { id } receiver { id } project { id } poolMunicipality { code }
  }
}";
const RELEASE: &str = "mutation Release($input: ReleaseReferralInput!) {
  releaseReferral(input: $input) { id status version receiver { id } project { id } }
}";
const FORWARD: &str = "mutation Forward($input: ForwardReferralInput!) {
  forwardReferral(input: $input) { id status version receiver { id } project { id } }
}";
/// A transition without the timeline's notes, which a claimant without her consent to share
/// may not read.
const STEP: &str = "mutation Step($input: TransitionReferralInput!) {
  transitionReferral(input: $input) { id status version }
}";
const SEEN: &str = "query Seen($id: ID!) {
  referral(id: $id) {
    id status version availableActions availableHandovers
    receiver { id } project { id }
    events { kind fromStatus toStatus reason actor { id } }
  }
}";

struct Loop {
    app: TestApp,
    base: Base,
    municipality: String,
    first_ngo: String,
    second_ngo: String,
    outsider: String,
    first_project: String,
    second_project: String,
    second_projects_other: String,
}

impl Loop {
    async fn new() -> Loop {
        let app = TestApp::spawn().await;
        let fx = app.fixtures();
        let base = fx.base().await;
        let other = fx
            .organisation("ngo-danner", OrganisationKind::Ngo, None)
            .await;
        let far = fx
            .organisation("ngo-far", OrganisationKind::Ngo, None)
            .await;
        let first = fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
        let second = fx.project("Tingbjerg", 101, &other, |_| {}).await;
        let second_other = fx.project("Valby", 101, &other, |_| {}).await;
        fx.project("Aarhus Vest", 751, &far, |_| {}).await;
        Loop {
            municipality: app.token("kommune-101", MUNICIPALITY).await,
            first_ngo: app.token("ngo-red-cross", NGO).await,
            second_ngo: app.token("ngo-danner", NGO).await,
            outsider: app.token("ngo-far", NGO).await,
            first_project: gid(Kind::Project, first.id),
            second_project: gid(Kind::Project, second.id),
            second_projects_other: gid(Kind::Project, second_other.id),
            app,
            base,
        }
    }

    async fn call(&self, token: &str, query: &str, input: Value) -> GqlResponse {
        self.app
            .graphql(Some(token), query, json!({ "input": input }))
            .await
    }

    async fn seen(&self, token: &str, id: &str) -> Value {
        self.app
            .graphql(Some(token), SEEN, json!({ "id": id }))
            .await
            .data()["referral"]
            .clone()
    }

    /// København registers her without a project and records her consent to be contacted.
    async fn her(&self) -> String {
        let registered = self
            .call(
                &self.municipality,
                queries::REGISTER_PARTICIPANT,
                json!({
                    "firstName": "Hawa", "languages": ["so", "da"], "district": "Bispebjerg",
                    "preferredContact": "PHONE", "municipalityCaseRef": "KK-2026-311",
                }),
            )
            .await;
        let her = registered.data()["registerParticipant"]["id"]
            .as_str()
            .expect("her id")
            .to_owned();
        self.call(
            &self.municipality,
            queries::RECORD_CONSENT,
            json!({ "participantId": her, "purpose": "CONTACT" }),
        )
        .await
        .data();
        her
    }
}

fn version(response: &GqlResponse, field: &str) -> i64 {
    response.data()[field]["version"]
        .as_i64()
        .expect("a version")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_municipality_refers_a_woman_to_the_pool_and_the_loop_closes() {
    let l = Loop::new().await;
    let her = l.her().await;
    let copenhagen = gid(Kind::Organisation, l.base.copenhagen.id);

    // Refer her to the pool, urgently; REQUEST needs her CONTACT consent, which she gave.
    let referred = l
        .call(
            &l.municipality,
            REFER,
            json!({ "participantId": her, "priority": "URGENT", "note": "Ønsker kontakt på somali" }),
        )
        .await;
    let draft = &referred.data()["referToProgramme"];
    assert_eq!(draft["status"], "DRAFT");
    assert_eq!(draft["direction"], "INBOUND");
    assert_eq!(draft["priority"], "URGENT");
    assert_eq!(draft["serviceCategory"], "NEIGHBOURHOOD_MOTHER");
    assert_eq!(draft["requester"]["id"], copenhagen);
    assert_eq!(draft["receiver"], Value::Null);
    assert_eq!(draft["poolMunicipality"]["code"], 101);
    let id = draft["id"].as_str().expect("an id").to_owned();
    let requested = l
        .call(
            &l.municipality,
            STEP,
            json!({ "id": id, "version": 1, "action": "REQUEST" }),
        )
        .await;
    let v = version(&requested, "transitionReferral");
    let seen = l.seen(&l.municipality, &id).await;
    assert_eq!(
        seen["availableActions"],
        json!(["CANCEL", "MARK_ENTERED_IN_ERROR"])
    );
    assert_eq!(seen["availableHandovers"], json!([]));

    // Both NGOs of København see it and may claim it; the outsider sees nothing.
    for ngo in [&l.first_ngo, &l.second_ngo] {
        let seen = l.seen(ngo, &id).await;
        assert_eq!(seen["availableHandovers"], json!(["CLAIM"]));
        assert_eq!(seen["availableActions"], json!([]));
    }
    let outside = l
        .app
        .graphql(Some(&l.outsider), SEEN, json!({ "id": id }))
        .await;
    assert_eq!(outside.data()["referral"], Value::Null);

    // The first NGO claims, then releases it back with a reason.
    let claimed = l
        .call(
            &l.first_ngo,
            queries::CLAIM_REFERRAL,
            json!({ "id": id, "version": v, "projectId": l.first_project }),
        )
        .await;
    let v = version(&claimed, "claimReferral");
    let held = l.seen(&l.first_ngo, &id).await;
    assert_eq!(held["availableActions"], json!(["ACCEPT", "REJECT"]));
    assert_eq!(held["availableHandovers"], json!(["RELEASE", "FORWARD"]));
    assert_eq!(
        l.seen(&l.second_ngo, &id).await,
        Value::Null,
        "claimed by another"
    );
    let wrong = l
        .call(
            &l.first_ngo,
            RELEASE,
            json!({ "id": id, "version": v, "reason": "CONSENT_WITHDRAWN" }),
        )
        .await;
    assert!(
        wrong
            .expect_error("BAD_USER_INPUT")
            .starts_with("input.reason")
    );
    let not_holder = l
        .call(
            &l.municipality,
            RELEASE,
            json!({ "id": id, "version": v, "reason": "NO_CAPACITY" }),
        )
        .await;
    not_holder.expect_error("FORBIDDEN");
    let released = l
        .call(
            &l.first_ngo,
            RELEASE,
            json!({ "id": id, "version": v, "reason": "NO_CAPACITY", "note": "Ingen somalisk-talende mor lige nu" }),
        )
        .await;
    let back = &released.data()["releaseReferral"];
    assert_eq!(back["status"], "REQUESTED");
    assert_eq!(back["receiver"], Value::Null);
    assert_eq!(back["project"], Value::Null);
    let v = back["version"].as_i64().expect("a version");

    // The second NGO claims it, accepts, forwards to its other project, starts, completes.
    let claimed = l
        .call(
            &l.second_ngo,
            queries::CLAIM_REFERRAL,
            json!({ "id": id, "version": v, "projectId": l.second_project }),
        )
        .await;
    let v = version(&claimed, "claimReferral");
    let accepted = l
        .call(
            &l.second_ngo,
            STEP,
            json!({ "id": id, "version": v, "action": "ACCEPT" }),
        )
        .await;
    let v = version(&accepted, "transitionReferral");
    let stale = l
        .call(
            &l.second_ngo,
            FORWARD,
            json!({ "id": id, "version": v - 1, "projectId": l.second_projects_other }),
        )
        .await;
    stale.expect_error("CONFLICT");
    let foreign = l
        .call(
            &l.second_ngo,
            FORWARD,
            json!({ "id": id, "version": v, "projectId": l.first_project }),
        )
        .await;
    assert!(
        foreign
            .expect_error("BAD_USER_INPUT")
            .starts_with("input.projectId")
    );
    let both = l
        .call(
            &l.second_ngo,
            FORWARD,
            json!({ "id": id, "version": v, "projectId": l.second_projects_other, "toRequester": true }),
        )
        .await;
    both.expect_error("BAD_USER_INPUT");
    let forwarded = l
        .call(
            &l.second_ngo,
            FORWARD,
            json!({ "id": id, "version": v, "projectId": l.second_projects_other }),
        )
        .await;
    let moved = &forwarded.data()["forwardReferral"];
    assert_eq!(
        moved["status"], "ACCEPTED",
        "the same organisation already decided"
    );
    assert_eq!(moved["project"]["id"], l.second_projects_other);
    let mut v = moved["version"].as_i64().expect("a version");
    for step in [
        json!({ "action": "START" }),
        json!({ "action": "COMPLETE", "outcome": "SERVICE_PROVIDED" }),
    ] {
        let mut input = json!({ "id": id, "version": v });
        if let (Some(input), Value::Object(step)) = (input.as_object_mut(), step) {
            input.extend(step);
        }
        let done = l.call(&l.second_ngo, STEP, input).await;
        v = version(&done, "transitionReferral");
    }

    // København sees every step, with who took it.
    let seen = l.seen(&l.municipality, &id).await;
    assert_eq!(seen["status"], "COMPLETED");
    let kinds: Vec<(String, String)> = seen["events"]
        .as_array()
        .expect("a timeline")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_owned(),
                e["toStatus"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("TRANSITION", "DRAFT"),
        ("TRANSITION", "REQUESTED"),
        ("CLAIM", "REQUESTED"),
        ("RELEASE", "REQUESTED"),
        ("CLAIM", "REQUESTED"),
        ("TRANSITION", "ACCEPTED"),
        ("FORWARD", "ACCEPTED"),
        ("TRANSITION", "IN_PROGRESS"),
        ("TRANSITION", "COMPLETED"),
    ]
    .map(|(k, s)| (k.to_owned(), s.to_owned()));
    assert_eq!(kinds, expected);
    assert_eq!(seen["events"][3]["reason"], "NO_CAPACITY");
    assert_eq!(seen["availableActions"], json!([]));
    assert_eq!(seen["availableHandovers"], json!([]));
    // The first NGO, which let it go, no longer sees it; the outsider never did.
    assert_eq!(l.seen(&l.first_ngo, &id).await, Value::Null);
    assert_eq!(l.seen(&l.outsider, &id).await, Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_registering_municipality_refers_her_and_only_with_her_consent() {
    let l = Loop::new().await;
    // No consent yet: registered only.
    let registered = l
        .call(
            &l.municipality,
            queries::REGISTER_PARTICIPANT,
            json!({ "firstName": "Ayan" }),
        )
        .await;
    let her = registered.data()["registerParticipant"]["id"]
        .as_str()
        .expect("her id")
        .to_owned();
    // An NGO registers only in its project, and refers only with createReferral.
    let ngo_writer = l
        .app
        .token("ngo-red-cross", "participants:write referrals:write")
        .await;
    let no_project = l
        .call(
            &ngo_writer,
            queries::REGISTER_PARTICIPANT,
            json!({ "firstName": "X" }),
        )
        .await;
    assert!(
        no_project
            .expect_error("BAD_USER_INPUT")
            .starts_with("input.projectId")
    );
    let case_ref = l
        .call(
            &ngo_writer,
            queries::REGISTER_PARTICIPANT,
            json!({ "projectId": l.first_project, "municipalityCaseRef": "X-1" }),
        )
        .await;
    case_ref.expect_error("FORBIDDEN");
    let by_ngo = l
        .call(&ngo_writer, REFER, json!({ "participantId": her }))
        .await;
    by_ngo.expect_error("FORBIDDEN");
    // Randers cannot refer a woman København registered.
    let randers = l.app.token("kommune-730", MUNICIPALITY).await;
    let foreign = l
        .call(&randers, REFER, json!({ "participantId": her }))
        .await;
    assert!(
        foreign
            .expect_error("BAD_USER_INPUT")
            .starts_with("input.participantId")
    );
    // A project København does not see is refused.
    let aarhus = l
        .call(
            &l.municipality,
            REFER,
            json!({ "participantId": her, "projectId": gid(Kind::Project, uuid::Uuid::now_v7()) }),
        )
        .await;
    assert!(
        aarhus
            .expect_error("BAD_USER_INPUT")
            .starts_with("input.projectId")
    );

    // To a project: its operator receives it; REQUEST waits for her CONTACT consent.
    let referred = l
        .call(
            &l.municipality,
            REFER,
            json!({ "participantId": her, "projectId": l.first_project, "serviceCategory": "NEIGHBOURHOOD_MOTHER" }),
        )
        .await;
    let draft = &referred.data()["referToProgramme"];
    assert_eq!(
        draft["receiver"]["id"],
        gid(Kind::Organisation, l.base.ngo.id)
    );
    assert_eq!(draft["priority"], "ROUTINE");
    let id = draft["id"].as_str().expect("an id").to_owned();
    let early = l
        .call(
            &l.municipality,
            STEP,
            json!({ "id": id, "version": 1, "action": "REQUEST" }),
        )
        .await;
    assert!(early.expect_error("FORBIDDEN").contains("CONTACT"));
    for consent in [
        json!({ "participantId": her, "purpose": "CONTACT" }),
        json!({ "participantId": her, "purpose": "SHARE_WITH_RECEIVER",
                "receiverOrganisationId": gid(Kind::Organisation, l.base.ngo.id) }),
    ] {
        l.call(&l.municipality, queries::RECORD_CONSENT, consent)
            .await
            .data();
    }
    let requested = l
        .call(
            &l.municipality,
            STEP,
            json!({ "id": id, "version": 1, "action": "REQUEST" }),
        )
        .await;
    let v = version(&requested, "transitionReferral");
    // Not from a pool: the holder forwards it, never releases it.
    let release = l
        .call(
            &l.first_ngo,
            RELEASE,
            json!({ "id": id, "version": v, "reason": "NO_CAPACITY" }),
        )
        .await;
    release.expect_error("INVALID_TRANSITION");
    let back = l
        .call(
            &l.first_ngo,
            FORWARD,
            json!({ "id": id, "version": v, "toRequester": true, "note": "Bor uden for vores område" }),
        )
        .await;
    let back = &back.data()["forwardReferral"];
    assert_eq!(back["status"], "REQUESTED");
    assert_eq!(
        back["receiver"]["id"],
        gid(Kind::Organisation, l.base.copenhagen.id)
    );
    // Now København holds it and may close it itself.
    let seen = l.seen(&l.municipality, &id).await;
    assert_eq!(seen["availableHandovers"], json!(["FORWARD"]));
    assert_eq!(
        seen["availableActions"],
        json!(["ACCEPT", "REJECT", "CANCEL", "MARK_ENTERED_IN_ERROR"])
    );
}

const POST: &str = "mutation Post($input: PostReferralMessageInput!) {
  postReferralMessage(input: $input) { id author { id } body sentAt }
}";
const THREAD: &str = "query Thread($id: ID!) {
  referral(id: $id) { events { kind } messages { author { id } body } }
}";

/// Requester and performer write to a referral's thread; each reads what the personal-data
/// rule allows (the claimant its own words, not the municipality's, until she consents);
/// webhooks hear `referral.message` by id only; nobody else may post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parties_write_to_a_referrals_thread() {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
    let l = Loop::new().await;
    let her = l.her().await;
    let referred = l
        .call(&l.municipality, REFER, json!({ "participantId": her }))
        .await;
    let id = referred.data()["referToProgramme"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let early = l
        .call(
            &l.municipality,
            POST,
            json!({ "referralId": id, "body": "Hej" }),
        )
        .await;
    early.expect_error("INVALID_TRANSITION");
    let requested = l
        .call(
            &l.municipality,
            STEP,
            json!({ "id": id, "version": 1, "action": "REQUEST" }),
        )
        .await;
    let v = version(&requested, "transitionReferral");
    l.call(
        &l.first_ngo,
        queries::CLAIM_REFERRAL,
        json!({ "id": id, "version": v, "projectId": l.first_project }),
    )
    .await
    .data();
    let hook = entity::webhook::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        organisation_id: Set(l.base.copenhagen.id),
        url: Set("https://sag.kk.dk/bydel".into()),
        secret: Set(entity::webhook::WebhookSecret("s".repeat(32))),
        description: Set(None),
        active: Set(true),
        created_at: Set(crate::harness::fixtures::now()),
        updated_at: Set(crate::harness::fixtures::now()),
    }
    .insert(&l.app.db)
    .await
    .expect("a webhook of København");

    let ngo_says = "Vi ringer hende i morgen formiddag";
    let kk_says = "Hun foretrækker formiddage";
    let posted = l
        .call(
            &l.first_ngo,
            POST,
            json!({ "referralId": id, "body": ngo_says }),
        )
        .await;
    assert_eq!(
        posted.data()["postReferralMessage"]["author"]["id"],
        gid(Kind::Organisation, l.base.ngo.id)
    );
    l.call(
        &l.municipality,
        POST,
        json!({ "referralId": id, "body": kk_says }),
    )
    .await
    .data();
    for (token, code) in [(&l.outsider, "NOT_FOUND"), (&l.second_ngo, "NOT_FOUND")] {
        let refused = l
            .call(token, POST, json!({ "referralId": id, "body": "Må jeg?" }))
            .await;
        refused.expect_error(code);
    }
    for body in [json!(""), json!("x".repeat(4001))] {
        let bad = l
            .call(
                &l.municipality,
                POST,
                json!({ "referralId": id, "body": body }),
            )
            .await;
        assert!(bad.expect_error("BAD_USER_INPUT").starts_with("input.body"));
    }

    // København reads the whole thread; the timeline holds no message.
    let thread = l
        .app
        .graphql(Some(&l.municipality), THREAD, json!({ "id": id }))
        .await;
    let referral = &thread.data()["referral"];
    let bodies: Vec<&str> = referral["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(bodies, [ngo_says, kk_says]);
    assert!(
        referral["events"]
            .as_array()
            .expect("events")
            .iter()
            .all(|e| e["kind"] != "MESSAGE")
    );
    // The claimant reads its own words only: she has not consented to share with it.
    let claimant = l
        .app
        .graphql(Some(&l.first_ngo), THREAD, json!({ "id": id }))
        .await;
    assert_eq!(
        claimant.body["data"]["referral"]["messages"][0]["body"],
        ngo_says
    );
    assert_eq!(
        claimant.body["data"]["referral"]["messages"][1]["body"],
        Value::Null
    );
    assert_eq!(claimant.code(), Some("FORBIDDEN"));

    // København's webhook was told of both messages, by id only.
    let queued = entity::webhook_delivery::Entity::find()
        .filter(entity::webhook_delivery::Column::WebhookId.eq(hook.id))
        .filter(
            entity::webhook_delivery::Column::EventType
                .eq(entity::enums::WebhookEventType::ReferralMessage),
        )
        .all(&l.app.db)
        .await
        .expect("deliveries");
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|d| !d.payload.contains("formiddag")));
}
