//! Issue 12, "leaks to close", each found over HTTP: reasons bound to their actions, read
//! audit with data categories, the pool claim that no longer hands over her record, funders
//! who get figures and not people, and the author that keeps reading its own notes.

use bydel::ids::Kind;
use entity::{
    audit_event,
    enums::{AuditAction, ReferralStatus},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
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
/// `referralActions` publishes the same table; ERASED is in none of it.
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
            "ERASED",
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
    assert!(
        rules
            .iter()
            .all(|r| !r["reasons"].to_string().contains("ERASED")),
        "no client action takes ERASED"
    );
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
