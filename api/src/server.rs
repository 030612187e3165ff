//! The HTTP surface: `/graphql` (POST, GET, GraphiQL for browsers), GraphiQL's embedded
//! assets (`graphiql`), the OAuth 2.0 endpoints (`oauth::endpoint`, with their own client
//! authentication), health, readiness, metrics, and the token verification keys at
//! `/.well-known/jwks.json`.
//!
//! Authentication happens in a layer before the GraphQL request is parsed, so any request
//! without a valid token is `401 UNAUTHENTICATED` with no data. A websocket upgrade (GraphQL
//! subscriptions) passes without one: it authenticates in `connection_init` ([`websocket`]). Logs carry the request id,
//! client and organisation ids and the operation name, never query text, variables or tokens
//! (one line per request, see `telemetry`).
//!
//! Around `/graphql`, outermost first: the request timeout, authentication, the per-client rate
//! limit (`limits`); then the GraphQL-over-HTTP reading and media type negotiation
//! (`graphql_http`), persisted queries (`persisted`) and the document's cost limits, all before
//! execution. Only `/graphql` reads a body, and it enforces [`MAX_BODY_BYTES`] itself.

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Extension, Router,
    body::Body,
    extract::{Request, State},
    handler::Handler,
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    audit::{ReadAuditCommit, ReadLog},
    auth::{Principal, authenticate},
    context::{Loaders, RequestIdValue},
    cors::{self},
    db::Db,
    error::ApiError,
    events::Outbox,
    graphiql,
    graphql_http::{self, MediaType, Params, with_codes},
    idempotency::{self, Keyed, Outcome},
    limits::{self, Budget, Limits},
    oauth::{self},
    organisations::MunicipalityCache,
    persisted::PersistedQueries,
    shutdown::{self},
    state::AppState,
    telemetry::{self, Caller, ErrorCodes, OperationName},
    websocket,
};

/// Largest accepted request body; GraphQL documents are small, uploads are not supported.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const REQUEST_ID: &str = "x-request-id";

pub fn router(state: AppState) -> Router {
    let graphql = Router::new()
        .route("/graphql", get(graphql_get_or_subscribe).post(graphql_post))
        .layer(middleware::from_fn_with_state(
            state.limits.clone(),
            limits::throttle,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_principal,
        ))
        .layer(middleware::from_fn_with_state(
            state.limits.clone(),
            limits::deadline,
        ));
    Router::new()
        .merge(graphql)
        .merge(graphiql::routes())
        .merge(
            oauth::endpoint::routes().layer(middleware::from_fn_with_state(
                state.limits.clone(),
                limits::deadline,
            )),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/.well-known/jwks.json", get(jwks))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            telemetry::observe,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            // Path only: a GET query string can carry variables with personal data.
            tracing::info_span!(
                "request",
                method = %req.method(),
                path = %req.uri().path(),
                request_id,
                client = tracing::field::Empty,
                organisation = tracing::field::Empty,
                operation = tracing::field::Empty,
            )
        }))
        // Outside authentication, so a listed origin's preflight is answered without a token;
        // inside the request id layers, so every answer carries one (and may expose it).
        .layer(middleware::from_fn_with_state(
            state.cors.clone(),
            cors::apply,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::from_fn(telemetry::bounded_request_id))
        .with_state(state)
}

/// Serves on an already bound listener (tests bind port 0) until `shutdown` resolves; then
/// stops accepting connections, cancels `state.shutdown` (subscriptions end) and returns once
/// the requests in flight have been answered.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let token = state.shutdown.clone();
    let app = router(state).into_make_service_with_connect_info::<shutdown::Peer>();
    axum::serve(shutdown::Listener::new(listener), app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            token.begin();
        })
        .await
}

/// A GraphQL-shaped error body with its code, for failures outside the executor.
fn error_response(status: StatusCode, err: &ApiError) -> Response {
    let mut response = graphql_http::refusal(status, err);
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthenticated("a bearer token is required".into()))?;
    value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthenticated("the Authorization header must be `Bearer <token>`".into())
        })
}

