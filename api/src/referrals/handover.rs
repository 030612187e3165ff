//! Who holds a referral: claimed from a municipality's pool, released back to it, or
//! forwarded to another project of the same operator or back to the municipality that
//! referred her. A handover is a timeline event of its own kind (`claim`, `release`,
//! `forward`), in the same transaction as the change, with its audit event, webhooks and
//! subscription notice, exactly as a status change.
//!
//! Invariants:
//! - Every handover starts with [`claim_version`] (optimistic concurrency, first write).
//! - Only the performer hands a referral on ([`crate::auth::Principal::may_hand_over`]); the requester
//!   keeps every requester action (cancel, mark entered-in-error) whoever holds it.
//! - A release or a forward back to the municipality resets the referral to `requested`: the
//!   next holder decides afresh (`accepted_at` is cleared); a forward to another project of
//!   the same operator keeps the status, since the same organisation already decided.
//! - The participant never moves with a handover (rule 3 of [`crate::auth::access`]: a holder
//!   reads her record only under her consent to share with it).

use entity::{
    enums::{AuditAction, ReferralDirection, ReferralReason, ReferralStatus, TimelineKind},
    project, referral,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use super::{
    lifecycle,
    write::{ENTITY, Entry, NOTE_CHARS, Writer, claim_version, insert_event},
};
use crate::{
    audit::{self, Event},
    error::{ApiError, ApiResult},
    writes::optional_text,
};

/// Why a holder gives a referral back: the performer's reasons for not taking it on.
pub const RELEASE_REASONS: &[ReferralReason] = &[
    ReferralReason::NoCapacity,
    ReferralReason::NotEligible,
    ReferralReason::ReferredElsewhere,
    ReferralReason::CouldNotContact,
    ReferralReason::Other,
];

/// The statuses in which a holder may hand a referral on: sent, not yet closed.
const HANDED_ON_FROM: [ReferralStatus; 4] = [
    ReferralStatus::Requested,
    ReferralStatus::Accepted,
    ReferralStatus::InProgress,
    ReferralStatus::OnHold,
];

/// A handover a caller may make of a referral now (`Referral.availableHandovers`), each its
/// own mutation.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[graphql(name = "ReferralHandover")]
pub enum Handover {
    /// `claimReferral`: take an unclaimed pool referral for a project the caller operates in
    /// the pool's municipality.
    Claim,
    /// `releaseReferral`: give a claimed pool referral back to its pool.
    Release,
    /// `forwardReferral`: to another project of the holder, or an inbound referral back to the
    /// municipality that referred her.
    Forward,
}

/// Whether a referral in `status` may be released or forwarded by its holder.
pub fn may_hand_on_from(status: ReferralStatus) -> bool {
    HANDED_ON_FROM.contains(&status)
}

/// The handovers open to a caller playing `sides` on `referral`; `claimable` says whether
/// it runs a project in the referral's pool municipality (with `referrals:write`).
pub fn available(
    referral: &referral::Model,
    sides: &[crate::auth::access::ReferralSide],
    claimable: bool,
) -> Vec<Handover> {
    let holder = sides.contains(&crate::auth::access::ReferralSide::Performer)
        && may_hand_on_from(referral.status);
    let unclaimed = referral.receiver_organisation_id.is_none()
        && referral.pool_municipality_code.is_some()
        && referral.status == ReferralStatus::Requested;
    let mut out = Vec::new();
    if unclaimed && claimable {
        out.push(Handover::Claim);
    }
    if holder && referral.pool_municipality_code.is_some() {
        out.push(Handover::Release);
    }
    if holder {
        out.push(Handover::Forward);
    }
    out
}

/// Where a forward goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardTo {
    /// Another project of the same operator.
    Project(Uuid),
    /// Back to the municipality that referred her (an inbound referral's requester).
    Requester,
}

fn held(current: &referral::Model, what: &str) -> ApiResult<()> {
    if may_hand_on_from(current.status) {
        return Ok(());
    }
    Err(ApiError::InvalidTransition(format!(
        "a {} referral cannot be {what}; only a requested, accepted, in-progress or on-hold one",
        lifecycle::status_name(current.status)
    )))
}

/// Claims an unclaimed pool referral for a project (`claimReferral`): the project's
/// operator becomes the receiver (performer) and the project the referral's project. The
/// participant is *not* moved into the project: she consented to be contacted and counted,
/// not to have her record handed over, so the claimant sees her pool profile (rule 3 of
/// [`crate::auth::access`]) and the rest only once she consents to share with it. Only a
/// `REQUESTED` referral waits in a pool (`INVALID_TRANSITION` otherwise);
/// [`crate::auth::Principal::may_claim_for`] decides who may.
#[tracing::instrument(skip_all, fields(referral = %id, project = %project_id))]
pub async fn claim(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    id: Uuid,
    version: i32,
    project_id: Uuid,
) -> ApiResult<referral::Model> {
    let current = claim_version(db, by.principal, id, version).await?;
    let project = by.principal.may_claim_for(db, &current, project_id).await?;
    if current.status != ReferralStatus::Requested {
        return Err(ApiError::InvalidTransition(format!(
            "only a REQUESTED pool referral can be claimed; this one is {}",
            lifecycle::status_name(current.status)
        )));
    }
    let mut row: referral::ActiveModel = current.into();
    row.project_id = Set(Some(project.id));
    row.receiver_organisation_id = Set(Some(project.operator_organisation_id));
    let entry = Entry {
        from: Some(ReferralStatus::Requested),
        to: ReferralStatus::Requested,
        kind: TimelineKind::Claim,
        reason: None,
        note: None,
    };
    write(
        db,
        by,
        row,
        entry,
        format!("claimed for project {}", project.id),
    )
    .await
}

