//! Writing visits: record, correct, delete within the grace period, and the bulk import.
//!
//! Invariants every write keeps (the GraphQL layer only decodes):
//! - the caller may write in the visit's project (`Principal::may_write_in_project`, the one
//!   write seam), checked before any of the visit's values are looked at;
//! - a visit's mother is a mother of its project, and a linked participant belongs to it;
//! - the values obey [`VisitValues::problems`] (date, duration, topics, attendee count, notes),
//!   the same rules for a new visit, a corrected one and every row of an import;
//! - the visit, its topics and its audit events are written in the caller's transaction, so
//!   they land together or not at all; an import is all-or-nothing.

use std::collections::{BTreeSet, HashSet};

use chrono::{Datelike, NaiveDate, TimeDelta};
use entity::{
    enums::{AuditAction, ContactOrigin, NextStep, VisitChannel, VisitTopic},
    mother, participant, referral, visit, visit_topic,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use crate::{
    audit::{self, Actor, Event},
    auth::{Area, Principal},
    error::{ApiError, ApiResult, RowError},
};

use super::tally::Tallies;

/// How long after recording a visit its author may still delete it. Later, the record is part
/// of reported activity (funders, statistics) and can only be corrected.
pub const GRACE_PERIOD: TimeDelta = TimeDelta::days(7);
/// The most rows one `importVisits` call takes: one transaction must stay short.
pub const MAX_IMPORT_ROWS: usize = 1000;
/// The longest `notes` text, in characters.
pub const MAX_NOTES_CHARS: usize = 4000;
/// The programme started in 2007; an earlier date is a typo.
pub const EARLIEST_YEAR: i32 = 2007;
/// The most topics on one visit (there are ten topics).
pub const MAX_TOPICS: usize = 10;
/// The most attendees of one group event; more is a typo.
pub const MAX_ATTENDEES: i32 = 10_000;
/// Rows per INSERT: 13 visit columns x 500 stays far below SQLite's and PostgreSQL's
/// bound-parameter limits, whatever the import size.
const INSERT_CHUNK: usize = 500;
/// The `entity_type` of a visit's audit events (its table name).
const VISIT_ENTITY: &str = "visit";

/// A problem with one field of one visit; `field` is relative (`durationMinutes`), the caller
/// prefixes the path of its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// A decoding failure of the shared id parsers as a field error of `field`.
    pub fn from_api(field: &str, err: ApiError) -> Self {
        match err {
            ApiError::Validation { message, .. } => Self::new(field, message),
            other => Self::new(field, other.to_string()),
        }
    }
}

/// A visit's values, decoded from the input but not yet checked.
#[derive(Debug, Clone)]
pub struct VisitValues {
    pub mother_id: Uuid,
    pub channel: VisitChannel,
    pub visited_on: NaiveDate,
    pub duration_minutes: i32,
    pub topics: Vec<VisitTopic>,
    pub contact_origin: ContactOrigin,
    pub next_step: NextStep,
    pub attendee_count: Option<i32>,
    pub participant_id: Option<Uuid>,
    pub notes: Option<String>,
}

impl VisitValues {
    /// The values of a stored visit, the starting point of a correction.
    pub fn of(visit: &visit::Model, topics: Vec<VisitTopic>) -> Self {
        Self {
            mother_id: visit.mother_id,
            channel: visit.channel,
            visited_on: visit.visited_on,
            duration_minutes: visit.duration_minutes,
            topics,
            contact_origin: visit.contact_origin,
            next_step: visit.next_step,
            attendee_count: visit.attendee_count,
            participant_id: visit.participant_id,
            notes: visit.notes.clone(),
        }
    }

