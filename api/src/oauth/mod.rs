//! OAuth 2.0 for API clients (issue 15): the client credentials grant at `POST /oauth/token`,
//! revocation (RFC 7009), introspection (RFC 7662) and the discovery document (RFC 8414)
//! ([`endpoint`]); the credentials a client authenticates with ([`graphql`] manages them);
//! and the checks of those credentials ([`client_auth`]).
//!
//! Invariants: a secret exists in clear once, in the answer that creates it; only its
//! Argon2id hash is stored. A registered key is a public JWK of a type that fixes its
//! algorithm (RS256, ES256, EdDSA), never private material. Credentials are revoked, never
//! changed; every change writes its audit event in the caller's transaction, under the same
//! [`Manager`] (the secretariat with `tokens:admin`) as every token change. Tokens obtained
//! here are ordinary Bydel tokens, issued by `tokens::issue_to_client` and verified like any.

pub mod client_auth;
pub mod endpoint;
pub mod error;
mod form;
mod graphql;

pub use endpoint::{OAuth, OAuthSettings};
pub use graphql::{ClientCredential, OAuthMutation};

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use entity::{api_client, client_credential, enums::AuditAction, enums::CredentialKind};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::{
    audit::Event,
    auth::issuers::IssuerAlgorithm,
    error::{ApiError, ApiResult},
    tokens::{self, Manager},
};

/// What every client secret starts with, so a leaked one is recognisable (secret scanners)
/// and a token or a password pasted by mistake is refused before any hashing.
pub const SECRET_PREFIX: &str = "bydel_cs_";

/// Random bytes in a secret (256 bits), base64url-encoded after the prefix.
const SECRET_BYTES: usize = 32;

/// Live (unrevoked) credentials a client may hold at once: enough to rotate both kinds
/// without downtime, few enough that checking a secret against each stays cheap.
pub const MAX_LIVE_CREDENTIALS: u64 = 5;

/// The largest public JWK accepted (an RSA-4096 key is under 1 KiB).
const MAX_JWK_BYTES: usize = 8 * 1024;

/// The longest key id kept (`client_credential.kid`).
const MAX_KID_CHARS: usize = 128;

/// JWK members that carry private key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The `entity_type` of audit events about credentials (their table's name).
const CREDENTIAL_ENTITY: &str = "client_credential";

/// A secret just created: the only moment its text exists.
pub struct CreatedSecret {
    pub secret: String,
    pub credential: client_credential::Model,
}

/// A registered key, parsed from its stored JWK, with the algorithm its type fixes.
#[derive(Debug, Clone)]
pub struct RegisteredKey {
    pub credential_id: Uuid,
    pub kid: String,
    pub jwk: Jwk,
    pub algorithm: IssuerAlgorithm,
}

