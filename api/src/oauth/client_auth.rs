//! Client authentication at the OAuth endpoints: `client_secret_basic` and
//! `client_secret_post` (RFC 6749 §2.3.1) and `private_key_jwt` (RFC 7523 §2.2, §3).
//!
//! Invariants: a request uses exactly one method (`invalid_request` otherwise). The client is
//! named by its global id (`ApiClient.id`), and every attempt, failed or not, takes one
//! request from that client's rate budget before any database read or hashing. A client
//! assertion must be signed by one of the client's live registered keys with the algorithm
//! the key's type fixes; `iss` and `sub` are the client, `aud` this server, `exp` at most
//! [`MAX_ASSERTION_SECS`] ahead, and its `jti` is accepted once: it is stored until the
//! assertion expires, so a replay fails on every replica. A revoked client is refused only
//! after its credential checked out, so the reason reaches only its holder. Nothing here
//! logs a secret or an assertion.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, Utc};
use entity::{api_client, client_assertion_jti};
use jsonwebtoken::{DecodingKey, Validation};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde::Deserialize;
use uuid::Uuid;

use super::{RegisteredKey, error::OAuthError, form::Params};
use crate::{
    auth::keys::claim_error,
    error::ApiError,
    ids::{self, Kind},
    limits::RateLimiter,
};

/// The `client_assertion_type` of RFC 7523 §2.2.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The furthest ahead a client assertion may expire: it is a proof for one request, so a
/// stolen one is worth minutes at most (and its `jti` is kept only that long).
pub const MAX_ASSERTION_SECS: i64 = 5 * 60;

/// The longest `jti` kept (`client_assertion_jti.jti`).
const MAX_JTI_CHARS: usize = 256;

/// How a client authenticated, as the discovery document names the methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

impl Method {
    pub const ALL: [Method; 3] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::PrivateKeyJwt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
        }
    }
}

/// What a request presents to authenticate its client, unverified.
pub struct Presented {
    method: Method,
    client_id: String,
    proof: Proof,
}

enum Proof {
    Secret(String),
    Assertion(String),
}

/// An `invalid_client` that carries the Basic challenge when Basic was used.
fn refused(method: Method, why: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClient {
        why: why.into(),
        basic: method == Method::ClientSecretBasic,
    }
}

/// `Authorization: Basic` credentials: base64 of `id:secret`, each form-urlencoded first.
fn basic_credentials(value: &str) -> Result<(String, String), OAuthError> {
    let bad = || refused(Method::ClientSecretBasic, "malformed Basic credentials");
    let encoded = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest.trim())
        .ok_or_else(bad)?;
    let decoded = STANDARD.decode(encoded).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let unescape = |part: &str| {
        percent_encoding::percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| bad())
    };
    Ok((unescape(id)?, unescape(secret)?))
}

/// Whether the request carries `Authorization: Basic ...`.
pub fn uses_basic(authorization: Option<&str>) -> bool {
    authorization.is_some_and(|v| {
        v.split_once(' ')
            .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
    })
}

/// The unverified `sub` of a client assertion: the client it claims to be.
fn assertion_subject(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Sub {
        sub: Option<String>,
    }
    jsonwebtoken::dangerous::insecure_decode::<Sub>(assertion)
        .ok()?
        .claims
        .sub
}

