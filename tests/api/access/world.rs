//! The fixture world of the authorization tests: two municipalities, two NGOs, three
//! projects and everything under them, each row named by a [`Row`] so the expected sets in
//! `access.rs` read as names, not UUIDs.
//!
//! Personal fields hold text derived from the row's name ([`text`]), so a test knows the value
//! an allowed reader must get without reading it back from the server.

use std::collections::BTreeMap;

use bydel::ids::Kind;
use entity::enums::{
    ConsentPurpose, ContactMethod, OrganisationKind, PartnerRole, ReferralDirection,
    ReferralReason, ReferralStatus, ServiceCategory, VisitChannel, VisitTopic,
};
use sea_orm::ActiveValue::Set;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{
    TestApp,
    fixtures::{at, date},
};

/// Every row of the world. Organisation variants double as the callers of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Row {
    Secretariat,
    /// `kommune-101`, København.
    Kommune101,
    /// `kommune-730`, Randers.
    Kommune730,
    /// `ngo-a`: operates ProjectA.
    NgoA,
    /// `ngo-b`: operates ProjectB and partners in ProjectA.
    NgoB,

    /// In 101, operated by ngo-a, ngo-b a partner.
    ProjectA,
    /// In 730, operated by ngo-b.
    ProjectB,
    /// In 730, operated by kommune-730 itself.
    ProjectK,

    MotherA,
    MotherB,
    MotherK,
    CourseA,
    CourseB,
    CourseK,
    EnrolmentA,
    EnrolmentB,
    EnrolmentK,

    /// ProjectA's, registered by ngo-a, referred to kommune-101 with live consent.
    ParticipantA,
    /// ProjectA's, registered by ngo-a, never referred: kommune-101 must not see her.
    ParticipantA2,
    /// ProjectB's, registered by ngo-b, referred to kommune-730; consent withdrawn.
    ParticipantB,
    /// ProjectK's, registered by kommune-730, referred to ngo-a with live consent.
    ParticipantK,
    /// Registered by kommune-101, waiting in its pool, no project.
    ParticipantPool,
    /// Registered by kommune-730, referred in to ProjectB (ngo-b) with live consent.
    ParticipantIn,

    /// ParticipantA: share with kommune-101, live.
    ConsentA,
    /// ParticipantA2: statistics.
    ConsentA2,
    /// ParticipantB: share with kommune-730, withdrawn.
    ConsentB,
    /// ParticipantK: share with ngo-a, live.
    ConsentK,
    /// ParticipantPool: to be contacted.
    ConsentPool,
    /// ParticipantIn: share with ngo-b, live.
    ConsentIn,

    /// ProjectA's, about ParticipantA.
    VisitA,
    /// ProjectB's, about ParticipantB.
    VisitB,
    /// ProjectK's, about ParticipantK.
    VisitK,

    /// Outbound ngo-a (ProjectA) → kommune-101, ParticipantA, live consent; requested.
    ReferralA,
    /// Outbound ngo-b (ProjectB) → kommune-730, ParticipantB; consent withdrawn, cancelled.
    ReferralB,
    /// Outbound kommune-730 (ProjectK) → ngo-a, ParticipantK, live consent; requested.
    ReferralK,
    /// Inbound kommune-101 → its pool 101, unclaimed (no receiver, no project).
    ReferralPool,
    /// Inbound kommune-730 → ngo-b for ProjectB, ParticipantIn, live consent.
    ReferralIn,

    EventA1,
    EventA2,
    EventB1,
    EventB2,
    EventK1,
    EventK2,
    EventPool1,
    EventIn1,
}

use Row::*;

impl Row {
    pub const ALL: [Row; 45] = [
        Secretariat,
        Kommune101,
        Kommune730,
        NgoA,
        NgoB,
        ProjectA,
        ProjectB,
        ProjectK,
        MotherA,
        MotherB,
        MotherK,
        CourseA,
        CourseB,
        CourseK,
        EnrolmentA,
        EnrolmentB,
        EnrolmentK,
        ParticipantA,
        ParticipantA2,
        ParticipantB,
        ParticipantK,
        ParticipantPool,
        ParticipantIn,
        ConsentA,
        ConsentA2,
        ConsentB,
        ConsentK,
        ConsentPool,
        ConsentIn,
        VisitA,
        VisitB,
        VisitK,
        ReferralA,
        ReferralB,
        ReferralK,
        ReferralPool,
        ReferralIn,
        EventA1,
        EventA2,
        EventB1,
        EventB2,
        EventK1,
        EventK2,
        EventPool1,
        EventIn1,
    ];

