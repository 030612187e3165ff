//! API clients and their tokens: create, issue, revoke, delete. The data functions here are
//! shared by the GraphQL mutations ([`graphql`]) and the `bydel token` command line.
//!
//! Invariants: a client belongs to one organisation and holds the maximum scopes its tokens
//! may carry, and a token never exceeds its client's scopes at issue. The token text exists
//! once, in the answer to an issue, and is never stored: the `jti` row is what revocation and
//! expiry are checked against on every request. Every change writes its audit event in the
//! caller's transaction. Only a [`Manager`] changes anything: the secretariat with
//! `tokens:admin`, the operator at the command line, or (through `oauth`) an authenticated
//! client asking for or revoking its own tokens, which reaches no other row. Revoking a token
//! or a client and deleting a client announce themselves in that transaction for the
//! replicas' token caches ([`token_cache::announce`]); whoever ends the transaction then
//! clears its own cache.

mod graphql;
mod issuer_graphql;
pub mod issuers;
pub mod staff;

pub use graphql::{ApiClient, ApiToken, TokenMutation, TokenQuery};
pub use issuer_graphql::{IssuerMutation, IssuerQuery, ScopeCeiling, TrustedIssuer};
pub use staff::{StaffMember, StaffMutation, StaffQuery};

use chrono::{DateTime, Duration, Utc};
use entity::{
    api_client, api_token,
    enums::{AuditAction, MotherStatus},
    mother, organisation, project, staff_member,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QuerySelect, QueryTrait, Select,
};
use uuid::Uuid;

use crate::{
    audit::{self, Actor, Event},
    auth::{
        Access, Area, Claims, Principal, Scope, ScopeSet, Scoped, TokenCache, TokenKeys,
        token_cache,
    },
    error::{ApiError, ApiResult},
};

/// The longest lifetime a token may be issued for.
pub const MAX_TTL: Duration = Duration::days(366);

/// The lifetime of a token when the caller names none.
pub const DEFAULT_TTL: &str = "24h";

/// The scope every token-management change needs.
pub const ADMIN: Scope = Scope {
    area: Area::Tokens,
    access: Access::Admin,
};

/// The `entity_type` of audit events about clients and tokens (their table names).
const CLIENT_ENTITY: &str = "api_client";
const TOKEN_ENTITY: &str = "api_token";

/// The most a token bound to a mother may carry: what the mothers' app needs to show her
/// project, her own visits, hours and courses and the women she supports, and to record her
/// visits and hours and register a woman she meets. Never referrals, statistics, webhooks,
/// the audit trail or administration: those are the organisation's, not hers.
pub const MOTHER_SCOPES: &str = "courses:read mothers:read mothers:write participants:read \
     participants:write projects:read surveys:read surveys:write visits:read visits:write";

/// The person a token is to act for, as the issuer names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindTo {
    /// A mother of a project the client's organisation operates.
    Mother(Uuid),
    /// A staff member of the client's organisation.
    Staff(Uuid),
}

/// A freshly issued token: the only moment its text exists outside the caller.
#[derive(Debug)]
pub struct IssuedToken {
    pub token: String,
    pub jti: Uuid,
    pub client_id: Uuid,
    pub expires_at: DateTime<Utc>,
    /// The stored row (never holding the text).
    pub api_token: api_token::Model,
}

/// Who changes clients and tokens, checked once before any data function runs, and the
/// actor its audit events name.
pub struct Manager<'a> {
    reach: Reach<'a>,
    actor: Actor,
}

/// Which rows a [`Manager`] works on.
enum Reach<'a> {
    /// The operator at the command line, who acts with database trust: all of them.
    Everything,
    /// A caller's, through the access rules.
    Principal(&'a Principal),
    /// An API client acting for itself at the OAuth endpoints: none through [`Manager::rows`];
    /// the data functions made for it ([`issue_to_client`], [`revoke_own_token`]) name the
    /// client's own rows themselves.
    OwnClient,
}

impl Manager<'static> {
    /// The operator at the command line (`bydel token ...`).
    pub fn operator() -> Self {
        Manager {
            reach: Reach::Everything,
            actor: Actor::operator(),
        }
    }

    /// An API client that has just authenticated itself at an OAuth endpoint, so that its
    /// own token requests and revocations are audited as its own.
    fn client_itself(client: &api_client::Model, request_id: Option<String>) -> Self {
        Manager {
            reach: Reach::OwnClient,
            actor: Actor {
                client_id: Some(client.id),
                organisation_id: Some(client.organisation_id),
                request_id,
                ..Actor::default()
            },
        }
    }
}

