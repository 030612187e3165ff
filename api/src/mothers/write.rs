//! Writing mothers: register, update, change status (`mothers:write`).
//!
//! Invariants every write keeps (the GraphQL layer only decodes):
//! - the caller may write in the mother's project (`Principal::may_write_in_project`, the one
//!   write seam), checked before the values are looked at;
//! - names are trimmed, 1 to [`MAX_NAME_CHARS`]; languages are ISO 639 codes (2 or 3 lowercase
//!   letters), distinct, replaced as a whole;
//! - status rules ([`change_status`]): `LEFT` sets `left_on` (and leaving another status
//!   clears it, she rejoined); `CERTIFIED` needs a completed enrolment; dates are not in the
//!   future and not before she joined;
//! - the change and its audit event are written in the caller's transaction.

use chrono::NaiveDate;
use entity::{
    enrolment,
    enums::{AuditAction, EnrolmentStatus, MotherStatus},
    mother, mother_language,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use crate::{
    audit::{self, Actor, Event},
    auth::{Area, Principal, token_cache},
    error::{ApiError, ApiResult},
    writes::{language_code, optional_text},
};

/// The longest first or last name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The longest phone number, in characters.
pub const MAX_PHONE_CHARS: usize = 32;
/// The longest e-mail address (RFC 5321), in characters.
pub const MAX_EMAIL_CHARS: usize = 254;
/// The most languages one mother is listed with.
pub const MAX_LANGUAGES: usize = 20;
/// The `entity_type` of a mother's audit events (her table name).
const MOTHER_ENTITY: &str = "mother";

/// An optional e-mail address: a rough shape check (one `@` with text on both sides), since
/// the only reliable check is a mail that arrives.
pub fn optional_email(value: Option<&str>, field: &str) -> ApiResult<Option<String>> {
    let email = optional_text(value, field, MAX_EMAIL_CHARS)?;
    if let Some(email) = &email {
        let parts: Vec<&str> = email.split('@').collect();
        if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) || email.contains(' ') {
            return Err(ApiError::validation(field, "is not an e-mail address"));
        }
    }
    Ok(email)
}

