//! The demo data set's promises, checked on the in-memory data (fast) and once end to end
//! on an in-memory SQLite database (one transaction, idempotent, the figures by SQL).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use entity::enums::{
    ConsentPurpose, CourseKind, EnrolmentStatus, MotherStatus, NextStep, ReferralDirection,
    ReferralReason, ReferralStatus, ServiceCategory,
};
use sea_orm::{ConnectOptions, Database, EntityTrait, PaginatorTrait, QueryFilter};
use sea_orm_migration::MigratorTrait;

use super::*;

fn data() -> Dataset {
    build(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001))
}

const PUBLISHED: [(i32, usize); 5] = [(2008, 9), (2009, 19), (2010, 15), (2011, 66), (2012, 138)];

#[test]
fn it_is_deterministic() {
    assert!(data() == data());
}

#[test]
fn certifications_reproduce_the_published_figures() {
    let d = data();
    let mut per_year: BTreeMap<i32, usize> = BTreeMap::new();
    for e in &d.training.enrolments {
        if e.status == EnrolmentStatus::Completed
            && let Some(day) = e.certified_on
        {
            *per_year.entry(day.year()).or_default() += 1;
        }
    }
    for (year, count) in PUBLISHED {
        assert_eq!(
            per_year.get(&year),
            Some(&count),
            "certifications in {year}"
        );
    }
    assert_eq!(PUBLISHED.iter().map(|(_, n)| n).sum::<usize>(), 247);
    let basic: usize = training::CERTIFICATIONS.iter().map(|(_, n)| n).sum();
    assert_eq!(d.summary().certifications, basic);
}

#[test]
fn diplomas_need_every_module_and_a_contract_at_module_one() {
    let d = data();
    let courses: HashMap<Uuid, &course::Model> =
        d.training.courses.iter().map(|c| (c.id, c)).collect();
    let mut modules: HashMap<Uuid, Vec<(i32, NaiveDate)>> = HashMap::new();
    for a in &d.training.attendance {
        modules
            .entry(a.enrolment_id)
            .or_default()
            .push((a.module_number, a.attended_on));
    }
    let mut basic_diplomas = HashSet::new();
    for e in &d.training.enrolments {
        let course = courses[&e.course_id];
        let attended = modules.get(&e.id).cloned().unwrap_or_default();
        assert_eq!(e.contract_signed_on, attended.first().map(|(_, d)| *d));
        if e.status == EnrolmentStatus::Completed {
            let numbers: Vec<i32> = attended.iter().map(|(n, _)| *n).collect();
            assert_eq!(numbers, (1..=course.module_count).collect::<Vec<_>>());
            if course.kind == CourseKind::Basic {
                assert_eq!(course.module_count, 15);
                assert!(
                    basic_diplomas.insert(e.mother_id),
                    "two diplomas for one mother"
                );
            }
        }
    }
}

#[test]
fn mother_status_follows_her_enrolments() {
    let d = data();
    let mut by_mother: HashMap<Uuid, Vec<EnrolmentStatus>> = HashMap::new();
    for e in &d.training.enrolments {
        by_mother.entry(e.mother_id).or_default().push(e.status);
    }
    for m in &d.training.mothers {
        let statuses = &by_mother[&m.id];
        let running = statuses.contains(&EnrolmentStatus::Enrolled);
        assert_eq!(m.status == MotherStatus::InTraining, running, "{m:?}");
        assert_eq!(m.status == MotherStatus::Left, m.left_on.is_some(), "{m:?}");
        assert!(m.left_on.is_none_or(|l| l >= m.joined_on));
        if !statuses.contains(&EnrolmentStatus::Completed) && !running {
            assert_eq!(m.status, MotherStatus::Left);
        }
    }
    let statuses: HashSet<MotherStatus> = d.training.mothers.iter().map(|m| m.status).collect();
    assert_eq!(
        statuses.len(),
        5,
        "every mother status occurs: {statuses:?}"
    );
}

#[test]
fn may_2012_has_exactly_265_visits() {
    let d = data();
    let may = d
        .visits
        .visits
        .iter()
        .filter(|v| v.visited_on.year() == 2012 && v.visited_on.month() == 5)
        .count();
    assert_eq!(may, visits::MAY_2012_VISITS);
    assert!(d.visits.visits.len() < 6000, "a few thousand visits");
}

