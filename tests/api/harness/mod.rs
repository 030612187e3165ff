//! `TestApp`: the real Bydel server on 127.0.0.1:0 over a fresh database of its own, with
//! typed helpers to mint tokens, send GraphQL and read the statement counter.
//!
//! Every test builds its own `TestApp`; nothing is shared between tests, so they run in
//! parallel. Dropping the app stops its server first, then removes its database.

pub mod browser;
mod database;
pub mod fixtures;
pub mod node;
pub mod process;
pub mod ws;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bydel::{
    auth::{Claims, ScopeSet, TokenCache, TokenKeys},
    limits::{LimitSettings, Limits},
    persisted::PersistedQueries,
    state::AppState,
    tokens::IssuedToken,
    webhooks::{DispatchSettings, Dispatcher},
};
use migration::{Migrator, MigratorTrait};
use reqwest::header::{self, HeaderMap};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub use database::{Backend, TestDatabase, postgres_admin_url, with_database_name};
pub use fixtures::Fixtures;

/// The `iss` and `aud` every Bydel deployment uses by default (see `bydel::config`).
pub const ISSUER: &str = "bydel";
pub const AUDIENCE: &str = "bydel-api";

/// Read access to every data area: what the secretariat's scripts usually hold.
pub const ALL_READ: &str =
    "projects:read mothers:read courses:read participants:read visits:read referrals:read";

/// The API client name tests issue their tokens under.
const CLIENT: &str = "integration-tests";

/// What a test may configure on its server. The default is `bydel serve` without flags, except
/// per-client and failed-authentication rate limits high enough for tests that send hundreds of
/// requests in a burst, and `--webhook-allow-loopback` for the receivers tests run on 127.0.0.1.
pub struct Options {
    pub limits: LimitSettings,
    pub persisted: PersistedQueries,
    pub read_audit: bydel::audit::ReadAuditCommit,
    /// `--read-audit-batch`: requests a read-audit group commit may hold (0: one each).
    pub read_audit_batch: usize,
    /// `--token-cache-seconds`.
    pub token_cache: Duration,
    /// `--webhook-allow-http` and `--webhook-allow-loopback`.
    pub webhooks: bydel::webhooks::WebhookPolicy,
    /// `--cors-origins`: none, as `bydel serve` without the flag.
    pub cors_origins: Vec<String>,
    /// `--oauth-rate-limit` (requests per minute per client); high, so tests that do not
    /// test it are not throttled.
    pub oauth_rate_limit: u32,
    /// `--token-leeway-seconds`: the clock skew tolerated on `exp`, `nbf` and `iat`.
    pub token_leeway_seconds: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            limits: LimitSettings {
                rate: 1_000.0,
                burst: 1_000,
                auth_failure_rate: 1_000.0,
                auth_failure_burst: 1_000,
                ..LimitSettings::default()
            },
            persisted: PersistedQueries::default(),
            read_audit: bydel::audit::ReadAuditCommit::default(),
            read_audit_batch: bydel::audit::DEFAULT_BATCH_REQUESTS,
            token_cache: bydel::config::DEFAULT_TOKEN_CACHE,
            webhooks: bydel::webhooks::WebhookPolicy {
                egress: bydel::webhooks::EgressPolicy {
                    allow_loopback: true,
                },
                ..Default::default()
            },
            cors_origins: Vec::new(),
            oauth_rate_limit: 10_000,
            token_leeway_seconds: bydel::auth::keys::DEFAULT_LEEWAY_SECS,
        }
    }
}

/// A running server and the handles a test needs to drive and inspect it.
pub struct TestApp {
    pub address: SocketAddr,
    pub db: DatabaseConnection,
    pub keys: Arc<TokenKeys>,
    /// The server's token cache: what the test process, as an in-process writer (the command
    /// line's data functions), clears after a change, exactly as the server's own mutations do.
    pub tokens: Arc<TokenCache>,
    /// The server's limits, to read its refusal counters.
    pub limits: Arc<Limits>,
    database_url: String,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    /// Declared last so it is dropped after the server and the pool above.
    _database: Option<TestDatabase>,
}

