//! A request's context: who asks (the principal), the database handle the request runs on, its
//! request id, the record of personal data it reads, and the batch loaders that answer its
//! nested fields. It stands at the bottom of the house: `auth`, `audit`, `loaders` and every
//! domain area read the request through [`RequestContext`], and none of them reaches up to the
//! schema or the server for it. The HTTP layer (`server`, `websocket`) attaches these values to
//! each request; a value missing is an internal error in the API's own terms, never a panic.

mod batch;
mod connection;

use std::sync::Arc;

use async_graphql::Context;

pub use batch::{BatchLoad, Batcher, Loaders};
pub use connection::{ConnectionToken, PendingFeed, feed, recheck_token};

use crate::{
    audit::ReadLog,
    auth::{Principal, TokenKeys},
    db::Db,
    error::{ApiError, ApiResult},
};

/// The request id of the current request (`X-Request-Id`), for audit records.
#[derive(Debug, Clone)]
pub struct RequestIdValue(pub String);

/// What a resolver needs from the request, with errors in the API's own terms.
pub trait RequestContext {
    fn principal(&self) -> ApiResult<&Principal>;
    /// The request's database: the pool, or the transaction the whole request runs in.
    fn db(&self) -> ApiResult<&Db>;
    fn loader<L: BatchLoad>(&self) -> ApiResult<Arc<Batcher<L>>>;
    fn keys(&self) -> ApiResult<&TokenKeys>;
    /// The `X-Request-Id` of the request, for audit events.
    fn request_id(&self) -> Option<String>;
    /// The request's record of personal-data reads. A subscription has none: personal data is
    /// answered only where every read is audited.
    fn read_log(&self) -> Option<&ReadLog>;
}

impl RequestContext for Context<'_> {
    fn principal(&self) -> ApiResult<&Principal> {
        self.data_opt::<Arc<Principal>>()
            .map(Arc::as_ref)
            .ok_or_else(|| ApiError::Unauthenticated("a bearer token is required".into()))
    }

    fn db(&self) -> ApiResult<&Db> {
        self.data_opt::<Db>()
            .ok_or_else(|| ApiError::internal("schema built without a database"))
    }

    fn loader<L: BatchLoad>(&self) -> ApiResult<Arc<Batcher<L>>> {
        self.data_opt::<Loaders>()
            .map(Loaders::get::<L>)
            .ok_or_else(|| ApiError::internal("request without loaders"))
    }

    fn keys(&self) -> ApiResult<&TokenKeys> {
        self.data_opt::<Arc<TokenKeys>>()
            .map(Arc::as_ref)
            .ok_or_else(|| ApiError::internal("schema built without token keys"))
    }

    fn request_id(&self) -> Option<String> {
        self.data_opt::<RequestIdValue>().map(|id| id.0.clone())
    }

    fn read_log(&self) -> Option<&ReadLog> {
        self.data_opt::<ReadLog>()
    }
}
