//! The GraphQL fields of a referral and its timeline events: the participant (personal data
//! through `auth::access`), the sender and receiver, the project, the visits, the actions the
//! caller may take. The types and the `referrals` query are in `referrals`; the fields here reach
//! into the areas they link to, so the area's own module imports none of them.

use super::lifecycle::Action;
use crate::{
    auth::access,
    context::RequestContext,
    directory::Service,
    error::ApiResult,
    ids::Kind,
    loaders::{load_by_id, load_children},
    mothers::Mother,
    organisations::{Municipality, Organisation, municipality_by_code},
    participants::Participant,
    projects::Project,
    visits::Visit,
    vocabulary::{
        ReferralDirection, ReferralOutcome, ReferralPriority, ReferralReason, ReferralStatus,
        ServiceCategory, TimelineKind,
    },
};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::{mother, organisation, participant, project, service, visit};

use super::{
    EventsOfReferral, Referral, ReferralEvent, handover, lifecycle, messages, note_on_timeline,
    policy,
};

/// Bridge building: a referral of a participant to a receiving organisation's service
/// (OUTBOUND), or of a woman by a municipality to the programme (INBOUND, to a project or a
/// municipality-wide pool). It follows the HL7 SDOH referral lifecycle; every transition is an
/// event on its timeline. Seen by the secretariat, its requester, its receiver and those
/// running its project (`referrals:read`); her personal data only under her consent.
#[Object]
impl Referral {
    /// The referral's global id.
    pub async fn id(&self) -> ID {
        Kind::Referral.id(self.0.id)
    }
    /// OUTBOUND (a project refers her to a service) or INBOUND (a municipality refers her to
    /// the programme).
    async fn direction(&self) -> ReferralDirection {
        self.0.direction.into()
    }
    /// Where it stands in its lifecycle.
    async fn status(&self) -> ReferralStatus {
        self.0.status.into()
    }
    /// How soon it should be acted on.
    async fn priority(&self) -> ReferralPriority {
        self.0.priority.into()
    }
    /// The lifecycle actions this caller may take now with `transitionReferral` (empty
    /// without `referrals:write`), so no client copies the lifecycle table.
    async fn available_actions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Action>> {
        let Ok(sides) = ctx.principal()?.referral_sides(&self.0) else {
            return Ok(Vec::new());
        };
        Ok(lifecycle::allowed_actions(self.0.status, &sides))
    }
    /// The handovers this caller may make now (claim, release, forward), each its own
    /// mutation; empty without `referrals:write`.
    async fn available_handovers(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<handover::Handover>> {
        let Ok(sides) = ctx.principal()?.referral_sides(&self.0) else {
            return Ok(Vec::new());
        };
        let claimable = match self.0.pool_municipality_code {
            Some(code) if self.0.receiver_organisation_id.is_none() => {
                access::may_claim_in(ctx, code).await?
            }
            _ => false,
        };
        Ok(handover::available(&self.0, &sides, claimable))
    }
    /// Why it was rejected, failed or cancelled.
    async fn status_reason(&self) -> Option<ReferralReason> {
        self.0.status_reason.map(Into::into)
    }
    /// What came of it, once completed.
    async fn outcome(&self) -> Option<ReferralOutcome> {
        self.0.outcome.map(Into::into)
    }
    /// The kind of service asked for.
    async fn service_category(&self) -> ServiceCategory {
        self.0.service_category.into()
    }
    /// The directory service asked for, when the requester named one.
    async fn service(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Service>> {
        let Some(service) = self.0.service_id else {
            return Ok(None);
        };
        Ok(load_by_id::<service::Entity>(ctx, service)
            .await?
            .map(Service))
    }
    /// Free text about her: personal data, under the participant's personal-data rule; the
    /// requester, which wrote it, always reads it. Otherwise `null` with `FORBIDDEN`; every
    /// read is audited.
    async fn note(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        let author = self.0.requester_organisation_id;
        access::referral_note(ctx, self.0.participant_id, author).await?;
        Ok(self.0.note.as_deref())
    }
    /// Optimistic-concurrency version: send it back with a transition.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was sent to the receiver (left DRAFT); `null` while a draft.
    async fn requested_at(&self) -> Option<DateTime<Utc>> {
        self.0.requested_at
    }
    /// Requested and unanswered for longer than the configured response time.
    async fn is_stale(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        Ok(policy(ctx)?.is_stale(&self.0, crate::db::now()))
    }
    /// When the receiver's answer is due; `null` unless the referral is requested.
    async fn respond_by(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DateTime<Utc>>> {
        Ok(policy(ctx)?.respond_by(&self.0))
    }
    /// When the receiver accepted it; `null` until then, and again after a release or a
    /// forward (the next holder decides afresh).
    async fn accepted_at(&self) -> Option<DateTime<Utc>> {
        self.0.accepted_at
    }
    /// When it reached a final status (completed, rejected, failed, cancelled, entered in
    /// error); `null` while open.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// The organisation that made the referral.
    async fn requester(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        Ok(organisation(ctx, Some(self.0.requester_organisation_id)).await?)
    }
    /// The organisation asked to act; `null` while an inbound referral waits in a pool.
    async fn receiver(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        Ok(organisation(ctx, self.0.receiver_organisation_id).await?)
    }
    /// For an inbound referral into a municipality-wide pool: that municipality.
    async fn pool_municipality(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Municipality>> {
        Ok(municipality_by_code(ctx, self.0.pool_municipality_code).await?)
    }
    /// The project that made it (OUTBOUND) or that handles it (INBOUND, once claimed); `null`
    /// for an inbound referral still in a pool.
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        let Some(project) = self.0.project_id else {
            return Ok(None);
        };
        Ok(load_by_id::<project::Entity>(ctx, project)
            .await?
            .map(Project))
    }
    /// The woman it is about. Her pseudonym is always shown; her personal fields follow her
    /// personal-data rule (for the receiver, her live consent to share with it).
    async fn participant(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Participant>> {
        let participant = load_by_id::<participant::Entity>(ctx, self.0.participant_id);
        Ok(participant.await?.map(Participant))
    }
    /// The mother who made or handles the referral.
    async fn mother(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Mother>> {
        let Some(mother) = self.0.mother_id else {
            return Ok(None);
        };
        Ok(load_by_id::<mother::Entity>(ctx, mother).await?.map(Mother))
    }
    /// The visit the referral came out of.
    async fn visit(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Visit>> {
        let Some(visit) = self.0.visit_id else {
            return Ok(None);
        };
        Ok(load_by_id::<visit::Entity>(ctx, visit).await?.map(Visit))
    }
    /// The timeline, oldest event first.
    async fn events(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<ReferralEvent>>> {
        let rows = load_children::<EventsOfReferral>(ctx, self.0.id).await?;
        let steps = rows
            .into_iter()
            .filter(|e| e.kind != entity::enums::TimelineKind::Message);
        Ok(Some(steps.map(ReferralEvent).collect()))
    }
    /// The thread between requester and performer, oldest first (`postReferralMessage`).
    async fn messages(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<messages::ReferralMessage>>> {
        let rows = load_children::<EventsOfReferral>(ctx, self.0.id).await?;
        let thread = rows
            .into_iter()
            .filter(|e| e.kind == entity::enums::TimelineKind::Message);
        Ok(Some(thread.map(messages::ReferralMessage).collect()))
    }
    /// When it was created (as a draft, or inbound).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed (for incremental sync).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One step on a referral's timeline: a status change or a handover, who made it, when, with
/// its reason and note.
#[Object]
impl ReferralEvent {
    /// The event's global id.
    pub async fn id(&self) -> ID {
        Kind::ReferralEvent.id(self.0.id)
    }
    /// Position on the timeline, from 1.
    async fn sequence(&self) -> i32 {
        self.0.sequence
    }
    /// `null` for the event that created the referral.
    async fn from_status(&self) -> Option<ReferralStatus> {
        self.0.from_status.map(Into::into)
    }
    /// The referral's status after the event.
    async fn to_status(&self) -> ReferralStatus {
        self.0.to_status.into()
    }
    /// A status change, or a handover (claim, release, forward) of who holds the referral.
    async fn kind(&self) -> TimelineKind {
        self.0.kind.into()
    }
    /// Why (for a rejection, failure or cancellation, or a release); `null` otherwise.
    async fn reason(&self) -> Option<ReferralReason> {
        self.0.reason.map(Into::into)
    }
    /// Free text about her: personal data, under the participant's personal-data rule; the
    /// organisation that made the move (`actor`), which wrote it, always reads it. Otherwise
    /// `null` with `FORBIDDEN`; every read is audited.
    async fn note(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        // The rule runs whether or not there is a note, so a refused reader cannot tell
        // which events carry one.
        note_on_timeline(ctx, &self.0).await
    }
    /// When it happened.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// The organisation whose system made the move.
    async fn actor(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        Ok(organisation(ctx, Some(self.0.actor_organisation_id)).await?)
    }
}

async fn organisation(
    ctx: &Context<'_>,
    id: Option<uuid::Uuid>,
) -> ApiResult<Option<Organisation>> {
    let Some(id) = id else { return Ok(None) };
    Ok(load_by_id::<organisation::Entity>(ctx, id)
        .await?
        .map(Organisation))
}
