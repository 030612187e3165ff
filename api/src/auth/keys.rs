//! Token signing and verification: Ed25519 (EdDSA) JWTs with a key id in the header.
//!
//! A process holds one *signing* key (the configured private key; it signs every token this
//! process issues) and a set of *verification* keys (the public halves of every key in the
//! `signing_key` table, see [`super::key_store`]), so a key can be rotated without downtime:
//! tokens signed by the previous key stay valid until that key is retired.
//!
//! Invariants: only `EdDSA` is accepted (never `none`, never HMAC, so a public key can never
//! be used as an HMAC secret); `iss`, `aud`, `exp`, `nbf` are checked with a small leeway
//! (`--token-leeway-seconds`); tokens of trusted external issuers go to [`Issuers`];
//! the key id is the RFC 7638 thumbprint of the public key, so it is stable for a given key.
//! Private keys never reach the database. Whether a key is *retired* is not decided here but
//! from the token's rows (see `authenticate`), whose cache a retirement clears on every replica.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use entity::signing_key;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::{issuers::Issuers, key_store};
use crate::error::{ApiError, ApiResult};

/// Clock skew tolerated between Bydel replicas, partners and external issuers, in seconds,
/// unless configured (`--token-leeway-seconds`).
pub const DEFAULT_LEEWAY_SECS: u64 = 30;

/// The shortest time between two reloads of the verification keys on an unknown key id: new
/// keys are picked up without a restart, and tokens with made-up key ids cannot turn into a
/// stream of database queries.
const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// How many verified tokens a process remembers (see [`TokenKeys::verified`]); a client
/// holds one token for its lifetime, so this covers thousands of concurrently active clients.
const VERIFIED_ENTRIES: usize = 4096;

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

/// A token whose signature and claims checked out, with the key id that signed it; the
/// database still has the last word (see `authenticate`).
#[derive(Debug, Clone)]
pub struct Verified {
    pub claims: Claims,
    pub kid: String,
}

/// Why key material could not be used; reported at start-up, never to API callers.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key is not an Ed25519 private key in PKCS#8 PEM form: {0}")]
    Parse(String),
    #[error("could not generate a signing key: {0}")]
    Generate(String),
    #[error(
        "the configured signing key {kid} is retired; point BYDEL_SIGNING_KEY_FILE at a current \
         key (create one with `bydel key add --output FILE`)"
    )]
    Retired { kid: String },
    #[error("could not register the signing key in the database: {0}")]
    Database(String),
    #[error("could not set up the HTTP client that fetches trusted issuers' keys: {0}")]
    Http(String),
}

/// The public half of an Ed25519 key as the JWKS and the `signing_key` table carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The RFC 7638 thumbprint of the key.
    pub kid: String,
    /// The base64url encoding of the 32 public key bytes (the JWK `x`).
    pub x: String,
}

impl PublicKey {
    /// The public half of a PKCS#8 PEM private key.
    pub fn of_pem(pem: &str) -> Result<Self, KeyError> {
        let private = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map_err(|e| KeyError::Parse(e.to_string()))?;
        let x = URL_SAFE_NO_PAD.encode(private.verifying_key().as_bytes());
        Ok(Self {
            kid: thumbprint(&x),
            x,
        })
    }
}

/// kid -> key; replaced as a whole on reload, so a reader never sees half a set.
type KeySet = Arc<HashMap<String, DecodingKey>>;

