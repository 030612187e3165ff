//! Changing referrals: create (a draft), transition through the [`lifecycle`] table, claim
//! from a municipality's pool, and cancel on consent withdrawal. Data functions only; the
//! GraphQL face is [`super::graphql`]. Every function runs in the caller's transaction.
//!
//! Invariants:
//! - **Optimistic concurrency.** Every change of an existing referral starts with
//!   [`claim_version`]: `UPDATE referral SET version = version + 1 WHERE id = ? AND
//!   version = ?` as the *first* write of the transaction. It takes the row's write lock
//!   before anything is decided, so two concurrent transitions with one version serialize
//!   on both backends (PostgreSQL row lock, SQLite write lock with busy wait) and the loser
//!   sees 0 rows: `CONFLICT`, nothing written. Checks run after the claim; when one fails
//!   the transaction rolls back and the bump with it.
//! - **Timeline.** Every change is one `referral_event` (sequence = last + 1, actor
//!   organisation and client, from, to, reason, note) and one audit event naming the
//!   participant, in the same transaction, which also queues the event's webhook deliveries
//!   ([`crate::webhooks::enqueue`]); the event is announced to subscriptions
//!   ([`crate::events`]) once that transaction commits.
//! - **Consent.** `REQUEST` (draft -> requested) is the move that shares her data with the
//!   receiver, so it needs her live consent (purpose share_with_receiver, that receiver,
//!   not withdrawn): `FORBIDDEN` otherwise, since the input is fine but her consent is
//!   missing. Cancelling or marking a draft entered-in-error shares nothing and needs none.
//!   A draft without receiver (a municipality pool) is requested without it: whoever claims
//!   it reads her data only under its own live consent (rule 3 of [`crate::auth::access`]).
//!   An inbound referral (a municipality refers her to the programme, [`super::inbound`])
//!   also needs her live consent to be contacted (`CONTACT`).
//! - Hidden referrals are `NOT_FOUND`, exactly like missing ones; the caller's side comes
//!   from [`Principal::referral_sides`] and nothing else.

use entity::{
    consent,
    enums::{
        AuditAction, ConsentPurpose, ReferralDirection, ReferralPriority, ReferralReason,
        ReferralStatus, ServiceCategory, TimelineKind,
    },
    mother, participant, referral, referral_event, visit,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::lifecycle::{self, Action, Transition};
use crate::{
    audit::{self, Actor, Event},
    auth::{Area, Principal},
    error::{ApiError, ApiResult},
    events::{self, Outbox},
    writes::{optional_text, referenced_organisation},
};

/// The `entity_type` of audit events about referrals.
pub(super) const ENTITY: &str = "referral";

/// The longest note on a referral or one of its events, in characters.
pub const NOTE_CHARS: usize = 4000;

/// Who changes referrals: the caller's principal, the actor its audit events name, and the
/// request's outbox for the events it writes.
pub struct Writer<'a> {
    pub principal: &'a Principal,
    pub actor: Actor,
    pub outbox: &'a Outbox,
}

impl Writer<'_> {
    fn organisation(&self) -> Uuid {
        self.principal.organisation.id
    }
}

/// A new outbound referral, decoded but not yet checked against the database.
pub struct NewReferral {
    pub project_id: Uuid,
    pub participant_id: Uuid,
    pub receiver_organisation_id: Uuid,
    pub service_category: ServiceCategory,
    pub mother_id: Option<Uuid>,
    pub visit_id: Option<Uuid>,
    pub note: Option<String>,
    pub service_id: Option<Uuid>,
}

/// A transition asked for by a client.
pub struct TransitionRequest {
    pub id: Uuid,
    pub version: i32,
    pub action: Action,
    pub reason: Option<ReferralReason>,
    pub outcome: Option<entity::enums::ReferralOutcome>,
    pub note: Option<String>,
}

