//! Issue 12, "leaks to close", each found over HTTP: reasons bound to their actions, read
//! audit with data categories, the pool claim that no longer hands over her record, funders
//! who get figures and not people, and the author that keeps reading its own notes.

use bydel::ids::Kind;
use entity::{
    audit_event, consent,
    enums::{AuditAction, ConsentPurpose, OrganisationKind, PartnerRole, ReferralStatus},
    mother, organisation, participant, project, project_partner,
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    queries,
    referrals::{World, counts, snapshot},
    tokens::gid,
};

/// A performer cannot REJECT for her withdrawn consent, nor a requester mark a referral
/// entered in error for want of capacity: each action takes its own reasons (HL7 SDOH Clinical
/// Care), the refusal names `input.reason` and lists the allowed ones, and writes nothing.
/// `referralActions` publishes the same table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_takes_only_its_own_reasons() {
    let world = World::new().await;
    let requested = world.referral(ReferralStatus::Requested).await;
    let id = gid(Kind::Referral, requested.id);
    let before = snapshot(&world.app, requested.id).await;
    let counted = counts(&world.app).await;
    for (token, action, reason, allowed) in [
        (
            &world.municipality,
            "REJECT",
            "CONSENT_WITHDRAWN",
            "NO_CAPACITY, NOT_ELIGIBLE, REFERRED_ELSEWHERE, NO_LONGER_INTERESTED, OTHER",
        ),
        (
            &world.municipality,
            "REJECT",
            "COULD_NOT_CONTACT",
            "NO_CAPACITY, NOT_ELIGIBLE, REFERRED_ELSEWHERE, NO_LONGER_INTERESTED, OTHER",
        ),
        (
            &world.ngo,
            "MARK_ENTERED_IN_ERROR",
            "NO_CAPACITY",
            "DUPLICATE, OTHER",
        ),
        (
            &world.ngo,
            "CANCEL",
            "NO_CAPACITY",
            "NO_LONGER_INTERESTED, CONSENT_WITHDRAWN, REFERRED_ELSEWHERE, DUPLICATE, OTHER",
        ),
    ] {
        let input = json!({ "id": id, "version": 1, "action": action, "reason": reason });
        let response = world.transition(token, input).await;
        let message = response.expect_error("BAD_USER_INPUT");
        assert!(message.starts_with("input.reason"), "{action}: {message}");
        assert!(message.contains(reason), "{action}: {message}");
        assert!(message.contains(allowed), "{action}: {message}");
        assert_eq!(
            response.errors()[0]["extensions"]["field"],
            "input.reason",
            "{:#}",
            response.body
        );
    }
    assert_eq!(snapshot(&world.app, requested.id).await, before);
    assert_eq!(counts(&world.app).await, counted, "nothing written");

    // A reason of its own goes through.
    let input = json!({ "id": id, "version": 1, "action": "REJECT", "reason": "NOT_ELIGIBLE" });
    let response = world.transition(&world.municipality, input).await;
    assert_eq!(
        response.data()["transitionReferral"]["statusReason"],
        "NOT_ELIGIBLE"
    );

    let rules = world
        .app
        .graphql(Some(&world.ngo), queries::REFERRAL_ACTIONS, json!({}))
        .await;
    let rules = rules.data()["referralActions"]
        .as_array()
        .expect("a list of actions")
        .clone();
    assert_eq!(rules.len(), 10);
    let of = |action: &str| {
        rules
            .iter()
            .find(|r| r["action"] == action)
            .unwrap_or_else(|| panic!("{action} is listed"))
            .clone()
    };
    assert_eq!(
        of("FAIL")["reasons"],
        json!([
            "COULD_NOT_CONTACT",
            "NOT_ELIGIBLE",
            "NO_LONGER_INTERESTED",
            "OTHER"
        ])
    );
    assert_eq!(of("FAIL")["reasonRequired"], true);
    assert_eq!(
        of("MARK_ENTERED_IN_ERROR")["reasons"],
        json!(["DUPLICATE", "OTHER"])
    );
    assert_eq!(of("MARK_ENTERED_IN_ERROR")["reasonRequired"], false);
    assert_eq!(of("ACCEPT")["reasons"], json!([]));
    // Without a token there is nothing to read.
    let anonymous = world
        .app
        .graphql(None, queries::REFERRAL_ACTIONS, json!({}))
        .await;
    anonymous.expect_error("UNAUTHENTICATED");
}

