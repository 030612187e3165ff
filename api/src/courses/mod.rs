//! Training: courses (cohorts) of a project, enrolments and module attendance.
//!
//! The basic course has 15 modules; a mother signs her contract at module 1 and is certified
//! (receives her diploma) on completion. "Mothers trained per year" counts certifications.
//!
//! Reading is here; writing (create, update, enrol, attendance, certify, withdraw) is in
//! [`write`] (data functions) and [`mutation`] (resolvers).

mod mutation;
mod object;
pub mod write;

pub use mutation::CourseMutation;

use crate::pagination::{SortDirection, name_contains};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{course, enrolment};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use crate::{
    auth::Principal,
    child_of,
    context::RequestContext,
    error::ApiResult,
    ids::{self, Kind},
    loaders::lookup,
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    vocabulary::CourseKind,
};

child_of!(EnrolmentsOfCourse: enrolment by CourseId ordered by CreatedAt);
child_of!(AttendanceOfEnrolment: module_attendance by EnrolmentId ordered by ModuleNumber);

pub struct Course(pub course::Model);

/// A mother's place on a course.
pub struct Enrolment(pub enrolment::Model);

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
