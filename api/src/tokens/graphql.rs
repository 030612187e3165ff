//! The GraphQL face of token management: `ApiClient` and `ApiToken`, the `apiClients` and
//! `apiClient` queries, and the mutations under `tokens:admin`.
//!
//! Resolvers decode their arguments, build the [`Manager`] (scope and secretariat check,
//! before any input is looked at) and run one data function in one transaction. Ids inside
//! `input` are references: unknown ones are `BAD_USER_INPUT` naming the field. The `id`
//! argument of a revoke or delete names the record to change: unknown is `NOT_FOUND`. A row
//! the caller may not see answers exactly like a missing one. Token text appears only in
//! `IssuedToken`, the answer to `issueToken`.

use crate::pagination::SortDirection;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{api_client, api_token, mother, organisation, staff_member};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use super::{ClientName, DEFAULT_TTL, Manager, StaffMember};
use crate::{
    auth::Principal,
    child_of,
    context::RequestContext,
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    loaders::lookup,
    loaders::{load_by_id, load_children},
    mothers::Mother,
    oauth::ClientCredential,
    organisations::Organisation,
    pagination::{ListConnection, Ordering, PageArgs, connection, updated_since},
    tokens,
    writes::{changing_token_rows, in_transaction},
};

child_of!(TokensOfClient: api_token by ClientId ordered by IssuedAt);
child_of!(CredentialsOfClient: client_credential by ClientId ordered by CreatedAt);

/// Scopes as stored (canonical, space-separated), one per list item.
pub(super) fn scope_list(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

/// A caller of the API: acts for one organisation, holds the most its tokens may carry.
pub struct ApiClient(pub api_client::Model);

/// A system allowed to call the API for one organisation (a caseworker system, a dashboard, a
/// script), with the scopes its tokens may carry; created, given tokens and revoked by the
/// secretariat (`tokens:read`, `tokens:write`).
#[Object]
impl ApiClient {
    /// The client's global id; tokens name it in their `sub` claim.
    pub async fn id(&self) -> ID {
        Kind::ApiClient.id(self.0.id)
    }
    /// Unique within its organisation.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The organisation the client acts for; its tokens see that organisation's rows.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let organisation = load_by_id::<organisation::Entity>(ctx, self.0.organisation_id);
        Ok(organisation.await?.map(Organisation))
    }
    /// The most a token of this client may carry, e.g. `referrals:write`.
    async fn scopes(&self) -> Vec<&str> {
        scope_list(&self.0.scopes)
    }
    /// Set once the client is revoked; from then on every token of it is refused.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// When the secretariat created the client.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When the client last changed (scopes, revocation).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Every token issued to the client, oldest first, revoked and expired ones included.
    async fn tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<ApiToken>>> {
        let rows = load_children::<TokensOfClient>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(ApiToken).collect()))
    }
    /// What the client authenticates with at `POST /oauth/token`, oldest first, revoked ones
    /// included. Never a secret or its hash.
    async fn credentials(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<ClientCredential>>> {
        let rows = load_children::<CredentialsOfClient>(ctx, self.0.id).await?;
        Ok(Some(rows.into_iter().map(ClientCredential).collect()))
    }
}

/// An issued token, by its `jti`. Never its text: that is shown once, by `issueToken`.
pub struct ApiToken(pub api_token::Model);

