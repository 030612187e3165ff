//! The training mutations (`courses:write`): thin resolvers that decode ids and check the
//! input's shape, then run one data function of [`super::write`] in one transaction.
//!
//! Ids inside `input` that name the record to change (`id`, `courseId`, `enrolmentId`) answer
//! `NOT_FOUND` when unknown or hidden; a reference (`projectId`, `motherId`) that is malformed,
//! of the wrong type or outside the project is `BAD_USER_INPUT` naming the field. Results are
//! nullable: a refused mutation answers `null` with its error and writes nothing.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::NaiveDate;

use super::{
    Course, Enrolment,
    write::{self, CourseChange, MAX_NAME_CHARS, NewCourse},
};
use crate::{
    ids::{self, Kind},
    vocabulary::CourseKind,
    writes::{caller, in_transaction, past_date, required_name},
};

/// A new training course of a project.
#[derive(InputObject)]
pub struct CreateCourseInput {
    /// The project that runs it.
    pub project_id: ID,
    /// 1 to 200 characters.
    pub name: String,
    /// Basic (15 modules, diploma) or supplementary.
    pub kind: CourseKind,
    /// 1 to 50; a BASIC course has 15.
    pub module_count: i32,
    /// The day of its first module.
    pub starts_on: NaiveDate,
}

/// Only the fields given change. Courses have no `version`: the last change wins.
#[derive(InputObject)]
pub struct UpdateCourseInput {
    /// The course to change (`Course.id`).
    pub id: ID,
    /// 1 to 200 characters.
    pub name: Option<String>,
    /// Not before the course's `startsOn`; may lie ahead (the planned last day); `null`
    /// clears it.
    pub ends_on: MaybeUndefined<NaiveDate>,
}

/// A mother leaves a course before finishing it.
#[derive(InputObject)]
pub struct WithdrawEnrolmentInput {
    /// An ENROLLED enrolment.
    pub enrolment_id: ID,
}

/// A mother's place on a course.
#[derive(InputObject)]
pub struct EnrolMotherInput {
    /// The course, of her project.
    pub course_id: ID,
    /// A mother of the course's project.
    pub mother_id: ID,
    /// Usually left out: recording module 1 fills it.
    pub contract_signed_on: Option<NaiveDate>,
}

/// Whether a mother attended one module of her course.
#[derive(InputObject)]
pub struct RecordAttendanceInput {
    /// Her enrolment on the course.
    pub enrolment_id: ID,
    /// 1 to the course's module count.
    pub module_number: i32,
    /// Not in the future, not before the course starts.
    pub attended_on: NaiveDate,
}

/// A mother receives her diploma for a basic course.
#[derive(InputObject)]
pub struct CertifyInput {
    /// Her ENROLLED enrolment on a basic course; it becomes COMPLETED.
    pub enrolment_id: ID,
    /// Not in the future, not before the course starts.
    pub certified_on: NaiveDate,
}

#[derive(Default)]
pub struct CourseMutation;

