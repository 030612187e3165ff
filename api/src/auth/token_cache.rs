//! A short-lived, per-replica cache of the rows a token stands on (token, client, organisation,
//! signing key; see `authenticate`), by `jti`, so a client sending many requests with one
//! token does not cost a query each time.
//!
//! Revocation must still be effective at once on every replica, so the cache may only hold
//! what a change would announce. Invariants:
//! - **Every change that can make a cached row wrong announces itself** ([`announce`], inside
//!   its transaction): a token or client revoked, a client deleted, a signing key retired.
//!   On PostgreSQL that is `pg_notify` on [`CHANNEL`], delivered on commit to the listener of
//!   every replica (`crate::events`), which clears its whole cache. The writing process also
//!   clears its own cache once the transaction has ended ([`TokenCache::clear`]), which is the
//!   only path on SQLite. Changes that only make a refused row acceptable need no notice,
//!   because only rows that passed every check are cached (e.g. start-up attributing a key id
//!   to old tokens); nothing in Bydel changes an organisation's kind or municipality.
//! - **Only while notices can arrive.** On PostgreSQL the cache is neither read nor filled
//!   while the replica's listener is not connected (start-up, a lost connection,
//!   reconnecting), and it is emptied when the listener listens again, so a notice missed
//!   meanwhile cannot keep a revoked token alive.
//! - **No stale row after a clear.** A row read from the database is stored only if no clear
//!   happened since before the read began (a generation counter): a request that read the
//!   row just before a revocation committed cannot put it back.
//! - **Bounded.** An entry lives at most the configured time (`--token-cache-seconds`, read
//!   before the query, so the bound holds from the read); 0 turns the cache off. On a hit the
//!   checks still run on the cached row: expiry against the clock, the claims' client,
//!   organisation and key id against the row.
//!
//! SQLite serves one process, so the notice has nowhere to go: a `bydel token revoke` or
//! `bydel key retire` run in a *separate* process while the server runs takes effect there
//! after at most the cache time. Revocations through GraphQL are immediate on both backends.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant},
};

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use uuid::Uuid;

use super::principal::TokenRow;
use crate::error::ApiResult;

/// The PostgreSQL notification channel of changes to token rows; the payload is empty (every
/// notice clears the whole cache).
pub const CHANNEL: &str = "bydel_token_changes";

/// The cache time when none is configured.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// Most entries kept: beyond it, expired entries are dropped, and if that is not enough the
/// cache starts over. Only rows of valid, signed tokens get in, so this is a guard, not a limit
/// a caller can push against.
const MAX_ENTRIES: usize = 10_000;

/// One replica's token rows. Shared by the HTTP layer, the websocket, the token mutations
/// and the replica's listener.
#[derive(Debug)]
pub struct TokenCache {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Moves on at every clear; a read that began in another generation is not stored.
    generation: u64,
    /// Whether notices reach this replica: always without a listener (SQLite), on PostgreSQL
    /// only while the listener is connected.
    listening: bool,
    rows: HashMap<Uuid, Entry>,
}

#[derive(Debug)]
struct Entry {
    row: TokenRow,
    until: Instant,
}

/// Taken before reading a token's rows from the database; lets [`TokenCache::store`] keep
/// them only if nothing was cleared since.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket {
    generation: u64,
    until: Instant,
}

impl TokenCache {
    /// A cache keeping rows for `ttl` (zero: never). On PostgreSQL it stays unused until the
    /// replica's listener reports that it listens ([`TokenCache::listening`]).
    pub fn new(ttl: Duration, backend: DatabaseBackend) -> TokenCache {
        TokenCache {
            ttl,
            state: Mutex::new(State {
                generation: 0,
                listening: backend != DatabaseBackend::Postgres,
                rows: HashMap::new(),
            }),
        }
    }

