//! Signing keys: several live verification keys, rotation without downtime, retirement that
//! takes effect on every replica at once, key ids checked against the token's row, and the
//! JWKS partners verify with. "Replicas" are two servers on one database, each configured
//! with its own key, as during a rotation.

use std::{
    os::unix::fs::PermissionsExt,
    time::{Duration, Instant},
};

use bydel::auth::{
    Claims, TokenKeys,
    key_store::{self, Retirement},
    keys::{PublicKey, generate_pem},
};
use entity::api_token;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use reqwest::header::CACHE_CONTROL;
use sea_orm::{ColumnTrait, DatabaseBackend, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

use crate::{
    cli::Workspace,
    harness::{AUDIENCE, GqlResponse, ISSUER, Options, TestApp, claims_of, total_count},
    queries,
};

const SCOPES: &str = "projects:read";

fn new_pem() -> String {
    generate_pem().expect("an Ed25519 key generates")
}

/// Keys that sign in memory only, for tokens the server has to judge.
fn signer(pem: &str) -> TokenKeys {
    TokenKeys::from_pem(pem, ISSUER, AUDIENCE).expect("the key loads")
}

async fn read(app: &TestApp, token: &str) -> GqlResponse {
    app.graphql(Some(token), queries::PROJECT_NAMES, json!({}))
        .await
}

#[track_caller]
fn assert_reads(response: &GqlResponse, what: &str) {
    assert_eq!(response.status, 200, "{what}: {}", response.body);
    assert_eq!(total_count(response.data(), "projects"), 0, "{what}");
}

/// Checks a `401 UNAUTHENTICATED` without data whose message contains `reason`.
#[track_caller]
fn assert_refused(response: &GqlResponse, reason: &str, what: &str) {
    assert_eq!(response.status, 401, "{what}: {}", response.body);
    let message = response.expect_error("UNAUTHENTICATED");
    assert!(
        message.contains(reason),
        "{what}: the message {message:?} should say {reason:?}"
    );
    assert!(response.has_no_data(), "{what}: {}", response.body);
}

async fn jwks(app: &TestApp) -> (Option<String>, JwkSet) {
    let response = reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .expect("the server answers /.well-known/jwks.json")
        .error_for_status()
        .expect("the JWKS needs no token");
    let cache = response
        .headers()
        .get(CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let set = response.json().await.expect("the JWKS is a JWK set");
    (cache, set)
}

fn kids(set: &JwkSet) -> Vec<String> {
    let mut kids: Vec<String> = set
        .keys
        .iter()
        .map(|key| key.common.key_id.clone().expect("every JWK has a kid"))
        .collect();
    kids.sort();
    kids
}

fn sorted(mut kids: Vec<&str>) -> Vec<String> {
    kids.sort();
    kids.into_iter().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_keeps_old_tokens_until_it_is_retired() {
    let old = TestApp::spawn().await;
    let old_token = old.token("secretariat", SCOPES).await;
    assert_reads(&read(&old, &old_token).await, "old token, old server");

    // Key B is added and a replica signs with it; the old server keeps running unchanged.
    // SQLite serves one process: a second server on its file hears no notices, so there its
    // token cache is off (see README, `--token-cache-seconds`).
    let replica = match old.db.get_database_backend() {
        DatabaseBackend::Postgres => Options::default(),
        _ => Options {
            token_cache: Duration::ZERO,
            ..Options::default()
        },
    };
    let new = old.replica_with(&new_pem(), replica).await;
    let new_token = new.token("secretariat", SCOPES).await;
    for (server, name) in [(&old, "old server"), (&new, "new server")] {
        assert_reads(
            &read(server, &old_token).await,
            &format!("old token, {name}"),
        );
        assert_reads(
            &read(server, &new_token).await,
            &format!("new token, {name}"),
        );
    }

    // Retired as the command line does it, in the old server's process.
    let retired = key_store::retire(&old.db, &old.tokens, old.keys.kid())
        .await
        .expect("the old key can be retired while the new one is active");
    assert_eq!(retired, Retirement::Retired);

    // The server in the retiring process refuses at once; the other replica as soon as the
    // notice reaches its listener (PostgreSQL), however long its cache would keep the rows.
    assert_refused(
        &read(&old, &old_token).await,
        "signing key retired",
        "old token, old server, at once",
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    for (server, name) in [(&old, "old server"), (&new, "new server")] {
        let response = loop {
            let response = read(server, &old_token).await;
            if response.status != 200 || Instant::now() > deadline {
                break response;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_refused(
            &response,
            "signing key retired",
            &format!("old token, {name}"),
        );
        assert_reads(
            &read(server, &new_token).await,
            &format!("new token, {name}"),
        );
    }
    drop(new);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_an_unregistered_key_is_refused_and_costs_at_most_a_reload_a_second() {
    let app = TestApp::spawn().await;
    let claims = claims_of(&app.token("secretariat", SCOPES).await);

    let started = Instant::now();
    let before = app.statements().await;
    for _ in 0..20 {
        // A fresh key, hence a fresh key id, every time.
        let token = signer(&new_pem()).sign(&claims).expect("signs");
        assert_refused(
            &read(&app, &token).await,
            "unknown key id",
            "unregistered key",
        );
    }
    let reloads = app.statements().await - before;
    let allowed = started.elapsed().as_secs() + 1;
    assert!(
        (1..=allowed).contains(&reloads),
        "20 unknown key ids in {:?} ran {reloads} statements; at most one reload a second",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_signed_by_another_registered_key_than_its_own_is_refused() {
    let app = TestApp::spawn().await;
    let token = app.token("secretariat", SCOPES).await;

    // A registered, active key re-signs the claims of a token issued under the app's key.
    let other_pem = new_pem();
    let other = PublicKey::of_pem(&other_pem).expect("the key loads");
    key_store::add(&app.db, &other)
        .await
        .expect("a new key registers");
    let resigned = signer(&other_pem).sign(&claims_of(&token)).expect("signs");

    let response = read(&app, &resigned).await;
    assert_refused(&response, "key id does not match", "re-signed token");
    assert_reads(&read(&app, &token).await, "the original token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_lists_the_active_keys_and_verifies_tokens_without_a_secret() {
    let app = TestApp::spawn().await;
    let old_kid = app.keys.kid().to_owned();
    let (cache, set) = jwks(&app).await;
    assert_eq!(cache.as_deref(), Some("max-age=60"));
    assert_eq!(kids(&set), sorted(vec![old_kid.as_str()]));

    let new = app.replica(&new_pem()).await;
    let new_kid = new.keys.kid().to_owned();
    let (_, set) = jwks(&app).await;
    assert_eq!(kids(&set), sorted(vec![old_kid.as_str(), new_kid.as_str()]));

    // What a partner does: pick the key named by the token's header, verify with it alone.
    let token = new.token("secretariat", SCOPES).await;
    let header = jsonwebtoken::decode_header(&token).expect("the token has a header");
    let kid = header.kid.expect("the token names its key");
    let jwk = set.find(&kid).expect("the JWKS lists the signing key");
    let key = DecodingKey::from_jwk(jwk).expect("the JWK is a usable public key");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let verified = jsonwebtoken::decode::<Claims>(&token, &key, &validation)
        .expect("the token verifies with the published key");
    assert_eq!(verified.claims.scope, SCOPES);

    key_store::retire(&app.db, &app.tokens, &old_kid)
        .await
        .expect("the old key retires");
    let (_, set) = jwks(&new).await;
    assert_eq!(kids(&set), [new_kid]);
    let retirement = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::EntityType.eq("signing_key"))
        .filter(entity::audit_event::Column::Detail.eq(format!("kid {old_kid}")))
        .one(&app.db)
        .await
        .expect("the audit trail reads")
        .expect("retiring a key is audited");
    assert_eq!(retirement.action, entity::enums::AuditAction::Revoke);
    drop(new);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_active_key_and_unknown_keys_cannot_be_retired() {
    let app = TestApp::spawn().await;
    let err = key_store::retire(&app.db, &app.tokens, app.keys.kid())
        .await
        .expect_err("the only key cannot be retired");
    assert_eq!(err.code(), "CONFLICT");
    let err = key_store::retire(&app.db, &app.tokens, "no-such-key")
        .await
        .expect_err("an unknown key cannot be retired");
    assert_eq!(err.code(), "NOT_FOUND");
    let token = app.token("secretariat", SCOPES).await;
    assert_reads(&read(&app, &token).await, "token of the kept key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_before_key_ids_were_recorded_are_attributed_at_start_up() {
    let app = TestApp::spawn().await;
    let issued = app.issue("secretariat", SCOPES).await;
    // What a token issued before migration 9 looks like: no key id on its row.
    api_token::Entity::update_many()
        .col_expr(api_token::Column::Kid, Expr::value(Option::<String>::None))
        .filter(api_token::Column::Id.eq(issued.jti))
        .exec(&app.db)
        .await
        .expect("the row updates");
    let response = read(&app, &issued.token).await;
    assert_refused(&response, "key id does not match", "a row without key id");

    // The next start-up with the same configured key claims it.
    app.keys
        .register(&app.db)
        .await
        .expect("the key registers again");
    assert_reads(&read(&app, &issued.token).await, "after start-up");
}

/// `bydel key list` as `(kid, state)` pairs, checking the line format on the way.
#[track_caller]
fn listed(here: &Workspace) -> Vec<(String, String)> {
    let run = here.run_db(&["key", "list"]);
    run.succeeded();
    run.stdout()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "`kid<TAB>state<TAB>created_at`: {line:?}");
            chrono::DateTime::parse_from_rfc3339(fields[2])
                .unwrap_or_else(|err| panic!("created_at {:?}: {err}", fields[2]));
            (fields[0].to_owned(), fields[1].to_owned())
        })
        .collect()
}

/// `bydel key add --output FILE`, checking that it prints the key id alone.
#[track_caller]
fn add_key(here: &Workspace, file: &str) -> String {
    let run = here.run_db(&["key", "add", "--output", file]);
    run.succeeded();
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout should hold the kid alone: {stdout:?}"
    );
    let mode = std::fs::metadata(here.path().join(file))
        .expect("the key file exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the key file is for its owner only");
    lines[0].to_owned()
}

#[test]
fn the_cli_adds_lists_and_retires_keys() {
    let here = Workspace::new();
    let first = add_key(&here, "first.pem");
    assert_eq!(listed(&here), [(first.clone(), "active".to_owned())]);

    let reason = here.run_db(&["key", "retire", &first]).refused();
    assert!(reason.contains("only active"), "{reason}");
    let reason = here.run_db(&["key", "retire", "no-such-key"]).refused();
    assert!(reason.contains("no-such-key"), "{reason}");

    let second = add_key(&here, "second.pem");
    here.run_db(&["key", "retire", &first]).succeeded();
    let mut keys = listed(&here);
    keys.sort();
    let mut expected = vec![
        (first.clone(), "retired".to_owned()),
        (second, "active".to_owned()),
    ];
    expected.sort();
    assert_eq!(keys, expected);

    // A replica configured with the retired key refuses to start, before it listens. (`serve`
    // logs its start-up at info level, so the reason is the last line rather than the only one.)
    let serve = here.run_db(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--signing-key-file",
        "first.pem",
    ]);
    assert!(!serve.output.status.success(), "{}", serve.stderr());
    assert_eq!(serve.stdout(), "");
    let stderr = serve.stderr();
    let reason = stderr.lines().last().unwrap_or_default();
    assert!(
        reason.starts_with("bydel: ") && reason.contains(&first) && reason.contains("retired"),
        "{stderr}"
    );

    // An existing file is never overwritten, and nothing is registered then.
    let run = here.run_db(&["key", "add", "--output", "second.pem"]);
    run.refused();
    assert_eq!(listed(&here).len(), 2);
}
