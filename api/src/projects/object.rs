//! The GraphQL fields of a project and its partners: the operator, the municipality, its
//! courses and mothers. The types and the `projects` query are in `projects`; the fields here
//! reach into the areas they link to, so the area's own module imports none of them.

use crate::{
    courses::Course,
    ids::Kind,
    loaders::{load_by_id, load_children},
    mothers::Mother,
    organisations::{Municipality, Organisation, municipality_by_code},
    vocabulary::{MotherStatus, PartnerRole, ProjectStatus},
};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{mother, organisation};

use super::{CoursesOfProject, MothersOfProject, PartnersOfProject, Project, ProjectPartner};

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
