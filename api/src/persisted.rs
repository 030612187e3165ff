//! Persisted queries: Apollo's automatic persisted queries (APQ: the client sends
//! `extensions.persistedQuery {version: 1, sha256Hash}` and the document only when the server
//! does not know the hash yet) and a list of registered operations, which can be made the only
//! documents the server runs.
//!
//! Invariants: a document is only ever stored under the sha256 of its exact text (a mismatch is
//! refused); APQ documents are cached per replica, bounded, least recently used out first (a
//! miss costs the client one round trip, as the protocol intends); registered operations are
//! loaded at start and are the same on every replica that reads the same manifest.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use async_graphql::parser::types::ExecutableDocument;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Documents the APQ cache holds at most.
const CACHE_ENTRIES: usize = 2_000;
/// Bytes of document text the APQ cache holds at most.
const CACHE_BYTES: usize = 16 * 1024 * 1024;
/// Parsed documents kept at most, and the bytes of their text: a parsed document takes
/// several times its text, so this cache is kept much smaller than the APQ one.
const PARSED_ENTRIES: usize = 500;
const PARSED_BYTES: usize = 1024 * 1024;

/// The lowercase hex sha256 of a document's exact text: its persisted id.
pub fn sha256_hex(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Registered operations by their sha256.
#[derive(Debug, Default, Clone)]
pub struct Manifest {
    operations: HashMap<String, Arc<str>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read the persisted operations at {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a persisted operations manifest: expected JSON {{\"<sha256>\": \"<document>\"}} \
         or Apollo's {{\"operations\": [{{\"id\", \"body\"}}]}} ({reason})"
    )]
    Format { path: PathBuf, reason: String },
    #[error("{path}: the id {id} is not the sha256 of its document ({actual})")]
    Hash {
        path: PathBuf,
        id: String,
        actual: String,
    },
}

impl Manifest {
    /// Reads a JSON manifest (`{sha256: document}` or Apollo's persisted query manifest) or a
    /// directory of `.graphql` files (each file's exact text is one operation).
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let read_error = |source| ManifestError::Read {
            path: path.to_owned(),
            source,
        };
        if path.is_dir() {
            let mut manifest = Self::default();
            for entry in std::fs::read_dir(path).map_err(read_error)? {
                let file = entry.map_err(read_error)?.path();
                if file.extension().is_some_and(|e| e == "graphql") {
                    let document = std::fs::read_to_string(&file).map_err(read_error)?;
                    manifest.insert(document);
                }
            }
            return Ok(manifest);
        }
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        Self::from_json(path, &text)
    }

    fn from_json(path: &Path, text: &str) -> Result<Self, ManifestError> {
        let format = |reason: &str| ManifestError::Format {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let json: Value = serde_json::from_str(text).map_err(|e| format(&e.to_string()))?;
        let entries: Vec<(String, String)> = match json {
            Value::Object(mut object) if object.contains_key("operations") => {
                let Some(Value::Array(operations)) = object.remove("operations") else {
                    return Err(format("`operations` is not a list"));
                };
                operations
                    .into_iter()
                    .map(|op| match (op.get("id"), op.get("body")) {
                        (Some(Value::String(id)), Some(Value::String(body))) => {
                            Ok((id.clone(), body.clone()))
                        }
                        _ => Err(format("an operation lacks a string `id` or `body`")),
                    })
                    .collect::<Result<_, _>>()?
            }
            Value::Object(object) => object
                .into_iter()
                .map(|(id, document)| match document {
                    Value::String(document) => Ok((id, document)),
                    _ => Err(format("a document is not a string")),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(format("not a JSON object")),
        };
        let mut manifest = Self::default();
        for (id, document) in entries {
            let actual = sha256_hex(&document);
            if !id.eq_ignore_ascii_case(&actual) {
                return Err(ManifestError::Hash {
                    path: path.to_owned(),
                    id,
                    actual,
                });
            }
            manifest.insert(document);
        }
        Ok(manifest)
    }

    pub fn insert(&mut self, document: String) {
        self.operations
            .insert(sha256_hex(&document), Arc::from(document));
    }

    pub fn len(&self) -> usize {
        self.operations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    fn get(&self, hash: &str) -> Option<&Arc<str>> {
        self.operations.get(hash)
    }
}

/// Which documents a server runs and where it finds documents named by hash.
pub struct PersistedQueries {
    registered: Manifest,
    only_registered: bool,
    cache: Mutex<Cache<Arc<str>>>,
    /// Documents parsed before, by their exact text: an integration sends the same few
    /// operations again and again, and parsing one costs more than a `node` lookup's
    /// authorization (half a million instructions for a 25-field query).
    parsed: Mutex<Cache<ExecutableDocument>>,
}

impl Default for PersistedQueries {
    /// APQ on, no registered operations, ad-hoc documents allowed.
    fn default() -> Self {
        Self::new(Manifest::default(), false)
    }
}

impl PersistedQueries {
    /// With `only_registered`, the server runs the manifest's operations and nothing else
    /// (and caches no APQ documents).
    pub fn new(registered: Manifest, only_registered: bool) -> Self {
        Self {
            registered,
            only_registered,
            cache: Mutex::new(Cache::new(CACHE_ENTRIES, CACHE_BYTES)),
            parsed: Mutex::new(Cache::new(PARSED_ENTRIES, PARSED_BYTES)),
        }
    }

    /// Whether the request names a persisted query (so it may come without `query`).
    pub fn names_persisted_query(extensions: &Map<String, Value>) -> bool {
        extensions.contains_key("persistedQuery")
    }

    /// The document to run for a request's `query` and `extensions`: the query itself, or the
    /// document the persisted-query hash names. Registers an APQ document sent with its hash.
    pub fn document(
        &self,
        query: Option<String>,
        extensions: &Map<String, Value>,
    ) -> Result<String, ApiError> {
        let Some(hash) = persisted_query_hash(extensions)? else {
            let query = query.ok_or_else(|| ApiError::validation("query", "`query` is missing"))?;
            return self.admit(&sha256_hex(&query)).map(|()| query);
        };
        let Some(query) = query else {
            return self.lookup(&hash).ok_or(ApiError::PersistedQueryNotFound);
        };
        if sha256_hex(&query) != hash {
            return Err(ApiError::validation(
                "extensions.persistedQuery.sha256Hash",
                "the hash is not the sha256 of the query",
            ));
        }
        self.admit(&hash)?;
        if self.registered.get(&hash).is_none() {
            let size = query.len();
            self.cache_mut()
                .insert(hash, Arc::from(query.as_str()), size);
        }
        Ok(query)
    }

    /// Refuses a document that is not registered when only registered ones may run.
    fn admit(&self, hash: &str) -> Result<(), ApiError> {
        if !self.only_registered || self.registered.get(hash).is_some() {
            return Ok(());
        }
        Err(ApiError::PersistedQueryRequired(
            "this server runs registered operations only: send the sha256 of a registered document in extensions.persistedQuery".into(),
        ))
    }

    fn lookup(&self, hash: &str) -> Option<String> {
        if let Some(document) = self.registered.get(hash) {
            return Some(document.to_string());
        }
        if self.only_registered {
            return None;
        }
        self.cache_mut().get(hash).map(|d| d.to_string())
    }

    fn cache_mut(&self) -> std::sync::MutexGuard<'_, Cache<Arc<str>>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives `request` the document parsed from the same text before, or parses it and keeps
    /// it. A document that does not parse is not kept: its error comes from the parse that
    /// follows (the limits').
    pub fn parse(&self, request: &mut async_graphql::Request) {
        let cached = self.parsed_mut().get(&request.query);
        if let Some(document) = cached {
            request.set_parsed_query(document);
            return;
        }
        if let Ok(document) = request.parsed_query() {
            let document = document.clone();
            let size = request.query.len();
            self.parsed_mut()
                .insert(request.query.clone(), document, size);
        }
    }

    fn parsed_mut(&self) -> std::sync::MutexGuard<'_, Cache<ExecutableDocument>> {
        self.parsed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `extensions.persistedQuery.sha256Hash` (lowercased) when the request has one.
fn persisted_query_hash(extensions: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let Some(persisted) = extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let invalid = |message: &str| ApiError::validation("extensions.persistedQuery", message);
    let Value::Object(persisted) = persisted else {
        return Err(invalid("must be an object {version: 1, sha256Hash}"));
    };
    if persisted.get("version").and_then(Value::as_u64) != Some(1) {
        return Err(invalid("only version 1 is supported"));
    }
    let hash = persisted
        .get("sha256Hash")
        .and_then(Value::as_str)
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| invalid("sha256Hash must be 64 hex digits"))?;
    Ok(Some(hash.to_ascii_lowercase()))
}

/// A small LRU: entries and bytes bounded; eviction scans (it is rare and the map small).
struct Cache<V> {
    entries: HashMap<String, (V, usize, u64)>,
    bytes: usize,
    clock: u64,
    max_entries: usize,
    max_bytes: usize,
}

impl<V: Clone> Cache<V> {
    fn new(max_entries: usize, max_bytes: usize) -> Self {
        Self {
            entries: HashMap::new(),
            bytes: 0,
            clock: 0,
            max_entries,
            max_bytes,
        }
    }

    fn get(&mut self, key: &str) -> Option<V> {
        self.clock += 1;
        let clock = self.clock;
        let (value, _, used) = self.entries.get_mut(key)?;
        *used = clock;
        Some(value.clone())
    }

    /// Keeps `value`, which counts as `size` bytes, evicting the least recently used first.
    fn insert(&mut self, key: String, value: V, size: usize) {
        if size > self.max_bytes || self.entries.contains_key(&key) {
            return;
        }
        while self.entries.len() >= self.max_entries || self.bytes + size > self.max_bytes {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, _, used))| *used)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            if let Some((_, evicted, _)) = self.entries.remove(&oldest) {
                self.bytes -= evicted;
            }
        }
        self.clock += 1;
        self.bytes += size;
        self.entries.insert(key, (value, size, self.clock));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apq(hash: &str) -> Map<String, Value> {
        serde_json::json!({"persistedQuery": {"version": 1, "sha256Hash": hash}})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn registers_then_finds_by_hash() {
        let store = PersistedQueries::default();
        let query = "{ __typename }".to_owned();
        let hash = sha256_hex(&query);
        assert!(matches!(
            store.document(None, &apq(&hash)),
            Err(ApiError::PersistedQueryNotFound)
        ));
        assert_eq!(
            store.document(Some(query.clone()), &apq(&hash)).unwrap(),
            query
        );
        assert_eq!(store.document(None, &apq(&hash)).unwrap(), query);
        let other = sha256_hex("{ x }");
        assert!(store.document(Some(query), &apq(&other)).is_err());
    }

    #[test]
    fn the_cache_forgets_the_least_recently_used() {
        let mut cache = Cache::new(CACHE_ENTRIES, CACHE_BYTES);
        for i in 0..CACHE_ENTRIES + 1 {
            cache.insert(format!("h{i}"), Arc::<str>::from("d"), 1);
            if i == 10 {
                assert!(cache.get("h0").is_some());
            }
        }
        assert_eq!(cache.entries.len(), CACHE_ENTRIES);
        assert!(cache.get("h0").is_some(), "recently used survives");
        assert!(cache.get("h1").is_none(), "the oldest unused went");
    }

    #[test]
    fn parsed_documents_are_kept_by_their_text_and_failures_are_not() {
        let store = PersistedQueries::default();
        for _ in 0..2 {
            let mut request = async_graphql::Request::new("{ __typename }");
            store.parse(&mut request);
            assert!(request.parsed_query().is_ok());
        }
        assert_eq!(store.parsed_mut().entries.len(), 1);
        assert_eq!(store.parsed_mut().clock, 3, "parsed once, then found");
        let mut broken = async_graphql::Request::new("{ __typename");
        store.parse(&mut broken);
        assert_eq!(store.parsed_mut().entries.len(), 1);
        assert!(broken.parsed_query().is_err());
    }

    #[test]
    fn a_manifest_must_hash_its_documents() {
        let document = "query A { __typename }";
        let good = serde_json::json!({ sha256_hex(document): document }).to_string();
        assert_eq!(Manifest::from_json(Path::new("m"), &good).unwrap().len(), 1);
        let apollo = serde_json::json!({"format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{"id": sha256_hex(document), "body": document, "name": "A", "type": "query"}]});
        assert_eq!(
            Manifest::from_json(Path::new("m"), &apollo.to_string())
                .unwrap()
                .len(),
            1
        );
        let bad = serde_json::json!({ "00": document }).to_string();
        assert!(matches!(
            Manifest::from_json(Path::new("m"), &bad),
            Err(ManifestError::Hash { .. })
        ));
    }
}