/// Reads the one client authentication the request presents. `authorization` is the
/// Authorization header, when it is a Basic one.
pub fn presented(authorization: Option<&str>, params: &Params) -> Result<Presented, OAuthError> {
    let basic = authorization.filter(|v| uses_basic(Some(v)));
    let secret = params.get("client_secret");
    let assertion = params.get("client_assertion");
    let assertion_type = params.get("client_assertion_type");
    let methods = [basic.is_some(), secret.is_some(), assertion.is_some()];
    if methods.iter().filter(|used| **used).count() > 1 {
        return Err(OAuthError::InvalidRequest(
            "use one client authentication method per request (Basic, client_secret or \
             client_assertion)"
                .into(),
        ));
    }
    if assertion.is_some() != assertion_type.is_some() {
        return Err(OAuthError::InvalidRequest(
            "client_assertion and client_assertion_type go together".into(),
        ));
    }
    let body_id = params.get("client_id");
    if let Some(header) = basic {
        let (client_id, secret) = basic_credentials(header)?;
        if body_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::InvalidRequest(
                "client_id differs from the client of the Basic credentials".into(),
            ));
        }
        return Ok(Presented {
            method: Method::ClientSecretBasic,
            client_id,
            proof: Proof::Secret(secret),
        });
    }
    if let Some(secret) = secret {
        let client_id = body_id.ok_or_else(|| {
            OAuthError::InvalidRequest("client_secret needs client_id beside it".into())
        })?;
        return Ok(Presented {
            method: Method::ClientSecretPost,
            client_id: client_id.to_owned(),
            proof: Proof::Secret(secret.to_owned()),
        });
    }
    if let (Some(assertion), Some(kind)) = (assertion, assertion_type) {
        if kind != ASSERTION_TYPE {
            return Err(OAuthError::InvalidRequest(format!(
                "client_assertion_type must be {ASSERTION_TYPE}"
            )));
        }
        let method = Method::PrivateKeyJwt;
        let subject = assertion_subject(assertion)
            .ok_or_else(|| refused(method, "the client assertion is not a JWT with a sub"))?;
        if body_id.is_some_and(|id| id != subject) {
            return Err(refused(
                method,
                "client_id differs from the assertion's sub",
            ));
        }
        return Ok(Presented {
            method,
            client_id: subject,
            proof: Proof::Assertion(assertion.to_owned()),
        });
    }
    Err(OAuthError::invalid_client(
        "client authentication is required: client_secret_basic, client_secret_post or \
         private_key_jwt",
    ))
}

/// A client that proved who it is.
#[derive(Debug)]
pub struct Authenticated {
    pub client: api_client::Model,
    pub method: Method,
}

/// What checking a presented credential needs.
pub struct Checker<'a, C> {
    pub db: &'a C,
    pub limiter: &'a RateLimiter,
    /// The `aud` values a client assertion may carry (this server's issuer URL, its token
    /// endpoint, the endpoint called).
    pub audiences: &'a [String],
    /// Seconds of clock skew tolerated on the assertion's times.
    pub leeway: u64,
}

