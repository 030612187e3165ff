//! What a websocket connection hands its subscriptions: the token it was opened with, checked
//! again before every delivery, and the event feed taken the moment a `subscribe` message was
//! read. The transport (`crate::websocket`) attaches both; the subscription resolvers of the
//! domain areas read them here, so no area reaches up to the transport.

use std::sync::{Arc, Mutex};

use async_graphql::Context;

use super::RequestContext;
use crate::{
    auth::{Principal, TokenCache, TokenKeys, authenticate},
    error::{ApiError, ApiResult},
    events::{EventBus, Feed},
};

/// The connection's bearer token, checked again before each delivery. Not `Debug`: it must
/// never reach a log.
pub struct ConnectionToken(pub String);

/// The feed a subscription was given when its `subscribe` message was read.
pub struct PendingFeed(pub Mutex<Option<Feed>>);

/// Checks the connection's token again (revoked, expired, client revoked, organisation or
/// signing key gone): `UNAUTHENTICATED` when it no longer holds. Through the token cache: on
/// PostgreSQL a revocation's notice arrives on the same listener, before any event committed
/// after it, so the event that follows a revocation is never delivered on the old answer.
pub async fn recheck_token(ctx: &Context<'_>) -> ApiResult<Principal> {
    let token = ctx
        .data_opt::<ConnectionToken>()
        .ok_or_else(|| ApiError::Unauthenticated("subscriptions need a websocket".into()))?;
    let keys = ctx
        .data_opt::<Arc<TokenKeys>>()
        .ok_or_else(|| ApiError::internal("schema built without token keys"))?;
    let cache = ctx
        .data_opt::<Arc<TokenCache>>()
        .ok_or_else(|| ApiError::internal("schema built without the token cache"))?;
    authenticate(ctx.db()?, keys, cache, &token.0).await
}

/// The event feed of the subscription resolving in `ctx`.
pub fn feed(ctx: &Context<'_>) -> ApiResult<Feed> {
    let pending = ctx.data_opt::<PendingFeed>().and_then(|pending| {
        pending
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    });
    match pending {
        Some(feed) => Ok(feed),
        None => ctx
            .data_opt::<EventBus>()
            .map(EventBus::subscribe)
            .ok_or_else(|| ApiError::internal("schema built without an event bus")),
    }
}
