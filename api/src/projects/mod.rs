//! Local neighbourhood-mothers projects: where they run, who operates and funds them, and the
//! mothers and courses under them. The secretariat's changes are [`write`] (data functions)
//! and [`mutation`] (the resolvers).

mod mutation;
pub mod write;

pub use mutation::ProjectMutation;

use crate::pagination::{RangeEnd, SortDirection, name_contains, within};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{mother, organisation, project, project_partner};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use crate::{
    auth::Principal,
    child_of,
    courses::Course,
    error::ApiResult,
    ids::{self, Kind},
    loaders::{load_by_id, load_children},
    mothers::Mother,
    node::lookup,
    organisations::{Municipality, Organisation, municipality_by_code},
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    schema::RequestContext,
    vocabulary::{MotherStatus, PartnerRole, ProjectStatus},
};

child_of!(PartnersOfProject: project_partner by ProjectId ordered by CreatedAt);
child_of!(MothersOfProject: mother by ProjectId ordered by JoinedOn);
child_of!(CoursesOfProject: course by ProjectId ordered by StartsOn);

pub struct Project(pub project::Model);

/// A local neighbourhood-mothers project in a municipality, operated by one organisation with
/// partner and funder organisations (`projects:read`).
#[Object]
impl Project {
    /// The project's global id.
    pub async fn id(&self) -> ID {
        Kind::Project.id(self.0.id)
    }
    /// The project's name (e.g. `Bydelsmødre Nørrebro`).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Planned, active, paused or closed.
    async fn status(&self) -> ProjectStatus {
        self.0.status.into()
    }
    /// The day the project started (or is to start, while PLANNED).
    async fn started_on(&self) -> NaiveDate {
        self.0.started_on
    }
    /// The day it ended; `null` while it runs.
    async fn ended_on(&self) -> Option<NaiveDate> {
        self.0.ended_on
    }
    /// Which corps the project runs: neighbourhood mothers, fathers or both.
    async fn corps(&self) -> crate::vocabulary::ProjectCorps {
        self.0.corps.into()
    }
    /// The municipality the project works in.
    async fn municipality(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Municipality>> {
        Ok(municipality_by_code(ctx, Some(self.0.municipality_code)).await?)
    }
    /// The organisation that runs the project.
    async fn operator(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let operator = load_by_id::<organisation::Entity>(ctx, self.0.operator_organisation_id);
        Ok(operator.await?.map(Organisation))
    }
    /// Partner and funder organisations.
    async fn partners(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<ProjectPartner>>> {
        let rows = load_children::<PartnersOfProject>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(ProjectPartner).collect()))
    }
    /// The project's mothers, longest-serving first; optionally only some statuses.
    async fn mothers(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only mothers with one of these statuses; left out, all of the project's mothers the token may see."
        )]
        status: Option<Vec<MotherStatus>>,
    ) -> async_graphql::Result<Option<Vec<Mother>>> {
        let rows = load_children::<MothersOfProject>(ctx, self.0.id).await?;
        let wanted = |m: &mother::Model| {
            status
                .as_ref()
                .is_none_or(|s| s.contains(&MotherStatus::from(m.status)))
        };
        Ok(Some(rows.into_iter().filter(wanted).map(Mother).collect()))
    }
    /// Training courses, oldest first.
    async fn courses(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Course>>> {
        let rows = load_children::<CoursesOfProject>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(Course).collect()))
    }
    /// When the project was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed (for incremental sync).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// An organisation that partners in or funds a project.
pub struct ProjectPartner(pub project_partner::Model);

/// An organisation that takes part in a project it does not operate, and how.
#[Object]
impl ProjectPartner {
    /// The partner or funder.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let partner = load_by_id::<organisation::Entity>(ctx, self.0.organisation_id);
        Ok(partner.await?.map(Organisation))
    }
    /// Partner or funder.
    async fn role(&self) -> PartnerRole {
        self.0.role.into()
    }
}