/// The keys of one Bydel process: the signing key and every key whose tokens are verified.
pub struct TokenKeys {
    issuer: String,
    audience: String,
    public: PublicKey,
    signing: EncodingKey,
    verifying: RwLock<KeySet>,
    /// When an unknown key id last made this process reload `verifying`; the lock also makes
    /// concurrent requests with unknown key ids wait for one reload instead of each running one.
    last_reload: Mutex<Option<Instant>>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    leeway: u64,
    /// The verifier of trusted external issuers' tokens, with its JWKS cache: the keys a
    /// replica verifies with, its own and its partners', are one object shared by its state.
    external: Issuers,
    /// Tokens whose signature checked out, by the SHA-256 of their text (never the text: the
    /// memory of a process holds no bearer secrets it does not need). An Ed25519 check costs
    /// ~450,000 instructions, a `node` request's whole authorization less than that; a client
    /// sends one token many times. Invariants: the validity window is checked against the
    /// clock on every hit (a miss falls through to the full check, which gives the reason);
    /// the cache is emptied whenever the verification keys are replaced; bounded by
    /// [`VERIFIED_ENTRIES`]. Revocation and retirement are decided from the database on every
    /// request (`authenticate`), not here.
    verified: std::sync::Mutex<HashMap<[u8; 32], Verified>>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("signing_kid", &self.public.kid)
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

fn invalid(why: &str) -> ApiError {
    ApiError::Unauthenticated(format!("invalid token: {why}"))
}

/// The key id of a token, after refusing every algorithm but EdDSA.
fn accepted_kid(token: &str) -> ApiResult<String> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed"))?;
    if header.alg != Algorithm::EdDSA {
        return Err(invalid("algorithm not accepted (use EdDSA)"));
    }
    header.kid.ok_or_else(|| invalid("no key id"))
}

/// Decoding keys for the stored public keys; a row that does not decode is skipped (and
/// logged) rather than making every other key unusable.
fn decode_rows(rows: &[signing_key::Model]) -> HashMap<String, DecodingKey> {
    rows.iter()
        .filter_map(|row| match DecodingKey::from_ed_components(&row.public_key) {
            Ok(key) => Some((row.kid.clone(), key)),
            Err(err) => {
                tracing::warn!(kid = %row.kid, error = %err, "a stored public key does not decode");
                None
            }
        })
        .collect()
}

impl TokenKeys {
    /// Builds the keys from the signing key's PEM, verifying only with its own public half,
    /// without touching the database. A server calls [`TokenKeys::register`] next.
    pub fn from_pem(pem: &str, issuer: &str, audience: &str) -> Result<Self, KeyError> {
        let public = PublicKey::of_pem(pem)?;
        let signing =
            EncodingKey::from_ed_pem(pem.as_bytes()).map_err(|e| KeyError::Parse(e.to_string()))?;
        let keys = Self {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            public,
            signing,
            verifying: RwLock::new(Arc::default()),
            last_reload: Mutex::new(None),
            leeway: DEFAULT_LEEWAY_SECS,
            external: Issuers::new(DEFAULT_LEEWAY_SECS)
                .map_err(|e| KeyError::Http(e.to_string()))?,
            verified: std::sync::Mutex::default(),
        };
        keys.replace_verifying(HashMap::new())?;
        Ok(keys)
    }

    /// Start-up: records the signing key's public half in the database (when absent), refuses
    /// a retired signing key, and loads every stored key for verification.
    pub async fn register(&self, db: &impl ConnectionTrait) -> Result<(), KeyError> {
        key_store::register_configured(db, &self.public).await?;
        let rows = key_store::all(db)
            .await
            .map_err(|e| KeyError::Database(e.to_string()))?;
        self.replace_verifying(decode_rows(&rows))
    }

