//! Visits: a mother's activities (home visits, calls, group events, accompaniment).
//!
//! Anonymous by default, as the programme's own conversation form is: a visit names a
//! participant only when there is a reason (a referral came out of it).
//!
//! Reading is here; writing (record, correct, delete within a grace period, bulk import) is in
//! [`write`] (data functions) and [`mutation`] (resolvers).

mod mutation;
mod object;
pub mod tally;
pub mod write;

pub use mutation::VisitMutation;

use crate::pagination::SortDirection;
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{visit, visit_topic};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Select};

use crate::{
    auth::Principal,
    child_of,
    context::RequestContext,
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    loaders::lookup,
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    vocabulary::{VisitChannel, VisitTopic},
};

child_of!(TopicsOfVisit: visit_topic by VisitId ordered by Topic);

pub struct Visit(pub visit::Model);

/// Conditions on the visits listed; every one given must hold.
#[derive(InputObject, Default)]
pub struct VisitFilter {
    /// Only visits of this project.
    pub project_id: Option<ID>,
    /// Only visits made by this mother.
    pub mother_id: Option<ID>,
    /// Only visits linked to this participant.
    pub participant_id: Option<ID>,
    /// The kind of visit.
    pub channel: Option<Vec<VisitChannel>>,
    /// Visits where this topic was discussed.
    pub topic: Option<VisitTopic>,
    /// Visits on or after this date.
    pub from: Option<NaiveDate>,
    /// Visits on or before this date.
    pub to: Option<NaiveDate>,
    /// Only visits changed at or after this time (for incremental sync).
    pub updated_since: Option<DateTime<Utc>>,
}

/// List order. UPDATED_AT is oldest change first, for incremental sync.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum VisitOrder {
    /// Most recent visit first (the default).
    #[default]
    VisitedOn,
    /// Oldest change first (`updatedAt`, then id): for incremental sync with `updatedSince`;
    /// a record changed while you page moves behind your cursor.
    UpdatedAt,
}

impl VisitOrder {
    fn ordering(self) -> Ordering<visit::Entity> {
        use visit::Column::{Id, UpdatedAt};
        match self {
            Self::VisitedOn => Ordering::descending("visited_on", visit::Column::VisitedOn, Id),
            Self::UpdatedAt => Ordering::by_update(UpdatedAt, Id),
        }
    }
}

fn filtered(principal: &Principal, filter: VisitFilter) -> ApiResult<Select<visit::Entity>> {
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ApiError::validation("filter.to", "`to` is before `from`"));
    }
    let mut query = principal.read::<visit::Entity>()?;
    if let Some(project) = filter.project_id {
        let project = ids::decode_as(&project, Kind::Project, "filter.projectId")?;
        query = query.filter(visit::Column::ProjectId.eq(project));
    }
    if let Some(mother) = filter.mother_id {
        let mother = ids::decode_as(&mother, Kind::Mother, "filter.motherId")?;
        query = query.filter(visit::Column::MotherId.eq(mother));
    }
    if let Some(participant) = filter.participant_id {
        let participant = ids::decode_as(&participant, Kind::Participant, "filter.participantId")?;
        query = query.filter(visit::Column::ParticipantId.eq(participant));
    }
    if let Some(channels) = filter.channel {
        let channels: Vec<entity::enums::VisitChannel> =
            crate::inputs::distinct(channels.into_iter().map(Into::into).collect());
        query = query.filter(visit::Column::Channel.is_in(channels));
    }
    if let Some(topic) = filter.topic {
        let with_topic = visit_topic::Entity::find()
            .select_only()
            .column(visit_topic::Column::VisitId)
            .filter(visit_topic::Column::Topic.eq(entity::enums::VisitTopic::from(topic)))
            .into_query();
        query = query.filter(visit::Column::Id.in_subquery(with_topic));
    }
    if let Some(from) = filter.from {
        query = query.filter(visit::Column::VisitedOn.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(visit::Column::VisitedOn.lte(to));
    }
    Ok(updated_since(
        query,
        visit::Column::UpdatedAt,
        filter.updated_since,
    ))
}

/// One page of the visits the caller sees that match `filter`: the shape of `Query.visits`
/// and of `Participant.visits` (which fixes `participantId`).
pub async fn list(
    ctx: &Context<'_>,
    filter: VisitFilter,
    order_by: Option<VisitOrder>,
    args: PageArgs,
) -> ApiResult<ListConnection<Visit>> {
    let query = filtered(ctx.principal()?, filter)?;
    let ordering = order_by.unwrap_or_default().ordering();
    connection(ctx.db()?, query, ordering, args, Visit).await
}

#[derive(Default)]
pub struct VisitQuery;

#[Object]
impl VisitQuery {
    /// Visits, most recent first.
    #[allow(clippy::too_many_arguments)]
    async fn visits(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all visits the token may see."
        )]
        filter: Option<VisitFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<VisitOrder>,
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
    ) -> async_graphql::Result<Option<ListConnection<Visit>>> {
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        Ok(Some(
            list(ctx, filter.unwrap_or_default(), order_by, args).await?,
        ))
    }

    /// One visit by id (`visits:read`); `null` when there is none the token may see.
    async fn visit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The visit's id (`Visit.id`).")] id: ID,
    ) -> async_graphql::Result<Option<Visit>> {
        Ok(lookup::<visit::Entity, _>(ctx, &id, Kind::Visit, Visit).await?)
    }
}
