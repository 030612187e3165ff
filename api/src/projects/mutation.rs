//! The project mutations (`projects:write`, secretariat only): thin resolvers that decode ids
//! and enums and run one data function of [`super::write`] in one transaction.
//!
//! Ids inside `input` are references: malformed, of the wrong type or unknown is
//! `BAD_USER_INPUT` naming the field. The `id` of `updateProject` names the record: unknown
//! is `NOT_FOUND`. A refused mutation answers `null` with its error and writes nothing.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::NaiveDate;

use super::{
    Project, ProjectPartner,
    write::{self, NewProject, ProjectChange},
};
use crate::{
    ids::{self, Kind},
    vocabulary::{PartnerRole, ProjectStatus},
    writes::{caller, in_transaction},
};

/// A new local project in a municipality, run by an operator organisation.
#[derive(InputObject)]
pub struct CreateProjectInput {
    /// 1 to 200 characters.
    pub name: String,
    /// A municipality's official code (e.g. 101 for København).
    pub municipality_code: i32,
    /// The organisation that runs the project.
    pub operator_organisation_id: ID,
    /// PLANNED when left out.
    pub status: Option<ProjectStatus>,
    /// The day it starts (or started).
    pub started_on: NaiveDate,
    /// Not before `startedOn`.
    pub ended_on: Option<NaiveDate>,
    /// Which corps it runs: MOTHERS when left out.
    pub corps: Option<crate::vocabulary::ProjectCorps>,
}

/// Only the fields given change.
#[derive(InputObject)]
pub struct UpdateProjectInput {
    /// The project (`Project.id`).
    pub id: ID,
    /// Its new name, 1 to 200 characters.
    pub name: Option<String>,
    /// Its new status.
    pub status: Option<ProjectStatus>,
    /// Not before the project's `startedOn`.
    pub ended_on: Option<NaiveDate>,
    /// A new operator organisation.
    pub operator_organisation_id: Option<ID>,
}

/// An organisation becomes a partner or funder of a project, or changes its role.
#[derive(InputObject)]
pub struct SetProjectPartnerInput {
    /// The project (`Project.id`).
    pub project_id: ID,
    /// The partner or funder; not the project's operator.
    pub organisation_id: ID,
    /// Partner or funder.
    pub role: PartnerRole,
}

/// An organisation stops being a partner or funder of a project.
#[derive(InputObject)]
pub struct RemoveProjectPartnerInput {
    /// The project (`Project.id`).
    pub project_id: ID,
    /// The partner or funder to remove.
    pub organisation_id: ID,
}

#[derive(Default)]
pub struct ProjectMutation;

#[Object]
impl ProjectMutation {
    /// Starts a project in a municipality, run by an operator organisation.
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new project: name, municipality, operating organisation, dates.")]
        input: CreateProjectInput,
    ) -> async_graphql::Result<Option<Project>> {
        let (principal, actor) = caller(ctx)?;
        let operator = ids::decode_as(
            &input.operator_organisation_id,
            Kind::Organisation,
            "input.operatorOrganisationId",
        )?;
        let values = NewProject {
            name: input.name,
            municipality_code: input.municipality_code,
            operator_organisation_id: operator,
            status: input.status.unwrap_or(ProjectStatus::Planned).into(),
            started_on: input.started_on,
            ended_on: input.ended_on,
            corps: input
                .corps
                .unwrap_or(crate::vocabulary::ProjectCorps::Mothers)
                .into(),
        };
        let project = in_transaction(ctx, async |txn| {
            write::create_project(txn, principal, &actor, values).await
        });
        Ok(Some(Project(project.await?)))
    }

    /// Renames a project, changes its status, end date or operator.
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The project and the fields to change; fields left out stay as they are."
        )]
        input: UpdateProjectInput,
    ) -> async_graphql::Result<Option<Project>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&input.id, Kind::Project, "input.id")?;
        let operator = input
            .operator_organisation_id
            .map(|o| ids::decode_as(&o, Kind::Organisation, "input.operatorOrganisationId"))
            .transpose()?;
        let change = ProjectChange {
            name: input.name,
            status: input.status.map(Into::into),
            ended_on: input.ended_on,
            operator_organisation_id: operator,
        };
        let project = in_transaction(ctx, async |txn| {
            write::update_project(txn, principal, &actor, id, change).await
        });
        Ok(Some(Project(project.await?)))
    }

    /// Makes an organisation a partner or funder of a project, or changes its role.
    async fn set_project_partner(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The project, the partner organisation and its role (added, or its role changed)."
        )]
        input: SetProjectPartnerInput,
    ) -> async_graphql::Result<Option<ProjectPartner>> {
        let (principal, actor) = caller(ctx)?;
        let project = ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?;
        let organisation = ids::decode_as(
            &input.organisation_id,
            Kind::Organisation,
            "input.organisationId",
        )?;
        let role = input.role.into();
        let partner = in_transaction(ctx, async |txn| {
            write::set_partner(txn, principal, &actor, project, organisation, role).await
        });
        Ok(Some(ProjectPartner(partner.await?)))
    }

    /// Ends a partnership; answers the project.
    async fn remove_project_partner(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project and the partner organisation to remove from it.")]
        input: RemoveProjectPartnerInput,
    ) -> async_graphql::Result<Option<Project>> {
        let (principal, actor) = caller(ctx)?;
        let project = ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?;
        let organisation = ids::decode_as(
            &input.organisation_id,
            Kind::Organisation,
            "input.organisationId",
        )?;
        let project = in_transaction(ctx, async |txn| {
            write::remove_partner(txn, principal, &actor, project, organisation).await
        });
        Ok(Some(Project(project.await?)))
    }
}
