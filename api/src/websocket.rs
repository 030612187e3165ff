//! GraphQL subscriptions over graphql-ws (`graphql-transport-ws`, and the legacy
//! `graphql-ws`) at `GET /graphql` with a websocket upgrade.
//!
//! Browsers cannot set headers on a websocket, so the token travels in the `connection_init`
//! payload (`{"Authorization": "Bearer <token>"}`, `{"authorization": ...}` or
//! `{"token": "<token>"}`) and is verified exactly like a bearer header; a missing or refused
//! token closes the connection with 4403 (graphql-ws's "Forbidden"). The token is checked again
//! before every delivery (see [`crate::context::recheck_token`]).
//!
//! The socket carries subscriptions only: queries and mutations go over HTTP, where
//! idempotency keys and the personal-data audit apply. A subscription hears every event
//! committed after the server read its `subscribe` message (a `ping` sent after it and
//! answered proves that), because its feed is taken when the message is read.

use std::sync::{Arc, Mutex, OnceLock};

use async_graphql::{
    BatchRequest, BatchResponse, Data, Executor, Request, Response,
    futures_util::stream::BoxStream, http::ALL_WEBSOCKET_PROTOCOLS, parser::types::OperationType,
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, header},
    response::{IntoResponse, Response as HttpResponse},
};
use futures::{SinkExt, StreamExt, future, stream};

use crate::{
    auth::authenticate,
    context::{ConnectionToken, Loaders, PendingFeed},
    error::{ApiError, ApiResult},
    events::EventBus,
    graphql_http,
    graphql_http::with_codes,
    limits::Limits,
    organisations::MunicipalityCache,
    schema::BydelSchema,
    state::AppState,
};

/// graphql-ws's close code for a connection whose `connection_init` was refused.
const FORBIDDEN: u16 = 4403;
/// graphql-ws's close code for a subscription sent before the connection was initialised.
const UNAUTHORIZED: u16 = 4401;
/// async-graphql's close reason for that case (sent with code 1011).
const HANDSHAKE_NOT_COMPLETED: &str = "The handshake is not completed.";
/// The longest reason a close frame may carry, in bytes (RFC 6455).
const CLOSE_REASON_BYTES: usize = 123;

/// Whether `headers` ask for a websocket (the GraphQL subscription transport).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// `GET /graphql` with `Upgrade: websocket`. Needs no `Authorization` header: the token comes
/// in `connection_init`.
pub async fn upgrade(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> HttpResponse {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve(state, protocol, socket))
        .into_response()
}

/// One graphql-ws connection. When the server shuts down the client's side of the stream is
/// cut: async-graphql then ends every subscription and the socket is closed with a close
/// frame, so clients see a clean close and reconnect to another replica.
async fn serve(state: AppState, protocol: GraphQLProtocol, socket: WebSocket) {
    let refused = Arc::new(OnceLock::new());
    let (sink, stream) = socket.split();
    let stream = stream.take_until(state.shutdown.cancelled_owned());
    // async-graphql closes a refused `connection_init` with 1002; graphql-ws says 4403.
    let closing = refused.clone();
    let sink = sink.with(move |message| {
        future::ready(Ok::<_, axum::Error>(with_refusal_code(&closing, message)))
    });
    let executor = SubscriptionsOnly {
        schema: state.schema.clone(),
        events: state.events.clone(),
        limits: state.limits.clone(),
    };
    GraphQLWebSocket::new_with_pair(sink, stream, executor, protocol)
        .on_connection_init(move |payload| connection_init(state, payload, refused))
        .serve()
        .await;
}

fn with_refusal_code(refused: &OnceLock<()>, message: Message) -> Message {
    match message {
        // A `subscribe` before `connection_init`: async-graphql closes with 1011, the
        // graphql-transport-ws protocol says 4401 Unauthorized.
        Message::Close(Some(frame))
            if frame.code == 1011 && frame.reason.as_str() == HANDSHAKE_NOT_COMPLETED =>
        {
            Message::Close(Some(CloseFrame {
                code: UNAUTHORIZED,
                reason: "Unauthorized: send connection_init first".into(),
            }))
        }
        Message::Close(Some(frame)) if refused.get().is_some() => {
            let mut reason = frame.reason.as_str().to_owned();
            while reason.len() > CLOSE_REASON_BYTES {
                reason.pop();
            }
            Message::Close(Some(CloseFrame {
                code: FORBIDDEN,
                reason: reason.into(),
            }))
        }
        other => other,
    }
}