/// The read events of `request_id`, as (entity type, entity id, participant, detail), sorted.
async fn reads_of(
    app: &crate::harness::TestApp,
    request_id: &str,
) -> Vec<(String, Option<Uuid>, Option<Uuid>, Option<String>)> {
    let mut rows: Vec<_> = audit_event::Entity::find()
        .filter(audit_event::Column::RequestId.eq(request_id))
        .all(&app.db)
        .await
        .expect("the audit trail reads")
        .into_iter()
        .map(|e| {
            assert_eq!(e.action, AuditAction::Read, "{e:?}");
            (e.entity_type, e.entity_id, e.participant_id, e.detail)
        })
        .collect();
    rows.sort();
    rows
}

/// A read event says which categories of personal data it returned, and reading a mother's
/// phone and e-mail is a read too (entity `mother`, category `contact`) — in the same flush
/// as the participant's. Before, the event named only the participant, and a mother's contact
/// details left no trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_name_their_categories_and_mothers_contact_reads_are_audited() {
    let world = World::new().await;
    let fx = world.app.fixtures();
    let mother = fx
        .mother(&world.project, "Fatima", &["ar"], |m| {
            m.phone = Set(Some("+45 12 34 56 78".into()));
            m.email = Set(Some("fatima@example.org".into()));
        })
        .await;
    let referral = fx
        .referral(
            &world.base.ngo,
            &world.base.copenhagen,
            &world.participant,
            ReferralStatus::Requested,
            |r| r.note = Set(Some("wants help with the school".into())),
        )
        .await;
    let scopes = "projects:read mothers:read participants:read referrals:read";
    let variables = json!({
        "participant": gid(Kind::Participant, world.participant.id),
        "referral": gid(Kind::Referral, referral.id),
        "mother": gid(Kind::Mother, mother.id),
    });
    let ngo = world.app.token("ngo-red-cross", scopes).await;
    let response = world
        .app
        .graphql_with_request_id(&ngo, "leaks-read-1", queries::READ_AUDIT, variables.clone())
        .await;
    assert!(response.errors().is_empty(), "{:#}", response.body);
    assert_eq!(response.data()["mother"]["phone"], "+45 12 34 56 78");
    assert_eq!(
        reads_of(&world.app, "leaks-read-1").await,
        vec![
            (
                "mother".to_owned(),
                Some(mother.id),
                None,
                Some("categories: contact".to_owned())
            ),
            (
                "participant".to_owned(),
                Some(world.participant.id),
                Some(world.participant.id),
                Some("categories: contact,identity,languages,notes".to_owned())
            ),
        ]
    );

    // The municipality sees the mother (her project is in its area) but not her contact
    // details: refused, so not recorded. It reads the participant under her consent.
    let k101 = world.app.token("kommune-101", scopes).await;
    let response = world
        .app
        .graphql_with_request_id(&k101, "leaks-read-2", queries::READ_AUDIT, variables)
        .await;
    response.expect_error("FORBIDDEN");
    assert_eq!(response.body["data"]["mother"]["phone"], Value::Null);
    assert_eq!(response.body["data"]["participant"]["firstName"], "Amina");
    let reads = reads_of(&world.app, "leaks-read-2").await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0].0, "participant");

    // The secretariat reads the categories from the trail.
    let auditor = world.app.token("secretariat", "audit:read").await;
    let trail = world
        .app
        .graphql(
            Some(&auditor),
            queries::READ_AUDIT_TRAIL,
            json!({ "filter": { "participantId": gid(Kind::Participant, world.participant.id) } }),
        )
        .await;
    let read = crate::harness::nodes(trail.data(), "auditEvents")
        .into_iter()
        .find(|e| e["requestId"] == "leaks-read-1" && e["action"] == "READ")
        .cloned()
        .expect("the operator's read is in the trail");
    assert_eq!(
        read["categories"],
        json!(["CONTACT", "IDENTITY", "LANGUAGES", "NOTES"])
    );
    // A change names no categories.
    let changes = crate::harness::nodes(trail.data(), "auditEvents")
        .into_iter()
        .filter(|e| e["action"] != "READ")
        .all(|e| e["categories"].is_null());
    assert!(changes, "{:#}", trail.body);
}

