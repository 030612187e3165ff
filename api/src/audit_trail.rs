//! The `auditEvents` query: the secretariat reads the audit trail (`audit:read`), newest first,
//! with each event's actor, client, person and subject resolved as objects. Writing the trail
//! is `audit`'s; this module sits on the top floor beside the areas whose types it names.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{
    api_client, audit_event, enums::AuditAction, mother, organisation, participant, staff_member,
};
use sea_orm::{ColumnTrait, QueryFilter, Select};

use crate::{
    audit::{Category, parse_categories},
    auth::Principal,
    context::RequestContext,
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    loaders::load_by_id,
    mothers::Mother,
    organisations::Organisation,
    pagination::{ListConnection, Ordering, PageArgs, connection},
    participants::Participant,
    tokens::{ApiClient, StaffMember},
    vocabulary,
};

/// One entry of the audit trail.
pub struct AuditEvent(pub audit_event::Model);

/// Who read or changed personal data or a record, when, through which client and request;
/// written in the same transaction as the change (`audit:read`). Never holds the data itself.
#[Object]
impl AuditEvent {
    /// The event's global id.
    pub async fn id(&self) -> ID {
        Kind::AuditEvent.id(self.0.id)
    }
    /// When it was done.
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
    /// What was done: a read of personal data or a kind of change.
    async fn action(&self) -> vocabulary::AuditAction {
        self.0.action.into()
    }
    /// The kind of record, by its table name, e.g. `participant` or `api_client`.
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    /// The record's UUID (not a global id: the record may no longer exist).
    async fn entity_id(&self) -> Option<String> {
        self.0.entity_id.map(|id| id.to_string())
    }
    /// The participant the event concerns, while she exists and this token may see her.
    async fn participant(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Participant>> {
        let Some(participant) = self.0.participant_id else {
            return Ok(None);
        };
        Ok(load_by_id::<participant::Entity>(ctx, participant)
            .await?
            .map(Participant))
    }
    /// The participant's UUID, kept after her record is gone.
    async fn participant_id(&self) -> Option<String> {
        self.0.participant_id.map(|id| id.to_string())
    }
    /// The API client that acted; `null` for the operator at the command line, or once the
    /// client is deleted (`clientId` still names it).
    async fn client(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ApiClient>> {
        let Some(client) = self.0.client_id else {
            return Ok(None);
        };
        Ok(load_by_id::<api_client::Entity>(ctx, client)
            .await?
            .map(ApiClient))
    }
    /// The acting client's UUID, kept after the client is deleted.
    async fn client_id(&self) -> Option<String> {
        self.0.client_id.map(|id| id.to_string())
    }
    /// The organisation the acting client belongs to.
    async fn organisation(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Organisation>> {
        let Some(organisation) = self.0.organisation_id else {
            return Ok(None);
        };
        Ok(load_by_id::<organisation::Entity>(ctx, organisation)
            .await?
            .map(Organisation))
    }
    /// The mother who acted, when the token was bound to her (the mothers' app); `null`
    /// otherwise, or when this token may not see her (`motherId` still names her).
    async fn mother(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Mother>> {
        let Some(mother) = self.0.mother_id else {
            return Ok(None);
        };
        Ok(load_by_id::<mother::Entity>(ctx, mother).await?.map(Mother))
    }
    /// The UUID of the mother who acted, kept whatever becomes of her record.
    async fn mother_id(&self) -> Option<String> {
        self.0.mother_id.map(|id| id.to_string())
    }
    /// The staff member who acted, when the token was bound to them (a caseworker).
    async fn staff_member(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<StaffMember>> {
        let Some(staff) = self.0.staff_member_id else {
            return Ok(None);
        };
        Ok(load_by_id::<staff_member::Entity>(ctx, staff)
            .await?
            .map(StaffMember))
    }
    /// The UUID of the staff member who acted.
    async fn staff_member_id(&self) -> Option<String> {
        self.0.staff_member_id.map(|id| id.to_string())
    }
    /// The `X-Request-Id` of the request that acted (its first 64 characters).
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// What changed, in words; never personal data. For a read: `categories: ` and the
    /// categories read, as in `categories`.
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
    /// For a read, the categories of personal data it returned (alphabetical); `null` for
    /// other events.
    async fn categories(&self) -> Option<Vec<Category>> {
        if self.0.action != AuditAction::Read {
            return None;
        }
        self.0.detail.as_deref().and_then(parse_categories)
    }
}

/// Conditions on the audit events listed; every one given must hold.
#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    /// Events about this participant (a data-subject access request).
    pub participant_id: Option<ID>,
    /// Events caused by this API client.
    pub client_id: Option<ID>,
    /// Events caused by this mother (through a token bound to her).
    pub mother_id: Option<ID>,
    /// Events caused by this staff member (through a token bound to them).
    pub staff_member_id: Option<ID>,
    /// Events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Events before this time.
    pub to: Option<DateTime<Utc>>,
}

/// Newest first; the (participant, time) and (client, time) indexes serve both filters.
fn newest_first() -> Ordering<audit_event::Entity> {
    use audit_event::Column::{Id, OccurredAt};
    Ordering::descending("occurred_at_desc", OccurredAt, Id)
}

fn filtered(
    principal: &Principal,
    filter: AuditEventFilter,
) -> ApiResult<Select<audit_event::Entity>> {
    let mut query = principal.read::<audit_event::Entity>()?;
    if let Some(participant) = filter.participant_id {
        let participant = ids::decode_as(&participant, Kind::Participant, "filter.participantId")?;
        query = query.filter(audit_event::Column::ParticipantId.eq(participant));
    }
    if let Some(client) = filter.client_id {
        let client = ids::decode_as(&client, Kind::ApiClient, "filter.clientId")?;
        query = query.filter(audit_event::Column::ClientId.eq(client));
    }
    if let Some(mother) = filter.mother_id {
        let mother = ids::decode_as(&mother, Kind::Mother, "filter.motherId")?;
        query = query.filter(audit_event::Column::MotherId.eq(mother));
    }
    if let Some(staff) = filter.staff_member_id {
        let staff = ids::decode_as(&staff, Kind::StaffMember, "filter.staffMemberId")?;
        query = query.filter(audit_event::Column::StaffMemberId.eq(staff));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && to < from
    {
        return Err(ApiError::validation(
            "filter.to",
            "the end of the period is before its start",
        ));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_event::Column::OccurredAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_event::Column::OccurredAt.lt(to));
    }
    Ok(query)
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit trail, newest first (needs `audit:read`; the secretariat's only). Filter by
    /// participant for a data-subject access request, or by client.
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Narrows the list; every condition given must hold. Left out: every audit event the token may see."
        )]
        filter: Option<AuditEventFilter>,
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
    ) -> async_graphql::Result<Option<ListConnection<AuditEvent>>> {
        let query = filtered(ctx.principal()?, filter.unwrap_or_default())?;
        let args = PageArgs::new(first, after, last, before);
        Ok(Some(
            connection(ctx.db()?, query, newest_first(), args, AuditEvent).await?,
        ))
    }
}