/// ISO 639 language codes: 2 or 3 lowercase ASCII letters each, distinct, at most
/// [`MAX_LANGUAGES`].
pub fn languages(list: &[String], field: &str) -> ApiResult<Vec<String>> {
    if list.len() > MAX_LANGUAGES {
        return Err(ApiError::validation(
            field,
            format!("lists more than {MAX_LANGUAGES} languages"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for code in list {
        let code = &language_code(code, field)?;
        if out.contains(code) {
            return Err(ApiError::validation(field, format!("lists {code:?} twice")));
        }
        out.push(code.clone());
    }
    Ok(out)
}

/// A new mother's values, checked by the resolver with the helpers above.
pub struct NewMother {
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub languages: Vec<String>,
    pub joined_on: NaiveDate,
    /// Her corps (a father's is FATHER).
    pub corps: entity::enums::Corps,
}

/// A change to a mother: `None` leaves the field; `Some(None)` clears an optional one.
#[derive(Default)]
pub struct MotherChange {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub languages: Option<Vec<String>>,
}

async fn replace_languages(
    db: &impl ConnectionTrait,
    mother_id: Uuid,
    languages: &[String],
) -> ApiResult<()> {
    mother_language::Entity::delete_many()
        .filter(mother_language::Column::MotherId.eq(mother_id))
        .exec(db)
        .await?;
    let rows = languages
        .iter()
        .map(|language| mother_language::ActiveModel {
            mother_id: Set(mother_id),
            language: Set(language.clone()),
        });
    if !languages.is_empty() {
        mother_language::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Registers a mother in `project_id`, IN_TRAINING: every mother starts with the course.
pub async fn register(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    project_id: Uuid,
    new: NewMother,
) -> ApiResult<mother::Model> {
    let project = principal
        .may_write_in_project(db, Area::Mothers, project_id)
        .await?;
    crate::corps::check_runs(project.corps, new.corps, "input.corps")?;
    let now = crate::db::now();
    let row = mother::ActiveModel {
        id: Set(Uuid::now_v7()),
        project_id: Set(project_id),
        first_name: Set(new.first_name),
        last_name: Set(new.last_name),
        phone: Set(new.phone),
        email: Set(new.email),
        status: Set(MotherStatus::InTraining),
        joined_on: Set(new.joined_on),
        left_on: Set(None),
        corps: Set(new.corps),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mother = row.insert(db).await?;
    replace_languages(db, mother.id, &new.languages).await?;
    audit::record(
        db,
        actor,
        [Event::new(AuditAction::Create, MOTHER_ENTITY, mother.id)],
    )
    .await?;
    Ok(mother)
}

/// A mother the caller may change: `NOT_FOUND` when missing or hidden, `FORBIDDEN` when the
/// caller may read but not write in her project.
pub async fn writable(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> ApiResult<mother::Model> {
    let mother = principal
        .read::<mother::Entity>()?
        .filter(mother::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("mother".into()))?;
    principal
        .may_write_in_project(db, Area::Mothers, mother.project_id)
        .await?;
    Ok(mother)
}

/// Applies `change` to a mother (languages replaced as a whole).
pub async fn update(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
    change: MotherChange,
) -> ApiResult<mother::Model> {
    let mother = writable(db, principal, id).await?;
    let mut row = mother.into_active_model();
    if let Some(first_name) = change.first_name {
        row.first_name = Set(first_name);
    }
    if let Some(last_name) = change.last_name {
        row.last_name = Set(last_name);
    }
    if let Some(phone) = change.phone {
        row.phone = Set(phone);
    }
    if let Some(email) = change.email {
        row.email = Set(email);
    }
    row.updated_at = Set(crate::db::now());
    let mother = row.update(db).await?;
    if let Some(languages) = change.languages {
        replace_languages(db, id, &languages).await?;
    }
    audit::record(
        db,
        actor,
        [Event::new(AuditAction::Update, MOTHER_ENTITY, id)],
    )
    .await?;
    Ok(mother)
}

/// Moves a mother to `status` as of `on`. `INVALID_TRANSITION` when she already has it, or
/// for CERTIFIED without a completed enrolment; `BAD_USER_INPUT` (`input.on`) for a date in
/// the future or before she joined.
pub async fn change_status(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
    status: MotherStatus,
    on: NaiveDate,
) -> ApiResult<mother::Model> {
    let mother = writable(db, principal, id).await?;
    if mother.status == status {
        return Err(ApiError::InvalidTransition(format!(
            "the mother already has the status {status:?}"
        )));
    }
    if on < mother.joined_on {
        return Err(ApiError::validation(
            "input.on",
            "is before the mother joined the project",
        ));
    }
    if status == MotherStatus::Certified && !has_completed_a_course(db, id).await? {
        return Err(ApiError::InvalidTransition(
            "a mother is CERTIFIED only after completing a course; certify her enrolment instead"
                .into(),
        ));
    }
    let detail = format!("{:?} -> {:?} on {on}", mother.status, status);
    let leaving_or_back = MotherStatus::Left == status || MotherStatus::Left == mother.status;
    let mut row = mother.into_active_model();
    row.status = Set(status);
    row.left_on = Set((status == MotherStatus::Left).then_some(on));
    row.updated_at = Set(crate::db::now());
    let mother = row.update(db).await?;
    audit::record(
        db,
        actor,
        [Event::new(AuditAction::Transition, MOTHER_ENTITY, id).detail(detail)],
    )
    .await?;
    if leaving_or_back {
        // Her app's tokens are refused once she has left: every replica rereads the rows.
        token_cache::announce(db).await?;
    }
    Ok(mother)
}

/// Whether the mother holds a diploma: one of her enrolments is COMPLETED.
pub async fn has_completed_a_course(db: &impl ConnectionTrait, mother_id: Uuid) -> ApiResult<bool> {
    let completed = enrolment::Entity::find()
        .filter(enrolment::Column::MotherId.eq(mother_id))
        .filter(enrolment::Column::Status.eq(EnrolmentStatus::Completed))
        .count(db)
        .await?;
    Ok(completed > 0)
}