/// The forbidden paths of a response, sorted.
fn forbidden(response: &crate::harness::GqlResponse) -> Vec<String> {
    let mut paths: Vec<String> = response
        .errors()
        .iter()
        .map(|e| {
            assert_eq!(e["extensions"]["code"], "FORBIDDEN", "{e}");
            e["path"]
                .as_array()
                .map(|p| {
                    p.iter()
                        .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .unwrap_or_default()
        })
        .collect();
    paths.sort();
    paths
}

/// Claiming a pool referral used to move her into the claiming project, making the claimant
/// "operator of her project" with all her personal data, although she consented only to be
/// contacted and counted. Now the pool (before and after the claim) sees her pool profile —
/// languages, district, birth decade — and nothing more until she consents to share with the
/// claimant; she keeps no project. The pool reads are audited with their categories.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claiming_shows_her_pool_profile_and_nothing_more_until_she_consents() {
    let world = World::new().await;
    let fx = world.app.fixtures();
    let k101 = &world.base.copenhagen;
    let her = fx
        .participant("BM-POOL-0001", None, k101, &["so", "ar"], |p| {
            p.first_name = Set(Some("Hodan".into()));
            p.birth_year = Set(Some(1984));
            p.phone = Set(Some("+45 87 65 43 21".into()));
            p.district = Set(Some("Tingbjerg".into()));
            p.notes = Set(Some("prefers mornings".into()));
        })
        .await;
    for purpose in [ConsentPurpose::Contact, ConsentPurpose::Statistics] {
        fx.consent(&her, purpose, None, |_| {}).await;
    }
    let pool = fx
        .pool_referral(k101, &her, ReferralStatus::Requested, |_| {})
        .await;
    fx.timeline(&pool, k101, &[ReferralStatus::Requested]).await;
    let id = json!({ "id": gid(Kind::Participant, her.id) });
    let profile_only = [
        "participant.birthYear",
        "participant.firstName",
        "participant.phone",
    ];
    let read = |request_id: &'static str| {
        let (app, ngo, id) = (&world.app, &world.ngo, id.clone());
        async move {
            app.graphql_with_request_id(ngo, request_id, queries::POOL_PROFILE, id)
                .await
        }
    };

    // Waiting in the pool: the NGO with a project in København sees what it needs to decide.
    let waiting = read("leaks-pool-1").await;
    assert_eq!(forbidden(&waiting), profile_only, "{:#}", waiting.body);
    let seen = &waiting.body["data"]["participant"];
    assert_eq!(seen["languages"], json!(["ar", "so"]));
    assert_eq!(seen["district"], "Tingbjerg");
    assert_eq!(seen["birthDecade"], 1980);
    assert_eq!(seen["firstName"], Value::Null);

    // Claimed: the same, and she is not moved into the claiming project.
    let claim = json!({ "input": {
        "id": gid(Kind::Referral, pool.id),
        "version": 1,
        "projectId": gid(Kind::Project, world.project.id),
    }});
    let claimed = world
        .app
        .graphql(Some(&world.ngo), queries::CLAIM_REFERRAL, claim)
        .await;
    assert_eq!(
        claimed.data()["claimReferral"]["receiver"]["id"],
        gid(Kind::Organisation, world.base.ngo.id)
    );
    let after_claim = read("leaks-pool-2").await;
    assert_eq!(
        forbidden(&after_claim),
        profile_only,
        "{:#}",
        after_claim.body
    );
    let seen = &after_claim.body["data"]["participant"];
    assert_eq!(seen["project"], Value::Null, "she keeps no project");
    assert_eq!(seen["phone"], Value::Null);
    assert_eq!(seen["languages"], json!(["ar", "so"]));
    let stored = participant::Entity::find_by_id(her.id)
        .one(&world.app.db)
        .await
        .expect("reads")
        .expect("exists");
    assert_eq!(stored.project_id, None);
    assert_eq!(
        reads_of(&world.app, "leaks-pool-2").await,
        vec![(
            "participant".to_owned(),
            Some(her.id),
            Some(her.id),
            Some("categories: district,identity,languages".to_owned())
        )]
    );

    // Her consent to share with the claimant opens the rest.
    fx.consent(
        &her,
        ConsentPurpose::ShareWithReceiver,
        Some(&world.base.ngo),
        |_| {},
    )
    .await;
    let consented = read("leaks-pool-3").await;
    assert!(consented.errors().is_empty(), "{:#}", consented.body);
    let seen = &consented.data()["participant"];
    assert_eq!(seen["firstName"], "Hodan");
    assert_eq!(seen["phone"], "+45 87 65 43 21");
    assert_eq!(seen["birthYear"], 1984);

    // Another NGO's project in København no longer sees the claimed referral, nor her.
    let other = fx
        .organisation("ngo-other", entity::enums::OrganisationKind::Ngo, None)
        .await;
    fx.project("Valby", 101, &other, |_| {}).await;
    let other = world
        .app
        .token("ngo-other", "participants:read referrals:read")
        .await;
    let response = world
        .app
        .graphql(Some(&other), queries::POOL_PROFILE, id.clone())
        .await;
    assert_eq!(response.body["data"]["participant"], Value::Null);
}

