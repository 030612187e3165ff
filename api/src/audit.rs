//! The audit trail: who read or changed personal data, when, through which request; and the
//! `auditEvents` query the secretariat reads it with (`audit:read`).
//!
//! Changes are recorded by the data function that makes them, inside its transaction, so a
//! change and its audit event commit or roll back together. Reads of personal data are
//! collected while a request resolves and written once when it finishes (one insert): one
//! `read` event per record read (a participant, a mother's contact details, a visit's notes),
//! whose `detail` names the [`Category`]s read as `categories: a,b` (sorted, snake_case).
//! Events are append-only and name records by raw UUID, so they outlive what they describe.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
};

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use entity::{
    api_client, audit_event, enums::AuditAction, mother, organisation, participant, staff_member,
};
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
    mothers::Mother,
    organisations::Organisation,
    pagination::{ListConnection, Ordering, PageArgs, connection},
    participants::Participant,
    schema::RequestContext,
    tokens::{ApiClient, StaffMember},
    vocabulary,
};

/// The width of `audit_event.request_id`; a longer `X-Request-Id` is cut, never refused,
/// so a partner's long correlation id cannot make a change fail.
const REQUEST_ID_CHARS: usize = 64;

/// Who acted: the API client and organisation of a request with the person its token is
/// bound to (a mother, a staff member), or an operator at the command line.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub client_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub mother_id: Option<Uuid>,
    pub staff_member_id: Option<Uuid>,
}

impl Actor {
    pub fn of(principal: &Principal, request_id: Option<String>) -> Self {
        Self {
            client_id: Some(principal.client_id),
            organisation_id: Some(principal.organisation.id),
            request_id,
            mother_id: principal.person.and_then(|p| p.mother()),
            staff_member_id: principal.person.and_then(|p| p.staff_member()),
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
        mother_id: Set(actor.mother_id),
        staff_member_id: Set(actor.staff_member_id),
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

/// A category of personal data, as a `read` event names what was read. Declared in the
/// order of their stored names, so a sorted set lists them alphabetically.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[graphql(name = "PersonalDataCategory")]
pub enum Category {
    /// `case_ref`: the receiving municipality's own case reference.
    CaseRef,
    /// `contact`: phone, e-mail, preferred contact method and language (a participant's or a
    /// mother's).
    Contact,
    /// `district`: where she lives.
    District,
    /// `identity`: first name, birth year, birth decade.
    Identity,
    /// `languages`: the languages she speaks.
    Languages,
    /// `notes`: free text about her (her own notes, a referral's, a timeline event's, a
    /// visit's).
    Notes,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::CaseRef,
        Category::Contact,
        Category::District,
        Category::Identity,
        Category::Languages,
        Category::Notes,
    ];

    /// The stored name, in a read event's `detail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::CaseRef => "case_ref",
            Category::Contact => "contact",
            Category::District => "district",
            Category::Identity => "identity",
            Category::Languages => "languages",
            Category::Notes => "notes",
        }
    }

    fn parse(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// How a read event's `detail` starts; the categories follow, comma-separated.
const CATEGORIES: &str = "categories: ";

/// `categories: contact,identity` for a set of categories (sorted by the set).
fn categories_detail(categories: &BTreeSet<Category>) -> String {
    let names: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
    format!("{CATEGORIES}{}", names.join(","))
}

/// The categories a read event's `detail` names; `None` when it names none.
fn parse_categories(detail: &str) -> Option<Vec<Category>> {
    let list = detail.strip_prefix(CATEGORIES)?;
    Some(list.split(',').filter_map(Category::parse).collect())
}

/// A record whose personal data a request read: its table, id and the participant it is
/// about (if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Subject {
    entity_type: &'static str,
    entity_id: Uuid,
    participant_id: Option<Uuid>,
}

/// The records whose personal data a request has read, with the categories read of each;
/// written once the request is done.
#[derive(Debug, Clone, Default)]
pub struct ReadLog(Arc<Mutex<BTreeMap<Subject, BTreeSet<Category>>>>);

impl ReadLog {
    /// A participant's own personal data, or a note about her (a referral's, an event's).
    pub fn participant(&self, participant_id: Uuid, category: Category) {
        self.read(
            Subject {
                entity_type: "participant",
                entity_id: participant_id,
                participant_id: Some(participant_id),
            },
            category,
        );
    }

    /// A mother's contact details.
    pub fn mother(&self, mother_id: Uuid) {
        self.read(
            Subject {
                entity_type: "mother",
                entity_id: mother_id,
                participant_id: None,
            },
            Category::Contact,
        );
    }

    /// A visit's notes, naming the participant the visit is linked to (if any).
    pub fn visit_notes(&self, visit_id: Uuid, participant_id: Option<Uuid>) {
        self.read(
            Subject {
                entity_type: "visit",
                entity_id: visit_id,
                participant_id,
            },
            Category::Notes,
        );
    }

    /// A free-text survey answer (issue 17): about a pseudonymous respondent, no participant.
    pub fn survey_answer(&self, answer_id: Uuid) {
        self.read(
            Subject {
                entity_type: "survey_answer",
                entity_id: answer_id,
                participant_id: None,
            },
            Category::Notes,
        );
    }

    fn read(&self, subject: Subject, category: Category) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(subject)
            .or_default()
            .insert(category);
    }

    fn take(&self) -> BTreeMap<Subject, BTreeSet<Category>> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Writes one `read` event per record read during the request, naming the categories
    /// read, in one INSERT committed as `commit` says.
    pub async fn flush(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        commit: ReadAuditCommit,
    ) -> ApiResult<()> {
        let events = self.take().into_iter().map(|(subject, categories)| {
            let event = Event::new(AuditAction::Read, subject.entity_type, subject.entity_id)
                .detail(categories_detail(&categories));
            match subject.participant_id {
                Some(participant) => event.about_participant(participant),
                None => event,
            }
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

    #[test]
    fn categories_are_stored_sorted_and_read_back() {
        let set: BTreeSet<Category> = [Category::Notes, Category::Contact, Category::Identity]
            .into_iter()
            .collect();
        let detail = categories_detail(&set);
        assert_eq!(detail, "categories: contact,identity,notes");
        assert_eq!(
            parse_categories(&detail),
            Some(vec![Category::Contact, Category::Identity, Category::Notes])
        );
        assert_eq!(parse_categories("draft -> requested"), None);
        let mut names: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        let declared = names.clone();
        names.sort_unstable();
        assert_eq!(names, declared, "declared in the order of their names");
    }
}
