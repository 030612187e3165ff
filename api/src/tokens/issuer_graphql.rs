//! The GraphQL face of trusted external issuers and scope ceilings: `TrustedIssuer`,
//! `ScopeCeiling`, the `trustedIssuers` and `scopeCeiling` queries (`tokens:read`, the
//! secretariat's rows) and `registerTrustedIssuer`, `revokeTrustedIssuer` and
//! `setScopeCeiling` (`tokens:admin`, the secretariat only: `FORBIDDEN` otherwise).
//!
//! Resolvers decode and validate their arguments (`BAD_USER_INPUT` naming the field), build
//! the [`Manager`] first, and run one data function in one transaction.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{api_client, organisation, scope_ceiling, trusted_issuer};

use super::{
    ApiClient,
    graphql::manager,
    issuers::{self, KeySource, NewIssuer},
};
use crate::{
    auth::issuers::{ClaimCondition, IssuerAlgorithm, parse_inline_jwks, parse_jwks_url},
    context::RequestContext,
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    loaders::load_by_id,
    organisations::Organisation,
    tokens,
    writes::in_transaction,
};

/// The claim that carries the scopes when a registration names none (OAuth 2.0 `scope`).
const DEFAULT_SCOPE_CLAIM: &str = "scope";

/// A JWS algorithm a trusted issuer signs with. HMAC and `none` do not exist here: a token
/// verified with a public key must never be checkable with that key as a shared secret.
#[derive(Enum, Copy, Clone, PartialEq, Eq)]
#[graphql(name = "IssuerAlgorithm")]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Entra ID, Keycloak's default); keys of 2048 bits or more.
    #[graphql(name = "RS256")]
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    #[graphql(name = "ES256")]
    Es256,
    /// Ed25519.
    #[graphql(name = "EDDSA")]
    EdDsa,
}

impl From<Algorithm> for IssuerAlgorithm {
    fn from(value: Algorithm) -> Self {
        match value {
            Algorithm::Rs256 => IssuerAlgorithm::Rs256,
            Algorithm::Es256 => IssuerAlgorithm::Es256,
            Algorithm::EdDsa => IssuerAlgorithm::EdDsa,
        }
    }
}

impl From<IssuerAlgorithm> for Algorithm {
    fn from(value: IssuerAlgorithm) -> Self {
        match value {
            IssuerAlgorithm::Rs256 => Algorithm::Rs256,
            IssuerAlgorithm::Es256 => Algorithm::Es256,
            IssuerAlgorithm::EdDsa => Algorithm::EdDsa,
        }
    }
}

/// A claim that must equal a value for a token to speak for the organisation.
#[derive(InputObject)]
pub struct ClaimConditionInput {
    /// The claim's name; dots reach into objects (`realm_access.roles`) when no claim has the
    /// whole name.
    pub claim: String,
    /// The value it must equal (a number or boolean claim compares as its JSON text).
    pub value: String,
}

/// A condition of a registration.
#[derive(SimpleObject)]
#[graphql(name = "ClaimCondition")]
pub struct Condition {
    /// The claim's name; dots reach into objects (`realm_access.roles`).
    claim: String,
    /// The value it must equal (a number or boolean claim compares as its JSON text).
    value: String,
}

/// An identity provider to trust for one organisation (`registerTrustedIssuer`).
#[derive(InputObject)]
pub struct RegisterTrustedIssuerInput {
    /// The organisation whose tokens these are; they see its rows only.
    pub organisation_id: ID,
    /// The tokens' exact `iss`, e.g. `https://login.microsoftonline.com/<tenant>/v2.0`.
    pub issuer: String,
    /// Where the issuer publishes its keys (`https`; plain `http` only to a loopback host).
    /// Give this or `jwks`.
    pub jwks_url: Option<String>,
    /// The keys themselves, as a JWKS document (JSON), for a provider that publishes none.
    pub jwks: Option<String>,
    /// The `aud` the tokens must carry.
    pub audience: String,
    /// The algorithms the issuer signs with; a token with any other is refused.
    pub algorithms: Vec<Algorithm>,
    /// The claim carrying the scopes, as a space-separated string or an array of strings.
    /// Default `scope`; Entra ID app roles are `roles`, Keycloak realm roles
    /// `realm_access.roles`.
    pub scope_claim: Option<String>,
    /// Claims that must all equal, so that one issuer shared by several organisations speaks
    /// for exactly one of them per token.
    pub conditions: Option<Vec<ClaimConditionInput>>,
}

