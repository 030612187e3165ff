//! Incremental sync while data changes: a caseworker system pages through
//! `referrals(orderBy: UPDATED_AT, filter: {updatedSince})` while both sides keep changing
//! referrals (rows already read, rows not yet read, a new referral). Following `endCursor` to
//! the end, and later resuming from the last cursor, it ends up having seen the latest version
//! of every referral: a changed row moves behind the cursor instead of being skipped.

use std::collections::BTreeMap;

use bydel::ids::Kind;
use chrono::Duration;
use entity::enums::ReferralStatus;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::{
    harness::fixtures::now,
    queries,
    referrals::World,
    tokens::{gid, string},
};

/// Small pages, so changes land between them.
const PAGE: i32 = 2;

/// What the poller has seen: per referral id, the last (version, status) it read.
type Seen = BTreeMap<String, (i64, String)>;

/// One page of the sync feed after `after`; records what it saw, answers `endCursor` and
/// `hasNextPage`.
async fn poll_page(w: &World, token: &str, after: &Value, seen: &mut Seen) -> (Value, bool) {
    let since = (now() - Duration::days(30)).to_rfc3339();
    let response = w
        .app
        .graphql(
            Some(token),
            queries::REFERRALS,
            json!({
                "orderBy": "UPDATED_AT",
                "filter": { "updatedSince": since },
                "first": PAGE,
                "after": after,
            }),
        )
        .await;
    let list = &response.data()["referrals"];
    for edge in list["edges"].as_array().expect("edges") {
        let node = &edge["node"];
        let version = node["version"].as_i64().expect("a version");
        seen.insert(string(&node["id"]), (version, string(&node["status"])));
    }
    let info = &list["pageInfo"];
    let end = match &info["endCursor"] {
        Value::Null => after.clone(),
        cursor => cursor.clone(),
    };
    (end, info["hasNextPage"] == true)
}

/// Pages from `after` until the feed says there is no next page; answers the last cursor.
async fn poll_to_end(w: &World, token: &str, mut after: Value, seen: &mut Seen) -> Value {
    loop {
        let (end, more) = poll_page(w, token, &after, seen).await;
        after = end;
        if !more {
            return after;
        }
    }
}

/// What the database holds now, in the poller's terms.
async fn stored(w: &World) -> Seen {
    entity::referral::Entity::find()
        .all(&w.app.db)
        .await
        .expect("referrals read")
        .into_iter()
        .map(|r| {
            let status = bydel::referrals::lifecycle::status_name(r.status);
            (
                gid(Kind::Referral, r.id),
                (i64::from(r.version), status.to_owned()),
            )
        })
        .collect()
}

async fn transition(w: &World, token: &str, id: &str, action: &str, version: i64) {
    let mut input = json!({ "id": id, "action": action, "version": version });
    if matches!(action, "CANCEL" | "REJECT") {
        input["reason"] = json!(if action == "CANCEL" {
            "NO_LONGER_INTERESTED"
        } else {
            "NO_CAPACITY"
        });
    }
    let response = w.transition(token, input).await;
    assert_eq!(
        response.data()["transitionReferral"]["version"],
        version + 1,
        "{action} applied: {:#}",
        response.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poller_misses_no_change_that_lands_while_it_pages() {
    let w = World::new().await;
    let fx = w.app.fixtures();
    // Six requested referrals, changed a day apart in the past: the feed's starting order.
    let mut ids = Vec::new();
    for day in (1..=6).rev() {
        let referral = fx
            .referral(
                &w.base.ngo,
                &w.base.copenhagen,
                &w.participant,
                ReferralStatus::Requested,
                |r| r.updated_at = Set(now() - Duration::days(day)),
            )
            .await;
        fx.timeline(&referral, &w.base.ngo, &[ReferralStatus::Requested])
            .await;
        ids.push(gid(Kind::Referral, referral.id));
    }
    let mut seen = Seen::new();

    // Page 1 reads the two oldest.
    let (cursor, more) = poll_page(&w, &w.municipality, &Value::Null, &mut seen).await;
    assert!(more);
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), {
        let mut first = ids[..2].to_vec();
        first.sort();
        first
    });

    // Changes land between pages: the receiver accepts one already read and one not yet
    // read, the requester cancels another unread one, and drafts and requests a new one.
    transition(&w, &w.municipality, &ids[0], "ACCEPT", 1).await;
    transition(&w, &w.municipality, &ids[3], "ACCEPT", 1).await;
    transition(&w, &w.ngo, &ids[4], "CANCEL", 1).await;
    let response = w
        .app
        .graphql(
            Some(&w.ngo),
            queries::CREATE_REFERRAL,
            json!({ "input": {
                "projectId": gid(Kind::Project, w.project.id),
                "participantId": gid(Kind::Participant, w.participant.id),
                "receiverOrganisationId": gid(Kind::Organisation, w.base.copenhagen.id),
                "serviceCategory": "HEALTH_VISITOR",
            }}),
        )
        .await;
    let created = string(&response.data()["createReferral"]["id"]);
    transition(&w, &w.ngo, &created, "REQUEST", 1).await;

    // Page 2 goes on where page 1 ended; the poller follows the feed to its end.
    let cursor = poll_to_end(&w, &w.municipality, cursor, &mut seen).await;
    assert_eq!(
        seen,
        stored(&w).await,
        "the latest version of every referral"
    );
    assert_eq!(seen[&ids[0]], (2, "ACCEPTED".into()), "a read row, changed");

    // Later changes come from the last cursor alone: exactly the changed row.
    transition(&w, &w.municipality, &ids[1], "REJECT", 1).await;
    let mut later = Seen::new();
    poll_to_end(&w, &w.municipality, cursor, &mut later).await;
    assert_eq!(later.keys().collect::<Vec<_>>(), vec![&ids[1]]);
    assert_eq!(
        later,
        stored(&w)
            .await
            .into_iter()
            .filter(|(id, _)| id == &ids[1])
            .collect()
    );
}