    /// The same keys tolerating `seconds` of clock skew, on Bydel's tokens and external ones.
    pub fn with_leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self.external = self.external.with_leeway(seconds);
        self
    }

    /// Seconds of clock skew tolerated (`--token-leeway-seconds`).
    pub fn leeway(&self) -> u64 {
        self.leeway
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The verifier of trusted external issuers' tokens.
    pub fn external(&self) -> &Issuers {
        &self.external
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The key id of the signing key: the `kid` header of every token this process signs.
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// The public half of the signing key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, ApiError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.public.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing).map_err(ApiError::internal)
    }

    /// Checks algorithm, key id, signature, issuer, audience and validity window. A key id
    /// this process does not know makes it reload the stored keys (at most once per
    /// [`RELOAD_INTERVAL`]) before giving up, so keys added elsewhere work without a restart.
    /// Every failure is `UNAUTHENTICATED` with a reason that does not echo the token.
    pub async fn verify(&self, db: &impl ConnectionTrait, token: &str) -> ApiResult<Verified> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(verified) = self.remembered(&digest) {
            return Ok(verified);
        }
        let verified = self.verify_signature(db, token).await?;
        self.remember(digest, &verified);
        Ok(verified)
    }

    async fn verify_signature(
        &self,
        db: &impl ConnectionTrait,
        token: &str,
    ) -> ApiResult<Verified> {
        let kid = accepted_kid(token)?;
        let key = match self.verifying_key(&kid) {
            Some(key) => key,
            None => self
                .reload_and_find(db, &kid)
                .await?
                .ok_or_else(|| invalid("unknown key id"))?,
        };
        let claims = self.decode(token, &key)?;
        Ok(Verified { claims, kid })
    }

    /// A token verified before whose validity window still holds now.
    fn remembered(&self, digest: &[u8; 32]) -> Option<Verified> {
        let verified = self.verified_mut().get(digest).cloned()?;
        self.within_window(&verified.claims).then_some(verified)
    }

    fn remember(&self, digest: [u8; 32], verified: &Verified) {
        let mut cache = self.verified_mut();
        if cache.len() >= VERIFIED_ENTRIES {
            cache.retain(|_, v| self.within_window(&v.claims));
        }
        if cache.len() >= VERIFIED_ENTRIES {
            cache.clear();
        }
        cache.insert(digest, verified.clone());
    }

    /// `exp`, `nbf` and `iat` as [`Self::decode`] checks them, strictly: a token at the edge
    /// of its window goes through the full check.
    fn within_window(&self, claims: &Claims) -> bool {
        let now = chrono::Utc::now().timestamp();
        let leeway = self.leeway as i64;
        claims.exp > now - leeway && claims.nbf < now + leeway && claims.iat < now + leeway
    }

    fn verified_mut(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Verified>> {
        self.verified.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn verifying_key(&self, kid: &str) -> Option<DecodingKey> {
        let set = self
            .verifying
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        set.get(kid).cloned()
    }

    /// Installs `stored` (plus this process's own key, which it always trusts) as the set.
    fn replace_verifying(&self, mut stored: HashMap<String, DecodingKey>) -> Result<(), KeyError> {
        let own = DecodingKey::from_ed_components(&self.public.x)
            .map_err(|e| KeyError::Parse(e.to_string()))?;
        stored.insert(self.public.kid.clone(), own);
        *self
            .verifying
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(stored);
        self.verified_mut().clear();
        Ok(())
    }

    async fn reload_and_find(
        &self,
        db: &impl ConnectionTrait,
        kid: &str,
    ) -> ApiResult<Option<DecodingKey>> {
        let mut last_reload = self.last_reload.lock().await;
        // Another request may have reloaded while this one waited for the lock.
        if let Some(key) = self.verifying_key(kid) {
            return Ok(Some(key));
        }
        if last_reload.is_some_and(|at| at.elapsed() < RELOAD_INTERVAL) {
            return Ok(None);
        }
        // Stamped before the query, so a failing database is not asked again at once either.
        *last_reload = Some(Instant::now());
        let rows = key_store::all(db).await?;
        self.replace_verifying(decode_rows(&rows))
            .map_err(ApiError::internal)?;
        tracing::info!("reloaded the token verification keys");
        Ok(self.verifying_key(kid))
    }

    fn decode(&self, token: &str, key: &DecodingKey) -> ApiResult<Claims> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| claim_error(&e))?;
        // RFC 8725 §3.10 asks for `iat` too: a token issued in the future (beyond the clock
        // leeway) comes from a wrong clock or a forger choosing its own lifetime.
        if claims.iat > chrono::Utc::now().timestamp() + self.leeway as i64 {
            return Err(invalid("issued in the future"));
        }
        Ok(claims)
    }
}