/// Gives a claimed pool referral back to its pool (`releaseReferral`), with a reason of
/// [`RELEASE_REASONS`]: receiver and project are cleared, the status is `requested` again,
/// and every NGO of the pool's municipality may claim it.
#[tracing::instrument(skip_all, fields(referral = %id))]
pub async fn release(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    id: Uuid,
    version: i32,
    reason: Option<ReferralReason>,
    note: Option<String>,
) -> ApiResult<referral::Model> {
    let note = optional_text(note.as_deref(), "input.note", NOTE_CHARS)?;
    let current = claim_version(db, by.principal, id, version).await?;
    by.principal.may_hand_over(&current)?;
    if current.pool_municipality_code.is_none() {
        return Err(ApiError::InvalidTransition(
            "only a referral claimed from a municipality's pool can be released to it; \
             forward this one instead"
                .into(),
        ));
    }
    held(&current, "released")?;
    let reason = match reason {
        Some(reason) if RELEASE_REASONS.contains(&reason) => reason,
        _ => {
            let allowed: Vec<&str> = RELEASE_REASONS
                .iter()
                .map(|r| lifecycle::reason_name(*r))
                .collect();
            return Err(ApiError::validation(
                "input.reason",
                format!("releasing takes one of: {}", allowed.join(", ")),
            ));
        }
    };
    let from = current.status;
    let mut row: referral::ActiveModel = current.into();
    row.receiver_organisation_id = Set(None);
    row.project_id = Set(None);
    row.status = Set(ReferralStatus::Requested);
    row.accepted_at = Set(None);
    let entry = Entry {
        from: Some(from),
        to: ReferralStatus::Requested,
        kind: TimelineKind::Release,
        reason: Some(reason),
        note,
    };
    write(db, by, row, entry, "released to the pool".to_owned()).await
}

/// Hands a referral to another project of the same operator, or back to the municipality
/// that referred her (`forwardReferral`).
#[tracing::instrument(skip_all, fields(referral = %id))]
pub async fn forward(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    id: Uuid,
    version: i32,
    to: ForwardTo,
    note: Option<String>,
) -> ApiResult<referral::Model> {
    let note = optional_text(note.as_deref(), "input.note", NOTE_CHARS)?;
    let current = claim_version(db, by.principal, id, version).await?;
    by.principal.may_hand_over(&current)?;
    held(&current, "forwarded")?;
    let from = current.status;
    let mut row: referral::ActiveModel = current.clone().into();
    let (status, detail) = match to {
        ForwardTo::Project(project_id) => {
            let project = same_operator(db, &current, project_id).await?;
            row.project_id = Set(Some(project.id));
            (from, format!("forwarded to project {}", project.id))
        }
        ForwardTo::Requester => {
            if current.direction != ReferralDirection::Inbound {
                return Err(ApiError::validation(
                    "input.toRequester",
                    "only an inbound referral goes back to the municipality that referred her",
                ));
            }
            row.receiver_organisation_id = Set(Some(current.requester_organisation_id));
            row.project_id = Set(None);
            row.status = Set(ReferralStatus::Requested);
            row.accepted_at = Set(None);
            (
                ReferralStatus::Requested,
                "forwarded back to the requester".to_owned(),
            )
        }
    };
    let entry = Entry {
        from: Some(from),
        to: status,
        kind: TimelineKind::Forward,
        reason: None,
        note,
    };
    write(db, by, row, entry, detail).await
}

/// Another project of the organisation holding `referral`.
async fn same_operator(
    db: &impl ConnectionTrait,
    referral: &referral::Model,
    project_id: Uuid,
) -> ApiResult<project::Model> {
    let field = "input.projectId";
    let project = project::Entity::find_by_id(project_id)
        .filter(project::Column::OperatorOrganisationId.eq(referral.receiver_organisation_id))
        .one(db)
        .await?
        .ok_or_else(|| {
            ApiError::validation(
                field,
                "not a project of the organisation holding the referral",
            )
        })?;
    if referral.project_id == Some(project.id) {
        return Err(ApiError::validation(
            field,
            "the referral is with this project already",
        ));
    }
    Ok(project)
}

/// Writes the handed-over row, its timeline event and its audit event.
async fn write(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    mut row: referral::ActiveModel,
    entry: Entry,
    detail: String,
) -> ApiResult<referral::Model> {
    row.updated_at = Set(crate::db::now());
    let referral = row.update(db).await?;
    insert_event(db, by, &referral, entry).await?;
    audit::record(
        db,
        &by.actor,
        [Event::new(AuditAction::Update, ENTITY, referral.id)
            .about_participant(referral.participant_id)
            .detail(detail)],
    )
    .await?;
    Ok(referral)
}
