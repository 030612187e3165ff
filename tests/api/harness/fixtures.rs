//! Typed fixture builders: rows inserted straight through the entities, for targeted tests
//! that must not depend on the demo data set.
//!
//! Each builder fills every required column with a plausible value and takes a `tweak`
//! closure for the columns a test cares about; ids are UUID v7 as the application makes them.

use std::ops::RangeInclusive;

use bydel::visits::tally::Tallies;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use entity::{
    consent, course, enrolment,
    enums::{
        ConsentPurpose, ContactOrigin, CourseKind, EnrolmentStatus, MotherStatus, NextStep,
        OrganisationKind, PartnerRole, ProjectStatus, ReferralDirection, ReferralOutcome,
        ReferralReason, ReferralStatus, ServiceCategory, VisitChannel, VisitTopic,
    },
    module_attendance, mother, mother_language, municipality, organisation, participant,
    participant_language, project, project_partner, referral, referral_event, visit, visit_topic,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, DbErr};
use uuid::Uuid;

/// The current time at the precision both backends store (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A calendar date; panics on an impossible one (a typo in a test).
pub fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day)
        .unwrap_or_else(|| panic!("{year}-{month}-{day} is not a date"))
}

/// An instant from RFC 3339 text, e.g. `2024-03-01T10:00:00Z`.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|err| panic!("{text:?} is not an RFC 3339 time: {err}"))
        .with_timezone(&Utc)
}

#[track_caller]
fn inserted<T>(result: Result<T, DbErr>, what: &str) -> T {
    result.unwrap_or_else(|err| panic!("cannot insert the fixture {what}: {err}"))
}

/// The organisations most tests need: the secretariat, two municipalities and an NGO.
pub struct Base {
    pub secretariat: organisation::Model,
    /// `kommune-101`, København.
    pub copenhagen: organisation::Model,
    /// `kommune-730`, Randers.
    pub randers: organisation::Model,
    /// `ngo-red-cross`, operator of the projects.
    pub ngo: organisation::Model,
}

pub struct Fixtures<'a> {
    db: &'a DatabaseConnection,
}

impl<'a> Fixtures<'a> {
    pub fn new(db: &'a DatabaseConnection) -> Self {
        Self { db }
    }

    /// Municipalities 101 København, 730 Randers and 751 Aarhus, their municipality
    /// organisations (101 and 730), an NGO, and the secretariat that every app has.
    pub async fn base(&self) -> Base {
        self.municipality(101, "København", "Region Hovedstaden")
            .await;
        self.municipality(730, "Randers", "Region Midtjylland")
            .await;
        self.municipality(751, "Aarhus", "Region Midtjylland").await;
        let secretariat = bydel::organisations::find_by_reference(self.db, "secretariat")
            .await
            .expect("every test app has the secretariat");
        Base {
            secretariat,
            copenhagen: self
                .organisation("kommune-101", OrganisationKind::Municipality, Some(101))
                .await,
            randers: self
                .organisation("kommune-730", OrganisationKind::Municipality, Some(730))
                .await,
            ngo: self
                .organisation("ngo-red-cross", OrganisationKind::Ngo, None)
                .await,
        }
    }

    pub async fn municipality(&self, code: i32, name: &str, region: &str) -> municipality::Model {
        let row = municipality::ActiveModel {
            code: Set(code),
            name: Set(name.to_owned()),
            region: Set(region.to_owned()),
        };
        inserted(row.insert(self.db).await, "municipality")
    }

    /// An organisation named after its short name (`"Organisation <short name>"`).
    pub async fn organisation(
        &self,
        short_name: &str,
        kind: OrganisationKind,
        municipality_code: Option<i32>,
    ) -> organisation::Model {
        let now = now();
        let row = organisation::ActiveModel {
            id: Set(Uuid::now_v7()),
            short_name: Set(short_name.to_owned()),
            name: Set(format!("Organisation {short_name}")),
            kind: Set(kind),
            municipality_code: Set(municipality_code),
            created_at: Set(now),
            updated_at: Set(now),
        };
        inserted(row.insert(self.db).await, "organisation")
    }