/// A browser asking for the IDE: GET without a query, accepting HTML.
fn wants_graphiql(req: &Request) -> bool {
    req.method() == Method::GET
        && !req.uri().query().unwrap_or_default().contains("query=")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

async fn require_principal(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    if wants_graphiql(&req) || websocket::is_upgrade(req.headers()) {
        return next.run(req).await;
    }
    // An address that keeps failing to authenticate is refused before its tokens cost a lookup.
    let source = limits::source_address(&req, state.limits.settings().trust_forwarded_for);
    let failures = state.limits.auth_failures();
    if let Some(wait) = source.and_then(|address| failures.empty(&address)) {
        return limits::rate_limited(wait);
    }
    let principal = match bearer_token(req.headers()) {
        Ok(token) => authenticate(&state.db, &state.keys, &state.tokens, token).await,
        Err(err) => Err(err),
    };
    match principal {
        Ok(principal) => {
            let span = tracing::Span::current();
            span.record("client", tracing::field::display(principal.client_id));
            span.record(
                "organisation",
                tracing::field::display(principal.organisation.id),
            );
            let caller = Caller {
                client: principal.client_id,
                organisation: principal.organisation.id,
            };
            req.extensions_mut().insert(Arc::new(principal));
            let mut response = next.run(req).await;
            response.extensions_mut().insert(caller);
            response
        }
        Err(err @ ApiError::Unauthenticated(_)) => {
            tracing::info!(reason = %err, "request refused");
            if let Some(Err(wait)) = source.map(|address| failures.acquire(address)) {
                return limits::rate_limited(wait);
            }
            error_response(StatusCode::UNAUTHORIZED, &err)
        }
        Err(err) => {
            tracing::error!(error = ?err, "authentication failed");
            error_response(StatusCode::SERVICE_UNAVAILABLE, &ApiError::internal(""))
        }
    }
}

/// `GET /graphql`: a websocket upgrade is a subscription connection, anything else a query.
async fn graphql_get_or_subscribe(State(state): State<AppState>, req: Request) -> Response {
    if websocket::is_upgrade(req.headers()) {
        websocket::upgrade.call(req, state).await
    } else {
        graphql_get.call(req, state).await
    }
}

async fn graphql_get(
    state: State<AppState>,
    principal: Option<Extension<Arc<Principal>>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let Some(principal) = principal else {
        return graphiql::page();
    };
    let Some(media) = graphql_http::negotiate(&headers) else {
        return not_acceptable();
    };
    match graphql_http::from_get(uri.query()) {
        Ok(params) => handle(state, principal, headers, media, params, Method::GET).await,
        Err(malformed) => malformed.into_response(),
    }
}

async fn graphql_post(
    state: State<AppState>,
    principal: Option<Extension<Arc<Principal>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(principal) = principal else {
        let err = ApiError::Unauthenticated("a bearer token is required".into());
        return error_response(StatusCode::UNAUTHORIZED, &err);
    };
    let Some(media) = graphql_http::negotiate(&headers) else {
        return not_acceptable();
    };
    match graphql_http::from_post(&headers, body, MAX_BODY_BYTES).await {
        Ok(params) => handle(state, principal, headers, media, params, Method::POST).await,
        Err(malformed) => malformed.into_response(),
    }
}

fn not_acceptable() -> Response {
    let err = ApiError::validation(
        "Accept",
        "responses are application/graphql-response+json or application/json; accept one of them",
    );
    error_response(StatusCode::NOT_ACCEPTABLE, &err)
}

/// From well-formed parameters to an answer: the persisted document, GET's no-mutation rule,
/// the cost limits, then execution. Refusals before execution are GraphQL request errors.
async fn handle(
    state: State<AppState>,
    principal: Extension<Arc<Principal>>,
    headers: HeaderMap,
    media: MediaType,
    params: Params,
    method: Method,
) -> Response {
    if params.query.is_none() && !PersistedQueries::names_persisted_query(&params.extensions) {
        let err = ApiError::validation("query", "`query` is missing");
        return error_response(StatusCode::BAD_REQUEST, &err);
    }
    let document = match state
        .persisted
        .document(params.query.clone(), &params.extensions)
    {
        Ok(document) => document,
        Err(err) => return request_error(media, &err),
    };
    let mut request = params.into_request(document);
    state.persisted.parse(&mut request);
    if method == Method::GET && runs_mutation(&mut request) {
        let err = ApiError::validation("request", "send mutations with POST");
        let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, &err);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if let Err(err) = state.limits.check(&mut request) {
        tracing::info!(reason = %err, "operation refused by the limits");
        return request_error(media, &err);
    }
    execute(state, principal, headers, media, request).await
}

/// A request refused before it ran, answered as a GraphQL response without `data`.
fn request_error(media: MediaType, err: &ApiError) -> Response {
    let mut response = graphql_http::refusal(media.status(true), err);
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
}

/// Whether the operation a request would run is a mutation, which GraphQL over HTTP forbids
/// on GET (a link or a prefetch must never change data). A document that does not parse is
/// left to the executor, which reports it.
fn runs_mutation(request: &mut async_graphql::Request) -> bool {
    graphql_http::runs(
        request,
        async_graphql::parser::types::OperationType::Mutation,
    )
    .unwrap_or(false)
}

/// Runs a GraphQL request and marks the response with the operation's name for the log.
async fn execute(
    state: State<AppState>,
    principal: Extension<Arc<Principal>>,
    headers: HeaderMap,
    media: MediaType,
    mut request: async_graphql::Request,
) -> Response {
    let operation = operation_name(&mut request);
    if let Some(name) = &operation {
        tracing::Span::current().record("operation", name.as_str());
    }
    let mut response = run(state, principal, headers, media, request).await;
    response.extensions_mut().insert(OperationName(operation));
    response
}

/// The name of the operation a request runs: the `operationName` when the document has such
/// an operation, else the name of the document's only operation. A name the document does
/// not define is not reported, so logs and metric labels only carry names that ran.
fn operation_name(request: &mut async_graphql::Request) -> Option<String> {
    let wanted = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let mut names = document.operations.iter().map(|(name, _)| name);
    match wanted {
        Some(wanted) => names
            .flatten()
            .find(|name| name.as_str() == wanted)
            .map(|name| name.to_string()),
        None => match (names.next(), names.next()) {
            (Some(Some(name)), None) => Some(name.to_string()),
            _ => None,
        },
    }
}

async fn run(
    State(state): State<AppState>,
    Extension(principal): Extension<Arc<Principal>>,
    headers: HeaderMap,
    media: MediaType,
    mut request: async_graphql::Request,
) -> Response {
    let keyed = match claim_idempotency_key(&state, &principal, &headers, &mut request).await {
        Ok(Some(Outcome::Replay(body))) => return replay(media, body),
        Ok(Some(Outcome::Run(keyed))) => Some(keyed),
        Ok(None) => None,
        Err(response) => return *response,
    };
    let request_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(|v| RequestIdValue(v.to_owned()));
    // A keyed mutation runs wholly in its key's transaction; everything else on the pool.
    let (db, outbox, read_audit) = match &keyed {
        Some(keyed) => (keyed.db(), Outbox::held(), ReadAuditCommit::Durable),
        None => (
            Db::Pool(state.db.clone()),
            Outbox::default(),
            state.read_audit,
        ),
    };
    // Personal-data reads collected while resolving, written once the response is ready.
    let read_log = ReadLog::default();
    let actor = principal.actor(request_id.as_ref().map(|id| id.0.clone()));
    let budget = Budget::new(state.limits.settings(), runs_mutation(&mut request));
    let mut request = request
        .data(budget)
        .data(db.clone())
        .data(Loaders::new(db.clone(), principal.clone()))
        .data(MunicipalityCache::default())
        .data(read_log.clone())
        .data(outbox.clone())
        .data(principal);
    if let Some(request_id) = request_id {
        request = request.data(request_id);
    }
    let response = with_codes(state.schema.execute(request).await);
    let audited = match (&keyed, &state.read_audit_writer) {
        (None, Some(writer)) => read_log.commit_with(writer, &actor).await,
        _ => read_log.flush(&db, &actor, read_audit).await,
    };
    drop(db);
    if let Err(err) = audited {
        // Personal data never leaves unaudited: without its audit record the response is
        // withheld (nothing has been sent yet), and the caller may simply retry.
        tracing::error!(error = ?err, "could not record the personal-data reads of a request");
        if let Some(keyed) = keyed {
            keyed.abandon().await;
            outbox.release(Some(&state.events), false);
        }
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &ApiError::internal("audit write failed"),
        );
    }
    let response = respond(media, &state.limits, response);
    match keyed {
        Some(keyed) => commit_keyed(&state, keyed, &outbox, response).await,
        None => response.http,
    }
}

