//! Batch loading: nested fields are answered in one query per level, whatever the page size.
//!
//! Loaders are created per request for its principal and start from `principal.read::<E>()`,
//! so a nested field can never show a row that a top-level query would hide. A row the
//! caller may not see is simply absent from the batch (the field resolves to `null`).
//!
//! How a batch is gathered and shared by the fields of a request is `context::batch`.

use std::{collections::HashMap, marker::PhantomData, sync::Arc};

use sea_orm::{ColumnTrait, EntityTrait, ModelTrait, QueryFilter, QueryOrder, Value};
use uuid::Uuid;

use crate::{
    auth::{Principal, Scoped},
    context::{BatchLoad, RequestContext},
    db::Db,
    error::ApiResult,
    ids::{self, Kind},
};

/// A table keyed by a UUID column (`id` for main tables).
pub trait Keyed: Scoped {
    fn id_column() -> Self::Column;
}

/// A child table listed under a parent: which column points at the parent, and the order in
/// which the children are shown.
pub trait ChildOf: Send + Sync + 'static {
    type Entity: Scoped;
    fn parent_column() -> <Self::Entity as EntityTrait>::Column;
    fn order_column() -> <Self::Entity as EntityTrait>::Column;
}

fn uuid_of<M: ModelTrait>(model: &M, column: <M::Entity as EntityTrait>::Column) -> Option<Uuid> {
    match model.get(column) {
        Value::Uuid(Some(id)) => Some(id),
        _ => None,
    }
}

/// Rows of `E` by id, one `WHERE id IN (...)` per batch.
pub struct ById<E> {
    db: Db,
    principal: Arc<Principal>,
    entity: PhantomData<fn() -> E>,
}

impl<E> BatchLoad for ById<E>
where
    E: Keyed,
    E::Model: Sync,
{
    type Key = Uuid;
    type Value = E::Model;

    fn new(db: Db, principal: Arc<Principal>) -> Self {
        Self {
            db,
            principal,
            entity: PhantomData,
        }
    }

    async fn load(&self, keys: Vec<Uuid>) -> ApiResult<HashMap<Uuid, E::Model>> {
        let rows = self
            .principal
            .read::<E>()?
            .filter(E::id_column().is_in(keys))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| uuid_of(&row, E::id_column()).map(|id| (id, row)))
            .collect())
    }
}

/// All children of each parent in a batch, in `C::order_column()` order.
pub struct Children<C> {
    db: Db,
    principal: Arc<Principal>,
    relation: PhantomData<fn() -> C>,
}

impl<C> BatchLoad for Children<C>
where
    C: ChildOf,
    <C::Entity as EntityTrait>::Model: Sync,
{
    type Key = Uuid;
    type Value = Vec<<C::Entity as EntityTrait>::Model>;

    fn new(db: Db, principal: Arc<Principal>) -> Self {
        Self {
            db,
            principal,
            relation: PhantomData,
        }
    }

    async fn load(&self, keys: Vec<Uuid>) -> ApiResult<HashMap<Uuid, Self::Value>> {
        let rows = self
            .principal
            .read::<C::Entity>()?
            .filter(C::parent_column().is_in(keys))
            .order_by_asc(C::order_column())
            .all(&self.db)
            .await?;
        let mut grouped: HashMap<Uuid, Self::Value> = HashMap::new();
        for row in rows {
            if let Some(parent) = uuid_of(&row, C::parent_column()) {
                grouped.entry(parent).or_default().push(row);
            }
        }
        Ok(grouped)
    }
}

/// Declares which entities are `Keyed` by their `id` column.
macro_rules! keyed_by_id {
    ($($module:ident),+ $(,)?) => {
        $(impl Keyed for entity::$module::Entity {
            fn id_column() -> Self::Column {
                entity::$module::Column::Id
            }
        })+
    };
}

keyed_by_id!(
    organisation,
    project,
    mother,
    course,
    enrolment,
    participant,
    consent,
    visit,
    referral,
    referral_event,
    api_client,
    api_token,
    audit_event,
    client_credential,
    webhook,
    webhook_delivery,
    volunteer_hours,
    service,
    service_location,
    service_contact,
    staff_member,
);

/// Declares a parent→children relation for the [`Children`] loader.
#[macro_export]
macro_rules! child_of {
    ($name:ident: $module:ident by $parent:ident ordered by $order:ident) => {
        pub struct $name;
        impl $crate::loaders::ChildOf for $name {
            type Entity = entity::$module::Entity;
            fn parent_column() -> entity::$module::Column {
                entity::$module::Column::$parent
            }
            fn order_column() -> entity::$module::Column {
                entity::$module::Column::$order
            }
        }
    };
}

/// One object of a known type by its global id, through the batch loader and access rules;
/// `None` when it is missing or not visible, an error when the id names another type.
pub async fn lookup<E: Keyed, N>(
    ctx: &async_graphql::Context<'_>,
    id: &async_graphql::ID,
    kind: Kind,
    wrap: impl FnOnce(E::Model) -> N,
) -> ApiResult<Option<N>>
where
    E::Model: Sync,
{
    let uuid = ids::decode_as(id, kind, "id")?;
    fetch::<E, N>(ctx, uuid, wrap).await
}

/// One object by its row id, wrapped as its GraphQL type.
pub async fn fetch<E: Keyed, N>(
    ctx: &async_graphql::Context<'_>,
    id: uuid::Uuid,
    wrap: impl FnOnce(E::Model) -> N,
) -> ApiResult<Option<N>>
where
    E::Model: Sync,
{
    Ok(load_by_id::<E>(ctx, id).await?.map(wrap))
}

/// One row by id through the request's batch loader; `None` when missing or not visible.
pub async fn load_by_id<E: Keyed>(
    ctx: &async_graphql::Context<'_>,
    id: Uuid,
) -> ApiResult<Option<E::Model>>
where
    E::Model: Sync,
{
    ctx.loader::<ById<E>>()?.load_one(id).await
}

/// The children of one parent through the request's batch loader.
pub async fn load_children<C: ChildOf>(
    ctx: &async_graphql::Context<'_>,
    parent: Uuid,
) -> ApiResult<Vec<<C::Entity as EntityTrait>::Model>>
where
    <C::Entity as EntityTrait>::Model: Sync,
{
    Ok(ctx
        .loader::<Children<C>>()?
        .load_one(parent)
        .await?
        .unwrap_or_default())
}
