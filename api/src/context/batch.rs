//! Deterministic batching: the machinery under every loader of a request.
//!
//! The first field that asks for a key leads the batch and yields once inside the request's
//! own task, so every sibling polled in the same pass joins it; then the leader runs one query
//! for all of them. No timer decides what goes into a batch (unlike a delay-based DataLoader,
//! whose batches split when polling a level outlasts the delay). A key is queried at most once
//! per request: asked for again while its batch is still open or already running (a nested
//! field asking what its parent's sibling asked), the field waits for that batch. Errors reach
//! every field waiting for the batch and are not cached.
//!
//! What a batch loads (rows by id, children of a parent, scoped by the principal) is
//! `crate::loaders`; this module knows only keys and values.

use std::{
    any::{Any, TypeId},
    collections::{HashMap, HashSet},
    future::Future,
    hash::Hash,
    sync::{Arc, Mutex, MutexGuard},
};

use tokio::sync::oneshot;

use crate::{
    auth::Principal,
    db::Db,
    error::{ApiError, ApiResult},
};

/// One query for many keys; what a key does not map to is absent.
pub trait BatchLoad: Send + Sync + 'static {
    type Key: Copy + Eq + Hash + Send + Sync + 'static;
    type Value: Clone + Send + Sync + 'static;

    fn new(db: Db, principal: Arc<Principal>) -> Self;

    fn load(
        &self,
        keys: Vec<Self::Key>,
    ) -> impl Future<Output = ApiResult<HashMap<Self::Key, Self::Value>>> + Send;
}

/// The keys of one batch and the fields waiting for it; the leader is not among the waiters.
struct Batch<K> {
    keys: HashSet<K>,
    waiters: Vec<oneshot::Sender<ApiResult<()>>>,
}

struct BatchState<K, V> {
    /// Settled keys of this request; `None` = no such (visible) row.
    settled: HashMap<K, Option<V>>,
    /// The batch still taking keys, with its id; at most one.
    open: Option<(u64, Batch<K>)>,
    /// Batches whose query is running, by id. A key is in at most one of `settled`, `open`
    /// and `running`, and moves between them only under the lock, so a field asking for a key
    /// whose query is in flight follows that batch instead of sending the same query again.
    running: HashMap<u64, Batch<K>>,
    next_id: u64,
}

impl<K: Eq + Hash, V> BatchState<K, V> {
    /// The batch (open or running) that will settle `key`, if any.
    fn batch_of(&mut self, key: &K) -> Option<&mut Batch<K>> {
        if let Some((_, open)) = self.open.as_mut().filter(|(_, b)| b.keys.contains(key)) {
            return Some(open);
        }
        self.running
            .values_mut()
            .find(|running| running.keys.contains(key))
    }
}

/// Per-request batching and caching around one [`BatchLoad`].
pub struct Batcher<L: BatchLoad> {
    loader: L,
    state: Mutex<BatchState<L::Key, L::Value>>,
}

enum Role<V> {
    Settled(Option<V>),
    Leader(u64),
    Follower(oneshot::Receiver<ApiResult<()>>),
}

/// The leader's hold on its batch. Dropped before the batch settled (the leader's future was
/// cancelled), it removes the batch, open or running, so its followers hear "abandoned" at
/// once and a later field for the same keys starts a new batch instead of waiting forever.
struct Lead<'a, L: BatchLoad> {
    batcher: &'a Batcher<L>,
    id: u64,
    settled: bool,
}

impl<L: BatchLoad> Drop for Lead<'_, L> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let mut state = self.batcher.state();
        if state.open.as_ref().is_some_and(|(id, _)| *id == self.id) {
            state.open = None;
        }
        state.running.remove(&self.id);
    }
}

