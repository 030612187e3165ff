//! The OAuth 2.0 HTTP endpoints, outside `/graphql`'s bearer authentication:
//!
//! - `POST /oauth/token`: the client credentials grant (RFC 6749 §4.4);
//! - `POST /oauth/revoke`: token revocation (RFC 7009);
//! - `POST /oauth/introspect`: token introspection (RFC 7662);
//! - `GET /.well-known/oauth-authorization-server`: the metadata (RFC 8414).
//!
//! Invariants: the POST endpoints read `application/x-www-form-urlencoded` bodies of at most
//! [`MAX_FORM_BYTES`] with every parameter at most once (`invalid_request` otherwise). Revoke
//! and introspect answer an authenticated client about its own tokens only (another client's
//! is as unknown: `200` and `{"active": false}`), or a secretariat bearer token about any
//! (rules in `auth::access::TokenInquirer`). A source address that keeps failing to
//! authenticate is refused like at `/graphql` (`limits::auth_failures`), besides the
//! per-client rate limit of [`OAuthSettings::rate_per_minute`]. Token answers are never cached.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Json, Router,
    body::Body,
    extract::{FromRef, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::{
    client_auth::{self, Authenticated, Checker, Method},
    error::{OAuthError, no_store},
    form::Params,
};
use crate::{
    auth::{
        Access, Area, Principal, Scope, ScopeSet, TokenCache, TokenKeys, access::TokenInquirer,
        authenticate, issuers::IssuerAlgorithm, keys::Claims,
    },
    error::ApiError,
    ids::Kind,
    limits::{self, Limits, RateLimiter},
    tokens::{self, Manager},
};

/// Largest request body read; OAuth forms are a few hundred bytes (an RSA-signed assertion
/// about one KiB).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The default lifetime of a token issued at the token endpoint.
pub const DEFAULT_TOKEN_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// The default requests per minute per client at the OAuth endpoints.
pub const DEFAULT_RATE_PER_MINUTE: u32 = 30;

const TOKEN_PATH: &str = "/oauth/token";
const REVOKE_PATH: &str = "/oauth/revoke";
const INTROSPECT_PATH: &str = "/oauth/introspect";
const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";
const REQUEST_ID: &str = "x-request-id";

/// How the OAuth endpoints behave (`--public-url`, `--oauth-token-ttl`, `--oauth-rate-limit`).
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// The URL partners reach this server at, without a trailing slash: the issuer of the
    /// metadata and the base of the endpoints it names.
    pub public_url: String,
    pub token_ttl: chrono::Duration,
    /// Requests per minute per API client (failed authentications included); 0: no limit.
    pub rate_per_minute: u32,
}

