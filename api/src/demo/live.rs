//! This week's work in København, done through the write path: after the generated history
//! is written, the demo load acts as the parties themselves would over the API, with their
//! own organisations' principals, so every rule, timeline event and audit event of a real
//! request applies to these rows too.
//!
//! What it leaves: København (`kommune-101`) has registered three women it refers to the
//! programme, each with her consent to be contacted; two went to its pool (one was claimed by
//! an NGO project there, which wrote to the municipality in the referral's thread and got an
//! answer), one straight to a project. And NGO projects in København have referred three
//! women they met to the municipality's services: REQUESTED referrals in København's inbox.
//!
//! Invariants:
//! - every row here is written by the same functions as `registerParticipant`,
//!   `recordConsent`, `referToProgramme`, `createReferral`, `transitionReferral`,
//!   `claimReferral` and `postReferralMessage`; a rule they refuse fails the whole load;
//! - unlike the generated history these rows carry the load's own ids and timestamps (as
//!   any request's would), so they are the newest of the data set;
//! - the audit events name the acting organisation and no API client (the load holds no
//!   token), with request id [`REQUEST_ID`].

use entity::enums::{
    ConsentPurpose, ContactMethod, OrganisationKind, ProjectStatus, ReferralPriority,
    ServiceCategory,
};
use entity::{organisation, project, referral};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use crate::audit::Actor;
use crate::auth::{OrganisationRef, Principal, ScopeSet};
use crate::error::{ApiError, ApiResult};
use crate::events::Outbox;
use crate::participants::write::{self as participants, NewConsent, NewParticipant};
use crate::referrals::lifecycle::Action;
use crate::referrals::write::{self as referrals, NewReferral, TransitionRequest, Writer};
use crate::referrals::{handover, inbound, messages};

/// The request id on this step's audit events and timeline entries.
pub const REQUEST_ID: &str = "demo-load";

/// The municipality whose week this is.
const KOMMUNE: &str = "kommune-101";

/// What the step wrote, for the load's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub participants: usize,
    pub consents: usize,
    pub referrals: usize,
    /// Rows of the referrals' timelines: steps, the claim and the messages.
    pub referral_events: usize,
}

/// A woman København refers to the programme.
struct Referred {
    first_name: &'static str,
    languages: &'static [&'static str],
    district: &'static str,
    case_ref: &'static str,
    contact: ContactMethod,
    priority: ReferralPriority,
    note: &'static str,
    to: Destination,
}

enum Destination {
    /// The municipality's pool; `claimed` when an NGO project took her this week.
    Pool { claimed: bool },
    /// The first NGO project in København (by name).
    Project,
}

const REFERRED: &[Referred] = &[
    Referred {
        first_name: "Hodan",
        languages: &["so", "da"],
        district: "Mjølnerparken",
        case_ref: "KK-2026-40117",
        contact: ContactMethod::ViaMother,
        priority: ReferralPriority::Urgent,
        note: "Nyankommen familie med tre børn; ønsker en bydelsmor, der taler somali",
        to: Destination::Pool { claimed: true },
    },
    Referred {
        first_name: "Nadia",
        languages: &["ar"],
        district: "Tingbjerg",
        case_ref: "KK-2026-40152",
        contact: ContactMethod::Phone,
        priority: ReferralPriority::Routine,
        note: "Isoleret efter flytning til kommunen; vil gerne i kontakt med andre mødre",
        to: Destination::Pool { claimed: false },
    },
    Referred {
        first_name: "Samira",
        languages: &["ur", "en"],
        district: "Urbanplanen",
        case_ref: "KK-2026-40168",
        contact: ContactMethod::Sms,
        priority: ReferralPriority::Routine,
        note: "Har brug for hjælp til kontakten med skolen",
        to: Destination::Project,
    },
];

/// A woman an NGO project met and refers to one of København's services.
struct Met {
    languages: &'static [&'static str],
    district: &'static str,
    service: ServiceCategory,
    note: &'static str,
}