#[Object]
impl CourseMutation {
    /// Creates a course (a training cohort) of a project.
    async fn create_course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new course: its project, kind, name and dates.")]
        input: CreateCourseInput,
    ) -> async_graphql::Result<Option<Course>> {
        let (principal, actor) = caller(ctx)?;
        let project = ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?;
        let new = NewCourse {
            name: required_name(&input.name, "input.name", MAX_NAME_CHARS)?,
            kind: input.kind.into(),
            module_count: input.module_count,
            starts_on: input.starts_on,
        };
        let course = in_transaction(ctx, async |txn| {
            write::create_course(txn, principal, &actor, project, new).await
        });
        Ok(Some(Course(course.await?)))
    }

    /// Renames a course or sets or clears its end date. Answers the course; a change that
    /// changes nothing writes nothing.
    async fn update_course(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The course and the fields to change; fields left out stay as they are.")]
        input: UpdateCourseInput,
    ) -> async_graphql::Result<Option<Course>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&input.id, Kind::Course, "input.id")?;
        let change = CourseChange {
            name: input
                .name
                .map(|name| required_name(&name, "input.name", MAX_NAME_CHARS))
                .transpose()?,
            ends_on: match input.ends_on {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(date) => Some(Some(date)),
            },
        };
        let course = in_transaction(ctx, async |txn| {
            write::update_course(txn, principal, &actor, id, change).await
        });
        Ok(Some(Course(course.await?)))
    }

    /// Enrols a mother on a course. `CONFLICT` when she is already enrolled on it.
    async fn enrol_mother(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The course and the mother to enrol on it.")] input: EnrolMotherInput,
    ) -> async_graphql::Result<Option<Enrolment>> {
        let (principal, actor) = caller(ctx)?;
        let course = ids::decode_as(&input.course_id, Kind::Course, "input.courseId")?;
        let mother = ids::decode_as(&input.mother_id, Kind::Mother, "input.motherId")?;
        let signed = input
            .contract_signed_on
            .map(|d| past_date(d, "input.contractSignedOn"))
            .transpose()?;
        let enrolment = in_transaction(ctx, async |txn| {
            write::enrol(txn, principal, &actor, course, mother, signed).await
        });
        Ok(Some(Enrolment(enrolment.await?)))
    }

    /// Records a module attended; recording the same module again changes nothing. Module 1
    /// fills an empty contract date.
    async fn record_attendance(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enrolment, the module and whether she attended.")]
        input: RecordAttendanceInput,
    ) -> async_graphql::Result<Option<Enrolment>> {
        let (principal, actor) = caller(ctx)?;
        let enrolment = ids::decode_as(&input.enrolment_id, Kind::Enrolment, "input.enrolmentId")?;
        let on = past_date(input.attended_on, "input.attendedOn")?;
        let module = input.module_number;
        let enrolment = in_transaction(ctx, async |txn| {
            write::record_attendance(txn, principal, &actor, enrolment, module, on).await
        });
        Ok(Some(Enrolment(enrolment.await?)))
    }

    /// Certifies a mother on completing a course: every module must have been attended
    /// (`INVALID_TRANSITION` naming the missing modules otherwise). Completes the enrolment;
    /// an IN_TRAINING mother becomes CERTIFIED.
    async fn certify(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The enrolment on a basic course whose mother receives her diploma, and the date."
        )]
        input: CertifyInput,
    ) -> async_graphql::Result<Option<Enrolment>> {
        let (principal, actor) = caller(ctx)?;
        let enrolment = ids::decode_as(&input.enrolment_id, Kind::Enrolment, "input.enrolmentId")?;
        let on = past_date(input.certified_on, "input.certifiedOn")?;
        let enrolment = in_transaction(ctx, async |txn| {
            write::certify(txn, principal, &actor, enrolment, on).await
        });
        Ok(Some(Enrolment(enrolment.await?)))
    }

    /// Withdraws a mother from a course she has not completed: ENROLLED becomes WITHDRAWN
    /// (`INVALID_TRANSITION` from COMPLETED or WITHDRAWN), at `withdrawnAt`. Her attendance
    /// stays on record; her status and the figures do not change (`mothersTrained` counts
    /// completed basic courses only), and she cannot be enrolled on the same course again.
    async fn withdraw_enrolment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The enrolment to end before the course is finished.")]
        input: WithdrawEnrolmentInput,
    ) -> async_graphql::Result<Option<Enrolment>> {
        let (principal, actor) = caller(ctx)?;
        let enrolment = ids::decode_as(&input.enrolment_id, Kind::Enrolment, "input.enrolmentId")?;
        let enrolment = in_transaction(ctx, async |txn| {
            write::withdraw(txn, principal, &actor, enrolment).await
        });
        Ok(Some(Enrolment(enrolment.await?)))
    }
}
