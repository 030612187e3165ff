//! The authorization matrix of issue 3, over HTTP: organisation kind × entity × access path
//! (list with `totalCount`, count, single lookup, nested field, `node`), then the
//! personal-data fields, the audit trail of reads and the scope checks.
//!
//! The expected sets below are the rules of `api/src/auth/access.rs` applied *by hand* to the
//! world of `access/world.rs`; nothing here asks the code under test what it should return.
//! A hidden row must be indistinguishable from a missing one: absent from lists and counts,
//! and `null` without an error from lookups, `node` and nested fields.

mod world;

use std::collections::BTreeSet;

use bydel::ids::Kind;
use chrono::Utc;
use entity::{
    audit_event, consent,
    enums::{AuditAction, PartnerRole},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;

use self::world::{
    Row::{self, *},
    World, personal_value, text,
};
use crate::{
    harness::{ALL_READ, GqlResponse, TestApp},
    queries,
};

// ---------------------------------------------------------------------------------------------
// The expectations, written from the rules.
// ---------------------------------------------------------------------------------------------

/// The entity dimension of the matrix: every type with a global id.
const ENTITIES: [Kind; 10] = [
    Kind::Organisation,
    Kind::Project,
    Kind::Mother,
    Kind::Course,
    Kind::Enrolment,
    Kind::Participant,
    Kind::Consent,
    Kind::Visit,
    Kind::Referral,
    Kind::ReferralEvent,
];

/// The organisation dimension: who calls.
const ORGANISATIONS: [Row; 5] = [Secretariat, Kommune101, Kommune730, NgoA, NgoB];

type Expected = &'static [(Row, &'static [Row])];

const ALL_ORGANISATIONS: &[Row] = &[Secretariat, Kommune101, Kommune730, NgoA, NgoB];

/// Rows each organisation sees, per entity. Visible projects: the secretariat all; kommune-101
/// those in 101 (A); kommune-730 those in 730 (B, K); ngo-a the one it operates (A); ngo-b the
/// one it operates and the one it partners in (B, A). Mothers, courses, enrolments and visits
/// follow their project. Referrals: an NGO's projects', sent, received, or waiting in the pool
/// of a municipality it has a project in; a municipality's sent, received or in its pool.
/// Participants: an NGO's projects', registered by it, or on a referral it sees; a
/// municipality's registered by it or on a referral it sees. Consents follow participants.
const VISIBLE: &[(Row, Kind, &[Row])] = &[
    (Secretariat, Kind::Organisation, ALL_ORGANISATIONS),
    (Kommune101, Kind::Organisation, ALL_ORGANISATIONS),
    (Kommune730, Kind::Organisation, ALL_ORGANISATIONS),
    (NgoA, Kind::Organisation, ALL_ORGANISATIONS),
    (NgoB, Kind::Organisation, ALL_ORGANISATIONS),
    //
    (Secretariat, Kind::Project, &[ProjectA, ProjectB, ProjectK]),
    (Kommune101, Kind::Project, &[ProjectA]),
    (Kommune730, Kind::Project, &[ProjectB, ProjectK]),
    (NgoA, Kind::Project, &[ProjectA]),
    (NgoB, Kind::Project, &[ProjectA, ProjectB]),
    //
    (Secretariat, Kind::Mother, &[MotherA, MotherB, MotherK]),
    (Kommune101, Kind::Mother, &[MotherA]),
    (Kommune730, Kind::Mother, &[MotherB, MotherK]),
    (NgoA, Kind::Mother, &[MotherA]),
    (NgoB, Kind::Mother, &[MotherA, MotherB]),
    //
    (Secretariat, Kind::Course, &[CourseA, CourseB, CourseK]),
    (Kommune101, Kind::Course, &[CourseA]),
    (Kommune730, Kind::Course, &[CourseB, CourseK]),
    (NgoA, Kind::Course, &[CourseA]),
    (NgoB, Kind::Course, &[CourseA, CourseB]),
    //
    (
        Secretariat,
        Kind::Enrolment,
        &[EnrolmentA, EnrolmentB, EnrolmentK],
    ),
    (Kommune101, Kind::Enrolment, &[EnrolmentA]),
    (Kommune730, Kind::Enrolment, &[EnrolmentB, EnrolmentK]),
    (NgoA, Kind::Enrolment, &[EnrolmentA]),
    (NgoB, Kind::Enrolment, &[EnrolmentA, EnrolmentB]),
    //
    (
        Secretariat,
        Kind::Participant,
        &[
            ParticipantA,
            ParticipantA2,
            ParticipantB,
            ParticipantK,
            ParticipantPool,
            ParticipantIn,
        ],
    ),
    (
        Kommune101,
        Kind::Participant,
        &[ParticipantA, ParticipantPool],
    ),
    (
        Kommune730,
        Kind::Participant,
        &[ParticipantB, ParticipantK, ParticipantIn],
    ),
    (
        NgoA,
        Kind::Participant,
        &[ParticipantA, ParticipantA2, ParticipantK, ParticipantPool],
    ),
    (
        NgoB,
        Kind::Participant,
        &[
            ParticipantA,
            ParticipantA2,
            ParticipantB,
            ParticipantIn,
            ParticipantPool,
        ],
    ),
    //
    (
        Secretariat,
        Kind::Consent,
        &[
            ConsentA,
            ConsentA2,
            ConsentB,
            ConsentK,
            ConsentPool,
            ConsentIn,
        ],
    ),
    (Kommune101, Kind::Consent, &[ConsentA, ConsentPool]),
    (Kommune730, Kind::Consent, &[ConsentB, ConsentK, ConsentIn]),
    (
        NgoA,
        Kind::Consent,
        &[ConsentA, ConsentA2, ConsentK, ConsentPool],
    ),
    (
        NgoB,
        Kind::Consent,
        &[ConsentA, ConsentA2, ConsentB, ConsentIn, ConsentPool],
    ),
    //
    (Secretariat, Kind::Visit, &[VisitA, VisitB, VisitK]),
    (Kommune101, Kind::Visit, &[VisitA]),
    (Kommune730, Kind::Visit, &[VisitB, VisitK]),
    (NgoA, Kind::Visit, &[VisitA]),
    (NgoB, Kind::Visit, &[VisitA, VisitB]),
    //
    (
        Secretariat,
        Kind::Referral,
        &[ReferralA, ReferralB, ReferralK, ReferralPool, ReferralIn],
    ),
    (Kommune101, Kind::Referral, &[ReferralA, ReferralPool]),
    (
        Kommune730,
        Kind::Referral,
        &[ReferralB, ReferralK, ReferralIn],
    ),
    (NgoA, Kind::Referral, &[ReferralA, ReferralK, ReferralPool]),
    (
        NgoB,
        Kind::Referral,
        &[ReferralA, ReferralB, ReferralPool, ReferralIn],
    ),
    //
    (
        Secretariat,
        Kind::ReferralEvent,
        &[
            EventA1, EventA2, EventB1, EventB2, EventK1, EventK2, EventPool1, EventIn1,
        ],
    ),
    (
        Kommune101,
        Kind::ReferralEvent,
        &[EventA1, EventA2, EventPool1],
    ),
    (
        Kommune730,
        Kind::ReferralEvent,
        &[EventB1, EventB2, EventK1, EventK2, EventIn1],
    ),
    (
        NgoA,
        Kind::ReferralEvent,
        &[EventA1, EventA2, EventK1, EventK2, EventPool1],
    ),
    (
        NgoB,
        Kind::ReferralEvent,
        &[EventA1, EventA2, EventB1, EventB2, EventPool1, EventIn1],
    ),
];

