//! Trusted external issuers and scope ceilings: the secretariat registers an organisation's
//! identity provider, revokes it, and caps what its tokens are granted. Verification of such
//! tokens is `auth::issuers`; this module only changes and lists the rows it reads.
//!
//! Invariants: only a [`Manager`] changes anything (the secretariat with `tokens:admin`);
//! every change writes its audit event in the caller's transaction. A registration creates
//! its own API client (no scopes, so no Bydel token can be issued under it), which audit
//! events and rate limits name for the issuer's tokens; revoking the registration revokes
//! that client too. A ceiling never holds a scope the organisation's kind cannot use.

use entity::{enums::AuditAction, organisation, scope_ceiling, trusted_issuer};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::{ClientName, Manager, insert_client, revoke_client};
use crate::{
    audit::Event,
    auth::{
        Principal, ScopeSet,
        issuers::{ClaimCondition, IssuerAlgorithm},
    },
    error::{ApiError, ApiResult},
};

/// The `entity_type` of audit events about issuers and ceilings (their table names).
const ISSUER_ENTITY: &str = "trusted_issuer";
const CEILING_ENTITY: &str = "scope_ceiling";

/// The widths of the registration's text columns.
const MAX_ISSUER_CHARS: usize = 512;
const MAX_CLAIM_CHARS: usize = 128;
const MAX_CONDITIONS: usize = 16;

/// Where an issuer's verification keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A JWKS URL, validated by `auth::issuers::parse_jwks_url`.
    Url(String),
    /// A JWKS document, validated by `auth::issuers::parse_inline_jwks`.
    Inline(String),
}

/// A registration, validated field by field by the caller (the GraphQL input).
#[derive(Debug, Clone)]
pub struct NewIssuer {
    pub organisation_id: Uuid,
    pub issuer: String,
    pub keys: KeySource,
    pub audience: String,
    pub algorithms: Vec<IssuerAlgorithm>,
    pub scope_claim: String,
    pub conditions: Vec<ClaimCondition>,
}