/// Claims the request's `Idempotency-Key` when it runs a mutation (queries need none).
async fn claim_idempotency_key(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    request: &mut async_graphql::Request,
) -> Result<Option<Outcome>, Box<Response>> {
    let refuse = |status, err: &ApiError| Box::new(error_response(status, err));
    let key = idempotency::key(headers).map_err(|e| refuse(StatusCode::BAD_REQUEST, &e))?;
    let Some(key) = key.filter(|_| runs_mutation(request)) else {
        return Ok(None);
    };
    let fingerprint = idempotency::fingerprint(request);
    match idempotency::begin(&state.db, principal.client_id, key, fingerprint).await {
        Ok(outcome) => Ok(Some(outcome)),
        Err(err @ ApiError::Conflict(_)) => Err(refuse(StatusCode::CONFLICT, &err)),
        Err(err) => {
            tracing::error!(error = ?err, "could not claim an idempotency key");
            Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                &ApiError::internal(""),
            ))
        }
    }
}

/// Ends a keyed mutation: stores its response and commits it with the request's writes, then
/// tells subscribers and this replica's token cache. An answer with an `INTERNAL` error keeps
/// nothing (the caller learns that nothing was written and may retry with the key); a failed
/// commit is never answered with the body, which would claim writes that did not land.
async fn commit_keyed(
    state: &AppState,
    keyed: Keyed,
    outbox: &Outbox,
    response: Answer,
) -> Response {
    let bus = Some(&state.events);
    if response.internal_error {
        keyed.abandon().await;
        outbox.release(bus, false);
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &ApiError::internal(NOTHING_KEPT),
        );
    }
    if let Err(err) = keyed.commit(&response.body).await {
        outbox.release(bus, false);
        tracing::error!(error = ?err, "could not commit a keyed request");
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &ApiError::internal(NOTHING_KEPT),
        );
    }
    outbox.release(bus, true);
    // Token mutations cleared the cache inside the transaction; a request in between may
    // have cached the rows as they were until this commit.
    state.tokens.clear();
    response.http
}