/// What a nested field must reach: every visible row of its type (the field lists children
/// of visible parents), or a set per organisation where the field can point at a row the
/// caller does not see (which must then be `null`, without an error).
enum Reach {
    Visible,
    Each(Expected),
}

/// A nested path through `access_nested.graphql`, ending at an `id`.
struct Nested {
    path: &'static str,
    kind: Kind,
    reach: Reach,
}

const NESTED: &[Nested] = &[
    Nested {
        path: "projects.edges.node.mothers.id",
        kind: Kind::Mother,
        reach: Reach::Visible,
    },
    Nested {
        path: "projects.edges.node.courses.id",
        kind: Kind::Course,
        reach: Reach::Visible,
    },
    Nested {
        path: "mothers.edges.node.project.id",
        kind: Kind::Project,
        reach: Reach::Visible,
    },
    Nested {
        path: "mothers.edges.node.enrolments.id",
        kind: Kind::Enrolment,
        reach: Reach::Visible,
    },
    Nested {
        path: "courses.edges.node.enrolments.id",
        kind: Kind::Enrolment,
        reach: Reach::Visible,
    },
    Nested {
        path: "courses.edges.node.enrolments.mother.id",
        kind: Kind::Mother,
        reach: Reach::Visible,
    },
    Nested {
        path: "courses.edges.node.enrolments.course.id",
        kind: Kind::Course,
        reach: Reach::Visible,
    },
    Nested {
        path: "participants.edges.node.consents.id",
        kind: Kind::Consent,
        reach: Reach::Visible,
    },
    Nested {
        // ParticipantK is on a referral ngo-a receives; her project is not ngo-a's.
        path: "participants.edges.node.project.id",
        kind: Kind::Project,
        reach: Reach::Each(&[
            (Secretariat, &[ProjectA, ProjectB, ProjectK]),
            (Kommune101, &[ProjectA]),
            (Kommune730, &[ProjectB, ProjectK]),
            (NgoA, &[ProjectA]),
            (NgoB, &[ProjectA, ProjectB]),
        ]),
    },
    Nested {
        path: "participants.edges.node.registeredBy.id",
        kind: Kind::Organisation,
        reach: Reach::Each(&[
            (Secretariat, &[NgoA, NgoB, Kommune730, Kommune101]),
            (Kommune101, &[NgoA, Kommune101]),
            (Kommune730, &[NgoB, Kommune730]),
            (NgoA, &[NgoA, Kommune730, Kommune101]),
            (NgoB, &[NgoA, NgoB, Kommune730, Kommune101]),
        ]),
    },
    Nested {
        path: "visits.edges.node.project.id",
        kind: Kind::Project,
        reach: Reach::Visible,
    },
    Nested {
        path: "visits.edges.node.mother.id",
        kind: Kind::Mother,
        reach: Reach::Visible,
    },
    Nested {
        path: "visits.edges.node.participant.id",
        kind: Kind::Participant,
        reach: Reach::Each(&[
            (Secretariat, &[ParticipantA, ParticipantB, ParticipantK]),
            (Kommune101, &[ParticipantA]),
            (Kommune730, &[ParticipantB, ParticipantK]),
            (NgoA, &[ParticipantA]),
            (NgoB, &[ParticipantA, ParticipantB]),
        ]),
    },
    Nested {
        path: "referrals.edges.node.participant.id",
        kind: Kind::Participant,
        reach: Reach::Each(&[
            (
                Secretariat,
                &[
                    ParticipantA,
                    ParticipantB,
                    ParticipantK,
                    ParticipantPool,
                    ParticipantIn,
                ],
            ),
            (Kommune101, &[ParticipantA, ParticipantPool]),
            (Kommune730, &[ParticipantB, ParticipantK, ParticipantIn]),
            (NgoA, &[ParticipantA, ParticipantK, ParticipantPool]),
            (
                NgoB,
                &[ParticipantA, ParticipantB, ParticipantPool, ParticipantIn],
            ),
        ]),
    },
    Nested {
        // ngo-a receives ReferralK but does not see ProjectK, its mother or its visit.
        path: "referrals.edges.node.project.id",
        kind: Kind::Project,
        reach: Reach::Each(&[
            (Secretariat, &[ProjectA, ProjectB, ProjectK]),
            (Kommune101, &[ProjectA]),
            (Kommune730, &[ProjectB, ProjectK]),
            (NgoA, &[ProjectA]),
            (NgoB, &[ProjectA, ProjectB]),
        ]),
    },
    Nested {
        path: "referrals.edges.node.mother.id",
        kind: Kind::Mother,
        reach: Reach::Each(&[
            (Secretariat, &[MotherA, MotherB, MotherK]),
            (Kommune101, &[MotherA]),
            (Kommune730, &[MotherB, MotherK]),
            (NgoA, &[MotherA]),
            (NgoB, &[MotherA, MotherB]),
        ]),
    },
    Nested {
        path: "referrals.edges.node.visit.id",
        kind: Kind::Visit,
        reach: Reach::Each(&[
            (Secretariat, &[VisitA, VisitB, VisitK]),
            (Kommune101, &[VisitA]),
            (Kommune730, &[VisitB, VisitK]),
            (NgoA, &[VisitA]),
            (NgoB, &[VisitA, VisitB]),
        ]),
    },
    Nested {
        path: "referrals.edges.node.events.id",
        kind: Kind::ReferralEvent,
        reach: Reach::Visible,
    },
    Nested {
        // Organisations are reference data: a hidden referral's parties are still shown.
        path: "referrals.edges.node.requester.id",
        kind: Kind::Organisation,
        reach: Reach::Each(&[
            (Secretariat, &[NgoA, NgoB, Kommune730, Kommune101]),
            (Kommune101, &[NgoA, Kommune101]),
            (Kommune730, &[NgoB, Kommune730]),
            (NgoA, &[NgoA, Kommune730, Kommune101]),
            (NgoB, &[NgoA, NgoB, Kommune101, Kommune730]),
        ]),
    },
];

/// Participants whose personal data each organisation may read (with `participants:read`):
/// the secretariat; the operator of her project; who registered her; the receiver of a
/// referral about her with her live consent to share with it. Partnering is not enough
/// (ngo-b on ProjectA), nor is a withdrawn consent (kommune-730 on ParticipantB), nor seeing
/// her on a pool referral (the NGOs on ParticipantPool: they get her pool profile only).
const PARTICIPANT_DATA: Expected = &[
    (
        Secretariat,
        &[
            ParticipantA,
            ParticipantA2,
            ParticipantB,
            ParticipantK,
            ParticipantPool,
            ParticipantIn,
        ],
    ),
    (Kommune101, &[ParticipantA, ParticipantPool]),
    (Kommune730, &[ParticipantK, ParticipantIn]),
    (NgoA, &[ParticipantA, ParticipantA2, ParticipantK]),
    (NgoB, &[ParticipantB, ParticipantIn]),
];

