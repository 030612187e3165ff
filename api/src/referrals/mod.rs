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
mod object;
pub mod subscription;
pub mod write;

pub use graphql::ReferralMutation;
pub use subscription::ReferralSubscription;

use crate::pagination::{RangeEnd, SortDirection, within};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Duration, Utc};
use entity::{mother, participant, project, referral, referral_event};
use sea_orm::{ColumnTrait, Condition, QueryFilter, Select};
use uuid::Uuid;

use crate::{
    auth::{Principal, access},
    child_of,
    context::RequestContext,
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    loaders::load_by_id,
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    planned, points_at,
    vocabulary::{
        ReferralDirection, ReferralPriority, ReferralReason, ReferralStatus, ServiceCategory,
    },
};

child_of!(EventsOfReferral: referral_event by ReferralId ordered by Sequence);

pub struct Referral(pub referral::Model);

/// What one referral (`node`, `referral`) reads in its own statement when its selection asks
/// for it (`crate::planned`): a webhook consumer's `node` shows all three. A page of referrals
/// keeps its loaders: its mothers and projects repeat from row to row, and under callgrind a
/// joined inbox page took 6 % (participant only) to 10 % (all three) more instructions than
/// the loaders for one to three statements fewer, and served 13 % fewer requests
/// (api/benches/RESULTS.md, 2026-12-06 evening).
type Pointed = (participant::Entity, mother::Entity, project::Entity);

points_at!(referral =>
    "participant": participant by ParticipantId,
    "mother": mother by MotherId,
    "project": project by ProjectId,
);

/// One referral by id (`referral`, `node`), with what its selection asks for read alongside.
pub async fn one(ctx: &Context<'_>, id: Uuid) -> ApiResult<Option<Referral>> {
    let found = planned::one::<referral::Entity, Pointed>(ctx, id).await?;
    Ok(found.map(Referral))
}

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
        let id = ids::decode_as(&id, Kind::Referral, "id")?;
        Ok(one(ctx, id).await?)
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
