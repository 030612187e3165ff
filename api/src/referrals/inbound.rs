//! The municipality's side of the loop: a municipality refers a woman it registered to the
//! programme, either to one project (its operator receives it) or to the municipality's pool
//! (any NGO running a project there may claim it, see [`super::handover`]).
//!
//! Invariants:
//! - The requester is the municipality itself; only the municipality that registered her
//!   refers her (her registrar keeps her consents).
//! - The referral starts as a draft like every referral; `REQUEST` then needs her live
//!   consent to be contacted by the programme (`CONTACT`), and, when a project is named, her
//!   live consent to share with its operator (the same rule as outbound).
//! - A pool referral names no receiver and no project until claimed.

use entity::{
    enums::{AuditAction, ReferralDirection, ReferralPriority, ReferralStatus, ServiceCategory},
    participant, project, referral,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::write::{ENTITY, Entry, NOTE_CHARS, Writer, insert_event};
use crate::{
    audit::{self, Event},
    error::{ApiError, ApiResult},
    participants::write::not_erased,
    writes::optional_text,
};

/// An inbound referral as a municipality sends it.
pub struct NewInboundReferral {
    pub participant_id: Uuid,
    /// `None`: to the municipality's pool.
    pub project_id: Option<Uuid>,
    pub service_category: ServiceCategory,
    pub priority: ReferralPriority,
    pub note: Option<String>,
}

/// Creates an inbound referral as a draft (`referToProgramme`).
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    new: NewInboundReferral,
) -> ApiResult<referral::Model> {
    let code = by.principal.may_refer_to_programme()?;
    let note = optional_text(new.note.as_deref(), "input.note", NOTE_CHARS)?;
    let org = by.principal.organisation.id;
    let field = "input.participantId";
    let participant = participant::Entity::find_by_id(new.participant_id)
        .filter(by.principal.row_filter::<participant::Entity>())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::validation(field, "no participant has this id"))?;
    if participant.registered_by_organisation_id != org {
        return Err(ApiError::validation(
            field,
            "she is registered by another organisation; the municipality that registered her \
             refers her",
        ));
    }
    not_erased(&participant)?;
    let (receiver, project_id, pool) = match new.project_id {
        Some(project_id) => {
            let project = project::Entity::find_by_id(project_id)
                .filter(by.principal.row_filter::<project::Entity>())
                .one(db)
                .await?
                .ok_or_else(|| {
                    ApiError::validation("input.projectId", "no project you see has this id")
                })?;
            (
                Some(project.operator_organisation_id),
                Some(project.id),
                None,
            )
        }
        None => (None, None, Some(code)),
    };
    let now = crate::db::now();
    let referral = referral::ActiveModel {
        id: Set(Uuid::now_v7()),
        direction: Set(ReferralDirection::Inbound),
        requester_organisation_id: Set(org),
        receiver_organisation_id: Set(receiver),
        pool_municipality_code: Set(pool),
        project_id: Set(project_id),
        participant_id: Set(participant.id),
        mother_id: Set(None),
        visit_id: Set(None),
        service_category: Set(new.service_category),
        priority: Set(new.priority),
        service_id: Set(None),
        status: Set(ReferralStatus::Draft),
        status_reason: Set(None),
        outcome: Set(None),
        note: Set(note),
        requested_at: Set(None),
        accepted_at: Set(None),
        closed_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    insert_event(db, by, &referral, Entry::created()).await?;
    let detail = match project_id {
        Some(project) => format!("inbound draft to project {project}"),
        None => format!("inbound draft to the pool of municipality {code}"),
    };
    audit::record(
        db,
        &by.actor,
        [Event::new(AuditAction::Create, ENTITY, referral.id)
            .about_participant(participant.id)
            .detail(detail)],
    )
    .await?;
    Ok(referral)
}