/// Creates an outbound referral as a draft with its first timeline event (none -> draft).
/// The project's write rule decides (`NOT_FOUND` / `FORBIDDEN`); the requester is the
/// project's operator, so the referral stays with the project whoever typed it in. The
/// participant must be visible and of that project, mother and visit of that project, the
/// receiver an existing organisation (`BAD_USER_INPUT` naming the field otherwise).
#[tracing::instrument(skip_all, fields(project = %new.project_id))]
pub async fn create(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    new: NewReferral,
) -> ApiResult<referral::Model> {
    let project = by
        .principal
        .may_write_in_project(db, Area::Referrals, new.project_id)
        .await?;
    let note = optional_text(new.note.as_deref(), "input.note", NOTE_CHARS)?;
    let participant = participant::Entity::find()
        .filter(participant::Column::Id.eq(new.participant_id))
        .filter(by.principal.row_filter::<participant::Entity>())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::validation("input.participantId", "no participant has this id"))?;
    if participant.project_id != Some(project.id) {
        return Err(ApiError::validation(
            "input.participantId",
            "the participant belongs to another project; refer her from her own project",
        ));
    }
    referenced_organisation(
        db,
        new.receiver_organisation_id,
        "input.receiverOrganisationId",
    )
    .await?;
    if let Some(mother_id) = new.mother_id {
        let found = mother::Entity::find_by_id(mother_id)
            .filter(mother::Column::ProjectId.eq(project.id))
            .one(db)
            .await?;
        if found.is_none() {
            return Err(ApiError::validation(
                "input.motherId",
                "no mother of this project has this id",
            ));
        }
    }
    if let Some(visit_id) = new.visit_id {
        let found = visit::Entity::find_by_id(visit_id)
            .filter(visit::Column::ProjectId.eq(project.id))
            .one(db)
            .await?;
        if found.is_none() {
            return Err(ApiError::validation(
                "input.visitId",
                "no visit of this project has this id",
            ));
        }
    }
    if let Some(service) = new.service_id {
        let (receiver, category) = (new.receiver_organisation_id, new.service_category);
        crate::directory::referenced_service(db, service, receiver, category, "input.serviceId")
            .await?;
    }
    let now = crate::db::now();
    let referral = referral::ActiveModel {
        id: Set(Uuid::now_v7()),
        direction: Set(ReferralDirection::Outbound),
        requester_organisation_id: Set(project.operator_organisation_id),
        receiver_organisation_id: Set(Some(new.receiver_organisation_id)),
        pool_municipality_code: Set(None),
        project_id: Set(Some(project.id)),
        participant_id: Set(participant.id),
        mother_id: Set(new.mother_id),
        visit_id: Set(new.visit_id),
        service_category: Set(new.service_category),
        priority: Set(ReferralPriority::Routine),
        service_id: Set(new.service_id),
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
    audit::record(
        db,
        &by.actor,
        [Event::new(AuditAction::Create, ENTITY, referral.id)
            .about_participant(referral.participant_id)
            .detail(format!(
                "draft from project {} to organisation {}",
                project.id, new.receiver_organisation_id
            ))],
    )
    .await?;
    Ok(referral)
}

/// Takes the referral's `version` for this transaction (see the module doc): `NOT_FOUND`
/// when the caller cannot see it, `CONFLICT` when someone changed it since `version`.
/// Returns the referral as it stands after the claim (version + 1).
pub(super) async fn claim_version(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
    version: i32,
) -> ApiResult<referral::Model> {
    let claimed = referral::Entity::update_many()
        .col_expr(
            referral::Column::Version,
            Expr::col(referral::Column::Version).add(1),
        )
        .filter(referral::Column::Id.eq(id))
        .filter(referral::Column::Version.eq(version))
        .filter(principal.row_filter::<referral::Entity>())
        .exec(db)
        .await?
        .rows_affected;
    let current = referral::Entity::find_by_id(id)
        .filter(principal.row_filter::<referral::Entity>())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("referral".into()))?;
    if claimed == 0 {
        return Err(ApiError::Conflict(format!(
            "the referral changed since version {version} (it is at version {}); reload it",
            current.version
        )));
    }
    Ok(current)
}

