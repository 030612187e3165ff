//! The GraphQL face of OAuth client credentials: `ClientCredential` (listed by
//! `ApiClient.credentials`), and `createClientSecret`, `registerClientKey` and
//! `revokeClientCredential` under `tokens:admin` (the secretariat only: `FORBIDDEN`
//! otherwise).
//!
//! Resolvers build the [`Manager`] first, then decode and validate their input
//! (`BAD_USER_INPUT` naming the field) and run one data function in one transaction. A
//! secret's text appears only in `CreatedClientSecret`; its hash never leaves the database.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{api_client, client_credential, enums::CredentialKind};

use crate::{
    auth::issuers::IssuerAlgorithm,
    context::RequestContext,
    error::ApiResult,
    ids::{self, Kind},
    loaders::load_by_id,
    tokens::{ApiClient, Manager},
    writes::in_transaction,
};

/// What a credential proves its client with.
#[derive(Enum, Copy, Clone, PartialEq, Eq)]
#[graphql(name = "ClientCredentialKind")]
pub enum ProofKind {
    /// A client secret, sent as HTTP Basic credentials (`client_secret_basic`) or in the form
    /// body (`client_secret_post`).
    Secret,
    /// A registered public key; the client signs a client assertion with its private key
    /// (`private_key_jwt`, RFC 7523).
    PublicKey,
}

impl From<CredentialKind> for ProofKind {
    fn from(value: CredentialKind) -> Self {
        match value {
            CredentialKind::Secret => Self::Secret,
            CredentialKind::PublicKey => Self::PublicKey,
        }
    }
}

/// One credential of an API client.
pub struct ClientCredential(pub client_credential::Model);

/// What an API client authenticates with at `POST /oauth/token` (and at `/oauth/revoke` and
/// `/oauth/introspect`): a secret, never shown again after `createClientSecret`, or a
/// registered public key. The secretariat's (`tokens:read`).
#[Object]
impl ClientCredential {
    /// Its global id (for `revokeClientCredential`).
    async fn id(&self) -> ID {
        Kind::ClientCredential.id(self.0.id)
    }
    /// A secret or a public key.
    async fn kind(&self) -> ProofKind {
        self.0.kind.into()
    }
    /// The client it authenticates.
    async fn client(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ApiClient>> {
        let client = load_by_id::<api_client::Entity>(ctx, self.0.client_id);
        Ok(client.await?.map(ApiClient))
    }
    /// A key's id: the `kid` its client assertions name in their header. `null` for a secret.
    async fn key_id(&self) -> Option<&str> {
        self.0.kid.as_deref()
    }
    /// A key's public JWK (JSON), as registered with its `kid`. `null` for a secret.
    async fn public_jwk(&self) -> Option<&str> {
        self.0.public_jwk.as_deref()
    }
    /// The algorithm a key's assertions must be signed with, fixed by the key's type
    /// (`RS256`, `ES256`, `EdDSA`). `null` for a secret.
    async fn algorithm(&self) -> Option<&'static str> {
        let jwk = serde_json::from_str(self.0.public_jwk.as_deref()?).ok()?;
        IssuerAlgorithm::of_key(&jwk).map(IssuerAlgorithm::as_str)
    }
    /// When it was created or registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Set once revoked; from then on it authenticates nothing.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// A new client secret: the only time its text is shown. Store it now.
#[derive(SimpleObject)]
pub struct CreatedClientSecret {
    /// The secret (`bydel_cs_...`), for `client_secret_basic` or `client_secret_post` at
    /// `POST /oauth/token`, with the client's id (`ApiClient.id`) as `client_id`.
    secret: String,
    /// The credential's record, for listing and revoking it later.
    credential: ClientCredential,
}

/// A client that is to get a new secret.
#[derive(InputObject)]
pub struct CreateClientSecretInput {
    /// The client (`ApiClient.id`); not a revoked one.
    pub client_id: ID,
}

/// A public key a client signs its client assertions with.
#[derive(InputObject)]
pub struct RegisterClientKeyInput {
    /// The client (`ApiClient.id`); not a revoked one.
    pub client_id: ID,
    /// The public key as a JWK (JSON): RSA of 2048 bits or more (RS256), EC P-256 (ES256) or
    /// Ed25519 (EdDSA), without private members (`d`, ...). Its `kid`, or else its RFC 7638
    /// thumbprint, is the key id assertions name.
    pub public_jwk: String,
}

/// A credential to revoke.
#[derive(InputObject)]
pub struct RevokeClientCredentialInput {
    /// The credential (`ClientCredential.id`).
    pub id: ID,
}

/// The token-management caller of this request, checked before anything else.
fn manager<'c>(ctx: &'c Context<'_>) -> ApiResult<Manager<'c>> {
    Manager::of(ctx.principal()?, ctx.request_id())
}

/// OAuth client credentials: the secretariat, with `tokens:admin`. Each mutation is one
/// transaction with its audit event; a refused one answers `null` with the error.
#[derive(Default)]
pub struct OAuthMutation;

#[Object]
impl OAuthMutation {
    /// Creates a client secret. The answer is the only time the secret is shown; a client
    /// holds at most 5 live credentials (`CONFLICT` beyond).
    async fn create_client_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client that gets the secret.")] input: CreateClientSecretInput,
    ) -> async_graphql::Result<Option<CreatedClientSecret>> {
        let by = manager(ctx)?;
        let client_id = ids::decode_as(&input.client_id, Kind::ApiClient, "input.clientId")?;
        let created = in_transaction(ctx, async |txn| {
            super::create_secret(txn, &by, client_id).await
        })
        .await?;
        Ok(Some(CreatedClientSecret {
            secret: created.secret,
            credential: ClientCredential(created.credential),
        }))
    }

    /// Registers a public key for `private_key_jwt`. A key id the client already has is
    /// `CONFLICT`; private key material is `BAD_USER_INPUT`.
    async fn register_client_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client and its public key.")] input: RegisterClientKeyInput,
    ) -> async_graphql::Result<Option<ClientCredential>> {
        let by = manager(ctx)?;
        let client_id = ids::decode_as(&input.client_id, Kind::ApiClient, "input.clientId")?;
        let (jwk, algorithm) = super::parse_public_jwk(&input.public_jwk, "input.publicJwk")?;
        let credential = in_transaction(ctx, async |txn| {
            super::register_key(txn, &by, client_id, jwk, algorithm).await
        });
        Ok(Some(ClientCredential(credential.await?)))
    }

    /// Revokes a credential: it authenticates nothing from then on (tokens obtained with it
    /// stay valid until they expire or are revoked). Revoking twice changes nothing.
    async fn revoke_client_credential(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The credential to revoke.")] input: RevokeClientCredentialInput,
    ) -> async_graphql::Result<Option<ClientCredential>> {
        let by = manager(ctx)?;
        let id = ids::decode_as(&input.id, Kind::ClientCredential, "input.id")?;
        let credential = in_transaction(ctx, async |txn| {
            super::revoke_credential(txn, &by, id).await
        });
        Ok(Some(ClientCredential(credential.await?)))
    }
}
