//! Referrals: bridge building between a project and a receiving organisation, both ways,
//! with their timeline of events.
//!
//! The lifecycle follows the HL7 SDOH referral Task statuses; every transition is a
//! `ReferralEvent` (who, when, from, to, reason, note). `version` guards concurrent edits.
//! The table is [`lifecycle`], the changes are [`write`] (data functions) and [`graphql`]
//! (the mutations); [`subscription`] pushes timeline events to the organisations involved.

pub mod graphql;
pub mod handover;
pub mod inbound;
pub mod lifecycle;
pub mod messages;
pub mod subscription;
pub mod write;

pub use graphql::ReferralMutation;
pub use subscription::ReferralSubscription;

use crate::pagination::{RangeEnd, SortDirection, within};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Duration, Utc};
use entity::{
    mother, organisation, participant, project, referral, referral_event, service, visit,
};
use sea_orm::{ColumnTrait, Condition, QueryFilter, Select};

use crate::{
    auth::{Principal, access},
    child_of,
    context::RequestContext,
    directory::Service,
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    loaders::lookup,
    loaders::{load_by_id, load_children},
    mothers::Mother,
    organisations::{Municipality, Organisation, municipality_by_code},
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    participants::Participant,
    projects::Project,
    visits::Visit,
    vocabulary::{
        ReferralDirection, ReferralOutcome, ReferralPriority, ReferralReason, ReferralStatus,
        ServiceCategory, TimelineKind,
    },
};
use lifecycle::Action;

child_of!(EventsOfReferral: referral_event by ReferralId ordered by Sequence);

pub struct Referral(pub referral::Model);

/// How long a receiver has to answer a requested referral (`--referral-response-days`).
/// Schema data, so the `isStale`/`respondBy` fields and the `stale` filter share one rule.
#[derive(Debug, Clone, Copy)]
pub struct ReferralPolicy {
    pub response_time: Duration,
}

impl ReferralPolicy {
    /// The programme's agreed default: two weeks.
    pub const DEFAULT_RESPONSE_DAYS: u16 = 14;

    pub fn with_response_days(days: u16) -> Self {
        Self {
            response_time: Duration::days(i64::from(days)),
        }
    }

    /// Requested before this instant and still requested means stale. Computed here and
    /// bound as a value, so the filter needs no SQL date arithmetic and runs on every backend.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.response_time
    }

    /// The answer is due `response_time` after the request; only a requested referral waits.
    fn respond_by(&self, referral: &referral::Model) -> Option<DateTime<Utc>> {
        let requested = referral.status == entity::enums::ReferralStatus::Requested;
        referral
            .requested_at
            .filter(|_| requested)
            .map(|at| at + self.response_time)
    }

    fn is_stale(&self, referral: &referral::Model, now: DateTime<Utc>) -> bool {
        self.respond_by(referral).is_some_and(|due| due < now)
    }
}

impl Default for ReferralPolicy {
    fn default() -> Self {
        Self::with_response_days(Self::DEFAULT_RESPONSE_DAYS)
    }
}

/// The policy the schema was built with.
pub(crate) fn policy<'c>(ctx: &'c Context<'_>) -> ApiResult<&'c ReferralPolicy> {
    ctx.data_opt::<ReferralPolicy>()
        .ok_or_else(|| ApiError::internal("schema built without a referral policy"))
}

/// The SQL twin of [`ReferralPolicy::is_stale`]: requested, and requested before `cutoff`.
pub(crate) fn stale_condition(cutoff: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(referral::Column::Status.eq(entity::enums::ReferralStatus::Requested))
        .add(referral::Column::RequestedAt.lt(cutoff))
}

/// Its negation, spelled out so a missing `requested_at` counts as not stale (SQL's NOT
/// over a NULL comparison would drop the row instead).
fn fresh_condition(cutoff: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(referral::Column::Status.ne(entity::enums::ReferralStatus::Requested))
        .add(referral::Column::RequestedAt.is_null())
        .add(referral::Column::RequestedAt.gte(cutoff))
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

/// The note of a timeline row (a step's note or a message's body) under the note rule of
/// [`access::referral_note`]: the rule runs whether or not there is a note, so a refused
/// reader cannot tell which rows carry one.
pub(crate) async fn note_on_timeline<'a>(
    ctx: &Context<'_>,
    row: &'a referral_event::Model,
) -> async_graphql::Result<Option<&'a str>> {
    let referral = load_by_id::<referral::Entity>(ctx, row.referral_id).await?;
    let participant = referral
        .map(|r| r.participant_id)
        .ok_or_else(|| ApiError::forbidden("the referral of this timeline row is not visible"))?;
    access::referral_note(ctx, participant, row.actor_organisation_id).await?;
    Ok(row.note.as_deref())
}

