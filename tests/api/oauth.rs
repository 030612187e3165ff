//! OAuth 2.0 for API clients (issue 15 part 2), driven over HTTP as a partner's system does:
//! the secretariat gives a client a secret or registers its public key over GraphQL; the
//! client gets short-lived tokens at `POST /oauth/token` (client_secret_basic,
//! client_secret_post, private_key_jwt), uses them on `/graphql`, introspects and revokes
//! them. Client assertions are signed in the test with the fixed keys of
//! `fixtures/issuer/*.pem` (RSA key generation in a debug build takes seconds).
//!
//! What holds: tokens work on `/graphql` with exactly the scopes granted and are audited;
//! every refusal is RFC 6749 §5.2 JSON with its code (bad secret, unknown, revoked client or
//! credential, scope beyond the client's, unsupported grant type, malformed requests,
//! replayed, expired, misaddressed or foreign-signed assertions); a client sees and revokes
//! its own tokens only; the rate limit counts failures too.

use bydel::ids::Kind;
use chrono::Utc;
use entity::{audit_event, enums::AuditAction};
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use reqwest::header::{self, HeaderMap};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    harness::{Options, TestApp},
    queries,
    tokens::{new_client, string},
};

const ADMIN: &str = "tokens:admin tokens:read audit:read";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An answer of an OAuth endpoint.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Checks an RFC 6749 §5.2 error and returns its description.
    #[track_caller]
    fn error(&self, status: u16, code: &str) -> &str {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_eq!(self.body["error"], code, "{:#}", self.body);
        assert_eq!(self.header(header::CACHE_CONTROL), Some("no-store"));
        self.body["error_description"]
            .as_str()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| panic!("no error_description: {:#}", self.body))
    }

    #[track_caller]
    fn access_token(&self) -> String {
        assert_eq!(self.status, 200, "{:#}", self.body);
        string(&self.body["access_token"])
    }
}

/// How a request authenticates.
enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Bearer(&'a str),
}

async fn post(app: &TestApp, path: &str, auth: Auth<'_>, form: &[(&str, &str)]) -> Answer {
    let mut request = app.client().post(app.url(path)).form(form);
    request = match auth {
        Auth::None => request,
        Auth::Basic(id, secret) => request.basic_auth(id, Some(secret)),
        Auth::Bearer(token) => request.bearer_auth(token),
    };
    read(request.send().await.expect("the server answers")).await
}

async fn read(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("HTTP {status}: not JSON ({e}): {text}"))
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// `POST /oauth/{endpoint}` (`introspect` or `revoke`) about `token`.
async fn about(app: &TestApp, endpoint: &str, auth: Auth<'_>, token: &str) -> Answer {
    post(
        app,
        &format!("/oauth/{endpoint}"),
        auth,
        &[("token", token)],
    )
    .await
}

/// `grant_type=client_credentials` with `extra`, by Basic credentials.
async fn token_basic(app: &TestApp, client: &str, secret: &str, extra: &[(&str, &str)]) -> Answer {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    post(app, "/oauth/token", Auth::Basic(client, secret), &form).await
}

/// A token request authenticated by a client assertion.
async fn token_by_assertion(app: &TestApp, assertion: &str, extra: &[(&str, &str)]) -> Answer {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    form.extend_from_slice(extra);
    post(app, "/oauth/token", Auth::None, &form).await
}

/// A server with København's caseworker system as a client (projects and referrals, read)
/// holding one secret, and the secretariat's admin token.
struct Setup {
    app: TestApp,
    admin: String,
    client: String,
    secret: String,
    secret_id: String,
}

impl Setup {
    async fn new() -> Setup {
        Self::with(Options::default()).await
    }

