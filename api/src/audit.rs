//! The audit trail: who read or changed personal data, when, through which request.
//!
//! Changes are recorded by the data function that makes them, inside its transaction, so a
//! change and its audit event commit or roll back together. Reads of personal data are
//! collected while a request resolves and written once when it finishes (one insert).

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};

use entity::{audit_event, enums::AuditAction};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::{auth::Principal, error::ApiResult};

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
        request_id: Set(actor.request_id.clone()),
        client_id: Set(actor.client_id),
        organisation_id: Set(actor.organisation_id),
        action: Set(event.action),
        entity_type: Set(event.entity_type.to_owned()),
        entity_id: Set(event.entity_id),
        participant_id: Set(event.participant_id),
        detail: Set(event.detail),
    }
}

/// Writes events; call it with the transaction that makes the change.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    events: impl IntoIterator<Item = Event>,
) -> ApiResult<()> {
    let at = crate::db::now();
    let rows: Vec<_> = events.into_iter().map(|e| row(actor, e, at)).collect();
    if rows.is_empty() {
        return Ok(());
    }
    audit_event::Entity::insert_many(rows).exec(db).await?;
    Ok(())
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

    /// Writes one `read` event per participant read during the request.
    pub async fn flush(&self, db: &impl ConnectionTrait, actor: &Actor) -> ApiResult<()> {
        let events = self.take().into_iter().map(|participant| {
            Event::new(AuditAction::Read, "participant", participant).about_participant(participant)
        });
        record(db, actor, events).await
    }
}