/// An identity provider an organisation trusts: Bydel accepts its tokens for that
/// organisation, with the scopes they name met with the organisation's scope ceiling.
pub struct TrustedIssuer(pub trusted_issuer::Model);

/// An identity provider an organisation trusts: Bydel accepts its tokens for that
/// organisation only, with the scopes they name met with the organisation's scope ceiling.
/// The secretariat's (`tokens:read`).
#[Object]
impl TrustedIssuer {
    /// Its global id (for `revokeTrustedIssuer`).
    async fn id(&self) -> ID {
        Kind::TrustedIssuer.id(self.0.id)
    }
    /// The organisation its tokens speak for.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let organisation = load_by_id::<organisation::Entity>(ctx, self.0.organisation_id);
        Ok(organisation.await?.map(Organisation))
    }
    /// The API client that audit events and rate limits name for the issuer's tokens.
    async fn client(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ApiClient>> {
        let client = load_by_id::<api_client::Entity>(ctx, self.0.client_id);
        Ok(client.await?.map(ApiClient))
    }
    /// The tokens' exact `iss`.
    async fn issuer(&self) -> &str {
        &self.0.issuer
    }
    /// Where its keys are fetched (cached by `Cache-Control`), when not given inline.
    async fn jwks_url(&self) -> Option<&str> {
        self.0.jwks_url.as_deref()
    }
    /// The inline JWKS, when the keys were given rather than a URL.
    async fn jwks(&self) -> Option<&str> {
        self.0.jwks.as_deref()
    }
    /// The `aud` its tokens must carry.
    async fn audience(&self) -> &str {
        &self.0.audience
    }
    /// The algorithms accepted from it; a token signed with any other is refused.
    async fn algorithms(&self) -> Vec<Algorithm> {
        IssuerAlgorithm::parse_list(&self.0.algorithms)
            .into_iter()
            .map(Algorithm::from)
            .collect()
    }
    /// The claim read for the token's scopes.
    async fn scope_claim(&self) -> &str {
        &self.0.scope_claim
    }
    /// Claims that must all equal for a token to speak for this organisation.
    async fn conditions(&self) -> ApiResult<Vec<Condition>> {
        let conditions: Vec<ClaimCondition> = serde_json::from_str(&self.0.conditions)
            .map_err(|_| ApiError::internal("stored issuer conditions do not parse"))?;
        Ok(conditions
            .into_iter()
            .map(|c| Condition {
                claim: c.claim,
                value: c.value,
            })
            .collect())
    }
    /// Set once revoked; from then on its tokens are refused.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// When it was registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the registration last changed (registered or revoked).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The most an organisation's external tokens are granted.
pub struct ScopeCeiling(pub scope_ceiling::Model);

/// The most an organisation's tokens from external issuers are granted: their mapped scopes
/// meet these, per area at the lower access. The secretariat sets it (`setScopeCeiling`).
#[Object]
impl ScopeCeiling {
    /// The organisation it bounds.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let organisation = load_by_id::<organisation::Entity>(ctx, self.0.organisation_id);
        Ok(organisation.await?.map(Organisation))
    }
    /// The scopes, e.g. `referrals:write`; empty grants nothing.
    async fn scopes(&self) -> Vec<&str> {
        super::graphql::scope_list(&self.0.scopes)
    }
    /// When the secretariat last set it.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(Default)]
pub struct IssuerQuery;

#[Object]
impl IssuerQuery {
    /// Trusted external issuers (needs `tokens:read`; the secretariat's only), oldest first.
    async fn trusted_issuers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the registrations of this organisation; left out, every one.")]
        organisation_id: Option<ID>,
        #[graphql(desc = "Also list revoked registrations (left out by default).")]
        include_revoked: Option<bool>,
    ) -> async_graphql::Result<Option<Vec<TrustedIssuer>>> {
        let organisation = organisation_id
            .map(|id| ids::decode_as(&id, Kind::Organisation, "organisationId"))
            .transpose()?;
        let rows = issuers::list(
            ctx.db()?,
            ctx.principal()?,
            organisation,
            include_revoked.unwrap_or(false),
        );
        Ok(Some(rows.await?.into_iter().map(TrustedIssuer).collect()))
    }

    /// An organisation's scope ceiling (`tokens:read`); `null` when none is set, which grants
    /// its external tokens nothing.
    async fn scope_ceiling(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organisation whose ceiling to read; null when none is set.")]
        organisation_id: ID,
    ) -> async_graphql::Result<Option<ScopeCeiling>> {
        let organisation = ids::decode_as(&organisation_id, Kind::Organisation, "organisationId")?;
        let ceiling = issuers::ceiling(ctx.db()?, ctx.principal()?, organisation);
        Ok(ceiling.await?.map(ScopeCeiling))
    }
}

