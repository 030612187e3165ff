//! Trusted external issuers (issue 15) against a real local identity provider: an axum
//! server in the test publishes a JWKS (with `Cache-Control`), counts its fetches and can
//! fail; the test signs RS256 and ES256 tokens with fixed keys (`fixtures/issuer/*.pem`,
//! generated once with openssl: RSA key generation in a debug build takes seconds).
//!
//! What holds: a registered issuer's tokens read their organisation's rows and no others,
//! with their scopes met with the ceiling; conditions pick one organisation of a shared
//! issuer; every RFC 8725 check refuses with `UNAUTHENTICATED`; a new key id causes one
//! refresh, forged ones no fetch storm; an unreachable JWKS is a clear 401; a revoked issuer
//! is refused; only the secretariat registers.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bydel::ids::Kind;
use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};
use uuid::Uuid;

use crate::{
    harness::{GqlResponse, Options, TestApp, fixtures::Base, total_count},
    queries::{ISSUER_READS, TRUSTED_ISSUERS},
};

const ISS: &str = "https://idp.example/realms/partners";
const AUD: &str = "bydel-partner-api";
const SECRETARIAT_SCOPES: &str = "tokens:admin audit:read projects:read";

/// A signing key of the local provider and its public JWK.
struct Key {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    public: Value,
}

impl Key {
    fn new(pem: &str, alg: Algorithm, kid: &str) -> Key {
        let encoding = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
            other => panic!("no fixture for {other:?}"),
        }
        .expect("the fixture key loads");
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).expect("a public JWK");
        jwk.common.key_id = Some(kid.to_owned());
        Key {
            kid: kid.to_owned(),
            alg,
            encoding,
            public: serde_json::to_value(jwk).expect("a JWK serialises"),
        }
    }

    fn rsa_1() -> Key {
        Key::new(
            include_str!("fixtures/issuer/rsa-1.pem"),
            Algorithm::RS256,
            "rsa-1",
        )
    }

    fn rsa_2() -> Key {
        Key::new(
            include_str!("fixtures/issuer/rsa-2.pem"),
            Algorithm::RS256,
            "rsa-2",
        )
    }

    fn ec_1() -> Key {
        Key::new(
            include_str!("fixtures/issuer/ec-1.pem"),
            Algorithm::ES256,
            "ec-1",
        )
    }

    /// `claims` signed with this key, its `kid` in the header (or `kid`).
    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("claims sign")
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid.clone(), claims)
    }
}

/// What the local provider publishes, and how often it was asked.
#[derive(Default)]
struct Published {
    keys: Mutex<Vec<Value>>,
    fetches: AtomicUsize,
    failing: AtomicBool,
}

async fn serve_jwks(State(published): State<Arc<Published>>) -> Response {
    published.fetches.fetch_add(1, Ordering::SeqCst);
    if published.failing.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    let keys = published.keys.lock().expect("keys lock").clone();
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(json!({ "keys": keys })),
    )
        .into_response()
}

/// The local identity provider: `GET /jwks` on 127.0.0.1.
struct LocalIssuer {
    address: SocketAddr,
    published: Arc<Published>,
    server: JoinHandle<()>,
}

impl LocalIssuer {
    async fn start(keys: &[&Key]) -> LocalIssuer {
        let published = Arc::new(Published::default());
        published.publish(keys);
        let router = Router::new()
            .route("/jwks", get(serve_jwks))
            .with_state(published.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("an address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        LocalIssuer {
            address,
            published,
            server,
        }
    }

    fn jwks_url(&self) -> String {
        format!("http://{}/jwks", self.address)
    }

    fn fetches(&self) -> usize {
        self.published.fetches.load(Ordering::SeqCst)
    }

    fn stop(&self) {
        self.server.abort();
    }
}

impl Published {
    fn publish(&self, keys: &[&Key]) {
        *self.keys.lock().expect("keys lock") = keys.iter().map(|k| k.public.clone()).collect();
    }
}

impl Drop for LocalIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Claims of a caseworker system of København at the local provider, with `changes` merged
/// in (`null` removes a claim).
fn claims(changes: Value) -> Value {
    let now = Utc::now().timestamp();
    let mut claims = json!({
        "iss": ISS,
        "aud": AUD,
        "sub": "caseworker-system",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 600,
        "jti": Uuid::new_v4().to_string(),
        "scope": "openid projects:read referrals:read",
        "municipality": "101",
    });
    let object = claims.as_object_mut().expect("an object");
    for (name, value) in changes.as_object().expect("changes are an object") {
        if value.is_null() {
            object.remove(name);
        } else {
            object.insert(name.clone(), value.clone());
        }
    }
    claims
}

fn org_id(organisation: &entity::organisation::Model) -> String {
    Kind::Organisation.id(organisation.id).to_string()
}

/// A registration of the local provider for `organisation`, by municipality code.
fn registration(
    organisation: &entity::organisation::Model,
    jwks_url: &str,
    municipality: &str,
) -> Value {
    json!({
        "organisationId": org_id(organisation),
        "issuer": ISS,
        "jwksUrl": jwks_url,
        "audience": AUD,
        "algorithms": ["RS256", "ES256"],
        "scopeClaim": "scope",
        "conditions": [{ "claim": "municipality", "value": municipality }],
    })
}

/// A test app with the base organisations, a project in København and one in Randers, and
/// a secretariat token that manages issuers.
struct World {
    app: TestApp,
    base: Base,
    admin: String,
}

impl World {
    async fn new() -> World {
        World::with(Options::default()).await
    }

