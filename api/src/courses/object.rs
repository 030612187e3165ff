//! The GraphQL fields of a course and an enrolment: what a course's page shows, resolved through
//! the request's loaders and the access rules. The types themselves and the queries that list
//! them are in `courses`; the fields here reach into the areas they link to (the project, the
//! mothers), so the area's own module imports none of them.

use crate::{
    ids::Kind,
    loaders::{load_by_id, load_children},
    mothers::Mother,
    projects::Project,
    vocabulary::{CourseKind, EnrolmentStatus},
};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{course, mother, project};

use super::{AttendanceOfEnrolment, Course, Enrolment, EnrolmentsOfCourse};

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
