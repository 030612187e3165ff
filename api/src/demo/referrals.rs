//! Bridge building: participants (pseudonymous), their consents, and referrals in both
//! directions with their full timelines.
//!
//! Invariants:
//! - outbound: a project's operator refers the participant met on a visit to a municipality
//!   service (or, from a municipality-run project, to its NGO partner); the visit gets the
//!   participant and `next_step = referral`;
//! - inbound: a municipality refers a woman to a project's operator, or into its
//!   municipality-wide pool (no receiver, no project, status requested) where a project may
//!   claim her (claiming is the receiver's "accepted"); a claimed woman keeps no project (a
//!   claim never moves her record), the claimant reads her under her consent to share with it;
//! - timelines start at draft (`from_status` empty), each event leaves the previous event's
//!   status, the requester drafts/requests/cancels/marks in error and the receiver does the
//!   rest, reasons are on rejected/failed/cancelled; the referral row mirrors its last event
//!   and `version` is the number of events;
//! - every referral that left draft with a receiver has the participant's consent to share
//!   with that receiver, given before; where it was withdrawn, the referral was cancelled
//!   (reason `consent_withdrawn`) at that moment.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use entity::enums::{
    ConsentPurpose, ContactMethod, NextStep, ReferralDirection, ReferralOutcome, ReferralReason,
    ReferralStatus, ServiceCategory, VisitChannel,
};
use entity::{consent, participant, participant_language, referral, referral_event, visit};
use uuid::Uuid;

use super::clock::{self, TODAY, ymd};
use super::names;
use super::places::ProjectInfo;
use super::rng::Rng;
use super::training::Service;
use super::visits::{BYDEL_ERA, EVALUATION_UNTIL};

use ReferralStatus::{
    Accepted, Cancelled, Completed, Draft, EnteredInError, Failed, InProgress, OnHold, Rejected,
    Requested,
};

/// Letters and digits that cannot be mistaken for each other when read aloud or written.
pub(super) const PSEUDONYM_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Chance that a (non-group) visit led to a referral, by period: the Bydel era refers more.
fn referral_chance(day: NaiveDate) -> f64 {
    if day < EVALUATION_UNTIL {
        0.03
    } else if day < BYDEL_ERA {
        0.08
    } else {
        0.15
    }
}

/// Municipalities have referred women straight to projects since 2016 (in the demo data).
const INBOUND_SINCE: NaiveDate = ymd(2016, 1, 1);
const INBOUND_ADDRESSED: usize = 45;
const INBOUND_CLAIMED: usize = 14;
/// Municipalities with a pool of unclaimed inbound referrals, two each.
const POOLS: &[i32] = &[101, 751, 461, 730];
const CONTACT_ONLY_PARTICIPANTS: usize = 12;
const CONTACT_ONLY_SINCE: NaiveDate = ymd(2025, 6, 1);

pub(super) const MUNICIPAL_SERVICES: &[(ServiceCategory, u32)] = &[
    (ServiceCategory::HealthVisitor, 14),
    (ServiceCategory::JobCentre, 14),
    (ServiceCategory::LanguageSchool, 14),
    (ServiceCategory::School, 10),
    (ServiceCategory::DayCare, 10),
    (ServiceCategory::FamilyCounselling, 10),
    (ServiceCategory::CitizenService, 10),
    (ServiceCategory::Housing, 8),
    (ServiceCategory::DebtCounselling, 6),
    (ServiceCategory::Health, 4),
    (ServiceCategory::Other, 3),
];

pub(super) const NGO_SERVICES: &[(ServiceCategory, u32)] = &[
    (ServiceCategory::FamilyCounselling, 30),
    (ServiceCategory::DebtCounselling, 30),
    (ServiceCategory::Other, 20),
    (ServiceCategory::Health, 10),
];

pub(super) const OUTCOMES: &[(ReferralOutcome, u32)] = &[
    (ReferralOutcome::ServiceProvided, 75),
    (ReferralOutcome::PartiallyProvided, 15),
    (ReferralOutcome::DeclinedByParticipant, 7),
    (ReferralOutcome::Other, 3),
];

pub(super) const CONTACT_METHODS: &[(ContactMethod, u32)] = &[
    (ContactMethod::Phone, 35),
    (ContactMethod::ViaMother, 30),
    (ContactMethod::Sms, 20),
    (ContactMethod::InPerson, 12),
    (ContactMethod::Email, 3),
];