impl<C: ConnectionTrait> Checker<'_, C> {
    /// Verifies `presented`: the client exists, the proof is one of its live credentials,
    /// and the client is not revoked.
    #[tracing::instrument(skip_all, fields(method = presented.method.as_str(), client = tracing::field::Empty))]
    pub async fn authenticate(&self, presented: Presented) -> Result<Authenticated, OAuthError> {
        let method = presented.method;
        let failed = || refused(method, "client authentication failed");
        let client_id = ids::decode_as(&presented.client_id, Kind::ApiClient, "client_id")
            .map_err(|_| failed())?;
        self.limiter
            .acquire(client_id)
            .map_err(OAuthError::RateLimited)?;
        let client = api_client::Entity::find_by_id(client_id)
            .one(self.db)
            .await
            .map_err(|e| OAuthError::Server(e.into()))?
            .ok_or_else(failed)?;
        match presented.proof {
            Proof::Secret(secret) => {
                let hashes = super::live_secret_hashes(self.db, client.id).await?;
                if !super::secret_matches(secret, hashes).await? {
                    return Err(failed());
                }
            }
            Proof::Assertion(assertion) => {
                self.check_assertion(&client, &presented.client_id, &assertion)
                    .await
                    .map_err(|why| refused(method, format!("client assertion refused: {why}")))?;
            }
        }
        if client.revoked_at.is_some() {
            return Err(refused(method, "this API client is revoked"));
        }
        tracing::Span::current().record("client", tracing::field::display(client.id));
        Ok(Authenticated { client, method })
    }

    /// Checks a client assertion of `client` (named `client_id` in it); `Err` says why, for
    /// `invalid_client`. Server failures become a generic reason and are logged.
    async fn check_assertion(
        &self,
        client: &api_client::Model,
        client_id: &str,
        assertion: &str,
    ) -> Result<(), String> {
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| "malformed".to_owned())?;
        let keys = super::live_keys(self.db, client.id)
            .await
            .map_err(internal)?;
        let key = pick_key(&keys, header.kid.as_deref())?;
        if header.alg != key.algorithm.jws() {
            return Err(format!(
                "the key {:?} signs with {}, not {:?}",
                key.kid,
                key.algorithm.as_str(),
                header.alg
            ));
        }
        let decoding = DecodingKey::from_jwk(&key.jwk).map_err(internal)?;
        let mut validation = Validation::new(key.algorithm.jws());
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_issuer(&[client_id]);
        validation.set_audience(self.audiences);
        validation.sub = Some(client_id.to_owned());
        validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &decoding, &validation)
            .map_err(|err| reason(&claim_error(&err)))?
            .claims;
        let now = Utc::now().timestamp();
        if claims.exp > now + MAX_ASSERTION_SECS + self.leeway as i64 {
            return Err(format!(
                "it expires more than {} minutes ahead",
                MAX_ASSERTION_SECS / 60
            ));
        }
        let jti = claims
            .jti
            .filter(|jti| !jti.is_empty() && jti.chars().count() <= MAX_JTI_CHARS)
            .ok_or("it needs a jti (1 to 256 characters)")?;
        let keep_until = DateTime::from_timestamp(claims.exp + self.leeway as i64, 0)
            .ok_or("its exp is out of range")?;
        self.use_jti(client.id, jti, keep_until).await
    }

    /// Records `jti` as used until `until`, first dropping every expired one; a `jti` the
    /// client used before is refused (the primary key decides, on every replica).
    async fn use_jti(&self, client: Uuid, jti: String, until: DateTime<Utc>) -> Result<(), String> {
        client_assertion_jti::Entity::delete_many()
            .filter(client_assertion_jti::Column::ExpiresAt.lt(crate::db::now()))
            .exec(self.db)
            .await
            .map_err(internal)?;
        let row = client_assertion_jti::ActiveModel {
            client_id: Set(client),
            jti: Set(jti),
            expires_at: Set(until),
        };
        match row.insert(self.db).await.map_err(ApiError::from) {
            Ok(_) => Ok(()),
            Err(ApiError::Conflict(_)) => Err("its jti was already used".into()),
            Err(other) => Err(internal(other)),
        }
    }
}

/// The claims of a client assertion that the standard checks leave to us.
#[derive(Deserialize)]
struct AssertionClaims {
    exp: i64,
    jti: Option<String>,
}

/// The key `kid` names among the client's, or its only key when the assertion names none.
fn pick_key<'k>(keys: &'k [RegisteredKey], kid: Option<&str>) -> Result<&'k RegisteredKey, String> {
    let found = match kid {
        Some(kid) => keys.iter().find(|key| key.kid == kid),
        None if keys.len() == 1 => keys.first(),
        None => None,
    };
    found.ok_or_else(|| match kid {
        Some(kid) => format!("no live key with the kid {kid:?} is registered for this client"),
        None => "name the signing key in the header's kid".into(),
    })
}

/// The words of an `invalid token: ...` refusal, for an assertion.
fn reason(err: &ApiError) -> String {
    let text = err.to_string();
    text.strip_prefix("invalid token: ")
        .unwrap_or(&text)
        .to_owned()
}

/// A server-side failure while checking: logged, answered without detail.
fn internal(err: impl std::fmt::Debug) -> String {
    tracing::error!(error = ?err, "a client assertion could not be checked");
    "it could not be checked now; retry".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("QXBp%3Ax:bydel_cs_a+b"));
        assert_eq!(
            basic_credentials(&header).unwrap(),
            ("QXBp:x".to_owned(), "bydel_cs_a b".to_owned())
        );
        assert!(basic_credentials("Basic !!!").is_err());
        assert!(basic_credentials(&format!("Basic {}", STANDARD.encode("nocolon"))).is_err());
        assert!(uses_basic(Some("basic abc")));
        assert!(!uses_basic(Some("Bearer abc")));
    }
}