/// Every field of the input, validated, naming the field that is wrong.
fn new_issuer(ctx: &Context<'_>, input: RegisterTrustedIssuerInput) -> ApiResult<NewIssuer> {
    let organisation_id = ids::decode_as(
        &input.organisation_id,
        Kind::Organisation,
        "input.organisationId",
    )?;
    let own = ctx.keys()?.issuer();
    let algorithms: Vec<IssuerAlgorithm> = input.algorithms.into_iter().map(Into::into).collect();
    let algorithms = issuers::parse_algorithms(&algorithms, "input.algorithms")?;
    let keys = match (input.jwks_url, input.jwks) {
        (Some(url), None) => KeySource::Url(parse_jwks_url(&url, "input.jwksUrl")?),
        (None, Some(set)) => KeySource::Inline(parse_inline_jwks(&set, &algorithms, "input.jwks")?),
        _ => {
            return Err(ApiError::validation(
                "input.jwksUrl",
                "give either jwksUrl or jwks (the keys themselves), not both",
            ));
        }
    };
    let conditions: Vec<(String, String)> = input
        .conditions
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.claim, c.value))
        .collect();
    Ok(NewIssuer {
        organisation_id,
        issuer: issuers::parse_issuer(&input.issuer, own, "input.issuer")?,
        keys,
        audience: issuers::parse_audience(&input.audience, "input.audience")?,
        algorithms,
        scope_claim: issuers::parse_claim_name(
            input.scope_claim.as_deref().unwrap_or(DEFAULT_SCOPE_CLAIM),
            "input.scopeClaim",
        )?,
        conditions: issuers::parse_conditions(&conditions, "input.conditions")?,
    })
}

#[derive(Default)]
pub struct IssuerMutation;

#[Object]
impl IssuerMutation {
    /// Trusts an identity provider for an organisation (`tokens:admin`, the secretariat).
    /// Creates the API client its tokens act as. Its tokens are granted nothing until the
    /// organisation has a scope ceiling (`setScopeCeiling`).
    async fn register_trusted_issuer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The issuer, its keys, audience, algorithms and claim mapping.")]
        input: RegisterTrustedIssuerInput,
    ) -> async_graphql::Result<Option<TrustedIssuer>> {
        let by = manager(ctx)?;
        let new = new_issuer(ctx, input)?;
        let issuer = in_transaction(ctx, async |txn| issuers::register(txn, &by, new).await);
        Ok(Some(TrustedIssuer(issuer.await?)))
    }

    /// Stops trusting an issuer: its tokens are refused from now on, and its client is revoked.
    /// Revoking twice changes nothing.
    async fn revoke_trusted_issuer(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The registration to revoke (`TrustedIssuer.id`); its tokens are refused at once."
        )]
        id: ID,
    ) -> async_graphql::Result<Option<TrustedIssuer>> {
        let by = manager(ctx)?;
        let id = ids::decode_as(&id, Kind::TrustedIssuer, "id")?;
        let issuer = crate::writes::changing_token_rows(ctx, async |txn| {
            issuers::revoke(txn, &by, id).await
        });
        Ok(Some(TrustedIssuer(issuer.await?)))
    }

    /// Sets the most the organisation's external tokens are granted (`tokens:admin`, the
    /// secretariat); `[]` grants nothing. Token management and the audit trail
    /// (`tokens:*`, `audit:*`) are the secretariat's only: elsewhere `BAD_USER_INPUT`.
    async fn set_scope_ceiling(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organisation whose external tokens it bounds.")] organisation_id: ID,
        #[graphql(
            desc = "The most they may be granted, e.g. [\"referrals:write\"]; scopes the organisation can never use are refused."
        )]
        scopes: Vec<String>,
    ) -> async_graphql::Result<Option<ScopeCeiling>> {
        let by = manager(ctx)?;
        let organisation = ids::decode_as(&organisation_id, Kind::Organisation, "organisationId")?;
        let scopes = tokens::scopes_from_list(&scopes, "scopes")?;
        let ceiling = in_transaction(ctx, async |txn| {
            issuers::set_ceiling(txn, &by, organisation, scopes).await
        });
        Ok(Some(ScopeCeiling(ceiling.await?)))
    }
}