    /// The type of the row, as its global id names it.
    pub fn kind(self) -> Kind {
        match self {
            Secretariat | Kommune101 | Kommune730 | NgoA | NgoB => Kind::Organisation,
            ProjectA | ProjectB | ProjectK => Kind::Project,
            MotherA | MotherB | MotherK => Kind::Mother,
            CourseA | CourseB | CourseK => Kind::Course,
            EnrolmentA | EnrolmentB | EnrolmentK => Kind::Enrolment,
            ParticipantA | ParticipantA2 | ParticipantB | ParticipantK | ParticipantPool
            | ParticipantIn => Kind::Participant,
            ConsentA | ConsentA2 | ConsentB | ConsentK | ConsentPool | ConsentIn => Kind::Consent,
            VisitA | VisitB | VisitK => Kind::Visit,
            ReferralA | ReferralB | ReferralK | ReferralPool | ReferralIn => Kind::Referral,
            EventA1 | EventA2 | EventB1 | EventB2 | EventK1 | EventK2 | EventPool1 | EventIn1 => {
                Kind::ReferralEvent
            }
        }
    }

    /// The short name an organisation row is issued tokens under.
    pub fn short_name(self) -> &'static str {
        match self {
            Secretariat => "secretariat",
            Kommune101 => "kommune-101",
            Kommune730 => "kommune-730",
            NgoA => "ngo-a",
            NgoB => "ngo-b",
            other => panic!("{other:?} is not an organisation"),
        }
    }
}

/// The text a personal field of `row` holds, e.g. `"phone of ParticipantA"`.
pub fn text(row: Row, field: &str) -> String {
    format!("{field} of {row:?}")
}

/// Every participant was born in this year.
pub const BIRTH_YEAR: i32 = 1984;
/// Every participant speaks these languages and prefers the first.
pub const LANGUAGES: [&str; 2] = ["ar", "so"];

/// The value a personal-data field of `row` holds, as the API shows it.
pub fn personal_value(row: Row, field: &str) -> Value {
    match (row.kind(), field) {
        (Kind::Participant, "birthYear") => json!(BIRTH_YEAR),
        (Kind::Participant, "preferredContact") => json!("PHONE"),
        (Kind::Participant, "preferredLanguage") => json!(LANGUAGES[0]),
        (Kind::Participant, "languages") => json!(LANGUAGES),
        _ => json!(text(row, field)),
    }
}

/// The rows of the world, by name.
pub struct World {
    ids: BTreeMap<Row, Uuid>,
}

impl World {
    pub fn uuid(&self, row: Row) -> Uuid {
        self.ids[&row]
    }

    /// The global id the API hands out for `row`.
    pub fn gid(&self, row: Row) -> String {
        row.kind().id(self.uuid(row)).to_string()
    }

    /// The row a global id names, or the id itself in brackets when it is not in the world.
    pub fn name(&self, gid: &str) -> String {
        Row::ALL
            .into_iter()
            .find(|row| self.gid(*row) == gid)
            .map_or_else(|| format!("<{gid}>"), |row| format!("{row:?}"))
    }

    pub fn row(&self, gid: &str) -> Option<Row> {
        Row::ALL.into_iter().find(|row| self.gid(*row) == gid)
    }

