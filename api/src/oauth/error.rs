//! The errors of the OAuth endpoints, answered as RFC 6749 §5.2 JSON (`error`,
//! `error_description`), never cached. This protocol has its own codes, so [`ApiError`] is
//! mapped to them here, once ([`From<ApiError>`]); an internal error is logged and answered
//! as `server_error` without detail. Descriptions never echo a secret or an assertion.

use std::time::Duration;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::error::ApiError;

/// Why an OAuth request was refused.
#[derive(Debug)]
pub enum OAuthError {
    /// `invalid_request` (400): a parameter missing, repeated or malformed, a wrong media
    /// type, several client authentication methods at once.
    InvalidRequest(String),
    /// `invalid_client` (401): unknown client, wrong secret, refused assertion, revoked
    /// client or credential. `basic` when the client authenticated with the Authorization
    /// header, whose challenge (`WWW-Authenticate: Basic`) the answer then carries.
    InvalidClient { why: String, basic: bool },
    /// `invalid_scope` (400): a scope unknown, or beyond the client's.
    InvalidScope(String),
    /// `unsupported_grant_type` (400): only `client_credentials` is granted here.
    UnsupportedGrantType(String),
    /// `invalid_token` (401): a bearer token of the caller that is not valid (RFC 6750).
    InvalidToken(String),
    /// `insufficient_scope` (403): a bearer token that may not do this (RFC 6750).
    InsufficientScope(String),
    /// `rate_limited` (429) with `Retry-After`: the client (or the address) is over its rate.
    RateLimited(Duration),
    /// `server_error` (500 or 503): the detail goes to the log only.
    Server(ApiError),
}

impl OAuthError {
    pub fn invalid_client(why: impl Into<String>) -> Self {
        Self::InvalidClient {
            why: why.into(),
            basic: false,
        }
    }

    /// The RFC 6749 / RFC 6750 error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidScope(_) => "invalid_scope",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::InvalidToken(_) => "invalid_token",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::RateLimited(_) => "rate_limited",
            Self::Server(_) => "server_error",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) | Self::InvalidScope(_) | Self::UnsupportedGrantType(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::InvalidClient { .. } | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Server(ApiError::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Server(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn description(&self) -> String {
        match self {
            Self::InvalidRequest(why)
            | Self::InvalidClient { why, .. }
            | Self::InvalidScope(why)
            | Self::UnsupportedGrantType(why)
            | Self::InvalidToken(why)
            | Self::InsufficientScope(why) => why.clone(),
            Self::RateLimited(wait) => format!(
                "too many requests for this client; retry after {} s",
                retry_after(*wait)
            ),
            Self::Server(err) => err.to_string(),
        }
    }
}

/// Whole seconds to wait, at least one.
fn retry_after(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

impl From<ApiError> for OAuthError {
    /// The one mapping of Bydel's errors to OAuth's: a token that does not authenticate is
    /// `invalid_token`, a refusal by the access rules `insufficient_scope`, bad input
    /// `invalid_request`, the rate limit `rate_limited`; anything else a server error.
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Unauthenticated(why) => Self::InvalidToken(why),
            ApiError::Forbidden(why) => Self::InsufficientScope(why),
            err @ ApiError::Validation { .. } => Self::InvalidRequest(err.to_string()),
            ApiError::RateLimited { retry_after_secs } => {
                Self::RateLimited(Duration::from_secs(retry_after_secs))
            }
            other => Self::Server(other),
        }
    }
}

/// The headers RFC 6749 §5.1 asks of every answer carrying tokens (and of its errors).
pub fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        match &self {
            Self::Server(err) => tracing::error!(error = ?err, "an OAuth request failed"),
            other => tracing::info!(error = other.code(), "OAuth request refused"),
        }
        let body = json!({ "error": self.code(), "error_description": self.description() });
        let mut response = (self.status(), Json(body)).into_response();
        no_store(&mut response);
        let challenge = match &self {
            Self::InvalidClient { basic: true, .. } => Some("Basic realm=\"bydel\"".to_owned()),
            Self::InvalidToken(_) => Some("Bearer error=\"invalid_token\"".to_owned()),
            Self::InsufficientScope(_) => Some("Bearer error=\"insufficient_scope\"".to_owned()),
            _ => None,
        };
        if let Some(value) = challenge.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        if let Self::RateLimited(wait) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after(wait)));
        }
        response
    }
}
