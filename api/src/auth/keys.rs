//! Token signing and verification: Ed25519 (EdDSA) JWTs with a key id in the header.
//!
//! Invariants: only `EdDSA` is accepted (never `none`, never HMAC, so a public key can never
//! be used as an HMAC secret); `iss`, `aud`, `exp`, `nbf` are checked with a small leeway;
//! the key id is the RFC 7638 thumbprint of the public key, so it is stable for a given key.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Clock skew tolerated between Bydel replicas and partners, in seconds.
const LEEWAY_SECS: u64 = 30;

/// The claims of a Bydel token. `sub` is the API client, `org` its organisation, `scope` the
/// space-separated scopes, `jti` the revocable token id (all UUIDs as text).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub org: String,
    pub scope: String,
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// Why key material could not be used; reported at start-up, never to API callers.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key is not an Ed25519 private key in PKCS#8 PEM form: {0}")]
    Parse(String),
    #[error("could not generate a signing key: {0}")]
    Generate(String),
}

struct VerifyingKey {
    key: DecodingKey,
}

/// The keys of one Bydel deployment: the current signing key and every key still accepted.
pub struct TokenKeys {
    issuer: String,
    audience: String,
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, VerifyingKey>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("signing_kid", &self.signing_kid)
            .finish_non_exhaustive()
    }
}

/// A fresh Ed25519 private key in PKCS#8 PEM form.
pub fn generate_pem() -> Result<String, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError::Generate(e.to_string()))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    Ok(pem.to_string())
}

/// The RFC 7638 JWK thumbprint of an Ed25519 public key, used as `kid`.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

impl TokenKeys {
    /// Builds the key set from the signing key's PEM; its public half is the verifying key.
    pub fn from_pem(pem: &str, issuer: &str, audience: &str) -> Result<Self, KeyError> {
        let private = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map_err(|e| KeyError::Parse(e.to_string()))?;
        let x = URL_SAFE_NO_PAD.encode(private.verifying_key().as_bytes());
        let kid = thumbprint(&x);
        let signing =
            EncodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| KeyError::Parse(e.to_string()))?;
        let key =
            DecodingKey::from_ed_components(&x).map_err(|e| KeyError::Parse(e.to_string()))?;
        let verifying = HashMap::from([(kid.clone(), VerifyingKey { key })]);
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            signing_kid: kid,
            signing,
            verifying,
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, ApiError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing).map_err(ApiError::internal)
    }

    /// Checks signature, algorithm, key id, issuer, audience and validity window.
    /// Every failure is `UNAUTHENTICATED` with a reason that does not echo the token.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let unauthenticated =
            |why: &str| ApiError::Unauthenticated(format!("invalid token: {why}"));
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| unauthenticated("malformed"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(unauthenticated("algorithm not accepted (use EdDSA)"));
        }
        let kid = header.kid.ok_or_else(|| unauthenticated("no key id"))?;
        let key = self
            .verifying
            .get(&kid)
            .ok_or_else(|| unauthenticated("unknown key id"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind::*;
                match e.kind() {
                    ExpiredSignature => unauthenticated("expired"),
                    ImmatureSignature => unauthenticated("not yet valid"),
                    InvalidIssuer => unauthenticated("wrong issuer"),
                    InvalidAudience => unauthenticated("wrong audience"),
                    InvalidSignature => unauthenticated("bad signature"),
                    _ => unauthenticated("malformed"),
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(keys: &TokenKeys, exp_offset: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            iss: keys.issuer().into(),
            aud: keys.audience().into(),
            sub: "client".into(),
            org: "org".into(),
            scope: "referrals:read".into(),
            jti: "jti".into(),
            iat: now,
            nbf: now,
            exp: now + exp_offset,
        }
    }

    #[test]
    fn round_trip_and_kid_is_stable() {
        let pem = generate_pem().unwrap();
        let keys = TokenKeys::from_pem(&pem, "bydel", "bydel-api").unwrap();
        let again = TokenKeys::from_pem(&pem, "bydel", "bydel-api").unwrap();
        assert_eq!(keys.signing_kid, again.signing_kid);
        let token = keys.sign(&claims(&keys, 60)).unwrap();
        assert_eq!(again.verify(&token).unwrap().scope, "referrals:read");
    }

    #[test]
    fn another_deployment_key_is_refused() {
        let ours = TokenKeys::from_pem(&generate_pem().unwrap(), "bydel", "bydel-api").unwrap();
        let theirs = TokenKeys::from_pem(&generate_pem().unwrap(), "bydel", "bydel-api").unwrap();
        let token = theirs.sign(&claims(&theirs, 60)).unwrap();
        let err = ours.verify(&token).unwrap_err();
        assert_eq!(err.to_string(), "invalid token: unknown key id");
    }

    #[test]
    fn expired_beyond_leeway_is_refused() {
        let keys = TokenKeys::from_pem(&generate_pem().unwrap(), "bydel", "bydel-api").unwrap();
        let token = keys.sign(&claims(&keys, -120)).unwrap();
        assert_eq!(
            keys.verify(&token).unwrap_err().to_string(),
            "invalid token: expired"
        );
    }
}