/// What a keyed request that failed internally says: a retry with the same key is safe.
const NOTHING_KEPT: &str =
    "the request failed and nothing it wrote was kept; retry it with the same Idempotency-Key";

/// A stored response, answered again for a retry with the same key and input.
fn replay(media: MediaType, body: String) -> Response {
    let stored = serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default();
    let request_error = stored.get("data").is_none_or(serde_json::Value::is_null);
    let mut codes = ErrorCodes::default();
    for error in stored["errors"].as_array().into_iter().flatten() {
        if let Some(code) = error["extensions"]["code"].as_str() {
            codes.push(code);
        }
    }
    let mut response = answer(media, request_error, body.into_bytes()).http;
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response.extensions_mut().insert(codes);
    response
}

/// Serialises a GraphQL response with the negotiated media type and its status (see
/// [`MediaType::status`]). A request error (nothing ran) leaves `data` out, as the spec asks; a
/// response over the size limit is replaced by a `RESPONSE_TOO_LARGE` error.
fn respond(media: MediaType, limits: &Limits, response: async_graphql::Response) -> Answer {
    let request_error = response.data == async_graphql::Value::Null && response.is_err();
    let internal_error = response.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|ext| ext.get("code"))
            .is_some_and(|code| *code == async_graphql::Value::from("INTERNAL"))
    });
    let mut codes = ErrorCodes::default();
    for error in &response.errors {
        if let Some(async_graphql::Value::String(code)) =
            error.extensions.as_ref().and_then(|ext| ext.get("code"))
        {
            codes.push(code);
        }
    }
    let body = serde_json::to_value(&response).map(|mut body| {
        if request_error && let Some(object) = body.as_object_mut() {
            object.remove("data");
        }
        body
    });
    match body.and_then(|body| serde_json::to_vec(&body)) {
        Ok(body) => match limits.check_response_size(body.len()) {
            Ok(()) => {
                let mut answer = answer(media, request_error, body);
                answer.http.extensions_mut().insert(codes);
                Answer {
                    internal_error,
                    ..answer
                }
            }
            Err(err) => {
                tracing::info!(bytes = body.len(), "response refused: too large");
                // Kept like any answer: a retried mutation replays this, never runs twice.
                let mut answer = answer(
                    media,
                    true,
                    graphql_http::error_body(&err).to_string().into_bytes(),
                );
                let mut codes = ErrorCodes::default();
                codes.push(err.code());
                answer.http.extensions_mut().insert(codes);
                answer
            }
        },
        Err(err) => {
            tracing::error!(error = %err, "could not serialise a response");
            Answer {
                http: error_response(StatusCode::INTERNAL_SERVER_ERROR, &ApiError::internal("")),
                body: Vec::new(),
                internal_error: true,
            }
        }
    }
}