    async fn with(options: Options) -> World {
        let app = TestApp::spawn_with(options).await;
        let base = app.fixtures().base().await;
        app.fixtures()
            .project("Bydelsmødre København", 101, &base.ngo, |_| {})
            .await;
        app.fixtures()
            .project("Bydelsmødre Randers", 730, &base.ngo, |_| {})
            .await;
        let admin = app.token("secretariat", SECRETARIAT_SCOPES).await;
        World { app, base, admin }
    }

    async fn op(&self, token: &str, operation: &str, variables: Value) -> GqlResponse {
        self.app
            .graphql_operation(token, TRUSTED_ISSUERS, operation, variables)
            .await
    }

    /// Registers `input`, which must succeed; answers the registration.
    async fn register(&self, input: Value) -> Value {
        let response = self
            .op(&self.admin, "Register", json!({ "input": input }))
            .await;
        response.data()["registerTrustedIssuer"].clone()
    }

    async fn ceiling(&self, organisation: &entity::organisation::Model, scopes: &[&str]) {
        let variables = json!({ "organisationId": org_id(organisation), "scopes": scopes });
        self.op(&self.admin, "Ceiling", variables).await.data();
    }

    /// København trusts the local provider with `projects:read referrals:read`.
    async fn copenhagen_trusts(&self, issuer: &LocalIssuer) -> Value {
        let registered = self
            .register(registration(
                &self.base.copenhagen,
                &issuer.jwks_url(),
                "101",
            ))
            .await;
        self.ceiling(&self.base.copenhagen, &["projects:read", "referrals:read"])
            .await;
        registered
    }

    async fn read(&self, token: &str) -> GqlResponse {
        self.app.graphql(Some(token), ISSUER_READS, json!({})).await
    }