const MET: &[Met] = &[
    Met {
        languages: &["ar"],
        district: "Lundtoftegade",
        service: ServiceCategory::HealthVisitor,
        note: "Ønsker tolk ved første møde",
    },
    Met {
        languages: &["tr", "da"],
        district: "Husum",
        service: ServiceCategory::JobCentre,
        note: "Kan bedst kontaktes om formiddagen",
    },
    Met {
        languages: &["fa"],
        district: "Hørgården",
        service: ServiceCategory::LanguageSchool,
        note: "Bydelsmoren deltager gerne i første møde",
    },
];

const MESSAGES: [&str; 2] = [
    "Vi har en bydelsmor, der taler somali; hun ringer til hende i denne uge.",
    "Tak. Sagsbehandleren er på kontoret tirsdag og torsdag, hvis I har spørgsmål.",
];

/// Writes this week's work through the write path, in the load's transaction.
pub async fn write<C: ConnectionTrait + TransactionTrait>(db: &C) -> ApiResult<Written> {
    let kommune = organisation_named(db, KOMMUNE).await?;
    let projects = ngo_projects_in(db, 101).await?;
    let first = projects
        .first()
        .ok_or_else(|| ApiError::internal("the demo has no NGO project in København"))?;
    let outbox = Outbox::held();
    let municipality = Party::of(db, kommune.id).await?;
    let ngo = Party::of(db, first.operator_organisation_id).await?;
    let (municipality, ngo) = (municipality.writer(&outbox), ngo.writer(&outbox));
    let mut written = Written::default();
    for woman in REFERRED {
        refer_to_programme(db, [&municipality, &ngo], woman, first, &mut written).await?;
    }
    for (woman, project) in MET.iter().zip(projects.iter().cycle()) {
        let operator = Party::of(db, project.operator_organisation_id).await?;
        let operator = operator.writer(&outbox);
        refer_to_kommune(db, &operator, woman, project, kommune.id, &mut written).await?;
    }
    Ok(written)
}

async fn refer_to_programme<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    [municipality, ngo]: [&Writer<'_>; 2],
    woman: &Referred,
    first_project: &project::Model,
    written: &mut Written,
) -> ApiResult<()> {
    let new = NewParticipant {
        first_name: Some(woman.first_name.to_owned()),
        languages: Some(woman.languages.iter().map(|l| (*l).to_owned()).collect()),
        preferred_contact: Some(woman.contact),
        preferred_language: woman.languages.first().map(|l| (*l).to_owned()),
        district: Some(woman.district.to_owned()),
        ..NewParticipant::default()
    };
    let case_ref = Some(woman.case_ref.to_owned());
    let her = participants::register(db, municipality, new, case_ref).await?;
    written.participants += 1;
    consent(db, municipality, her.id, ConsentPurpose::Contact, None).await?;
    written.consents += 1;
    let project_id = match woman.to {
        Destination::Project => {
            let operator = Some(first_project.operator_organisation_id);
            consent(
                db,
                municipality,
                her.id,
                ConsentPurpose::ShareWithReceiver,
                operator,
            )
            .await?;
            written.consents += 1;
            Some(first_project.id)
        }
        Destination::Pool { .. } => None,
    };
    let new = inbound::NewInboundReferral {
        participant_id: her.id,
        project_id,
        service_category: ServiceCategory::NeighbourhoodMother,
        priority: woman.priority,
        note: Some(woman.note.to_owned()),
    };
    let draft = inbound::create(db, municipality, new).await?;
    let requested = request(db, municipality, &draft).await?;
    written.referrals += 1;
    written.referral_events += 2;
    if let Destination::Pool { claimed: true } = woman.to {
        let claimed =
            handover::claim(db, ngo, requested.id, requested.version, first_project.id).await?;
        messages::post(db, ngo, claimed.id, MESSAGES[0]).await?;
        messages::post(db, municipality, claimed.id, MESSAGES[1]).await?;
        written.referral_events += 3;
    }
    Ok(())
}