/// A fresh random secret with its prefix.
fn new_secret() -> ApiResult<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// The Argon2id PHC string of `secret` (default parameters: 19 MiB, 2 passes), computed off
/// the async workers: it takes tens of milliseconds by design.
async fn hash_secret(secret: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(ApiError::internal)?;
        let salt = SaltString::encode_b64(&salt).map_err(ApiError::internal)?;
        Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Whether `secret` matches one of the stored `hashes`, checked off the async workers. A
/// secret without [`SECRET_PREFIX`] matches nothing and costs no hashing.
pub async fn secret_matches(secret: String, hashes: Vec<String>) -> ApiResult<bool> {
    if !secret.starts_with(SECRET_PREFIX) || hashes.is_empty() {
        return Ok(false);
    }
    tokio::task::spawn_blocking(move || {
        hashes.iter().any(|stored| {
            PasswordHash::new(stored).is_ok_and(|hash| {
                Argon2::default()
                    .verify_password(secret.as_bytes(), &hash)
                    .is_ok()
            })
        })
    })
    .await
    .map_err(ApiError::internal)
}

/// A public JWK for `private_key_jwt`: JSON of at most 8 KiB, no private members, of a type
/// that fixes one of the accepted algorithms. Returns the key with its `kid` set (its own, or
/// its RFC 7638 SHA-256 thumbprint) and that algorithm; `field` names the input in errors.
pub fn parse_public_jwk(text: &str, field: &str) -> ApiResult<(Jwk, IssuerAlgorithm)> {
    let bad = |why: &str| ApiError::validation(field, why);
    if text.len() > MAX_JWK_BYTES {
        return Err(bad("a public JWK has at most 8 KiB"));
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| bad("not JSON: give the public key as a JWK"))?;
    let object = value
        .as_object()
        .ok_or_else(|| bad("a JWK is a JSON object (one key, not a set)"))?;
    if PRIVATE_MEMBERS.iter().any(|m| object.contains_key(*m)) {
        return Err(bad(
            "this JWK holds private key material; register the public key only and keep the \
             private key with the client",
        ));
    }
    let mut jwk: Jwk = serde_json::from_value(value).map_err(|_| bad("not a JWK"))?;
    let algorithm = IssuerAlgorithm::of_key(&jwk).ok_or_else(|| {
        bad(
            "the key must be RSA of 2048 bits or more (RS256), P-256 (ES256) or Ed25519 \
             (EdDSA), for signing",
        )
    })?;
    let kid = match jwk.common.key_id.as_deref().map(str::trim) {
        Some("") => return Err(bad("the key's kid is empty")),
        Some(kid) => kid.to_owned(),
        None => jwk.thumbprint(ThumbprintHash::SHA256),
    };
    if kid.chars().count() > MAX_KID_CHARS {
        return Err(bad("the key's kid has at most 128 characters"));
    }
    jwk.common.key_id = Some(kid);
    Ok((jwk, algorithm))
}

/// The client `client_id` as `by` sees it, or `BAD_USER_INPUT` on `input.clientId`.
async fn client_of(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    client_id: Uuid,
) -> ApiResult<api_client::Model> {
    let client = tokens::find_client(db, by, client_id)
        .await?
        .ok_or_else(|| ApiError::validation("input.clientId", "no API client has this id"))?;
    if client.revoked_at.is_some() {
        return Err(ApiError::validation(
            "input.clientId",
            "this API client is revoked; create another client",
        ));
    }
    let live = client_credential::Entity::find()
        .filter(client_credential::Column::ClientId.eq(client.id))
        .filter(client_credential::Column::RevokedAt.is_null())
        .count(db)
        .await?;
    if live >= MAX_LIVE_CREDENTIALS {
        return Err(ApiError::Conflict(format!(
            "the client holds {live} live credentials, the most it may; revoke one it no \
             longer uses first"
        )));
    }
    Ok(client)
}

/// Inserts a credential and its `create` audit event.
async fn insert_credential(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    credential: client_credential::ActiveModel,
    detail: String,
) -> ApiResult<client_credential::Model> {
    let credential = credential.insert(db).await?;
    by.record(
        db,
        Event::new(AuditAction::Create, CREDENTIAL_ENTITY, credential.id).detail(detail),
    )
    .await?;
    Ok(credential)
}

/// Creates a client secret (`client_secret_basic` / `client_secret_post`) for a live client
/// `by` may see. The answer holds the secret once; only its hash is stored.
#[tracing::instrument(skip_all, fields(client = %client_id))]
pub async fn create_secret(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    client_id: Uuid,
) -> ApiResult<CreatedSecret> {
    let client = client_of(db, by, client_id).await?;
    let secret = new_secret()?;
    let hash = hash_secret(secret.clone()).await?;
    let credential = insert_credential(
        db,
        by,
        client_credential::ActiveModel {
            id: Set(Uuid::now_v7()),
            client_id: Set(client.id),
            kind: Set(CredentialKind::Secret),
            secret_hash: Set(Some(hash)),
            public_jwk: Set(None),
            kid: Set(None),
            created_at: Set(crate::db::now()),
            revoked_at: Set(None),
        },
        format!("client secret for client {}", client.id),
    )
    .await?;
    Ok(CreatedSecret { secret, credential })
}

/// Registers a public key (`private_key_jwt`, RFC 7523) for a live client `by` may see;
/// `jwk` comes from [`parse_public_jwk`]. A key id the client already has is `CONFLICT`.
#[tracing::instrument(skip_all, fields(client = %client_id))]
pub async fn register_key(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    client_id: Uuid,
    jwk: Jwk,
    algorithm: IssuerAlgorithm,
) -> ApiResult<client_credential::Model> {
    let client = client_of(db, by, client_id).await?;
    let kid = jwk.common.key_id.clone().unwrap_or_default();
    let public = serde_json::to_string(&jwk).map_err(ApiError::internal)?;
    let credential = client_credential::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(client.id),
        kind: Set(CredentialKind::PublicKey),
        secret_hash: Set(None),
        public_jwk: Set(Some(public)),
        kid: Set(Some(kid.clone())),
        created_at: Set(crate::db::now()),
        revoked_at: Set(None),
    };
    let detail = format!(
        "{} key {kid:?} for client {}",
        algorithm.as_str(),
        client.id
    );
    insert_credential(db, by, credential, detail)
        .await
        .map_err(|err| match err {
            ApiError::Conflict(_) => ApiError::Conflict(format!(
                "the client already has a key with the kid {kid:?} (revoked keys keep theirs); \
                 give the key another kid"
            )),
            other => other,
        })
}