    /// Every rule the values break on their own (no database), all of them, so an import can
    /// report each bad field at once.
    pub fn problems(&self, today: NaiveDate) -> Vec<FieldError> {
        let mut out = Vec::new();
        if self.visited_on > today {
            out.push(FieldError::new("visitedOn", "is in the future"));
        }
        if self.visited_on.year() < EARLIEST_YEAR {
            out.push(FieldError::new(
                "visitedOn",
                format!("is before {EARLIEST_YEAR}, when the programme started"),
            ));
        }
        if !(1..=1440).contains(&self.duration_minutes) {
            out.push(FieldError::new(
                "durationMinutes",
                "must be 1 to 1440 minutes (one day)",
            ));
        }
        let distinct: HashSet<_> = self.topics.iter().collect();
        if self.topics.is_empty() || self.topics.len() > MAX_TOPICS {
            out.push(FieldError::new(
                "topics",
                format!("must name 1 to {MAX_TOPICS} topics"),
            ));
        } else if distinct.len() != self.topics.len() {
            out.push(FieldError::new("topics", "names a topic twice"));
        }
        match (self.channel, self.attendee_count) {
            (VisitChannel::GroupEvent, None) => out.push(FieldError::new(
                "attendeeCount",
                "is required for a GROUP_EVENT",
            )),
            (VisitChannel::GroupEvent, Some(n)) if !(1..=MAX_ATTENDEES).contains(&n) => out.push(
                FieldError::new("attendeeCount", format!("must be 1 to {MAX_ATTENDEES}")),
            ),
            (VisitChannel::GroupEvent, Some(_)) | (_, None) => {}
            (_, Some(_)) => out.push(FieldError::new(
                "attendeeCount",
                "is only for a GROUP_EVENT; leave it out for other channels",
            )),
        }
        if let Some(notes) = &self.notes
            && notes.chars().count() > MAX_NOTES_CHARS
        {
            out.push(FieldError::new(
                "notes",
                format!("is longer than {MAX_NOTES_CHARS} characters"),
            ));
        }
        out
    }
}

/// The first problem of a single visit as the API's error, its field under `prefix`.
fn first_problem(prefix: &str, problems: Vec<FieldError>) -> ApiResult<()> {
    match problems.into_iter().next() {
        Some(p) => Err(ApiError::validation(
            format!("{prefix}{}", p.field),
            p.message,
        )),
        None => Ok(()),
    }
}

/// Problems with the references of `rows` (mother and participant must belong to
/// `project_id`), found with one query per table whatever the number of rows.
async fn reference_problems(
    db: &impl ConnectionTrait,
    project_id: Uuid,
    rows: &[&VisitValues],
) -> ApiResult<Vec<(usize, FieldError)>> {
    let mothers: BTreeSet<Uuid> = rows.iter().map(|r| r.mother_id).collect();
    let known_mothers: HashSet<Uuid> = mother::Entity::find()
        .select_only()
        .column(mother::Column::Id)
        .filter(mother::Column::Id.is_in(mothers))
        .filter(mother::Column::ProjectId.eq(project_id))
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let participants: BTreeSet<Uuid> = rows.iter().filter_map(|r| r.participant_id).collect();
    let known_participants: HashSet<Uuid> = if participants.is_empty() {
        HashSet::new()
    } else {
        participant::Entity::find()
            .select_only()
            .column(participant::Column::Id)
            .filter(participant::Column::Id.is_in(participants))
            .filter(participant::Column::ProjectId.eq(project_id))
            .into_tuple::<Uuid>()
            .all(db)
            .await?
            .into_iter()
            .collect()
    };
    let mut out = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        if !known_mothers.contains(&row.mother_id) {
            out.push((
                index,
                FieldError::new("motherId", "is not a mother of the visit's project"),
            ));
        }
        if let Some(p) = row.participant_id
            && !known_participants.contains(&p)
        {
            out.push((
                index,
                FieldError::new(
                    "participantId",
                    "is not a participant of the visit's project",
                ),
            ));
        }
    }
    Ok(out)
}

/// Checks one visit completely (values, then references), naming fields under `prefix`.
async fn check_one(
    db: &impl ConnectionTrait,
    project_id: Uuid,
    values: &VisitValues,
    prefix: &str,
) -> ApiResult<()> {
    first_problem(prefix, values.problems(crate::db::now().date_naive()))?;
    let references = reference_problems(db, project_id, &[values]).await?;
    first_problem(prefix, references.into_iter().map(|(_, p)| p).collect())
}

fn active_visit(model: &visit::Model) -> visit::ActiveModel {
    visit::ActiveModel {
        id: Set(model.id),
        project_id: Set(model.project_id),
        mother_id: Set(model.mother_id),
        participant_id: Set(model.participant_id),
        channel: Set(model.channel),
        visited_on: Set(model.visited_on),
        duration_minutes: Set(model.duration_minutes),
        contact_origin: Set(model.contact_origin),
        next_step: Set(model.next_step),
        attendee_count: Set(model.attendee_count),
        notes: Set(model.notes.clone()),
        created_at: Set(model.created_at),
        updated_at: Set(model.updated_at),
    }
}

