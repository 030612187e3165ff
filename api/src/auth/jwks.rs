//! The JSON Web Key Sets of trusted external issuers, fetched over HTTP and cached per URL,
//! so organisations that trust one provider (a shared context handler) share its fetches.
//!
//! Invariants: one fetch per URL at a time (later requests wait for it and use its answer);
//! a set is kept for its `Cache-Control: max-age`, clamped to [`MIN_MAX_AGE`]..[`MAX_MAX_AGE`];
//! a key id the fresh set lacks refreshes it at most once per [`REFRESH_INTERVAL`], and a
//! failed fetch is not retried within that interval either, so neither forged key ids nor a
//! provider that is down turn requests into a stream of fetches. Fetches are bounded in
//! time ([`CONNECT_TIMEOUT`], [`FETCH_TIMEOUT`]) and size ([`MAX_JWKS_BYTES`]) and follow no
//! redirects. Nothing here logs a token; errors are reasons a partner can act on.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex as SyncMutex, PoisonError},
    time::{Duration, Instant},
};

use jsonwebtoken::jwk::Jwk;
use reqwest::header::{CACHE_CONTROL, HeaderMap};
use tokio::sync::Mutex;

/// Longest wait for the provider's TCP/TLS handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest a whole fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest JWKS body accepted; real ones hold a handful of keys (a few KiB).
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Shortest time a fetched set is kept, whatever the provider says.
pub const MIN_MAX_AGE: Duration = Duration::from_secs(60);
/// Longest time a fetched set is kept, so a rotation is picked up within a day at worst.
pub const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a set is kept when the provider sends no `max-age`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10 * 60);
/// The least time between two refreshes caused by an unknown key id, and between a failed
/// fetch and the next attempt.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// The parsed keys of one set; keys that do not parse as a JWK are left out.
pub type KeySet = Arc<Vec<Jwk>>;

/// What is known about one URL.
#[derive(Default)]
struct Entry {
    keys: Option<KeySet>,
    fresh_until: Option<Instant>,
    /// The last refresh an unknown key id caused.
    last_kid_refresh: Option<Instant>,
    /// The last failed fetch and why it failed.
    failure: Option<(Instant, String)>,
}

impl Entry {
    fn fresh(&self, now: Instant) -> Option<&KeySet> {
        self.keys
            .as_ref()
            .filter(|_| self.fresh_until.is_some_and(|until| now < until))
    }

    fn recent_failure(&self, now: Instant) -> Option<&str> {
        self.failure
            .as_ref()
            .filter(|(at, _)| now.duration_since(*at) < REFRESH_INTERVAL)
            .map(|(_, why)| why.as_str())
    }
}

/// Finds the key `kid` in `keys`.
pub fn find(keys: &[Jwk], kid: &str) -> Option<Jwk> {
    keys.iter()
        .find(|key| key.common.key_id.as_deref() == Some(kid))
        .cloned()
}

/// The keys of a JWKS document; `None` when it is not one (`{"keys": [...]}`). Keys of kinds
/// this crate cannot parse are skipped rather than spoiling the whole set.
pub fn parse_set(body: &[u8]) -> Option<Vec<Jwk>> {
    #[derive(serde::Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document = serde_json::from_slice(body).ok()?;
    Some(
        document
            .keys
            .into_iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key).ok())
            .collect(),
    )
}

/// The time to keep a set by its response's `Cache-Control`, clamped.
fn max_age(headers: &HeaderMap) -> Duration {
    let Some(value) = headers.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()) else {
        return DEFAULT_MAX_AGE;
    };
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return MIN_MAX_AGE;
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            age = seconds.trim_matches('"').parse::<u64>().ok();
        }
    }
    age.map_or(DEFAULT_MAX_AGE, |secs| {
        Duration::from_secs(secs).clamp(MIN_MAX_AGE, MAX_MAX_AGE)
    })
}

/// Why a fetch failed, in words that name no internals of this server.
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "the JWKS URL did not answer in time".into()
    } else if err.is_connect() {
        "the JWKS URL could not be reached".into()
    } else {
        "the JWKS URL could not be read".into()
    }
}

/// The cache of every issuer's JWKS, shared by a replica's requests.
pub struct JwksCache {
    http: reqwest::Client,
    entries: SyncMutex<HashMap<String, Arc<Mutex<Entry>>>>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwksCache").finish_non_exhaustive()
    }
}

impl JwksCache {
    pub fn new() -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("bydel/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            entries: SyncMutex::default(),
        })
    }

    fn entry(&self, url: &str) -> Arc<Mutex<Entry>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.entry(url.to_owned()).or_default().clone()
    }

    /// The key `kid` of the set at `url`: `Ok(None)` when the set (fresh, or refreshed as
    /// the rules above allow) lacks it, `Err` with the reason when the set cannot be had.
    pub async fn key(&self, url: &str, kid: &str) -> Result<Option<Jwk>, String> {
        let entry = self.entry(url);
        let mut entry = entry.lock().await;
        let now = Instant::now();
        if let Some(keys) = entry.fresh(now) {
            if let Some(key) = find(keys, kid) {
                return Ok(Some(key));
            }
            if entry
                .last_kid_refresh
                .is_some_and(|at| now.duration_since(at) < REFRESH_INTERVAL)
            {
                return Ok(None);
            }
            entry.last_kid_refresh = Some(now);
        }
        if let Some(why) = entry.recent_failure(now) {
            return Err(why.to_owned());
        }
        match self.fetch(url).await {
            Ok((keys, age)) => {
                let found = find(&keys, kid);
                entry.keys = Some(Arc::new(keys));
                entry.fresh_until = Some(now + age);
                entry.failure = None;
                Ok(found)
            }
            Err(why) => {
                tracing::warn!(reason = %why, "an issuer's JWKS could not be fetched");
                entry.failure = Some((now, why.clone()));
                Err(why)
            }
        }
    }

    async fn fetch(&self, url: &str) -> Result<(Vec<Jwk>, Duration), String> {
        let mut response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|err| describe(&err))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the JWKS URL answered HTTP {}", status.as_u16()));
        }
        let age = max_age(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| describe(&err))? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!(
                    "the JWKS is larger than {} KiB",
                    MAX_JWKS_BYTES / 1024
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let keys = parse_set(&body).ok_or("the JWKS URL does not serve a JSON Web Key Set")?;
        Ok((keys, age))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn max_age_is_read_and_clamped() {
        assert_eq!(max_age(&HeaderMap::new()), DEFAULT_MAX_AGE);
        assert_eq!(
            max_age(&headers("public, max-age=3600")),
            Duration::from_secs(3600)
        );
        assert_eq!(max_age(&headers("max-age=5")), MIN_MAX_AGE);
        assert_eq!(max_age(&headers("max-age=99999999")), MAX_MAX_AGE);
        assert_eq!(max_age(&headers("no-store")), MIN_MAX_AGE);
        assert_eq!(max_age(&headers("max-age=abc")), DEFAULT_MAX_AGE);
    }

    #[test]
    fn a_set_keeps_the_keys_it_can_parse() {
        let body = br#"{"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "a"},
            {"kty": "weird", "kid": "b"}
        ]}"#;
        let keys = parse_set(body).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(find(&keys, "a").is_some());
        assert!(find(&keys, "b").is_none());
        assert!(parse_set(b"[]").is_none());
        assert!(parse_set(b"not json").is_none());
    }
}
