//! The caller of one request, built from a verified token and the database.
//!
//! A token is only as good as its database rows: the token (`jti`) must exist and not be
//! revoked or expired, its client must not be revoked, its organisation must exist, and the
//! key that signed it must be the one recorded at issue and not be retired. All of it is read
//! in one query, which the replica's [`TokenCache`] spares for a few seconds; revocation and
//! key retirement still take effect on every replica at once, because every change to those
//! rows clears the caches (see [`super::token_cache`] for how, and its one SQLite caveat).
//!
//! A token whose (unverified) `iss` is not Bydel's own belongs to a trusted external issuer
//! and is verified by [`super::issuers`] instead: no token row, the registration's API client
//! as the principal's client, and the same [`Principal`] for every row rule.

use chrono::Utc;
use entity::{
    api_client, api_token,
    enums::{MotherStatus, OrganisationKind},
    mother, organisation, signing_key, staff_member,
};
use sea_orm::{
    ConnectionTrait, ExprTrait, FromQueryResult,
    prelude::DateTimeUtc,
    sea_query::{Expr, Query, SelectStatement},
};
use uuid::Uuid;

use super::{Scope, ScopeSet, TokenCache, TokenKeys, issuers, keys::Verified};
use crate::{
    audit::Actor,
    error::{ApiError, ApiResult},
};

/// The organisation a principal acts for, with what row scoping needs to know about it.
#[derive(Debug, Clone)]
pub struct OrganisationRef {
    pub id: Uuid,
    pub kind: OrganisationKind,
    pub municipality_code: Option<i32>,
}

/// The person a token acts for within its organisation (issue 15): the organisation's row
/// rules still apply underneath, and the audit trail names the person beside the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Person {
    /// A mother of a project her token's organisation operates (the mothers' app): her own
    /// work bounds what the token sees and writes (`auth::access`, rule 7).
    Mother { id: Uuid, project_id: Uuid },
    /// A staff member of the organisation (a caseworker): the organisation's rows, and every
    /// read and change recorded as theirs.
    Staff { id: Uuid },
}

impl Person {
    /// The mother this person is, if a mother.
    pub fn mother(&self) -> Option<Uuid> {
        match *self {
            Person::Mother { id, .. } => Some(id),
            Person::Staff { .. } => None,
        }
    }

    /// The staff member this person is, if staff.
    pub fn staff_member(&self) -> Option<Uuid> {
        match *self {
            Person::Staff { id } => Some(id),
            Person::Mother { .. } => None,
        }
    }
}

/// An authenticated caller. Only [`authenticate`] (and tests of the access rules) build one.
#[derive(Debug, Clone)]
pub struct Principal {
    pub client_id: Uuid,
    pub token_id: Uuid,
    pub organisation: OrganisationRef,
    scopes: ScopeSet,
    /// The person the token is bound to; `None` for a token of the organisation's system.
    pub person: Option<Person>,
}

impl Principal {
    pub fn new(
        client_id: Uuid,
        token_id: Uuid,
        organisation: OrganisationRef,
        scopes: ScopeSet,
    ) -> Self {
        Self {
            client_id,
            token_id,
            organisation,
            scopes,
            person: None,
        }
    }

    /// Who this principal is on the audit trail: its client and organisation with the person
    /// the token is bound to, for the request `request_id`.
    pub fn actor(&self, request_id: Option<String>) -> Actor {
        Actor {
            client_id: Some(self.client_id),
            organisation_id: Some(self.organisation.id),
            request_id,
            mother_id: self.person.and_then(|p| p.mother()),
            staff_member_id: self.person.and_then(|p| p.staff_member()),
        }
    }

    /// This principal acting for `person`.
    pub fn acting_for(self, person: Option<Person>) -> Self {
        Self { person, ..self }
    }

    /// The mother a mother-bound token acts for, with her project.
    pub fn bound_mother(&self) -> Option<(Uuid, Uuid)> {
        match self.person {
            Some(Person::Mother { id, project_id }) => Some((id, project_id)),
            _ => None,
        }
    }

    /// The installation itself acting for the national secretariat: an operator at the
    /// command line (`bydel participant erase`) or a scheduled job (the retention sweep).
    /// Every scope, no API client: its audit events and timeline entries name no client.
    pub async fn operator(db: &impl ConnectionTrait) -> ApiResult<Self> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let secretariat = organisation::Entity::find()
            .filter(organisation::Column::Kind.eq(OrganisationKind::Secretariat))
            .one(db)
            .await?
            .ok_or_else(|| ApiError::internal("the database holds no secretariat organisation"))?;
        Ok(Self::new(
            Uuid::nil(),
            Uuid::nil(),
            OrganisationRef {
                id: secretariat.id,
                kind: secretariat.kind,
                municipality_code: secretariat.municipality_code,
            },
            ScopeSet::everything(),
        ))
    }

    pub fn scopes(&self) -> &ScopeSet {
        &self.scopes
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.grants(scope)
    }

    /// `FORBIDDEN` naming the missing scope, so a partner knows what to ask the secretariat for.
    pub fn require(&self, scope: Scope) -> ApiResult<()> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this token lacks the scope {scope}"
            )))
        }
    }

    pub fn is_secretariat(&self) -> bool {
        self.organisation.kind == OrganisationKind::Secretariat
    }
}