fn new_model(
    project_id: Uuid,
    values: &VisitValues,
    at: chrono::DateTime<chrono::Utc>,
) -> visit::Model {
    visit::Model {
        id: Uuid::now_v7(),
        project_id,
        mother_id: values.mother_id,
        participant_id: values.participant_id,
        channel: values.channel,
        visited_on: values.visited_on,
        duration_minutes: values.duration_minutes,
        contact_origin: values.contact_origin,
        next_step: values.next_step,
        attendee_count: values.attendee_count,
        notes: values.notes.clone(),
        created_at: at,
        updated_at: at,
    }
}

fn topic_rows(
    visit_id: Uuid,
    topics: &[VisitTopic],
) -> impl Iterator<Item = visit_topic::ActiveModel> {
    topics.iter().map(move |topic| visit_topic::ActiveModel {
        visit_id: Set(visit_id),
        topic: Set(*topic),
    })
}

/// The audit event of a change to `visit`, naming her participant when the visit does.
fn event(action: AuditAction, visit: &visit::Model) -> Event {
    let event = Event::new(action, VISIT_ENTITY, visit.id);
    match visit.participant_id {
        Some(participant) => event.about_participant(participant),
        None => event,
    }
}

/// Inserts visits with their topics and audit events, in chunks that respect the backends'
/// parameter limits.
async fn insert_visits(
    db: &impl ConnectionTrait,
    actor: &Actor,
    visits: &[(visit::Model, Vec<VisitTopic>)],
) -> ApiResult<()> {
    for chunk in visits.chunks(INSERT_CHUNK) {
        visit::Entity::insert_many(chunk.iter().map(|(v, _)| active_visit(v)))
            .exec_without_returning(db)
            .await?;
        let topics: Vec<_> = chunk
            .iter()
            .flat_map(|(v, topics)| topic_rows(v.id, topics))
            .collect();
        // Two columns per topic row: a chunk's topics (at most 10 per visit) stay in bounds.
        visit_topic::Entity::insert_many(topics)
            .exec_without_returning(db)
            .await?;
        audit::record(
            db,
            actor,
            chunk.iter().map(|(v, _)| event(AuditAction::Create, v)),
        )
        .await?;
    }
    let mut tallies = Tallies::default();
    for (visit, topics) in visits {
        tallies.add(visit, topics.iter().copied());
    }
    tallies.apply(db).await
}

/// Records one visit in `project_id`. Field errors are named under `input.`.
pub async fn record_visit(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    project_id: Uuid,
    values: VisitValues,
) -> ApiResult<visit::Model> {
    principal
        .may_record_work(db, Area::Visits, project_id, Some(values.mother_id))
        .await?;
    check_one(db, project_id, &values, "input.").await?;
    let model = new_model(project_id, &values, crate::db::now());
    insert_visits(db, actor, &[(model.clone(), values.topics)]).await?;
    Ok(model)
}

