//! Typed configuration: every setting is a flag with an environment variable and a default
//! that makes the embedded SQLite start work with no setup at all.
//!
//! Secrets (the signing key) are read from a file or an environment variable, never printed.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use clap::{ArgAction, Args, builder::BoolishValueParser};

use crate::{
    auth::keys::{self, KeyError, TokenKeys},
    cors::{self, CorsPolicy, Origin},
    limits::{self, LimitSettings},
    oauth::OAuthSettings,
    persisted::{Manifest, ManifestError, PersistedQueries},
};

/// The default database: an SQLite file in the working directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://bydel.db?mode=rwc";

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://FILE?mode=rwc` (embedded, the default) or `postgres://...`.
    /// Also read from BYDEL_DATABASE_URL (preferred) or DATABASE_URL.
    #[arg(long, env = "BYDEL_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    /// The flag, else BYDEL_DATABASE_URL, else DATABASE_URL, else the embedded SQLite file.
    pub fn url(&self) -> String {
        self.database_url
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
    }
}

/// How tokens are signed and what they must say.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// File holding the Ed25519 signing key (PKCS#8 PEM). With the embedded SQLite default and
    /// no key configured, one is generated beside the database file on first start.
    #[arg(long, env = "BYDEL_SIGNING_KEY_FILE", global = true)]
    pub signing_key_file: Option<PathBuf>,

    /// The signing key itself (PKCS#8 PEM), for platforms that inject secrets as variables.
    #[arg(long, env = "BYDEL_SIGNING_KEY", hide_env_values = true, global = true)]
    pub signing_key: Option<String>,

    /// The `iss` claim Bydel writes and requires.
    #[arg(
        long,
        env = "BYDEL_TOKEN_ISSUER",
        default_value = "bydel",
        global = true
    )]
    pub token_issuer: String,

    /// The `aud` claim Bydel writes and requires.
    #[arg(
        long,
        env = "BYDEL_TOKEN_AUDIENCE",
        default_value = "bydel-api",
        global = true
    )]
    pub token_audience: String,

    /// Seconds (0-300) of clock skew tolerated on `exp`, `nbf` and `iat`, for Bydel's own
    /// tokens and those of trusted external issuers.
    #[arg(
        long,
        env = "BYDEL_TOKEN_LEEWAY_SECONDS",
        default_value_t = crate::auth::keys::DEFAULT_LEEWAY_SECS,
        value_parser = clap::value_parser!(u64).range(0..=300),
        global = true
    )]
    pub token_leeway_seconds: u64,
}

/// How long a replica reuses the rows a token stands on (see `auth::token_cache`).
#[derive(Debug, Clone, Args)]
pub struct TokenCacheArgs {
    /// Seconds a replica reuses a token's rows (token, client, organisation, signing key)
    /// before reading them again; 0 reads them on every request (0-3600). Revocations and key
    /// retirements clear every replica's cache at once (PostgreSQL LISTEN/NOTIFY, or the
    /// server's own GraphQL mutation); on SQLite, a `bydel token revoke` or `bydel key retire`
    /// run in another process while the server runs takes effect after at most this long.
    #[arg(long, env = "BYDEL_TOKEN_CACHE_SECONDS", default_value_t = DEFAULT_TOKEN_CACHE.as_secs(),
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub token_cache_seconds: u64,
}

/// The token cache time of `bydel serve` without the setting.
pub const DEFAULT_TOKEN_CACHE: Duration = crate::auth::token_cache::DEFAULT_TTL;

impl TokenCacheArgs {
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.token_cache_seconds)
    }
}