impl OAuthSettings {
    /// The settings of a server reached at `http://{address}` with the default TTL and rate.
    pub fn at(address: SocketAddr) -> Self {
        Self {
            public_url: format!("http://{address}"),
            token_ttl: DEFAULT_TOKEN_TTL,
            rate_per_minute: DEFAULT_RATE_PER_MINUTE,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

impl Default for OAuthSettings {
    /// Reached at `bydel serve`'s default listen address.
    fn default() -> Self {
        Self::at(SocketAddr::from(([127, 0, 0, 1], 8080)))
    }
}

/// The OAuth endpoints' settings and per-client rate limiter, shared by a replica's requests.
pub struct OAuth {
    settings: OAuthSettings,
    limiter: RateLimiter,
}

impl OAuth {
    pub fn new(settings: OAuthSettings) -> Self {
        let per_minute = settings.rate_per_minute;
        Self {
            limiter: RateLimiter::new(f64::from(per_minute) / 60.0, per_minute.max(1)),
            settings,
        }
    }

    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }
}

impl Default for OAuth {
    fn default() -> Self {
        Self::new(OAuthSettings::default())
    }
}

/// What the endpoints read of the server's state (see `state::Endpoints`, which gives it).
#[derive(Clone)]
pub struct Endpoints {
    pub db: DatabaseConnection,
    pub keys: Arc<TokenKeys>,
    pub tokens: Arc<TokenCache>,
    pub limits: Arc<Limits>,
    pub oauth: Arc<OAuth>,
}

/// The endpoints, merged into the server's router (see `server::router`).
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Endpoints: FromRef<S>,
{
    Router::new()
        .route(TOKEN_PATH, post(token))
        .route(REVOKE_PATH, post(revoke))
        .route(INTROSPECT_PATH, post(introspect))
        .route(METADATA_PATH, get(metadata))
}

/// One POST to an OAuth endpoint, read.
struct Call {
    headers: HeaderMap,
    params: Params,
    request_id: Option<String>,
}

impl Call {
    fn authorization(&self) -> Option<&str> {
        self.headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The caller's bearer token, when it sent one instead of client credentials.
    fn bearer(&self) -> Option<&str> {
        let value = self.authorization()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }
}

/// Reads the form of a request: its media type must be a form, its body small.
async fn read_call(req: Request) -> Result<Call, OAuthError> {
    let (parts, body) = req.into_parts();
    let form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(OAuthError::InvalidRequest(
            "send the parameters as application/x-www-form-urlencoded".into(),
        ));
    }
    let body = axum::body::to_bytes(Body::new(body), MAX_FORM_BYTES)
        .await
        .map_err(|_| {
            OAuthError::InvalidRequest(format!(
                "the body is larger than {} KiB",
                MAX_FORM_BYTES / 1024
            ))
        })?;
    let request_id = parts
        .headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(Call {
        params: Params::parse(&body)?,
        headers: parts.headers,
        request_id,
    })
}

/// Runs `work` on the request's form, behind the source address's failed-authentication
/// budget, and counts a failed authentication against it.
async fn guarded(
    state: Endpoints,
    req: Request,
    work: impl AsyncFnOnce(&Endpoints, Call) -> Result<Response, OAuthError>,
) -> Response {
    let source = limits::source_address(&req, state.limits.settings().trust_forwarded_for);
    let failures = state.limits.auth_failures();
    if let Some(wait) = source.and_then(|address| failures.empty(&address)) {
        return OAuthError::RateLimited(wait).into_response();
    }
    let outcome = match read_call(req).await {
        Ok(call) => work(&state, call).await,
        Err(err) => Err(err),
    };
    match outcome {
        Ok(response) => response,
        Err(err @ (OAuthError::InvalidClient { .. } | OAuthError::InvalidToken(_))) => {
            if let Some(Err(wait)) = source.map(|address| failures.acquire(address)) {
                return OAuthError::RateLimited(wait).into_response();
            }
            err.into_response()
        }
        Err(err) => err.into_response(),
    }
}

/// The `aud` values a client assertion sent to `path` may carry.
fn audiences(state: &Endpoints, path: &str) -> Vec<String> {
    let settings = state.oauth.settings();
    let mut audiences = vec![settings.public_url.clone(), settings.url(TOKEN_PATH)];
    if path != TOKEN_PATH {
        audiences.push(settings.url(path));
    }
    audiences
}

/// Authenticates the client of `call` at `path`.
async fn client_of(
    state: &Endpoints,
    call: &Call,
    path: &str,
) -> Result<Authenticated, OAuthError> {
    let audiences = audiences(state, path);
    let checker = Checker {
        db: &state.db,
        limiter: &state.oauth.limiter,
        audiences: &audiences,
        leeway: state.keys.leeway(),
    };
    let presented = client_auth::presented(call.authorization(), &call.params)?;
    checker.authenticate(presented).await
}

/// `POST /oauth/token`.
async fn token(State(state): State<Endpoints>, req: Request) -> Response {
    guarded(state, req, grant).await
}

/// The client credentials grant: the client, then the scopes, then one issue through
/// `tokens::issue_to_client` (its row and audit event in one transaction).
async fn grant(state: &Endpoints, call: Call) -> Result<Response, OAuthError> {
    match call.params.require("grant_type")? {
        "client_credentials" => {}
        other => {
            return Err(OAuthError::UnsupportedGrantType(format!(
                "the grant type {other:?} is not supported here; use client_credentials"
            )));
        }
    }
    let Authenticated { client, .. } = client_of(state, &call, TOKEN_PATH).await?;
    let scopes = requested_scopes(&client.scopes, call.params.get("scope"))?;
    let ttl = state.oauth.settings.token_ttl;
    let issued = crate::db::transaction(&state.db, async |txn| {
        tokens::issue_to_client(txn, &state.keys, &client, scopes, ttl, call.request_id).await
    })
    .await
    .map_err(|err| match err {
        ApiError::Validation { message, .. } => OAuthError::InvalidScope(message),
        ApiError::Conflict(why) => OAuthError::invalid_client(why),
        other => OAuthError::Server(other),
    })?;
    let mut response = Json(json!({
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_in": ttl.num_seconds(),
        "scope": issued.api_token.scopes,
    }))
    .into_response();
    no_store(&mut response);
    Ok(response)
}

/// The scopes asked for: `None` (all of the client's) when `scope` is absent; otherwise
/// known scopes the client holds, else `invalid_scope`.
fn requested_scopes(held: &str, asked: Option<&str>) -> Result<Option<ScopeSet>, OAuthError> {
    let Some(asked) = asked else {
        return Ok(None);
    };
    let held = ScopeSet::parse(held).map_err(OAuthError::Server)?;
    let scopes = ScopeSet::parse(asked).map_err(|err| OAuthError::InvalidScope(err.to_string()))?;
    if scopes.is_empty() {
        return Err(OAuthError::InvalidScope("name at least one scope".into()));
    }
    if !held.covers(&scopes) {
        return Err(OAuthError::InvalidScope(format!(
            "the scopes asked for exceed the client's ({held})"
        )));
    }
    Ok(Some(scopes))
}

/// Who asks about a token: the authenticated client, or the bearer of a token (not both).
enum Inquirer {
    Client(Authenticated),
    Bearer(Principal),
}

impl Inquirer {
    fn access(&self) -> TokenInquirer<'_> {
        match self {
            Self::Client(client) => TokenInquirer::Client(client.client.id),
            Self::Bearer(principal) => TokenInquirer::Principal(principal),
        }
    }
}

async fn inquirer(state: &Endpoints, call: &Call, path: &str) -> Result<Inquirer, OAuthError> {
    let Some(bearer) = call.bearer() else {
        return Ok(Inquirer::Client(client_of(state, call, path).await?));
    };
    let body_auth = ["client_secret", "client_assertion", "client_id"];
    if body_auth.iter().any(|name| call.params.get(name).is_some()) {
        return Err(OAuthError::InvalidRequest(
            "use a bearer token or client authentication, not both".into(),
        ));
    }
    let principal = authenticate(&state.db, &state.keys, &state.tokens, bearer).await?;
    Ok(Inquirer::Bearer(principal))
}

/// `POST /oauth/revoke`.
async fn revoke(State(state): State<Endpoints>, req: Request) -> Response {
    guarded(state, req, revocation).await
}

/// Revokes the token if it is the inquirer's to revoke; answers `200` either way (RFC 7009
/// §2.2: an invalid or unknown token is no error), so nothing is learnt about other tokens.
async fn revocation(state: &Endpoints, call: Call) -> Result<Response, OAuthError> {
    let token = call.params.require("token")?;
    let inquirer = inquirer(state, &call, REVOKE_PATH).await?;
    // The secretariat's right is checked before the token is looked at.
    let revoker = match &inquirer {
        Inquirer::Client(own) => Revoker::Own(&own.client),
        Inquirer::Bearer(principal) => {
            Revoker::Manager(Manager::of(principal, call.request_id.clone())?)
        }
    };
    let jti = match state.keys.verify(&state.db, token).await {
        Ok(verified) => uuid::Uuid::parse_str(&verified.claims.jti).ok(),
        Err(ApiError::Unauthenticated(_)) => None,
        Err(other) => return Err(OAuthError::Server(other)),
    };
    if let Some(jti) = jti {
        let outcome = crate::db::transaction(&state.db, async |txn| match &revoker {
            Revoker::Own(client) => {
                tokens::revoke_own_token(txn, client, jti, call.request_id.clone())
                    .await
                    .map(drop)
            }
            Revoker::Manager(by) => match tokens::revoke_token(txn, by, jti).await {
                Ok(_) | Err(ApiError::NotFound(_)) => Ok(()),
                Err(other) => Err(other),
            },
        })
        .await;
        state.tokens.clear();
        outcome.map_err(OAuthError::Server)?;
    }
    let mut response = StatusCode::OK.into_response();
    no_store(&mut response);
    Ok(response)
}

/// Who revokes: a client its own token, or the secretariat's token manager any.
enum Revoker<'a> {
    Own(&'a entity::api_client::Model),
    Manager(Manager<'a>),
}

/// `POST /oauth/introspect`.
async fn introspect(State(state): State<Endpoints>, req: Request) -> Response {
    guarded(state, req, introspection).await
}

/// The state of a Bydel token, as Bydel checks it on every request (signature, expiry, its
/// row, its client, its key). `{"active": false}` for anything not active or not the
/// inquirer's to see.
async fn introspection(state: &Endpoints, call: Call) -> Result<Response, OAuthError> {
    let token = call.params.require("token")?;
    let inquirer = inquirer(state, &call, INTROSPECT_PATH).await?;
    let access = inquirer.access();
    access.may_introspect()?;
    let body = match active_token(state, token).await? {
        Some((principal, claims)) if access.sees_tokens_of(principal.client_id) => json!({
            "active": true,
            "scope": principal.scopes().to_string(),
            "client_id": Kind::ApiClient.id(principal.client_id).0,
            "sub": claims.sub,
            "iss": claims.iss,
            "aud": claims.aud,
            "jti": claims.jti,
            "exp": claims.exp,
            "iat": claims.iat,
            "nbf": claims.nbf,
            "token_type": "Bearer",
        }),
        _ => json!({ "active": false }),
    };
    let mut response = Json(body).into_response();
    no_store(&mut response);
    Ok(response)
}

/// The principal and claims of `token` when it is an active Bydel token; tokens of trusted
/// external issuers are their issuer's to introspect, so they are not active here.
async fn active_token(
    state: &Endpoints,
    token: &str,
) -> Result<Option<(Principal, Claims)>, OAuthError> {
    let own = crate::auth::issuers::unverified_issuer(token)
        .is_some_and(|iss| iss == state.keys.issuer());
    if !own {
        return Ok(None);
    }
    let principal = match authenticate(&state.db, &state.keys, &state.tokens, token).await {
        Ok(principal) => principal,
        Err(ApiError::Unauthenticated(_)) => return Ok(None),
        Err(other) => return Err(OAuthError::Server(other)),
    };
    // Verified just now by `authenticate`; this only reads the claims.
    let claims = jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
        .map_err(|_| OAuthError::Server(ApiError::internal("verified claims do not decode")))?
        .claims;
    Ok(Some((principal, claims)))
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414), for clients that configure
/// themselves; cacheable for an hour.
async fn metadata(State(state): State<Endpoints>) -> Response {
    let settings = state.oauth.settings();
    let methods: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
    let algorithms: Vec<&str> = IssuerAlgorithm::ALL.iter().map(|a| a.as_str()).collect();
    let scopes: Vec<String> = Area::ALL
        .iter()
        .flat_map(|&area| {
            [Access::Read, Access::Write, Access::Admin].map(|access| Scope { area, access })
        })
        .map(|scope| scope.to_string())
        .collect();
    let document: Value = json!({
        "issuer": settings.public_url,
        "token_endpoint": settings.url(TOKEN_PATH),
        "revocation_endpoint": settings.url(REVOKE_PATH),
        "introspection_endpoint": settings.url(INTROSPECT_PATH),
        "jwks_uri": settings.url("/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        // No authorization endpoint: no response types.
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": methods,
        "token_endpoint_auth_signing_alg_values_supported": algorithms,
        "revocation_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_signing_alg_values_supported": algorithms,
        "introspection_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_signing_alg_values_supported": algorithms,
        "scopes_supported": scopes,
    });
    ([(header::CACHE_CONTROL, "max-age=3600")], Json(document)).into_response()
}
