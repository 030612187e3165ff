//! The audit trail: who read or changed personal data, when, through which request. The
//! `auditEvents` query the secretariat reads it with is `audit_trail`; this module only writes,
//! and it stands below `auth` and every area, which record through it.
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

use async_graphql::Enum;
use entity::{audit_event, enums::AuditAction};
use sea_orm::{
    ActiveValue::Set,
    ConnectionTrait, DbBackend, EntityTrait, QueryTrait,
    sea_query::{Expr, InsertStatement, Query},
};
use uuid::Uuid;

use crate::error::ApiResult;

mod writer;

pub use writer::{DEFAULT_BATCH_REQUESTS, ReadAuditWriter};

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
pub(crate) fn parse_categories(detail: &str) -> Option<Vec<Category>> {
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

    /// One `read` event per record read so far, naming the categories read; the log is
    /// empty afterwards.
    fn events(&self) -> Vec<Event> {
        self.take()
            .into_iter()
            .map(|(subject, categories)| {
                let event = Event::new(AuditAction::Read, subject.entity_type, subject.entity_id)
                    .detail(categories_detail(&categories));
                match subject.participant_id {
                    Some(participant) => event.about_participant(participant),
                    None => event,
                }
            })
            .collect()
    }

    /// Commits the request's `read` events through the group-commit writer and returns once
    /// they are durable, together with those of the requests finishing beside it.
    pub async fn commit_with(&self, writer: &ReadAuditWriter, actor: &Actor) -> ApiResult<()> {
        writer.commit(actor, self.events()).await
    }

    /// Writes one `read` event per record read during the request, naming the categories
    /// read, in one INSERT committed as `commit` says (on `db`: the pool, or the transaction
    /// of a keyed mutation).
    pub async fn flush(
        &self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        commit: ReadAuditCommit,
    ) -> ApiResult<()> {
        let events = self.events();
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
