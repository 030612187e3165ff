//! The GraphQL fields of a visit: the mother, the participant, the project, the notes (personal
//! data, audited). The type and the `visits` query are in `visits`; the fields here reach into
//! the areas they link to, so the area's own module imports none of them.

use crate::{
    auth::access,
    ids::Kind,
    loaders::{load_by_id, load_children},
    mothers::Mother,
    participants::Participant,
    projects::Project,
    vocabulary::{ContactOrigin, NextStep, VisitChannel, VisitTopic},
};
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, NaiveDate, Utc};
use entity::{mother, participant, project};

use super::{TopicsOfVisit, Visit};

/// A mother's activity: a home visit, a phone call, a group event or an accompaniment, with
/// date, duration and topics. Anonymous by default: linked to a participant only when there is
/// a reason (a referral came out of it) (`visits:read`).
#[Object]
impl Visit {
    /// The visit's global id.
    pub async fn id(&self) -> ID {
        Kind::Visit.id(self.0.id)
    }
    /// The form the visit took.
    async fn channel(&self) -> VisitChannel {
        self.0.channel.into()
    }
    /// The day of the visit.
    async fn visited_on(&self) -> NaiveDate {
        self.0.visited_on
    }
    /// How long it took, in minutes; counts as the mother's volunteer hours (ACTIVITY).
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }
    /// Topics discussed.
    async fn topics(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<VisitTopic>>> {
        let rows = load_children::<TopicsOfVisit>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(|t| t.topic.into()).collect()))
    }
    /// How the contact came about.
    async fn contact_origin(&self) -> ContactOrigin {
        self.0.contact_origin.into()
    }
    /// The next step agreed.
    async fn next_step(&self) -> NextStep {
        self.0.next_step.into()
    }
    /// For group events: how many women took part.
    async fn attendee_count(&self) -> Option<i32> {
        self.0.attendee_count
    }
    /// Free text, possibly about the woman visited: shared only with the secretariat and the
    /// operator of the visit's project, otherwise `null` with `FORBIDDEN`; every read is
    /// audited.
    async fn notes(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        access::visit_notes(ctx, &self.0).await?;
        Ok(self.0.notes.as_deref())
    }
    /// The project the visit belongs to.
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        Ok(load_by_id::<project::Entity>(ctx, self.0.project_id)
            .await?
            .map(Project))
    }
    /// The mother who made the visit.
    async fn mother(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Mother>> {
        Ok(load_by_id::<mother::Entity>(ctx, self.0.mother_id)
            .await?
            .map(Mother))
    }
    /// `null` for an anonymous visit (the default).
    async fn participant(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Participant>> {
        let Some(participant) = self.0.participant_id else {
            return Ok(None);
        };
        Ok(load_by_id::<participant::Entity>(ctx, participant)
            .await?
            .map(Participant))
    }
    /// When the visit was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed (for incremental sync).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
