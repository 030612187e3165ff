//! The per-replica token cache (`bydel::auth::token_cache`): a token used again is not read
//! again, yet a revoked token, a revoked or deleted client and a retired key are refused on the
//! very next request in the process that made the change, and on every other replica as soon
//! as PostgreSQL delivers the notice, however long the cache would keep the rows.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use bydel::auth::{
    ScopeSet, TokenKeys, key_store,
    keys::{PublicKey, generate_pem},
};
use entity::api_token;
use reqwest::StatusCode;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, sea_query::Expr,
};
use serde_json::{Value, json};

use crate::{
    harness::{
        AUDIENCE, Backend, GqlResponse, ISSUER, Options, TestApp, TestDatabase, claims_of,
        process::ServerProcess,
    },
    queries,
    tokens::{ADMIN, client_of, token_id},
};

/// What the tokens under test may do: read organisations (reference data) and projects.
const SCOPES: &str = "projects:read";

/// How long a refusal may take to reach another replica: a notice's trip through PostgreSQL.
const NOTICE_DEADLINE: Duration = Duration::from_secs(5);

/// Polls between two attempts while waiting for a notice (bounded by a deadline).
const POLL: Duration = Duration::from_millis(20);

async fn read(app: &TestApp, token: &str) -> GqlResponse {
    app.graphql(Some(token), queries::PROJECT_NAMES, json!({}))
        .await
}

/// The statements one read with `token` costs.
async fn cost(app: &TestApp, token: &str) -> u64 {
    let before = app.statements().await;
    let response = read(app, token).await;
    assert_eq!(response.status, 200, "{}", response.body);
    app.statements().await - before
}

/// Checks a `401 UNAUTHENTICATED` whose message contains `reason`.
#[track_caller]
fn assert_refused(response: &GqlResponse, reason: &str, what: &str) {
    assert_eq!(response.status, 401, "{what}: {}", response.body);
    let message = response.expect_error("UNAUTHENTICATED");
    assert!(
        message.contains(reason),
        "{what}: the message {message:?} should say {reason:?}"
    );
}

/// Uses `token` twice and checks that the second use was answered from the cache: one
/// statement fewer (the token's rows).
async fn cached(app: &TestApp, token: &str) {
    let first = cost(app, token).await;
    let second = cost(app, token).await;
    assert_eq!(
        second + 1,
        first,
        "the second request with a token reads its rows from the cache"
    );
}