/// A required text of at most `max` characters, trimmed; `field` names the input.
pub fn bounded_text(text: &str, max: usize, field: &str, what: &str) -> ApiResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::validation(field, format!("give the {what}")));
    }
    if text.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("the {what} has at most {max} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// The issuer (`iss`) of a registration; Bydel's own issuer is refused, since its tokens are
/// verified with Bydel's keys and rows.
pub fn parse_issuer(text: &str, own: &str, field: &str) -> ApiResult<String> {
    let issuer = bounded_text(text, MAX_ISSUER_CHARS, field, "issuer (the tokens' iss)")?;
    if issuer == own {
        return Err(ApiError::validation(
            field,
            "this is Bydel's own issuer; register your identity provider's",
        ));
    }
    Ok(issuer)
}

pub fn parse_audience(text: &str, field: &str) -> ApiResult<String> {
    bounded_text(text, MAX_ISSUER_CHARS, field, "audience (the tokens' aud)")
}

pub fn parse_claim_name(text: &str, field: &str) -> ApiResult<String> {
    bounded_text(text, MAX_CLAIM_CHARS, field, "claim name")
}

/// The allowed algorithms: at least one, each once, in a canonical order.
pub fn parse_algorithms(list: &[IssuerAlgorithm], field: &str) -> ApiResult<Vec<IssuerAlgorithm>> {
    let mut algorithms = list.to_vec();
    algorithms.sort();
    algorithms.dedup();
    if algorithms.is_empty() {
        return Err(ApiError::validation(
            field,
            "give at least one algorithm the issuer signs with (RS256, ES256, EDDSA)",
        ));
    }
    Ok(algorithms)
}

/// The conditions: at most 16, each a claim name and a value of at most 512 characters.
pub fn parse_conditions(list: &[(String, String)], field: &str) -> ApiResult<Vec<ClaimCondition>> {
    if list.len() > MAX_CONDITIONS {
        return Err(ApiError::validation(
            field,
            format!("at most {MAX_CONDITIONS} conditions"),
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, (claim, value))| {
            Ok(ClaimCondition {
                claim: parse_claim_name(claim, &format!("{field}[{i}].claim"))?,
                value: bounded_text(
                    value,
                    MAX_ISSUER_CHARS,
                    &format!("{field}[{i}].value"),
                    "value",
                )?,
            })
        })
        .collect()
}

/// The name of an issuer's API client: its issuer and the registration's id, so it is unique.
fn client_name(issuer: &str, id: Uuid) -> ApiResult<ClientName> {
    let suffix = format!(" ({})", &id.simple().to_string()[..12]);
    let room = ClientName::MAX_CHARS - suffix.chars().count();
    let head: String = issuer.chars().take(room).collect();
    ClientName::parse(&format!("{head}{suffix}"), "input.issuer")
}

async fn organisation_of(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    id: Uuid,
    field: &str,
) -> ApiResult<organisation::Model> {
    by.rows::<organisation::Entity>()?
        .filter(organisation::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::validation(field, "no organisation has this id"))
}

/// Registers a trusted issuer for an organisation, with its API client; from the commit on,
/// every replica accepts the issuer's tokens for that organisation.
#[tracing::instrument(skip_all, fields(organisation = %new.organisation_id))]
pub async fn register(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    new: NewIssuer,
) -> ApiResult<trusted_issuer::Model> {
    organisation_of(db, by, new.organisation_id, "input.organisationId").await?;
    let id = Uuid::now_v7();
    let name = client_name(&new.issuer, id)?;
    let client = insert_client(db, by, new.organisation_id, &name, &ScopeSet::default()).await?;
    let (jwks_url, jwks) = match new.keys {
        KeySource::Url(url) => (Some(url), None),
        KeySource::Inline(set) => (None, Some(set)),
    };
    let algorithms: Vec<&str> = new.algorithms.iter().map(|a| a.as_str()).collect();
    let conditions = serde_json::to_string(&new.conditions).map_err(ApiError::internal)?;
    let now = crate::db::now();
    let issuer = trusted_issuer::ActiveModel {
        id: Set(id),
        organisation_id: Set(new.organisation_id),
        client_id: Set(client.id),
        issuer: Set(new.issuer),
        jwks_url: Set(jwks_url),
        jwks: Set(jwks),
        audience: Set(new.audience),
        algorithms: Set(algorithms.join(" ")),
        scope_claim: Set(new.scope_claim),
        conditions: Set(conditions),
        revoked_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    by.record(
        db,
        Event::new(AuditAction::Create, ISSUER_ENTITY, id).detail(format!(
            "organisation {}; client {}; issuer {}",
            issuer.organisation_id, issuer.client_id, issuer.issuer
        )),
    )
    .await?;
    Ok(issuer)
}

/// Revokes a registration and its client: its tokens are refused from the commit on.
/// Unknown is `NOT_FOUND`; revoking twice returns it unchanged and records nothing more.
#[tracing::instrument(skip_all, fields(issuer = %id))]
pub async fn revoke(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    id: Uuid,
) -> ApiResult<trusted_issuer::Model> {
    let issuer = by
        .rows::<trusted_issuer::Entity>()?
        .filter(trusted_issuer::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("trusted issuer {id}")))?;
    if issuer.revoked_at.is_some() {
        return Ok(issuer);
    }
    let client_id = issuer.client_id;
    let now = crate::db::now();
    let mut active: trusted_issuer::ActiveModel = issuer.into();
    active.revoked_at = Set(Some(now));
    active.updated_at = Set(now);
    let issuer = active.update(db).await?;
    revoke_client(db, by, client_id).await?;
    by.record(db, Event::new(AuditAction::Revoke, ISSUER_ENTITY, id))
        .await?;
    Ok(issuer)
}

/// The registrations `reader` sees (`tokens:read`; the secretariat's only), oldest first; of
/// one organisation when given.
pub async fn list(
    db: &impl ConnectionTrait,
    reader: &Principal,
    organisation_id: Option<Uuid>,
    include_revoked: bool,
) -> ApiResult<Vec<trusted_issuer::Model>> {
    let mut query = reader.read::<trusted_issuer::Entity>()?;
    if let Some(organisation) = organisation_id {
        query = query.filter(trusted_issuer::Column::OrganisationId.eq(organisation));
    }
    if !include_revoked {
        query = query.filter(trusted_issuer::Column::RevokedAt.is_null());
    }
    Ok(query
        .order_by_asc(trusted_issuer::Column::CreatedAt)
        .order_by_asc(trusted_issuer::Column::Id)
        .all(db)
        .await?)
}

/// The ceiling of an organisation that `reader` sees, if one is set.
pub async fn ceiling(
    db: &impl ConnectionTrait,
    reader: &Principal,
    organisation_id: Uuid,
) -> ApiResult<Option<scope_ceiling::Model>> {
    Ok(reader
        .read::<scope_ceiling::Entity>()?
        .filter(scope_ceiling::Column::OrganisationId.eq(organisation_id))
        .one(db)
        .await?)
}

/// Sets the most an organisation's external tokens are granted (empty: nothing). A scope its
/// kind can never use is `BAD_USER_INPUT` on `scopes`, naming it.
#[tracing::instrument(skip_all, fields(organisation = %organisation_id))]
pub async fn set_ceiling(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    organisation_id: Uuid,
    scopes: ScopeSet,
) -> ApiResult<scope_ceiling::Model> {
    let organisation = organisation_of(db, by, organisation_id, "organisationId").await?;
    let unusable = scopes.unusable_by(organisation.kind);
    if !unusable.is_empty() {
        return Err(ApiError::validation(
            "scopes",
            format!("{unusable}: only the national secretariat can use these"),
        ));
    }
    let now = crate::db::now();
    let existing = by
        .rows::<scope_ceiling::Entity>()?
        .filter(scope_ceiling::Column::OrganisationId.eq(organisation_id))
        .one(db)
        .await?;
    let (ceiling, action) = match existing {
        Some(existing) => {
            let mut active: scope_ceiling::ActiveModel = existing.into();
            active.scopes = Set(scopes.to_string());
            active.updated_at = Set(now);
            (active.update(db).await?, AuditAction::Update)
        }
        None => {
            let row = scope_ceiling::ActiveModel {
                organisation_id: Set(organisation_id),
                scopes: Set(scopes.to_string()),
                created_at: Set(now),
                updated_at: Set(now),
            };
            (row.insert(db).await?, AuditAction::Create)
        }
    };
    by.record(
        db,
        Event::new(action, CEILING_ENTITY, organisation_id)
            .detail(format!("scopes: {}", ceiling.scopes)),
    )
    .await?;
    Ok(ceiling)
}