impl TestApp {
    /// A server over a fresh, migrated database holding only the secretariat.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    /// A server over a fresh database with the given limits and persisted operations.
    pub async fn spawn_with(options: Options) -> TestApp {
        let database = TestDatabase::create().await;
        let pem = bydel::auth::keys::generate_pem().expect("an Ed25519 key can be generated");
        let url = database.url().to_owned();
        Self::start(&url, &pem, Some(database), options).await
    }

    /// A server over a database prepared elsewhere (e.g. by the `bydel` binary), signing and
    /// verifying with `pem`. The caller keeps the database alive.
    pub async fn serve_existing_with(url: &str, pem: &str, options: Options) -> TestApp {
        Self::start(url, pem, None, options).await
    }

    /// A second server on this app's database, signing with `pem`: another replica, as after
    /// a key rotation. This app keeps the database alive, so drop the replica first.
    pub async fn replica(&self, pem: &str) -> TestApp {
        self.replica_with(pem, Options::default()).await
    }

    /// [`TestApp::replica`] with the given options.
    pub async fn replica_with(&self, pem: &str, options: Options) -> TestApp {
        Self::start(&self.database_url, pem, None, options).await
    }

    async fn start(
        url: &str,
        pem: &str,
        database: Option<TestDatabase>,
        options: Options,
    ) -> TestApp {
        let (db, statements) = bydel::db::connect(url)
            .await
            .unwrap_or_else(|err| panic!("cannot connect to the test database {url}: {err}"));
        Migrator::up(&db, None)
            .await
            .expect("the migrations apply to the test database");
        bydel::organisations::ensure_secretariat(&db)
            .await
            .expect("the secretariat organisation can be created");
        let keys = Arc::new(
            TokenKeys::from_pem(pem, ISSUER, AUDIENCE)
                .expect("the test signing key is usable")
                .with_leeway(options.token_leeway_seconds),
        );
        keys.register(&db)
            .await
            .expect("the test signing key can be registered");
        let tokens = Arc::new(TokenCache::new(
            options.token_cache,
            db.get_database_backend(),
        ));
        let events = bydel::events::EventBus::start(&db, tokens.clone())
            .await
            .expect("the event bus starts on the test database");
        // The default response time (14 days) and disclosure threshold (5), as `bydel serve`
        // without the flags.
        let schema = bydel::schema::build(
            db.clone(),
            keys.clone(),
            bydel::referrals::ReferralPolicy::default(),
            bydel::stats::StatsPolicy::load(&db, bydel::stats::StatsPolicy::DEFAULT_MIN_CELL)
                .await
                .expect("the statistics' cell keys load"),
            options.webhooks,
            events.clone(),
        );
        let limits = Arc::new(Limits::new(options.limits, &schema.sdl()));
        let origins: Vec<_> = options
            .cors_origins
            .iter()
            .map(|origin| {
                bydel::cors::parse_origin(origin)
                    .unwrap_or_else(|err| panic!("test origin {origin:?}: {err}"))
            })
            .collect();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a test port on 127.0.0.1 can be bound");
        let address = listener
            .local_addr()
            .expect("a bound listener has an address");
        // As `bydel serve` without `--public-url`: reached at its listen address.
        let oauth = bydel::oauth::OAuthSettings {
            rate_per_minute: options.oauth_rate_limit,
            ..bydel::oauth::OAuthSettings::at(address)
        };
        let state = AppState {
            cors: Arc::new(bydel::cors::CorsPolicy::new(&origins)),
            oauth: Arc::new(bydel::oauth::OAuth::new(oauth)),
            ..AppState::new(
                schema,
                db.clone(),
                keys.clone(),
                statements,
                events,
                limits.clone(),
                Arc::new(options.persisted),
            )
            .expect("the metrics register")
        }
        .with_read_audit(options.read_audit, options.read_audit_batch)
        .expect("the read audit metrics register");
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(bydel::server::serve(listener, state, async move {
            let _ = stop.await;
        }));
        TestApp {
            address,
            db,
            keys,
            tokens,
            limits,
            database_url: url.to_owned(),
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            server: Some(server),
            _database: database,
        }
    }