/// A serialised GraphQL response and the HTTP response carrying it.
struct Answer {
    http: Response,
    body: Vec<u8>,
    internal_error: bool,
}

fn answer(media: MediaType, request_error: bool, body: Vec<u8>) -> Answer {
    let http = Response::builder()
        .status(media.status(request_error))
        .header(header::CONTENT_TYPE, media.content_type())
        .body(Body::from(body.clone()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    Answer {
        http,
        body,
        internal_error: false,
    }
}

/// Ready to take traffic: not shutting down, the database answers, and every migration this
/// binary knows is applied (`503` with the reason otherwise). Migrations applied by a newer
/// binary do not make an older replica unready: they must stay compatible during a rollout.
async fn readyz(State(state): State<AppState>) -> Response {
    let unready = |reason: String| (StatusCode::SERVICE_UNAVAILABLE, reason).into_response();
    if state.shutdown.is_shutting_down() {
        return unready("shutting down".into());
    }
    let pending = tokio::time::timeout(Duration::from_secs(2), pending_migrations(&state.db));
    match pending.await {
        Ok(Ok(pending)) if pending.is_empty() => "ready".into_response(),
        Ok(Ok(pending)) => unready(format!(
            "{} migration(s) not applied: {}; run `bydel migrate up`",
            pending.len(),
            pending.join(", ")
        )),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness: the database does not answer");
            unready("database unreachable".into())
        }
        Err(_) => unready("database unreachable (timed out)".into()),
    }
}

/// The names of this binary's migrations the database has not applied, in order.
async fn pending_migrations(db: &DatabaseConnection) -> Result<Vec<String>, sea_orm::DbErr> {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::EntityTrait;
    use sea_orm_migration::seaql_migrations;
    let applied: std::collections::HashSet<String> = seaql_migrations::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.version)
        .collect();
    Ok(Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .filter(|name| !applied.contains(name))
        .collect())
}

/// The public keys that verify Bydel tokens (RFC 7517), for partners and gateways; no token
/// needed. Cacheable for a minute: a key is listed from `bydel key add` on, and operators wait
/// that minute before a replica signs with it (README, "Rotating the signing key").
async fn jwks(State(state): State<AppState>) -> Response {
    match crate::auth::key_store::jwks(&state.db).await {
        Ok(set) => ([(header::CACHE_CONTROL, "max-age=60")], axum::Json(set)).into_response(),
        Err(err) => {
            tracing::error!(error = ?err, "could not read the signing keys");
            error_response(StatusCode::SERVICE_UNAVAILABLE, &ApiError::internal(""))
        }
    }
}

/// Prometheus text format (see `metrics`). Counts only; nothing here identifies a person.
async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.render() {
        Ok(body) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], body).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "could not render the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
