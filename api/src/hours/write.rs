//! Writing volunteer hours: record, correct, delete, and the bulk import (`mothers:write`).
//!
//! Invariants every write keeps (the GraphQL layer only decodes):
//! - the caller may write in the project (`Principal::may_write_in_project`, the one write
//!   seam), checked before any of the values are looked at;
//! - the values obey [`HoursValues::problems`] (kind, date not in the future nor before the
//!   programme, 1 to 1440 minutes), the same rules for a new entry, a corrected one, every
//!   row of an import and the demo data's entries;
//! - a named mother is a mother of the entry's project, and the day lies within her time in
//!   it (not before she joined, not after she left); an entry without a mother is the group's;
//! - the entry and its audit event (ids only: no name, no minutes) are written in the
//!   caller's transaction; an import is all-or-nothing.
//!
//! What counts as ACTIVITY here is only activity that is *not* a recorded visit (preparing a
//! women's café, outreach at a market): a visit's duration already counts as activity hours
//! in `stats.volunteerHours`, so recording it again would count it twice.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};
use entity::{
    enums::{AuditAction, HoursKind},
    mother, volunteer_hours,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use uuid::Uuid;

use crate::{
    audit::{self, Actor, Event},
    auth::{Area, Principal},
    error::{ApiError, ApiResult, RowError},
    visits::write::{EARLIEST_YEAR, FieldError},
};

/// The most rows one `importVolunteerHours` call takes: one transaction must stay short.
pub const MAX_IMPORT_ROWS: usize = 1000;
/// The longest entry: one day.
pub const MAX_MINUTES: i32 = 1440;
/// Rows per INSERT: 8 columns x 500 stays far below both backends' parameter limits.
const INSERT_CHUNK: usize = 500;
/// The `entity_type` of the entries' audit events (their table name).
const HOURS_ENTITY: &str = "volunteer_hours";

/// One entry's values, decoded from the input but not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursValues {
    /// `None`: hours given by the group, no single mother.
    pub mother_id: Option<Uuid>,
    pub kind: HoursKind,
    pub worked_on: NaiveDate,
    pub minutes: i32,
}

impl HoursValues {
    /// The values of a stored entry, the starting point of a correction.
    pub fn of(entry: &volunteer_hours::Model) -> Self {
        Self {
            mother_id: entry.mother_id,
            kind: entry.kind,
            worked_on: entry.worked_on,
            minutes: entry.minutes,
        }
    }

    /// Every rule the values break on their own (no database), all of them, so an import can
    /// report each bad field at once. `today` is the caller's "now" (UTC).
    pub fn problems(&self, today: NaiveDate) -> Vec<FieldError> {
        let mut out = Vec::new();
        if self.worked_on > today {
            out.push(FieldError::new("workedOn", "is in the future"));
        }
        if self.worked_on.year() < EARLIEST_YEAR {
            out.push(FieldError::new(
                "workedOn",
                format!("is before {EARLIEST_YEAR}, when the programme started"),
            ));
        }
        if !(1..=MAX_MINUTES).contains(&self.minutes) {
            out.push(FieldError::new(
                "minutes",
                format!("must be 1 to {MAX_MINUTES} minutes (one day)"),
            ));
        }
        out
    }

    /// The problem of these values with their mother (`None` when fine): she must be of the
    /// project and in it on the day.
    fn mother_problem(&self, mothers: &HashMap<Uuid, mother::Model>) -> Option<FieldError> {
        let id = self.mother_id?;
        let Some(mother) = mothers.get(&id) else {
            return Some(FieldError::new(
                "motherId",
                "is not a mother of the project",
            ));
        };
        let left = mother.left_on.is_some_and(|left| self.worked_on > left);
        (self.worked_on < mother.joined_on || left).then(|| {
            FieldError::new(
                "workedOn",
                "is outside the mother's time in the project (before she joined or after she left)",
            )
        })
    }
}

