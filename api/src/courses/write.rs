//! Writing training records: create and change a course, enrol a mother, record module
//! attendance, certify on completion, withdraw an enrolment (`courses:write`).
//!
//! Invariants every write keeps (the GraphQL layer only decodes):
//! - the caller may write in the course's project (`Principal::may_write_in_project`, the one
//!   write seam), checked before the values are looked at;
//! - a BASIC course has [`BASIC_MODULES`] modules; an enrolled mother belongs to the course's
//!   project, once per course;
//! - attendance is per module `1..=module_count`, once (recording it again changes nothing);
//!   module 1 is when the contract is signed, so it fills an empty `contract_signed_on`;
//! - certification needs every module attended: otherwise `INVALID_TRANSITION` naming the
//!   missing modules (the input is fine; the enrolment is not ready). It completes the
//!   enrolment and makes an IN_TRAINING mother CERTIFIED;
//! - only an ENROLLED enrolment takes attendance, certification or a withdrawal; COMPLETED
//!   and WITHDRAWN are final, so a withdrawn enrolment's `updated_at` is when it was
//!   withdrawn (`Enrolment.withdrawnAt`). A withdrawal changes neither the mother's status
//!   nor any figure: `mothersTrained` counts COMPLETED enrolments only, and she stays on the
//!   course's roll (one enrolment per course and mother), so she cannot be enrolled on the
//!   same course again;
//! - a course's `ends_on`, when set, is not before its `starts_on` (the database's CHECK,
//!   answered here as `BAD_USER_INPUT`). Courses carry no `version`: a change is a plain
//!   last-writer-wins update of the fields given, audited with the names of those it changed;
//! - each change and its audit events are written in the caller's transaction.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use entity::{
    course, enrolment,
    enums::{AuditAction, CourseKind, EnrolmentStatus, MotherStatus},
    module_attendance, mother,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use uuid::Uuid;

use crate::{
    audit::{self, Actor, Event},
    auth::{Area, Principal},
    error::{ApiError, ApiResult},
};

/// The number of modules of the basic course (the programme's fixed curriculum).
pub const BASIC_MODULES: i32 = 15;
/// The most modules of any course (the database's CHECK).
pub const MAX_MODULES: i32 = 50;
/// The longest course name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The programme started in 2007; an earlier course date is a typo.
pub const EARLIEST_YEAR: i32 = 2007;

const COURSE_ENTITY: &str = "course";
const ENROLMENT_ENTITY: &str = "enrolment";
const MOTHER_ENTITY: &str = "mother";

/// A new course's values, checked by [`check_new_course`].
pub struct NewCourse {
    pub name: String,
    pub kind: CourseKind,
    pub module_count: i32,
    pub starts_on: NaiveDate,
}

/// The rules of a new course's values, fields named under `input.`.
pub fn check_new_course(course: &NewCourse) -> ApiResult<()> {
    if !(1..=MAX_MODULES).contains(&course.module_count) {
        return Err(ApiError::validation(
            "input.moduleCount",
            format!("must be 1 to {MAX_MODULES}"),
        ));
    }
    if course.kind == CourseKind::Basic && course.module_count != BASIC_MODULES {
        return Err(ApiError::validation(
            "input.moduleCount",
            format!("a BASIC course has {BASIC_MODULES} modules"),
        ));
    }
    if course.starts_on.year() < EARLIEST_YEAR {
        return Err(ApiError::validation(
            "input.startsOn",
            format!("is before {EARLIEST_YEAR}, when the programme started"),
        ));
    }
    Ok(())
}