async fn mutate(app: &TestApp, admin: &str, mutation: &str, id: &str) {
    let response = app
        .graphql(Some(admin), mutation, json!({ "id": id }))
        .await;
    assert!(
        response.body.get("errors").is_none(),
        "{mutation}: {}",
        response.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_used_again_is_not_read_again() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", SCOPES).await;
    cached(&app, &token).await;
    // Every later use too, and another token is read once of its own.
    let again = cost(&app, &token).await;
    let other = app.token("secretariat", SCOPES).await;
    assert_eq!(cost(&app, &other).await, again + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_seconds_reads_the_token_on_every_request() {
    let app = TestApp::spawn_with(Options {
        token_cache: Duration::ZERO,
        ..Options::default()
    })
    .await;
    let token = app.token("secretariat", SCOPES).await;
    let first = cost(&app, &token).await;
    for _ in 0..3 {
        assert_eq!(cost(&app, &token).await, first, "no request is spared");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_revoked_over_graphql_is_refused_on_the_next_request() {
    let app = TestApp::spawn().await;
    app.fixtures().base().await;
    let admin = app.token("secretariat", ADMIN).await;
    let token = app.token("ngo-red-cross", SCOPES).await;
    let sibling = app.token("ngo-red-cross", SCOPES).await;
    cached(&app, &token).await;
    cached(&app, &sibling).await;

    mutate(&app, &admin, queries::REVOKE_TOKEN, &token_id(&token)).await;
    assert_refused(&read(&app, &token).await, "revoked", "the revoked token");
    assert_eq!(read(&app, &sibling).await.status, 200, "another token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_of_a_revoked_or_deleted_client_is_refused_on_the_next_request() {
    let app = TestApp::spawn().await;
    app.fixtures().base().await;
    let admin = app.token("secretariat", ADMIN).await;

    let token = app.token("ngo-red-cross", SCOPES).await;
    cached(&app, &token).await;
    mutate(&app, &admin, queries::REVOKE_API_CLIENT, &client_of(&token)).await;
    assert_refused(
        &read(&app, &token).await,
        "client revoked",
        "a token of the revoked client",
    );

    let token = app.token("kommune-101", SCOPES).await;
    cached(&app, &token).await;
    mutate(&app, &admin, queries::DELETE_API_CLIENT, &client_of(&token)).await;
    assert_refused(
        &read(&app, &token).await,
        "unknown token",
        "a token of the deleted client",
    );
    assert_eq!(read(&app, &admin).await.status, 200, "the admin's token");
}

/// A second key `pem`, registered, and a token it signed (its row names it).
async fn token_of_another_key(app: &TestApp, pem: &str) -> String {
    let public = PublicKey::of_pem(pem).expect("the key loads");
    key_store::add(&app.db, &public)
        .await
        .expect("a second key registers");
    let keys = TokenKeys::from_pem(pem, ISSUER, AUDIENCE).expect("the key loads");
    let secretariat = bydel::organisations::find_by_reference(&app.db, "secretariat")
        .await
        .expect("the secretariat exists");
    let scopes = ScopeSet::parse(SCOPES).expect("scopes parse");
    bydel::tokens::issue(
        &app.db,
        &keys,
        &secretariat,
        "second-key",
        &scopes,
        chrono::Duration::hours(1),
    )
    .await
    .expect("a token is issued under the second key")
    .token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_of_a_retired_key_is_refused_on_the_next_request() {
    let app = TestApp::spawn().await;
    let pem = generate_pem().expect("a key generates");
    let token = token_of_another_key(&app, &pem).await;
    let first = cost(&app, &token).await;
    assert_eq!(
        cost(&app, &token).await + 2,
        first,
        "the new key is loaded once and the rows are cached"
    );

    // In this process, as `bydel key retire` does it: the change, then this process's cache.
    let kid = PublicKey::of_pem(&pem).expect("the key loads").kid;
    key_store::retire(&app.db, &app.tokens, &kid)
        .await
        .expect("the second key retires");
    assert_refused(
        &read(&app, &token).await,
        "signing key retired",
        "a token of the retired key",
    );
}

/// Polls `token` on `server` until it is refused, at most [`NOTICE_DEADLINE`].
async fn refused_within_deadline(server: &TestApp, token: &str) -> GqlResponse {
    let deadline = Instant::now() + NOTICE_DEADLINE;
    loop {
        let response = read(server, token).await;
        if response.status != 200 || Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// PostgreSQL: a notice lost while the listener was away cannot keep a token alive. The
/// token's row is revoked behind the server's back (no notice, as if it was sent while the
/// listener was disconnected): the cached rows still answer, until the listener's connection
/// is cut; the cache is off while it reconnects and starts empty when it listens again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listener_empties_the_cache() {
    let app = TestApp::spawn_with(Options {
        token_cache: Duration::from_secs(600),
        ..Options::default()
    })
    .await;
    if app.db.get_database_backend() != DatabaseBackend::Postgres {
        return;
    }
    let token = app.token("secretariat", SCOPES).await;
    cached(&app, &token).await;
    let jti: uuid::Uuid = claims_of(&token).jti.parse().expect("a jti is a UUID");
    api_token::Entity::update_many()
        .col_expr(
            api_token::Column::RevokedAt,
            Expr::value(Some(chrono::Utc::now())),
        )
        .filter(api_token::Column::Id.eq(jti))
        .exec(&app.db)
        .await
        .expect("the row updates");
    assert_eq!(
        read(&app, &token).await.status,
        200,
        "no notice, so the cached rows still answer"
    );

    let cut = app
        .db
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN %'",
        )
        .await
        .expect("the listener's connection can be cut");
    assert_eq!(cut.rows_affected(), 1, "one listener per replica");
    assert_refused(
        &refused_within_deadline(&app, &token).await,
        "revoked",
        "after the listener lost its connection",
    );
}

/// `bydel_db_statements_total` of a server process.
async fn statements_of(client: &reqwest::Client, server: &ServerProcess) -> u64 {
    let body = client
        .get(format!("http://{}/metrics", server.address))
        .send()
        .await
        .and_then(|response| response.error_for_status())
        .expect("the replica answers /metrics")
        .text()
        .await
        .expect("a text body");
    body.lines()
        .find_map(|line| line.strip_prefix("bydel_db_statements_total "))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or_else(|| panic!("no statement counter in /metrics:\n{body}"))
}

/// A GraphQL request to a server process.
async fn post(
    client: &reqwest::Client,
    server: &ServerProcess,
    token: &str,
    query: &str,
    variables: Value,
) -> (StatusCode, Value) {
    let response = client
        .post(format!("http://{}/graphql", server.address))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("the replica answers");
    let status = response.status();
    (status, response.json().await.expect("a JSON answer"))
}

/// The statements one read with `token` costs `server`.
async fn cost_on(client: &reqwest::Client, server: &ServerProcess, token: &str) -> u64 {
    let before = statements_of(client, server).await;
    let (status, body) = post(client, server, token, queries::PROJECT_NAMES, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    statements_of(client, server).await - before
}

/// Polls `token` on `server` until it is refused (at most [`NOTICE_DEADLINE`]) and checks
/// the reason.
async fn refused_on(client: &reqwest::Client, server: &ServerProcess, token: &str, reason: &str) {
    let deadline = Instant::now() + NOTICE_DEADLINE;
    let (status, body) = loop {
        let (status, body) = post(client, server, token, queries::PROJECT_NAMES, json!({})).await;
        if status != StatusCode::OK || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(POLL).await;
    };
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "still accepted after {NOTICE_DEADLINE:?}: {body:#}"
    );
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains(reason), "{reason:?}: {body:#}");
}

/// Runs the `bydel` command line against `url` (a separate process, like an operator's).
async fn command_line(url: &str, args: &[&str]) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bydel"));
    command.args(args).args(["--database-url", url]);
    for variable in crate::cli::BYDEL_ENV {
        command.env_remove(variable);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("the command line runs")
        .expect("the bydel binary starts");
    assert!(
        output.status.success(),
        "`bydel {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Issues a token for the secretariat with `scopes` under the client `client`, signed with
/// `keys`.
pub async fn issue(
    db: &sea_orm::DatabaseConnection,
    keys: &TokenKeys,
    client: &str,
    scopes: &str,
) -> String {
    let secretariat = bydel::organisations::find_by_reference(db, "secretariat")
        .await
        .expect("the secretariat exists");
    let scopes = ScopeSet::parse(scopes).expect("scopes parse");
    bydel::tokens::issue(
        db,
        keys,
        &secretariat,
        client,
        &scopes,
        chrono::Duration::hours(1),
    )
    .await
    .expect("a token is issued")
    .token
}

pub fn write_key(dir: &Path, name: &str) -> (std::path::PathBuf, String) {
    let pem = generate_pem().expect("a key generates");
    let file = dir.join(name);
    std::fs::write(&file, &pem).expect("the key file is written");
    (file, pem)
}

/// PostgreSQL, two `bydel serve` processes keeping token rows for ten minutes: a token
/// revoked through A, a token revoked and a key retired by the command line (a third
/// process) are refused by B within seconds, each having been cached on B first. SQLite
/// serves one process, so there is nothing to run there (the other tests cover it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_one_replica_reaches_the_cache_of_another() {
    let database = TestDatabase::create().await;
    if database.backend() != Backend::Postgres {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (key_file, pem) = write_key(dir.path(), "signing-key.pem");
    // A long cache, and no webhook polling that would move B's statement counter.
    let flags = [
        "--token-cache-seconds",
        "600",
        "--webhook-poll-ms",
        "600000",
    ];
    let a = ServerProcess::spawn_with(database.url(), &key_file, &flags);
    let b = ServerProcess::spawn_with(database.url(), &key_file, &flags);
    let client = reqwest::Client::new();

    let db = database.connect().await;
    let keys = TokenKeys::from_pem(&pem, ISSUER, AUDIENCE).expect("the key loads");
    let admin = issue(&db, &keys, "admin", ADMIN).await;
    let revoked_over_graphql = issue(&db, &keys, "partner", SCOPES).await;
    let revoked_by_operator = issue(&db, &keys, "partner", SCOPES).await;
    let (_, second_pem) = write_key(dir.path(), "second-key.pem");
    let second = TokenKeys::from_pem(&second_pem, ISSUER, AUDIENCE).expect("the key loads");
    key_store::add(&db, second.public_key())
        .await
        .expect("the second key registers");
    let of_retired_key = issue(&db, &second, "partner", SCOPES).await;

    // Each token is used on B until its rows come from B's cache (one statement fewer).
    for token in [&revoked_over_graphql, &revoked_by_operator] {
        let first = cost_on(&client, &b, token).await;
        assert_eq!(cost_on(&client, &b, token).await + 1, first, "cached on B");
    }
    // The first use also loads the second key on B; after it, the rows are cached.
    let first = cost_on(&client, &b, &of_retired_key).await;
    let cached = cost_on(&client, &b, &revoked_by_operator).await;
    assert!(
        first > cached + 1,
        "{first} statements: the key, the rows and the read"
    );
    assert_eq!(
        cost_on(&client, &b, &of_retired_key).await,
        cached,
        "cached on B"
    );

    let (status, body) = post(
        &client,
        &a,
        &admin,
        queries::REVOKE_TOKEN,
        json!({ "id": token_id(&revoked_over_graphql) }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(body.get("errors").is_none(), "{body:#}");
    refused_on(&client, &b, &revoked_over_graphql, "revoked").await;

    let jti = claims_of(&revoked_by_operator).jti;
    command_line(database.url(), &["token", "revoke", &jti]).await;
    refused_on(&client, &b, &revoked_by_operator, "revoked").await;

    command_line(database.url(), &["key", "retire", second.kid()]).await;
    refused_on(&client, &b, &of_retired_key, "signing key retired").await;

    drop(b);
    drop(a);
    drop(db);
}