/// Moves a referral one step through the lifecycle (`transitionReferral`).
#[tracing::instrument(skip_all, fields(referral = %request.id, action = ?request.action))]
pub async fn transition(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    request: TransitionRequest,
) -> ApiResult<referral::Model> {
    let note = optional_text(request.note.as_deref(), "input.note", NOTE_CHARS)?;
    let current = claim_version(db, by.principal, request.id, request.version).await?;
    let sides = by.principal.referral_sides(&current)?;
    let step = lifecycle::decide(
        current.status,
        request.action,
        &sides,
        request.reason,
        request.outcome,
    )?;
    if request.action == Action::Request {
        require_live_consent(db, &current).await?;
    }
    apply(db, by, current, step, note).await
}

/// `REQUEST`'s consent rule (module doc).
async fn require_live_consent(
    db: &impl ConnectionTrait,
    referral: &referral::Model,
) -> ApiResult<()> {
    if referral.direction == ReferralDirection::Inbound {
        require_contact_consent(db, referral.participant_id).await?;
    }
    let Some(receiver) = referral.receiver_organisation_id else {
        return Ok(());
    };
    let live = consent::Entity::find()
        .filter(consent::Column::ParticipantId.eq(referral.participant_id))
        .filter(consent::Column::Purpose.eq(ConsentPurpose::ShareWithReceiver))
        .filter(consent::Column::ReceiverOrganisationId.eq(receiver))
        .filter(crate::auth::access::live_consent(crate::db::now()))
        .one(db)
        .await?;
    match live {
        Some(_) => Ok(()),
        None => Err(ApiError::forbidden(
            "the participant has no live consent to share her data with the receiver; record \
             it with recordConsent (purpose SHARE_WITH_RECEIVER, that receiver) before REQUEST",
        )),
    }
}

/// An inbound referral sends her to the programme, which will contact her: her live
/// `CONTACT` consent first.
async fn require_contact_consent(db: &impl ConnectionTrait, participant: Uuid) -> ApiResult<()> {
    let live = consent::Entity::find()
        .filter(consent::Column::ParticipantId.eq(participant))
        .filter(consent::Column::Purpose.eq(ConsentPurpose::Contact))
        .filter(crate::auth::access::live_consent(crate::db::now()))
        .one(db)
        .await?;
    match live {
        Some(_) => Ok(()),
        None => Err(ApiError::forbidden(
            "she has no live consent to be contacted by the programme; record it with \
             recordConsent (purpose CONTACT) before REQUEST",
        )),
    }
}

/// Writes a decided step on a referral whose version this transaction has claimed: the new
/// status with its reason, outcome and milestone times, the timeline event and the audit
/// event.
async fn apply(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    current: referral::Model,
    step: Transition,
    note: Option<String>,
) -> ApiResult<referral::Model> {
    let now = crate::db::now();
    let mut row: referral::ActiveModel = current.into();
    row.status = Set(step.to);
    row.status_reason = Set(step.reason);
    row.outcome = Set(step.outcome);
    match step.to {
        ReferralStatus::Requested => row.requested_at = Set(Some(now)),
        ReferralStatus::Accepted => row.accepted_at = Set(Some(now)),
        to if lifecycle::is_final(to) => row.closed_at = Set(Some(now)),
        _ => {}
    }
    row.updated_at = Set(now);
    let referral = row.update(db).await?;
    let entry = Entry {
        from: Some(step.from),
        to: step.to,
        kind: TimelineKind::Transition,
        reason: step.reason,
        note,
    };
    insert_event(db, by, &referral, entry).await?;
    audit::record(
        db,
        &by.actor,
        [Event::new(AuditAction::Transition, ENTITY, referral.id)
            .about_participant(referral.participant_id)
            .detail(format!(
                "{} -> {}",
                lifecycle::status_name(step.from),
                lifecycle::status_name(step.to)
            ))],
    )
    .await?;
    Ok(referral)
}

