//! Tokens from trusted external issuers: an organisation's own identity provider (Entra ID,
//! Keycloak, KOMBIT's context handler) whose tokens Bydel accepts for that organisation only.
//!
//! Invariants (RFC 8725): the `alg` must be one the registration allows and fit the key's
//! type (RSA for RS256, P-256 for ES256, Ed25519 for EdDSA; never `none`, never HMAC, so a
//! public key can never serve as a shared secret); `iss`, `aud` and `exp` are required and
//! checked, `nbf` and `iat` when present, all with the configured leeway. A token speaks for
//! exactly one organisation: the registrations of its `iss` whose conditions all equal its
//! claims; none or several is `UNAUTHENTICATED`. Its scopes are what its scope claim names,
//! met with the organisation's ceiling (no ceiling: nothing) and stripped of the areas its
//! kind can never use. The principal is the registration's API client, so audit events and
//! rate limits name it, and every row rule of `access.rs` applies unchanged. The registry
//! is read on every request (one query), so a revocation takes effect at once everywhere.

use entity::{api_client, enums::OrganisationKind, organisation, scope_ceiling, trusted_issuer};
use jsonwebtoken::{
    Algorithm, DecodingKey, Validation,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse},
};
use sea_orm::{
    ConnectionTrait, ExprTrait, FromQueryResult,
    sea_query::{Expr, Query, SelectStatement},
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    OrganisationRef, Principal, ScopeSet,
    jwks::{self, JwksCache},
    keys::claim_error,
};
use crate::error::{ApiError, ApiResult};

/// The claims of an external token, as its issuer wrote them.
type ClaimMap = Map<String, Value>;

/// The largest inline JWKS a registration may hold.
pub const MAX_INLINE_JWKS_BYTES: usize = 64 * 1024;

/// The smallest RSA modulus accepted (NIST SP 800-131A).
const MIN_RSA_BITS: usize = 2048;

/// A JWS algorithm a trusted issuer may sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IssuerAlgorithm {
    Rs256,
    Es256,
    EdDsa,
}

impl IssuerAlgorithm {
    pub const ALL: [IssuerAlgorithm; 3] = [Self::Rs256, Self::Es256, Self::EdDsa];

    /// The JWS name, as stored and as a token's header carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    pub(crate) fn jws(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
        }
    }

    fn key_algorithm(self) -> KeyAlgorithm {
        match self {
            Self::Rs256 => KeyAlgorithm::RS256,
            Self::Es256 => KeyAlgorithm::ES256,
            Self::EdDsa => KeyAlgorithm::EdDSA,
        }
    }

    fn of_jws(alg: Algorithm) -> Option<Self> {
        Self::ALL.into_iter().find(|known| known.jws() == alg)
    }

    /// The one algorithm `key` verifies, by its type and curve ([`Self::fits`]); `None` for a
    /// key that fits none (HMAC, a small RSA key, another curve, another use).
    pub fn of_key(key: &Jwk) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.fits(key))
    }

    /// The stored, space-separated list; unknown names are skipped.
    pub fn parse_list(text: &str) -> Vec<Self> {
        text.split_whitespace()
            .filter_map(|name| Self::ALL.into_iter().find(|alg| alg.as_str() == name))
            .collect()
    }

    /// Whether `key` may verify this algorithm's signatures: its type and curve are this
    /// algorithm's, it names no other algorithm and no use but signing, and an RSA key is
    /// at least 2048 bits.
    pub fn fits(self, key: &Jwk) -> bool {
        if key
            .common
            .key_algorithm
            .is_some_and(|named| named != self.key_algorithm())
        {
            return false;
        }
        if key
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|usage| *usage != PublicKeyUse::Signature)
        {
            return false;
        }
        match (self, &key.algorithm) {
            (Self::Rs256, AlgorithmParameters::RSA(rsa)) => rsa_bits(&rsa.n) >= MIN_RSA_BITS,
            (Self::Es256, AlgorithmParameters::EllipticCurve(ec)) => {
                ec.curve == EllipticCurve::P256
            }
            (Self::EdDsa, AlgorithmParameters::OctetKeyPair(okp)) => {
                okp.curve == EllipticCurve::Ed25519
            }
            _ => false,
        }
    }
}