/// What `/graphql` accepts: introspection, the cost limits of one operation, the per-client
/// rate limit, and which documents may run (persisted operations).
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// Answer introspection (`__schema`, `__type`); `false` hides the schema from probing in
    /// production (GraphiQL still loads; `schema.graphql` documents the API).
    #[arg(long, env = "BYDEL_INTROSPECTION", default_value_t = true, action = ArgAction::Set,
          value_parser = BoolishValueParser::new())]
    pub introspection: bool,
    /// Deepest field nesting an operation may reach (a connection's `edges { node }` counts 2).
    #[arg(long, env = "BYDEL_MAX_DEPTH", default_value_t = limits::DEFAULT_MAX_DEPTH)]
    pub max_depth: usize,
    /// Highest operation complexity: each field 1, a connection multiplies its selection by
    /// `first`/`last` (or the default page size, 20).
    #[arg(long, env = "BYDEL_MAX_COMPLEXITY", default_value_t = limits::DEFAULT_MAX_COMPLEXITY)]
    pub max_complexity: u64,
    /// Most aliased fields in one operation.
    #[arg(long, env = "BYDEL_MAX_ALIASES", default_value_t = limits::DEFAULT_MAX_ALIASES)]
    pub max_aliases: u64,
    /// Largest response body in bytes.
    #[arg(long, env = "BYDEL_MAX_RESPONSE_BYTES", default_value_t = limits::DEFAULT_MAX_RESPONSE_BYTES)]
    pub max_response_bytes: usize,
    /// Longest a request may run: a number with ms, s or m (`30s`), at most a minute.
    #[arg(long, env = "BYDEL_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_request_timeout)]
    pub request_timeout: Duration,
    /// Sustained requests per second per API client, per replica; 0 turns the limit off.
    #[arg(long, env = "BYDEL_RATE_LIMIT", default_value_t = limits::DEFAULT_RATE)]
    pub rate_limit: f64,
    /// Requests an API client may send at once before the rate applies.
    #[arg(long, env = "BYDEL_RATE_BURST", default_value_t = limits::DEFAULT_BURST,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_burst: u32,
    /// Failed authentications per second per source address, per replica; beyond them the
    /// address gets 429 for every request until its budget refills. 0 turns the limit off.
    #[arg(long, env = "BYDEL_AUTH_FAILURE_RATE", default_value_t = limits::DEFAULT_AUTH_FAILURE_RATE)]
    pub auth_failure_rate: f64,
    /// Failed authentications a source address may have at once before the rate applies.
    #[arg(long, env = "BYDEL_AUTH_FAILURE_BURST", default_value_t = limits::DEFAULT_AUTH_FAILURE_BURST,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_failure_burst: u32,
    /// Take the source address of a request from the last `X-Forwarded-For` entry: only
    /// behind a load balancer that appends it, else any caller could pick its address.
    #[arg(long, env = "BYDEL_TRUST_FORWARDED_FOR", action = ArgAction::Set, default_value_t = false,
          value_parser = BoolishValueParser::new())]
    pub trust_forwarded_for: bool,
    /// Registered operations: a JSON manifest `{"<sha256>": "<document>"}` (or Apollo's
    /// persisted query manifest), or a directory of `.graphql` files.
    #[arg(long, env = "BYDEL_PERSISTED_OPERATIONS")]
    pub persisted_operations: Option<PathBuf>,
    /// Run registered operations only; any other document is refused.
    #[arg(long, env = "BYDEL_ONLY_PERSISTED", requires = "persisted_operations")]
    pub only_persisted: bool,
    /// Browser origins whose pages may call Bydel (CORS), comma-separated and exact
    /// (`https://dashboard.example.dk`; no `*`, no path). None: no CORS headers at all.
    #[arg(long, env = "BYDEL_CORS_ORIGINS", value_delimiter = ',', value_parser = cors::parse_origin)]
    pub cors_origins: Vec<Origin>,
}

impl HttpArgs {
    pub fn limits(&self) -> LimitSettings {
        LimitSettings {
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            max_aliases: self.max_aliases,
            max_response_bytes: self.max_response_bytes,
            request_timeout: self.request_timeout,
            rate: self.rate_limit,
            burst: self.rate_burst,
            introspection: self.introspection,
            auth_failure_rate: self.auth_failure_rate,
            auth_failure_burst: self.auth_failure_burst,
            trust_forwarded_for: self.trust_forwarded_for,
        }
    }