    /// The project names `token` sees.
    async fn projects(&self, token: &str) -> Vec<String> {
        let response = self.read(token).await;
        let data = response.data();
        crate::harness::strings(data, "projects", "name")
    }
}

/// A 401 `UNAUTHENTICATED` whose message contains `reason`.
#[track_caller]
fn refused(response: &GqlResponse, reason: &str) {
    assert_eq!(response.status, 401, "{:#}", response.body);
    let message = response.expect_error("UNAUTHENTICATED");
    assert!(message.contains(reason), "{message:?} lacks {reason:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_and_es256_tokens_read_their_organisations_rows_only() {
    let world = World::new().await;
    let (rsa, ec) = (Key::rsa_1(), Key::ec_1());
    let issuer = LocalIssuer::start(&[&rsa, &ec]).await;
    let registered = world.copenhagen_trusts(&issuer).await;
    assert_eq!(registered["organisation"]["shortName"], "kommune-101");
    assert_eq!(registered["algorithms"], json!(["RS256", "ES256"]));
    assert_eq!(registered["client"]["scopes"], json!([]));
    let client_name = registered["client"]["name"].as_str().expect("a name");
    assert!(client_name.starts_with(ISS), "{client_name}");

    for key in [&rsa, &ec] {
        let token = key.sign(&claims(json!({})));
        assert_eq!(
            world.projects(&token).await,
            ["Bydelsmødre København"],
            "{:?}: København's project, not Randers'",
            key.alg
        );
        assert_eq!(total_count(world.read(&token).await.data(), "referrals"), 0);
    }
    assert_eq!(issuer.fetches(), 1, "one fetch serves both keys");

    // The registration, its client and the ceiling are in the audit trail, by the secretariat.
    let secretariat_client = world.app.issue("secretariat", SECRETARIAT_SCOPES).await;
    let audit = world
        .op(
            &secretariat_client.token,
            "ClientAudit",
            json!({ "clientId": Kind::ApiClient.id(secretariat_client.client_id).to_string() }),
        )
        .await;
    let kinds: Vec<String> = crate::harness::nodes(audit.data(), "auditEvents")
        .iter()
        .map(|n| {
            format!(
                "{} {}",
                n["action"].as_str().unwrap_or(""),
                n["entityType"].as_str().unwrap_or("")
            )
        })
        .collect();
    for expected in [
        "CREATE trusted_issuer",
        "CREATE api_client",
        "CREATE scope_ceiling",
    ] {
        assert!(
            kinds.iter().any(|k| k == expected),
            "{expected} in {kinds:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_pick_one_organisation_of_a_shared_issuer() {
    let world = World::new().await;
    let (rsa, ec) = (Key::rsa_1(), Key::ec_1());
    let issuer = LocalIssuer::start(&[&rsa]).await;
    world.copenhagen_trusts(&issuer).await;
    // Randers trusts the same provider, with its keys given inline.
    let mut randers = registration(&world.base.randers, "", "730");
    randers["jwksUrl"] = Value::Null;
    randers["jwks"] = json!(json!({ "keys": [ec.public.clone()] }).to_string());
    world.register(randers).await;
    world
        .ceiling(&world.base.randers, &["projects:read", "referrals:read"])
        .await;

    let copenhagen = rsa.sign(&claims(json!({})));
    assert_eq!(world.projects(&copenhagen).await, ["Bydelsmødre København"]);
    let randers = ec.sign(&claims(json!({ "municipality": 730 })));
    assert_eq!(world.projects(&randers).await, ["Bydelsmødre Randers"]);
    // Randers' inline keys do not include København's: its token is not Randers'.
    let forged = rsa.sign(&claims(json!({ "municipality": "730" })));
    refused(&world.read(&forged).await, "unknown key id");

    let nobody = rsa.sign(&claims(json!({ "municipality": "999" })));
    refused(&world.read(&nobody).await, "conditions of no organisation");
    let no_claim = rsa.sign(&claims(json!({ "municipality": null })));
    refused(
        &world.read(&no_claim).await,
        "conditions of no organisation",
    );
    let stranger = rsa.sign(&claims(
        json!({ "iss": "https://idp.example/realms/other" }),
    ));
    refused(&world.read(&stranger).await, "no organisation trusts");

    // An NGO trusting the provider without conditions overlaps both: ambiguity is refused.
    let mut ngo = registration(&world.base.ngo, &issuer.jwks_url(), "");
    ngo["conditions"] = json!([]);
    world.register(ngo).await;
    refused(&world.read(&copenhagen).await, "more than one organisation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_are_met_with_the_ceiling() {
    let world = World::new().await;
    let rsa = Key::rsa_1();
    let issuer = LocalIssuer::start(&[&rsa]).await;
    world
        .register(registration(
            &world.base.copenhagen,
            &issuer.jwks_url(),
            "101",
        ))
        .await;
    let token = rsa.sign(&claims(json!({
        "scope": ["projects:read", "referrals:write", "tokens:admin", "audit:read"],
    })));

    // No ceiling yet: nothing is granted.
    let response = world.read(&token).await;
    assert_eq!(response.status, 200, "{:#}", response.body);
    assert!(
        response
            .errors()
            .iter()
            .all(|e| e["extensions"]["code"] == "FORBIDDEN")
    );
    assert!(response.body["data"]["projects"].is_null());

    world
        .ceiling(&world.base.copenhagen, &["projects:read"])
        .await;
    let response = world.read(&token).await;
    assert_eq!(total_count(&response.body["data"], "projects"), 1);
    assert!(
        response.body["data"]["referrals"].is_null(),
        "above the ceiling"
    );
    assert_eq!(response.code(), Some("FORBIDDEN"));
    assert!(
        response.message().contains("referrals:read"),
        "{}",
        response.message()
    );
    // Even within the ceiling a municipality's token never manages tokens.
    let list = world.op(&token, "List", json!({})).await;
    list.expect_error("FORBIDDEN");

    // A ceiling never holds what the organisation's kind cannot use.
    let variables = json!({
        "organisationId": org_id(&world.base.copenhagen),
        "scopes": ["projects:read", "tokens:admin"],
    });
    let response = world.op(&world.admin, "Ceiling", variables).await;
    response.expect_error("BAD_USER_INPUT");
    assert_eq!(response.errors()[0]["extensions"]["field"], "scopes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_failing_a_check_are_unauthenticated() {
    let world = World::new().await;
    let (rsa, ec) = (Key::rsa_1(), Key::ec_1());
    let issuer = LocalIssuer::start(&[&rsa, &ec]).await;
    let mut only_rsa = registration(&world.base.copenhagen, &issuer.jwks_url(), "101");
    only_rsa["algorithms"] = json!(["RS256"]);
    world.register(only_rsa).await;
    world
        .ceiling(&world.base.copenhagen, &["projects:read", "referrals:read"])
        .await;
    assert_eq!(world.projects(&rsa.sign(&claims(json!({})))).await.len(), 1);

    let now = Utc::now().timestamp();
    let hmac = {
        // The public key as an HMAC secret: the classic algorithm confusion.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa-1".into());
        let secret = rsa.public["n"].as_str().expect("n").as_bytes().to_vec();
        jsonwebtoken::encode(
            &header,
            &claims(json!({})),
            &EncodingKey::from_secret(&secret),
        )
        .expect("signs")
    };
    let unsigned = {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"rsa-1"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims(json!({})).to_string());
        format!("{header}.{payload}.")
    };
    let cases = [
        (
            "expired",
            rsa.sign(&claims(json!({ "exp": now - 600 }))),
            "expired",
        ),
        (
            "nbf ahead",
            rsa.sign(&claims(json!({ "nbf": now + 600 }))),
            "not yet valid",
        ),
        (
            "iat ahead",
            rsa.sign(&claims(json!({ "iat": now + 600 }))),
            "issued in the future",
        ),
        (
            "no exp",
            rsa.sign(&claims(json!({ "exp": null }))),
            "exp is missing",
        ),
        (
            "wrong aud",
            rsa.sign(&claims(json!({ "aud": "another-api" }))),
            "wrong audience",
        ),
        (
            "no aud",
            rsa.sign(&claims(json!({ "aud": null }))),
            "aud is missing",
        ),
        (
            "ES256 not allowed",
            ec.sign(&claims(json!({}))),
            "algorithm not accepted",
        ),
        ("HS256", hmac, "algorithm not accepted"),
        ("alg none", unsigned, "malformed"),
        (
            "unknown kid",
            rsa.sign_as("nobody", &claims(json!({}))),
            "unknown key id",
        ),
        (
            "ec key under an rsa kid",
            ec.sign_as("rsa-1", &claims(json!({}))),
            "algorithm not accepted",
        ),
        (
            "rsa key under the ec kid",
            rsa.sign_as("ec-1", &claims(json!({}))),
            "does not fit",
        ),
        (
            "other key, known kid",
            Key::rsa_2().sign_as("rsa-1", &claims(json!({}))),
            "bad signature",
        ),
    ];
    for (case, token, reason) in cases {
        let response = world.read(&token).await;
        assert_eq!(response.status, 401, "{case}: {:#}", response.body);
        let message = response.expect_error("UNAUTHENTICATED");
        assert!(
            message.contains(reason),
            "{case}: {message:?} lacks {reason:?}"
        );
    }
}

/// `exp` and `nbf` are checked with `--token-leeway-seconds` of clock skew: the default 30
/// seconds accepts a token 10 seconds past its `exp` or before its `nbf`, and refuses one 45
/// seconds past; with no leeway, 10 seconds is too late or too early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_leeway_is_configurable() {
    let rsa = Key::rsa_1();
    let issuer = LocalIssuer::start(&[&rsa]).await;
    let now = Utc::now().timestamp();
    let late = rsa.sign(&claims(json!({ "iat": now - 600, "exp": now - 10 })));
    let early = rsa.sign(&claims(json!({ "nbf": now + 10 })));
    let too_late = rsa.sign(&claims(json!({ "iat": now - 600, "exp": now - 45 })));

    let default = World::new().await;
    default.copenhagen_trusts(&issuer).await;
    for token in [&late, &early] {
        assert_eq!(default.projects(token).await, ["Bydelsmødre København"]);
    }
    refused(&default.read(&too_late).await, "expired");

    let strict = World::with(Options {
        token_leeway_seconds: 0,
        ..Options::default()
    })
    .await;
    strict.copenhagen_trusts(&issuer).await;
    refused(&strict.read(&late).await, "expired");
    refused(&strict.read(&early).await, "not yet valid");
}

/// What an external token writes is in the audit trail under the client its issuer's
/// registration made, as for any token: the municipality's system is named, not Bydel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_tokens_writes_are_audited_under_the_issuers_client() {
    let world = World::new().await;
    let rsa = Key::rsa_1();
    let issuer = LocalIssuer::start(&[&rsa]).await;
    let registered = world
        .register(registration(
            &world.base.copenhagen,
            &issuer.jwks_url(),
            "101",
        ))
        .await;
    world
        .ceiling(
            &world.base.copenhagen,
            &["participants:read", "participants:write"],
        )
        .await;
    let token = rsa.sign(&claims(
        json!({ "scope": "participants:read participants:write" }),
    ));
    let response = world
        .app
        .graphql(
            Some(&token),
            crate::queries::REGISTER_PARTICIPANT,
            json!({ "input": { "firstName": "Asha", "municipalityCaseRef": "K-2026-1" } }),
        )
        .await;
    let her = &response.data()["registerParticipant"];
    assert_eq!(
        her["registeredBy"]["id"],
        json!(org_id(&world.base.copenhagen))
    );

    let client = registered["client"]["id"]
        .as_str()
        .expect("the issuer's client");
    let audit = world
        .op(&world.admin, "ClientAudit", json!({ "clientId": client }))
        .await;
    let kinds: Vec<String> = crate::harness::nodes(audit.data(), "auditEvents")
        .iter()
        .map(|n| format!("{} {}", n["action"], n["entityType"]))
        .collect();
    assert!(
        kinds.contains(&r#""CREATE" "participant""#.to_owned()),
        "{kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_in_at_the_issuer_is_fetched_once() {
    let world = World::new().await;
    let (old, new) = (Key::rsa_1(), Key::rsa_2());
    let issuer = LocalIssuer::start(&[&old]).await;
    world.copenhagen_trusts(&issuer).await;
    assert_eq!(world.projects(&old.sign(&claims(json!({})))).await.len(), 1);
    assert_eq!(issuer.fetches(), 1);

    issuer.published.publish(&[&old, &new]);
    for _ in 0..3 {
        assert_eq!(world.projects(&new.sign(&claims(json!({})))).await.len(), 1);
    }
    assert_eq!(issuer.fetches(), 2, "the new kid refreshed the set once");
    assert_eq!(world.projects(&old.sign(&claims(json!({})))).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_key_ids_cause_no_fetch_storm() {
    let world = World::new().await;
    let rsa = Key::rsa_1();
    let issuer = LocalIssuer::start(&[&rsa]).await;
    world.copenhagen_trusts(&issuer).await;
    assert_eq!(world.projects(&rsa.sign(&claims(json!({})))).await.len(), 1);

    let forged: Vec<String> = (0..50)
        .map(|_| rsa.sign_as(&Uuid::new_v4().to_string(), &claims(json!({}))))
        .collect();
    let answers = futures::future::join_all(forged.iter().map(|token| world.read(token))).await;
    for response in &answers {
        refused(response, "unknown key id");
    }
    assert!(
        issuer.fetches() <= 2,
        "{} fetches for 50 forged kids",
        issuer.fetches()
    );
    assert_eq!(world.projects(&rsa.sign(&claims(json!({})))).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_jwks_is_a_clear_401() {
    let world = World::new().await;
    let rsa = Key::rsa_1();
    let failing = LocalIssuer::start(&[&rsa]).await;
    failing.published.failing.store(true, Ordering::SeqCst);
    world.copenhagen_trusts(&failing).await;
    let token = rsa.sign(&claims(json!({})));
    for _ in 0..3 {
        refused(
            &world.read(&token).await,
            "could not be fetched (the JWKS URL answered HTTP 500)",
        );
    }
    assert_eq!(
        failing.fetches(),
        1,
        "a failed fetch is not retried at once"
    );

    // A provider that is not running at all.
    let stopped = LocalIssuer::start(&[&rsa]).await;
    stopped.stop();
    let mut randers = registration(&world.base.randers, &stopped.jwks_url(), "730");
    randers["algorithms"] = json!(["RS256"]);
    world.register(randers).await;
    world.ceiling(&world.base.randers, &["projects:read"]).await;
    let token = rsa.sign(&claims(json!({ "municipality": "730" })));
    refused(
        &world.read(&token).await,
        "keys of the token's issuer could not be fetched",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_issuer_is_refused() {
    let world = World::new().await;
    let rsa = Key::rsa_1();
    let issuer = LocalIssuer::start(&[&rsa]).await;
    let registered = world.copenhagen_trusts(&issuer).await;
    let token = rsa.sign(&claims(json!({})));
    assert_eq!(world.projects(&token).await.len(), 1);

    let revoked = world
        .op(&world.admin, "Revoke", json!({ "id": registered["id"] }))
        .await;
    let revoked = &revoked.data()["revokeTrustedIssuer"];
    assert!(revoked["revokedAt"].is_string());
    assert!(
        revoked["client"]["revokedAt"].is_string(),
        "its client is revoked too"
    );
    refused(&world.read(&token).await, "no organisation trusts");

    let listed = world.op(&world.admin, "List", json!({})).await;
    assert_eq!(listed.data()["trustedIssuers"], json!([]));
    let listed = world
        .op(&world.admin, "List", json!({ "includeRevoked": true }))
        .await;
    assert_eq!(listed.data()["trustedIssuers"][0]["id"], registered["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_secretariat_manages_issuers_and_ceilings() {
    let world = World::new().await;
    let input = registration(&world.base.copenhagen, "https://idp.example/jwks", "101");
    let ceiling =
        json!({ "organisationId": org_id(&world.base.copenhagen), "scopes": ["projects:read"] });
    let municipality = world.app.token("kommune-101", "tokens:admin").await;
    let reader = world
        .app
        .token("secretariat", "projects:read tokens:read")
        .await;
    for token in [&municipality, &reader] {
        let response = world.op(token, "Register", json!({ "input": input })).await;
        response.expect_error("FORBIDDEN");
        world
            .op(token, "Ceiling", ceiling.clone())
            .await
            .expect_error("FORBIDDEN");
    }
    let listed = world.op(&world.admin, "List", json!({})).await;
    assert_eq!(
        listed.data()["trustedIssuers"],
        json!([]),
        "nothing was written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_input_is_checked_field_by_field() {
    let world = World::new().await;
    let good = registration(&world.base.copenhagen, "https://idp.example/jwks", "101");
    let with = |field: &str, value: Value| {
        let mut input = good.clone();
        input[field] = value;
        input
    };
    let secret_only =
        json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0", "kid": "s" }] }).to_string();
    let cases = [
        (
            with("jwksUrl", json!("http://idp.example/jwks")),
            "input.jwksUrl",
        ),
        (with("jwksUrl", json!("not a url")), "input.jwksUrl"),
        (with("jwks", json!(r#"{"keys": []}"#)), "input.jwksUrl"),
        (with("jwksUrl", Value::Null), "input.jwksUrl"),
        (
            with("jwksUrl", Value::Null).tap_set("jwks", json!("{}")),
            "input.jwks",
        ),
        (
            with("jwksUrl", Value::Null).tap_set("jwks", json!(secret_only)),
            "input.jwks",
        ),
        (with("algorithms", json!([])), "input.algorithms"),
        (with("issuer", json!("bydel")), "input.issuer"),
        (with("audience", json!("  ")), "input.audience"),
        (
            with(
                "organisationId",
                json!(Kind::Organisation.id(Uuid::now_v7()).to_string()),
            ),
            "input.organisationId",
        ),
        (
            with("conditions", json!([{ "claim": "", "value": "101" }])),
            "input.conditions[0].claim",
        ),
    ];
    for (input, field) in cases {
        let response = world
            .op(&world.admin, "Register", json!({ "input": input }))
            .await;
        response.expect_error("BAD_USER_INPUT");
        assert_eq!(
            response.errors()[0]["extensions"]["field"],
            field,
            "{:#}",
            response.body
        );
    }
    // HMAC is not even expressible.
    let response = world
        .op(
            &world.admin,
            "Register",
            json!({ "input": with("algorithms", json!(["HS256"])) }),
        )
        .await;
    assert!(!response.errors().is_empty(), "{:#}", response.body);
    assert!(response.has_no_data());
    let listed = world.op(&world.admin, "List", json!({})).await;
    assert_eq!(listed.data()["trustedIssuers"], json!([]));
}

/// `value` with `field` set, for building inputs in a table.
trait TapSet {
    fn tap_set(self, field: &str, value: Value) -> Self;
}

impl TapSet for Value {
    fn tap_set(mut self, field: &str, value: Value) -> Self {
        self[field] = value;
        self
    }
}