    /// An active project started 2010-01-01.
    pub async fn project(
        &self,
        name: &str,
        municipality_code: i32,
        operator: &organisation::Model,
        tweak: impl FnOnce(&mut project::ActiveModel),
    ) -> project::Model {
        let now = now();
        let mut row = project::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(name.to_owned()),
            municipality_code: Set(municipality_code),
            operator_organisation_id: Set(operator.id),
            status: Set(ProjectStatus::Active),
            started_on: Set(date(2010, 1, 1)),
            ended_on: Set(None),
            corps: Set(entity::enums::ProjectCorps::Mothers),
            created_at: Set(now),
            updated_at: Set(now),
        };
        tweak(&mut row);
        inserted(row.insert(self.db).await, "project")
    }

    pub async fn partner(
        &self,
        project: &project::Model,
        organisation: &organisation::Model,
        role: PartnerRole,
    ) {
        let row = project_partner::ActiveModel {
            project_id: Set(project.id),
            organisation_id: Set(organisation.id),
            role: Set(role),
            created_at: Set(now()),
        };
        inserted(row.insert(self.db).await, "project partner");
    }

    /// An active mother called `<first_name> Hansen` who joined 2011-03-01, speaking `languages`.
    pub async fn mother(
        &self,
        project: &project::Model,
        first_name: &str,
        languages: &[&str],
        tweak: impl FnOnce(&mut mother::ActiveModel),
    ) -> mother::Model {
        let now = now();
        let mut row = mother::ActiveModel {
            id: Set(Uuid::now_v7()),
            project_id: Set(project.id),
            first_name: Set(first_name.to_owned()),
            last_name: Set("Hansen".to_owned()),
            phone: Set(None),
            email: Set(None),
            status: Set(MotherStatus::Active),
            joined_on: Set(date(2011, 3, 1)),
            left_on: Set(None),
            corps: Set(entity::enums::Corps::Mother),
            created_at: Set(now),
            updated_at: Set(now),
        };
        tweak(&mut row);
        let mother = inserted(row.insert(self.db).await, "mother");
        for language in languages {
            let row = mother_language::ActiveModel {
                mother_id: Set(mother.id),
                language: Set((*language).to_owned()),
            };
            inserted(row.insert(self.db).await, "mother language");
        }
        mother
    }

    /// A basic 15-module course starting on `starts_on`.
    pub async fn course(
        &self,
        project: &project::Model,
        name: &str,
        starts_on: NaiveDate,
        tweak: impl FnOnce(&mut course::ActiveModel),
    ) -> course::Model {
        let now = now();
        let mut row = course::ActiveModel {
            id: Set(Uuid::now_v7()),
            project_id: Set(project.id),
            name: Set(name.to_owned()),
            kind: Set(CourseKind::Basic),
            module_count: Set(15),
            starts_on: Set(starts_on),
            ends_on: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        tweak(&mut row);
        inserted(row.insert(self.db).await, "course")
    }

    /// An enrolment; `certified_on` makes it completed, `None` leaves it enrolled.
    pub async fn enrolment(
        &self,
        course: &course::Model,
        mother: &mother::Model,
        certified_on: Option<NaiveDate>,
    ) -> enrolment::Model {
        let now = now();
        let row = enrolment::ActiveModel {
            id: Set(Uuid::now_v7()),
            course_id: Set(course.id),
            mother_id: Set(mother.id),
            status: Set(if certified_on.is_some() {
                EnrolmentStatus::Completed
            } else {
                EnrolmentStatus::Enrolled
            }),
            contract_signed_on: Set(Some(course.starts_on)),
            certified_on: Set(certified_on),
            created_at: Set(now),
            updated_at: Set(now),
        };
        inserted(row.insert(self.db).await, "enrolment")
    }

    /// Attendance at `modules`, one week apart from `first_on`.
    pub async fn attended(
        &self,
        enrolment: &enrolment::Model,
        modules: RangeInclusive<i32>,
        first_on: NaiveDate,
    ) {
        for module in modules {
            let row = module_attendance::ActiveModel {
                enrolment_id: Set(enrolment.id),
                module_number: Set(module),
                attended_on: Set(first_on + chrono::Duration::weeks(i64::from(module - 1))),
                created_at: Set(now()),
            };
            inserted(row.insert(self.db).await, "module attendance");
        }
    }

    /// A participant known by `pseudonym`, registered by `registered_by`.
    pub async fn participant(
        &self,
        pseudonym: &str,
        project: Option<&project::Model>,
        registered_by: &organisation::Model,
        languages: &[&str],
        tweak: impl FnOnce(&mut participant::ActiveModel),
    ) -> participant::Model {
        let now = now();
        let mut row = participant::ActiveModel {
            id: Set(Uuid::now_v7()),
            pseudonym: Set(pseudonym.to_owned()),
            project_id: Set(project.map(|p| p.id)),
            registered_by_mother_id: Set(None),
            registered_by_organisation_id: Set(registered_by.id),
            first_name: Set(None),
            birth_year: Set(None),
            preferred_contact: Set(None),
            preferred_language: Set(None),
            phone: Set(None),
            email: Set(None),
            district: Set(None),
            municipality_case_ref: Set(None),
            notes: Set(None),
            version: Set(1),
            erased_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        tweak(&mut row);
        let participant = inserted(row.insert(self.db).await, "participant");
        for language in languages {
            let row = participant_language::ActiveModel {
                participant_id: Set(participant.id),
                language: Set((*language).to_owned()),
            };
            inserted(row.insert(self.db).await, "participant language");
        }
        participant
    }

    /// A live consent given at 2024-01-10 10:00 UTC.
    pub async fn consent(
        &self,
        participant: &participant::Model,
        purpose: ConsentPurpose,
        receiver: Option<&organisation::Model>,
        tweak: impl FnOnce(&mut consent::ActiveModel),
    ) -> consent::Model {
        let now = now();
        let mut row = consent::ActiveModel {
            id: Set(Uuid::now_v7()),
            participant_id: Set(participant.id),
            purpose: Set(purpose),
            receiver_organisation_id: Set(receiver.map(|r| r.id)),
            given_at: Set(at("2024-01-10T10:00:00Z")),
            recorded_by_client_id: Set(None),
            recorded_by_mother_id: Set(None),
            withdrawn_at: Set(None),
            valid_until: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        tweak(&mut row);
        inserted(row.insert(self.db).await, "consent")
    }

    /// An anonymous one-hour visit with `topics`.
    pub async fn visit(
        &self,
        mother: &mother::Model,
        visited_on: NaiveDate,
        channel: VisitChannel,
        topics: &[VisitTopic],
        tweak: impl FnOnce(&mut visit::ActiveModel),
    ) -> visit::Model {
        let now = now();
        let mut row = visit::ActiveModel {
            id: Set(Uuid::now_v7()),
            project_id: Set(mother.project_id),
            mother_id: Set(mother.id),
            participant_id: Set(None),
            channel: Set(channel),
            visited_on: Set(visited_on),
            duration_minutes: Set(60),
            contact_origin: Set(ContactOrigin::MotherNetwork),
            next_step: Set(NextStep::None),
            attendee_count: Set(None),
            notes: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        tweak(&mut row);
        let visit = inserted(row.insert(self.db).await, "visit");
        for topic in topics {
            let row = visit_topic::ActiveModel {
                visit_id: Set(visit.id),
                topic: Set(*topic),
            };
            inserted(row.insert(self.db).await, "visit topic");
        }
        // Like every loader of visits, the fixture keeps the monthly tallies in step.
        let mut tallies = Tallies::default();
        tallies.add(&visit, topics.iter().copied());
        tallies.apply(self.db).await.expect("visit tallies");
        visit
    }

    /// An outbound referral of `participant` from `requester` to `receiver` for a health
    /// visitor, in `status`; a closing status gets the reason or outcome it requires.
    pub async fn referral(
        &self,
        requester: &organisation::Model,
        receiver: &organisation::Model,
        participant: &participant::Model,
        status: ReferralStatus,
        tweak: impl FnOnce(&mut referral::ActiveModel),
    ) -> referral::Model {
        let now = now();
        let closing = matches!(
            status,
            ReferralStatus::Rejected | ReferralStatus::Failed | ReferralStatus::Cancelled
        );
        let mut row = referral::ActiveModel {
            id: Set(Uuid::now_v7()),
            direction: Set(ReferralDirection::Outbound),
            requester_organisation_id: Set(requester.id),
            receiver_organisation_id: Set(Some(receiver.id)),
            pool_municipality_code: Set(None),
            project_id: Set(participant.project_id),
            participant_id: Set(participant.id),
            mother_id: Set(None),
            visit_id: Set(None),
            service_category: Set(ServiceCategory::HealthVisitor),
            priority: Set(entity::enums::ReferralPriority::Routine),
            service_id: Set(None),
            status: Set(status),
            status_reason: Set(closing.then_some(ReferralReason::CouldNotContact)),
            outcome: Set(
                (status == ReferralStatus::Completed).then_some(ReferralOutcome::ServiceProvided)
            ),
            note: Set(None),
            requested_at: Set((status != ReferralStatus::Draft).then_some(now)),
            accepted_at: Set(None),
            closed_at: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        };
        tweak(&mut row);
        inserted(row.insert(self.db).await, "referral")
    }

    /// An inbound referral from the municipality `requester` into its own municipality-wide
    /// pool (`pool_municipality_code` = its code): no receiver and no project until a project
    /// claims it.
    pub async fn pool_referral(
        &self,
        requester: &organisation::Model,
        participant: &participant::Model,
        status: ReferralStatus,
        tweak: impl FnOnce(&mut referral::ActiveModel),
    ) -> referral::Model {
        let pool = requester
            .municipality_code
            .unwrap_or_else(|| panic!("{} has no municipality pool", requester.short_name));
        self.referral(requester, requester, participant, status, |row| {
            row.direction = Set(ReferralDirection::Inbound);
            row.receiver_organisation_id = Set(None);
            row.pool_municipality_code = Set(Some(pool));
            row.project_id = Set(None);
            tweak(row);
        })
        .await
    }

    /// One step on a referral's timeline, `sequence` minutes after the referral was created.
    pub async fn event(
        &self,
        referral: &referral::Model,
        actor: &organisation::Model,
        sequence: i32,
        (from, to): (Option<ReferralStatus>, ReferralStatus),
        tweak: impl FnOnce(&mut referral_event::ActiveModel),
    ) -> referral_event::Model {
        let occurred_at = referral.created_at + chrono::Duration::minutes(sequence.into());
        let mut row = referral_event::ActiveModel {
            id: Set(Uuid::now_v7()),
            referral_id: Set(referral.id),
            sequence: Set(sequence),
            actor_organisation_id: Set(actor.id),
            actor_client_id: Set(None),
            from_status: Set(from),
            to_status: Set(to),
            kind: Set(entity::enums::TimelineKind::of_step(from, to)),
            reason: Set(None),
            note: Set(None),
            occurred_at: Set(occurred_at),
            created_at: Set(occurred_at),
        };
        tweak(&mut row);
        inserted(row.insert(self.db).await, "referral event")
    }

    /// The referral's timeline: one event per status in `path`, the first created from
    /// nothing, each a minute after the previous one, all by `actor`.
    pub async fn timeline(
        &self,
        referral: &referral::Model,
        actor: &organisation::Model,
        path: &[ReferralStatus],
    ) -> Vec<referral_event::Model> {
        let mut events = Vec::with_capacity(path.len());
        let mut from = None;
        for (sequence, to) in (1..).zip(path) {
            events.push(
                self.event(referral, actor, sequence, (from, *to), |_| {})
                    .await,
            );
            from = Some(*to);
        }
        events
    }
}