async fn refer_to_kommune<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    operator: &Writer<'_>,
    woman: &Met,
    project: &project::Model,
    kommune: Uuid,
    written: &mut Written,
) -> ApiResult<()> {
    let new = NewParticipant {
        project_id: Some(project.id),
        languages: Some(woman.languages.iter().map(|l| (*l).to_owned()).collect()),
        preferred_contact: Some(ContactMethod::ViaMother),
        district: Some(woman.district.to_owned()),
        ..NewParticipant::default()
    };
    let her = participants::register(db, operator, new, None).await?;
    written.participants += 1;
    consent(
        db,
        operator,
        her.id,
        ConsentPurpose::ShareWithReceiver,
        Some(kommune),
    )
    .await?;
    written.consents += 1;
    let new = NewReferral {
        project_id: project.id,
        participant_id: her.id,
        receiver_organisation_id: kommune,
        service_category: woman.service,
        mother_id: None,
        visit_id: None,
        note: Some(woman.note.to_owned()),
        service_id: None,
    };
    let draft = referrals::create(db, operator, new).await?;
    request(db, operator, &draft).await?;
    written.referrals += 1;
    written.referral_events += 2;
    Ok(())
}

async fn consent(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    participant_id: Uuid,
    purpose: ConsentPurpose,
    receiver_organisation_id: Option<Uuid>,
) -> ApiResult<()> {
    let new = NewConsent {
        participant_id,
        purpose: Some(purpose),
        receiver_organisation_id,
        ..NewConsent::default()
    };
    participants::record_consent(db, by, new).await?;
    Ok(())
}

async fn request(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    draft: &referral::Model,
) -> ApiResult<referral::Model> {
    let request = TransitionRequest {
        id: draft.id,
        version: draft.version,
        action: Action::Request,
        reason: None,
        outcome: None,
        note: None,
    };
    referrals::transition(db, by, request).await
}

/// An organisation acting as its partner system would: the scopes of a caseworker or NGO
/// integration (read and write participants and referrals), no API client.
struct Party {
    principal: Principal,
    organisation_id: Uuid,
}

impl Party {
    async fn of(db: &impl ConnectionTrait, organisation_id: Uuid) -> ApiResult<Self> {
        let organisation = organisation::Entity::find_by_id(organisation_id)
            .one(db)
            .await?
            .ok_or_else(|| ApiError::internal("a demo organisation is missing"))?;
        let scopes =
            ScopeSet::parse("participants:read participants:write referrals:read referrals:write")?;
        let organisation = OrganisationRef {
            id: organisation.id,
            kind: organisation.kind,
            municipality_code: organisation.municipality_code,
        };
        Ok(Self {
            principal: Principal::new(Uuid::nil(), Uuid::nil(), organisation, scopes),
            organisation_id,
        })
    }

    fn writer<'a>(&'a self, outbox: &'a Outbox) -> Writer<'a> {
        Writer {
            principal: &self.principal,
            actor: Actor {
                client_id: None,
                organisation_id: Some(self.organisation_id),
                request_id: Some(REQUEST_ID.to_owned()),
                ..Actor::default()
            },
            outbox,
        }
    }
}

async fn organisation_named(
    db: &impl ConnectionTrait,
    short_name: &str,
) -> ApiResult<organisation::Model> {
    organisation::Entity::find()
        .filter(organisation::Column::ShortName.eq(short_name))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::internal(format!("the demo has no organisation {short_name}")))
}

/// The active projects an NGO runs in the municipality, by name.
async fn ngo_projects_in(db: &impl ConnectionTrait, code: i32) -> ApiResult<Vec<project::Model>> {
    let projects = project::Entity::find()
        .filter(project::Column::MunicipalityCode.eq(code))
        .filter(project::Column::Status.eq(ProjectStatus::Active))
        .order_by_asc(project::Column::Name)
        .all(db)
        .await?;
    let mut run_by_ngos = Vec::new();
    for project in projects {
        let operator = organisation::Entity::find_by_id(project.operator_organisation_id)
            .one(db)
            .await?;
        if operator.is_some_and(|o| o.kind == OrganisationKind::Ngo) {
            run_by_ngos.push(project);
        }
    }
    Ok(run_by_ngos)
}
