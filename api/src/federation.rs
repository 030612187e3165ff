//! Apollo Federation v2: the entity resolvers behind `_entities`, so a municipality's
//! supergraph can extend Bydel's types (`@key(fields: "id")`) and reference them by id.
//!
//! Every resolver goes through [`loaders::lookup`], the path `node(id:)` and the single-object
//! queries take: the same loaders, the same `principal.read` scoping. A row the token may not
//! see resolves to `null`, exactly like an id that does not exist.
//!
//! Each representation of an `_entities` batch stands alone: one that is malformed (not an
//! object, no `__typename`, no string `id`, an id of another type, a type that is no entity)
//! or refused (`FORBIDDEN`) is `null` at its index with an error whose path is
//! `["_entities", index]`; the others resolve. async-graphql fails the whole field on the first
//! such error, so [`Entities`] wraps the query root and answers every representation itself.

use std::{
    borrow::Cow,
    collections::{HashMap, VecDeque},
    sync::{Mutex, PoisonError},
};

use async_graphql::{
    ContainerType, Context, ContextSelectionSet, ID, Object, ObjectType, OutputType, PathSegment,
    Positioned, ServerError, ServerResult, Value, parser::types::Field, registry::Registry,
    resolver_utils::resolve_container,
};
use entity::{mother, organisation, participant, project, referral, service, visit};

use crate::{
    directory::Service, error::ApiError, ids::Kind, loaders::lookup, mothers::Mother,
    organisations::Organisation, participants::Participant, projects::Project, referrals::Referral,
    visits::Visit,
};

/// The query root `Q` with per-representation failures in `_entities` (see the module
/// documentation). Everything else is `Q`'s: its name, its fields, its entity resolvers.
#[derive(Default)]
pub struct Entities<Q>(pub Q);

impl<Q: ContainerType> ContainerType for Entities<Q> {
    async fn resolve_field(&self, ctx: &Context<'_>) -> ServerResult<Option<Value>> {
        self.0.resolve_field(ctx).await
    }

    /// Never fails: a representation that cannot be resolved is `null` with its own error.
    async fn find_entity(&self, ctx: &Context<'_>, params: &Value) -> ServerResult<Option<Value>> {
        let err = match malformed(params) {
            Some(reason) => server_error(ctx, ApiError::validation("representations", reason)),
            None => match self.0.find_entity(ctx, params).await {
                Ok(Some(found)) => return Ok(Some(found)),
                Ok(None) => {
                    let typename = match params {
                        Value::Object(map) => map.get("__typename").map(ToString::to_string),
                        _ => None,
                    };
                    let message = format!(
                        "{} is not an entity type of this subgraph",
                        typename.unwrap_or_default()
                    );
                    server_error(ctx, ApiError::validation("representations", message))
                }
                Err(err) => err,
            },
        };
        ctx.add_error(at_its_index(ctx, params, err));
        Ok(Some(Value::Null))
    }
}

impl<Q: ContainerType> OutputType for Entities<Q> {
    fn type_name() -> Cow<'static, str> {
        Q::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Q::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        resolve_container(ctx, self).await
    }
}

impl<Q: ObjectType> ObjectType for Entities<Q> {}

/// What is wrong with a representation before any resolver sees it, if anything.
fn malformed(representation: &Value) -> Option<&'static str> {
    let Value::Object(fields) = representation else {
        return Some("a representation is an object with `__typename` and `id`");
    };
    if !matches!(fields.get("__typename"), Some(Value::String(_))) {
        return Some("`__typename` must be the name of an entity type, e.g. \"Referral\"");
    }
    match fields.get("id") {
        None | Some(Value::Null) => Some("`id` is missing"),
        Some(Value::String(_)) => None,
        Some(_) => Some("`id` must be a string: the object's global id"),
    }
}

/// `err` as async-graphql reports an error of the field `ctx` resolves.
fn server_error(ctx: &Context<'_>, err: ApiError) -> ServerError {
    async_graphql::Error::from(err).into_server_error(ctx.item.pos)
}

/// `err` with the path of the representation it belongs to: the `_entities` field's own path
/// and the representation's index.
fn at_its_index(ctx: &Context<'_>, representation: &Value, err: ServerError) -> ServerError {
    let mut err = ctx.set_error_path(err);
    if let Some(index) = index_of(ctx, representation) {
        err.path.push(PathSegment::Index(index));
    }
    err
}

/// The index of `representation` in the batch of the `_entities` field `ctx` resolves. Equal
/// representations fail equally, so each takes the first index of its text not yet taken; the
/// batch is indexed once per field and request ([`Batches`]), not once per failure.
fn index_of(ctx: &Context<'_>, representation: &Value) -> Option<usize> {
    let text = representation.to_string();
    let batch = || -> Vec<String> {
        ctx.param_value::<Vec<async_graphql::Any>>("representations", None)
            .map(|(_, all)| all.iter().map(|one| one.0.to_string()).collect())
            .unwrap_or_default()
    };
    let Some(batches) = ctx.data_opt::<Batches>() else {
        return batch().iter().position(|one| *one == text);
    };
    let field = ctx
        .path_node
        .map(|node| node.to_string())
        .unwrap_or_default();
    let mut batches = batches.0.lock().unwrap_or_else(PoisonError::into_inner);
    let positions = batches.entry(field).or_insert_with(|| {
        let mut positions: HashMap<String, VecDeque<usize>> = HashMap::new();
        for (index, one) in batch().into_iter().enumerate() {
            positions.entry(one).or_default().push_back(index);
        }
        positions
    });
    positions.get_mut(&text)?.pop_front()
}

/// Per request: for each `_entities` field (by its response path), the indices of its
/// representations by their text, handed out as they fail. The schema's extension
/// ([`crate::execution`]) gives every request one.
#[derive(Default)]
pub(crate) struct Batches(Mutex<HashMap<String, HashMap<String, VecDeque<usize>>>>);

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
