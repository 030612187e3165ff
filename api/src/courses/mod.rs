//! Training: courses (cohorts) of a project, enrolments and module attendance.
//!
//! The basic course has 15 modules; a mother signs her contract at module 1 and is certified
//! (receives her diploma) on completion. "Mothers trained per year" counts certifications.
//!
//! Reading is here; writing (create, update, enrol, attendance, certify, withdraw) is in
//! [`write`] (data functions) and [`mutation`] (resolvers).

mod mutation;
pub mod write;

pub use mutation::CourseMutation;

use crate::pagination::{SortDirection, name_contains};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{course, enrolment, mother, project};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use crate::{
    auth::Principal,
    child_of,
    context::RequestContext,
    error::ApiResult,
    ids::{self, Kind},
    loaders::lookup,
    loaders::{load_by_id, load_children},
    mothers::Mother,
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    projects::Project,
    vocabulary::{CourseKind, EnrolmentStatus},
};

child_of!(EnrolmentsOfCourse: enrolment by CourseId ordered by CreatedAt);
child_of!(AttendanceOfEnrolment: module_attendance by EnrolmentId ordered by ModuleNumber);

pub struct Course(pub course::Model);

/// A training cohort of a project: the basic 15-module course that certifies neighbourhood
/// mothers, or a supplementary one (`courses:read`).
#[Object]
impl Course {
    /// The course's global id.
    pub async fn id(&self) -> ID {
        Kind::Course.id(self.0.id)
    }
    /// The course's name, as the project calls it (e.g. `Hold 2024 forår`).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Basic (15 modules, diploma) or supplementary.
    async fn kind(&self) -> CourseKind {
        self.0.kind.into()
    }
    /// How many modules make the course (15 for the basic course).
    async fn module_count(&self) -> i32 {
        self.0.module_count
    }
    /// The day of its first module.
    async fn starts_on(&self) -> NaiveDate {
        self.0.starts_on
    }
    /// The day of its last module; `null` while not fixed.
    async fn ends_on(&self) -> Option<NaiveDate> {
        self.0.ends_on
    }
    /// The project that runs the course.
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        Ok(load_by_id::<project::Entity>(ctx, self.0.project_id)
            .await?
            .map(Project))
    }
    /// The mothers on the course and where each stands, in enrolment order.
    async fn enrolments(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<Enrolment>>> {
        let rows = load_children::<EnrolmentsOfCourse>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(Enrolment).collect()))
    }
    /// When the course was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the course last changed (for incremental sync).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// A mother's place on a course.
pub struct Enrolment(pub enrolment::Model);

/// A mother's place on a course: her contract (signed at module 1), attendance per module, and
/// her diploma when she completes a basic course.
#[Object]
impl Enrolment {
    /// The enrolment's global id.
    pub async fn id(&self) -> ID {
        Kind::Enrolment.id(self.0.id)
    }
    /// Where she stands on the course.
    async fn status(&self) -> EnrolmentStatus {
        self.0.status.into()
    }
    /// When she signed her contract (at module 1).
    async fn contract_signed_on(&self) -> Option<NaiveDate> {
        self.0.contract_signed_on
    }
    /// When she received her diploma.
    async fn certified_on(&self) -> Option<NaiveDate> {
        self.0.certified_on
    }
    /// When she was withdrawn from the course (WITHDRAWN only; a withdrawal is final).
    async fn withdrawn_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == entity::enums::EnrolmentStatus::Withdrawn).then_some(self.0.updated_at)
    }
    /// The module numbers she attended, ascending.
    async fn attended_modules(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<i32>>> {
        let rows = load_children::<AttendanceOfEnrolment>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(|a| a.module_number).collect()))
    }
    /// The mother enrolled.
    async fn mother(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Mother>> {
        Ok(load_by_id::<mother::Entity>(ctx, self.0.mother_id)
            .await?
            .map(Mother))
    }
    /// The course she is enrolled on.
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Course>> {
        Ok(load_by_id::<course::Entity>(ctx, self.0.course_id)
            .await?
            .map(Course))
    }
}

/// Conditions on the courses listed; every one given must hold.
#[derive(InputObject, Default)]
pub struct CourseFilter {
    /// Only courses of this project.
    pub project_id: Option<ID>,
    /// Only basic or only supplementary courses.
    pub kind: Option<CourseKind>,
    /// Courses starting on or after this date.
    pub starts_from: Option<NaiveDate>,
    /// Courses starting on or before this date.
    pub starts_to: Option<NaiveDate>,
    /// Only courses changed at or after this time (for incremental sync).
    pub updated_since: Option<DateTime<Utc>>,
    /// Only courses whose name contains this text, ignoring case (1 to 100 characters; `%`
    /// and `_` are literal).
    pub name_contains: Option<String>,
}

/// List order. UPDATED_AT is oldest change first, for incremental sync.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum CourseOrder {
    /// Newest course first (the default).
    #[default]
    StartsOn,
    /// Oldest change first (`updatedAt`, then id): for incremental sync with `updatedSince`;
    /// a record changed while you page moves behind your cursor.
    UpdatedAt,
}

impl CourseOrder {
    fn ordering(self) -> Ordering<course::Entity> {
        use course::Column::{Id, UpdatedAt};
        match self {
            Self::StartsOn => Ordering::descending("starts_on", course::Column::StartsOn, Id),
            Self::UpdatedAt => Ordering::by_update(UpdatedAt, Id),
        }
    }
}

fn filtered(principal: &Principal, filter: CourseFilter) -> ApiResult<Select<course::Entity>> {
    let mut query = principal.read::<course::Entity>()?;
    if let Some(project) = filter.project_id {
        let project = ids::decode_as(&project, Kind::Project, "filter.projectId")?;
        query = query.filter(course::Column::ProjectId.eq(project));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(course::Column::Kind.eq(entity::enums::CourseKind::from(kind)));
    }
    if let Some(from) = filter.starts_from {
        query = query.filter(course::Column::StartsOn.gte(from));
    }
    if let Some(to) = filter.starts_to {
        query = query.filter(course::Column::StartsOn.lte(to));
    }
    let name = [course::Column::Name];
    let query = name_contains(
        query,
        &name,
        filter.name_contains.as_deref(),
        "filter.nameContains",
    )?;
    Ok(updated_since(
        query,
        course::Column::UpdatedAt,
        filter.updated_since,
    ))
}

#[derive(Default)]
pub struct CourseQuery;

#[Object]
impl CourseQuery {
    /// Training courses, newest first.
    #[allow(clippy::too_many_arguments)]
    async fn courses(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all courses the token may see."
        )]
        filter: Option<CourseFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<CourseOrder>,
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
    ) -> async_graphql::Result<Option<ListConnection<Course>>> {
        let query = filtered(ctx.principal()?, filter.unwrap_or_default())?;
        let ordering = order_by.unwrap_or_default().ordering();
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        Ok(Some(
            connection(ctx.db()?, query, ordering, args, Course).await?,
        ))
    }

    /// One course by id (`courses:read`); `null` when there is none the token may see.
    async fn course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The course's id (`Course.id`).")] id: ID,
    ) -> async_graphql::Result<Option<Course>> {
        Ok(lookup::<course::Entity, _>(ctx, &id, Kind::Course, Course).await?)
    }
}
