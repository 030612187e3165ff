//! Her copy of everything Bydel holds about her (GDPR Art. 15 access, Art. 20 portability):
//! one JSON document, the same over the API (`participantDataExport`) and the command line
//! (`bydel participant export`).
//!
//! The document (`format` names its version; fields are camelCase, vocabularies in the
//! GraphQL spelling, times RFC 3339 UTC, ids the API's global ids):
//! `participant` (her fields, languages), `consents` (every one, with its history),
//! `referrals` (each with its `timeline` and notes), `visits` (linked to her, with topics and
//! notes) and `auditEvents` (who read or changed what about her, when, through which client
//! and organisation). The export is itself audited, before the trail is read, so the
//! document shows it too.
//!
//! Invariant: read in the caller's transaction, so the parts agree with each other.

use std::collections::{HashMap, HashSet};

use entity::{
    api_client, audit_event, consent, enums::AuditAction, organisation, participant, project,
    referral, referral_event, visit, visit_topic,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::write::languages_of;
use crate::{
    audit::{self, Actor, Event},
    auth::Principal,
    error::ApiResult,
    ids::Kind,
};

/// The document's format; a change that is not an addition gets a new number.
pub const FORMAT: &str = "bydel.participant-export/1";

/// Her document, for a caller that
/// [`may administer`](crate::auth::Principal::may_administer_participant) her record.
#[tracing::instrument(skip_all, fields(participant = %id))]
pub async fn export(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<Value> {
    let her = principal.may_administer_participant(db, id).await?;
    audit::record(
        db,
        actor,
        [Event::new(AuditAction::Read, "participant", id)
            .about_participant(id)
            .detail("data export (Art. 15)")],
    )
    .await?;
    document(db, her).await
}

async fn document(db: &impl ConnectionTrait, her: participant::Model) -> ApiResult<Value> {
    let id = her.id;
    let consents = consent::Entity::find()
        .filter(consent::Column::ParticipantId.eq(id))
        .order_by_asc(consent::Column::GivenAt)
        .all(db)
        .await?;
    let referrals = referral::Entity::find()
        .filter(referral::Column::ParticipantId.eq(id))
        .order_by_asc(referral::Column::CreatedAt)
        .all(db)
        .await?;
    let events = referral_event::Entity::find()
        .filter(referral_event::Column::ReferralId.is_in(referrals.iter().map(|r| r.id)))
        .order_by_asc(referral_event::Column::Sequence)
        .all(db)
        .await?;
    let visits = visit::Entity::find()
        .filter(visit::Column::ParticipantId.eq(id))
        .order_by_asc(visit::Column::VisitedOn)
        .all(db)
        .await?;
    let topics = visit_topic::Entity::find()
        .filter(visit_topic::Column::VisitId.is_in(visits.iter().map(|v| v.id)))
        .all(db)
        .await?;
    let trail = audit_event::Entity::find()
        .filter(audit_event::Column::ParticipantId.eq(id))
        .order_by_asc(audit_event::Column::OccurredAt)
        .order_by_asc(audit_event::Column::Id)
        .all(db)
        .await?;
    let names = Names::load(db, &her, &consents, &referrals, &events, &trail).await?;
    let languages = languages_of(db, id).await?;
    let mut timelines: HashMap<Uuid, Vec<Value>> = HashMap::new();
    for event in events {
        timelines
            .entry(event.referral_id)
            .or_default()
            .push(timeline_event(&names, event));
    }
    let mut topics_of: HashMap<Uuid, Vec<Value>> = HashMap::new();
    for topic in topics {
        topics_of
            .entry(topic.visit_id)
            .or_default()
            .push(code(topic.topic));
    }
    Ok(json!({
        "format": FORMAT,
        "exportedAt": crate::db::now(),
        "participant": participant_part(&names, &her, languages),
        "consents": consents.into_iter().map(|c| consent_part(&names, c)).collect::<Vec<_>>(),
        "referrals": referrals.into_iter().map(|r| {
            let timeline = timelines.remove(&r.id).unwrap_or_default();
            referral_part(&names, r, timeline)
        }).collect::<Vec<_>>(),
        "visits": visits.into_iter().map(|v| {
            let topics = topics_of.remove(&v.id).unwrap_or_default();
            visit_part(v, topics)
        }).collect::<Vec<_>>(),
        "auditEvents": trail.into_iter().map(|e| audit_part(&names, e)).collect::<Vec<_>>(),
    }))
}

/// A vocabulary value in the GraphQL spelling (`SHARE_WITH_RECEIVER`).
fn code(value: impl Serialize) -> Value {
    match serde_json::to_value(value) {
        Ok(Value::String(text)) => Value::String(text.to_uppercase()),
        Ok(other) => other,
        Err(_) => Value::Null,
    }
}

fn codes<T: Serialize>(value: Option<T>) -> Value {
    value.map_or(Value::Null, code)
}

/// The organisations, projects and API clients the document names, read once.
struct Names {
    organisations: HashMap<Uuid, String>,
    projects: HashMap<Uuid, String>,
    clients: HashMap<Uuid, String>,
}

impl Names {
    async fn load(
        db: &impl ConnectionTrait,
        her: &participant::Model,
        consents: &[consent::Model],
        referrals: &[referral::Model],
        events: &[referral_event::Model],
        trail: &[audit_event::Model],
    ) -> ApiResult<Names> {
        let mut organisations: HashSet<Uuid> = HashSet::from([her.registered_by_organisation_id]);
        organisations.extend(consents.iter().filter_map(|c| c.receiver_organisation_id));
        for r in referrals {
            organisations.insert(r.requester_organisation_id);
            organisations.extend(r.receiver_organisation_id);
        }
        organisations.extend(events.iter().map(|e| e.actor_organisation_id));
        organisations.extend(trail.iter().filter_map(|e| e.organisation_id));
        let mut projects: HashSet<Uuid> = her.project_id.into_iter().collect();
        projects.extend(referrals.iter().filter_map(|r| r.project_id));
        let mut clients: HashSet<Uuid> = trail.iter().filter_map(|e| e.client_id).collect();
        clients.extend(consents.iter().filter_map(|c| c.recorded_by_client_id));
        clients.extend(events.iter().filter_map(|e| e.actor_client_id));
        Ok(Names {
            organisations: organisation::Entity::find()
                .filter(organisation::Column::Id.is_in(organisations))
                .all(db)
                .await?
                .into_iter()
                .map(|o| (o.id, o.name))
                .collect(),
            projects: project::Entity::find()
                .filter(project::Column::Id.is_in(projects))
                .all(db)
                .await?
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect(),
            clients: api_client::Entity::find()
                .filter(api_client::Column::Id.is_in(clients))
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect(),
        })
    }

    fn organisation(&self, id: Option<Uuid>) -> Value {
        self.named(id, Kind::Organisation, &self.organisations)
    }

    fn project(&self, id: Option<Uuid>) -> Value {
        self.named(id, Kind::Project, &self.projects)
    }

    fn client(&self, id: Option<Uuid>) -> Value {
        self.named(id, Kind::ApiClient, &self.clients)
    }

    fn named(&self, id: Option<Uuid>, kind: Kind, names: &HashMap<Uuid, String>) -> Value {
        id.map_or(
            Value::Null,
            |id| json!({"id": kind.id(id).0, "name": names.get(&id)}),
        )
    }
}

fn participant_part(names: &Names, her: &participant::Model, languages: Vec<String>) -> Value {
    json!({
        "id": Kind::Participant.id(her.id).0,
        "pseudonym": her.pseudonym,
        "project": names.project(her.project_id),
        "registeredBy": names.organisation(Some(her.registered_by_organisation_id)),
        "firstName": her.first_name,
        "birthYear": her.birth_year,
        "languages": languages,
        "preferredContact": codes(her.preferred_contact),
        "preferredLanguage": her.preferred_language.as_ref().filter(|_| her.erased_at.is_none()),
        "phone": her.phone,
        "email": her.email,
        "district": her.district,
        "municipalityCaseRef": her.municipality_case_ref,
        "notes": her.notes,
        "version": her.version,
        "erasedAt": her.erased_at,
        "createdAt": her.created_at,
        "updatedAt": her.updated_at,
    })
}

fn consent_part(names: &Names, c: consent::Model) -> Value {
    json!({
        "id": Kind::Consent.id(c.id).0,
        "purpose": code(c.purpose),
        "receiver": names.organisation(c.receiver_organisation_id),
        "givenAt": c.given_at,
        "validUntil": c.valid_until,
        "withdrawnAt": c.withdrawn_at,
        "recordedByClient": names.client(c.recorded_by_client_id),
        "recordedByMother": c.recorded_by_mother_id.map(|m| Kind::Mother.id(m).0),
    })
}

fn referral_part(names: &Names, r: referral::Model, timeline: Vec<Value>) -> Value {
    json!({
        "id": Kind::Referral.id(r.id).0,
        "direction": code(r.direction),
        "serviceCategory": code(r.service_category),
        "status": code(r.status),
        "statusReason": codes(r.status_reason),
        "outcome": codes(r.outcome),
        "requester": names.organisation(Some(r.requester_organisation_id)),
        "receiver": names.organisation(r.receiver_organisation_id),
        "poolMunicipalityCode": r.pool_municipality_code,
        "project": names.project(r.project_id),
        "note": r.note,
        "requestedAt": r.requested_at,
        "acceptedAt": r.accepted_at,
        "closedAt": r.closed_at,
        "createdAt": r.created_at,
        "timeline": timeline,
    })
}

fn timeline_event(names: &Names, e: referral_event::Model) -> Value {
    json!({
        "sequence": e.sequence,
        "kind": code(e.kind),
        "fromStatus": codes(e.from_status),
        "toStatus": code(e.to_status),
        "reason": codes(e.reason),
        "note": e.note,
        "actorOrganisation": names.organisation(Some(e.actor_organisation_id)),
        "actorClient": names.client(e.actor_client_id),
        "occurredAt": e.occurred_at,
    })
}

fn visit_part(v: visit::Model, topics: Vec<Value>) -> Value {
    json!({
        "id": Kind::Visit.id(v.id).0,
        "mother": Kind::Mother.id(v.mother_id).0,
        "project": Kind::Project.id(v.project_id).0,
        "visitedOn": v.visited_on,
        "channel": code(v.channel),
        "durationMinutes": v.duration_minutes,
        "contactOrigin": code(v.contact_origin),
        "nextStep": code(v.next_step),
        "topics": topics,
        "notes": v.notes,
    })
}

fn audit_part(names: &Names, e: audit_event::Model) -> Value {
    json!({
        "occurredAt": e.occurred_at,
        "action": code(e.action),
        "entityType": e.entity_type,
        "entityId": e.entity_id.map(|id| id.to_string()),
        "organisation": names.organisation(e.organisation_id),
        "client": names.client(e.client_id),
        "requestId": e.request_id,
        "detail": e.detail,
    })
}