    async fn with(options: Options) -> Setup {
        let app = TestApp::spawn_with(options).await;
        let base = app.fixtures().base().await;
        let admin = app.token("secretariat", ADMIN).await;
        let organisation = Kind::Organisation.id(base.copenhagen.id).0;
        let client = new_client(
            &app,
            &admin,
            &organisation,
            "caseworker-system",
            &["projects:read", "referrals:read"],
        )
        .await;
        let (secret, secret_id) = create_secret(&app, &admin, &client).await;
        Setup {
            app,
            admin,
            client,
            secret,
            secret_id,
        }
    }

    async fn token(&self, extra: &[(&str, &str)]) -> Answer {
        token_basic(&self.app, &self.client, &self.secret, extra).await
    }

    async fn graphql(&self, query: &str, variables: Value) -> Value {
        let response = self.app.graphql(Some(&self.admin), query, variables).await;
        response.data().clone()
    }

    async fn register_key(&self, key: &Key) -> Value {
        let input = json!({ "clientId": self.client, "publicJwk": key.public.to_string() });
        let data = self
            .graphql(queries::REGISTER_CLIENT_KEY, json!({ "input": input }))
            .await;
        data["registerClientKey"].clone()
    }

    async fn revoke_credential(&self, id: &str) {
        let data = self
            .graphql(
                queries::REVOKE_CLIENT_CREDENTIAL,
                json!({ "input": { "id": id } }),
            )
            .await;
        assert!(data["revokeClientCredential"]["revokedAt"].is_string());
    }

    /// Claims of a good assertion of this client for the token endpoint, `changes` merged in
    /// (`null` removes a claim).
    fn assertion_claims(&self, changes: Value) -> Value {
        let now = Utc::now().timestamp();
        let mut claims = json!({
            "iss": self.client,
            "sub": self.client,
            "aud": self.app.url("/oauth/token"),
            "iat": now,
            "exp": now + 60,
            "jti": Uuid::new_v4().to_string(),
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
}

/// Creates a secret for `client`: its text and the credential's id.
async fn create_secret(app: &TestApp, admin: &str, client: &str) -> (String, String) {
    let response = app
        .graphql(
            Some(admin),
            queries::CREATE_CLIENT_SECRET,
            json!({ "input": { "clientId": client } }),
        )
        .await;
    let created = &response.data()["createClientSecret"];
    assert_eq!(created["credential"]["kind"], "SECRET");
    assert_eq!(created["credential"]["client"]["id"], client);
    let secret = string(&created["secret"]);
    assert!(secret.starts_with("bydel_cs_"), "{secret}");
    (secret, string(&created["credential"]["id"]))
}

/// A private key of the client and its public JWK.
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

    fn ec() -> Key {
        Key::new(
            include_str!("fixtures/issuer/ec-1.pem"),
            Algorithm::ES256,
            "ec-1",
        )
    }

    fn rsa() -> Key {
        Key::new(
            include_str!("fixtures/issuer/rsa-1.pem"),
            Algorithm::RS256,
            "rsa-1",
        )
    }

    /// A key never registered.
    fn stranger() -> Key {
        Key::new(
            include_str!("fixtures/issuer/rsa-2.pem"),
            Algorithm::RS256,
            "rsa-2",
        )
    }

    fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("claims sign")
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }
}

/// Token-issue audit events that name `client` (a global id) as the actor.
async fn issues_by(app: &TestApp, client: &str) -> usize {
    let (_, uuid) = bydel::ids::decode(client, "client").expect("a client id");
    audit_event::Entity::find()
        .filter(audit_event::Column::ClientId.eq(uuid))
        .filter(audit_event::Column::EntityType.eq("api_token"))
        .filter(audit_event::Column::Action.eq(AuditAction::Create))
        .all(&app.db)
        .await
        .expect("audit events read")
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_gets_an_audited_short_lived_token_that_reads_graphql() {
    let setup = Setup::new().await;
    let answer = setup.token(&[]).await;
    let token = answer.access_token();
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 900, "15 minutes by default");
    assert_eq!(answer.body["scope"], "projects:read referrals:read");
    assert_eq!(answer.header(header::CACHE_CONTROL), Some("no-store"));
    assert_eq!(answer.header(header::PRAGMA), Some("no-cache"));

    let read = setup
        .app
        .graphql(Some(&token), queries::PROJECTS_AND_REFERRALS, json!({}))
        .await;
    assert!(read.data()["projects"]["totalCount"].is_number());
    assert!(read.data()["referrals"]["totalCount"].is_number());
    assert_eq!(issues_by(&setup.app, &setup.client).await, 1);

    // client_secret_post works as well, and is audited too.
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", setup.client.as_str()),
        ("client_secret", setup.secret.as_str()),
    ];
    let posted = post(&setup.app, "/oauth/token", Auth::None, &form).await;
    posted.access_token();
    assert_eq!(issues_by(&setup.app, &setup.client).await, 2);