/// A visit the caller may write, by id: `NOT_FOUND` when it does not exist or is hidden,
/// `FORBIDDEN` when the caller may read but not write in its project.
async fn writable_visit(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> ApiResult<visit::Model> {
    let visit = principal
        .read::<visit::Entity>()?
        .filter(visit::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("visit".into()))?;
    principal
        .may_record_work(db, Area::Visits, visit.project_id, Some(visit.mother_id))
        .await?;
    Ok(visit)
}

/// The topics of a stored visit.
async fn topics_of(db: &impl ConnectionTrait, visit_id: Uuid) -> ApiResult<Vec<VisitTopic>> {
    Ok(visit_topic::Entity::find()
        .filter(visit_topic::Column::VisitId.eq(visit_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.topic)
        .collect())
}

/// Corrects a visit: `change` edits its current values, the result is checked like a new
/// visit (so e.g. switching to GROUP_EVENT needs an attendee count) and replaces the visit
/// and all of its topics. Field errors are named under `input.`.
pub async fn correct_visit(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
    change: impl FnOnce(&mut VisitValues),
) -> ApiResult<visit::Model> {
    let stored = writable_visit(db, principal, id).await?;
    let stored_topics = topics_of(db, id).await?;
    let mut values = VisitValues::of(&stored, stored_topics.clone());
    change(&mut values);
    principal.may_attribute_to(Some(values.mother_id))?;
    check_one(db, stored.project_id, &values, "input.").await?;
    let mut model = new_model(stored.project_id, &values, crate::db::now());
    model.id = stored.id;
    model.created_at = stored.created_at;
    let mut row = active_visit(&model);
    row.id = sea_orm::ActiveValue::Unchanged(model.id);
    visit::Entity::update(row).exec(db).await?;
    visit_topic::Entity::delete_many()
        .filter(visit_topic::Column::VisitId.eq(id))
        .exec(db)
        .await?;
    visit_topic::Entity::insert_many(topic_rows(id, &values.topics))
        .exec_without_returning(db)
        .await?;
    let mut tallies = Tallies::default();
    tallies.remove(&stored, stored_topics);
    tallies.add(&model, values.topics.iter().copied());
    tallies.apply(db).await?;
    audit::record(db, actor, [event(AuditAction::Update, &model)]).await?;
    Ok(model)
}

/// Deletes a visit recorded less than [`GRACE_PERIOD`] ago. Later, or once a referral came
/// out of it, the visit is part of the record: `INVALID_TRANSITION` and `CONFLICT`.
pub async fn delete_visit(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<()> {
    let visit = writable_visit(db, principal, id).await?;
    if crate::db::now() - visit.created_at > GRACE_PERIOD {
        return Err(ApiError::InvalidTransition(format!(
            "a visit can be deleted only within {} days of being recorded; correct it instead",
            GRACE_PERIOD.num_days()
        )));
    }
    let referrals = referral::Entity::find()
        .filter(referral::Column::VisitId.eq(id))
        .count(db)
        .await?;
    if referrals > 0 {
        return Err(ApiError::Conflict(
            "a referral came out of this visit, so it cannot be deleted; correct it instead".into(),
        ));
    }
    let mut tallies = Tallies::default();
    tallies.remove(&visit, topics_of(db, id).await?);
    visit_topic::Entity::delete_many()
        .filter(visit_topic::Column::VisitId.eq(id))
        .exec(db)
        .await?;
    visit::Entity::delete_by_id(id).exec(db).await?;
    tallies.apply(db).await?;
    audit::record(db, actor, [event(AuditAction::Delete, &visit)]).await
}

/// One row of an import: its values, or the problems found while decoding it.
pub type ImportRow = Result<VisitValues, Vec<FieldError>>;

/// Imports visits into `project_id`, all or nothing: every row is checked first, and if any
/// is bad, every bad row is reported by index (`ApiError::InvalidRows`) and nothing is
/// written. Fields are named `input.visits[i].field`.
pub async fn import_visits(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    project_id: Uuid,
    rows: Vec<ImportRow>,
) -> ApiResult<Vec<visit::Model>> {
    principal
        .may_write_in_project(db, Area::Visits, project_id)
        .await?;
    if rows.is_empty() || rows.len() > MAX_IMPORT_ROWS {
        return Err(ApiError::validation(
            "input.visits",
            format!("must hold 1 to {MAX_IMPORT_ROWS} rows"),
        ));
    }
    let today = crate::db::now().date_naive();
    let mut bad: Vec<(usize, FieldError)> = Vec::new();
    let mut decoded: Vec<(usize, &VisitValues)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match row {
            Ok(values) => {
                bad.extend(values.problems(today).into_iter().map(|p| (index, p)));
                decoded.push((index, values));
            }
            Err(problems) => bad.extend(problems.iter().cloned().map(|p| (index, p))),
        }
    }
    let values: Vec<&VisitValues> = decoded.iter().map(|(_, v)| *v).collect();
    for (position, problem) in reference_problems(db, project_id, &values).await? {
        bad.push((decoded[position].0, problem));
    }
    if !bad.is_empty() {
        bad.sort_by_key(|(index, _)| *index);
        return Err(ApiError::InvalidRows(
            bad.into_iter()
                .map(|(index, p)| RowError {
                    index,
                    field: format!("input.visits[{index}].{}", p.field),
                    message: p.message,
                })
                .collect(),
        ));
    }
    let at = crate::db::now();
    let visits: Vec<(visit::Model, Vec<VisitTopic>)> = rows
        .into_iter()
        .flatten()
        .map(|values| (new_model(project_id, &values, at), values.topics))
        .collect();
    insert_visits(db, actor, &visits).await?;
    Ok(visits.into_iter().map(|(v, _)| v).collect())
}