pub(super) const OUTBOUND_NOTES: &[&str] = &[
    "Ønsker tolk ved første møde",
    "Kan bedst kontaktes om formiddagen",
    "Bydelsmoren deltager gerne i første møde",
    "Har brug for hjælp til at udfylde skemaer",
    "Foretrækker en kvindelig sagsbehandler",
];

pub(super) const INBOUND_NOTES: &[&str] = &[
    "Ønsker kontakt til en bydelsmor, der taler hendes sprog",
    "Isoleret efter flytning til kommunen",
    "Har brug for hjælp til kontakten med skolen",
    "Nyankommen familie; brug for netværk",
];

/// Which referrals sit in which status depends on how long ago they were made.
pub(super) fn status_for_age(days: i64, rng: &mut Rng) -> ReferralStatus {
    let table: &[(ReferralStatus, u32)] = match days {
        ..7 => &[(Draft, 25), (Requested, 50), (Accepted, 25)],
        7..21 => &[
            (Draft, 8),
            (Requested, 25),
            (Accepted, 25),
            (InProgress, 30),
            (Rejected, 12),
        ],
        21..61 => &[
            (Requested, 20),
            (Accepted, 5),
            (InProgress, 30),
            (OnHold, 15),
            (Completed, 20),
            (Cancelled, 5),
            (Failed, 5),
        ],
        61..121 => &[
            (InProgress, 15),
            (OnHold, 10),
            (Completed, 55),
            (Failed, 7),
            (Cancelled, 8),
            (Rejected, 5),
        ],
        _ => &[
            (Completed, 72),
            (Rejected, 7),
            (Failed, 8),
            (Cancelled, 8),
            (EnteredInError, 5),
        ],
    };
    rng.weighted(table).unwrap_or(Completed)
}

/// The statuses a referral passed through to reach `last`. A claimed pool referral always
/// passes "accepted" (the claim).
pub(super) fn path(last: ReferralStatus, claimed: bool, rng: &mut Rng) -> Vec<ReferralStatus> {
    let roll = rng.unit();
    let steps: &[ReferralStatus] = match last {
        Draft => &[Draft],
        Requested => &[Draft, Requested],
        Accepted => &[Draft, Requested, Accepted],
        Rejected => &[Draft, Requested, Rejected],
        InProgress if roll < 0.15 => &[Draft, Requested, Accepted, InProgress, OnHold, InProgress],
        InProgress => &[Draft, Requested, Accepted, InProgress],
        OnHold => &[Draft, Requested, Accepted, InProgress, OnHold],
        Completed if roll < 0.2 => &[
            Draft, Requested, Accepted, InProgress, OnHold, InProgress, Completed,
        ],
        Completed => &[Draft, Requested, Accepted, InProgress, Completed],
        Failed if roll < 0.6 => &[Draft, Requested, Accepted, InProgress, Failed],
        Failed => &[Draft, Requested, Accepted, Failed],
        Cancelled if roll < 0.5 && !claimed => &[Draft, Requested, Cancelled],
        Cancelled if roll < 0.8 => &[Draft, Requested, Accepted, Cancelled],
        Cancelled => &[Draft, Requested, Accepted, InProgress, Cancelled],
        EnteredInError if roll < 0.5 => &[Draft, EnteredInError],
        EnteredInError => &[Draft, Requested, EnteredInError],
    };
    steps.to_vec()
}

/// Minutes from the previous event to one entering `status`.
pub(super) fn gap_minutes(status: ReferralStatus, rng: &mut Rng) -> i64 {
    const DAY: i64 = 24 * 60;
    let (lo, hi) = match status {
        Draft => (0, 0),
        Requested => (10, 2 * DAY),
        Accepted | Rejected => (DAY, 10 * DAY),
        InProgress => (DAY, 14 * DAY),
        OnHold => (7 * DAY, 40 * DAY),
        Completed => (14 * DAY, 90 * DAY),
        Failed => (14 * DAY, 60 * DAY),
        Cancelled => (DAY, 30 * DAY),
        EnteredInError => (10, 3 * DAY),
    };
    rng.range(lo, hi)
}