    /// The CORS policy of `--cors-origins` (off without it).
    pub fn cors(&self) -> CorsPolicy {
        CorsPolicy::new(&self.cors_origins)
    }

    /// Loads the registered operations (none without `--persisted-operations`).
    pub fn persisted(&self) -> Result<PersistedQueries, ManifestError> {
        let manifest = match &self.persisted_operations {
            Some(path) => Manifest::load(path)?,
            None => Manifest::default(),
        };
        Ok(PersistedQueries::new(manifest, self.only_persisted))
    }
}

/// The OAuth 2.0 endpoints (`/oauth/token`, `/oauth/revoke`, `/oauth/introspect`).
#[derive(Debug, Clone, Args)]
pub struct OAuthArgs {
    /// The URL partners reach this server at (`https://bydel.example.dk`, optionally with a
    /// path prefix): the issuer of `/.well-known/oauth-authorization-server` and the base of
    /// the endpoints it names; client assertions are addressed (`aud`) to it or to its token
    /// endpoint. Default: `http://` and the listen address.
    #[arg(long, env = "BYDEL_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// Lifetime of the tokens `POST /oauth/token` issues: a number with s, m or h, at most
    /// 24h. Longer-lived tokens are `bydel token issue`'s.
    #[arg(long, env = "BYDEL_OAUTH_TOKEN_TTL", default_value = "15m", value_parser = parse_oauth_ttl)]
    pub oauth_token_ttl: chrono::Duration,
    /// Requests per minute per API client at the OAuth endpoints, per replica, failed
    /// authentications included; 0 turns the limit off.
    #[arg(long, env = "BYDEL_OAUTH_RATE_LIMIT",
          default_value_t = crate::oauth::endpoint::DEFAULT_RATE_PER_MINUTE)]
    pub oauth_rate_limit: u32,
}

impl OAuthArgs {
    /// The settings of a server listening on `listen`.
    pub fn settings(&self, listen: std::net::SocketAddr) -> OAuthSettings {
        OAuthSettings {
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{listen}")),
            token_ttl: self.oauth_token_ttl,
            rate_per_minute: self.oauth_rate_limit,
        }
    }
}

/// A public URL: `http` or `https` with a host, no query, fragment or credentials; kept
/// without its trailing slash, so endpoint paths append to it.
pub fn parse_public_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("the public URL is http(s)://host[:port][/prefix]".into());
    }
    if url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err("the public URL carries no query, fragment or credentials".into());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// An OAuth token lifetime (`tokens::parse_ttl`'s form) of at most a day: these tokens are
/// meant to be short-lived and fetched again.
fn parse_oauth_ttl(text: &str) -> Result<chrono::Duration, String> {
    let ttl = crate::tokens::parse_ttl(text).map_err(|err| err.to_string())?;
    if ttl > chrono::Duration::hours(24) {
        return Err("an OAuth token lives at most 24h".into());
    }
    Ok(ttl)
}

/// A request timeout of at most a minute: a keyed mutation holds its key's transaction (and,
/// on SQLite, the write lock) while it runs, and a duplicate waits for it (`idempotency`).
fn parse_request_timeout(text: &str) -> Result<Duration, String> {
    let timeout = parse_duration(text)?;
    if timeout > Duration::from_secs(60) {
        return Err("the request timeout is at most 60s".into());
    }
    Ok(timeout)
}

