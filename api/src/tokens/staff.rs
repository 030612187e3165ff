//! Staff members: the people of an organisation (caseworkers, coordinators) whom tokens can be
//! bound to, so the audit trail says *who* read a woman's data, not only which system
//! (issue 15). Registered and deactivated by the secretariat with `tokens:admin`, like the
//! clients whose tokens name them; read by it with `tokens:read`.
//!
//! Invariants: a staff member belongs to one organisation and is known there by its own
//! reference (`externalRef`, e.g. the user name in its directory; unique within the
//! organisation); deactivation refuses their tokens at once on every replica (it announces
//! itself to the token caches) and is never undone — a returning person is registered anew.
//! Their name is personal data of an employee: it is never written into audit details.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{enums::AuditAction, organisation, staff_member};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use uuid::Uuid;

use super::{Manager, graphql::manager};
use crate::{
    audit::Event,
    auth::token_cache,
    context::RequestContext,
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    loaders::load_by_id,
    organisations::Organisation,
    writes::in_transaction,
};

/// The `entity_type` of audit events about staff members.
const STAFF_ENTITY: &str = "staff_member";

/// The width of `staff_member.name` and `staff_member.external_ref`.
const MAX_CHARS: usize = 128;

/// A trimmed text of 1 to [`MAX_CHARS`] characters, or `BAD_USER_INPUT` naming `field`.
fn bounded(text: &str, field: &str) -> ApiResult<String> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_CHARS {
        return Err(ApiError::validation(
            field,
            format!("give 1 to {MAX_CHARS} characters"),
        ));
    }
    Ok(text.to_owned())
}

/// Registers a staff member of `organisation_id`: the organisation must exist
/// (`BAD_USER_INPUT`), the reference be free in it (`CONFLICT`).
pub async fn register(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    organisation_id: Uuid,
    name: &str,
    external_ref: &str,
) -> ApiResult<staff_member::Model> {
    let name = bounded(name, "input.name")?;
    let external_ref = bounded(external_ref, "input.externalRef")?;
    if organisation::Entity::find_by_id(organisation_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(ApiError::validation(
            "input.organisationId",
            "no organisation has this id",
        ));
    }
    let taken = staff_member::Entity::find()
        .filter(staff_member::Column::OrganisationId.eq(organisation_id))
        .filter(staff_member::Column::ExternalRef.eq(external_ref.as_str()))
        .one(db)
        .await?;
    let conflict = || {
        ApiError::Conflict(
            "the organisation already has a staff member with this externalRef".into(),
        )
    };
    if taken.is_some() {
        return Err(conflict());
    }
    let now = crate::db::now();
    let staff = staff_member::ActiveModel {
        id: Set(Uuid::now_v7()),
        organisation_id: Set(organisation_id),
        name: Set(name),
        external_ref: Set(external_ref),
        deactivated_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|err| match ApiError::from(err) {
        ApiError::Conflict(_) => conflict(),
        other => other,
    })?;
    by.record(
        db,
        Event::new(AuditAction::Create, STAFF_ENTITY, staff.id)
            .detail(format!("organisation {organisation_id}")),
    )
    .await?;
    Ok(staff)
}

/// Deactivates a staff member: their tokens are refused from then on (announced to every
/// replica's token cache; the caller clears its own once the transaction has ended).
/// Deactivating twice returns the row unchanged. Unknown is `NOT_FOUND`.
pub async fn deactivate(
    db: &impl ConnectionTrait,
    by: &Manager<'_>,
    id: Uuid,
) -> ApiResult<staff_member::Model> {
    let staff = by
        .rows::<staff_member::Entity>()?
        .filter(staff_member::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("staff member {id}")))?;
    if staff.deactivated_at.is_some() {
        return Ok(staff);
    }
    let now = crate::db::now();
    let mut active: staff_member::ActiveModel = staff.into();
    active.deactivated_at = Set(Some(now));
    active.updated_at = Set(now);
    let staff = active.update(db).await?;
    by.record(
        db,
        Event::new(AuditAction::Update, STAFF_ENTITY, id).detail("deactivated"),
    )
    .await?;
    token_cache::announce(db).await?;
    Ok(staff)
}