/// Revokes a credential: from then on it authenticates nothing. Tokens already obtained with
/// it stay valid until they expire or are revoked themselves. Unknown (or unseen) is
/// `NOT_FOUND`; revoking twice returns it unchanged and records nothing more.
#[tracing::instrument(skip_all, fields(credential = %id))]
pub async fn revoke_credential(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    id: Uuid,
) -> ApiResult<client_credential::Model> {
    let credential = by
        .rows::<client_credential::Entity>()?
        .filter(client_credential::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("client credential {id}")))?;
    if credential.revoked_at.is_some() {
        return Ok(credential);
    }
    let mut active: client_credential::ActiveModel = credential.into();
    active.revoked_at = Set(Some(crate::db::now()));
    let credential = active.update(db).await?;
    by.record(db, Event::new(AuditAction::Revoke, CREDENTIAL_ENTITY, id))
        .await?;
    Ok(credential)
}

/// The live credentials of `kind` of a client, oldest first (no access rules: the token
/// endpoint reads them for a client that is authenticating itself).
async fn live_credentials(
    db: &impl ConnectionTrait,
    client_id: Uuid,
    kind: CredentialKind,
) -> ApiResult<Vec<client_credential::Model>> {
    Ok(client_credential::Entity::find()
        .filter(client_credential::Column::ClientId.eq(client_id))
        .filter(client_credential::Column::Kind.eq(kind))
        .filter(client_credential::Column::RevokedAt.is_null())
        .order_by_asc(client_credential::Column::CreatedAt)
        .all(db)
        .await?)
}

/// The hashes of a client's live secrets.
pub async fn live_secret_hashes(
    db: &impl ConnectionTrait,
    client_id: Uuid,
) -> ApiResult<Vec<String>> {
    Ok(live_credentials(db, client_id, CredentialKind::Secret)
        .await?
        .into_iter()
        .filter_map(|c| c.secret_hash)
        .collect())
}

/// A client's live registered keys; a stored key that no longer parses is left out (and
/// logged), so it authenticates nothing.
pub async fn live_keys(
    db: &impl ConnectionTrait,
    client_id: Uuid,
) -> ApiResult<Vec<RegisteredKey>> {
    let rows = live_credentials(db, client_id, CredentialKind::PublicKey).await?;
    Ok(rows.into_iter().filter_map(registered_key).collect())
}

fn registered_key(row: client_credential::Model) -> Option<RegisteredKey> {
    let parsed = row
        .public_jwk
        .as_deref()
        .and_then(|text| serde_json::from_str::<Jwk>(text).ok())
        .and_then(|jwk| IssuerAlgorithm::of_key(&jwk).map(|alg| (jwk, alg)));
    let Some((jwk, algorithm)) = parsed else {
        tracing::error!(credential = %row.id, "a stored client key does not parse");
        return None;
    };
    Some(RegisteredKey {
        credential_id: row.id,
        kid: row.kid.unwrap_or_default(),
        jwk,
        algorithm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    #[test]
    fn a_public_key_gets_its_thumbprint_as_kid() {
        let (jwk, alg) = parse_public_jwk(ED25519, "input.publicJwk").unwrap();
        assert_eq!(alg, IssuerAlgorithm::EdDsa);
        // RFC 8037 appendix A.3's thumbprint of this key.
        assert_eq!(
            jwk.common.key_id.as_deref(),
            Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
        );
    }

    #[test]
    fn private_material_and_unfit_keys_are_refused() {
        let private = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#;
        for bad in [
            private,
            r#"{"kty":"oct","k":"c2VjcmV0"}"#,
            r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#,
            "[]",
            "not json",
        ] {
            let err = parse_public_jwk(bad, "input.publicJwk").unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{bad}");
            assert!(err.to_string().starts_with("input.publicJwk: "), "{err}");
        }
    }

    #[tokio::test]
    async fn secrets_match_their_hash_only() {
        let secret = new_secret().unwrap();
        assert!(secret.starts_with(SECRET_PREFIX));
        let hash = hash_secret(secret.clone()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(
            secret_matches(secret.clone(), vec![hash.clone()])
                .await
                .unwrap()
        );
        let other = new_secret().unwrap();
        assert!(!secret_matches(other, vec![hash.clone()]).await.unwrap());
        assert!(
            !secret_matches("no-prefix".into(), vec![hash])
                .await
                .unwrap()
        );
        assert!(!secret_matches(secret, Vec::new()).await.unwrap());
    }
}