    /// Inserts the world into the app's database.
    pub async fn build(app: &TestApp) -> World {
        let fx = app.fixtures();
        fx.municipality(101, "København", "Region Hovedstaden")
            .await;
        fx.municipality(730, "Randers", "Region Midtjylland").await;
        let secretariat = bydel::organisations::find_by_reference(&app.db, "secretariat")
            .await
            .expect("every test app has the secretariat");
        let k101 = fx
            .organisation("kommune-101", OrganisationKind::Municipality, Some(101))
            .await;
        let k730 = fx
            .organisation("kommune-730", OrganisationKind::Municipality, Some(730))
            .await;
        let ngo_a = fx.organisation("ngo-a", OrganisationKind::Ngo, None).await;
        let ngo_b = fx.organisation("ngo-b", OrganisationKind::Ngo, None).await;

        let project_a = fx.project("Nørrebro", 101, &ngo_a, |_| {}).await;
        let project_b = fx.project("Randers Nord", 730, &ngo_b, |_| {}).await;
        let project_k = fx.project("Randers Øst", 730, &k730, |_| {}).await;
        fx.partner(&project_a, &ngo_b, PartnerRole::Partner).await;

        let mut ids = BTreeMap::from([
            (Secretariat, secretariat.id),
            (Kommune101, k101.id),
            (Kommune730, k730.id),
            (NgoA, ngo_a.id),
            (NgoB, ngo_b.id),
            (ProjectA, project_a.id),
            (ProjectB, project_b.id),
            (ProjectK, project_k.id),
        ]);

        let mut mothers = Vec::new();
        for (project, row, course_row, enrolment_row) in [
            (&project_a, MotherA, CourseA, EnrolmentA),
            (&project_b, MotherB, CourseB, EnrolmentB),
            (&project_k, MotherK, CourseK, EnrolmentK),
        ] {
            let mother = fx
                .mother(project, &format!("{row:?}"), &["ar"], |m| {
                    m.phone = Set(Some(text(row, "phone")));
                    m.email = Set(Some(text(row, "email")));
                })
                .await;
            let course = fx
                .course(
                    project,
                    &format!("{course_row:?}"),
                    date(2012, 2, 1),
                    |_| {},
                )
                .await;
            let enrolment = fx.enrolment(&course, &mother, None).await;
            ids.extend([
                (row, mother.id),
                (course_row, course.id),
                (enrolment_row, enrolment.id),
            ]);
            mothers.push(mother);
        }
        let [mother_a, mother_b, mother_k] = [&mothers[0], &mothers[1], &mothers[2]];

        let participant = async |row: Row,
                                 project: Option<&entity::project::Model>,
                                 by: &entity::organisation::Model| {
            fx.participant(&format!("BM-{row:?}"), project, by, &LANGUAGES, |p| {
                p.first_name = Set(Some(text(row, "firstName")));
                p.birth_year = Set(Some(BIRTH_YEAR));
                p.phone = Set(Some(text(row, "phone")));
                p.email = Set(Some(text(row, "email")));
                p.district = Set(Some(text(row, "district")));
                p.notes = Set(Some(text(row, "notes")));
                p.municipality_case_ref = Set(Some(text(row, "municipalityCaseRef")));
                p.preferred_contact = Set(Some(ContactMethod::Phone));
                p.preferred_language = Set(Some(LANGUAGES[0].to_owned()));
            })
            .await
        };
        let pt_a = participant(ParticipantA, Some(&project_a), &ngo_a).await;
        let pt_a2 = participant(ParticipantA2, Some(&project_a), &ngo_a).await;
        let pt_b = participant(ParticipantB, Some(&project_b), &ngo_b).await;
        let pt_k = participant(ParticipantK, Some(&project_k), &k730).await;
        let pt_pool = participant(ParticipantPool, None, &k101).await;
        let pt_in = participant(ParticipantIn, Some(&project_b), &k730).await;
        ids.extend([
            (ParticipantA, pt_a.id),
            (ParticipantA2, pt_a2.id),
            (ParticipantB, pt_b.id),
            (ParticipantK, pt_k.id),
            (ParticipantPool, pt_pool.id),
            (ParticipantIn, pt_in.id),
        ]);

        let share = ConsentPurpose::ShareWithReceiver;
        for (row, participant, purpose, receiver, withdrawn) in [
            (ConsentA, &pt_a, share, Some(&k101), false),
            (ConsentA2, &pt_a2, ConsentPurpose::Statistics, None, false),
            (ConsentB, &pt_b, share, Some(&k730), true),
            (ConsentK, &pt_k, share, Some(&ngo_a), false),
            (ConsentPool, &pt_pool, ConsentPurpose::Contact, None, false),
            (ConsentIn, &pt_in, share, Some(&ngo_b), false),
        ] {
            let consent = fx
                .consent(participant, purpose, receiver, |c| {
                    if withdrawn {
                        c.withdrawn_at = Set(Some(at("2024-02-01T10:00:00Z")));
                    }
                })
                .await;
            ids.insert(row, consent.id);
        }

        let mut visits = Vec::new();
        for (row, mother, participant) in [
            (VisitA, mother_a, &pt_a),
            (VisitB, mother_b, &pt_b),
            (VisitK, mother_k, &pt_k),
        ] {
            let visit = fx
                .visit(
                    mother,
                    date(2024, 1, 8),
                    VisitChannel::HomeVisit,
                    &[VisitTopic::Health],
                    |v| {
                        v.participant_id = Set(Some(participant.id));
                        v.notes = Set(Some(text(row, "notes")));
                    },
                )
                .await;
            ids.insert(row, visit.id);
            visits.push(visit);
        }

        let note = |row: Row| Set(Some(text(row, "note")));
        let referral_a = fx
            .referral(&ngo_a, &k101, &pt_a, ReferralStatus::Requested, |r| {
                r.mother_id = Set(Some(mother_a.id));
                r.visit_id = Set(Some(visits[0].id));
                r.note = note(ReferralA);
            })
            .await;
        let referral_b = fx
            .referral(&ngo_b, &k730, &pt_b, ReferralStatus::Cancelled, |r| {
                r.mother_id = Set(Some(mother_b.id));
                r.visit_id = Set(Some(visits[1].id));
                r.status_reason = Set(Some(ReferralReason::ConsentWithdrawn));
                r.note = note(ReferralB);
            })
            .await;
        let referral_k = fx
            .referral(&k730, &ngo_a, &pt_k, ReferralStatus::Requested, |r| {
                r.mother_id = Set(Some(mother_k.id));
                r.visit_id = Set(Some(visits[2].id));
                r.service_category = Set(ServiceCategory::LanguageSchool);
                r.note = note(ReferralK);
            })
            .await;
        let referral_pool = fx
            .pool_referral(&k101, &pt_pool, ReferralStatus::Requested, |r| {
                r.note = note(ReferralPool);
            })
            .await;
        let referral_in = fx
            .referral(&k730, &ngo_b, &pt_in, ReferralStatus::Requested, |r| {
                r.direction = Set(ReferralDirection::Inbound);
                r.project_id = Set(Some(project_b.id));
                r.note = note(ReferralIn);
            })
            .await;
        ids.extend([
            (ReferralA, referral_a.id),
            (ReferralB, referral_b.id),
            (ReferralK, referral_k.id),
            (ReferralPool, referral_pool.id),
            (ReferralIn, referral_in.id),
        ]);

        use ReferralStatus::{Cancelled, Draft, Requested};
        for (row, referral, actor, sequence, step) in [
            (EventA1, &referral_a, &ngo_a, 1, (None, Draft)),
            (EventA2, &referral_a, &ngo_a, 2, (Some(Draft), Requested)),
            (EventB1, &referral_b, &ngo_b, 1, (None, Requested)),
            (
                EventB2,
                &referral_b,
                &ngo_b,
                2,
                (Some(Requested), Cancelled),
            ),
            (EventK1, &referral_k, &k730, 1, (None, Draft)),
            (EventK2, &referral_k, &k730, 2, (Some(Draft), Requested)),
            (EventPool1, &referral_pool, &k101, 1, (None, Requested)),
            (EventIn1, &referral_in, &k730, 1, (None, Requested)),
        ] {
            let event = fx
                .event(referral, actor, sequence, step, |e| {
                    e.note = Set(Some(text(row, "note")));
                    if step.1 == Cancelled {
                        e.reason = Set(Some(ReferralReason::ConsentWithdrawn));
                    }
                })
                .await;
            ids.insert(row, event.id);
        }

        assert_eq!(ids.len(), Row::ALL.len(), "every row of the world is built");
        World { ids }
    }
}
