//! Messages on a referral: a thread between requester and performer beside the timeline
//! ("we tried her twice", "she prefers mornings"). A message is a timeline row of kind
//! `message` whose status stays, so it shares everything a timeline note has: the
//! personal-data rule (with the author reading its own words), the read audit, erasure,
//! the export, and the push of ids to webhooks (`referral.message`) and subscriptions.
//!
//! Invariants: only a party (requester or performer, `referrals:write`) posts; a draft has no
//! counterpart yet, so it takes no message; the body is 1 to 4000 characters; posting bumps
//! the referral's `updated_at` (incremental sync sees the thread grow) but not its `version`
//! (a message never conflicts with a transition).

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::{
    enums::{AuditAction, ReferralStatus, TimelineKind},
    referral, referral_event,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::write::{ENTITY, Entry, NOTE_CHARS, Writer, insert_event};
use crate::{
    audit::{self, Event},
    error::{ApiError, ApiResult},
    ids::Kind,
    loaders::load_by_id,
    organisations::Organisation,
    writes::required_text,
};

/// Posts `body` on the referral `id` (`postReferralMessage`).
#[tracing::instrument(skip_all, fields(referral = %id))]
pub async fn post(
    db: &impl ConnectionTrait,
    by: &Writer<'_>,
    id: Uuid,
    body: &str,
) -> ApiResult<referral_event::Model> {
    let body = required_text(body, "input.body", NOTE_CHARS)?;
    let current = referral::Entity::find_by_id(id)
        .filter(by.principal.row_filter::<referral::Entity>())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("referral".into()))?;
    if by.principal.referral_sides(&current)?.is_empty() {
        return Err(ApiError::forbidden(
            "only the requester and the performer of a referral write to its thread",
        ));
    }
    if current.status == ReferralStatus::Draft {
        return Err(ApiError::InvalidTransition(
            "a draft has no counterpart yet; REQUEST it first".into(),
        ));
    }
    let mut row: referral::ActiveModel = current.clone().into();
    row.updated_at = Set(crate::db::now());
    let referral = row.update(db).await?;
    let entry = Entry {
        from: Some(referral.status),
        to: referral.status,
        kind: TimelineKind::Message,
        reason: None,
        note: Some(body),
    };
    let message = insert_event(db, by, &referral, entry).await?;
    audit::record(
        db,
        &by.actor,
        [Event::new(AuditAction::Create, ENTITY, referral.id)
            .about_participant(referral.participant_id)
            .detail("message posted")],
    )
    .await?;
    Ok(message)
}

/// One message of a referral's thread.
pub struct ReferralMessage(pub referral_event::Model);

/// One message in the thread between a referral's requester and its performer.
#[Object]
impl ReferralMessage {
    /// The message's global id.
    pub async fn id(&self) -> ID {
        Kind::ReferralEvent.id(self.0.id)
    }
    /// The organisation that wrote it.
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let author = load_by_id::<entity::organisation::Entity>(ctx, self.0.actor_organisation_id);
        Ok(author.await?.map(Organisation))
    }
    /// The text: personal data about her, under the participant's personal-data rule (its
    /// author always reads it), otherwise `null` with `FORBIDDEN`; every read is audited.
    async fn body(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        super::note_on_timeline(ctx, &self.0).await
    }
    /// When it was posted.
    async fn sent_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
}
