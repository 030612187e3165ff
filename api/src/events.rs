//! The referral event bus: "referral event X was committed", delivered to the subscriptions of
//! every replica.
//!
//! The durable record is the `referral_event` row itself; the bus carries only its id, and a
//! subscriber reads the row (through its own row scope) when the id arrives. Invariants:
//! - **Only committed events are announced.** On PostgreSQL the write that inserts the row also
//!   runs `pg_notify` in its transaction, and PostgreSQL delivers a notification only on
//!   commit, to every replica's listener (one `LISTEN` connection per replica, reconnected with
//!   backoff). SQLite serves one process by design: the ids wait in the request's [`Outbox`]
//!   and are published once the transaction has committed, dropped when it rolls back.
//! - **The same listener carries token changes** ([`token_cache::CHANNEL`]): a notice clears
//!   the replica's [`TokenCache`]. Notices of both channels arrive in commit order on the one
//!   connection, so a revocation committed before an event is applied before that event is
//!   delivered. While the listener is not listening (start-up, a lost connection,
//!   reconnecting) the token cache is off, and it starts empty when the listener is back.
//! - **Nothing is skipped silently.** When a subscriber falls behind the buffer, or the
//!   listener lost its connection (notifications sent meanwhile are gone), the subscriber gets
//!   a [`Notice::Gap`] and ends its stream with an error; the client resyncs from the tables
//!   (`updatedSince`) and subscribes again.
//! - Bulk loads (the demo data) insert events without announcing them.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement,
    sqlx::{PgPool, postgres::PgListener},
};
use tokio::{
    sync::broadcast::{self, error::RecvError},
    task::AbortHandle,
};
use uuid::Uuid;

use crate::{
    auth::{TokenCache, token_cache},
    error::ApiResult,
};

/// The PostgreSQL notification channel; the payload is the `referral_event` id.
pub const CHANNEL: &str = "bydel_referral_events";

/// Notices a slow subscriber may fall behind before it is told it missed some.
const CAPACITY: usize = 1024;

/// The listener's waits between reconnection attempts: doubling up to the cap.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// What a subscriber hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The `referral_event` row with this id is committed.
    Committed(Uuid),
    /// Notices may have been lost; the subscriber must resync.
    Gap,
}

/// One replica's bus. Cheap to clone; the PostgreSQL listener stops with the last clone.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Notice>,
    /// The replica's token cache, which the listener keeps informed.
    tokens: Arc<TokenCache>,
    _listener: Option<Arc<ListenerTask>>,
}

/// Aborts the listener task when the bus goes away (a test server stops, the process ends).
struct ListenerTask(AbortHandle);

impl Drop for ListenerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Turns the token cache off when the listener stops, however it stops (returns, is aborted,
/// panics): no one would tell the cache about revocations any more.
struct DeafOnExit(Arc<TokenCache>);

impl Drop for DeafOnExit {
    fn drop(&mut self) {
        self.0.deaf();
    }
}

impl EventBus {
    /// Starts the bus for `db`. On PostgreSQL it listens before returning, so every event
    /// committed after start-up (on any replica) reaches this replica's subscribers, and every
    /// token change clears `tokens`, which is used from then on; a database that cannot be
    /// listened to is an error, not a silently deaf replica.
    pub async fn start(
        db: &DatabaseConnection,
        tokens: Arc<TokenCache>,
    ) -> Result<EventBus, DbErr> {
        let (sender, _) = broadcast::channel(CAPACITY);
        let listener = match db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let pool = db.get_postgres_connection_pool().clone();
                let listener = listen(&pool).await.map_err(sqlx_error)?;
                tokens.listening();
                let task = tokio::spawn(forward(pool, listener, sender.clone(), tokens.clone()));
                Some(Arc::new(ListenerTask(task.abort_handle())))
            }
            _ => None,
        };
        Ok(EventBus {
            sender,
            tokens,
            _listener: listener,
        })
    }

    /// The replica's token cache, as the listener keeps it (see [`crate::auth::token_cache`]).
    pub fn tokens(&self) -> &Arc<TokenCache> {
        &self.tokens
    }

    /// A new subscriber: it hears every notice sent from now on.
    pub fn subscribe(&self) -> Feed {
        Feed(self.sender.subscribe())
    }

    fn publish(&self, notice: Notice) {
        // No receiver is not an error: nobody subscribes right now.
        let _ = self.sender.send(notice);
    }
}