pub async fn create_course(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    project_id: Uuid,
    new: NewCourse,
) -> ApiResult<course::Model> {
    principal
        .may_write_in_project(db, Area::Courses, project_id)
        .await?;
    check_new_course(&new)?;
    let now = crate::db::now();
    let course = course::ActiveModel {
        id: Set(Uuid::now_v7()),
        project_id: Set(project_id),
        name: Set(new.name),
        kind: Set(new.kind),
        module_count: Set(new.module_count),
        starts_on: Set(new.starts_on),
        ends_on: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    let event = Event::new(AuditAction::Create, COURSE_ENTITY, course.id);
    audit::record(db, actor, [event]).await?;
    Ok(course)
}

/// A change to a course: `None` leaves a field; `ends_on: Some(None)` clears the end date.
#[derive(Default)]
pub struct CourseChange {
    pub name: Option<String>,
    pub ends_on: Option<Option<NaiveDate>>,
}

/// Changes a course's name or end date. Fields given with their stored value change nothing;
/// when nothing changes nothing is written (a retried script is safe). The audit event names
/// the fields changed (`name`, `endsOn`), never their values.
pub async fn update_course(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
    change: CourseChange,
) -> ApiResult<course::Model> {
    let course = writable_course(db, principal, id).await?;
    if let Some(Some(ends_on)) = change.ends_on
        && ends_on < course.starts_on
    {
        return Err(ApiError::validation(
            "input.endsOn",
            format!("is before the course starts ({})", course.starts_on),
        ));
    }
    let name = change.name.filter(|name| *name != course.name);
    let ends_on = change.ends_on.filter(|ends_on| *ends_on != course.ends_on);
    let mut changed = Vec::new();
    let mut row = course.clone().into_active_model();
    if let Some(name) = name {
        row.name = Set(name);
        changed.push("name");
    }
    if let Some(ends_on) = ends_on {
        row.ends_on = Set(ends_on);
        changed.push("endsOn");
    }
    if changed.is_empty() {
        return Ok(course);
    }
    row.updated_at = Set(crate::db::now());
    let course = row.update(db).await?;
    let event = Event::new(AuditAction::Update, COURSE_ENTITY, id).detail(changed.join(", "));
    audit::record(db, actor, [event]).await?;
    Ok(course)
}

/// A course the caller may change: `NOT_FOUND` when missing or hidden, `FORBIDDEN` when the
/// caller may read but not write in its project.
async fn writable_course(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> ApiResult<course::Model> {
    let course = principal
        .read::<course::Entity>()?
        .filter(course::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("course".into()))?;
    principal
        .may_write_in_project(db, Area::Courses, course.project_id)
        .await?;
    Ok(course)
}

/// An enrolment the caller may change, with its course; answers like [`writable_course`].
async fn writable_enrolment(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> ApiResult<(enrolment::Model, course::Model)> {
    let enrolment = principal
        .read::<enrolment::Entity>()?
        .filter(enrolment::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("enrolment".into()))?;
    let course = writable_course(db, principal, enrolment.course_id).await?;
    Ok((enrolment, course))
}

/// Only an ENROLLED enrolment takes attendance, a certification or a withdrawal.
fn require_enrolled(enrolment: &enrolment::Model) -> ApiResult<()> {
    match enrolment.status {
        EnrolmentStatus::Enrolled => Ok(()),
        other => Err(ApiError::InvalidTransition(format!(
            "the enrolment is {other:?}, not Enrolled, so it takes no more attendance, \
             certification or withdrawal"
        ))),
    }
}

/// Withdraws an ENROLLED mother from the course (she stopped before completing it);
/// `INVALID_TRANSITION` from COMPLETED (her diploma stands) or WITHDRAWN. Her attendance
/// stays on record; her status and the figures do not change (see the module note).
pub async fn withdraw(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    enrolment_id: Uuid,
) -> ApiResult<enrolment::Model> {
    let (enrolment, _course) = writable_enrolment(db, principal, enrolment_id).await?;
    require_enrolled(&enrolment)?;
    let mut row = enrolment.into_active_model();
    row.status = Set(EnrolmentStatus::Withdrawn);
    row.updated_at = Set(crate::db::now());
    let enrolment = row.update(db).await?;
    let event = Event::new(AuditAction::Transition, ENROLMENT_ENTITY, enrolment_id)
        .detail("Enrolled -> Withdrawn");
    audit::record(db, actor, [event]).await?;
    Ok(enrolment)
}

/// Enrols a mother of the course's project. `CONFLICT` when she is already enrolled.
pub async fn enrol(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    course_id: Uuid,
    mother_id: Uuid,
    contract_signed_on: Option<NaiveDate>,
) -> ApiResult<enrolment::Model> {
    let course = writable_course(db, principal, course_id).await?;
    let mother = mother::Entity::find_by_id(mother_id)
        .filter(mother::Column::ProjectId.eq(course.project_id))
        .one(db)
        .await?;
    if mother.is_none() {
        return Err(ApiError::validation(
            "input.motherId",
            "is not a mother of the course's project",
        ));
    }
    let existing = enrolment::Entity::find()
        .filter(enrolment::Column::CourseId.eq(course_id))
        .filter(enrolment::Column::MotherId.eq(mother_id))
        .one(db)
        .await?;
    if existing.is_some() {
        return Err(ApiError::Conflict(
            "the mother is already enrolled on this course".into(),
        ));
    }
    let now = crate::db::now();
    let enrolment = enrolment::ActiveModel {
        id: Set(Uuid::now_v7()),
        course_id: Set(course_id),
        mother_id: Set(mother_id),
        status: Set(EnrolmentStatus::Enrolled),
        contract_signed_on: Set(contract_signed_on),
        certified_on: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    let event = Event::new(AuditAction::Create, ENROLMENT_ENTITY, enrolment.id);
    audit::record(db, actor, [event]).await?;
    Ok(enrolment)
}

/// Records that the mother attended `module_number`; again for the same module changes
/// nothing (a retried script is safe). Module 1 fills an empty contract date.
pub async fn record_attendance(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    enrolment_id: Uuid,
    module_number: i32,
    attended_on: NaiveDate,
) -> ApiResult<enrolment::Model> {
    let (enrolment, course) = writable_enrolment(db, principal, enrolment_id).await?;
    if !(1..=course.module_count).contains(&module_number) {
        return Err(ApiError::validation(
            "input.moduleNumber",
            format!("the course has modules 1 to {}", course.module_count),
        ));
    }
    if attended_on < course.starts_on {
        return Err(ApiError::validation(
            "input.attendedOn",
            "is before the course starts",
        ));
    }
    require_enrolled(&enrolment)?;
    let recorded = module_attendance::Entity::find_by_id((enrolment_id, module_number))
        .one(db)
        .await?;
    if recorded.is_some() {
        return Ok(enrolment);
    }
    module_attendance::ActiveModel {
        enrolment_id: Set(enrolment_id),
        module_number: Set(module_number),
        attended_on: Set(attended_on),
        created_at: Set(crate::db::now()),
    }
    .insert(db)
    .await?;
    let sign = module_number == 1 && enrolment.contract_signed_on.is_none();
    let mut row = enrolment.into_active_model();
    if sign {
        row.contract_signed_on = Set(Some(attended_on));
    }
    row.updated_at = Set(crate::db::now());
    let enrolment = row.update(db).await?;
    let event = Event::new(AuditAction::Update, ENROLMENT_ENTITY, enrolment_id)
        .detail(format!("module {module_number} attended on {attended_on}"));
    audit::record(db, actor, [event]).await?;
    Ok(enrolment)
}

/// The modules `1..=module_count` the enrolment has not attended.
async fn missing_modules(
    db: &impl ConnectionTrait,
    enrolment_id: Uuid,
    module_count: i32,
) -> ApiResult<Vec<i32>> {
    let attended: BTreeSet<i32> = module_attendance::Entity::find()
        .filter(module_attendance::Column::EnrolmentId.eq(enrolment_id))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.module_number)
        .collect();
    Ok((1..=module_count)
        .filter(|m| !attended.contains(m))
        .collect())
}

/// Certifies a completed enrolment: `INVALID_TRANSITION` listing the missing modules unless
/// every module was attended. Completes the enrolment and makes an IN_TRAINING mother
/// CERTIFIED (a mother already further along keeps her status).
pub async fn certify(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    enrolment_id: Uuid,
    certified_on: NaiveDate,
) -> ApiResult<enrolment::Model> {
    let (enrolment, course) = writable_enrolment(db, principal, enrolment_id).await?;
    if certified_on < course.starts_on {
        return Err(ApiError::validation(
            "input.certifiedOn",
            "is before the course starts",
        ));
    }
    require_enrolled(&enrolment)?;
    let missing = missing_modules(db, enrolment_id, course.module_count).await?;
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(i32::to_string).collect();
        return Err(ApiError::InvalidTransition(format!(
            "cannot certify: module(s) {} of {} not attended",
            list.join(", "),
            course.module_count
        )));
    }
    let mother_id = enrolment.mother_id;
    let mut row = enrolment.into_active_model();
    row.status = Set(EnrolmentStatus::Completed);
    row.certified_on = Set(Some(certified_on));
    row.updated_at = Set(crate::db::now());
    let enrolment = row.update(db).await?;
    let mut events = vec![
        Event::new(AuditAction::Transition, ENROLMENT_ENTITY, enrolment_id)
            .detail(format!("certified on {certified_on}")),
    ];
    let mother = mother::Entity::find_by_id(mother_id).one(db).await?;
    if let Some(mother) = mother.filter(|m| m.status == MotherStatus::InTraining) {
        let mut row = mother.into_active_model();
        row.status = Set(MotherStatus::Certified);
        row.updated_at = Set(crate::db::now());
        row.update(db).await?;
        events.push(
            Event::new(AuditAction::Transition, MOTHER_ENTITY, mother_id)
                .detail("InTraining -> Certified (course completed)"),
        );
    }
    audit::record(db, actor, events).await?;
    Ok(enrolment)
}
