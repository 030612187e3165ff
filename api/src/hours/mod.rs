//! Volunteer hours: the time mothers give a project that funders are told about, by kind
//! (activity, training, meetings, other), per mother (or the group), project and day.
//!
//! One source of truth per minute: a visit's duration *is* activity time and is counted as
//! such by `stats.volunteerHours` straight from the visit; entries here are the rest (course
//! modules, meetings, other time, and activity that is not a recorded visit), so no minute is
//! counted twice. An entry names a mother, not a participant, and carries no free text.
//!
//! Reading is here (`node(id:)`, `mothers:read` under the mothers' row rules); writing is in
//! [`write`] (data functions) and [`mutation`] (resolvers).

mod mutation;
pub mod write;

pub use mutation::HoursMutation;

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{mother, project, volunteer_hours};

use crate::{
    ids::Kind, loaders::load_by_id, mothers::Mother, projects::Project, vocabulary::HoursKind,
};

pub struct VolunteerHours(pub volunteer_hours::Model);

/// Volunteer time a mother gave that is not a recorded visit (training, meetings, other
/// activity), as funders count it (`mothers:read`).
#[Object]
impl VolunteerHours {
    /// The entry's global id.
    pub async fn id(&self) -> ID {
        Kind::VolunteerHours.id(self.0.id)
    }
    /// What the time was given to.
    async fn kind(&self) -> HoursKind {
        self.0.kind.into()
    }
    /// The day the time was given.
    async fn worked_on(&self) -> NaiveDate {
        self.0.worked_on
    }
    /// How long, in minutes.
    async fn minutes(&self) -> i32 {
        self.0.minutes
    }
    /// The project the time was given to.
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        Ok(load_by_id::<project::Entity>(ctx, self.0.project_id)
            .await?
            .map(Project))
    }
    /// The mother who gave the time; `null` for the group's own hours (or when hidden).
    async fn mother(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Mother>> {
        let Some(id) = self.0.mother_id else {
            return Ok(None);
        };
        Ok(load_by_id::<mother::Entity>(ctx, id).await?.map(Mother))
    }
    /// When the entry was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