#[test]
fn visits_are_made_by_mothers_of_the_project_and_stay_anonymous_without_a_referral() {
    let d = data();
    let mothers: HashMap<Uuid, &mother::Model> =
        d.training.mothers.iter().map(|m| (m.id, m)).collect();
    let referred: HashSet<Uuid> = d
        .referrals
        .referrals
        .iter()
        .filter_map(|r| r.visit_id)
        .collect();
    for v in &d.visits.visits {
        assert_eq!(mothers[&v.mother_id].project_id, v.project_id);
        assert_eq!(v.participant_id.is_some(), referred.contains(&v.id));
        assert_eq!(v.next_step == NextStep::Referral, referred.contains(&v.id));
    }
    let mut topics: HashMap<Uuid, usize> = HashMap::new();
    for t in &d.visits.topics {
        *topics.entry(t.visit_id).or_default() += 1;
    }
    assert!(
        d.visits
            .visits
            .iter()
            .all(|v| (1..=3).contains(&topics[&v.id]))
    );
}

#[test]
fn every_referral_status_occurs_and_rows_mirror_their_timelines() {
    let d = data();
    let mut events: HashMap<Uuid, Vec<&referral_event::Model>> = HashMap::new();
    for e in &d.referrals.events {
        events.entry(e.referral_id).or_default().push(e);
    }
    let mut seen = HashSet::new();
    for r in &d.referrals.referrals {
        seen.insert(r.status);
        let timeline = &events[&r.id];
        assert_eq!(r.version as usize, timeline.len());
        let mut previous = None;
        for (n, e) in timeline.iter().enumerate() {
            assert_eq!(e.sequence as usize, n + 1);
            assert_eq!(e.from_status, previous);
            let requester_move = matches!(
                e.to_status,
                ReferralStatus::Draft
                    | ReferralStatus::Requested
                    | ReferralStatus::Cancelled
                    | ReferralStatus::EnteredInError
            );
            let actor = if requester_move {
                Some(r.requester_organisation_id)
            } else {
                r.receiver_organisation_id
            };
            assert_eq!(Some(e.actor_organisation_id), actor);
            let needs_reason = matches!(
                e.to_status,
                ReferralStatus::Rejected | ReferralStatus::Failed | ReferralStatus::Cancelled
            );
            assert!(!needs_reason || e.reason.is_some());
            if n > 0 {
                assert!(e.occurred_at > timeline[n - 1].occurred_at);
            }
            previous = Some(e.to_status);
        }
        let last = timeline[timeline.len() - 1];
        assert_eq!(r.status, last.to_status);
        assert_eq!(r.status_reason, last.reason);
        assert_eq!(r.updated_at, last.occurred_at);
        assert_eq!(r.created_at, timeline[0].occurred_at);
        assert_eq!(r.outcome.is_some(), r.status == ReferralStatus::Completed);
        let moment = |s| {
            timeline
                .iter()
                .find(|e| e.to_status == s)
                .map(|e| e.occurred_at)
        };
        assert_eq!(r.requested_at, moment(ReferralStatus::Requested));
        assert_eq!(r.accepted_at, moment(ReferralStatus::Accepted));
        assert!(r.receiver_organisation_id.is_some() || r.pool_municipality_code.is_some());
    }
    assert_eq!(seen.len(), 10, "every status occurs: {seen:?}");
}

#[test]
fn referrals_go_both_ways_to_municipalities_and_ngos() {
    let d = data();
    let kinds: HashMap<Uuid, entity::enums::OrganisationKind> = d
        .places
        .organisations
        .iter()
        .map(|o| (o.id, o.kind))
        .collect();
    let mut receivers: HashMap<entity::enums::OrganisationKind, HashSet<Uuid>> = HashMap::new();
    for r in &d.referrals.referrals {
        if let Some(receiver) = r.receiver_organisation_id {
            receivers
                .entry(kinds[&receiver])
                .or_default()
                .insert(receiver);
        }
        match r.direction {
            ReferralDirection::Outbound => {
                assert!(r.project_id.is_some() && r.mother_id.is_some() && r.visit_id.is_some());
                assert_ne!(r.service_category, ServiceCategory::NeighbourhoodMother);
            }
            ReferralDirection::Inbound => {
                assert_eq!(r.service_category, ServiceCategory::NeighbourhoodMother);
                if r.receiver_organisation_id.is_none() {
                    assert!(r.project_id.is_none() && r.pool_municipality_code.is_some());
                    assert_eq!(r.status, ReferralStatus::Requested);
                }
            }
        }
    }
    use entity::enums::OrganisationKind::{Municipality, Ngo};
    assert!(receivers[&Municipality].len() >= 2);
    assert!(receivers[&Ngo].len() >= 2);
    let stale = d.referrals.referrals.iter().filter(|r| {
        r.status == ReferralStatus::Requested
            && r.requested_at
                .is_some_and(|t| (clock::at(clock::TODAY, 0) - t).num_days() > 21)
    });
    assert!(stale.count() >= 2, "some referrals wait for weeks");
    assert!(d.referrals.referrals.len() >= 200 && d.referrals.referrals.len() < 600);
}