/// Conditions on the projects listed; every one given must hold.
#[derive(InputObject, Default)]
pub struct ProjectFilter {
    /// Official municipality code, e.g. 101 for København.
    pub municipality_code: Option<i32>,
    /// Only projects with one of these statuses.
    pub status: Option<Vec<ProjectStatus>>,
    /// Only projects operated by this organisation.
    pub operator_id: Option<ID>,
    /// Only projects changed at or after this time (for incremental sync).
    pub updated_since: Option<DateTime<Utc>>,
    /// Only projects whose name contains this text, ignoring case (1 to 100 characters; `%`
    /// and `_` are literal).
    pub name_contains: Option<String>,
    /// Only projects in any of these municipalities (official codes).
    pub municipality_codes: Option<Vec<i32>>,
    /// Only projects started on or after this day.
    pub started_from: Option<NaiveDate>,
    /// Only projects started on or before this day.
    pub started_to: Option<NaiveDate>,
}

/// List order. UPDATED_AT is oldest change first, for incremental sync.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum ProjectOrder {
    /// By name, A to Z (the default).
    #[default]
    Name,
    /// Oldest change first (`updatedAt`, then id): for incremental sync with `updatedSince`;
    /// a record changed while you page moves behind your cursor.
    UpdatedAt,
}

impl ProjectOrder {
    fn ordering(self) -> Ordering<project::Entity> {
        use project::Column::{Id, UpdatedAt};
        match self {
            Self::Name => Ordering::ascending("name", project::Column::Name, Id),
            Self::UpdatedAt => Ordering::by_update(UpdatedAt, Id),
        }
    }
}

fn filtered(principal: &Principal, filter: ProjectFilter) -> ApiResult<Select<project::Entity>> {
    let mut query = principal.read::<project::Entity>()?;
    if let Some(code) = filter.municipality_code {
        query = query.filter(project::Column::MunicipalityCode.eq(code));
    }
    if let Some(status) = filter.status {
        let status: Vec<entity::enums::ProjectStatus> =
            crate::inputs::distinct(status.into_iter().map(Into::into).collect());
        query = query.filter(project::Column::Status.is_in(status));
    }
    if let Some(operator) = filter.operator_id {
        let operator = ids::decode_as(&operator, Kind::Organisation, "filter.operatorId")?;
        query = query.filter(project::Column::OperatorOrganisationId.eq(operator));
    }
    if let Some(codes) = filter.municipality_codes {
        let codes = crate::inputs::distinct(codes);
        query = query.filter(project::Column::MunicipalityCode.is_in(codes));
    }
    let name = [project::Column::Name];
    let query = name_contains(
        query,
        &name,
        filter.name_contains.as_deref(),
        "filter.nameContains",
    )?;
    let started = (filter.started_from, filter.started_to);
    let query = within(
        query,
        project::Column::StartedOn,
        started,
        RangeEnd::Inclusive,
        "filter.startedTo",
    )?;
    Ok(updated_since(
        query,
        project::Column::UpdatedAt,
        filter.updated_since,
    ))
}

#[derive(Default)]
pub struct ProjectQuery;

#[Object]
impl ProjectQuery {
    /// Local projects, by name.
    #[allow(clippy::too_many_arguments)]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all projects the token may see."
        )]
        filter: Option<ProjectFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<ProjectOrder>,
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
    ) -> async_graphql::Result<Option<ListConnection<Project>>> {
        let query = filtered(ctx.principal()?, filter.unwrap_or_default())?;
        let ordering = order_by.unwrap_or_default().ordering();
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        Ok(Some(
            connection(ctx.db()?, query, ordering, args, Project).await?,
        ))
    }

    /// One project by id (`projects:read`); `null` when there is none the token may see.
    async fn project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project's id (`Project.id`).")] id: ID,
    ) -> async_graphql::Result<Option<Project>> {
        Ok(lookup::<project::Entity, _>(ctx, &id, Kind::Project, Project).await?)
    }
}