/// The size of a base64url RSA modulus in bits (0 when it does not decode).
fn rsa_bits(n: &str) -> usize {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(n.trim_end_matches('=')) else {
        return 0;
    };
    let significant: Vec<u8> = bytes.into_iter().skip_while(|b| *b == 0).collect();
    match significant.first() {
        Some(first) => (significant.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

/// One condition of a registration: the claim `claim` must equal `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimCondition {
    pub claim: String,
    pub value: String,
}

impl ClaimCondition {
    /// Whether `claims` satisfies the condition: a string claim equal to `value`, or a number
    /// or boolean whose JSON text is `value` (a municipality code sent as a number).
    fn holds(&self, claims: &ClaimMap) -> bool {
        match claim(claims, &self.claim) {
            Some(Value::String(text)) => *text == self.value,
            Some(value @ (Value::Number(_) | Value::Bool(_))) => {
                // Not `*value == self.value`: serde_json equates a Value with a String only
                // when the value is a string.
                let text = value.to_string();
                text == self.value
            }
            _ => false,
        }
    }
}

/// The claim at `path`: the claim of that exact name (Entra ID's claim names are URIs with
/// dots), else the dotted path into nested objects (Keycloak's `realm_access.roles`).
pub fn claim<'a>(claims: &'a ClaimMap, path: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    let mut parts = path.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// The Bydel scopes a scope claim names: a space-separated string (OAuth `scope`, Entra's
/// `scp`) or an array of strings (Entra's `roles`, Keycloak's roles). Entries that are not
/// Bydel scopes (`openid`, `User.Read`) are ignored, not refused: providers add their own.
pub fn mapped_scopes(value: Option<&Value>) -> ScopeSet {
    let names: Vec<&str> = match value {
        Some(Value::String(text)) => text.split_whitespace().collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    names
        .into_iter()
        .filter_map(|name| ScopeSet::parse(name).ok())
        .fold(ScopeSet::default(), |all, one| all.union(&one))
}

/// A registration's JWKS URL: `https`, or plain `http` to a loopback address only (a
/// provider on the same host), without credentials or fragment; `field` names the input.
pub fn parse_jwks_url(text: &str, field: &str) -> ApiResult<String> {
    let bad = |why: &str| ApiError::validation(field, why);
    let text = text.trim();
    if text.len() > 2048 {
        return Err(bad("a JWKS URL has at most 2048 characters"));
    }
    let url = reqwest::Url::parse(text).map_err(|_| bad("not a URL"))?;
    let host = url.host_str().ok_or_else(|| bad("the URL names no host"))?;
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(bad(
                "the JWKS URL must use https (http only to a loopback host)",
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err(bad(
            "the JWKS URL must carry no credentials and no fragment",
        ));
    }
    Ok(url.to_string())
}

/// An inline JWKS: a JSON Web Key Set of at most 64 KiB with at least one key usable with
/// one of `algorithms`. Stored as given.
pub fn parse_inline_jwks(
    text: &str,
    algorithms: &[IssuerAlgorithm],
    field: &str,
) -> ApiResult<String> {
    if text.len() > MAX_INLINE_JWKS_BYTES {
        return Err(ApiError::validation(field, "a JWKS has at most 64 KiB"));
    }
    let keys = jwks::parse_set(text.as_bytes())
        .ok_or_else(|| ApiError::validation(field, "not a JSON Web Key Set ({\"keys\": [...]})"))?;
    if !keys
        .iter()
        .any(|key| algorithms.iter().any(|alg| alg.fits(key)))
    {
        return Err(ApiError::validation(
            field,
            "no key of the set fits the algorithms given (RSA of 2048 bits or more for RS256, \
             P-256 for ES256, Ed25519 for EdDSA)",
        ));
    }
    Ok(text.to_owned())
}

/// The `iss` of a token, unverified: it only chooses which checks run. `None` when the
/// token does not decode or names no issuer (Bydel's own checks then refuse it).
pub fn unverified_issuer(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Iss {
        iss: Option<String>,
    }
    jsonwebtoken::dangerous::insecure_decode::<Iss>(token)
        .ok()?
        .claims
        .iss
}

fn invalid(why: &str) -> ApiError {
    ApiError::Unauthenticated(format!("invalid token: {why}"))
}

fn refused(why: &str) -> ApiError {
    ApiError::Unauthenticated(format!("token refused: {why}"))
}

/// A registration of the token's issuer, with what building the principal needs.
#[derive(Debug, Clone, FromQueryResult)]
struct IssuerRow {
    client_id: Uuid,
    organisation_id: Uuid,
    jwks_url: Option<String>,
    jwks: Option<String>,
    audience: String,
    algorithms: String,
    scope_claim: String,
    conditions: String,
    organisation_kind: OrganisationKind,
    municipality_code: Option<i32>,
    ceiling: Option<String>,
}

impl IssuerRow {
    fn conditions(&self) -> ApiResult<Vec<ClaimCondition>> {
        serde_json::from_str(&self.conditions)
            .map_err(|_| ApiError::internal("stored issuer conditions do not parse"))
    }
}

/// The active registrations of `iss` whose client is not revoked, with their organisation
/// and its ceiling: one query.
fn registrations_query(iss: &str) -> SelectStatement {
    use api_client::Column as Client;
    use organisation::Column as Org;
    use scope_ceiling::Column as Ceiling;
    use trusted_issuer::Column as Issuer;
    Query::select()
        .columns(
            [
                Issuer::ClientId,
                Issuer::OrganisationId,
                Issuer::JwksUrl,
                Issuer::Jwks,
                Issuer::Audience,
                Issuer::Algorithms,
                Issuer::ScopeClaim,
                Issuer::Conditions,
            ]
            .map(|c| (trusted_issuer::Entity, c)),
        )
        .expr_as(
            Expr::col((organisation::Entity, Org::Kind)),
            "organisation_kind",
        )
        .column((organisation::Entity, Org::MunicipalityCode))
        .expr_as(
            Expr::col((scope_ceiling::Entity, Ceiling::Scopes)),
            "ceiling",
        )
        .from(trusted_issuer::Entity)
        .inner_join(
            api_client::Entity,
            Expr::col((api_client::Entity, Client::Id))
                .equals((trusted_issuer::Entity, Issuer::ClientId)),
        )
        .inner_join(
            organisation::Entity,
            Expr::col((organisation::Entity, Org::Id))
                .equals((trusted_issuer::Entity, Issuer::OrganisationId)),
        )
        .left_join(
            scope_ceiling::Entity,
            Expr::col((scope_ceiling::Entity, Ceiling::OrganisationId))
                .equals((trusted_issuer::Entity, Issuer::OrganisationId)),
        )
        .and_where(Expr::col((trusted_issuer::Entity, Issuer::Issuer)).eq(iss))
        .and_where(Expr::col((trusted_issuer::Entity, Issuer::RevokedAt)).is_null())
        .and_where(Expr::col((api_client::Entity, Client::RevokedAt)).is_null())
        .take()
}

/// The one registration whose conditions the claims meet.
fn pick(rows: Vec<IssuerRow>, claims: &ClaimMap) -> ApiResult<IssuerRow> {
    let mut matching = Vec::new();
    for row in rows {
        if row.conditions()?.iter().all(|c| c.holds(claims)) {
            matching.push(row);
        }
    }
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => Err(refused(
            "the token's claims meet the conditions of no organisation that trusts its issuer",
        )),
        _ => Err(refused(
            "the token's claims meet the conditions of more than one organisation that trusts \
             its issuer; the secretariat must tell them apart",
        )),
    }
}

/// A stable id for the token, for the principal: a UUID (v8 layout) of the SHA-256 of its
/// issuer and `jti` (or, without a `jti`, its signature). External tokens have no row:
/// they are refused by revoking their issuer, not one by one.
fn token_id(iss: &str, claims: &ClaimMap, token: &str) -> Uuid {
    let unique = match claims.get("jti").and_then(Value::as_str) {
        Some(jti) => jti,
        None => token.rsplit('.').next().unwrap_or(token),
    };
    let digest = Sha256::new()
        .chain_update(iss.as_bytes())
        .chain_update([0u8])
        .chain_update(unique.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The verifier of external tokens: the replica's JWKS cache and the clock leeway.
#[derive(Debug)]
pub struct Issuers {
    jwks: JwksCache,
    leeway: u64,
}

impl Issuers {
    pub fn new(leeway: u64) -> Result<Self, reqwest::Error> {
        Ok(Self {
            jwks: JwksCache::new()?,
            leeway,
        })
    }

    pub fn with_leeway(mut self, leeway: u64) -> Self {
        self.leeway = leeway;
        self
    }

    /// Authenticates `token`, whose unverified `iss` is `iss` (not Bydel's own).
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(
        &self,
        db: &impl ConnectionTrait,
        token: &str,
        iss: &str,
    ) -> ApiResult<Principal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed"))?;
        let unverified = jsonwebtoken::dangerous::insecure_decode::<ClaimMap>(token)
            .map_err(|_| invalid("malformed"))?
            .claims;
        let rows = db
            .query_all(&registrations_query(iss))
            .await?
            .iter()
            .map(|result| IssuerRow::from_query_result(result, ""))
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Err(refused("no organisation trusts the token's issuer"));
        }
        let row = pick(rows, &unverified)?;
        let allowed = IssuerAlgorithm::parse_list(&row.algorithms);
        let alg = IssuerAlgorithm::of_jws(header.alg)
            .filter(|alg| allowed.contains(alg))
            .ok_or_else(|| {
                let names: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
                invalid(&format!(
                    "algorithm not accepted for this issuer (it signs with {})",
                    names.join(", ")
                ))
            })?;
        let key = self.key(&row, alg, header.kid.as_deref()).await?;
        let claims = self.decode(token, &key, alg, iss, &row.audience)?;
        let ceiling = ScopeSet::parse(row.ceiling.as_deref().unwrap_or_default())
            .map_err(|_| ApiError::internal("a stored scope ceiling does not parse"))?;
        let scopes = mapped_scopes(claim(&claims, &row.scope_claim))
            .meet(&ceiling)
            .usable_by(row.organisation_kind);
        Ok(Principal::new(
            row.client_id,
            token_id(iss, &claims, token),
            OrganisationRef {
                id: row.organisation_id,
                kind: row.organisation_kind,
                municipality_code: row.municipality_code,
            },
            scopes,
        ))
    }

    /// The verification key for the token's `kid` from the registration's inline set or its
    /// URL's cached set, checked to fit `alg`.
    async fn key(
        &self,
        row: &IssuerRow,
        alg: IssuerAlgorithm,
        kid: Option<&str>,
    ) -> ApiResult<DecodingKey> {
        let jwk = match (&row.jwks, &row.jwks_url) {
            (Some(inline), _) => inline_key(inline, alg, kid)?,
            (None, Some(url)) => {
                let kid = kid.ok_or_else(|| invalid("no key id"))?;
                self.jwks
                    .key(url, kid)
                    .await
                    .map_err(|why| {
                        refused(&format!(
                            "the keys of the token's issuer could not be fetched ({why})"
                        ))
                    })?
                    .ok_or_else(|| invalid("unknown key id"))?
            }
            (None, None) => return Err(ApiError::internal("an issuer without keys")),
        };
        if !alg.fits(&jwk) {
            return Err(invalid("the key named does not fit the token's algorithm"));
        }
        DecodingKey::from_jwk(&jwk).map_err(|_| invalid("the issuer's key does not decode"))
    }

    fn decode(
        &self,
        token: &str,
        key: &DecodingKey,
        alg: IssuerAlgorithm,
        iss: &str,
        audience: &str,
    ) -> ApiResult<ClaimMap> {
        let mut validation = Validation::new(alg.jws());
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_issuer(&[iss]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<ClaimMap>(token, key, &validation)
            .map_err(|e| claim_error(&e))?
            .claims;
        let now = chrono::Utc::now().timestamp();
        if claims
            .get("iat")
            .and_then(Value::as_i64)
            .is_some_and(|iat| iat > now + self.leeway as i64)
        {
            return Err(invalid("issued in the future"));
        }
        Ok(claims)
    }
}

/// The key of an inline set: by `kid`, or the one key fitting `alg` when the token names none.
fn inline_key(inline: &str, alg: IssuerAlgorithm, kid: Option<&str>) -> ApiResult<Jwk> {
    let keys = jwks::parse_set(inline.as_bytes())
        .ok_or_else(|| ApiError::internal("a stored inline JWKS does not parse"))?;
    match kid {
        Some(kid) => jwks::find(&keys, kid).ok_or_else(|| invalid("unknown key id")),
        None => {
            let mut fitting = keys.into_iter().filter(|key| alg.fits(key));
            match (fitting.next(), fitting.next()) {
                (Some(key), None) => Ok(key),
                _ => Err(invalid("no key id")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> ClaimMap {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn claims_are_found_by_name_then_by_path() {
        let c = claims(json!({
            "http://schemas.example/role": "x",
            "realm_access": {"roles": ["referrals:read"]},
        }));
        assert_eq!(claim(&c, "http://schemas.example/role"), Some(&json!("x")));
        assert_eq!(
            claim(&c, "realm_access.roles"),
            Some(&json!(["referrals:read"]))
        );
        assert_eq!(claim(&c, "realm_access.missing"), None);
    }

    #[test]
    fn scopes_come_from_strings_or_arrays_and_ignore_strangers() {
        let text = json!("openid referrals:read User.Read");
        assert_eq!(mapped_scopes(Some(&text)).to_string(), "referrals:read");
        let list = json!(["stats:read", "offline_access", 7]);
        assert_eq!(mapped_scopes(Some(&list)).to_string(), "stats:read");
        assert!(mapped_scopes(None).is_empty());
    }

    #[test]
    fn conditions_compare_strings_and_numbers() {
        let c = claims(json!({"municipality": 101, "tid": "abc", "admin": true}));
        let holds = |claim: &str, value: &str| {
            ClaimCondition {
                claim: claim.into(),
                value: value.into(),
            }
            .holds(&c)
        };
        assert!(holds("municipality", "101"));
        assert!(holds("tid", "abc"));
        assert!(holds("admin", "true"));
        assert!(!holds("tid", "abd"));
        assert!(!holds("missing", "abc"));
    }

    #[test]
    fn jwks_urls_need_https_except_to_loopback() {
        let ok = |u: &str| parse_jwks_url(u, "input.jwksUrl").is_ok();
        assert!(ok("https://login.example/keys"));
        assert!(ok("http://127.0.0.1:8080/jwks"));
        assert!(ok("http://localhost/jwks"));
        assert!(!ok("http://login.example/keys"));
        assert!(!ok("ftp://login.example/keys"));
        assert!(!ok("https://user:pw@login.example/keys"));
        assert!(!ok("not a url"));
        let err = parse_jwks_url("nope", "input.jwksUrl").unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert!(err.to_string().starts_with("input.jwksUrl: "));
    }

    #[test]
    fn keys_fit_only_their_algorithm() {
        let ed: Jwk = serde_json::from_value(json!({
            "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        }))
        .unwrap();
        assert!(IssuerAlgorithm::EdDsa.fits(&ed));
        assert!(!IssuerAlgorithm::Rs256.fits(&ed));
        assert!(!IssuerAlgorithm::Es256.fits(&ed));
        let secret: Jwk = serde_json::from_value(json!({"kty": "oct", "k": "c2VjcmV0"})).unwrap();
        assert!(IssuerAlgorithm::ALL.iter().all(|alg| !alg.fits(&secret)));
        let small_rsa: Jwk =
            serde_json::from_value(json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})).unwrap();
        assert!(!IssuerAlgorithm::Rs256.fits(&small_rsa));
    }
}