#[test]
fn consent_covers_every_request_and_withdrawal_cancels() {
    let d = data();
    let shares: Vec<&consent::Model> = d
        .referrals
        .consents
        .iter()
        .filter(|c| c.purpose == ConsentPurpose::ShareWithReceiver)
        .collect();
    let mut withdrawn_cancellations = 0;
    for r in &d.referrals.referrals {
        let (Some(receiver), Some(requested)) = (r.receiver_organisation_id, r.requested_at) else {
            continue;
        };
        let consent = shares
            .iter()
            .find(|c| {
                c.participant_id == r.participant_id && c.receiver_organisation_id == Some(receiver)
            })
            .unwrap_or_else(|| panic!("no consent for {r:?}"));
        assert!(consent.given_at <= requested);
        if let Some(withdrawn) = consent.withdrawn_at {
            assert_eq!(r.status, ReferralStatus::Cancelled);
            assert_eq!(r.status_reason, Some(ReferralReason::ConsentWithdrawn));
            assert_eq!(r.closed_at, Some(withdrawn));
            withdrawn_cancellations += 1;
        }
    }
    assert!(
        withdrawn_cancellations >= 2,
        "a few consents were withdrawn"
    );
}

#[test]
fn pseudonyms_are_unique_and_unambiguous() {
    let d = data();
    let mut seen = HashSet::new();
    for p in &d.referrals.participants {
        assert!(seen.insert(p.pseudonym.clone()));
        let bytes = p.pseudonym.as_bytes();
        assert_eq!(bytes.len(), 12);
        assert!(p.pseudonym.starts_with("BM-") && bytes[7] == b'-');
        assert!(!p.pseudonym[3..].contains(['I', 'O', '0', '1']));
    }
}

#[test]
fn hours_entries_pass_the_write_rules_and_never_repeat_a_visit() {
    let d = data();
    let mothers: HashMap<Uuid, &entity::mother::Model> =
        d.training.mothers.iter().map(|m| (m.id, m)).collect();
    for h in &d.hours {
        let values = crate::hours::write::HoursValues::of(h);
        assert!(values.problems(clock::TODAY).is_empty(), "{h:?}");
        let Some(id) = h.mother_id else { continue };
        // Her activity is her visits: an ACTIVITY entry of hers would count a visit twice.
        assert_ne!(h.kind, entity::enums::HoursKind::Activity, "{h:?}");
        let her = mothers.get(&id).expect("a mother of the data set");
        assert_eq!(her.project_id, h.project_id);
        assert!(her.joined_on <= h.worked_on, "{h:?}");
        assert!(her.left_on.is_none_or(|left| h.worked_on <= left), "{h:?}");
    }
    let kinds: HashSet<_> = d.hours.iter().map(|h| h.kind).collect();
    assert_eq!(kinds.len(), 4, "every kind occurs: {kinds:?}");
}

#[test]
fn nothing_happens_after_today() {
    let d = data();
    let end = clock::at(clock::add_days(clock::TODAY, 1), 0);
    assert!(d.visits.visits.iter().all(|v| v.created_at < end));
    assert!(d.referrals.events.iter().all(|e| e.occurred_at < end));
    assert!(d.training.attendance.iter().all(|a| a.created_at < end));
    assert!(d.hours.iter().all(|h| h.created_at < end));
    assert!(d.places.projects.iter().all(|p| p.created_at < end));
}

#[tokio::test]
async fn loads_once_in_one_transaction_on_sqlite() {
    let mut options = ConnectOptions::new("sqlite::memory:");
    options
        .max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let db = Database::connect(options).await.unwrap();
    migration::Migrator::up(&db, None).await.unwrap();
    crate::organisations::ensure_secretariat(&db).await.unwrap();

    let first = load(&db).await.unwrap();
    assert!(!first.already_present);
    assert_eq!(first.projects, places::PROJECTS.len());

    let may = visit::Entity::find()
        .filter(visit::Column::VisitedOn.between(clock::ymd(2012, 5, 1), clock::ymd(2012, 5, 31)))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(may, 265);
    let certified_2012 = enrolment::Entity::find()
        .filter(enrolment::Column::Status.eq(EnrolmentStatus::Completed))
        .filter(
            enrolment::Column::CertifiedOn
                .between(clock::ymd(2012, 1, 1), clock::ymd(2012, 12, 31)),
        )
        .count(&db)
        .await
        .unwrap();
    assert_eq!(certified_2012, 138);
    let secretariats = organisation::Entity::find()
        .filter(organisation::Column::Kind.eq(entity::enums::OrganisationKind::Secretariat))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(secretariats, 1);

    let second = load(&db).await.unwrap();
    assert!(second.already_present);
    assert_eq!(
        visit::Entity::find().count(&db).await.unwrap(),
        first.visits as u64
    );
}