    /// A cache that never keeps anything, for processes that serve no requests.
    pub fn off() -> TokenCache {
        TokenCache::new(Duration::ZERO, DatabaseBackend::Sqlite)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The cached rows of `jti`, if they are fresh and notices can reach this replica.
    pub(super) fn get(&self, jti: Uuid) -> Option<TokenRow> {
        self.get_at(jti, Instant::now())
    }

    fn get_at(&self, jti: Uuid, now: Instant) -> Option<TokenRow> {
        if !self.enabled() {
            return None;
        }
        let state = self.state();
        if !state.listening {
            return None;
        }
        state
            .rows
            .get(&jti)
            .filter(|entry| now < entry.until)
            .map(|entry| entry.row.clone())
    }

    /// Taken before the database is read; `None` when nothing read now may be stored.
    pub(super) fn ticket(&self) -> Option<Ticket> {
        if !self.enabled() {
            return None;
        }
        let state = self.state();
        state.listening.then(|| Ticket {
            generation: state.generation,
            until: Instant::now() + self.ttl,
        })
    }

    /// Stores rows that passed every check, unless a clear happened since `ticket` was taken.
    pub(super) fn store(&self, ticket: Ticket, jti: Uuid, row: TokenRow) {
        let now = Instant::now();
        let mut state = self.state();
        if !state.listening || state.generation != ticket.generation || ticket.until <= now {
            return;
        }
        if state.rows.len() >= MAX_ENTRIES {
            state.rows.retain(|_, entry| now < entry.until);
            if state.rows.len() >= MAX_ENTRIES {
                state.rows.clear();
            }
        }
        state.rows.insert(
            jti,
            Entry {
                row,
                until: ticket.until,
            },
        );
    }

    /// Forgets every row: a change to token rows was committed (here or, on PostgreSQL, on
    /// any replica), or may have been.
    pub fn clear(&self) {
        let mut state = self.state();
        state.generation = state.generation.wrapping_add(1);
        state.rows.clear();
    }

    /// The listener lost its connection (or stopped): until it listens again, notices may be
    /// missed, so nothing is read from or stored in the cache.
    pub fn deaf(&self) {
        let mut state = self.state();
        state.listening = false;
        state.generation = state.generation.wrapping_add(1);
        state.rows.clear();
    }

    /// The listener listens (again): start from an empty cache, since notices sent while it
    /// did not were lost.
    pub fn listening(&self) {
        let mut state = self.state();
        state.listening = true;
        state.generation = state.generation.wrapping_add(1);
        state.rows.clear();
    }
}

/// Announces, inside the transaction `db`, a change that can make cached token rows wrong:
/// on PostgreSQL every replica's listener hears it once the transaction commits (and never if
/// it rolls back). Elsewhere there is no one to tell; the writer clears its own cache after
/// the transaction ends ([`TokenCache::clear`]).
pub async fn announce(db: &impl ConnectionTrait) -> ApiResult<()> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let notify = Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify($1, '')",
            [CHANNEL.into()],
        );
        db.execute_raw(notify).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> TokenRow {
        TokenRow::example()
    }

    fn cache(backend: DatabaseBackend) -> TokenCache {
        TokenCache::new(Duration::from_secs(5), backend)
    }

    fn stored(cache: &TokenCache, jti: Uuid) -> bool {
        match cache.ticket() {
            Some(ticket) => {
                cache.store(ticket, jti, row());
                cache.get(jti).is_some()
            }
            None => false,
        }
    }

    #[test]
    fn a_row_read_before_a_clear_is_not_stored_after_it() {
        let cache = cache(DatabaseBackend::Sqlite);
        let jti = Uuid::now_v7();
        let ticket = cache.ticket().expect("SQLite needs no listener");
        cache.clear();
        cache.store(ticket, jti, row());
        assert!(cache.get(jti).is_none());
        assert!(stored(&cache, jti), "a read after the clear is kept");
        cache.clear();
        assert!(cache.get(jti).is_none(), "cleared");
    }

    #[test]
    fn entries_expire() {
        let cache = cache(DatabaseBackend::Sqlite);
        let jti = Uuid::now_v7();
        assert!(stored(&cache, jti));
        let later = Instant::now() + Duration::from_secs(5);
        assert!(cache.get_at(jti, later).is_none());
    }

    #[test]
    fn zero_seconds_turns_the_cache_off() {
        let cache = TokenCache::new(Duration::ZERO, DatabaseBackend::Sqlite);
        assert!(cache.ticket().is_none());
        assert!(!stored(&TokenCache::off(), Uuid::now_v7()));
    }

    #[test]
    fn on_postgres_the_cache_waits_for_the_listener_and_stops_when_it_is_lost() {
        let cache = cache(DatabaseBackend::Postgres);
        let jti = Uuid::now_v7();
        assert!(cache.ticket().is_none(), "not listening yet");
        cache.listening();
        let before_loss = cache.ticket().expect("listening");
        assert!(stored(&cache, jti));
        cache.deaf();
        assert!(cache.get(jti).is_none(), "not used while deaf");
        assert!(cache.ticket().is_none(), "not filled while deaf");
        cache.listening();
        cache.store(before_loss, jti, row());
        assert!(
            cache.get(jti).is_none(),
            "a read from before the loss stays out"
        );
        assert!(stored(&cache, jti), "used again once listening");
    }
}