/// One timeline entry about to be written.
pub(super) struct Entry {
    pub from: Option<ReferralStatus>,
    pub to: ReferralStatus,
    pub kind: TimelineKind,
    pub reason: Option<ReferralReason>,
    pub note: Option<String>,
}

impl Entry {
    /// The first entry of every referral: none -> draft.
    pub(super) fn created() -> Self {
        Self {
            from: None,
            to: ReferralStatus::Draft,
            kind: TimelineKind::Transition,
            reason: None,
            note: None,
        }
    }
}

/// Appends one event to the referral's timeline, numbered after the last one, queues it for
/// the webhooks of everyone who may see the referral as it now stands, and announces it to
/// subscriptions.
pub(super) async fn insert_event(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    referral: &referral::Model,
    entry: Entry,
) -> ApiResult<referral_event::Model> {
    let last: Option<i32> = referral_event::Entity::find()
        .select_only()
        .column(referral_event::Column::Sequence)
        .filter(referral_event::Column::ReferralId.eq(referral.id))
        .order_by_desc(referral_event::Column::Sequence)
        .into_tuple()
        .one(db)
        .await?;
    let now = crate::db::now();
    let event = referral_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        referral_id: Set(referral.id),
        sequence: Set(last.unwrap_or(0) + 1),
        actor_organisation_id: Set(by.organisation()),
        actor_client_id: Set(by.actor.client_id),
        from_status: Set(entry.from),
        to_status: Set(entry.to),
        kind: Set(entry.kind),
        reason: Set(entry.reason),
        note: Set(entry.note),
        occurred_at: Set(now),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    crate::webhooks::enqueue(db, referral, &event).await?;
    events::announce(db, by.outbox, event.id).await?;
    Ok(event)
}

/// Cancels every open referral of `participant` to `receiver` with the reason
/// `CONSENT_WITHDRAWN`: her withdrawal is her right, so no side or table check applies
/// beyond "open". Each referral gets its version bump and timeline event; a referral
/// changed concurrently makes the whole withdrawal `CONFLICT` (retry it). Returns how many
/// were cancelled.
pub async fn cancel_for_withdrawn_consent(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    participant_id: Uuid,
    receiver: Uuid,
) -> ApiResult<usize> {
    cancel_open(db, by, participant_id, Some(receiver)).await
}

/// Cancels every open referral about her, whoever receives it, with `CONSENT_WITHDRAWN`:
/// her erasure withdraws every consent at once (the same rules as a single withdrawal).
pub async fn cancel_for_erasure(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    participant_id: Uuid,
) -> ApiResult<usize> {
    cancel_open(db, by, participant_id, None).await
}

async fn cancel_open(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    participant_id: Uuid,
    receiver: Option<Uuid>,
) -> ApiResult<usize> {
    let mut open = referral::Entity::find()
        .filter(referral::Column::ParticipantId.eq(participant_id))
        .filter(referral::Column::Status.is_in(lifecycle::OPEN));
    if let Some(receiver) = receiver {
        open = open.filter(referral::Column::ReceiverOrganisationId.eq(receiver));
    }
    let open = open.all(db).await?;
    let count = open.len();
    for referral in open {
        let claimed = referral::Entity::update_many()
            .col_expr(
                referral::Column::Version,
                Expr::col(referral::Column::Version).add(1),
            )
            .filter(referral::Column::Id.eq(referral.id))
            .filter(referral::Column::Version.eq(referral.version))
            .exec(db)
            .await?
            .rows_affected;
        if claimed == 0 {
            return Err(ApiError::Conflict(
                "a referral of this participant changed while her consent was withdrawn; retry"
                    .into(),
            ));
        }
        let step = Transition {
            from: referral.status,
            to: ReferralStatus::Cancelled,
            reason: Some(ReferralReason::ConsentWithdrawn),
            outcome: None,
        };
        let mut current = referral;
        current.version += 1;
        apply(db, by, current, step, None).await?;
    }
    Ok(count)
}