/// One token issued to an API client (a JWT, never shown again after `issueToken`): when it was
/// issued, when it expires, whether it was revoked.
#[Object]
impl ApiToken {
    /// The token's `jti` claim, as a global id.
    pub async fn id(&self) -> ID {
        Kind::ApiToken.id(self.0.id)
    }
    /// The client the token was issued to.
    async fn client(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ApiClient>> {
        let client = load_by_id::<api_client::Entity>(ctx, self.0.client_id);
        Ok(client.await?.map(ApiClient))
    }
    /// What the token may do: its client's scopes or fewer.
    async fn scopes(&self) -> Vec<&str> {
        scope_list(&self.0.scopes)
    }
    /// When the token was issued (its `iat`).
    async fn issued_at(&self) -> DateTime<Utc> {
        self.0.issued_at
    }
    /// When the token stops working (its `exp`).
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    /// The mother the token acts for (the mothers' app), or `null`.
    async fn mother(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Mother>> {
        let Some(mother) = self.0.mother_id else {
            return Ok(None);
        };
        Ok(load_by_id::<mother::Entity>(ctx, mother).await?.map(Mother))
    }
    /// The staff member the token acts for, or `null`.
    async fn staff_member(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<StaffMember>> {
        let Some(staff) = self.0.staff_member_id else {
            return Ok(None);
        };
        Ok(load_by_id::<staff_member::Entity>(ctx, staff)
            .await?
            .map(StaffMember))
    }
    /// When the token was revoked; `null` while it is not. Every replica refuses it from then
    /// on.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// Whether the token is accepted now: not revoked, not expired, and its client not
    /// revoked (a revoked client's tokens are refused whatever their own state).
    async fn is_active(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<bool>> {
        if self.0.revoked_at.is_some() || self.0.expires_at <= Utc::now() {
            return Ok(Some(false));
        }
        let client = load_by_id::<api_client::Entity>(ctx, self.0.client_id).await?;
        Ok(Some(client.is_some_and(|c| c.revoked_at.is_none())))
    }
}

/// A freshly issued token: the only time its text is shown. Store it now.
#[derive(SimpleObject)]
#[graphql(name = "IssuedToken")]
pub struct Issued {
    /// The bearer token (a JWT) to send as `Authorization: Bearer <token>`.
    token: String,
    /// The token's record, for listing and revoking it later (`revokeToken(id:)`).
    api_token: ApiToken,
}

/// Conditions on the API clients listed; every one given must hold.
#[derive(InputObject, Default)]
pub struct ApiClientFilter {
    /// Only the clients of this organisation.
    pub organisation_id: Option<ID>,
    /// Also list revoked clients (left out by default).
    pub include_revoked: Option<bool>,
    /// Only clients changed at or after this time (for incremental sync).
    pub updated_since: Option<DateTime<Utc>>,
}

/// List order. UPDATED_AT is oldest change first, for incremental sync.
#[derive(Enum, Copy, Clone, PartialEq, Eq, Default)]
pub enum ApiClientOrder {
    /// By name, A to Z (the default).
    #[default]
    Name,
    /// Newest first.
    CreatedAt,
    /// Oldest change first (`updatedAt`, then id): for incremental sync with `updatedSince`;
    /// a record changed while you page moves behind your cursor.
    UpdatedAt,
}

impl ApiClientOrder {
    fn ordering(self) -> Ordering<api_client::Entity> {
        use api_client::Column::{CreatedAt, Id, Name, UpdatedAt};
        match self {
            Self::Name => Ordering::ascending("name", Name, Id),
            Self::CreatedAt => Ordering::descending("created_at", CreatedAt, Id),
            Self::UpdatedAt => Ordering::by_update(UpdatedAt, Id),
        }
    }
}

fn filtered(
    principal: &Principal,
    filter: ApiClientFilter,
) -> ApiResult<Select<api_client::Entity>> {
    let mut query = principal.read::<api_client::Entity>()?;
    if let Some(organisation) = filter.organisation_id {
        let organisation =
            ids::decode_as(&organisation, Kind::Organisation, "filter.organisationId")?;
        query = query.filter(api_client::Column::OrganisationId.eq(organisation));
    }
    if !filter.include_revoked.unwrap_or(false) {
        query = query.filter(api_client::Column::RevokedAt.is_null());
    }
    Ok(updated_since(
        query,
        api_client::Column::UpdatedAt,
        filter.updated_since,
    ))
}

#[derive(Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    /// API clients (needs `tokens:read`; the secretariat's only), by name.
    #[allow(clippy::too_many_arguments)]
    async fn api_clients(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: all API clients the token may see."
        )]
        filter: Option<ApiClientFilter>,
        #[graphql(
            desc = "How the list is sorted, ties broken by id; a cursor works only in the order it came from. Left out: the value described as the default."
        )]
        order_by: Option<ApiClientOrder>,
        #[graphql(
            desc = "The direction of `orderBy`: ASC (A to Z, oldest first) or DESC. Left out: the order's own direction, as its values describe; a cursor works only in the direction it came from."
        )]
        direction: Option<SortDirection>,
        #[graphql(
            desc = "The first this many items (after `after`): 0 to 100; 20 when neither `first` nor `last` is given."
        )]
        first: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.endCursor` or an edge's `cursor`) from this list in this order: the items after it."
        )]
        after: Option<String>,
        #[graphql(
            desc = "The last this many items (before `before`), for paging backwards: 0 to 100."
        )]
        last: Option<i32>,
        #[graphql(
            desc = "A cursor (`pageInfo.startCursor` or an edge's `cursor`) from this list in this order: the items before it."
        )]
        before: Option<String>,
    ) -> async_graphql::Result<Option<ListConnection<ApiClient>>> {
        let query = filtered(ctx.principal()?, filter.unwrap_or_default())?;
        let ordering = order_by.unwrap_or_default().ordering();
        let args = PageArgs::new(first, after, last, before).sorted(direction);
        Ok(Some(
            connection(ctx.db()?, query, ordering, args, ApiClient).await?,
        ))
    }

    /// One API client by id (`tokens:read`); `null` when there is none the token may see.
    async fn api_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client's id (`ApiClient.id`).")] id: ID,
    ) -> async_graphql::Result<Option<ApiClient>> {
        Ok(lookup::<api_client::Entity, _>(ctx, &id, Kind::ApiClient, ApiClient).await?)
    }
}

/// A new API client of an organisation.
#[derive(InputObject)]
pub struct CreateApiClientInput {
    /// The organisation the client acts for.
    pub organisation_id: ID,
    /// 1 to 128 characters, unique within the organisation.
    pub name: String,
    /// The most its tokens may carry, e.g. `["referrals:write", "stats:read"]`.
    pub scopes: Vec<String>,
}

/// A new token for an API client.
#[derive(InputObject)]
pub struct IssueTokenInput {
    /// The client the token is for; not a revoked one.
    pub client_id: ID,
    /// Default: the client's scopes (those within the ceiling for a mother). Never more than
    /// the client's.
    pub scopes: Option<Vec<String>>,
    /// Lifetime: a number with s, m, h or d, up to 366d. Default: 24h.
    pub ttl: Option<String>,
    /// Binds the token to this mother of a project the client's organisation operates (the
    /// mothers' app): it sees her project, her own visits, hours and courses and the women
    /// she supports, and writes only her own work. Its scopes stay within `courses:read
    /// mothers:read mothers:write participants:read participants:write projects:read
    /// visits:read visits:write`. Not with `staffMemberId`.
    pub mother_id: Option<ID>,
    /// Binds the token to this staff member of the client's organisation: the
    /// organisation's rows, with every read and change recorded in the audit trail as theirs.
    pub staff_member_id: Option<ID>,
}

