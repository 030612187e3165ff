//! Authentication: every way of presenting a bad credential is `401 UNAUTHENTICATED` with no
//! data; a valid token reads; scopes decide which fields it may read (`FORBIDDEN` naming what
//! is missing) and its organisation which rows (the full matrix is in `access.rs`).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use bydel::auth::{Claims, TokenKeys};
use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};

use crate::{
    harness::{ALL_READ, AUDIENCE, GqlResponse, ISSUER, TestApp, claims_of, total_count},
    queries,
};

/// Checks the shape of a refusal: 401, `UNAUTHENTICATED`, a challenge, no data.
fn refusal_problems(response: &GqlResponse) -> Vec<String> {
    let mut problems = Vec::new();
    if response.status != 401 {
        problems.push(format!("HTTP {} instead of 401", response.status));
    }
    if response.code() != Some("UNAUTHENTICATED") {
        problems.push(format!(
            "code {:?} instead of UNAUTHENTICATED",
            response.code()
        ));
    }
    if response.message().is_empty() {
        problems.push("no error message".into());
    }
    if !response.headers.contains_key(WWW_AUTHENTICATE) {
        problems.push("no WWW-Authenticate header".into());
    }
    if !response.has_no_data() {
        problems.push("the body carries data".into());
    }
    problems
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("JSON encodes"))
}

/// A token with the claims of `valid` but its payload changed after signing.
fn tampered(valid: &str) -> String {
    let parts: Vec<&str> = valid.split('.').collect();
    let mut claims = serde_json::to_value(claims_of(valid)).expect("claims encode");
    claims["scope"] = json!("referrals:admin tokens:admin audit:admin");
    format!("{}.{}.{}", parts[0], encode_part(&claims), parts[2])
}

/// `alg: none`: a header and payload with an empty signature.
fn unsigned(claims: &Claims) -> String {
    let header = json!({ "alg": "none", "typ": "JWT" });
    let payload = serde_json::to_value(claims).expect("claims encode");
    format!("{}.{}.", encode_part(&header), encode_part(&payload))
}