/// Her pool profile (languages, district): whoever reads all of her data, and besides them an
/// organisation that sees a REQUESTED pool referral about her, unclaimed or claimed by it (the
/// NGOs with a project in ParticipantPool's municipality).
const POOL_PROFILE: Expected = &[
    (
        Secretariat,
        &[
            ParticipantA,
            ParticipantA2,
            ParticipantB,
            ParticipantK,
            ParticipantPool,
            ParticipantIn,
        ],
    ),
    (Kommune101, &[ParticipantA, ParticipantPool]),
    (Kommune730, &[ParticipantK, ParticipantIn]),
    (
        NgoA,
        &[ParticipantA, ParticipantA2, ParticipantK, ParticipantPool],
    ),
    (NgoB, &[ParticipantB, ParticipantPool, ParticipantIn]),
];

/// Referral notes follow the rule of the referral's participant.
const REFERRAL_NOTE: Expected = &[
    (
        Secretariat,
        &[ReferralA, ReferralB, ReferralK, ReferralPool, ReferralIn],
    ),
    (Kommune101, &[ReferralA, ReferralPool]),
    (Kommune730, &[ReferralK, ReferralIn]),
    (NgoA, &[ReferralA, ReferralK]),
    (NgoB, &[ReferralB, ReferralIn]),
];

/// Event notes follow the rule of their referral's participant.
const EVENT_NOTE: Expected = &[
    (
        Secretariat,
        &[
            EventA1, EventA2, EventB1, EventB2, EventK1, EventK2, EventPool1, EventIn1,
        ],
    ),
    (Kommune101, &[EventA1, EventA2, EventPool1]),
    (Kommune730, &[EventK1, EventK2, EventIn1]),
    (NgoA, &[EventA1, EventA2, EventK1, EventK2]),
    (NgoB, &[EventB1, EventB2, EventIn1]),
];

/// Visit notes: the secretariat or the operator of the visit's project.
const VISIT_NOTES: Expected = &[
    (Secretariat, &[VisitA, VisitB, VisitK]),
    (Kommune101, &[]),
    (Kommune730, &[VisitK]),
    (NgoA, &[VisitA]),
    (NgoB, &[VisitB]),
];

/// A mother's phone and email: the secretariat, or who operates or partners in her project.
const MOTHER_CONTACT: Expected = &[
    (Secretariat, &[MotherA, MotherB, MotherK]),
    (Kommune101, &[]),
    (Kommune730, &[MotherK]),
    (NgoA, &[MotherA]),
    (NgoB, &[MotherA, MotherB]),
];

const PARTICIPANT_FIELDS: &[&str] = &[
    "firstName",
    "birthYear",
    "phone",
    "email",
    "district",
    "notes",
    "municipalityCaseRef",
    "preferredContact",
    "preferredLanguage",
    "languages",
];

/// The fields of [`PARTICIPANT_FIELDS`] that make up her pool profile (rule 3's narrower
/// clause); `birthDecade` is checked in `leaks.rs`.
const POOL_PROFILE_FIELDS: &[&str] = &["district", "languages"];

/// [`PARTICIPANT_FIELDS`] without her pool profile.
const FULL_ONLY_FIELDS: &[&str] = &[
    "firstName",
    "birthYear",
    "phone",
    "email",
    "notes",
    "municipalityCaseRef",
    "preferredContact",
    "preferredLanguage",
];

/// Fields under a personal-data rule, where `access_personal_data.graphql` finds them.
const PERSONAL_FIELDS: &[(&str, &[&str], Expected)] = &[
    (
        "participants.edges.node",
        FULL_ONLY_FIELDS,
        PARTICIPANT_DATA,
    ),
    ("participants.edges.node", POOL_PROFILE_FIELDS, POOL_PROFILE),
    ("referrals.edges.node", &["note"], REFERRAL_NOTE),
    ("referrals.edges.node.events", &["note"], EVENT_NOTE),
    ("visits.edges.node", &["notes"], VISIT_NOTES),
    ("mothers.edges.node", &["phone", "email"], MOTHER_CONTACT),
];

/// The same rules through `node(id:)` (`node_personal_data.graphql`), per type.
const NODE_PERSONAL_FIELDS: &[(Kind, &[&str], Expected)] = &[
    (Kind::Participant, &["firstName", "phone"], PARTICIPANT_DATA),
    (Kind::Referral, &["note"], REFERRAL_NOTE),
    (Kind::ReferralEvent, &["note"], EVENT_NOTE),
    (Kind::Visit, &["notes"], VISIT_NOTES),
    (Kind::Mother, &["phone", "email"], MOTHER_CONTACT),
];

fn lookup(table: Expected, org: Row) -> &'static [Row] {
    table
        .iter()
        .find(|(o, _)| *o == org)
        .map(|(_, rows)| *rows)
        .unwrap_or_else(|| panic!("the table has no row for {org:?}"))
}

fn visible(org: Row, kind: Kind) -> &'static [Row] {
    let mut matching = VISIBLE.iter().filter(|(o, k, _)| *o == org && *k == kind);
    let (.., rows) = matching
        .next()
        .unwrap_or_else(|| panic!("VISIBLE has no row for {org:?} × {}", kind.name()));
    assert!(
        matching.next().is_none(),
        "VISIBLE has two rows for {org:?} × {}",
        kind.name()
    );
    rows
}

/// The top-level list (and count) field of an entity, where one exists.
fn list_field(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Organisation => "organisations",
        Kind::Project => "projects",
        Kind::Mother => "mothers",
        Kind::Course => "courses",
        Kind::Participant => "participants",
        Kind::Visit => "visits",
        Kind::Referral => "referrals",
        _ => return None,
    })
}

/// The single-lookup field of an entity, where one exists; its operation in
/// `access_lookups.graphql` is named after the type.
fn lookup_field(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Organisation => "organisation",
        Kind::Project => "project",
        Kind::Mother => "mother",
        Kind::Course => "course",
        Kind::Participant => "participant",
        Kind::Visit => "visit",
        Kind::Referral => "referral",
        _ => return None,
    })
}

#[test]
fn the_tables_are_complete_and_well_typed() {
    for org in ORGANISATIONS {
        for kind in ENTITIES {
            for row in visible(org, kind) {
                assert_eq!(
                    row.kind(),
                    kind,
                    "VISIBLE {org:?} × {}: {row:?}",
                    kind.name()
                );
            }
        }
        for nested in NESTED {
            if let Reach::Each(table) = nested.reach {
                for row in lookup(table, org) {
                    assert_eq!(row.kind(), nested.kind, "{}: {row:?}", nested.path);
                }
            }
        }
        for (kind, _, table) in NODE_PERSONAL_FIELDS {
            for row in lookup(table, org) {
                assert_eq!(row.kind(), *kind, "personal {org:?}: {row:?}");
                assert!(
                    visible(org, *kind).contains(row),
                    "{org:?} may read personal data of {row:?}, which it does not see"
                );
            }
        }
    }
    assert_eq!(VISIBLE.len(), ORGANISATIONS.len() * ENTITIES.len());
}