/// Reason for a move into `status` (rejected, failed and cancelled must carry one).
pub(super) fn reason(
    status: ReferralStatus,
    consent_withdrawn: bool,
    rng: &mut Rng,
) -> Option<ReferralReason> {
    use ReferralReason::*;
    let table: &[(ReferralReason, u32)] = match status {
        Rejected => &[(NoCapacity, 40), (NotEligible, 35), (ReferredElsewhere, 25)],
        Failed => &[(CouldNotContact, 60), (NoLongerInterested, 40)],
        Cancelled if consent_withdrawn => &[(ConsentWithdrawn, 1)],
        Cancelled => &[
            (NoLongerInterested, 40),
            (ReferredElsewhere, 25),
            (Duplicate, 15),
            (Other, 20),
        ],
        EnteredInError if rng.chance(0.6) => &[(Duplicate, 1)],
        _ => &[],
    };
    rng.weighted(table)
}

/// Whether the requester (draft, request, cancel, error) or the receiver makes a move.
pub(super) fn by_requester(status: ReferralStatus) -> bool {
    matches!(status, Draft | Requested | Cancelled | EnteredInError)
}

pub(super) fn is_closed(status: ReferralStatus) -> bool {
    matches!(
        status,
        Rejected | Failed | Completed | Cancelled | EnteredInError
    )
}

#[derive(Debug, Clone, PartialEq)]
pub struct Referrals {
    pub participants: Vec<participant::Model>,
    pub participant_languages: Vec<participant_language::Model>,
    pub consents: Vec<consent::Model>,
    pub referrals: Vec<referral::Model>,
    pub events: Vec<referral_event::Model>,
}

/// What one referral is about, before its timeline is written.
struct Ask {
    direction: ReferralDirection,
    requester: Uuid,
    receiver: Option<Uuid>,
    pool: Option<i32>,
    project: Option<usize>,
    participant: Uuid,
    mother: Option<Uuid>,
    visit: Option<Uuid>,
    category: ServiceCategory,
    start: DateTime<Utc>,
    last: ReferralStatus,
    claimed: bool,
    /// Index into `consents` of the share consent that a cancellation may withdraw.
    share_consent: Option<usize>,
    note_from: &'static [&'static str],
}

struct Builder<'a> {
    rng: Rng,
    projects: &'a [ProjectInfo],
    service: &'a [Vec<Service>],
    pseudonyms: HashSet<String>,
    out: Referrals,
}

pub fn build(
    projects: &[ProjectInfo],
    service: &[Vec<Service>],
    visits: &mut [visit::Model],
) -> Referrals {
    let mut b = Builder {
        rng: Rng::stream("referrals"),
        projects,
        service,
        pseudonyms: HashSet::new(),
        out: Referrals {
            participants: Vec::new(),
            participant_languages: Vec::new(),
            consents: Vec::new(),
            referrals: Vec::new(),
            events: Vec::new(),
        },
    };
    b.outbound(visits);
    b.inbound_addressed();
    b.inbound_claimed();
    b.pools();
    b.contact_only();
    b.out
}

/// The last moment anything in the data set happens.
pub(super) fn deadline() -> DateTime<Utc> {
    clock::at(TODAY, 23 * 60 + 59)
}

pub(super) fn age_in_days(start: DateTime<Utc>) -> i64 {
    (deadline() - start).num_days()
}

/// Event times from `start`, squeezed proportionally when they would pass the deadline;
/// strictly increasing either way.
pub(super) fn timeline(
    rng: &mut Rng,
    start: DateTime<Utc>,
    steps: &[ReferralStatus],
) -> Vec<DateTime<Utc>> {
    let mut offsets = Vec::with_capacity(steps.len());
    let mut total = 0;
    for status in steps {
        total += gap_minutes(*status, rng);
        offsets.push(total);
    }
    let room = (deadline() - start).num_minutes().max(steps.len() as i64);
    let scale = if total > room {
        room as f64 / total as f64
    } else {
        1.0
    };
    let mut previous = -1;
    offsets
        .into_iter()
        .map(|o| {
            let minutes = ((o as f64 * scale) as i64).max(previous + 1);
            previous = minutes;
            start + TimeDelta::minutes(minutes)
        })
        .collect()
}

