//! The audit trail: who read or changed personal data, when, through which request; and the
//! `auditEvents` query the secretariat reads it with (`audit:read`).
//!
//! Changes are recorded by the data function that makes them, inside its transaction, so a
//! change and its audit event commit or roll back together. Reads of personal data are
//! collected while a request resolves and written once when it finishes (one insert).
//! Events are append-only and name records by raw UUID, so they outlive what they describe.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{api_client, audit_event, enums::AuditAction, organisation, participant};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait, Select,
    sea_query::{Expr, InsertStatement, Query},
};
use uuid::Uuid;

use crate::{
    auth::Principal,
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    loaders::load_by_id,
    organisations::Organisation,
    pagination::{ListConnection, Ordering, PageArgs, connection},
    participants::Participant,
    schema::RequestContext,
    tokens::ApiClient,
    vocabulary,
};

/// The width of `audit_event.request_id`; a longer `X-Request-Id` is cut, never refused,
/// so a partner's long correlation id cannot make a change fail.
const REQUEST_ID_CHARS: usize = 64;

/// Who acted: the API client and organisation of a request, or an operator at the command line.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub client_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn of(principal: &Principal, request_id: Option<String>) -> Self {
        Self {
            client_id: Some(principal.client_id),
            organisation_id: Some(principal.organisation.id),
            request_id,
        }
    }

    /// An operator using the command line, which acts with database trust.
    pub fn operator() -> Self {
        Self::default()
    }
}

/// One thing that happened to one record.
#[derive(Debug, Clone)]
pub struct Event {
    pub action: AuditAction,
    pub entity_type: &'static str,
    pub entity_id: Option<Uuid>,
    pub participant_id: Option<Uuid>,
    pub detail: Option<String>,
}

impl Event {
    pub fn new(action: AuditAction, entity_type: &'static str, entity_id: Uuid) -> Self {
        Self {
            action,
            entity_type,
            entity_id: Some(entity_id),
            participant_id: None,
            detail: None,
        }
    }

    /// A change to a record without a UUID (a signing key, named by its kid in `detail`).
    pub fn unkeyed(action: AuditAction, entity_type: &'static str, detail: String) -> Self {
        Self {
            action,
            entity_type,
            entity_id: None,
            participant_id: None,
            detail: Some(detail),
        }
    }

    pub fn about_participant(mut self, participant_id: Uuid) -> Self {
        self.participant_id = Some(participant_id);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

fn row(actor: &Actor, event: Event, at: chrono::DateTime<chrono::Utc>) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        occurred_at: Set(at),
        request_id: Set(actor
            .request_id
            .as_deref()
            .map(|id| id.chars().take(REQUEST_ID_CHARS).collect())),
        client_id: Set(actor.client_id),
        organisation_id: Set(actor.organisation_id),
        action: Set(event.action),
        entity_type: Set(event.entity_type.to_owned()),
        entity_id: Set(event.entity_id),
        participant_id: Set(event.participant_id),
        detail: Set(event.detail),
    }
}

/// The events as one INSERT, or `None` when there are none.
fn insert(actor: &Actor, events: impl IntoIterator<Item = Event>) -> Option<InsertStatement> {
    let at = crate::db::now();
    let rows: Vec<_> = events.into_iter().map(|e| row(actor, e, at)).collect();
    (!rows.is_empty()).then(|| audit_event::Entity::insert_many(rows).into_query())
}

/// Writes events; call it with the transaction that makes the change.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    events: impl IntoIterator<Item = Event>,
) -> ApiResult<()> {
    if let Some(insert) = insert(actor, events) {
        db.execute(&insert).await?;
    }
    Ok(())
}

/// How the audit record of a request's personal-data *reads* is committed (`--read-audit`).
/// Changes are never affected: their audit events commit with the change itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ReadAuditCommit {
    /// The record is on disk before the response is sent: no crash can lose it. On
    /// PostgreSQL that is one WAL flush per request that reads personal data (2-4 ms on the
    /// benchmark machine's disk), which bounds a single connection's request rate.
    #[default]
    Durable,
    /// PostgreSQL acknowledges the record once written, before its WAL flush
    /// (`synchronous_commit = off` for that transaction only). The response still waits for
    /// the record; a crash of the database server (not of Bydel) can lose the records of the
    /// last fraction of a second (at most three `wal_writer_delay`s). No effect on SQLite.
    Deferred,
}

/// Participants whose personal data a request has read; written once the request is done.
#[derive(Debug, Clone, Default)]
pub struct ReadLog(Arc<Mutex<BTreeSet<Uuid>>>);

impl ReadLog {
    pub fn participant(&self, participant_id: Uuid) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(participant_id);
    }

    fn take(&self) -> BTreeSet<Uuid> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Writes one `read` event per participant read during the request, committed as
    /// `commit` says.
    pub async fn flush(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        commit: ReadAuditCommit,
    ) -> ApiResult<()> {
        let events = self.take().into_iter().map(|participant| {
            Event::new(AuditAction::Read, "participant", participant).about_participant(participant)
        });
        let Some(mut insert) = insert(actor, events) else {
            return Ok(());
        };
        if commit == ReadAuditCommit::Deferred && db.get_database_backend() == DbBackend::Postgres {
            // One statement, its own transaction: `set_config(.., true)` runs while the INSERT
            // does and holds until that transaction ends, so its commit does not wait for the
            // WAL flush. (An explicit BEGIN / SET LOCAL / COMMIT costs three more round trips,
            // more than the flush of one row on an idle disk.)
            insert.returning(
                Query::returning()
                    .expr(Expr::cust("set_config('synchronous_commit', 'off', true)")),
            );
        }
        db.execute(&insert).await?;
        Ok(())
    }
}

/// One entry of the audit trail.
pub struct AuditEvent(pub audit_event::Model);

#[Object]
impl AuditEvent {
    pub async fn id(&self) -> ID {
        Kind::AuditEvent.id(self.0.id)
    }
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }
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
    /// The `X-Request-Id` of the request that acted (its first 64 characters).
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// What changed, in words; never personal data.
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
}

#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    /// Events about this participant (a data-subject access request).
    pub participant_id: Option<ID>,
    /// Events caused by this API client.
    pub client_id: Option<ID>,
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
        filter: Option<AuditEventFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Option<ListConnection<AuditEvent>>> {
        let query = filtered(ctx.principal()?, filter.unwrap_or_default())?;
        let args = PageArgs::new(first, after, last, before);
        Ok(Some(
            connection(ctx.db()?, query, newest_first(), args, AuditEvent).await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_request_ids_are_cut_to_the_column() {
        let actor = Actor {
            request_id: Some("ø".repeat(100)),
            ..Actor::default()
        };
        let event = Event::new(AuditAction::Read, "participant", Uuid::now_v7());
        let row = row(&actor, event, crate::db::now());
        let sea_orm::ActiveValue::Set(Some(id)) = row.request_id else {
            panic!("the request id is set");
        };
        assert_eq!(id.chars().count(), REQUEST_ID_CHARS);
    }
}
