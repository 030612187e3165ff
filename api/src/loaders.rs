//! DataLoaders: nested fields are answered in one query per level, whatever the page size.
//!
//! Loaders are created per request for its principal and start from `principal.read::<E>()`,
//! so a nested field can never show a row that a top-level query would hide. A row the
//! caller may not see is simply absent from the batch (the field resolves to `null`).

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    marker::PhantomData,
    sync::{Arc, Mutex},
};

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait, QueryFilter, QueryOrder, Value,
};
use uuid::Uuid;

use crate::{auth::Principal, auth::Scoped, error::ApiError};

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

/// Something a request can build for itself; the registry below makes each one at most once.
pub trait RequestLoader: Send + Sync + 'static {
    fn new(db: DatabaseConnection, principal: Arc<Principal>) -> Self;
}

fn uuid_of<M: ModelTrait>(model: &M, column: <M::Entity as EntityTrait>::Column) -> Option<Uuid> {
    match model.get(column) {
        Value::Uuid(Some(id)) => Some(id),
        _ => None,
    }
}

/// Rows of `E` by id, one `WHERE id IN (...)` per batch.
pub struct ById<E> {
    db: DatabaseConnection,
    principal: Arc<Principal>,
    entity: PhantomData<fn() -> E>,
}

impl<E: Keyed> RequestLoader for ById<E> {
    fn new(db: DatabaseConnection, principal: Arc<Principal>) -> Self {
        Self {
            db,
            principal,
            entity: PhantomData,
        }
    }
}

impl<E> Loader<Uuid> for ById<E>
where
    E: Keyed,
    E::Model: Sync,
{
    type Value = E::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, E::Model>, ApiError> {
        let rows = self
            .principal
            .read::<E>()?
            .filter(E::id_column().is_in(keys.iter().copied()))
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
    db: DatabaseConnection,
    principal: Arc<Principal>,
    relation: PhantomData<fn() -> C>,
}

impl<C: ChildOf> RequestLoader for Children<C> {
    fn new(db: DatabaseConnection, principal: Arc<Principal>) -> Self {
        Self {
            db,
            principal,
            relation: PhantomData,
        }
    }
}

impl<C> Loader<Uuid> for Children<C>
where
    C: ChildOf,
    <C::Entity as EntityTrait>::Model: Sync,
{
    type Value = Vec<<C::Entity as EntityTrait>::Model>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, ApiError> {
        let rows = self
            .principal
            .read::<C::Entity>()?
            .filter(C::parent_column().is_in(keys.iter().copied()))
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

/// The loaders of one request, made on first use.
pub struct Loaders {
    db: DatabaseConnection,
    principal: Arc<Principal>,
    made: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Loaders {
    pub fn new(db: DatabaseConnection, principal: Arc<Principal>) -> Self {
        Self {
            db,
            principal,
            made: Mutex::default(),
        }
    }

    pub fn get<T: RequestLoader>(&self) -> Arc<DataLoader<T>> {
        let mut made = self
            .made
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = made.entry(TypeId::of::<T>()).or_insert_with(|| {
            let loader = T::new(self.db.clone(), self.principal.clone());
            Arc::new(DataLoader::new(loader, tokio::spawn))
        });
        // The map is keyed by the loader's own TypeId, so the downcast cannot fail; should it
        // ever, an unbatched loader still answers correctly.
        entry
            .clone()
            .downcast::<DataLoader<T>>()
            .unwrap_or_else(|_| {
                let loader = T::new(self.db.clone(), self.principal.clone());
                Arc::new(DataLoader::new(loader, tokio::spawn))
            })
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

/// One row by id through the request's batch loader; `None` when missing or not visible.
pub async fn load_by_id<E: Keyed>(
    ctx: &async_graphql::Context<'_>,
    id: Uuid,
) -> crate::error::ApiResult<Option<E::Model>>
where
    E::Model: Sync,
{
    use crate::schema::RequestContext;
    ctx.loader::<ById<E>>()?.load_one(id).await
}

/// The children of one parent through the request's batch loader.
pub async fn load_children<C: ChildOf>(
    ctx: &async_graphql::Context<'_>,
    parent: Uuid,
) -> crate::error::ApiResult<Vec<<C::Entity as EntityTrait>::Model>>
where
    <C::Entity as EntityTrait>::Model: Sync,
{
    use crate::schema::RequestContext;
    Ok(ctx
        .loader::<Children<C>>()?
        .load_one(parent)
        .await?
        .unwrap_or_default())
}