impl Builder<'_> {
    fn project_index(&self, id: Uuid) -> Option<usize> {
        self.projects.iter().position(|p| p.id == id)
    }

    fn outbound(&mut self, visits: &mut [visit::Model]) {
        for visit in visits.iter_mut() {
            if visit.channel == VisitChannel::GroupEvent
                || !self.rng.chance(referral_chance(visit.visited_on))
            {
                continue;
            }
            let Some(project) = self.project_index(visit.project_id) else {
                continue;
            };
            self.outbound_from(visit, project);
        }
    }

    /// One or (now and then) two referrals to the same receiver out of one visit.
    fn outbound_from(&mut self, visit: &mut visit::Model, project: usize) {
        let p = &self.projects[project];
        let (receiver, services) = match p.partner_ngo_id {
            Some(ngo) => (ngo, NGO_SERVICES),
            None => (p.municipality_org_id, MUNICIPAL_SERVICES),
        };
        let registered_at = visit.created_at + TimeDelta::minutes(10);
        let participant = self.participant(Some(project), p.operator_id, registered_at, None);
        visit.participant_id = Some(participant);
        visit.next_step = NextStep::Referral;
        visit.updated_at = registered_at;
        let start = registered_at + TimeDelta::minutes(self.rng.range(5, 120));
        // In the last three weeks some drafts still wait for the woman's consent.
        let awaiting_consent = age_in_days(start) < 21 && self.rng.chance(0.4);
        let last = status_for_age(age_in_days(start), &mut self.rng);
        let consent_at = registered_at + TimeDelta::minutes(1);
        let share_consent = (!awaiting_consent).then(|| {
            self.consent(
                participant,
                ConsentPurpose::ShareWithReceiver,
                Some(receiver),
                consent_at,
                Some(visit.mother_id),
            )
        });
        self.usual_consents(participant, consent_at, Some(visit.mother_id));
        let count = if self.rng.chance(0.1) { 2 } else { 1 };
        let categories = self.rng.weighted_distinct(services, count);
        let single = categories.len() == 1;
        for (n, category) in categories.into_iter().enumerate() {
            let last = if n == 0 {
                last
            } else {
                status_for_age(age_in_days(start), &mut self.rng)
            };
            let last = if share_consent.is_none() { Draft } else { last };
            self.referral(Ask {
                direction: ReferralDirection::Outbound,
                requester: p.operator_id,
                receiver: Some(receiver),
                pool: None,
                project: Some(project),
                participant,
                mother: Some(visit.mother_id),
                visit: Some(visit.id),
                category,
                start: start + TimeDelta::minutes(n as i64 * 7),
                last,
                claimed: false,
                share_consent: share_consent.filter(|_| single),
                note_from: OUTBOUND_NOTES,
            });
        }
    }

    /// A municipality refers a woman straight to an NGO-run project.
    fn inbound_addressed(&mut self) {
        let table: Vec<(usize, u32)> = self
            .projects
            .iter()
            .filter(|p| p.is_ngo_run() && p.active_until > INBOUND_SINCE)
            .map(|p| (p.index, p.spec.weight))
            .collect();
        for _ in 0..INBOUND_ADDRESSED {
            let Some(project) = self.rng.weighted(&table) else {
                return;
            };
            let p = &self.projects[project];
            let first = p.spec.started_on.max(INBOUND_SINCE);
            let start = self.recent_moment(first, p.active_until);
            let last = status_for_age(age_in_days(start), &mut self.rng);
            self.inbound(project, start, last, false);
        }
    }

    /// Referrals made into a municipality's pool and claimed there by an NGO-run project.
    fn inbound_claimed(&mut self) {
        let table: Vec<(usize, u32)> = self
            .projects
            .iter()
            .filter(|p| p.is_ngo_run() && p.is_open())
            .map(|p| (p.index, p.spec.weight))
            .collect();
        for _ in 0..INBOUND_CLAIMED {
            let Some(project) = self.rng.weighted(&table) else {
                return;
            };
            let start = self.recent_moment(BYDEL_ERA, TODAY);
            let last = match status_for_age(age_in_days(start), &mut self.rng) {
                Draft | Requested => Accepted,
                Rejected | EnteredInError => Completed,
                other => other,
            };
            self.inbound(project, start, last, true);
        }
    }

    fn inbound(
        &mut self,
        project: usize,
        start: DateTime<Utc>,
        last: ReferralStatus,
        claimed: bool,
    ) {
        let p = &self.projects[project];
        let municipality = p.municipality_org_id;
        let case_ref = self.case_ref(p.spec.code, start);
        let registered_at = start - TimeDelta::minutes(self.rng.range(20, 240));
        let participant =
            self.participant(Some(project), municipality, registered_at, Some(case_ref));
        if claimed && let Some(row) = self.out.participants.last_mut() {
            // From the project's area (her district), but not of the project: see the module doc.
            row.project_id = None;
        }
        let share = self.consent(
            participant,
            ConsentPurpose::ShareWithReceiver,
            Some(p.operator_id),
            registered_at,
            None,
        );
        self.usual_consents(participant, registered_at, None);
        self.referral(Ask {
            direction: ReferralDirection::Inbound,
            requester: municipality,
            receiver: Some(p.operator_id),
            pool: claimed.then_some(p.spec.code),
            project: Some(project),
            participant,
            mother: None,
            visit: None,
            category: ServiceCategory::NeighbourhoodMother,
            start,
            last,
            claimed,
            share_consent: Some(share),
            note_from: INBOUND_NOTES,
        });
    }

    /// Unclaimed referrals waiting in a municipality pool; some have waited for weeks.
    fn pools(&mut self) {
        for code in POOLS {
            let Some(p) = self.projects.iter().find(|p| p.spec.code == *code) else {
                continue;
            };
            let municipality = p.municipality_org_id;
            let districts: Vec<&'static str> = self
                .projects
                .iter()
                .filter(|q| q.spec.code == *code)
                .flat_map(|q| q.spec.districts.iter().copied())
                .collect();
            for days_ago in [self.rng.range(2, 12), self.rng.range(22, 50)] {
                let day = clock::add_days(TODAY, -days_ago);
                let start = clock::office_hours(day, &mut self.rng);
                let case_ref = self.case_ref(*code, start);
                let registered_at = start - TimeDelta::minutes(self.rng.range(20, 240));
                let participant =
                    self.participant(None, municipality, registered_at, Some(case_ref));
                if let Some(row) = self.out.participants.last_mut() {
                    row.district = self.rng.pick(&districts).map(|d| (*d).to_owned());
                }
                self.usual_consents(participant, registered_at, None);
                self.referral(Ask {
                    direction: ReferralDirection::Inbound,
                    requester: municipality,
                    receiver: None,
                    pool: Some(*code),
                    project: None,
                    participant,
                    mother: None,
                    visit: None,
                    category: ServiceCategory::NeighbourhoodMother,
                    start,
                    last: Requested,
                    claimed: false,
                    share_consent: None,
                    note_from: INBOUND_NOTES,
                });
            }
        }
    }

    /// Women who only asked to be contacted again: registered, with contact consent, no referral.
    fn contact_only(&mut self) {
        let table: Vec<(usize, u32)> = self
            .projects
            .iter()
            .filter(|p| p.is_open())
            .map(|p| (p.index, p.spec.weight))
            .collect();
        for _ in 0..CONTACT_ONLY_PARTICIPANTS {
            let Some(project) = self.rng.weighted(&table) else {
                return;
            };
            let day = clock::day_between(
                CONTACT_ONLY_SINCE,
                clock::add_days(TODAY, -1),
                &mut self.rng,
            );
            let serving: Vec<Uuid> = self.service[project]
                .iter()
                .filter(|s| s.covers(day))
                .map(|s| s.mother_id)
                .collect();
            let Some(mother) = self.rng.pick(&serving).copied() else {
                continue;
            };
            let at = clock::evening(day, &mut self.rng);
            let participant =
                self.participant(Some(project), self.projects[project].operator_id, at, None);
            self.consent(participant, ConsentPurpose::Contact, None, at, Some(mother));
            if self.rng.chance(0.5) {
                self.consent(
                    participant,
                    ConsentPurpose::Statistics,
                    None,
                    at,
                    Some(mother),
                );
            }
        }
    }

    /// A moment in office hours between `from` and `until`, more often recent than old.
    fn recent_moment(&mut self, from: NaiveDate, until: NaiveDate) -> DateTime<Utc> {
        let span = (until.min(clock::add_days(TODAY, -1)) - from)
            .num_days()
            .max(0);
        let back = (self.rng.unit().powi(2) * span as f64) as i64;
        let day = clock::add_days(until.min(clock::add_days(TODAY, -1)), -back);
        clock::office_hours(day, &mut self.rng)
    }

    fn case_ref(&mut self, code: i32, at: DateTime<Utc>) -> String {
        use chrono::Datelike;
        format!("K{code}-{}-{:05}", at.year(), self.rng.range(1, 99_999))
    }

    /// A unique pseudonym like "BM-7K3Q-9XPA".
    fn pseudonym(&mut self) -> String {
        loop {
            let mut code = String::from("BM-");
            for n in 0..8 {
                if n == 4 {
                    code.push('-');
                }
                let i = self.rng.index(PSEUDONYM_ALPHABET.len());
                code.push(char::from(PSEUDONYM_ALPHABET[i]));
            }
            if self.pseudonyms.insert(code.clone()) {
                return code;
            }
        }
    }

    fn participant(
        &mut self,
        project: Option<usize>,
        registered_by: Uuid,
        created_at: DateTime<Utc>,
        case_ref: Option<String>,
    ) -> Uuid {
        let id = self.rng.uuid_at(created_at);
        let pseudonym = self.pseudonym();
        let n = self.out.participants.len() as u32;
        let rng = &mut self.rng;
        let background = names::background(rng);
        let first_name = rng
            .chance(if case_ref.is_some() { 0.85 } else { 0.6 })
            .then(|| background.first_name(rng));
        let languages = background.languages(rng, 0.4);
        let preferred_contact = rng.weighted(CONTACT_METHODS);
        let wants_phone = matches!(
            preferred_contact,
            Some(ContactMethod::Phone | ContactMethod::Sms)
        );
        let phone = (wants_phone || rng.chance(0.3)).then(|| names::fake_phone(1, n));
        let email = (preferred_contact == Some(ContactMethod::Email))
            .then(|| names::fake_email(first_name.unwrap_or("kvinde"), "bm", n));
        let district = project
            .and_then(|p| self.projects.get(p))
            .filter(|_| rng.chance(0.85))
            .and_then(|p| rng.pick(p.spec.districts))
            .map(|d| (*d).to_owned());
        self.out.participants.push(participant::Model {
            id,
            pseudonym,
            project_id: project.and_then(|p| self.projects.get(p)).map(|p| p.id),
            registered_by_organisation_id: registered_by,
            first_name: first_name.map(str::to_owned),
            birth_year: rng.chance(0.75).then(|| rng.range(1962, 2003) as i32),
            preferred_contact,
            preferred_language: rng.chance(0.85).then(|| languages[0].to_owned()),
            phone,
            email,
            district,
            municipality_case_ref: case_ref,
            notes: None,
            version: 1,
            erased_at: None,
            registered_by_mother_id: None,
            created_at,
            updated_at: created_at,
        });
        self.out
            .participant_languages
            .extend(languages.iter().map(|l| participant_language::Model {
                participant_id: id,
                language: (*l).to_owned(),
            }));
        id
    }

    /// Records a consent and returns its index (so a later withdrawal can find it).
    fn consent(
        &mut self,
        participant: Uuid,
        purpose: ConsentPurpose,
        receiver: Option<Uuid>,
        given_at: DateTime<Utc>,
        mother: Option<Uuid>,
    ) -> usize {
        self.out.consents.push(consent::Model {
            id: self.rng.uuid_at(given_at),
            participant_id: participant,
            purpose,
            receiver_organisation_id: receiver,
            given_at,
            recorded_by_client_id: None,
            recorded_by_mother_id: mother,
            withdrawn_at: None,
            valid_until: None,
            created_at: given_at,
            updated_at: given_at,
        });
        self.out.consents.len() - 1
    }

    /// Being contacted again (most) and counting in statistics (many).
    fn usual_consents(&mut self, participant: Uuid, at: DateTime<Utc>, mother: Option<Uuid>) {
        if self.rng.chance(0.8) {
            self.consent(participant, ConsentPurpose::Contact, None, at, mother);
        }
        if self.rng.chance(0.6) {
            self.consent(participant, ConsentPurpose::Statistics, None, at, mother);
        }
    }

    fn withdraw_consent(&mut self, index: usize, at: DateTime<Utc>) {
        if let Some(consent) = self.out.consents.get_mut(index) {
            consent.withdrawn_at = Some(at);
            consent.updated_at = at;
        }
    }

    /// Writes the referral and its timeline; a cancellation may be the consent's withdrawal.
    fn referral(&mut self, ask: Ask) {
        let steps = path(ask.last, ask.claimed, &mut self.rng);
        let consent_withdrawn =
            ask.last == Cancelled && ask.share_consent.is_some() && self.rng.chance(0.35);
        let times = timeline(&mut self.rng, ask.start, &steps);
        let id = self.rng.uuid_at(ask.start);
        let (mother, last_reason) = self.events(&ask, id, &steps, &times, consent_withdrawn);
        let moment = |s: ReferralStatus| {
            steps
                .iter()
                .zip(&times)
                .find(|(x, _)| **x == s)
                .map(|(_, t)| *t)
        };
        let updated_at = times.last().copied().unwrap_or(ask.start);
        if consent_withdrawn && let Some(index) = ask.share_consent {
            self.withdraw_consent(index, updated_at);
        }
        let note = self
            .rng
            .chance(0.35)
            .then(|| self.rng.pick(ask.note_from))
            .flatten();
        let outcome = (ask.last == Completed)
            .then(|| self.rng.weighted(OUTCOMES))
            .flatten();
        self.out.referrals.push(referral::Model {
            id,
            direction: ask.direction,
            requester_organisation_id: ask.requester,
            receiver_organisation_id: ask.receiver,
            pool_municipality_code: ask.pool,
            project_id: ask.project.and_then(|p| self.projects.get(p)).map(|p| p.id),
            participant_id: ask.participant,
            mother_id: mother,
            visit_id: ask.visit,
            service_category: ask.category,
            priority: entity::enums::ReferralPriority::Routine,
            service_id: None,
            status: ask.last,
            status_reason: last_reason,
            outcome,
            note: note.map(|n| (*n).to_owned()),
            requested_at: moment(Requested),
            accepted_at: moment(Accepted),
            closed_at: is_closed(ask.last).then_some(updated_at),
            version: steps.len() as i32,
            created_at: ask.start,
            updated_at,
        });
    }

    /// One event per step, each leaving the previous status. Returns the mother in charge
    /// (an inbound referral gets one when accepted) and the last event's reason.
    fn events(
        &mut self,
        ask: &Ask,
        referral_id: Uuid,
        steps: &[ReferralStatus],
        times: &[DateTime<Utc>],
        consent_withdrawn: bool,
    ) -> (Option<Uuid>, Option<ReferralReason>) {
        let mut mother = ask.mother;
        let mut previous = None;
        let mut last_reason = None;
        for (n, (status, at)) in steps.iter().zip(times).enumerate() {
            let reason = reason(*status, consent_withdrawn, &mut self.rng);
            let actor = if by_requester(*status) {
                Some(ask.requester)
            } else {
                ask.receiver
            };
            if *status == Accepted && mother.is_none() {
                mother = ask.project.and_then(|p| self.mother_on(p, at.date_naive()));
            }
            self.out.events.push(referral_event::Model {
                id: self.rng.uuid_at(*at),
                referral_id,
                sequence: n as i32 + 1,
                actor_organisation_id: actor.unwrap_or(ask.requester),
                actor_client_id: None,
                from_status: previous,
                to_status: *status,
                kind: entity::enums::TimelineKind::of_step(previous, *status),
                reason,
                note: (reason == Some(ReferralReason::ConsentWithdrawn))
                    .then(|| "Borgeren har trukket sit samtykke tilbage".to_owned()),
                occurred_at: *at,
                created_at: *at,
            });
            previous = Some(*status);
            last_reason = reason;
        }
        (mother, last_reason)
    }

    /// A mother of the project serving on `day`, to take over an inbound referral.
    fn mother_on(&mut self, project: usize, day: NaiveDate) -> Option<Uuid> {
        let serving: Vec<Uuid> = self.service[project]
            .iter()
            .filter(|s| s.covers(day))
            .map(|s| s.mother_id)
            .collect();
        self.rng.pick(&serving).copied()
    }
}
