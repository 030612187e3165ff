//! Batch loading: nested fields are answered in one query per level, whatever the page size.
//!
//! Loaders are created per request for its principal and start from `principal.read::<E>()`,
//! so a nested field can never show a row that a top-level query would hide. A row the
//! caller may not see is simply absent from the batch (the field resolves to `null`).
//!
//! Batching is deterministic: the first field that asks for a key leads the batch and yields
//! once inside the request's own task, so every sibling polled in the same pass joins it; then
//! the leader runs one query for all of them. No timer decides what goes into a batch (unlike a
//! delay-based DataLoader, whose batches split when polling a level outlasts the delay).

use std::{
    any::{Any, TypeId},
    collections::{HashMap, HashSet},
    future::Future,
    hash::Hash,
    marker::PhantomData,
    sync::{Arc, Mutex, MutexGuard},
};

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, ModelTrait, QueryFilter, QueryOrder, Value,
};
use tokio::sync::oneshot;
use uuid::Uuid;

use crate::{
    auth::{Principal, Scoped},
    error::{ApiError, ApiResult},
    schema::RequestContext,
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

/// One query for many keys; what a key does not map to is absent.
pub trait BatchLoad: Send + Sync + 'static {
    type Key: Copy + Eq + Hash + Send + Sync + 'static;
    type Value: Clone + Send + Sync + 'static;

    fn new(db: DatabaseConnection, principal: Arc<Principal>) -> Self;

    fn load(
        &self,
        keys: Vec<Self::Key>,
    ) -> impl Future<Output = ApiResult<HashMap<Self::Key, Self::Value>>> + Send;
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

impl<E> BatchLoad for ById<E>
where
    E: Keyed,
    E::Model: Sync,
{
    type Key = Uuid;
    type Value = E::Model;

    fn new(db: DatabaseConnection, principal: Arc<Principal>) -> Self {
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
    db: DatabaseConnection,
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

    fn new(db: DatabaseConnection, principal: Arc<Principal>) -> Self {
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

struct OpenBatch<K> {
    keys: HashSet<K>,
    waiters: Vec<oneshot::Sender<ApiResult<()>>>,
}

struct BatchState<K, V> {
    /// Settled keys of this request; `None` = no such (visible) row.
    settled: HashMap<K, Option<V>>,
    open: Option<OpenBatch<K>>,
}

/// Per-request batching and caching around one [`BatchLoad`].
pub struct Batcher<L: BatchLoad> {
    loader: L,
    state: Mutex<BatchState<L::Key, L::Value>>,
}

enum Role<V> {
    Settled(Option<V>),
    Leader,
    Follower(oneshot::Receiver<ApiResult<()>>),
}

impl<L: BatchLoad> Batcher<L> {
    fn new(loader: L) -> Self {
        Self {
            loader,
            state: Mutex::new(BatchState {
                settled: HashMap::new(),
                open: None,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, BatchState<L::Key, L::Value>> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn settled(&self, key: &L::Key) -> Option<L::Value> {
        self.state().settled.get(key).cloned().flatten()
    }

    pub async fn load_one(&self, key: L::Key) -> ApiResult<Option<L::Value>> {
        let role = {
            let mut state = self.state();
            if let Some(value) = state.settled.get(&key) {
                Role::Settled(value.clone())
            } else if let Some(open) = state.open.as_mut() {
                open.keys.insert(key);
                let (tx, rx) = oneshot::channel();
                open.waiters.push(tx);
                Role::Follower(rx)
            } else {
                state.open = Some(OpenBatch {
                    keys: HashSet::from([key]),
                    waiters: Vec::new(),
                });
                Role::Leader
            }
        };
        match role {
            Role::Settled(value) => Ok(value),
            Role::Follower(rx) => {
                rx.await
                    .map_err(|_| ApiError::internal("a batch was abandoned"))??;
                Ok(self.settled(&key))
            }
            Role::Leader => {
                // Let every sibling polled in this pass join the batch before it closes.
                tokio::task::yield_now().await;
                self.run_batch().await?;
                Ok(self.settled(&key))
            }
        }
    }

    async fn run_batch(&self) -> ApiResult<()> {
        let Some(batch) = self.state().open.take() else {
            return Ok(());
        };
        let keys: Vec<L::Key> = batch.keys.into_iter().collect();
        let outcome = self.loader.load(keys.clone()).await;
        let result = outcome.map(|mut found| {
            let mut state = self.state();
            for key in keys {
                let value = found.remove(&key);
                state.settled.insert(key, value);
            }
        });
        for waiter in batch.waiters {
            let _ = waiter.send(result.clone());
        }
        result
    }
}

/// The batchers of one request, made on first use.
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

    /// Forgets every cached row, so what resolves next reads the database again. A
    /// subscription lives for many notices and resolves each one from fresh rows; a batch
    /// already running finishes on the batcher it started with.
    pub fn clear(&self) {
        self.made
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    pub fn get<L: BatchLoad>(&self) -> Arc<Batcher<L>> {
        let make = || {
            Arc::new(Batcher::new(L::new(
                self.db.clone(),
                self.principal.clone(),
            )))
        };
        let mut made = self
            .made
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = made
            .entry(TypeId::of::<L>())
            .or_insert_with(|| make() as Arc<dyn Any + Send + Sync>);
        // Keyed by the loader's own TypeId, so the downcast cannot fail; should it ever, an
        // uncached batcher still answers correctly.
        entry
            .clone()
            .downcast::<Batcher<L>>()
            .unwrap_or_else(|_| make())
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
    webhook,
    webhook_delivery,
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