// ---------------------------------------------------------------------------------------------
// Generic helpers.
// ---------------------------------------------------------------------------------------------

/// Problems found so far; a test reports all of them at once, so one wrong rule does not hide
/// the next.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn check(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(problem());
        }
    }

    #[track_caller]
    fn assert_none(self, what: &str) {
        assert!(
            self.0.is_empty(),
            "{what}: {} problem(s)\n  {}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}

/// Every value at a dotted `path` through `data`, with the JSON path it sits at. Lists are
/// walked element by element; `null` ends a branch.
fn values_at<'a>(data: &'a Value, path: &str) -> Vec<(Vec<Value>, &'a Value)> {
    let mut found = vec![(Vec::new(), data)];
    for key in path.split('.') {
        let mut next = Vec::new();
        for (mut at, value) in found {
            at.push(json!(key));
            match &value[key] {
                Value::Null => {}
                Value::Array(items) => {
                    for (index, item) in items.iter().enumerate() {
                        let mut at = at.clone();
                        at.push(json!(index));
                        next.push((at, item));
                    }
                }
                other => next.push((at, other)),
            }
        }
        found = next;
    }
    found
}

/// The rows named by the ids at `path`, sorted, duplicates kept; ids outside the world are
/// shown as such.
fn rows_at(world: &World, data: &Value, path: &str) -> Vec<String> {
    let mut names: Vec<String> = values_at(data, path)
        .into_iter()
        .map(|(_, id)| world.name(id.as_str().unwrap_or_default()))
        .collect();
    names.sort();
    names
}

fn names(rows: &[Row]) -> Vec<String> {
    let mut names: Vec<String> = rows.iter().map(|row| format!("{row:?}")).collect();
    names.sort();
    names
}

fn path_text(path: &Value) -> String {
    path.as_array()
        .map(|segments| {
            segments
                .iter()
                .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(".")
        })
        .unwrap_or_default()
}

/// The paths of the response's errors, failing unless every error is a `FORBIDDEN` with a
/// message.
#[track_caller]
fn forbidden_paths(response: &GqlResponse) -> BTreeSet<String> {
    assert_eq!(response.status, 200, "{:#}", response.body);
    response
        .errors()
        .iter()
        .map(|error| {
            assert_eq!(
                error["extensions"]["code"], "FORBIDDEN",
                "every error is FORBIDDEN: {:#}",
                response.body
            );
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "a refusal says why: {error}"
            );
            path_text(&error["path"])
        })
        .collect()
}

fn paths(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|p| (*p).to_owned()).collect()
}

/// Sets the value at a dotted path (object keys and list indexes) to `null`.
fn null_at(data: &mut Value, path: &str) {
    let mut node = data;
    let segments: Vec<&str> = path.split('.').collect();
    let (last, parents) = segments.split_last().expect("a path");
    for segment in parents {
        node = match segment.parse::<usize>() {
            Ok(index) => &mut node[index],
            Err(_) => &mut node[*segment],
        };
    }
    node[*last] = Value::Null;
}

/// A world, a server, and a token of `org` with every read scope of the data areas.
async fn world_as(org: Row, scopes: &str) -> (TestApp, World, String) {
    let app = TestApp::spawn().await;
    let world = World::build(&app).await;
    let token = app.token(org.short_name(), scopes).await;
    (app, world, token)
}

// ---------------------------------------------------------------------------------------------
// Rows: organisation × entity × path.
// ---------------------------------------------------------------------------------------------

/// Runs every access path for every entity as `org` and compares with [`VISIBLE`] / [`NESTED`].
async fn rows_matrix(org: Row) {
    let (app, world, token) = world_as(org, ALL_READ).await;
    let mut problems = Problems::default();
    let run = |query: &'static str| app.graphql(Some(&token), query, json!({}));
    let lists = run(queries::ACCESS_LISTS).await;
    let counts = run(queries::ACCESS_COUNTS).await;
    let nested = run(queries::ACCESS_NESTED).await;
    let (lists, counts, nested) = (lists.data(), counts.data(), nested.data());

    for kind in ENTITIES {
        let expected = visible(org, kind);
        let cell = |path: &str| format!("{org:?} × {} × {path}", kind.name());

        if let Some(list) = list_field(kind) {
            let got = rows_at(&world, lists, &format!("{list}.edges.node.id"));
            problems.check(got == names(expected), || {
                format!(
                    "{}: expected {:?}, got {got:?}",
                    cell("list"),
                    names(expected)
                )
            });
            for (path, data) in [("list totalCount", lists), ("count", counts)] {
                let count = &data[list]["totalCount"];
                problems.check(*count == json!(expected.len()), || {
                    format!("{}: expected {}, got {count}", cell(path), expected.len())
                });
            }
        }

        let unknown = kind.id(Uuid::now_v7()).to_string();
        let unknown_node = app
            .graphql(Some(&token), queries::NODE, json!({ "id": unknown }))
            .await;
        assert_eq!(unknown_node.data()["node"], Value::Null, "{}", cell("node"));
        let unknown_lookup = match lookup_field(kind) {
            Some(field) => {
                let response = app
                    .graphql_operation(
                        &token,
                        queries::ACCESS_LOOKUPS,
                        kind.name(),
                        json!({ "id": unknown }),
                    )
                    .await;
                assert_eq!(response.data()[field], Value::Null, "{}", cell(field));
                Some((field, response))
            }
            None => None,
        };

        for row in Row::ALL.into_iter().filter(|row| row.kind() == kind) {
            let id = world.gid(row);
            let seen = expected.contains(&row);
            let node = app
                .graphql(Some(&token), queries::NODE, json!({ "id": id }))
                .await;
            let cell_node = cell(&format!("node({row:?})"));
            check_lookup(
                &mut problems,
                &cell_node,
                &node,
                "node",
                &id,
                seen,
                &unknown_node,
            );
            let typename = &node.body["data"]["node"]["__typename"];
            problems.check(!seen || *typename == json!(kind.name()), || {
                format!("{cell_node}: __typename {typename}")
            });
            if let Some((field, unknown)) = &unknown_lookup {
                let single = app
                    .graphql_operation(
                        &token,
                        queries::ACCESS_LOOKUPS,
                        kind.name(),
                        json!({ "id": id }),
                    )
                    .await;
                check_lookup(
                    &mut problems,
                    &cell(&format!("{field}({row:?})")),
                    &single,
                    field,
                    &id,
                    seen,
                    unknown,
                );
            }
        }
    }

    for path in NESTED {
        let expected = match path.reach {
            Reach::Visible => visible(org, path.kind),
            Reach::Each(table) => lookup(table, org),
        };
        let mut got = rows_at(&world, nested, path.path);
        got.dedup();
        problems.check(got == names(expected), || {
            format!(
                "{org:?} × {} × nested {}: expected {:?}, got {got:?}",
                path.kind.name(),
                path.path,
                names(expected)
            )
        });
    }

    problems.assert_none(&format!("rows seen by {org:?}"));
}