/// A failed signature or claim check as the reason a partner reads (never echoing the token).
pub(crate) fn claim_error(err: &jsonwebtoken::errors::Error) -> ApiError {
    use jsonwebtoken::errors::ErrorKind::*;
    match err.kind() {
        ExpiredSignature => invalid("expired"),
        ImmatureSignature => invalid("not yet valid"),
        InvalidIssuer => invalid("wrong issuer"),
        InvalidAudience => invalid("wrong audience"),
        InvalidSignature => invalid("bad signature"),
        MissingRequiredClaim(claim) => invalid(&format!("the claim {claim} is missing")),
        _ => invalid("malformed"),
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

    fn keys() -> TokenKeys {
        TokenKeys::from_pem(&generate_pem().unwrap(), "bydel", "bydel-api").unwrap()
    }

    /// Verification against the keys in memory, as `verify` does for a known key id.
    fn verify_known(keys: &TokenKeys, token: &str) -> ApiResult<Claims> {
        let kid = accepted_kid(token)?;
        let key = keys
            .verifying_key(&kid)
            .ok_or_else(|| invalid("unknown key id"))?;
        keys.decode(token, &key)
    }

    #[test]
    fn round_trip_and_kid_is_stable() {
        let pem = generate_pem().unwrap();
        let keys = TokenKeys::from_pem(&pem, "bydel", "bydel-api").unwrap();
        let again = TokenKeys::from_pem(&pem, "bydel", "bydel-api").unwrap();
        assert_eq!(keys.kid(), again.kid());
        assert_eq!(PublicKey::of_pem(&pem).unwrap(), *keys.public_key());
        let token = keys.sign(&claims(&keys, 60)).unwrap();
        assert_eq!(
            verify_known(&again, &token).unwrap().scope,
            "referrals:read"
        );
    }

    #[test]
    fn another_deployment_key_is_unknown() {
        let (ours, theirs) = (keys(), keys());
        let token = theirs.sign(&claims(&theirs, 60)).unwrap();
        let err = verify_known(&ours, &token).unwrap_err();
        assert_eq!(err.to_string(), "invalid token: unknown key id");
    }

    #[test]
    fn expired_beyond_leeway_is_refused() {
        let keys = keys();
        let token = keys.sign(&claims(&keys, -120)).unwrap();
        assert_eq!(
            verify_known(&keys, &token).unwrap_err().to_string(),
            "invalid token: expired"
        );
    }

    #[test]
    fn issued_in_the_future_beyond_leeway_is_refused() {
        let keys = keys();
        let mut future = claims(&keys, 3600);
        future.iat += 600;
        let token = keys.sign(&future).unwrap();
        assert_eq!(
            verify_known(&keys, &token).unwrap_err().to_string(),
            "invalid token: issued in the future"
        );
        let mut skewed = claims(&keys, 3600);
        skewed.iat += 5;
        assert!(verify_known(&keys, &keys.sign(&skewed).unwrap()).is_ok());
    }

    #[test]
    fn a_stored_key_that_does_not_decode_is_skipped() {
        let good = keys();
        let now = chrono::Utc::now();
        let row = |kid: &str, x: &str| signing_key::Model {
            kid: kid.into(),
            algorithm: "EdDSA".into(),
            public_key: x.into(),
            created_at: now,
            retired_at: None,
        };
        let set = decode_rows(&[
            row(good.kid(), &good.public_key().x),
            row("broken", "not base64url!"),
        ]);
        assert!(set.contains_key(good.kid()));
        assert!(!set.contains_key("broken"));
    }

    fn verified(keys: &TokenKeys, exp_offset: i64) -> Verified {
        Verified {
            claims: claims(keys, exp_offset),
            kid: keys.kid().into(),
        }
    }

    #[test]
    fn a_remembered_token_is_served_only_within_its_window() {
        let keys = keys();
        keys.remember([1; 32], &verified(&keys, 60));
        keys.remember([2; 32], &verified(&keys, -120));
        assert_eq!(
            keys.remembered(&[1; 32]).unwrap().claims.exp,
            claims(&keys, 60).exp
        );
        assert!(keys.remembered(&[2; 32]).is_none());
        assert!(keys.remembered(&[3; 32]).is_none());
    }

    #[test]
    fn replacing_the_keys_forgets_every_verified_token() {
        let keys = keys();
        keys.remember([1; 32], &verified(&keys, 60));
        keys.replace_verifying(HashMap::new()).unwrap();
        assert!(keys.remembered(&[1; 32]).is_none());
    }

    #[test]
    fn the_verified_tokens_are_bounded() {
        let keys = keys();
        for n in 0..=VERIFIED_ENTRIES as u32 {
            let mut digest = [0; 32];
            digest[..4].copy_from_slice(&n.to_be_bytes());
            keys.remember(digest, &verified(&keys, 60));
        }
        assert!(keys.verified_mut().len() <= VERIFIED_ENTRIES);
        let mut last = [0; 32];
        last[..4].copy_from_slice(&(VERIFIED_ENTRIES as u32).to_be_bytes());
        assert!(keys.remembered(&last).is_some());
    }
}