fn sqlx_error(err: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Custom(format!(
        "cannot listen for referral events and token changes: {err}"
    ))
}

/// A listener on both channels, connected and listening when it is returned. It does not
/// reconnect by itself (`eager_reconnect` off, and [`forward`] makes a new one instead), so
/// the replica always knows whether it is listening.
async fn listen(pool: &PgPool) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.eager_reconnect(false);
    listener.listen_all([CHANNEL, token_cache::CHANNEL]).await?;
    Ok(listener)
}

/// The replica's listener: forwards referral events to the bus and token changes to the token
/// cache until the pool closes. On a lost connection the token cache is off at once; a new
/// listener is connected (retried with backoff, each failure a [`Notice::Gap`]); once it
/// listens, the token cache starts again empty and subscribers hear a [`Notice::Gap`] (what was
/// sent meanwhile is gone).
async fn forward(
    pool: PgPool,
    mut listener: PgListener,
    bus: broadcast::Sender<Notice>,
    tokens: Arc<TokenCache>,
) {
    let _deaf_on_exit = DeafOnExit(tokens.clone());
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) if notification.channel() == token_cache::CHANNEL => {
                tokens.clear();
                continue;
            }
            Ok(Some(notification)) => {
                match Uuid::parse_str(notification.payload()) {
                    Ok(id) => drop(bus.send(Notice::Committed(id))),
                    Err(_) => tracing::warn!(channel = CHANNEL, "ignored a malformed notification"),
                }
                continue;
            }
            Ok(None) => tracing::warn!("the replica's listener lost its connection; reconnecting"),
            Err(sea_orm::sqlx::Error::PoolClosed) => return,
            Err(err) => {
                tracing::error!(error = %err, "the replica's listener failed; reconnecting")
            }
        }
        tokens.deaf();
        let Some(again) = relisten(&pool, &bus).await else {
            return;
        };
        listener = again;
        tokens.listening();
        let _ = bus.send(Notice::Gap);
        tracing::info!("the replica's listener listens again");
    }
}

/// A new listener, retried with backoff until it listens; `None` once the pool is closed.
async fn relisten(pool: &PgPool, bus: &broadcast::Sender<Notice>) -> Option<PgListener> {
    let mut retry = FIRST_RETRY;
    loop {
        if pool.is_closed() {
            return None;
        }
        match listen(pool).await {
            Ok(listener) => return Some(listener),
            Err(sea_orm::sqlx::Error::PoolClosed) => return None,
            Err(err) => {
                tracing::error!(error = %err, retry_in = ?retry, "the replica's listener cannot reconnect");
                let _ = bus.send(Notice::Gap);
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(LAST_RETRY);
            }
        }
    }
}

/// One subscriber's receiving end.
pub struct Feed(broadcast::Receiver<Notice>);

impl Feed {
    /// The next notice; `None` when the bus is gone. Falling behind is a [`Notice::Gap`].
    pub async fn next(&mut self) -> Option<Notice> {
        match self.0.recv().await {
            Ok(notice) => Some(notice),
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "a subscriber fell behind the referral event bus");
                Some(Notice::Gap)
            }
            Err(RecvError::Closed) => None,
        }
    }
}

/// The event ids an open transaction of one request has written, for the in-process bus
/// (SQLite). Request data: the HTTP layer gives every request its own.
///
/// A request that runs in one transaction (a keyed mutation, [`crate::idempotency`]) uses a
/// [`Outbox::held`] one: what its fields' savepoints settle waits for [`Outbox::release`],
/// so subscribers never hear of an event that the request's rollback took back.
#[derive(Debug, Clone, Default)]
pub struct Outbox(Arc<Mutex<Ids>>);

#[derive(Debug, Default)]
struct Ids {
    /// Written by the transaction that is still open.
    pending: Vec<Uuid>,
    /// Settled into the request's transaction, not yet committed; `None` unless held.
    held: Option<Vec<Uuid>>,
}