/// A visible row comes back with its id and no error; a hidden one answers byte for byte like
/// an id that does not exist.
fn check_lookup(
    problems: &mut Problems,
    cell: &str,
    response: &GqlResponse,
    field: &str,
    id: &str,
    seen: bool,
    unknown: &GqlResponse,
) {
    if seen {
        let ok = response.status == 200
            && response.errors().is_empty()
            && response.body["data"][field]["id"] == json!(id);
        problems.check(ok, || {
            format!("{cell}: should be visible, got {}", response.body)
        });
    } else {
        let same = response.status == unknown.status && response.body == unknown.body;
        problems.check(same, || {
            format!(
                "{cell}: a hidden row must answer like a missing one ({}), got {}",
                unknown.body, response.body
            )
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_seen_by_the_secretariat() {
    rows_matrix(Secretariat).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_seen_by_municipality_101() {
    rows_matrix(Kommune101).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_seen_by_municipality_730() {
    rows_matrix(Kommune730).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_seen_by_ngo_a() {
    rows_matrix(NgoA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_seen_by_ngo_b() {
    rows_matrix(NgoB).await;
}

/// The branch of the rules the shared world leaves out: a municipality also sees a project
/// outside its area that it partners in, and everything under it — but still not that
/// project's participants, and as a partner not its visit notes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_municipality_also_sees_a_project_it_partners_in_but_not_its_participants() {
    partnered_project_matrix(PartnerRole::Partner).await;
}

/// A funder gets figures, not people (issue 12): the project it funds outside its area is
/// listed, but nothing under it — no mothers and their contact details, courses or visits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_municipality_sees_a_project_it_funds_but_no_people_of_it() {
    partnered_project_matrix(PartnerRole::Funder).await;
}

/// kommune-101 in `role` on ProjectK (in 730), through every list and personal field.
async fn partnered_project_matrix(role: PartnerRole) {
    let partner = role == PartnerRole::Partner;
    let (app, world, k101) = world_as(Kommune101, ALL_READ).await;
    let project = entity::project::Entity::find_by_id(world.uuid(ProjectK))
        .one(&app.db)
        .await
        .expect("the project reads")
        .expect("ProjectK exists");
    let organisation = bydel::organisations::find_by_reference(&app.db, "kommune-101")
        .await
        .expect("kommune-101 exists");
    app.fixtures().partner(&project, &organisation, role).await;

    let lists = app
        .graphql(Some(&k101), queries::ACCESS_LISTS, json!({}))
        .await;
    let lists = lists.data();
    let mut problems = Problems::default();
    let people = |with_k: &'static [Row], without_k: &'static [Row]| {
        if partner { with_k } else { without_k }
    };
    for (list, expected) in [
        ("projects", &[ProjectA, ProjectK][..]),
        ("mothers", people(&[MotherA, MotherK], &[MotherA])),
        ("courses", people(&[CourseA, CourseK], &[CourseA])),
        ("visits", people(&[VisitA, VisitK], &[VisitA])),
        ("participants", &[ParticipantA, ParticipantPool]),
        ("referrals", &[ReferralA, ReferralPool]),
    ] {
        let got = rows_at(&world, lists, &format!("{list}.edges.node.id"));
        problems.check(got == names(expected), || {
            format!("{list}: expected {:?}, got {got:?}", names(expected))
        });
    }

    let response = app
        .graphql(Some(&k101), queries::ACCESS_PERSONAL_DATA, json!({}))
        .await;
    let mut refusals = 0;
    for (objects, fields, allowed) in [
        (
            "mothers.edges.node",
            &["phone", "email"][..],
            people(&[MotherK], &[]),
        ),
        ("visits.edges.node", &["notes"], &[]),
        (
            "participants.edges.node",
            PARTICIPANT_FIELDS,
            &[ParticipantA, ParticipantPool],
        ),
        (
            "referrals.edges.node",
            &["note"],
            &[ReferralA, ReferralPool],
        ),
    ] {
        refusals += check_fields(
            &mut problems,
            &world,
            Kommune101,
            &response,
            objects,
            fields,
            allowed,
        );
    }
    problems.check(response.errors().len() == refusals, || {
        format!(
            "{refusals} refusals expected: {:#}",
            response.body["errors"]
        )
    });
    problems.assert_none(&format!("kommune-101 as {role:?} of ProjectK"));
}

// ---------------------------------------------------------------------------------------------
// Personal data: organisation × field × path (list, nested, node).
// ---------------------------------------------------------------------------------------------

/// Checks each field of each object at `objects` in `response` against `allowed`: the value
/// for an allowed reader; `null` and one `FORBIDDEN` error at exactly that field otherwise.
/// Returns how many refusals it expected.
fn check_fields(
    problems: &mut Problems,
    world: &World,
    org: Row,
    response: &GqlResponse,
    objects: &str,
    fields: &[&str],
    allowed: &[Row],
) -> usize {
    let errors: Vec<String> = response
        .errors()
        .iter()
        .filter(|e| e["extensions"]["code"] == "FORBIDDEN")
        .map(|e| path_text(&e["path"]))
        .collect();
    let mut refusals = 0;
    for (at, object) in values_at(&response.body["data"], objects) {
        let Some(row) = object["id"].as_str().and_then(|id| world.row(id)) else {
            problems.0.push(format!(
                "{org:?}: {objects} holds an object outside the world: {object}"
            ));
            continue;
        };
        for field in fields {
            let mut path = at.clone();
            path.push(json!(field));
            let path = path_text(&Value::Array(path));
            let errors_here = errors.iter().filter(|p| **p == path).count();
            let value = &object[*field];
            if allowed.contains(&row) {
                let expected = personal_value(row, field);
                problems.check(*value == expected && errors_here == 0, || {
                    format!("{org:?} may read {row:?}.{field} at {path}: expected {expected}, got {value} with {errors_here} error(s)")
                });
            } else {
                refusals += 1;
                problems.check(value.is_null() && errors_here == 1, || {
                    format!("{org:?} may not read {row:?}.{field} at {path}: expected null and one FORBIDDEN there, got {value} with {errors_here} error(s)")
                });
            }
        }
    }
    refusals
}

async fn personal_data_matrix(org: Row) {
    let (app, world, token) = world_as(org, ALL_READ).await;
    let mut problems = Problems::default();

    let response = app
        .graphql(Some(&token), queries::ACCESS_PERSONAL_DATA, json!({}))
        .await;
    assert_eq!(response.status, 200, "{:#}", response.body);
    let mut refusals = 0;
    for (objects, fields, table) in PERSONAL_FIELDS {
        refusals += check_fields(
            &mut problems,
            &world,
            org,
            &response,
            objects,
            fields,
            lookup(table, org),
        );
    }
    problems.check(response.errors().len() == refusals, || {
        format!(
            "{org:?}: {refusals} refusals expected, the response has {} errors: {:#}",
            response.errors().len(),
            response.body["errors"]
        )
    });
    // The rest of each record still loads.
    for (_, participant) in values_at(&response.body["data"], "participants.edges.node") {
        let row = participant["id"].as_str().and_then(|id| world.row(id));
        problems.check(
            row.is_some_and(|row| participant["pseudonym"] == json!(format!("BM-{row:?}"))),
            || format!("{org:?}: a participant without her pseudonym: {participant}"),
        );
    }
    for (_, mother) in values_at(&response.body["data"], "mothers.edges.node") {
        problems.check(mother["firstName"].is_string(), || {
            format!("{org:?}: a mother without her name: {mother}")
        });
    }

    for (kind, fields, table) in NODE_PERSONAL_FIELDS {
        for row in visible(org, *kind) {
            let response = app
                .graphql(
                    Some(&token),
                    queries::NODE_PERSONAL_DATA,
                    json!({ "id": world.gid(*row) }),
                )
                .await;
            let refusals = check_fields(
                &mut problems,
                &world,
                org,
                &response,
                "node",
                fields,
                lookup(table, org),
            );
            problems.check(response.errors().len() == refusals, || {
                format!(
                    "{org:?}: node({row:?}) has unexpected errors: {:#}",
                    response.body
                )
            });
        }
    }

    problems.assert_none(&format!("personal data read by {org:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_read_by_the_secretariat() {
    personal_data_matrix(Secretariat).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_read_by_municipality_101() {
    personal_data_matrix(Kommune101).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_read_by_municipality_730() {
    personal_data_matrix(Kommune730).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_read_by_ngo_a() {
    personal_data_matrix(NgoA).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_read_by_ngo_b() {
    personal_data_matrix(NgoB).await;
}

// ---------------------------------------------------------------------------------------------
// One participant record, four readers.
// ---------------------------------------------------------------------------------------------

const ALL_READ_BUT_PARTICIPANTS: &str =
    "projects:read mothers:read courses:read visits:read referrals:read";

/// Asserts that `record` (the `participant` of `participant_record.graphql`) carries every
/// personal field of `row`.
#[track_caller]
fn assert_personal_data(record: &Value, row: Row) {
    for field in PARTICIPANT_FIELDS {
        assert_eq!(
            record[*field],
            personal_value(row, field),
            "{row:?}.{field}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_is_shared_with_her_operator_and_a_consented_receiver_only() {
    let app = TestApp::spawn().await;
    let world = World::build(&app).await;
    let token = |org: Row, scopes: &'static str| app.token(org.short_name(), scopes);
    let record = |token: String, row: Row| {
        let app = &app;
        let id = world.gid(row);
        async move {
            app.graphql(
                Some(&token),
                queries::PARTICIPANT_RECORD,
                json!({ "id": id }),
            )
            .await
        }
    };

    // (a) ngo-a operates her project.
    let operator = record(token(NgoA, ALL_READ).await, ParticipantA).await;
    let participant = &operator.data()["participant"];
    assert_eq!(participant["pseudonym"], "BM-ParticipantA");
    assert_personal_data(participant, ParticipantA);

    // (b) kommune-101 receives a referral about her with her live consent.
    let receiver = record(token(Kommune101, ALL_READ).await, ParticipantA).await;
    assert_personal_data(&receiver.data()["participant"], ParticipantA);
    let k101 = token(Kommune101, ALL_READ).await;
    let referral = app
        .graphql(
            Some(&k101),
            queries::REFERRAL_RECORD,
            json!({ "id": world.gid(ReferralA) }),
        )
        .await;
    let referral = &referral.data()["referral"];
    assert_eq!(referral["note"], json!(text(ReferralA, "note")));
    assert_eq!(
        referral["participant"]["firstName"],
        json!(text(ParticipantA, "firstName"))
    );
    assert_eq!(referral["events"][1]["note"], json!(text(EventA2, "note")));

    // (c) kommune-730 receives a referral about ParticipantB whose consent she withdrew.
    let k730 = token(Kommune730, ALL_READ).await;
    let withdrawn = record(k730.clone(), ParticipantB).await;
    let expected: BTreeSet<String> = PARTICIPANT_FIELDS
        .iter()
        .map(|f| format!("participant.{f}"))
        .collect();
    assert_eq!(
        forbidden_paths(&withdrawn),
        expected,
        "{:#}",
        withdrawn.body
    );
    let participant = &withdrawn.body["data"]["participant"];
    for field in PARTICIPANT_FIELDS {
        assert_eq!(participant[*field], Value::Null, "{field} is withheld");
    }
    assert_eq!(participant["id"], json!(world.gid(ParticipantB)));
    assert_eq!(participant["pseudonym"], "BM-ParticipantB");
    assert_eq!(participant["project"]["id"], json!(world.gid(ProjectB)));
    assert_eq!(participant["registeredBy"]["id"], json!(world.gid(NgoB)));
    assert_eq!(
        participant["consents"],
        json!([{ "id": world.gid(ConsentB), "purpose": "SHARE_WITH_RECEIVER", "isLive": false }])
    );
    let message = withdrawn.message();
    assert!(
        message.contains("personal data") && message.contains("consent"),
        "the refusal says why: {message}"
    );
    let referral = app
        .graphql(
            Some(&k730),
            queries::REFERRAL_RECORD,
            json!({ "id": world.gid(ReferralB) }),
        )
        .await;
    assert_eq!(
        forbidden_paths(&referral),
        paths(&[
            "referral.note",
            "referral.participant.firstName",
            "referral.participant.birthYear",
            "referral.participant.phone",
            "referral.participant.notes",
            "referral.events.0.note",
            "referral.events.1.note",
        ]),
        "{:#}",
        referral.body
    );
    let referral = &referral.body["data"]["referral"];
    assert_eq!(referral["status"], "CANCELLED");
    assert_eq!(referral["participant"]["pseudonym"], "BM-ParticipantB");
    assert_eq!(referral["events"][1]["toStatus"], "CANCELLED");

    // (d) ngo-a again, without participants:read: not even the operator reads her data, and
    // the participant row itself needs the scope.
    let unscoped = token(NgoA, ALL_READ_BUT_PARTICIPANTS).await;
    let response = record(unscoped.clone(), ParticipantA).await;
    assert_eq!(forbidden_paths(&response), paths(&["participant"]));
    assert!(
        response.message().contains("participants:read"),
        "{}",
        response.message()
    );
    assert_eq!(response.body["data"]["participant"], Value::Null);
    let referral = app
        .graphql(
            Some(&unscoped),
            queries::REFERRAL_RECORD,
            json!({ "id": world.gid(ReferralA) }),
        )
        .await;
    assert_eq!(
        forbidden_paths(&referral),
        paths(&[
            "referral.note",
            "referral.participant",
            "referral.events.0.note",
            "referral.events.1.note",
        ]),
        "{:#}",
        referral.body
    );
    for error in referral.errors() {
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains("participants:read"),
            "each refusal names the scope: {error}"
        );
    }
    let referral = &referral.body["data"]["referral"];
    assert_eq!(referral["id"], json!(world.gid(ReferralA)));
    assert_eq!(referral["status"], "REQUESTED");
    assert_eq!(referral["serviceCategory"], "HEALTH_VISITOR");
    assert_eq!(referral["receiver"]["id"], json!(world.gid(Kommune101)));
    assert_eq!(referral["events"][0]["toStatus"], "DRAFT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawing_consent_hides_her_data_from_the_receiver_on_the_next_request() {
    let (app, world, k101) = world_as(Kommune101, ALL_READ).await;
    let read = |row: Row| {
        let (app, k101, id) = (&app, &k101, world.gid(row));
        async move {
            app.graphql(Some(k101), queries::REFERRAL_RECORD, json!({ "id": id }))
                .await
        }
    };
    let before = read(ReferralA).await;
    assert_eq!(
        before.data()["referral"]["participant"]["firstName"],
        json!(text(ParticipantA, "firstName"))
    );

    let consent = consent::Entity::find_by_id(world.uuid(ConsentA))
        .one(&app.db)
        .await
        .expect("the consent reads")
        .expect("the consent exists");
    let mut withdrawal = consent.into_active_model();
    withdrawal.withdrawn_at = Set(Some(Utc::now()));
    withdrawal.updated_at = Set(Utc::now());
    withdrawal
        .update(&app.db)
        .await
        .expect("the consent is withdrawn");

    let after = read(ReferralA).await;
    assert_eq!(
        forbidden_paths(&after),
        paths(&[
            "referral.note",
            "referral.participant.firstName",
            "referral.participant.birthYear",
            "referral.participant.phone",
            "referral.participant.notes",
            "referral.events.0.note",
            "referral.events.1.note",
        ]),
        "{:#}",
        after.body
    );
    let referral = &after.body["data"]["referral"];
    assert_eq!(
        referral["id"],
        json!(world.gid(ReferralA)),
        "the referral stays visible"
    );
    assert_eq!(referral["participant"]["pseudonym"], "BM-ParticipantA");
    let record = app
        .graphql(
            Some(&k101),
            queries::PARTICIPANT_RECORD,
            json!({ "id": world.gid(ParticipantA) }),
        )
        .await;
    assert_eq!(
        forbidden_paths(&record).len(),
        PARTICIPANT_FIELDS.len(),
        "{:#}",
        record.body
    );
    assert_eq!(
        record.body["data"]["participant"]["consents"][0]["isLive"],
        false
    );

    // Her own project still reads her data.
    let operator = app.token("ngo-a", ALL_READ).await;
    let record = app
        .graphql(
            Some(&operator),
            queries::PARTICIPANT_RECORD,
            json!({ "id": world.gid(ParticipantA) }),
        )
        .await;
    assert_personal_data(&record.data()["participant"], ParticipantA);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_without_a_note_is_refused_like_one_with_a_note() {
    let (app, world, ngo_a) = world_as(NgoA, ALL_READ).await;
    let pool = entity::referral::Entity::find_by_id(world.uuid(ReferralPool))
        .one(&app.db)
        .await
        .expect("the referral reads")
        .expect("the pool referral exists");
    let k101 = bydel::organisations::find_by_reference(&app.db, "kommune-101")
        .await
        .expect("kommune-101 exists");
    use entity::enums::ReferralStatus::{OnHold, Requested};
    app.fixtures()
        .event(&pool, &k101, 2, (Some(Requested), OnHold), |_| {})
        .await;

    // ngo-a sees the pool referral (it may claim it) but not her personal data: whether a
    // note exists is itself something it must not learn.
    let response = app
        .graphql(
            Some(&ngo_a),
            queries::REFERRAL_RECORD,
            json!({ "id": world.gid(ReferralPool) }),
        )
        .await;
    assert_eq!(
        forbidden_paths(&response),
        paths(&[
            "referral.note",
            "referral.participant.firstName",
            "referral.participant.birthYear",
            "referral.participant.phone",
            "referral.participant.notes",
            "referral.events.0.note",
            "referral.events.1.note",
        ]),
        "{:#}",
        response.body
    );
}

// ---------------------------------------------------------------------------------------------
// The audit trail of reads.
// ---------------------------------------------------------------------------------------------

/// The audit events written under `request_id`.
async fn audited(app: &TestApp, request_id: &str) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::RequestId.eq(request_id))
        .all(&app.db)
        .await
        .expect("the audit trail reads")
}

/// Checks that `request_id` left exactly one `read` event per participant of `expected`, naming
/// the caller's client and organisation. (Reads of mothers' contact details and of visit
/// notes are events of their own, checked in `leaks.rs`.)
async fn assert_reads_audited(
    app: &TestApp,
    world: &World,
    request_id: &str,
    client_id: Uuid,
    org: Row,
    expected: &[Row],
) {
    let all = audited(app, request_id).await;
    for event in &all {
        assert_eq!(event.action, AuditAction::Read, "{event:?}");
    }
    let events: Vec<_> = all
        .into_iter()
        .filter(|e| e.entity_type == "participant")
        .collect();
    let mut read: Vec<String> = events
        .iter()
        .map(|e| {
            e.participant_id
                .map_or_else(|| "<none>".into(), |p| world.name(&Kind::Participant.id(p)))
        })
        .collect();
    read.sort();
    assert_eq!(
        read,
        names(expected),
        "participants audited for {request_id}: {events:#?}"
    );
    for event in &events {
        assert_eq!(event.action, AuditAction::Read, "{event:?}");
        assert_eq!(event.entity_type, "participant", "{event:?}");
        assert_eq!(event.entity_id, event.participant_id, "{event:?}");
        assert_eq!(event.client_id, Some(client_id), "{event:?}");
        assert_eq!(event.organisation_id, Some(world.uuid(org)), "{event:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_personal_data_writes_one_audit_event_per_participant_per_request() {
    let app = TestApp::spawn().await;
    let world = World::build(&app).await;
    let ngo_a = app.issue("ngo-a", ALL_READ).await;

    // Her name, phone, notes, referral note and event notes: still one event each.
    let response = app
        .graphql_with_request_id(
            &ngo_a.token,
            "audit-ngo-a-1",
            queries::ACCESS_PERSONAL_DATA,
            json!({}),
        )
        .await;
    assert_eq!(response.status, 200);
    // Her operated participants, and the pool profile of the one waiting in the pool.
    let operated = [ParticipantA, ParticipantA2, ParticipantK, ParticipantPool];
    assert_reads_audited(
        &app,
        &world,
        "audit-ngo-a-1",
        ngo_a.client_id,
        NgoA,
        &operated,
    )
    .await;

    // Per request: the same read again is recorded again.
    app.graphql_with_request_id(
        &ngo_a.token,
        "audit-ngo-a-2",
        queries::ACCESS_PERSONAL_DATA,
        json!({}),
    )
    .await;
    assert_reads_audited(
        &app,
        &world,
        "audit-ngo-a-2",
        ngo_a.client_id,
        NgoA,
        &operated,
    )
    .await;

    // One participant through one field.
    let one = app
        .graphql_with_request_id(
            &ngo_a.token,
            "audit-ngo-a-3",
            queries::PARTICIPANT_RECORD,
            json!({ "id": world.gid(ParticipantK) }),
        )
        .await;
    one.data();
    assert_reads_audited(
        &app,
        &world,
        "audit-ngo-a-3",
        ngo_a.client_id,
        NgoA,
        &[ParticipantK],
    )
    .await;

    // The secretariat's reads are audited too.
    let secretariat = app.issue("secretariat", ALL_READ).await;
    app.graphql_with_request_id(
        &secretariat.token,
        "audit-secretariat",
        queries::PARTICIPANT_RECORD,
        json!({ "id": world.gid(ParticipantB) }),
    )
    .await
    .data();
    assert_reads_audited(
        &app,
        &world,
        "audit-secretariat",
        secretariat.client_id,
        Secretariat,
        &[ParticipantB],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_or_pseudonymous_read_writes_no_audit_event() {
    let app = TestApp::spawn().await;
    let world = World::build(&app).await;
    let k730 = app.issue("kommune-730", ALL_READ).await;

    // Refused: ParticipantB withdrew her consent to share with kommune-730.
    let refused = app
        .graphql_with_request_id(
            &k730.token,
            "audit-refused",
            queries::PARTICIPANT_RECORD,
            json!({ "id": world.gid(ParticipantB) }),
        )
        .await;
    assert_eq!(forbidden_paths(&refused).len(), PARTICIPANT_FIELDS.len());
    assert_reads_audited(
        &app,
        &world,
        "audit-refused",
        k730.client_id,
        Kommune730,
        &[],
    )
    .await;

    // Mixed: only the participants whose data was returned are recorded.
    app.graphql_with_request_id(
        &k730.token,
        "audit-mixed",
        queries::ACCESS_PERSONAL_DATA,
        json!({}),
    )
    .await;
    assert_reads_audited(
        &app,
        &world,
        "audit-mixed",
        k730.client_id,
        Kommune730,
        &[ParticipantK, ParticipantIn],
    )
    .await;

    // Ids and pseudonyms only: nothing personal was returned.
    let ids_only = app
        .graphql_with_request_id(
            &k730.token,
            "audit-ids-only",
            queries::ACCESS_LISTS,
            json!({}),
        )
        .await;
    ids_only.data();
    assert_reads_audited(
        &app,
        &world,
        "audit-ids-only",
        k730.client_id,
        Kommune730,
        &[],
    )
    .await;

    // No participants:read: the operator's note reads are refused, and not recorded.
    let unscoped = app.issue("ngo-a", ALL_READ_BUT_PARTICIPANTS).await;
    let response = app
        .graphql_with_request_id(
            &unscoped.token,
            "audit-unscoped",
            queries::REFERRAL_RECORD,
            json!({ "id": world.gid(ReferralA) }),
        )
        .await;
    assert!(!forbidden_paths(&response).is_empty());
    assert_reads_audited(
        &app,
        &world,
        "audit-unscoped",
        unscoped.client_id,
        NgoA,
        &[],
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Scopes: a missing area scope fails exactly the fields of that area.
// ---------------------------------------------------------------------------------------------

/// Each read scope, and the fields of `scope_probe.graphql` that need it (a field inside one
/// that already failed does not run).
const SCOPE_FIELDS: &[(&str, &[&str])] = &[
    ("projects:read", &["projects", "project", "mother.project"]),
    ("mothers:read", &["mothers", "mother", "project.mothers"]),
    ("courses:read", &["courses", "project.courses"]),
    (
        "participants:read",
        &["participants", "participant", "referral.participant"],
    ),
    ("visits:read", &["visits", "referral.visit"]),
    ("referrals:read", &["referrals", "referral"]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_area_scope_is_forbidden_on_that_areas_fields_only() {
    let app = TestApp::spawn().await;
    let world = World::build(&app).await;
    let variables = json!({
        "project": world.gid(ProjectA),
        "mother": world.gid(MotherA),
        "participant": world.gid(ParticipantA),
        "referral": world.gid(ReferralA),
    });
    let mut problems = Problems::default();

    for org in [Secretariat, NgoA] {
        let full = app.token(org.short_name(), ALL_READ).await;
        let baseline = app
            .graphql(Some(&full), queries::SCOPE_PROBE, variables.clone())
            .await;
        let baseline = baseline.data().clone();
        for field in ["project", "mother", "participant", "referral"] {
            assert!(
                !baseline[field].is_null(),
                "{org:?} sees the probe's {field}"
            );
        }

        for (scope, fields) in SCOPE_FIELDS {
            let scopes: Vec<&str> = ALL_READ.split(' ').filter(|s| s != scope).collect();
            let token = app.token(org.short_name(), &scopes.join(" ")).await;
            let response = app
                .graphql(Some(&token), queries::SCOPE_PROBE, variables.clone())
                .await;
            let got = forbidden_paths(&response);
            problems.check(got == paths(fields), || {
                format!("{org:?} without {scope}: FORBIDDEN at {got:?}, expected {fields:?}")
            });
            for error in response.errors() {
                let message = error["message"].as_str().unwrap_or_default();
                problems.check(message.contains(scope), || {
                    format!("{org:?} without {scope}: the message should name it: {message}")
                });
            }
            let mut expected = baseline.clone();
            for field in *fields {
                null_at(&mut expected, field);
            }
            problems.check(response.body["data"] == expected, || {
                format!(
                    "{org:?} without {scope}: everything else should still answer;\nexpected {expected}\ngot {}",
                    response.body["data"]
                )
            });
        }
    }
    problems.assert_none("scope checks");
}

/// Rule 5: a referral's webhook audience is exactly the organisations whose tokens read it
/// under rule 2, for every referral and organisation of the world (pool, partner, inbound and
/// withdrawn-consent cases included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_audience_of_a_referral_is_exactly_who_may_read_it() {
    use bydel::auth::{
        Scoped,
        access::{Viewer, referral_audience},
    };
    use entity::{organisation, referral};
    use sea_orm::Condition;

    let app = TestApp::spawn().await;
    let world = World::build(&app).await;
    // A funder gets figures, not people: ngo-b funding ProjectK reads none of its referrals,
    // and hears of none.
    let project_k = entity::project::Entity::find_by_id(world.uuid(ProjectK))
        .one(&app.db)
        .await
        .expect("reads")
        .expect("ProjectK exists");
    let ngo_b = organisation::Entity::find_by_id(world.uuid(NgoB))
        .one(&app.db)
        .await
        .expect("reads")
        .expect("ngo-b exists");
    app.fixtures()
        .partner(&project_k, &ngo_b, PartnerRole::Funder)
        .await;
    let referrals = [ReferralA, ReferralB, ReferralK, ReferralPool, ReferralIn];
    let mut problems = Problems::default();
    for row in referrals {
        let referral = referral::Entity::find_by_id(world.uuid(row))
            .one(&app.db)
            .await
            .expect("reads")
            .expect("the world's referral");
        let audience: BTreeSet<Uuid> = organisation::Entity::find()
            .filter(referral_audience(&referral))
            .all(&app.db)
            .await
            .expect("the audience reads")
            .into_iter()
            .map(|o| o.id)
            .collect();
        for org in ORGANISATIONS {
            let model = organisation::Entity::find_by_id(world.uuid(org))
                .one(&app.db)
                .await
                .expect("reads")
                .expect("the world's organisation");
            let viewer = Viewer::of(model.id, model.kind, model.municipality_code);
            let reads = referral::Entity::find_by_id(referral.id)
                .filter(referral::Entity::visible(&viewer).unwrap_or_else(Condition::all))
                .one(&app.db)
                .await
                .expect("reads")
                .is_some();
            let told = audience.contains(&model.id);
            problems.check(reads == told, || {
                format!("{org:?} on {row:?}: reads it {reads}, in the audience {told}")
            });
            if (org, row) == (NgoB, ReferralK) {
                problems.check(!reads, || "ngo-b reads ReferralK as a mere funder".into());
            }
        }
    }
    problems.assert_none("webhook audience");
}
