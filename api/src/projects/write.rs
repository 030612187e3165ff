//! Writing projects and their partner organisations (`projects:write`, secretariat only).
//!
//! Invariants every write keeps (the GraphQL layer only decodes):
//! - the caller is the secretariat with `projects:write` (`Principal::may_manage_projects`),
//!   checked before the values are looked at;
//! - a name is trimmed, 1 to [`MAX_NAME_CHARS`]; `ended_on` is not before `started_on`;
//! - every reference (municipality code, operator, partner organisation, project) exists,
//!   else `BAD_USER_INPUT` naming its field; the operator is never also a partner;
//! - the change and its audit event are written in the caller's transaction.

use chrono::NaiveDate;
use entity::{
    enums::{AuditAction, PartnerRole, ProjectStatus},
    municipality, project, project_partner,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter,
};
use uuid::Uuid;

use crate::{
    audit::{self, Actor, Event},
    auth::Principal,
    error::{ApiError, ApiResult},
    writes::{referenced_organisation, required_name},
};

/// The longest project name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The `entity_type` of a project's audit events (its table name).
const PROJECT_ENTITY: &str = "project";
/// The `entity_type` of a partnership's audit events; `entity_id` is the project, `detail`
/// the organisation, since the row has no id of its own.
const PARTNER_ENTITY: &str = "project_partner";

/// A new project's values, decoded by the resolver.
pub struct NewProject {
    pub name: String,
    pub municipality_code: i32,
    pub operator_organisation_id: Uuid,
    pub status: ProjectStatus,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    /// Which corps it runs (issue 17).
    pub corps: entity::enums::ProjectCorps,
}

/// A change to a project: only the fields given change.
#[derive(Default)]
pub struct ProjectChange {
    pub name: Option<String>,
    pub status: Option<ProjectStatus>,
    pub ended_on: Option<NaiveDate>,
    pub operator_organisation_id: Option<Uuid>,
}

/// `ended_on` may not come before `started_on`.
fn check_dates(started_on: NaiveDate, ended_on: Option<NaiveDate>, field: &str) -> ApiResult<()> {
    match ended_on {
        Some(ended) if ended < started_on => Err(ApiError::validation(
            field,
            format!("is before the project started ({started_on})"),
        )),
        _ => Ok(()),
    }
}

async fn existing_municipality(db: &impl ConnectionTrait, code: i32, field: &str) -> ApiResult<()> {
    municipality::Entity::find_by_id(code)
        .one(db)
        .await?
        .map(drop)
        .ok_or_else(|| ApiError::validation(field, format!("no municipality has code {code}")))
}

/// A project named by a reference field of the input (unknown is bad input, not a missing
/// record: the secretariat sees every project, so there is nothing to hide).
async fn existing_project(
    db: &impl ConnectionTrait,
    id: Uuid,
    field: &str,
) -> ApiResult<project::Model> {
    project::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::validation(field, "no such project"))
}

/// The operator runs the project; listing it as its own partner would double its rights
/// for nothing and confuse the partner list.
async fn not_a_partner(
    db: &impl ConnectionTrait,
    project_id: Uuid,
    organisation_id: Uuid,
    field: &str,
) -> ApiResult<()> {
    let partner = project_partner::Entity::find_by_id((project_id, organisation_id))
        .one(db)
        .await?;
    match partner {
        Some(_) => Err(ApiError::validation(
            field,
            "is a partner of this project; remove the partnership first",
        )),
        None => Ok(()),
    }
}

pub async fn create_project(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    values: NewProject,
) -> ApiResult<project::Model> {
    principal.may_manage_projects()?;
    let name = required_name(&values.name, "input.name", MAX_NAME_CHARS)?;
    check_dates(values.started_on, values.ended_on, "input.endedOn")?;
    existing_municipality(db, values.municipality_code, "input.municipalityCode").await?;
    referenced_organisation(
        db,
        values.operator_organisation_id,
        "input.operatorOrganisationId",
    )
    .await?;
    let now = crate::db::now();
    let project = project::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        municipality_code: Set(values.municipality_code),
        operator_organisation_id: Set(values.operator_organisation_id),
        status: Set(values.status),
        started_on: Set(values.started_on),
        ended_on: Set(values.ended_on),
        corps: Set(values.corps),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    let event = Event::new(AuditAction::Create, PROJECT_ENTITY, project.id);
    audit::record(db, actor, [event]).await?;
    Ok(project)
}