fn parse_uuid(text: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(text).map_err(|_| ApiError::Unauthenticated("invalid token: malformed".into()))
}

fn refused(why: &str) -> ApiError {
    ApiError::Unauthenticated(format!("token refused: {why}"))
}

/// What the checks of [`authenticate`] need from the token's rows: the token, its client,
/// the client's organisation and the key the token was signed with. What [`TokenCache`]
/// keeps, so every field here is one a change must announce (see `token_cache`).
#[derive(Debug, Clone, FromQueryResult)]
pub(super) struct TokenRow {
    client_id: Uuid,
    scopes: String,
    kid: Option<String>,
    revoked_at: Option<DateTimeUtc>,
    expires_at: DateTimeUtc,
    organisation_id: Uuid,
    client_revoked_at: Option<DateTimeUtc>,
    organisation_kind: OrganisationKind,
    municipality_code: Option<i32>,
    /// `None` both for an active key and for a missing key row; `key_found` tells them apart.
    key_retired_at: Option<DateTimeUtc>,
    key_found: Option<String>,
    mother_id: Option<Uuid>,
    /// The bound mother's project and status; `None` when the token names a mother that is
    /// gone.
    mother_project_id: Option<Uuid>,
    mother_status: Option<MotherStatus>,
    staff_member_id: Option<Uuid>,
    /// The bound staff member's organisation; `None` when the token names one that is gone.
    staff_organisation_id: Option<Uuid>,
    staff_deactivated_at: Option<DateTimeUtc>,
}

/// One query for the token `jti` with its client, organisation and signing key, so a request
/// costs a single round trip however many rows vouch for it. The `jti` is bound as a UUID
/// value (a 16-byte blob on SQLite), never as text.
fn token_row_query(jti: Uuid) -> SelectStatement {
    use api_client::Column as Client;
    use api_token::Column as Token;
    use mother::Column as Mother;
    use organisation::Column as Org;
    use signing_key::Column as Key;
    use staff_member::Column as Staff;
    Query::select()
        .columns(
            [
                Token::ClientId,
                Token::Scopes,
                Token::Kid,
                Token::RevokedAt,
                Token::ExpiresAt,
                Token::MotherId,
                Token::StaffMemberId,
            ]
            .map(|c| (api_token::Entity, c)),
        )
        .column((api_client::Entity, Client::OrganisationId))
        .expr_as(
            Expr::col((api_client::Entity, Client::RevokedAt)),
            "client_revoked_at",
        )
        .expr_as(
            Expr::col((organisation::Entity, Org::Kind)),
            "organisation_kind",
        )
        .column((organisation::Entity, Org::MunicipalityCode))
        .expr_as(
            Expr::col((signing_key::Entity, Key::RetiredAt)),
            "key_retired_at",
        )
        .expr_as(Expr::col((signing_key::Entity, Key::Kid)), "key_found")
        .expr_as(
            Expr::col((mother::Entity, Mother::ProjectId)),
            "mother_project_id",
        )
        .expr_as(Expr::col((mother::Entity, Mother::Status)), "mother_status")
        .expr_as(
            Expr::col((staff_member::Entity, Staff::OrganisationId)),
            "staff_organisation_id",
        )
        .expr_as(
            Expr::col((staff_member::Entity, Staff::DeactivatedAt)),
            "staff_deactivated_at",
        )
        .from(api_token::Entity)
        .inner_join(
            api_client::Entity,
            Expr::col((api_client::Entity, Client::Id))
                .equals((api_token::Entity, Token::ClientId)),
        )
        .inner_join(
            organisation::Entity,
            Expr::col((organisation::Entity, Org::Id))
                .equals((api_client::Entity, Client::OrganisationId)),
        )
        .left_join(
            signing_key::Entity,
            Expr::col((signing_key::Entity, Key::Kid)).equals((api_token::Entity, Token::Kid)),
        )
        .left_join(
            mother::Entity,
            Expr::col((mother::Entity, Mother::Id)).equals((api_token::Entity, Token::MotherId)),
        )
        .left_join(
            staff_member::Entity,
            Expr::col((staff_member::Entity, Staff::Id))
                .equals((api_token::Entity, Token::StaffMemberId)),
        )
        .and_where(Expr::col((api_token::Entity, Token::Id)).eq(jti))
        .take()
}