/// After she withdraws her consent to share with the municipality, it no longer reads her
/// data — but it keeps reading the timeline note it wrote itself (its own words, in its own
/// records), audited as a read of category `notes`. The requester's note and the requester's
/// events stay hidden from it; the requester keeps reading everything (she is of its project).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_author_keeps_reading_its_own_notes_after_her_consent_is_withdrawn() {
    let world = World::new().await;
    let fx = world.app.fixtures();
    let referral = fx
        .referral(
            &world.base.ngo,
            &world.base.copenhagen,
            &world.participant,
            ReferralStatus::Requested,
            |r| r.note = Set(Some("the requester's words".into())),
        )
        .await;
    fx.timeline(&referral, &world.base.ngo, &[ReferralStatus::Requested])
        .await;
    let accept = json!({
        "id": gid(Kind::Referral, referral.id),
        "version": 1,
        "action": "ACCEPT",
        "note": "the municipality's words",
    });
    let accepted = world.transition(&world.municipality, accept).await;
    assert_eq!(accepted.data()["transitionReferral"]["status"], "ACCEPTED");

    let share = consent::Entity::find()
        .filter(consent::Column::ParticipantId.eq(world.participant.id))
        .one(&world.app.db)
        .await
        .expect("reads")
        .expect("her consent to share with kommune-101");
    let withdrawn = world
        .app
        .graphql(
            Some(&world.ngo),
            queries::WITHDRAW_CONSENT,
            json!({ "id": gid(Kind::Consent, share.id) }),
        )
        .await;
    assert_eq!(withdrawn.data()["withdrawConsent"]["isLive"], false);

    let id = json!({ "id": gid(Kind::Referral, referral.id) });
    let k101 = world
        .app
        .token("kommune-101", "referrals:read participants:read")
        .await;
    let read = world
        .app
        .graphql_with_request_id(
            &k101,
            "leaks-author-1",
            queries::REFERRAL_RECORD,
            id.clone(),
        )
        .await;
    let events = &read.body["data"]["referral"]["events"];
    // requested (ngo), accepted (kommune-101), cancelled by the withdrawal (ngo).
    assert_eq!(
        events[1]["note"], "the municipality's words",
        "{:#}",
        read.body
    );
    assert_eq!(events[2]["toStatus"], "CANCELLED");
    assert_eq!(
        forbidden(&read),
        [
            "referral.events.0.note",
            "referral.events.2.note",
            "referral.note",
            "referral.participant.birthYear",
            "referral.participant.firstName",
            "referral.participant.notes",
            "referral.participant.phone",
        ],
        "{:#}",
        read.body
    );
    assert_eq!(
        reads_of(&world.app, "leaks-author-1").await,
        vec![(
            "participant".to_owned(),
            Some(world.participant.id),
            Some(world.participant.id),
            Some("categories: notes".to_owned())
        )]
    );
    // Without participants:read, not even its own words.
    let unscoped = world.app.token("kommune-101", "referrals:read").await;
    let read = world
        .app
        .graphql(Some(&unscoped), queries::REFERRAL_RECORD, id.clone())
        .await;
    assert!(forbidden(&read).contains(&"referral.events.1.note".to_owned()));

    // The requester, operating her project, reads all of it.
    let ngo = world
        .app
        .graphql(Some(&world.ngo), queries::REFERRAL_RECORD, id)
        .await;
    assert!(ngo.errors().is_empty(), "{:#}", ngo.body);
    assert_eq!(ngo.data()["referral"]["note"], "the requester's words");
    assert_eq!(
        ngo.data()["referral"]["events"][1]["note"],
        "the municipality's words"
    );
}