    /// The HTTP client, for requests the typed helpers do not make (raw bodies, headers).
    /// The database this server runs on, for a second connection or the command line.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Typed builders that insert rows straight through the entities.
    pub fn fixtures(&self) -> Fixtures<'_> {
        Fixtures::new(&self.db)
    }

    /// Issues a token for the organisation `organisation` (id or short name) with `scopes`,
    /// valid for an hour, exactly as `bydel token issue` does.
    pub async fn issue(&self, organisation: &str, scopes: &str) -> IssuedToken {
        let org = bydel::organisations::find_by_reference(&self.db, organisation)
            .await
            .unwrap_or_else(|err| panic!("no organisation {organisation:?} to issue for: {err}"));
        let scopes = ScopeSet::parse(scopes)
            .unwrap_or_else(|err| panic!("test scopes {scopes:?} do not parse: {err}"));
        bydel::tokens::issue(
            &self.db,
            &self.keys,
            &org,
            CLIENT,
            &scopes,
            chrono::Duration::hours(1),
        )
        .await
        .unwrap_or_else(|err| panic!("cannot issue a token for {organisation:?}: {err}"))
    }

    /// The text of a fresh token for `organisation` with `scopes`.
    pub async fn token(&self, organisation: &str, scopes: &str) -> String {
        self.issue(organisation, scopes).await.token
    }

    /// Signs arbitrary claims with this server's key (for expired, misaddressed, ... tokens).
    pub fn sign(&self, claims: &Claims) -> String {
        self.keys.sign(claims).expect("claims can be signed")
    }

    /// POSTs a GraphQL request with `Authorization: Bearer <token>` (or no header at all).
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> GqlResponse {
        let authorization = token.map(|t| format!("Bearer {t}"));
        self.graphql_with_authorization(authorization.as_deref(), query, variables)
            .await
    }

    /// POSTs a GraphQL request with a raw `Authorization` header value (or none).
    pub async fn graphql_with_authorization(
        &self,
        authorization: Option<&str>,
        query: &str,
        variables: Value,
    ) -> GqlResponse {
        let body = json!({ "query": query, "variables": variables });
        self.post(authorization, &body, None).await
    }

    /// POSTs the operation `operation` of a document that holds several (`operationName`).
    pub async fn graphql_operation(
        &self,
        token: &str,
        document: &str,
        operation: &str,
        variables: Value,
    ) -> GqlResponse {
        let body = json!({ "query": document, "operationName": operation, "variables": variables });
        self.post(Some(&format!("Bearer {token}")), &body, None)
            .await
    }

    /// POSTs a GraphQL request that names its own `X-Request-Id`, as a partner's gateway does.
    pub async fn graphql_with_request_id(
        &self,
        token: &str,
        request_id: &str,
        query: &str,
        variables: Value,
    ) -> GqlResponse {
        let body = json!({ "query": query, "variables": variables });
        self.post(Some(&format!("Bearer {token}")), &body, Some(request_id))
            .await
    }

    async fn post(
        &self,
        authorization: Option<&str>,
        body: &Value,
        request_id: Option<&str>,
    ) -> GqlResponse {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .header(header::ACCEPT, "application/json")
            .json(body);
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        if let Some(request_id) = request_id {
            request = request.header("x-request-id", request_id);
        }
        GqlResponse::read(request.send().await.expect("the server answers")).await
    }

    /// POSTs a GraphQL request with extra headers (e.g. `Idempotency-Key`).
    pub async fn graphql_with_headers(
        &self,
        token: &str,
        query: &str,
        variables: Value,
        headers: &[(&str, &str)],
    ) -> GqlResponse {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .header(header::ACCEPT, "application/json")
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        GqlResponse::read(request.send().await.expect("the server answers")).await
    }

    /// GETs `/graphql?query=...` (the GraphQL-over-HTTP GET form for queries).
    pub async fn graphql_get(&self, token: Option<&str>, query: &str) -> GqlResponse {
        let mut request = self
            .client
            .get(self.url("/graphql"))
            .header(header::ACCEPT, "application/json")
            .query(&[("query", query)]);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        GqlResponse::read(request.send().await.expect("the server answers")).await
    }

    /// `bydel_db_statements_total` from `GET /metrics`.
    pub async fn statements(&self) -> u64 {
        let body = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("the server answers /metrics")
            .error_for_status()
            .expect("/metrics succeeds")
            .text()
            .await
            .expect("/metrics has a text body");
        body.lines()
            .find_map(|line| line.strip_prefix("bydel_db_statements_total "))
            .unwrap_or_else(|| panic!("no bydel_db_statements_total in /metrics:\n{body}"))
            .trim()
            .parse()
            .expect("the statement counter is an integer")
    }

    /// A webhook dispatcher on its own connection to this app's database (so it does not
    /// move the statement counter), as every `bydel serve` replica runs one.
    pub async fn dispatcher(&self, settings: DispatchSettings) -> Dispatcher {
        let (db, _) = bydel::db::connect(&self.database_url)
            .await
            .expect("a second connection to the test database");
        Dispatcher::new(db, settings).expect("the webhook dispatcher starts")
    }

    /// Runs a dispatcher in the background, as `bydel serve` does, until the guard drops.
    pub async fn deliver_webhooks(&self, settings: DispatchSettings) -> Background {
        Background(self.dispatcher(settings).await.spawn())
    }

    /// Loads the demo data set into this app's database.
    pub async fn load_demo(&self) -> String {
        bydel::demo::load(&self.db)
            .await
            .unwrap_or_else(|err| panic!("the demo data set does not load: {err}"))
            .to_string()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server before the database goes away (see TestDatabase's Drop).
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// A background task that stops when dropped (declare it after the app it serves).
pub struct Background(JoinHandle<()>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The claims inside a token Bydel issued, to craft variants of it.
pub fn claims_of(token: &str) -> Claims {
    let payload = token
        .split('.')
        .nth(1)
        .unwrap_or_else(|| panic!("{token:?} is not a JWT"));
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .expect("a JWT payload is base64url");
    serde_json::from_slice(&json).expect("a Bydel token carries Bydel claims")
}

/// What the server answered to a GraphQL request.
#[derive(Debug)]
pub struct GqlResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl GqlResponse {
    /// Reads a response whose body is JSON (every `/graphql` answer's is).
    pub async fn read(response: reqwest::Response) -> GqlResponse {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("the response has a body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("HTTP {status}: the body is not JSON ({err}): {text}"));
        GqlResponse {
            status,
            headers,
            body,
        }
    }

    /// `data`, after checking the request succeeded completely (200, no errors).
    #[track_caller]
    pub fn data(&self) -> &Value {
        assert_eq!(self.status, 200, "HTTP status; body: {:#}", self.body);
        assert!(
            self.errors().is_empty(),
            "unexpected errors: {:#}",
            self.body
        );
        &self.body["data"]
    }

    pub fn errors(&self) -> &[Value] {
        self.body["errors"].as_array().map_or(&[], Vec::as_slice)
    }

    /// `errors[0].extensions.code`.
    pub fn code(&self) -> Option<&str> {
        self.errors().first()?["extensions"]["code"].as_str()
    }

    /// `errors[0].message`.
    pub fn message(&self) -> &str {
        self.errors()
            .first()
            .and_then(|e| e["message"].as_str())
            .unwrap_or_default()
    }

    /// Checks that the first error has `code` and returns its message.
    #[track_caller]
    pub fn expect_error(&self, code: &str) -> &str {
        assert_eq!(
            self.code(),
            Some(code),
            "expected a {code} error; got: {:#}",
            self.body
        );
        assert!(
            !self.message().is_empty(),
            "the {code} error has no message: {:#}",
            self.body
        );
        self.message()
    }

    /// True when the response carries no data at all (`data` absent or null).
    pub fn has_no_data(&self) -> bool {
        self.body.get("data").is_none_or(Value::is_null)
    }
}

/// The nodes of the connection `data[list]`, in order.
#[track_caller]
pub fn nodes<'a>(data: &'a Value, list: &str) -> Vec<&'a Value> {
    data[list]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no {list}.edges in {data:#}"))
        .iter()
        .map(|edge| &edge["node"])
        .collect()
}

/// `field` of every node of `data[list]`, as strings.
#[track_caller]
pub fn strings(data: &Value, list: &str, field: &str) -> Vec<String> {
    nodes(data, list)
        .into_iter()
        .map(|node| {
            node[field]
                .as_str()
                .unwrap_or_else(|| panic!("{list} node without string {field}: {node:#}"))
                .to_owned()
        })
        .collect()
}

/// `data[list].totalCount`.
#[track_caller]
pub fn total_count(data: &Value, list: &str) -> u64 {
    data[list]["totalCount"]
        .as_u64()
        .unwrap_or_else(|| panic!("no {list}.totalCount in {data:#}"))
}