/// One step on a referral's timeline.
pub struct ReferralEvent(pub referral_event::Model);

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

/// Conditions on the referrals listed; every one given must hold.
#[derive(InputObject, Default)]
pub struct ReferralFilter {
    /// Only referrals in one of these statuses.
    pub status: Option<Vec<ReferralStatus>>,
    /// Only OUTBOUND or only INBOUND referrals.
    pub direction: Option<ReferralDirection>,
    /// Only referrals addressed to this organisation.
    pub receiver_organisation_id: Option<ID>,
    /// Only referrals made by this organisation.
    pub requester_organisation_id: Option<ID>,
    /// Only referrals of this project.
    pub project_id: Option<ID>,
    /// Only referrals about this participant.
    pub participant_id: Option<ID>,
    /// Only referrals asking for one of these services.
    pub service_category: Option<Vec<ServiceCategory>>,
    /// Only referrals changed at or after this time (for incremental sync).
    pub updated_since: Option<DateTime<Utc>>,
    /// true: only referrals requested longer ago than the response time and still
    /// unanswered (`isStale`); false: only the others.
    pub stale: Option<bool>,
    /// Only referrals of these priorities (any of them).
    pub priority: Option<Vec<ReferralPriority>>,
    /// Only referrals created at or after this time.
    pub created_from: Option<DateTime<Utc>>,
    /// Only referrals created before this time (not at it), so consecutive ranges never overlap.
    pub created_before: Option<DateTime<Utc>>,
}

/// List order. UPDATED_AT is oldest change first, for incremental sync.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum ReferralOrder {
    /// Newest referral first (the default).
    #[default]
    CreatedAt,
    /// Oldest change first (`updatedAt`, then id): for incremental sync with `updatedSince`;
    /// a record changed while you page moves behind your cursor.
    UpdatedAt,
}

impl ReferralOrder {
    fn ordering(self) -> Ordering<referral::Entity> {
        use referral::Column::{Id, UpdatedAt};
        match self {
            Self::CreatedAt => Ordering::descending("created_at", referral::Column::CreatedAt, Id),
            Self::UpdatedAt => Ordering::by_update(UpdatedAt, Id),
        }
    }
}

/// The visible referrals matching `filter`; `cutoff` is the policy's stale cutoff for now.
fn filtered(
    principal: &Principal,
    filter: ReferralFilter,
    cutoff: DateTime<Utc>,
) -> ApiResult<Select<referral::Entity>> {
    let mut query = principal.read::<referral::Entity>()?;
    match filter.stale {
        Some(true) => query = query.filter(stale_condition(cutoff)),
        Some(false) => query = query.filter(fresh_condition(cutoff)),
        None => {}
    }
    if let Some(status) = filter.status {
        let status: Vec<entity::enums::ReferralStatus> =
            crate::inputs::distinct(status.into_iter().map(Into::into).collect());
        query = query.filter(referral::Column::Status.is_in(status));
    }
    if let Some(direction) = filter.direction {
        let direction = entity::enums::ReferralDirection::from(direction);
        query = query.filter(referral::Column::Direction.eq(direction));
    }
    if let Some(receiver) = filter.receiver_organisation_id {
        let receiver = ids::decode_as(
            &receiver,
            Kind::Organisation,
            "filter.receiverOrganisationId",
        )?;
        query = query.filter(referral::Column::ReceiverOrganisationId.eq(receiver));
    }
    if let Some(requester) = filter.requester_organisation_id {
        let requester = ids::decode_as(
            &requester,
            Kind::Organisation,
            "filter.requesterOrganisationId",
        )?;
        query = query.filter(referral::Column::RequesterOrganisationId.eq(requester));
    }
    if let Some(project) = filter.project_id {
        let project = ids::decode_as(&project, Kind::Project, "filter.projectId")?;
        query = query.filter(referral::Column::ProjectId.eq(project));
    }
    if let Some(participant) = filter.participant_id {
        let participant = ids::decode_as(&participant, Kind::Participant, "filter.participantId")?;
        query = query.filter(referral::Column::ParticipantId.eq(participant));
    }
    if let Some(categories) = filter.service_category {
        let categories: Vec<entity::enums::ServiceCategory> =
            crate::inputs::distinct(categories.into_iter().map(Into::into).collect());
        query = query.filter(referral::Column::ServiceCategory.is_in(categories));
    }
    if let Some(priorities) = filter.priority {
        let priorities: Vec<entity::enums::ReferralPriority> =
            crate::inputs::distinct(priorities.into_iter().map(Into::into).collect());
        query = query.filter(referral::Column::Priority.is_in(priorities));
    }
    let created = (filter.created_from, filter.created_before);
    let query = within(
        query,
        referral::Column::CreatedAt,
        created,
        RangeEnd::Exclusive,
        "filter.createdBefore",
    )?;
    Ok(updated_since(
        query,
        referral::Column::UpdatedAt,
        filter.updated_since,
    ))
}