impl<'a> Manager<'a> {
    /// A token manages clients and tokens when it holds `tokens:admin` and belongs to the
    /// secretariat: DESIGN.md has the secretariat issue and revoke every token, so the scope
    /// on any other organisation's token grants nothing (`FORBIDDEN`, nothing written).
    pub fn of(principal: &'a Principal, request_id: Option<String>) -> ApiResult<Self> {
        principal.may_manage_tokens()?;
        Ok(Manager {
            reach: Reach::Principal(principal),
            actor: principal.actor(request_id),
        })
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The rows of `E` this manager works on: a caller's through the access rules, so a row
    /// it may not see answers exactly like a missing one; the operator's all of them.
    pub(crate) fn rows<E: Scoped>(&self) -> ApiResult<Select<E>> {
        match self.reach {
            Reach::Principal(principal) => principal.read::<E>(),
            Reach::Everything => Ok(E::find()),
            Reach::OwnClient => Err(ApiError::forbidden(
                "an API client manages no records but its own tokens",
            )),
        }
    }

    pub(crate) async fn record(&self, db: &impl ConnectionTrait, event: Event) -> ApiResult<()> {
        audit::record(db, &self.actor, [event]).await
    }
}

/// An API client's name: trimmed, 1 to 128 characters, unique within its organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientName(String);

impl ClientName {
    /// The width of `api_client.name`.
    pub const MAX_CHARS: usize = 128;