/// HS256 with a shared secret (here the text of a PEM, the classic key-confusion attempt).
fn hmac_signed(claims: &Claims, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("HS256 signs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_credential_is_401_with_no_data() {
    let app = TestApp::spawn().await;
    let valid = app.token("secretariat", ALL_READ).await;
    let claims = claims_of(&valid);
    let now = Utc::now();

    let other_pem = bydel::auth::keys::generate_pem().expect("a key generates");
    let other_keys = TokenKeys::from_pem(&other_pem, ISSUER, AUDIENCE).expect("the key loads");

    let expired = Claims {
        iat: (now - Duration::minutes(70)).timestamp(),
        nbf: (now - Duration::minutes(70)).timestamp(),
        exp: (now - Duration::minutes(10)).timestamp(),
        ..claims.clone()
    };
    let not_yet_valid = Claims {
        nbf: (now + Duration::minutes(10)).timestamp(),
        ..claims.clone()
    };
    let wrong_issuer = Claims {
        iss: "someone-else".into(),
        ..claims.clone()
    };
    let wrong_audience = Claims {
        aud: "another-api".into(),
        ..claims.clone()
    };
    let unknown_jti = Claims {
        jti: uuid::Uuid::now_v7().to_string(),
        ..claims.clone()
    };
    let revoked = app.issue("secretariat", ALL_READ).await;
    bydel::tokens::revoke(&app.db, &app.tokens, revoked.jti)
        .await
        .expect("an issued token can be revoked");

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("Basic credentials", Some("Basic xyz".into())),
        ("Bearer with no token", Some("Bearer ".into())),
        ("Bearer garbage", Some("Bearer garbage".into())),
        (
            "signed by another deployment's key",
            Some(format!(
                "Bearer {}",
                other_keys.sign(&claims).expect("signs")
            )),
        ),
        (
            "payload changed after signing",
            Some(format!("Bearer {}", tampered(&valid))),
        ),
        (
            "expired 10 minutes ago",
            Some(format!("Bearer {}", app.sign(&expired))),
        ),
        (
            "not valid for another 10 minutes",
            Some(format!("Bearer {}", app.sign(&not_yet_valid))),
        ),
        (
            "wrong issuer",
            Some(format!("Bearer {}", app.sign(&wrong_issuer))),
        ),
        (
            "wrong audience",
            Some(format!("Bearer {}", app.sign(&wrong_audience))),
        ),
        (
            "jti that was never issued",
            Some(format!("Bearer {}", app.sign(&unknown_jti))),
        ),
        ("revoked token", Some(format!("Bearer {}", revoked.token))),
        ("alg none", Some(format!("Bearer {}", unsigned(&claims)))),
        (
            "HS256 with a shared secret",
            Some(format!(
                "Bearer {}",
                hmac_signed(&claims, other_pem.as_bytes())
            )),
        ),
    ];

    // Key confusion: HS256 keyed with our own published public key and naming our kid.
    let jwks: serde_json::Value = reqwest::get(app.url("/.well-known/jwks.json"))
        .await
        .expect("the JWKS answers")
        .json()
        .await
        .expect("the JWKS is JSON");
    let public = &jwks["keys"][0];
    let kid = public["kid"].as_str().expect("a kid").to_owned();
    let x = public["x"].as_str().expect("an Ed25519 x").to_owned();
    let x_bytes = URL_SAFE_NO_PAD.decode(&x).expect("x is base64url");
    let mut confused = Vec::new();
    for (what, secret) in [("raw bytes", x_bytes), ("base64url text", x.into_bytes())] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret))
            .expect("HS256 signs");
        confused.push((format!("HS256 keyed with our public key ({what})"), token));
    }
    let mut cases: Vec<(String, Option<String>)> = cases
        .into_iter()
        .map(|(case, authorization)| (case.to_string(), authorization))
        .collect();
    cases.extend(
        confused
            .into_iter()
            .map(|(case, token)| (case, Some(format!("Bearer {token}")))),
    );

    let mut failures = Vec::new();
    for (case, authorization) in &cases {
        let response = app
            .graphql_with_authorization(authorization.as_deref(), queries::PROJECT_NAMES, json!({}))
            .await;
        let problems = refusal_problems(&response);
        if !problems.is_empty() {
            failures.push(format!(
                "{case}: {} — {}",
                problems.join(", "),
                response.body
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "bad credentials that were not refused properly:\n{}",
        failures.join("\n")
    );

    // The crafted tokens above differ from a good one only in what each case names.
    let resigned = app.sign(&claims);
    let response = app
        .graphql(Some(&resigned), queries::PROJECT_NAMES, json!({}))
        .await;
    assert_eq!(total_count(response.data(), "projects"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_requests_need_a_token_too() {
    let app = TestApp::spawn().await;
    let query = "{ organisations { totalCount } }";

    let refused = app.graphql_get(None, query).await;
    let problems = refusal_problems(&refused);
    assert!(problems.is_empty(), "GET without a token: {problems:?}");

    let token = app.token("secretariat", "projects:read").await;
    let response = app.graphql_get(Some(&token), query).await;
    assert_eq!(total_count(response.data(), "organisations"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_secretariat_token_reads_data() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let token = app.token("secretariat", "projects:read").await;

    let response = app
        .graphql(Some(&token), queries::PROJECT_NAMES, json!({}))
        .await;

    let data = response.data();
    assert_eq!(total_count(data, "projects"), 1);
    assert_eq!(data["projects"]["edges"][0]["node"]["name"], "Nørrebro");
}

/// Issue 3: every organisation reads, each only its own rows (the full matrix is in
/// `access.rs`). A municipality sees the projects in its municipality, an NGO the projects it
/// operates; nothing else, not even a name, and no error for what it does not see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn municipality_and_ngo_tokens_read_their_own_rows() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    fx.project("Hemmeligt Nørrebro", 101, &base.ngo, |_| {})
        .await;
    fx.project("Hemmeligt Randers", 730, &base.randers, |_| {})
        .await;

    for (organisation, own, hidden) in [
        ("kommune-101", "Hemmeligt Nørrebro", "Hemmeligt Randers"),
        ("ngo-red-cross", "Hemmeligt Nørrebro", "Hemmeligt Randers"),
        ("kommune-730", "Hemmeligt Randers", "Hemmeligt Nørrebro"),
    ] {
        let token = app.token(organisation, "projects:read").await;
        let response = app
            .graphql(Some(&token), queries::PROJECT_NAMES, json!({}))
            .await;

        let data = response.data();
        assert_eq!(total_count(data, "projects"), 1, "{organisation}: {data}");
        assert_eq!(
            data["projects"]["edges"][0]["node"]["name"], own,
            "{organisation}"
        );
        assert!(
            !response.body.to_string().contains(hidden),
            "{organisation} learned another project's name: {}",
            response.body
        );
    }

    let token = app.token("secretariat", "projects:read").await;
    let response = app
        .graphql(Some(&token), queries::PROJECT_NAMES, json!({}))
        .await;
    assert_eq!(total_count(response.data(), "projects"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_scope_is_named_and_the_rest_of_the_request_still_answers() {
    let app = TestApp::spawn().await;
    let fx = app.fixtures();
    let base = fx.base().await;
    fx.project("Nørrebro", 101, &base.ngo, |_| {}).await;
    let token = app.token("secretariat", "projects:read").await;

    let response = app
        .graphql(Some(&token), queries::PROJECTS_AND_REFERRALS, json!({}))
        .await;

    assert_eq!(response.status, 200, "{}", response.body);
    let message = response.expect_error("FORBIDDEN");
    assert!(
        message.contains("referrals:read"),
        "the message should name the missing scope: {message}"
    );
    assert_eq!(response.errors().len(), 1, "{}", response.body);
    assert_eq!(response.errors()[0]["path"], json!(["referrals"]));
    let data = &response.body["data"];
    // A spec-conformant partial response: the failed field is present and null, which a
    // non-null field type cannot be (the null would have to spread to all of `data`).
    assert_eq!(
        data.get("referrals"),
        Some(&Value::Null),
        "referrals should be present and null: {data}"
    );
    assert_eq!(
        data["projects"]["totalCount"], 1,
        "projects should still answer in the same request (partial response): {}",
        response.body
    );
    assert_eq!(data["projects"]["edges"][0]["node"]["name"], "Nørrebro");
}