/// `500ms`, `30s`, `2m`: a positive whole number with its unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} needs a unit: ms, s or m"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        _ => return Err(format!("{text:?}: the unit must be ms, s or m")),
    };
    if duration.is_zero() {
        return Err("the duration must be positive".into());
    }
    Ok(duration)
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no signing key configured: with PostgreSQL set BYDEL_SIGNING_KEY_FILE (or BYDEL_SIGNING_KEY) \
         to an Ed25519 private key in PKCS#8 PEM; create one with `bydel key generate --output FILE`"
    )]
    NoSigningKey,
    #[error("could not read the signing key file {path}: {source}")]
    ReadKey {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not write a new signing key to {path}: {source}")]
    WriteKey {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The SQLite database file a URL names, if it is a file-backed SQLite URL.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// The key file kept beside an SQLite database: `bydel.db` -> `bydel.db.signing-key.pem`.
pub fn default_key_file(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".signing-key.pem");
    PathBuf::from(name)
}

impl AuthArgs {
    /// Loads the signing key: configured value, configured file, or (embedded SQLite only)
    /// the file beside the database, generated on first use.
    pub fn token_keys(&self, database_url: &str) -> Result<TokenKeys, ConfigError> {
        let pem = match (&self.signing_key, &self.signing_key_file) {
            (Some(pem), _) => pem.clone(),
            (None, Some(path)) => read_key(path)?,
            (None, None) => {
                let database = sqlite_file(database_url).ok_or(ConfigError::NoSigningKey)?;
                load_or_create_key(&default_key_file(&database))?
            }
        };
        Ok(
            TokenKeys::from_pem(&pem, &self.token_issuer, &self.token_audience)?
                .with_leeway(self.token_leeway_seconds),
        )
    }
}

fn read_key(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::ReadKey {
        path: path.to_owned(),
        source,
    })
}

fn load_or_create_key(path: &Path) -> Result<String, ConfigError> {
    if path.exists() {
        return read_key(path);
    }
    let pem = keys::generate_pem()?;
    write_private_file(path, &pem).map_err(|source| ConfigError::WriteKey {
        path: path.to_owned(),
        source,
    })?;
    tracing::info!(path = %path.display(), "generated a new token signing key");
    Ok(pem)
}

/// Writes a secret readable by the owner only (on Unix), refusing to overwrite.
pub fn write_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in ["", "30", "s", "0s", "1h", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_request_timeout("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_request_timeout("61s").is_err());
    }

    #[test]
    fn public_urls_lose_their_trailing_slash() {
        assert_eq!(
            parse_public_url("https://bydel.example.dk/").as_deref(),
            Ok("https://bydel.example.dk")
        );
        assert_eq!(
            parse_public_url("http://127.0.0.1:8080/api/").as_deref(),
            Ok("http://127.0.0.1:8080/api")
        );
        for bad in ["ftp://x", "https://x/?a=1", "https://u:p@x", "nope"] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_oauth_ttl("15m"), Ok(chrono::Duration::minutes(15)));
        assert!(parse_oauth_ttl("2d").is_err());
    }

    #[test]
    fn finds_the_sqlite_file_of_a_url() {
        assert_eq!(
            sqlite_file("sqlite://bydel.db?mode=rwc"),
            Some(PathBuf::from("bydel.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///var/lib/bydel/x.db"),
            Some(PathBuf::from("/var/lib/bydel/x.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://postgres@localhost/bydel"), None);
    }

    #[test]
    fn postgres_without_a_key_is_a_clear_error() {
        let args = AuthArgs {
            signing_key_file: None,
            signing_key: None,
            token_issuer: "bydel".into(),
            token_audience: "bydel-api".into(),
            token_leeway_seconds: 30,
        };
        let err = args.token_keys("postgres://localhost/bydel").unwrap_err();
        assert!(err.to_string().contains("BYDEL_SIGNING_KEY_FILE"));
    }

    #[test]
    fn the_generated_key_is_reused() {
        let dir = std::env::temp_dir().join(format!("bydel-key-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/b.db?mode=rwc", dir.display());
        let args = AuthArgs {
            signing_key_file: None,
            signing_key: None,
            token_issuer: "bydel".into(),
            token_audience: "bydel-api".into(),
            token_leeway_seconds: 30,
        };
        let first = format!("{:?}", args.token_keys(&url).unwrap());
        let second = format!("{:?}", args.token_keys(&url).unwrap());
        assert_eq!(first, second);
        assert!(dir.join("b.db.signing-key.pem").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