    /// Validates `text`, naming `field` in the error.
    pub fn parse(text: &str, field: &str) -> ApiResult<Self> {
        let name = text.trim();
        if name.is_empty() {
            return Err(ApiError::validation(field, "give the client a name"));
        }
        let chars = name.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(ApiError::validation(
                field,
                format!(
                    "a client name has at most {} characters; this one has {chars}",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses the space-separated scopes a token is asked for; at least one is required.
pub fn parse_scopes(text: &str) -> ApiResult<ScopeSet> {
    let scopes = ScopeSet::parse(text)?;
    ensure_some(&scopes, "scopes")?;
    Ok(scopes)
}

/// Parses scopes given as a list (the GraphQL form), naming `field` in errors; may be empty.
pub fn scopes_from_list(list: &[String], field: &str) -> ApiResult<ScopeSet> {
    ScopeSet::parse(&list.join(" ")).map_err(|err| err.at(field))
}

fn ensure_some(scopes: &ScopeSet, field: &str) -> ApiResult<()> {
    if scopes.is_empty() {
        return Err(ApiError::validation(
            field,
            "give at least one scope, e.g. \"referrals:read\"",
        ));
    }
    Ok(())
}

/// Parses a lifetime like `90s`, `30m`, `24h`, `7d`.
pub fn parse_ttl(text: &str) -> ApiResult<Duration> {
    let bad = || {
        ApiError::validation(
            "ttl",
            format!("{text:?} is not a lifetime; use a number with s, m, h or d, e.g. 24h"),
        )
    };
    let text = text.trim();
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = text.split_at_checked(split).ok_or_else(bad)?;
    let number: i64 = number.parse().map_err(|_| bad())?;
    let ttl = match unit {
        "s" => Duration::try_seconds(number),
        "m" => Duration::try_minutes(number),
        "h" => Duration::try_hours(number),
        "d" => Duration::try_days(number),
        _ => None,
    }
    .ok_or_else(bad)?;
    if ttl <= Duration::zero() || ttl > MAX_TTL {
        return Err(ApiError::validation(
            "ttl",
            "a token lives between 1 second and 366 days",
        ));
    }
    Ok(ttl)
}

/// The client `id`, if this manager may see it.
pub async fn find_client(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    id: Uuid,
) -> ApiResult<Option<api_client::Model>> {
    Ok(by
        .rows::<api_client::Entity>()?
        .filter(api_client::Column::Id.eq(id))
        .one(db)
        .await?)
}

fn duplicate_name(name: &ClientName) -> ApiError {
    ApiError::Conflict(format!(
        "the organisation already has an API client called {:?} (revoked clients keep their \
         names); choose another name",
        name.as_str()
    ))
}

/// Inserts a client and its `create` audit event.
async fn insert_client(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    organisation_id: Uuid,
    name: &ClientName,
    scopes: &ScopeSet,
) -> ApiResult<api_client::Model> {
    let now = crate::db::now();
    let client = api_client::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(organisation_id),
        name: Set(name.as_str().to_owned()),
        scopes: Set(scopes.to_string()),
        revoked_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|err| match ApiError::from(err) {
        // Lost a race with another request creating the same name.
        ApiError::Conflict(_) => duplicate_name(name),
        other => other,
    })?;
    by.record(
        db,
        Event::new(AuditAction::Create, CLIENT_ENTITY, client.id).detail(format!(
            "organisation {organisation_id}; scopes: {}",
            client.scopes
        )),
    )
    .await?;
    Ok(client)
}

/// Creates an API client for an organisation. The organisation must exist (`BAD_USER_INPUT`
/// on `input.organisationId`), the name be free in it (`CONFLICT`), the scopes not empty.
#[tracing::instrument(skip_all, fields(organisation = %organisation_id))]
pub async fn create_client(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    organisation_id: Uuid,
    name: ClientName,
    scopes: ScopeSet,
) -> ApiResult<api_client::Model> {
    ensure_some(&scopes, "input.scopes")?;
    let organisation = by
        .rows::<organisation::Entity>()?
        .filter(organisation::Column::Id.eq(organisation_id))
        .one(db)
        .await?;
    if organisation.is_none() {
        return Err(ApiError::validation(
            "input.organisationId",
            "no organisation has this id",
        ));
    }
    let taken = by
        .rows::<api_client::Entity>()?
        .filter(api_client::Column::OrganisationId.eq(organisation_id))
        .filter(api_client::Column::Name.eq(name.as_str()))
        .one(db)
        .await?;
    if taken.is_some() {
        return Err(duplicate_name(&name));
    }
    insert_client(db, by, organisation_id, &name, &scopes).await
}

/// Finds the organisation's client called `name`, creating it, or widening its scopes to
/// cover `scopes` (an `update` audit event). The command line's way to get a client.
async fn client_for(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    organisation: &organisation::Model,
    name: &ClientName,
    scopes: &ScopeSet,
) -> ApiResult<api_client::Model> {
    let existing = by
        .rows::<api_client::Entity>()?
        .filter(api_client::Column::OrganisationId.eq(organisation.id))
        .filter(api_client::Column::Name.eq(name.as_str()))
        .one(db)
        .await?;
    let Some(client) = existing else {
        return insert_client(db, by, organisation.id, name, scopes).await;
    };
    let held = ScopeSet::parse(&client.scopes)?;
    if held.covers(scopes) || client.revoked_at.is_some() {
        // A revoked client is refused by `issue_for`, which says why.
        return Ok(client);
    }
    let widened = held.union(scopes).to_string();
    let mut active: api_client::ActiveModel = client.into();
    active.scopes = Set(widened.clone());
    active.updated_at = Set(crate::db::now());
    let client = active.update(db).await?;
    by.record(
        db,
        Event::new(AuditAction::Update, CLIENT_ENTITY, client.id)
            .detail(format!("scopes widened to: {widened}")),
    )
    .await?;
    Ok(client)
}

/// Issues a token for the client `client_id` (GraphQL's `issueToken`); an unknown or unseen
/// client is `BAD_USER_INPUT` on `input.clientId`.
pub async fn issue_token(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    by: &Manager<'_>,
    client_id: Uuid,
    scopes: Option<ScopeSet>,
    ttl: Duration,
    person: Option<BindTo>,
) -> ApiResult<IssuedToken> {
    let client = find_client(db, by, client_id)
        .await?
        .ok_or_else(|| ApiError::validation("input.clientId", "no API client has this id"))?;
    issue_for(db, keys, by, &client, scopes, ttl, person).await
}

/// The field of the issue input that names `person`, for its errors.
fn person_field(person: BindTo) -> &'static str {
    match person {
        BindTo::Mother(_) => "input.motherId",
        BindTo::Staff(_) => "input.staffMemberId",
    }
}

/// A token may act for a person of its client's organisation only: a mother of a project the
/// organisation operates who has not left, with no more than [`MOTHER_SCOPES`], or one of its
/// staff members who is not deactivated. Anything else is `BAD_USER_INPUT` on the field that
/// names the person (or on `input.scopes`), and no token is issued.
async fn check_person(
    db: &impl ConnectionTrait,
    client: &api_client::Model,
    person: BindTo,
    scopes: &ScopeSet,
) -> ApiResult<()> {
    let field = person_field(person);
    match person {
        BindTo::Mother(id) => {
            let operated = project::Entity::find()
                .filter(project::Column::OperatorOrganisationId.eq(client.organisation_id))
                .select_only()
                .column(project::Column::Id)
                .into_query();
            let mother = mother::Entity::find_by_id(id)
                .filter(mother::Column::ProjectId.in_subquery(operated))
                .one(db)
                .await?
                .ok_or_else(|| {
                    ApiError::validation(
                        field,
                        "no mother of a project the client's organisation operates has this id",
                    )
                })?;
            if mother.status == MotherStatus::Left {
                return Err(ApiError::validation(
                    field,
                    "this mother has left the programme",
                ));
            }
            let ceiling = ScopeSet::parse(MOTHER_SCOPES)?;
            if !ceiling.covers(scopes) {
                return Err(ApiError::validation(
                    "input.scopes",
                    format!("a token bound to a mother carries at most: {ceiling}"),
                ));
            }
        }
        BindTo::Staff(id) => {
            let staff = staff_member::Entity::find_by_id(id)
                .filter(staff_member::Column::OrganisationId.eq(client.organisation_id))
                .one(db)
                .await?
                .ok_or_else(|| {
                    ApiError::validation(
                        field,
                        "no staff member of the client's organisation has this id",
                    )
                })?;
            if staff.deactivated_at.is_some() {
                return Err(ApiError::validation(
                    field,
                    "this staff member is deactivated",
                ));
            }
        }
    }
    Ok(())
}

/// Issues a token for `client`: the one way a token comes to be, for the command line and
/// GraphQL alike. The client must not be revoked (`CONFLICT`); the scopes default to the
/// client's (within [`MOTHER_SCOPES`] for a mother's token) and must be covered by them
/// (`BAD_USER_INPUT` on `input.scopes`).
#[tracing::instrument(skip_all, fields(client = %client.id))]
async fn issue_for(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    by: &Manager<'_>,
    client: &api_client::Model,
    scopes: Option<ScopeSet>,
    ttl: Duration,
    person: Option<BindTo>,
) -> ApiResult<IssuedToken> {
    if client.revoked_at.is_some() {
        return Err(ApiError::Conflict(format!(
            "the API client {:?} is revoked and its tokens are refused; create another client",
            client.name
        )));
    }
    let held = ScopeSet::parse(&client.scopes)?;
    let scopes = match (scopes, person) {
        (Some(scopes), _) => scopes,
        (None, Some(BindTo::Mother(_))) => held.meet(&ScopeSet::parse(MOTHER_SCOPES)?),
        (None, _) => held.clone(),
    };
    ensure_some(&scopes, "input.scopes")?;
    if !held.covers(&scopes) {
        let text = scopes.to_string();
        let beyond: Vec<&str> = text
            .split_whitespace()
            .filter(|one| ScopeSet::parse(one).is_ok_and(|one| !held.covers(&one)))
            .collect();
        return Err(ApiError::validation(
            "input.scopes",
            format!(
                "{} exceed(s) the client's scopes ({held}); a token carries its client's scopes or fewer",
                beyond.join(" ")
            ),
        ));
    }
    if let Some(person) = person {
        check_person(db, client, person, &scopes).await?;
    }
    let now = crate::db::now();
    let jti = Uuid::now_v7();
    let expires_at = now + ttl;
    let api_token = api_token::ActiveModel {
        id: Set(jti),
        client_id: Set(client.id),
        scopes: Set(scopes.to_string()),
        issued_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        created_at: Set(now),
        kid: Set(Some(keys.kid().to_owned())),
        mother_id: Set(person.and_then(|p| match p {
            BindTo::Mother(id) => Some(id),
            BindTo::Staff(_) => None,
        })),
        staff_member_id: Set(person.and_then(|p| match p {
            BindTo::Staff(id) => Some(id),
            BindTo::Mother(_) => None,
        })),
    }
    .insert(db)
    .await?;
    let bound = match person {
        Some(BindTo::Mother(id)) => format!("; for mother {id}"),
        Some(BindTo::Staff(id)) => format!("; for staff member {id}"),
        None => String::new(),
    };
    by.record(
        db,
        Event::new(AuditAction::Create, TOKEN_ENTITY, jti).detail(format!(
            "client {}; scopes: {}; expires {expires_at}{bound}",
            client.id, api_token.scopes
        )),
    )
    .await?;
    let token = keys.sign(&Claims {
        iss: keys.issuer().to_owned(),
        aud: keys.audience().to_owned(),
        sub: client.id.to_string(),
        org: client.organisation_id.to_string(),
        scope: api_token.scopes.clone(),
        jti: jti.to_string(),
        iat: now.timestamp(),
        nbf: now.timestamp(),
        exp: expires_at.timestamp(),
    })?;
    Ok(IssuedToken {
        token,
        jti,
        client_id: client.id,
        expires_at,
        api_token,
    })
}

/// Issues a token to `client` at its own request (the OAuth client credentials grant), after
/// it authenticated itself: the same checks and audit event as every issue, the event naming
/// the client as the actor. Never bound to a person.
pub async fn issue_to_client(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    client: &api_client::Model,
    scopes: Option<ScopeSet>,
    ttl: Duration,
    request_id: Option<String>,
) -> ApiResult<IssuedToken> {
    let by = Manager::client_itself(client, request_id);
    issue_for(db, keys, &by, client, scopes, ttl, None).await
}

/// The command line's issue: under the organisation's client `client_name` (created, or its
/// scopes widened, as needed), as the operator, in one transaction with its audit events.
pub async fn issue(
    db: &DatabaseConnection,
    keys: &TokenKeys,
    organisation: &organisation::Model,
    client_name: &str,
    scopes: &ScopeSet,
    ttl: Duration,
) -> ApiResult<IssuedToken> {
    issue_for_person(db, keys, organisation, client_name, scopes, ttl, None).await
}

/// [`issue`], bound to `person` when given (`bydel token issue --mother/--staff`).
#[tracing::instrument(skip_all, fields(organisation = %organisation.id))]
pub async fn issue_for_person(
    db: &DatabaseConnection,
    keys: &TokenKeys,
    organisation: &organisation::Model,
    client_name: &str,
    scopes: &ScopeSet,
    ttl: Duration,
    person: Option<BindTo>,
) -> ApiResult<IssuedToken> {
    ensure_some(scopes, "scopes")?;
    let name = ClientName::parse(client_name, "client")?;
    let by = Manager::operator();
    crate::db::transaction(db, async |txn| {
        let client = client_for(txn, &by, organisation, &name, scopes).await?;
        issue_for(txn, keys, &by, &client, Some(scopes.clone()), ttl, person).await
    })
    .await
}

/// Revokes one token by its `jti`. An unknown (or unseen) id is `NOT_FOUND`; revoking twice
/// returns the token unchanged and records nothing more. The caller clears its replica's token
/// cache once the transaction has ended.
#[tracing::instrument(skip_all, fields(jti = %jti))]
pub async fn revoke_token(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    jti: Uuid,
) -> ApiResult<api_token::Model> {
    let token = by
        .rows::<api_token::Entity>()?
        .filter(api_token::Column::Id.eq(jti))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("token {jti}")))?;
    mark_revoked(db, by, token).await
}

/// Revokes `token` (once: a revoked one is returned unchanged) with its audit event and the
/// announcement to the replicas' token caches.
async fn mark_revoked(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    token: api_token::Model,
) -> ApiResult<api_token::Model> {
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let jti = token.id;
    let mut active: api_token::ActiveModel = token.into();
    active.revoked_at = Set(Some(crate::db::now()));
    let token = active.update(db).await?;
    by.record(db, Event::new(AuditAction::Revoke, TOKEN_ENTITY, jti))
        .await?;
    token_cache::announce(db).await?;
    Ok(token)
}

/// An API client revokes one of its own tokens (OAuth revocation, RFC 7009): `Ok(false)` when
/// `jti` is no token of `client` (unknown or another client's: the caller answers the same
/// either way), `Ok(true)` once it is revoked. Audited as the client's own act; the caller
/// clears its replica's token cache once the transaction has ended.
#[tracing::instrument(skip_all, fields(client = %client.id))]
pub async fn revoke_own_token(
    db: &impl ConnectionTrait,
    client: &api_client::Model,
    jti: Uuid,
    request_id: Option<String>,
) -> ApiResult<bool> {
    let token = api_token::Entity::find_by_id(jti)
        .filter(api_token::Column::ClientId.eq(client.id))
        .one(db)
        .await?;
    let Some(token) = token else {
        return Ok(false);
    };
    mark_revoked(db, &Manager::client_itself(client, request_id), token).await?;
    Ok(true)
}

/// The command line's revoke, as the operator, in one transaction with its audit event;
/// `cache` (this process's, if it serves requests) is cleared once the transaction has ended.
pub async fn revoke(db: &DatabaseConnection, cache: &TokenCache, jti: Uuid) -> ApiResult<()> {
    let by = Manager::operator();
    let outcome = crate::db::transaction(db, async |txn| revoke_token(txn, &by, jti).await).await;
    cache.clear();
    outcome.map(drop)
}

async fn existing_client(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    id: Uuid,
) -> ApiResult<api_client::Model> {
    find_client(db, by, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("API client {id}")))
}

/// Revokes a client: from then on every token of it is refused (its row is part of every
/// token check; the caller clears its replica's token cache once the transaction has ended).
/// Revoking twice returns the client unchanged.
#[tracing::instrument(skip_all, fields(client = %id))]
pub async fn revoke_client(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    id: Uuid,
) -> ApiResult<api_client::Model> {
    let client = existing_client(db, by, id).await?;
    if client.revoked_at.is_some() {
        return Ok(client);
    }
    let now = crate::db::now();
    let mut active: api_client::ActiveModel = client.into();
    active.revoked_at = Set(Some(now));
    active.updated_at = Set(now);
    let client = active.update(db).await?;
    by.record(db, Event::new(AuditAction::Revoke, CLIENT_ENTITY, id))
        .await?;
    token_cache::announce(db).await?;
    Ok(client)
}

/// Deletes a client with its token rows; its tokens then fail as unknown (the caller clears
/// its replica's token cache once the transaction has ended). The audit trail keeps the
/// client's id (it has no foreign keys), so its history stays readable.
#[tracing::instrument(skip_all, fields(client = %id))]
pub async fn delete_client(db: &impl ConnectionTrait, by: &Manager<'_>, id: Uuid) -> ApiResult<()> {
    let client = existing_client(db, by, id).await?;
    let tokens = api_token::Entity::delete_many()
        .filter(api_token::Column::ClientId.eq(client.id))
        .exec(db)
        .await?
        .rows_affected;
    api_client::Entity::delete_by_id(client.id).exec(db).await?;
    token_cache::announce(db).await?;
    by.record(
        db,
        Event::new(AuditAction::Delete, CLIENT_ENTITY, id).detail(format!(
            "{:?} of organisation {}, with {tokens} token(s)",
            client.name, client.organisation_id
        )),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lifetimes() {
        assert_eq!(parse_ttl("24h").unwrap(), Duration::hours(24));
        assert_eq!(parse_ttl("90s").unwrap(), Duration::seconds(90));
        assert_eq!(parse_ttl("7d").unwrap(), Duration::days(7));
        for bad in ["", "h", "24", "24x", "-1h", "0s", "400d", "1.5h", "1ø", "ø"] {
            assert_eq!(
                parse_ttl(bad).unwrap_err().code(),
                "BAD_USER_INPUT",
                "{bad}"
            );
        }
    }

    #[test]
    fn client_names_are_trimmed_and_bounded() {
        assert_eq!(
            ClientName::parse("  caseworker ", "name").unwrap().as_str(),
            "caseworker"
        );
        let longest = "ø".repeat(ClientName::MAX_CHARS);
        assert!(ClientName::parse(&longest, "name").is_ok());
        for bad in ["", "   ", &format!("{longest}x")] {
            let err = ClientName::parse(bad, "input.name").unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT");
            assert!(err.to_string().starts_with("input.name: "), "{err}");
        }
    }

    #[test]
    fn listed_scopes_name_the_input_field() {
        let scopes =
            scopes_from_list(&["stats:read".into(), "referrals:write".into()], "x").unwrap();
        assert_eq!(scopes.to_string(), "referrals:write stats:read");
        let err = scopes_from_list(&["stats:delete".into()], "input.scopes").unwrap_err();
        assert!(err.to_string().starts_with("input.scopes: "), "{err}");
    }
}
