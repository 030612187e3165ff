//! Issue 12, "leaks to close", each found over HTTP: reasons bound to their actions, read
//! audit with data categories, the pool claim that no longer hands over her record, funders
//! who get figures and not people, and the author that keeps reading its own notes.

use bydel::ids::Kind;
use entity::enums::ReferralStatus;
use serde_json::json;

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