/// Changes a project. `id` names the record: unknown is `NOT_FOUND`.
pub async fn update_project(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
    change: ProjectChange,
) -> ApiResult<project::Model> {
    principal.may_manage_projects()?;
    let stored = project::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("project".into()))?;
    let name = change
        .name
        .as_deref()
        .map(|name| required_name(name, "input.name", MAX_NAME_CHARS))
        .transpose()?;
    let ended_on = change.ended_on.or(stored.ended_on);
    check_dates(stored.started_on, ended_on, "input.endedOn")?;
    if let Some(operator) = change.operator_organisation_id {
        let field = "input.operatorOrganisationId";
        referenced_organisation(db, operator, field).await?;
        not_a_partner(db, id, operator, field).await?;
    }
    let mut row = stored.into_active_model();
    if let Some(name) = name {
        row.name = Set(name);
    }
    if let Some(status) = change.status {
        row.status = Set(status);
    }
    row.ended_on = Set(ended_on);
    if let Some(operator) = change.operator_organisation_id {
        row.operator_organisation_id = Set(operator);
    }
    row.updated_at = Set(crate::db::now());
    let project = row.update(db).await?;
    let event = Event::new(AuditAction::Update, PROJECT_ENTITY, project.id);
    audit::record(db, actor, [event]).await?;
    Ok(project)
}

/// A partnership is part of the project as partners' systems see it: bump the project's
/// `updated_at` so `updatedSince` polling picks the change up.
async fn touch(db: &impl ConnectionTrait, project: project::Model) -> ApiResult<project::Model> {
    let mut row = project.into_active_model();
    row.updated_at = Set(crate::db::now());
    Ok(row.update(db).await?)
}

/// Makes `organisation_id` a partner of the project in `role`, or changes its role.
pub async fn set_partner(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    project_id: Uuid,
    organisation_id: Uuid,
    role: PartnerRole,
) -> ApiResult<project_partner::Model> {
    principal.may_manage_projects()?;
    let project = existing_project(db, project_id, "input.projectId").await?;
    referenced_organisation(db, organisation_id, "input.organisationId").await?;
    if project.operator_organisation_id == organisation_id {
        return Err(ApiError::validation(
            "input.organisationId",
            "operates this project, so it cannot also be its partner",
        ));
    }
    let stored = project_partner::Entity::find_by_id((project_id, organisation_id))
        .one(db)
        .await?;
    let (partner, action) = match stored {
        Some(stored) => {
            let mut row = stored.into_active_model();
            row.role = Set(role);
            (row.update(db).await?, AuditAction::Update)
        }
        None => {
            let row = project_partner::ActiveModel {
                project_id: Set(project_id),
                organisation_id: Set(organisation_id),
                role: Set(role),
                created_at: Set(crate::db::now()),
            };
            (row.insert(db).await?, AuditAction::Create)
        }
    };
    touch(db, project).await?;
    let event = Event::new(action, PARTNER_ENTITY, project_id).detail(organisation_id.to_string());
    audit::record(db, actor, [event]).await?;
    Ok(partner)
}

/// Ends a partnership; answers the project.
pub async fn remove_partner(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    project_id: Uuid,
    organisation_id: Uuid,
) -> ApiResult<project::Model> {
    principal.may_manage_projects()?;
    let project = existing_project(db, project_id, "input.projectId").await?;
    let removed = project_partner::Entity::delete_many()
        .filter(project_partner::Column::ProjectId.eq(project_id))
        .filter(project_partner::Column::OrganisationId.eq(organisation_id))
        .exec(db)
        .await?;
    if removed.rows_affected == 0 {
        return Err(ApiError::validation(
            "input.organisationId",
            "is not a partner of this project",
        ));
    }
    let project = touch(db, project).await?;
    let event = Event::new(AuditAction::Delete, PARTNER_ENTITY, project_id)
        .detail(organisation_id.to_string());
    audit::record(db, actor, [event]).await?;
    Ok(project)
}