    // The credential is listed; neither the secret nor any hash ever leaves.
    let listed = setup
        .app
        .graphql(
            Some(&setup.admin),
            queries::CLIENT_CREDENTIALS,
            json!({ "id": setup.client }),
        )
        .await;
    let credentials = &listed.data()["apiClient"]["credentials"];
    assert_eq!(credentials[0]["id"], setup.secret_id.as_str());
    assert_eq!(credentials[0]["kind"], "SECRET");
    assert!(credentials[0]["keyId"].is_null());
    let text = listed.body.to_string();
    assert!(
        !text.contains(&setup.secret) && !text.contains("argon2"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrowed_scope_is_all_the_token_may_do() {
    let setup = Setup::new().await;
    let answer = setup.token(&[("scope", "projects:read")]).await;
    assert_eq!(answer.body["scope"], "projects:read");
    let token = answer.access_token();
    let read = setup
        .app
        .graphql(Some(&token), queries::PROJECTS_AND_REFERRALS, json!({}))
        .await;
    assert!(read.body["data"]["projects"]["totalCount"].is_number());
    assert!(read.body["data"]["referrals"].is_null());
    let message = read.expect_error("FORBIDDEN");
    assert!(message.contains("referrals:read"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_and_bad_secrets_are_refused_with_their_codes() {
    let setup = Setup::new().await;
    let (app, client, secret) = (&setup.app, setup.client.as_str(), setup.secret.as_str());

    let wrong = token_basic(app, client, "bydel_cs_not-the-secret", &[]).await;
    wrong.error(401, "invalid_client");
    assert_eq!(
        wrong.header(header::WWW_AUTHENTICATE),
        Some("Basic realm=\"bydel\"")
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client),
        ("client_secret", "wrong"),
    ];
    post(app, "/oauth/token", Auth::None, &form)
        .await
        .error(401, "invalid_client");
    let unknown = Kind::ApiClient.id(Uuid::now_v7()).0;
    token_basic(app, &unknown, secret, &[])
        .await
        .error(401, "invalid_client");
    let none = post(
        app,
        "/oauth/token",
        Auth::None,
        &[("grant_type", "client_credentials")],
    );
    none.await.error(401, "invalid_client");

    let both = [
        ("grant_type", "client_credentials"),
        ("client_id", client),
        ("client_secret", secret),
    ];
    let twice = post(app, "/oauth/token", Auth::Basic(client, secret), &both).await;
    let why = twice.error(400, "invalid_request");
    assert!(why.contains("one client authentication method"), "{why}");
    let repeated = token_basic(app, client, secret, &[("grant_type", "client_credentials")]);
    repeated.await.error(400, "invalid_request");
    post(app, "/oauth/token", Auth::Basic(client, secret), &[])
        .await
        .error(400, "invalid_request");
    let json_body = app
        .client()
        .post(app.url("/oauth/token"))
        .basic_auth(client, Some(secret))
        .json(&json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .expect("the server answers");
    read(json_body).await.error(400, "invalid_request");

    let code = post(
        app,
        "/oauth/token",
        Auth::Basic(client, secret),
        &[("grant_type", "authorization_code"), ("code", "x")],
    );
    code.await.error(400, "unsupported_grant_type");

    let beyond = setup.token(&[("scope", "projects:read stats:read")]).await;
    let why = beyond.error(400, "invalid_scope");
    assert!(why.contains("exceed"), "{why}");
    setup
        .token(&[("scope", "projects:delete")])
        .await
        .error(400, "invalid_scope");
    assert_eq!(issues_by(app, client).await, 0, "no refusal issued a token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_credential_or_client_authenticates_nothing() {
    let setup = Setup::new().await;
    let (second, _) = create_secret(&setup.app, &setup.admin, &setup.client).await;
    setup.revoke_credential(&setup.secret_id).await;
    setup.token(&[]).await.error(401, "invalid_client");
    let fresh = token_basic(&setup.app, &setup.client, &second, &[]).await;
    let token = fresh.access_token();

    let revoked = setup
        .app
        .graphql(
            Some(&setup.admin),
            queries::REVOKE_API_CLIENT,
            json!({ "id": setup.client }),
        )
        .await;
    assert!(revoked.data()["revokeApiClient"]["revokedAt"].is_string());
    let refused = token_basic(&setup.app, &setup.client, &second, &[]).await;
    let why = refused.error(401, "invalid_client");
    assert!(why.contains("revoked"), "{why}");
    let read = setup
        .app
        .graphql(Some(&token), queries::PROJECTS_AND_REFERRALS, json!({}))
        .await;
    assert_eq!(read.status, 401, "the client's tokens die with it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_jwt_accepts_each_assertion_once_and_only_when_it_is_right() {
    let setup = Setup::new().await;
    let ec = Key::ec();
    let registered = setup.register_key(&ec).await;
    assert_eq!(registered["kind"], "PUBLIC_KEY");
    assert_eq!(registered["keyId"], "ec-1");
    assert_eq!(registered["algorithm"], "ES256");
    let rsa = Key::rsa();
    let rsa_credential = string(&setup.register_key(&rsa).await["id"]);

    let assertion = ec.sign(&setup.assertion_claims(json!({})));
    let answer = token_by_assertion(&setup.app, &assertion, &[("scope", "referrals:read")]).await;
    let token = answer.access_token();
    assert_eq!(answer.body["scope"], "referrals:read");
    let read = setup
        .app
        .graphql(Some(&token), queries::PROJECTS_AND_REFERRALS, json!({}))
        .await;
    assert!(read.body["data"]["referrals"]["totalCount"].is_number());
    assert_eq!(
        read.code(),
        Some("FORBIDDEN"),
        "projects:read was not asked"
    );

    let replay = token_by_assertion(&setup.app, &assertion, &[]).await;
    let why = replay.error(401, "invalid_client");
    assert!(why.contains("jti"), "{why}");
    assert!(
        replay.header(header::WWW_AUTHENTICATE).is_none(),
        "no Basic challenge without Basic"
    );

    let now = Utc::now().timestamp();
    let refusals = [
        (
            ec.sign(&setup.assertion_claims(json!({ "exp": now - 600, "iat": now - 900 }))),
            "expired",
        ),
        (
            ec.sign(&setup.assertion_claims(json!({ "aud": "https://elsewhere.example/token" }))),
            "audience",
        ),
        (
            ec.sign(&setup.assertion_claims(json!({ "exp": now + 3600 }))),
            "minutes ahead",
        ),
        (
            ec.sign(&setup.assertion_claims(json!({ "jti": null }))),
            "jti",
        ),
        (
            Key::stranger().sign(&setup.assertion_claims(json!({}))),
            "no live key",
        ),
        (
            Key::stranger().sign_as("rsa-1", &setup.assertion_claims(json!({}))),
            "signature",
        ),
    ];
    for (assertion, reason) in refusals {
        let why = token_by_assertion(&setup.app, &assertion, &[])
            .await
            .error(401, "invalid_client")
            .to_owned();
        assert!(why.contains(reason), "{reason}: {why}");
    }

    // Addressed to the issuer itself, signed by the other key: accepted.
    let to_issuer = json!({ "aud": setup.app.url("") });
    let by_rsa = rsa.sign(&setup.assertion_claims(to_issuer));
    token_by_assertion(&setup.app, &by_rsa, &[])
        .await
        .access_token();
    // A revoked key signs nothing any more.
    setup.revoke_credential(&rsa_credential).await;
    let after = rsa.sign(&setup.assertion_claims(json!({})));
    let why = token_by_assertion(&setup.app, &after, &[])
        .await
        .error(401, "invalid_client")
        .to_owned();
    assert!(why.contains("no live key"), "{why}");
    // The assertion's client and a client_id beside it must agree.
    let other = Kind::ApiClient.id(Uuid::now_v7()).0;
    let fresh = ec.sign(&setup.assertion_claims(json!({})));
    token_by_assertion(&setup.app, &fresh, &[("client_id", &other)])
        .await
        .error(401, "invalid_client");
    assert_eq!(issues_by(&setup.app, &setup.client).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_public_keys_are_registered_and_only_by_the_secretariat() {
    let setup = Setup::new().await;
    let mut private = Key::ec().public;
    private["d"] = json!("870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE");
    let input = json!({ "clientId": setup.client, "publicJwk": private.to_string() });
    let refused = setup
        .app
        .graphql(
            Some(&setup.admin),
            queries::REGISTER_CLIENT_KEY,
            json!({ "input": input }),
        )
        .await;
    let message = refused.expect_error("BAD_USER_INPUT");
    assert!(message.contains("private key material"), "{message}");

    let ngo_admin = setup.app.token("ngo-red-cross", "tokens:admin").await;
    let input = json!({ "clientId": setup.client });
    let forbidden = setup
        .app
        .graphql(
            Some(&ngo_admin),
            queries::CREATE_CLIENT_SECRET,
            json!({ "input": input }),
        )
        .await;
    forbidden.expect_error("FORBIDDEN");

    setup.register_key(&Key::ec()).await;
    let input = json!({ "clientId": setup.client, "publicJwk": Key::ec().public.to_string() });
    let twice = setup
        .app
        .graphql(
            Some(&setup.admin),
            queries::REGISTER_CLIENT_KEY,
            json!({ "input": input }),
        )
        .await;
    twice.expect_error("CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_and_revocation_answer_a_client_about_its_own_tokens_only() {
    let setup = Setup::new().await;
    let app = &setup.app;
    let token = setup.token(&[]).await.access_token();
    let me = Auth::Basic(&setup.client, &setup.secret);

    let own = about(app, "introspect", me, &token).await;
    assert_eq!(own.status, 200, "{:#}", own.body);
    assert_eq!(own.body["active"], true);
    assert_eq!(own.body["client_id"], setup.client.as_str());
    assert_eq!(own.body["scope"], "projects:read referrals:read");
    assert_eq!(own.body["token_type"], "Bearer");
    assert_eq!(own.body["iss"], "bydel");
    assert!(own.body["exp"].as_i64().expect("exp") > own.body["iat"].as_i64().expect("iat"));
    assert!(own.body["sub"].is_string());

    // Another client of the same organisation learns nothing, and cannot revoke it.
    let organisation = setup
        .graphql(queries::API_CLIENT, json!({ "id": setup.client }))
        .await;
    assert_eq!(
        organisation["apiClient"]["organisation"]["shortName"],
        "kommune-101"
    );
    let base = bydel::organisations::find_by_reference(&app.db, "kommune-101")
        .await
        .expect("København");
    let other = new_client(
        app,
        &setup.admin,
        &Kind::Organisation.id(base.id).0,
        "dashboard",
        &["projects:read"],
    )
    .await;
    let (other_secret, _) = create_secret(app, &setup.admin, &other).await;
    let them = || Auth::Basic(&other, &other_secret);
    let foreign = about(app, "introspect", them(), &token).await;
    assert_eq!(foreign.body, json!({ "active": false }));
    let revoked = about(app, "revoke", them(), &token).await;
    assert_eq!(revoked.status, 200);
    let still = about(app, "introspect", Auth::Bearer(&setup.admin), &token);
    assert_eq!(
        still.await.body["active"],
        true,
        "the secretariat sees every token"
    );

    // Unknown tokens are inactive, not errors; a caller without a credential is refused.
    let junk = about(
        app,
        "introspect",
        Auth::Basic(&setup.client, &setup.secret),
        "not-a-token",
    );
    assert_eq!(junk.await.body, json!({ "active": false }));
    about(app, "introspect", Auth::None, &token)
        .await
        .error(401, "invalid_client");
    let ngo = app.token("ngo-red-cross", "tokens:read").await;
    about(app, "introspect", Auth::Bearer(&ngo), &token)
        .await
        .error(403, "insufficient_scope");

    // The client revokes its own token: inactive, and refused on /graphql at once.
    let mine = Auth::Basic(&setup.client, &setup.secret);
    let done = about(app, "revoke", mine, &token).await;
    assert_eq!(done.status, 200, "{:#}", done.body);
    let gone = about(app, "introspect", Auth::Bearer(&setup.admin), &token);
    assert_eq!(gone.await.body, json!({ "active": false }));
    let read = app
        .graphql(Some(&token), queries::PROJECTS_AND_REFERRALS, json!({}))
        .await;
    assert_eq!(read.status, 401);

    // The secretariat revokes a client's token with its bearer token.
    let second = setup.token(&[]).await.access_token();
    let by_admin = about(app, "revoke", Auth::Bearer(&setup.admin), &second);
    assert_eq!(by_admin.await.status, 200);
    let after = about(
        app,
        "introspect",
        Auth::Basic(&setup.client, &setup.secret),
        &second,
    );
    assert_eq!(after.await.body["active"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metadata_document_names_the_endpoints_and_methods() {
    let app = TestApp::spawn().await;
    let response = app
        .client()
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .expect("the server answers");
    let answer = read(response).await;
    assert_eq!(answer.status, 200);
    let document = &answer.body;
    assert_eq!(document["issuer"], app.url(""));
    assert_eq!(document["token_endpoint"], app.url("/oauth/token"));
    assert_eq!(document["revocation_endpoint"], app.url("/oauth/revoke"));
    assert_eq!(
        document["introspection_endpoint"],
        app.url("/oauth/introspect")
    );
    assert_eq!(
        document["grant_types_supported"],
        json!(["client_credentials"])
    );
    assert_eq!(
        document["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert_eq!(
        document["token_endpoint_auth_signing_alg_values_supported"],
        json!(["RS256", "ES256", "EdDSA"])
    );
    let scopes = document["scopes_supported"].as_array().expect("scopes");
    assert!(scopes.contains(&json!("referrals:read")), "{scopes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_has_its_own_rate_and_failures_spend_it() {
    let setup = Setup::with(Options {
        oauth_rate_limit: 3,
        ..Options::default()
    })
    .await;
    for _ in 0..3 {
        token_basic(&setup.app, &setup.client, "bydel_cs_wrong", &[])
            .await
            .error(401, "invalid_client");
    }
    let limited = setup.token(&[]).await;
    limited.error(429, "rate_limited");
    let retry: u64 = limited
        .header(header::RETRY_AFTER)
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=20).contains(&retry), "{retry}");

    // Another client is not held up by this one.
    let base = bydel::organisations::find_by_reference(&setup.app.db, "kommune-101")
        .await
        .expect("København");
    let other = new_client(
        &setup.app,
        &setup.admin,
        &Kind::Organisation.id(base.id).0,
        "dashboard",
        &["projects:read"],
    )
    .await;
    let (secret, _) = create_secret(&setup.app, &setup.admin, &other).await;
    token_basic(&setup.app, &other, &secret, &[])
        .await
        .access_token();
}