/// A person working for an organisation, whom tokens can be bound to so the audit trail names
/// them (`tokens:read`, the secretariat).
pub struct StaffMember(pub staff_member::Model);

/// A person working for an organisation (a caseworker, a coordinator), whom tokens can be
/// bound to so that the audit trail names them. The secretariat's (`tokens:read`).
#[Object]
impl StaffMember {
    /// Its global id (for `issueToken(input: {staffMemberId})`).
    async fn id(&self) -> ID {
        Kind::StaffMember.id(self.0.id)
    }
    /// The organisation they work for.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let organisation = load_by_id::<organisation::Entity>(ctx, self.0.organisation_id);
        Ok(organisation.await?.map(Organisation))
    }
    /// Their name, as their organisation gave it.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Their organisation's own reference for them (e.g. the user name in its directory).
    async fn external_ref(&self) -> &str {
        &self.0.external_ref
    }
    /// When they were deactivated; their tokens are refused from then on.
    async fn deactivated_at(&self) -> Option<DateTime<Utc>> {
        self.0.deactivated_at
    }
    /// When they were registered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A person to register for an organisation.
#[derive(InputObject)]
pub struct RegisterStaffMemberInput {
    /// The organisation they work for.
    pub organisation_id: ID,
    /// Their name (1 to 128 characters).
    pub name: String,
    /// Their organisation's own reference for them, unique within it (1 to 128 characters).
    pub external_ref: String,
}

#[derive(Default)]
pub struct StaffQuery;

#[Object]
impl StaffQuery {
    /// The staff members of an organisation, oldest first (`tokens:read`, the secretariat).
    async fn staff_members(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organisation whose staff members to list.")] organisation_id: ID,
    ) -> async_graphql::Result<Option<Vec<StaffMember>>> {
        let organisation = ids::decode_as(&organisation_id, Kind::Organisation, "organisationId")?;
        let rows = ctx
            .principal()?
            .read::<staff_member::Entity>()?
            .filter(staff_member::Column::OrganisationId.eq(organisation))
            .all(ctx.db()?)
            .await
            .map_err(ApiError::from)?;
        let mut rows: Vec<StaffMember> = rows.into_iter().map(StaffMember).collect();
        rows.sort_by_key(|s| (s.0.created_at, s.0.id));
        Ok(Some(rows))
    }
}

#[derive(Default)]
pub struct StaffMutation;

#[Object]
impl StaffMutation {
    /// Registers a person of an organisation whom tokens can then be bound to
    /// (`tokens:admin`, the secretariat).
    async fn register_staff_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organisation, the person's name and its reference for them.")]
        input: RegisterStaffMemberInput,
    ) -> async_graphql::Result<Option<StaffMember>> {
        let by = manager(ctx)?;
        let organisation = ids::decode_as(
            &input.organisation_id,
            Kind::Organisation,
            "input.organisationId",
        )?;
        let staff = in_transaction(ctx, async |txn| {
            register(txn, &by, organisation, &input.name, &input.external_ref).await
        });
        Ok(Some(StaffMember(staff.await?)))
    }

    /// Deactivates a staff member: tokens bound to them are refused from now on, on every
    /// replica. Deactivating twice changes nothing.
    async fn deactivate_staff_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The staff member (`StaffMember.id`).")] id: ID,
    ) -> async_graphql::Result<Option<StaffMember>> {
        let by = manager(ctx)?;
        let id = ids::decode_as(&id, Kind::StaffMember, "id")?;
        let staff =
            crate::writes::changing_token_rows(ctx, async |txn| deactivate(txn, &by, id).await);
        Ok(Some(StaffMember(staff.await?)))
    }
}
