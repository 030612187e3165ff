//! Apollo Federation v2: the entity resolvers behind `_entities`, so a municipality's
//! supergraph can extend Bydel's types (`@key(fields: "id")`) and reference them by id.
//!
//! Every resolver goes through [`node::lookup`], the path `node(id:)` and the single-object
//! queries take: the same loaders, the same `principal.read` scoping. A row the token may not
//! see resolves to `null`, exactly like an id that does not exist.

use async_graphql::{Context, ID, Object};
use entity::{mother, organisation, participant, project, referral, service, visit};

use crate::{
    directory::Service, ids::Kind, mothers::Mother, node::lookup, organisations::Organisation,
    participants::Participant, projects::Project, referrals::Referral, visits::Visit,
};

/// Contributes no visible fields: async-graphql turns each `entity` resolver into a member of
/// the `_Entity` union and a `@key(fields: "id")` on its type.
#[derive(Default)]
pub struct FederationQuery;

#[Object]
impl FederationQuery {
    #[graphql(entity)]
    async fn organisation_entity(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Organisation>> {
        Ok(lookup::<organisation::Entity, _>(ctx, &id, Kind::Organisation, Organisation).await?)
    }

    /// The directory is reference data: a supergraph may extend a service (its own
    /// caseworker notes on it, say) and resolve it for any token.
    #[graphql(entity)]
    async fn service_entity(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Service>> {
        Ok(lookup::<service::Entity, _>(ctx, &id, Kind::Service, Service).await?)
    }

    #[graphql(entity)]
    async fn project_entity(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Project>> {
        Ok(lookup::<project::Entity, _>(ctx, &id, Kind::Project, Project).await?)
    }

    #[graphql(entity)]
    async fn mother_entity(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Mother>> {
        Ok(lookup::<mother::Entity, _>(ctx, &id, Kind::Mother, Mother).await?)
    }

    #[graphql(entity)]
    async fn visit_entity(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Visit>> {
        Ok(lookup::<visit::Entity, _>(ctx, &id, Kind::Visit, Visit).await?)
    }

    #[graphql(entity)]
    async fn participant_entity(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Participant>> {
        Ok(lookup::<participant::Entity, _>(ctx, &id, Kind::Participant, Participant).await?)
    }

    #[graphql(entity)]
    async fn referral_entity(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Referral>> {
        Ok(lookup::<referral::Entity, _>(ctx, &id, Kind::Referral, Referral).await?)
    }
}