/// One page of the referrals the caller sees that match `filter`: the shape of
/// `Query.referrals` and of `Participant.referrals` (which fixes `participantId`).
pub async fn list(
    ctx: &Context<'_>,
    filter: ReferralFilter,
    order_by: Option<ReferralOrder>,
    args: PageArgs,
) -> ApiResult<ListConnection<Referral>> {
    let cutoff = policy(ctx)?.cutoff(crate::db::now());
    let query = filtered(ctx.principal()?, filter, cutoff)?;
    let ordering = order_by.unwrap_or_default().ordering();
    connection(ctx.db()?, query, ordering, args, Referral).await
}

/// One action of the referral lifecycle and the reasons it takes, so a client can build its
/// forms from the server's own table ([`lifecycle`]).
pub struct ReferralActionRule(lifecycle::Action);

/// One action of the referral lifecycle and the reasons it takes (`referralActions`).
#[Object]
impl ReferralActionRule {
    /// The action, as `transitionReferral` takes it.
    async fn action(&self) -> lifecycle::Action {
        self.0
    }
    /// The reasons this action accepts; empty when it takes none.
    async fn reasons(&self) -> Vec<ReferralReason> {
        self.0.reasons().iter().copied().map(Into::into).collect()
    }
    /// Whether the action needs one of `reasons` (otherwise a reason is optional when
    /// `reasons` is not empty, refused when it is).
    async fn reason_required(&self) -> bool {
        self.0.reason_required()
    }
}

#[derive(Default)]
pub struct ReferralQuery;

#[Object]
impl ReferralQuery {
    /// Referrals, newest first.
    #[allow(clippy::too_many_arguments)]
    async fn referrals(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all referrals the token may see."
        )]
        filter: Option<ReferralFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<ReferralOrder>,
        #[graphql(
            desc = "The direction of `orderBy`: ASC (A to Z, oldest first) or DESC. Left out: the order's own direction, as its values describe; a cursor works only in the direction it came from."
        )]
        direction: Option<SortDirection>,
        #[graphql(
            desc = "The first this many items (after `after`): 0 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.endCursor` or an edge's `cursor`) from this list in this order: the items after it."
        )]
        after: Option<String>,
        #[graphql(
            desc = "The last this many items (before `before`), for paging backwards: 0 to 100."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.startCursor` or an edge's `cursor`) from this list in this order: the items before it."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<Option<ListConnection<Referral>>> {
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        Ok(Some(
            list(ctx, filter.unwrap_or_default(), order_by, args).await?,
        ))
    }

    /// One referral by id (`referrals:read`); `null` when there is none the token may see.
    async fn referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The referral's id (`Referral.id`).")] id: ID,
    ) -> async_graphql::Result<Option<Referral>> {
        Ok(lookup::<referral::Entity, _>(ctx, &id, Kind::Referral, Referral).await?)
    }

    /// The lifecycle's actions in table order, each with the reasons it takes: reference
    /// data, readable with any valid token.
    async fn referral_actions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<ReferralActionRule>> {
        ctx.principal()?;
        Ok(lifecycle::Action::ALL
            .into_iter()
            .map(ReferralActionRule)
            .collect())
    }
}