/// Funders get figures, not people. In the demo world a municipality funds NGO-run projects
/// in its area: it used to read the phone and e-mail of those projects' mothers (a funder
/// counted as "running" the project). And a municipality made a funder of a project in
/// another municipality (through the API, as the secretariat does it) used to read that
/// project's mothers, courses and visits. Now a funder sees the project and its statistics,
/// and no people through the funding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn funders_get_figures_not_people() {
    let app = crate::harness::TestApp::spawn().await;
    app.load_demo().await;
    let scopes = "projects:read mothers:read stats:read";

    // A municipality funding an NGO-run project of its own municipality.
    let funding = project_partner::Entity::find()
        .filter(project_partner::Column::Role.eq(PartnerRole::Funder))
        .all(&app.db)
        .await
        .expect("partners read");
    let mut found = None;
    for partner in funding {
        let organisation = organisation::Entity::find_by_id(partner.organisation_id)
            .one(&app.db)
            .await
            .expect("reads")
            .expect("exists");
        let project = project::Entity::find_by_id(partner.project_id)
            .one(&app.db)
            .await
            .expect("reads")
            .expect("exists");
        let mothers_with_phone = mother::Entity::find()
            .filter(mother::Column::ProjectId.eq(project.id))
            .filter(mother::Column::Phone.is_not_null())
            .count(&app.db)
            .await
            .expect("counts");
        if organisation.kind == OrganisationKind::Municipality && mothers_with_phone > 0 {
            found = Some((organisation, project));
            break;
        }
    }
    let (municipality, project) = found.expect("the demo has a municipality funding a project");
    let variables = json!({ "project": gid(Kind::Project, project.id) });
    let token = app.token(&municipality.short_name, scopes).await;
    let response = app
        .graphql(Some(&token), queries::FUNDED_PROJECT, variables.clone())
        .await;
    let data = &response.body["data"];
    assert_eq!(data["project"]["id"], gid(Kind::Project, project.id));
    let mothers = crate::harness::nodes(data, "mothers");
    assert!(!mothers.is_empty(), "its area's mothers are listed");
    assert!(
        mothers
            .iter()
            .all(|m| m["phone"].is_null() && m["email"].is_null()),
        "{:#}",
        response.body
    );
    let refused = forbidden(&response);
    assert_eq!(refused.len(), 2 * mothers.len(), "{:#}", response.body);
    assert!(refused.iter().all(|p| p.starts_with("mothers.edges.")));
    assert!(data["stats"]["volunteerHours"]["total"].is_object());

    // The same municipality made a funder of a project elsewhere, through the API.
    let elsewhere = project::Entity::find()
        .filter(project::Column::MunicipalityCode.ne(project.municipality_code))
        .one(&app.db)
        .await
        .expect("reads")
        .expect("the demo has projects in other municipalities");
    let secretariat = app
        .token("secretariat", "projects:read projects:write")
        .await;
    let set = app
        .graphql(
            Some(&secretariat),
            queries::SET_PROJECT_PARTNER,
            json!({ "input": {
                "projectId": gid(Kind::Project, elsewhere.id),
                "organisationId": gid(Kind::Organisation, municipality.id),
                "role": "FUNDER",
            }}),
        )
        .await;
    assert_eq!(set.data()["setProjectPartner"]["role"], "FUNDER");
    let variables = json!({ "project": gid(Kind::Project, elsewhere.id) });
    let response = app
        .graphql(Some(&token), queries::FUNDED_PROJECT, variables)
        .await;
    assert!(response.errors().is_empty(), "{:#}", response.body);
    let data = response.data();
    assert_eq!(data["project"]["id"], gid(Kind::Project, elsewhere.id));
    assert_eq!(
        data["mothers"]["totalCount"], 0,
        "no people through funding"
    );
    assert!(data["stats"]["volunteerHours"]["total"].is_object());
}