/// Authenticates the connection from its `connection_init` payload and sets up what its
/// subscriptions resolve with: the principal, loaders and caches, and no `ReadLog`, so
/// personal data is refused (rule 3 of [`crate::auth::access`]).
async fn connection_init(
    state: AppState,
    payload: serde_json::Value,
    refused: Arc<OnceLock<()>>,
) -> async_graphql::Result<Data> {
    let principal = match token_of(&payload) {
        Ok(token) => authenticate(&state.db, &state.keys, &state.tokens, token)
            .await
            .map(|principal| (principal, token.to_owned())),
        Err(err) => Err(err),
    };
    let (principal, token) = match principal {
        Ok(found) => found,
        Err(err) => {
            let _ = refused.set(());
            let err = match err {
                ApiError::Unauthenticated(_) => err,
                other => {
                    tracing::error!(error = ?other, "authentication of a websocket failed");
                    ApiError::internal("")
                }
            };
            tracing::info!(reason = %err, "websocket refused");
            return Err(async_graphql::Error::new(format!("Forbidden: {err}")));
        }
    };
    tracing::info!(
        client = %principal.client_id,
        organisation = %principal.organisation.id,
        "websocket connected"
    );
    let principal = Arc::new(principal);
    let mut data = Data::default();
    data.insert(Loaders::new(state.db.clone().into(), principal.clone()));
    data.insert(MunicipalityCache::default());
    data.insert(ConnectionToken(token));
    data.insert(principal);
    Ok(data)
}

/// The token in a `connection_init` payload.
fn token_of(payload: &serde_json::Value) -> ApiResult<&str> {
    let missing = || {
        ApiError::Unauthenticated(
            "send the token in connection_init: {\"Authorization\": \"Bearer <token>\"}".into(),
        )
    };
    if let Some(token) = payload.get("token") {
        return token
            .as_str()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(missing);
    }
    let header = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .and_then(serde_json::Value::as_str)
        .ok_or_else(missing)?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthenticated("Authorization must be `Bearer <token>`".into()))
}

/// The schema as the websocket runs it: subscriptions only, each with its feed taken the
/// moment its `subscribe` message is read.
#[derive(Clone)]
struct SubscriptionsOnly {
    schema: BydelSchema,
    events: EventBus,
    /// The same cost limits (depth, complexity, aliases, introspection) as over HTTP.
    limits: Arc<Limits>,
}

/// A refusal answered on the socket as a GraphQL response with the error's code.
fn refused(err: ApiError) -> Response {
    let err: async_graphql::Error = err.into();
    Response::from_errors(vec![err.into_server_error(Default::default())])
}

fn over_http() -> Response {
    refused(ApiError::validation(
        "request",
        "the websocket carries subscriptions only; send queries and mutations to POST /graphql",
    ))
}

/// A document that does not parse counts as a subscription: the executor reports it.
fn is_subscription(request: &mut Request) -> bool {
    graphql_http::runs(request, OperationType::Subscription).unwrap_or(true)
}

impl Executor for SubscriptionsOnly {
    async fn execute(&self, _request: Request) -> Response {
        over_http()
    }

    async fn execute_batch(&self, _batch: BatchRequest) -> BatchResponse {
        BatchResponse::Single(over_http())
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if !is_subscription(&mut request) {
            return stream::once(future::ready(over_http())).boxed();
        }
        if let Err(err) = self.limits.check(&mut request) {
            return stream::once(future::ready(refused(err))).boxed();
        }
        let request = request.data(PendingFeed(Mutex::new(Some(self.events.subscribe()))));
        // Every error leaves with a code, as over HTTP.
        Executor::execute_stream(&self.schema, request, session_data)
            .map(with_codes)
            .boxed()
    }
}
