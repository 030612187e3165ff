//! Neighbourhood mothers: the trained volunteers of a project, their languages and courses.
//!
//! A mother's name and contact details are personal data of a volunteer; they are read only
//! through the access rules like every other row.
//!
//! Reading is here; writing (register, update, change status) is in [`write`] (data
//! functions and shared input checks) and [`mutation`] (resolvers).

mod mutation;
pub mod write;

pub use mutation::MotherMutation;

use crate::pagination::{RangeEnd, SortDirection, name_contains, within};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{mother, mother_language, project};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Select};

use crate::{
    auth::{Principal, access},
    child_of,
    courses::Enrolment,
    error::ApiResult,
    ids::{self, Kind},
    loaders::{load_by_id, load_children},
    node::lookup,
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    projects::Project,
    schema::RequestContext,
    vocabulary::MotherStatus,
};

child_of!(LanguagesOfMother: mother_language by MotherId ordered by Language);
child_of!(EnrolmentsOfMother: enrolment by MotherId ordered by CreatedAt);

pub struct Mother(pub mother::Model);

/// A volunteer neighbourhood mother in a project: trained on the basic course, then visiting
/// women (`mothers:read`). Her name is readable by every organisation that sees her project;
/// her contact details only by those running it.
#[Object]
impl Mother {
    /// The mother's global id.
    pub async fn id(&self) -> ID {
        Kind::Mother.id(self.0.id)
    }
    /// Her first name, as the project knows her.
    async fn first_name(&self) -> &str {
        &self.0.first_name
    }
    /// Her last name.
    async fn last_name(&self) -> &str {
        &self.0.last_name
    }
    /// Her phone number. Contact details: shared only with the secretariat and the
    /// organisations running her project, otherwise `null` with `FORBIDDEN`; every read is
    /// audited.
    async fn phone(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        access::mother_contact(ctx, &self.0).await?;
        Ok(self.0.phone.as_deref())
    }
    /// Her e-mail address. Contact details: shared only with the secretariat and the
    /// organisations running her project, otherwise `null` with `FORBIDDEN`; every read is
    /// audited.
    async fn email(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        access::mother_contact(ctx, &self.0).await?;
        Ok(self.0.email.as_deref())
    }
    /// Where she stands: in training, certified, active, inactive, left.
    async fn status(&self) -> MotherStatus {
        self.0.status.into()
    }
    /// The day she joined the project.
    async fn joined_on(&self) -> NaiveDate {
        self.0.joined_on
    }
    /// The day she left the project; `null` while she is in it.
    async fn left_on(&self) -> Option<NaiveDate> {
        self.0.left_on
    }
    /// Her corps: MOTHER, or FATHER for a neighbourhood father (who is a `Mother` in the
    /// API, a name partners depend on).
    async fn corps(&self) -> crate::vocabulary::Corps {
        self.0.corps.into()
    }
    /// Languages she speaks, as ISO 639 codes (e.g. `ar`, `so`, `da`).
    async fn languages(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<String>>> {
        let rows = load_children::<LanguagesOfMother>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(|l| l.language).collect()))
    }
    /// The project she volunteers in.
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        Ok(load_by_id::<project::Entity>(ctx, self.0.project_id)
            .await?
            .map(Project))
    }
    /// Her places on training courses.
    async fn enrolments(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Enrolment>>> {
        let rows = load_children::<EnrolmentsOfMother>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(Enrolment).collect()))
    }
    /// When she was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When her record last changed (for incremental sync).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// Conditions on the mothers listed; every one given must hold.
#[derive(InputObject, Default)]
pub struct MotherFilter {
    /// Only mothers of this project.
    pub project_id: Option<ID>,
    /// Only mothers with one of these statuses.
    pub status: Option<Vec<MotherStatus>>,
    /// ISO 639 code of a language she speaks, e.g. `ar`.
    pub language: Option<String>,
    /// Only mothers changed at or after this time (for incremental sync).
    pub updated_since: Option<DateTime<Utc>>,
    /// Only mothers whose first or last name contains this text, ignoring case (1 to 100
    /// characters; `%` and `_` are literal).
    pub name_contains: Option<String>,
    /// Only mothers who joined on or after this day.
    pub joined_from: Option<NaiveDate>,
    /// Only mothers who joined on or before this day.
    pub joined_to: Option<NaiveDate>,
}

/// List order. UPDATED_AT is oldest change first, for incremental sync.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum MotherOrder {
    /// Longest-serving first (the default).
    #[default]
    JoinedOn,
    /// Oldest change first (`updatedAt`, then id): for incremental sync with `updatedSince`;
    /// a record changed while you page moves behind your cursor.
    UpdatedAt,
}

impl MotherOrder {
    fn ordering(self) -> Ordering<mother::Entity> {
        use mother::Column::{Id, UpdatedAt};
        match self {
            Self::JoinedOn => Ordering::ascending("joined_on", mother::Column::JoinedOn, Id),
            Self::UpdatedAt => Ordering::by_update(UpdatedAt, Id),
        }
    }
}

fn filtered(principal: &Principal, filter: MotherFilter) -> ApiResult<Select<mother::Entity>> {
    let mut query = principal.read::<mother::Entity>()?;
    if let Some(project) = filter.project_id {
        let project = ids::decode_as(&project, Kind::Project, "filter.projectId")?;
        query = query.filter(mother::Column::ProjectId.eq(project));
    }
    if let Some(status) = filter.status {
        let status: Vec<entity::enums::MotherStatus> =
            crate::inputs::distinct(status.into_iter().map(Into::into).collect());
        query = query.filter(mother::Column::Status.is_in(status));
    }
    if let Some(language) = filter.language {
        let speakers = mother_language::Entity::find()
            .select_only()
            .column(mother_language::Column::MotherId)
            .filter(mother_language::Column::Language.eq(language.trim().to_lowercase()))
            .into_query();
        query = query.filter(mother::Column::Id.in_subquery(speakers));
    }
    let names = [mother::Column::FirstName, mother::Column::LastName];
    let query = name_contains(
        query,
        &names,
        filter.name_contains.as_deref(),
        "filter.nameContains",
    )?;
    let joined = (filter.joined_from, filter.joined_to);
    let query = within(
        query,
        mother::Column::JoinedOn,
        joined,
        RangeEnd::Inclusive,
        "filter.joinedTo",
    )?;
    Ok(updated_since(
        query,
        mother::Column::UpdatedAt,
        filter.updated_since,
    ))
}

#[derive(Default)]
pub struct MotherQuery;

#[Object]
impl MotherQuery {
    /// Neighbourhood mothers, longest-serving first.
    #[allow(clippy::too_many_arguments)]
    async fn mothers(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all mothers the token may see."
        )]
        filter: Option<MotherFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<MotherOrder>,
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
    ) -> async_graphql::Result<Option<ListConnection<Mother>>> {
        let query = filtered(ctx.principal()?, filter.unwrap_or_default())?;
        let ordering = order_by.unwrap_or_default().ordering();
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        Ok(Some(
            connection(ctx.db()?, query, ordering, args, Mother).await?,
        ))
    }

    /// One mother by id (`mothers:read`); `null` when there is none the token may see.
    async fn mother(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The mother's id (`Mother.id`).")] id: ID,
    ) -> async_graphql::Result<Option<Mother>> {
        Ok(lookup::<mother::Entity, _>(ctx, &id, Kind::Mother, Mother).await?)
    }
}