impl Outbox {
    /// The outbox of a request that runs in one transaction.
    pub fn held() -> Self {
        Self(Arc::new(Mutex::new(Ids {
            pending: Vec::new(),
            held: Some(Vec::new()),
        })))
    }

    fn ids(&self) -> std::sync::MutexGuard<'_, Ids> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends the transaction the ids were written in: publishes them once it committed (or
    /// holds them for the request's transaction), forgets them when it rolled back.
    pub fn settle(&self, bus: Option<&EventBus>, committed: bool) {
        let ids = {
            let mut state = self.ids();
            let pending = std::mem::take(&mut state.pending);
            match (&mut state.held, committed) {
                (_, false) => return,
                (Some(held), true) => return held.extend(pending),
                (None, true) => pending,
            }
        };
        publish(bus, ids);
    }

    /// Ends the request's transaction of a held outbox: publishes what it held if it committed.
    pub fn release(&self, bus: Option<&EventBus>, committed: bool) {
        let held = self.ids().held.take().unwrap_or_default();
        if committed {
            publish(bus, held);
        }
    }
}

fn publish(bus: Option<&EventBus>, ids: Vec<Uuid>) {
    let Some(bus) = bus else {
        return;
    };
    for id in ids {
        bus.publish(Notice::Committed(id));
    }
}

/// Announces the `referral_event` row `event` that the transaction `db` has just inserted:
/// `pg_notify` in that transaction on PostgreSQL, the request's outbox elsewhere.
pub async fn announce(db: &impl ConnectionTrait, outbox: &Outbox, event: Uuid) -> ApiResult<()> {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let notify = Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), event.to_string().into()],
            );
            db.execute_raw(notify).await?;
        }
        _ => outbox.ids().pending.push(event),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sea_orm::Database;
    use uuid::Uuid;

    use super::{CAPACITY, EventBus, Notice, Outbox};

    async fn in_process_bus() -> EventBus {
        let db = Database::connect("sqlite::memory:")
            .await
            .expect("an in-memory SQLite database");
        EventBus::start(&db, std::sync::Arc::new(crate::auth::TokenCache::off()))
            .await
            .expect("the bus starts")
    }

    #[tokio::test]
    async fn only_committed_events_are_published_and_each_once() {
        let bus = in_process_bus().await;
        let mut feed = bus.subscribe();
        let outbox = Outbox::default();
        let (rolled_back, committed) = (Uuid::now_v7(), Uuid::now_v7());
        outbox.ids().pending.push(rolled_back);
        outbox.settle(Some(&bus), false);
        outbox.ids().pending.push(committed);
        outbox.settle(Some(&bus), true);
        outbox.settle(Some(&bus), true);
        bus.publish(Notice::Gap);
        assert_eq!(feed.next().await, Some(Notice::Committed(committed)));
        assert_eq!(feed.next().await, Some(Notice::Gap), "nothing in between");
    }

    #[tokio::test]
    async fn a_held_outbox_publishes_only_when_the_request_commits() {
        let bus = in_process_bus().await;
        let mut feed = bus.subscribe();
        let (failed_field, kept, abandoned) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let held = Outbox::held();
        held.ids().pending.push(failed_field);
        held.settle(Some(&bus), false);
        held.ids().pending.push(kept);
        held.settle(Some(&bus), true);
        held.release(Some(&bus), true);
        let rolled_back = Outbox::held();
        rolled_back.ids().pending.push(abandoned);
        rolled_back.settle(Some(&bus), true);
        rolled_back.release(Some(&bus), false);
        bus.publish(Notice::Gap);
        assert_eq!(feed.next().await, Some(Notice::Committed(kept)));
        assert_eq!(feed.next().await, Some(Notice::Gap), "nothing else");
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_hears_a_gap() {
        let bus = in_process_bus().await;
        let mut feed = bus.subscribe();
        for _ in 0..=CAPACITY {
            bus.publish(Notice::Committed(Uuid::now_v7()));
        }
        assert_eq!(feed.next().await, Some(Notice::Gap));
    }
}