/// The mothers of `project_id` among those `rows` name, in one query.
async fn mothers_of(
    db: &impl ConnectionTrait,
    project_id: Uuid,
    rows: &[&HoursValues],
) -> ApiResult<HashMap<Uuid, mother::Model>> {
    let ids: BTreeSet<Uuid> = rows.iter().filter_map(|r| r.mother_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(mother::Entity::find()
        .filter(mother::Column::Id.is_in(ids))
        .filter(mother::Column::ProjectId.eq(project_id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect())
}

/// Checks one entry completely (values, then its mother), naming fields under `input.`.
async fn check_one(
    db: &impl ConnectionTrait,
    project_id: Uuid,
    values: &HoursValues,
) -> ApiResult<()> {
    let mut problems = values.problems(crate::db::now().date_naive());
    if problems.is_empty() {
        let mothers = mothers_of(db, project_id, &[values]).await?;
        problems.extend(values.mother_problem(&mothers));
    }
    match problems.into_iter().next() {
        Some(p) => Err(ApiError::validation(
            format!("input.{}", p.field),
            p.message,
        )),
        None => Ok(()),
    }
}

/// A new entry of `project_id` with `values`, written at `at`, with a fresh id.
pub fn new_entry(
    project_id: Uuid,
    values: &HoursValues,
    at: chrono::DateTime<chrono::Utc>,
) -> volunteer_hours::Model {
    volunteer_hours::Model {
        id: Uuid::now_v7(),
        project_id,
        mother_id: values.mother_id,
        kind: values.kind,
        worked_on: values.worked_on,
        minutes: values.minutes,
        created_at: at,
        updated_at: at,
    }
}

/// Inserts entries with their audit events, in chunks within the parameter limits.
async fn insert_entries(
    db: &impl ConnectionTrait,
    actor: &Actor,
    entries: &[volunteer_hours::Model],
) -> ApiResult<()> {
    for chunk in entries.chunks(INSERT_CHUNK) {
        volunteer_hours::Entity::insert_many(
            chunk
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(db)
        .await?;
        audit::record(
            db,
            actor,
            chunk
                .iter()
                .map(|e| Event::new(AuditAction::Create, HOURS_ENTITY, e.id)),
        )
        .await?;
    }
    Ok(())
}

/// Records one entry in `project_id`. Field errors are named under `input.`.
pub async fn record_hours(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    project_id: Uuid,
    values: HoursValues,
) -> ApiResult<volunteer_hours::Model> {
    principal
        .may_record_work(db, Area::Mothers, project_id, values.mother_id)
        .await?;
    check_one(db, project_id, &values).await?;
    let entry = new_entry(project_id, &values, crate::db::now());
    insert_entries(db, actor, std::slice::from_ref(&entry)).await?;
    Ok(entry)
}

/// An entry the caller may write, by id: `NOT_FOUND` when it does not exist or is hidden,
/// `FORBIDDEN` when the caller may read but not write in its project.
async fn writable_entry(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> ApiResult<volunteer_hours::Model> {
    let entry = principal
        .read::<volunteer_hours::Entity>()?
        .filter(volunteer_hours::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("volunteer hours".into()))?;
    principal
        .may_record_work(db, Area::Mothers, entry.project_id, entry.mother_id)
        .await?;
    Ok(entry)
}

/// Corrects an entry: `change` edits its current values, and the result is checked like a
/// new entry. Field errors are named under `input.`.
pub async fn correct_hours(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
    change: impl FnOnce(&mut HoursValues),
) -> ApiResult<volunteer_hours::Model> {
    let stored = writable_entry(db, principal, id).await?;
    let mut values = HoursValues::of(&stored);
    change(&mut values);
    principal.may_attribute_to(values.mother_id)?;
    check_one(db, stored.project_id, &values).await?;
    let entry = volunteer_hours::Model {
        mother_id: values.mother_id,
        kind: values.kind,
        worked_on: values.worked_on,
        minutes: values.minutes,
        updated_at: crate::db::now(),
        ..stored
    };
    let mut row = entry.clone().into_active_model();
    row.mother_id = Set(entry.mother_id);
    row.kind = Set(entry.kind);
    row.worked_on = Set(entry.worked_on);
    row.minutes = Set(entry.minutes);
    row.updated_at = Set(entry.updated_at);
    volunteer_hours::Entity::update(row).exec(db).await?;
    audit::record(
        db,
        actor,
        [Event::new(AuditAction::Update, HOURS_ENTITY, id)],
    )
    .await?;
    Ok(entry)
}

/// Deletes an entry (a duplicate, a slip). Nothing else hangs off hours, and the figures
/// that counted it are recomputed from the rows, so there is no grace period as for visits.
pub async fn delete_hours(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<()> {
    writable_entry(db, principal, id).await?;
    volunteer_hours::Entity::delete_by_id(id).exec(db).await?;
    audit::record(
        db,
        actor,
        [Event::new(AuditAction::Delete, HOURS_ENTITY, id)],
    )
    .await
}

/// One row of an import: its values, or the problems found while decoding it.
pub type ImportRow = Result<HoursValues, Vec<FieldError>>;

/// Imports entries into `project_id`, all or nothing: every row is checked first, and if any
/// is bad, every bad row is reported by index (`ApiError::InvalidRows`) and nothing is
/// written. Fields are named `input.hours[i].field`.
pub async fn import_hours(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    project_id: Uuid,
    rows: Vec<ImportRow>,
) -> ApiResult<Vec<volunteer_hours::Model>> {
    principal
        .may_write_in_project(db, Area::Mothers, project_id)
        .await?;
    if rows.is_empty() || rows.len() > MAX_IMPORT_ROWS {
        return Err(ApiError::validation(
            "input.hours",
            format!("must hold 1 to {MAX_IMPORT_ROWS} rows"),
        ));
    }
    let today = crate::db::now().date_naive();
    let decoded: Vec<&HoursValues> = rows.iter().filter_map(|r| r.as_ref().ok()).collect();
    let mothers = mothers_of(db, project_id, &decoded).await?;
    let mut bad: Vec<(usize, FieldError)> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        match row {
            Ok(values) => {
                bad.extend(values.problems(today).into_iter().map(|p| (index, p)));
                bad.extend(values.mother_problem(&mothers).map(|p| (index, p)));
            }
            Err(problems) => bad.extend(problems.iter().cloned().map(|p| (index, p))),
        }
    }
    if !bad.is_empty() {
        return Err(ApiError::InvalidRows(
            bad.into_iter()
                .map(|(index, p)| RowError {
                    index,
                    field: format!("input.hours[{index}].{}", p.field),
                    message: p.message,
                })
                .collect(),
        ));
    }
    let at = crate::db::now();
    let entries: Vec<volunteer_hours::Model> = rows
        .into_iter()
        .flatten()
        .map(|values| new_entry(project_id, &values, at))
        .collect();
    insert_entries(db, actor, &entries).await?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn values(worked_on: NaiveDate, minutes: i32) -> HoursValues {
        HoursValues {
            mother_id: None,
            kind: HoursKind::Meeting,
            worked_on,
            minutes,
        }
    }

    #[test]
    fn every_broken_rule_is_reported_by_field() {
        let today = day(2026, 12, 3);
        assert!(values(today, 1).problems(today).is_empty());
        assert!(values(today, 1440).problems(today).is_empty());
        let fields = |v: HoursValues| -> Vec<String> {
            v.problems(today).into_iter().map(|p| p.field).collect()
        };
        assert_eq!(fields(values(day(2026, 12, 4), 60)), ["workedOn"]);
        assert_eq!(
            fields(values(day(2006, 12, 31), 0)),
            ["workedOn", "minutes"]
        );
        assert_eq!(fields(values(today, 1441)), ["minutes"]);
    }

    #[test]
    fn her_hours_lie_within_her_time_in_the_project() {
        let id = Uuid::now_v7();
        let now = chrono::Utc::now();
        let her = mother::Model {
            id,
            project_id: Uuid::nil(),
            first_name: "A".into(),
            last_name: "B".into(),
            phone: None,
            email: None,
            status: entity::enums::MotherStatus::Left,
            joined_on: day(2020, 1, 1),
            left_on: Some(day(2021, 1, 1)),
            corps: entity::enums::Corps::Mother,
            created_at: now,
            updated_at: now,
        };
        let mothers = HashMap::from([(id, her)]);
        let on = |d: NaiveDate| HoursValues {
            mother_id: Some(id),
            ..values(d, 60)
        };
        assert_eq!(on(day(2020, 6, 1)).mother_problem(&mothers), None);
        assert_eq!(on(day(2021, 1, 1)).mother_problem(&mothers), None);
        for outside in [day(2019, 12, 31), day(2021, 1, 2)] {
            let problem = on(outside).mother_problem(&mothers).map(|p| p.field);
            assert_eq!(problem.as_deref(), Some("workedOn"));
        }
        let stranger = HoursValues {
            mother_id: Some(Uuid::now_v7()),
            ..values(day(2020, 6, 1), 60)
        };
        let problem = stranger.mother_problem(&mothers).map(|p| p.field);
        assert_eq!(problem.as_deref(), Some("motherId"));
    }
}