impl<L: BatchLoad> Batcher<L> {
    fn new(loader: L) -> Self {
        Self {
            loader,
            state: Mutex::new(BatchState {
                settled: HashMap::new(),
                open: None,
                running: HashMap::new(),
                next_id: 0,
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

    /// Settles `key` as `value` unless it is settled or in a batch already: for rows a planned
    /// statement read under the same conditions as this loader's query (`crate::planned`).
    /// `None` settles it as "no such visible row".
    pub fn seed(&self, key: L::Key, value: Option<L::Value>) {
        let mut state = self.state();
        if state.settled.contains_key(&key) || state.batch_of(&key).is_some() {
            return;
        }
        state.settled.insert(key, value);
    }

    /// The value of `key`: settled already, from the batch (open or running) that has it, or
    /// from a new batch this call leads. Every key is queried at most once per batcher.
    pub async fn load_one(&self, key: L::Key) -> ApiResult<Option<L::Value>> {
        let role = {
            let mut state = self.state();
            if let Some(value) = state.settled.get(&key) {
                Role::Settled(value.clone())
            } else if let Some(batch) = state.batch_of(&key) {
                let (tx, rx) = oneshot::channel();
                batch.waiters.push(tx);
                Role::Follower(rx)
            } else if let Some((_, open)) = state.open.as_mut() {
                open.keys.insert(key);
                let (tx, rx) = oneshot::channel();
                open.waiters.push(tx);
                Role::Follower(rx)
            } else {
                let id = state.next_id;
                state.next_id = state.next_id.wrapping_add(1);
                state.open = Some((
                    id,
                    Batch {
                        keys: HashSet::from([key]),
                        waiters: Vec::new(),
                    },
                ));
                Role::Leader(id)
            }
        };
        match role {
            Role::Settled(value) => Ok(value),
            Role::Follower(rx) => {
                rx.await
                    .map_err(|_| ApiError::internal("a batch was abandoned"))??;
                Ok(self.settled(&key))
            }
            Role::Leader(id) => {
                let mut lead = Lead {
                    batcher: self,
                    id,
                    settled: false,
                };
                // Let every sibling polled in this pass join the batch before it closes.
                tokio::task::yield_now().await;
                self.run_batch(&mut lead).await?;
                Ok(self.settled(&key))
            }
        }
    }

    /// Closes the leader's batch, runs its query and settles its keys. The batch stays
    /// findable under `running` while the query runs; its keys become settled and its waiters
    /// are taken in the same critical section, so no field can slip between the two.
    async fn run_batch(&self, lead: &mut Lead<'_, L>) -> ApiResult<()> {
        let keys: Vec<L::Key> = {
            let mut state = self.state();
            let Some((id, batch)) = state.open.take_if(|(id, _)| *id == lead.id) else {
                lead.settled = true;
                return Ok(());
            };
            let keys = batch.keys.iter().copied().collect();
            state.running.insert(id, batch);
            keys
        };
        let outcome = self.loader.load(keys.clone()).await;
        let (result, waiters) = {
            let mut state = self.state();
            let waiters = state
                .running
                .remove(&lead.id)
                .map(|batch| batch.waiters)
                .unwrap_or_default();
            let result = outcome.map(|mut found| {
                for key in keys {
                    let value = found.remove(&key);
                    state.settled.insert(key, value);
                }
            });
            (result, waiters)
        };
        lead.settled = true;
        for waiter in waiters {
            let _ = waiter.send(result.clone());
        }
        result
    }
}

/// The batchers of one request, made on first use.
pub struct Loaders {
    db: Db,
    principal: Arc<Principal>,
    made: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Loaders {
    pub fn new(db: Db, principal: Arc<Principal>) -> Self {
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

#[cfg(test)]
mod tests {
    use std::{
        collections::HashMap,
        sync::{Arc, Mutex},
    };

    use crate::db::Db;
    use tokio::sync::{Notify, Semaphore};

    use super::{BatchLoad, Batcher};
    use crate::{
        auth::Principal,
        error::{ApiError, ApiResult},
    };

    /// A loader whose query holds until the test releases it, recording each batch's keys.
    struct Gated {
        batches: Arc<Mutex<Vec<Vec<u32>>>>,
        started: Arc<Notify>,
        release: Arc<Semaphore>,
        fail: bool,
    }

    impl Gated {
        fn new(fail: bool) -> Self {
            Self {
                batches: Arc::default(),
                started: Arc::default(),
                release: Arc::new(Semaphore::new(0)),
                fail,
            }
        }
    }

    impl BatchLoad for Gated {
        type Key = u32;
        type Value = u32;

        fn new(_: Db, _: Arc<Principal>) -> Self {
            Self::new(false)
        }

        async fn load(&self, mut keys: Vec<u32>) -> ApiResult<HashMap<u32, u32>> {
            keys.sort_unstable();
            self.batches.lock().unwrap().push(keys.clone());
            self.started.notify_one();
            let _permit = self.release.acquire().await.map_err(ApiError::internal)?;
            if self.fail {
                return Err(ApiError::internal("the query failed"));
            }
            Ok(keys.into_iter().map(|key| (key, key * 10)).collect())
        }
    }

    /// Starts `load_one(key)` on its own task.
    fn load(
        batcher: &Arc<Batcher<Gated>>,
        key: u32,
    ) -> tokio::task::JoinHandle<ApiResult<Option<u32>>> {
        let batcher = batcher.clone();
        tokio::spawn(async move { batcher.load_one(key).await })
    }

    /// Waits until `count` fields wait on running batches.
    async fn running_waiters(batcher: &Batcher<Gated>, count: usize) {
        loop {
            let waiting: usize = {
                let state = batcher.state();
                state.running.values().map(|b| b.waiters.len()).sum()
            };
            if waiting >= count {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    fn batches(batcher: &Batcher<Gated>) -> Vec<Vec<u32>> {
        batcher.loader.batches.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn a_key_asked_for_while_its_query_runs_joins_that_query() {
        let batcher = Arc::new(Batcher::new(Gated::new(false)));
        let first = load(&batcher, 1);
        batcher.loader.started.notified().await;
        let again = load(&batcher, 1);
        running_waiters(&batcher, 1).await;
        let other = load(&batcher, 2);
        batcher.loader.release.add_permits(2);

        assert_eq!(first.await.unwrap().unwrap(), Some(10));
        assert_eq!(again.await.unwrap().unwrap(), Some(10));
        assert_eq!(other.await.unwrap().unwrap(), Some(20));
        // Key 1 once; key 2 was not in flight, so it had a batch of its own.
        assert_eq!(batches(&batcher), vec![vec![1], vec![2]]);
        assert_eq!(batcher.load_one(1).await.unwrap(), Some(10), "settled");
        assert_eq!(batches(&batcher).len(), 2);
    }

    #[tokio::test]
    async fn a_failed_query_fails_every_waiter_and_a_later_ask_tries_again() {
        let batcher = Arc::new(Batcher::new(Gated::new(true)));
        let first = load(&batcher, 1);
        batcher.loader.started.notified().await;
        let joined = [load(&batcher, 1), load(&batcher, 1)];
        running_waiters(&batcher, 2).await;
        batcher.loader.release.add_permits(1);

        assert!(first.await.unwrap().is_err());
        for waiter in joined {
            assert!(waiter.await.unwrap().is_err());
        }
        assert_eq!(batches(&batcher), vec![vec![1]]);
        batcher.loader.release.add_permits(1);
        assert!(batcher.load_one(1).await.is_err());
        assert_eq!(batches(&batcher).len(), 2, "an error is not cached");
    }

    #[tokio::test]
    async fn a_cancelled_leader_releases_its_followers() {
        let batcher = Arc::new(Batcher::new(Gated::new(false)));
        let leader = load(&batcher, 1);
        batcher.loader.started.notified().await;
        let follower = load(&batcher, 1);
        running_waiters(&batcher, 1).await;
        leader.abort();

        let err = follower.await.unwrap().unwrap_err();
        assert!(format!("{err:?}").contains("abandoned"), "{err:?}");
        batcher.loader.release.add_permits(1);
        assert_eq!(batcher.load_one(1).await.unwrap(), Some(10), "asked anew");
        assert_eq!(batches(&batcher), vec![vec![1], vec![1]]);
    }
}