/// The checks on the rows, in the order a partner would debug them; each refusal names its
/// reason without revealing anything about other tokens.
fn check_rows(
    row: Option<TokenRow>,
    client_id: Uuid,
    organisation_id: Uuid,
    header_kid: &str,
) -> ApiResult<TokenRow> {
    let row = row
        .filter(|r| r.client_id == client_id)
        .ok_or_else(|| refused("unknown token"))?;
    if row.revoked_at.is_some() {
        return Err(refused("revoked"));
    }
    if row.expires_at <= Utc::now() {
        return Err(refused("expired"));
    }
    if row.organisation_id != organisation_id {
        return Err(refused("unknown client"));
    }
    if row.client_revoked_at.is_some() {
        return Err(refused("client revoked"));
    }
    if row.key_retired_at.is_some() {
        return Err(refused("signing key retired"));
    }
    if row.kid.as_deref() != Some(header_kid) {
        return Err(refused("key id does not match the token"));
    }
    if row.key_found.is_none() {
        return Err(refused("unknown signing key"));
    }
    row.person()?;
    Ok(row)
}

impl TokenRow {
    /// The person the token is bound to, if any, refusing a token whose person is gone, has
    /// left the programme or was deactivated: a person's token ends with their role.
    fn person(&self) -> ApiResult<Option<Person>> {
        if self.mother_id.is_some() {
            let (Some(id), Some(project_id)) = (self.mother_id, self.mother_project_id) else {
                return Err(refused("the token's mother is unknown"));
            };
            if self.mother_status == Some(MotherStatus::Left) {
                return Err(refused("the token's mother has left the programme"));
            }
            return Ok(Some(Person::Mother { id, project_id }));
        }
        if let Some(id) = self.staff_member_id {
            if self.staff_organisation_id != Some(self.organisation_id) {
                return Err(refused("the token's staff member is unknown"));
            }
            if self.staff_deactivated_at.is_some() {
                return Err(refused("the token's staff member is deactivated"));
            }
            return Ok(Some(Person::Staff { id }));
        }
        Ok(None)
    }
}

/// Verifies a bearer token and resolves it against its rows (an external issuer's token
/// against its registration instead, see [`super::issuers`]): the token (`jti`) must exist and
/// not be revoked or expired, its client must not be revoked, and the key that signed it must
/// be the one recorded at issue and not be retired. The rows come from `cache` when it has
/// them, else from one query (and are cached when they pass); the checks run either way.
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    cache: &TokenCache,
    bearer: &str,
) -> ApiResult<Principal> {
    // The unverified `iss` only picks the checks: a trusted external issuer's token is
    // verified against that issuer's registration and keys, everything else as Bydel's own.
    if let Some(iss) = issuers::unverified_issuer(bearer).filter(|iss| iss != keys.issuer()) {
        return keys.external().authenticate(db, bearer, &iss).await;
    }
    let Verified { claims, kid } = keys.verify(db, bearer).await?;
    let token_id = parse_uuid(&claims.jti)?;
    let client_id = parse_uuid(&claims.sub)?;
    let organisation_id = parse_uuid(&claims.org)?;
    let row = match cache.get(token_id) {
        Some(cached) => check_rows(Some(cached), client_id, organisation_id, &kid)?,
        None => {
            // Taken before the read: a clear while the query runs keeps its answer out.
            let ticket = cache.ticket();
            let row = match db.query_one(&token_row_query(token_id)).await? {
                Some(result) => Some(TokenRow::from_query_result(&result, "")?),
                None => None,
            };
            let row = check_rows(row, client_id, organisation_id, &kid)?;
            if let Some(ticket) = ticket {
                cache.store(ticket, token_id, row.clone());
            }
            row
        }
    };
    let scopes = ScopeSet::parse(&row.scopes)
        .map_err(|_| ApiError::internal("stored token scopes do not parse"))?;
    Ok(Principal::new(
        client_id,
        token_id,
        OrganisationRef {
            id: organisation_id,
            kind: row.organisation_kind,
            municipality_code: row.municipality_code,
        },
        scopes,
    )
    .acting_for(row.person()?))
}

#[cfg(test)]
impl TokenRow {
    /// A row that passes every check for a token of a random client, organisation and key.
    pub(super) fn example() -> TokenRow {
        TokenRow {
            client_id: Uuid::now_v7(),
            scopes: "projects:read".into(),
            kid: Some("kid".into()),
            revoked_at: None,
            expires_at: Utc::now() + chrono::Duration::hours(1),
            organisation_id: Uuid::now_v7(),
            client_revoked_at: None,
            organisation_kind: OrganisationKind::Ngo,
            municipality_code: None,
            key_retired_at: None,
            key_found: Some("kid".into()),
            mother_id: None,
            mother_project_id: None,
            mother_status: None,
            staff_member_id: None,
            staff_organisation_id: None,
            staff_deactivated_at: None,
        }
    }
}