impl IssueTokenInput {
    /// The person the token is to act for; both given is `BAD_USER_INPUT`.
    fn person(&self) -> ApiResult<Option<tokens::BindTo>> {
        let mother = self
            .mother_id
            .as_ref()
            .map(|id| ids::decode_as(id, Kind::Mother, "input.motherId"))
            .transpose()?;
        let staff = self
            .staff_member_id
            .as_ref()
            .map(|id| ids::decode_as(id, Kind::StaffMember, "input.staffMemberId"))
            .transpose()?;
        match (mother, staff) {
            (Some(_), Some(_)) => Err(ApiError::validation(
                "input.staffMemberId",
                "a token acts for one person: give motherId or staffMemberId, not both",
            )),
            (Some(mother), None) => Ok(Some(tokens::BindTo::Mother(mother))),
            (None, staff) => Ok(staff.map(tokens::BindTo::Staff)),
        }
    }
}

/// The token-management caller of this request, checked before anything else.
pub(super) fn manager<'c>(ctx: &'c Context<'_>) -> ApiResult<Manager<'c>> {
    Manager::of(ctx.principal()?, ctx.request_id())
}

/// Token management: the secretariat, with `tokens:admin`. Each mutation is one transaction
/// with its audit event. Results are nullable like every field that can fail: a refused
/// mutation answers `null` with the error.
#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Creates an API client for an organisation. `CONFLICT` when the name is taken there.
    async fn create_api_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new client: its name and the organisation it acts for.")]
        input: CreateApiClientInput,
    ) -> async_graphql::Result<Option<ApiClient>> {
        let by = manager(ctx)?;
        let organisation = ids::decode_as(
            &input.organisation_id,
            Kind::Organisation,
            "input.organisationId",
        )?;
        let name = ClientName::parse(&input.name, "input.name")?;
        let scopes = tokens::scopes_from_list(&input.scopes, "input.scopes")?;
        let client = in_transaction(ctx, async |txn| {
            tokens::create_client(txn, &by, organisation, name, scopes).await
        });
        Ok(Some(ApiClient(client.await?)))
    }

    /// Issues a token for a client. The answer is the only time the token text is shown.
    async fn issue_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The client, the scopes the token carries and how long it lives.")]
        input: IssueTokenInput,
    ) -> async_graphql::Result<Option<Issued>> {
        let by = manager(ctx)?;
        let client_id = ids::decode_as(&input.client_id, Kind::ApiClient, "input.clientId")?;
        let person = input.person()?;
        let scopes = input
            .scopes
            .map(|list| tokens::scopes_from_list(&list, "input.scopes"))
            .transpose()?;
        let ttl = tokens::parse_ttl(input.ttl.as_deref().unwrap_or(DEFAULT_TTL))
            .map_err(|err| err.at("input.ttl"))?;
        let keys = ctx.keys()?;
        let issued = in_transaction(ctx, async |txn| {
            tokens::issue_token(txn, keys, &by, client_id, scopes, ttl, person).await
        });
        let issued = issued.await?;
        Ok(Some(Issued {
            token: issued.token,
            api_token: ApiToken(issued.api_token),
        }))
    }

    /// Revokes one token; it is refused from then on. Revoking twice changes nothing.
    async fn revoke_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The token's id (its `jti`, as `ApiToken.id` shows it).")] id: ID,
    ) -> async_graphql::Result<Option<ApiToken>> {
        let by = manager(ctx)?;
        let jti = ids::decode_as(&id, Kind::ApiToken, "id")?;
        let token = changing_token_rows(ctx, async |txn| tokens::revoke_token(txn, &by, jti).await);
        Ok(Some(ApiToken(token.await?)))
    }

    /// Revokes a client: every token of it is refused from then on. Revoking twice changes
    /// nothing.
    async fn revoke_api_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the client whose tokens stop working, all of them.")] id: ID,
    ) -> async_graphql::Result<Option<ApiClient>> {
        let by = manager(ctx)?;
        let client_id = ids::decode_as(&id, Kind::ApiClient, "id")?;
        let client = changing_token_rows(ctx, async |txn| {
            tokens::revoke_client(txn, &by, client_id).await
        });
        Ok(Some(ApiClient(client.await?)))
    }

    /// Deletes a client and its tokens (which then fail as unknown); answers the deleted id.
    /// The audit trail keeps the client's history.
    async fn delete_api_client(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the client to delete; only a client without tokens in use.")]
        id: ID,
    ) -> async_graphql::Result<Option<ID>> {
        let by = manager(ctx)?;
        let client_id = ids::decode_as(&id, Kind::ApiClient, "id")?;
        changing_token_rows(ctx, async |txn| {
            tokens::delete_client(txn, &by, client_id).await
        })
        .await?;
        Ok(Some(id))
    }
}
