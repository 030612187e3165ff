//! One structured log line per request, written when its response is ready, and the request
//! metrics. Handlers report what only they know (the caller, the operation, the error codes)
//! by attaching the small markers below to the response; this layer reads them.
//!
//! The line holds the request id, client and organisation ids, the operation name, the status,
//! the error codes and the duration. Never query text, variables, tokens or personal data.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::Response,
};
use uuid::Uuid;

use crate::metrics::{MAX_OPERATION_LABEL_CHARS, Metrics};

/// The authenticated caller of a request (ids only).
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub client: Uuid,
    pub organisation: Uuid,
}

/// The name of the operation a GraphQL request ran (`None`: anonymous or unknown).
#[derive(Debug, Clone)]
pub struct OperationName(pub Option<String>);

/// The `extensions.code` of every error in the response, in order, without repeats.
#[derive(Debug, Clone, Default)]
pub struct ErrorCodes(pub Vec<String>);

impl ErrorCodes {
    pub fn push(&mut self, code: &str) {
        if !self.0.iter().any(|c| c == code) {
            self.0.push(code.to_owned());
        }
    }
}

/// Paths polled by load balancers and Prometheus: logged at debug level only.
const PROBES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];
const REQUEST_ID: &str = "x-request-id";

/// The middleware: times the request, then logs it and counts it.
pub async fn observe(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default();
    let response = next.run(request).await;
    let elapsed = started.elapsed();

    let extensions = response.extensions();
    let caller = extensions.get::<Caller>();
    let operation = extensions
        .get::<OperationName>()
        .and_then(|o| o.0.as_deref())
        .map(|name| {
            name.chars()
                .take(MAX_OPERATION_LABEL_CHARS)
                .collect::<String>()
        });
    let codes = extensions
        .get::<ErrorCodes>()
        .map(|c| c.0.join(","))
        .unwrap_or_default();
    let outcome = outcome(response.status(), extensions.get::<ErrorCodes>());
    if path == "/graphql" {
        metrics.observe_request(operation.as_deref(), &outcome, elapsed);
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            metrics.rate_limit_refused();
        }
    }

    let status = response.status().as_u16();
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    let client = caller.map(|c| c.client.to_string()).unwrap_or_default();
    let organisation = caller
        .map(|c| c.organisation.to_string())
        .unwrap_or_default();
    let operation = operation.unwrap_or_default();
    if PROBES.contains(&path.as_str()) {
        tracing::debug!(%method, path, request_id, status, duration_ms, "request finished");
    } else {
        tracing::info!(
            %method,
            path,
            request_id,
            client,
            organisation,
            operation,
            status,
            outcome,
            error_codes = codes,
            duration_ms,
            "request finished"
        );
    }
    response
}

/// `ok`, or the first error code in lower case; without codes, what the status says.
fn outcome(status: StatusCode, codes: Option<&ErrorCodes>) -> String {
    const KNOWN: [&str; 13] = [
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "CONFLICT",
        "INVALID_TRANSITION",
        "RATE_LIMITED",
        "INTERNAL",
        "QUERY_TOO_COMPLEX",
        "RESPONSE_TOO_LARGE",
        "TIMEOUT",
        "PERSISTED_QUERY_NOT_FOUND",
        "PERSISTED_QUERY_REQUIRED",
    ];
    match codes.and_then(|c| c.0.first()) {
        Some(code) if KNOWN.contains(&code.as_str()) => code.to_ascii_lowercase(),
        Some(_) => "error".to_owned(),
        None if status.is_server_error() => "internal".to_owned(),
        None if status.is_client_error() => "bad_request".to_owned(),
        None => "ok".to_owned(),
    }
}

/// The longest `X-Request-Id` taken from a caller; a UUID is 36 characters.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// Whether a caller's `X-Request-Id` is one Bydel keeps: 1 to [`MAX_REQUEST_ID_CHARS`]
/// characters from `A-Z a-z 0-9 - _ . : / + = @`. Anything else would be logged, stored on
/// audit events and echoed back as it came (tens of kilobytes, or text that forges log lines).
pub fn acceptable_request_id(value: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_CHARS).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(b))
}

/// Middleware, outside the request-id layers: drops a caller's `X-Request-Id` that is not
/// [`acceptable_request_id`], so the request gets a fresh one (returned in the response).
pub async fn bounded_request_id(mut req: Request, next: Next) -> Response {
    let refused = req
        .headers()
        .get_all(REQUEST_ID)
        .iter()
        .any(|v| !acceptable_request_id(v.as_bytes()))
        || req.headers().get_all(REQUEST_ID).iter().count() > 1;
    if refused {
        tracing::info!("replaced an unacceptable X-Request-Id");
        req.headers_mut().remove(REQUEST_ID);
    }
    next.run(req).await
}
