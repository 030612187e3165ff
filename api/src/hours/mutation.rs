//! The volunteer-hours mutations (`mothers:write`): thin resolvers that decode ids and enums
//! into [`HoursValues`] and run one data function of [`super::write`] in one transaction.
//!
//! An id inside `input` is a reference: malformed, of the wrong type or outside the project
//! is `BAD_USER_INPUT` naming the field. The `id` of the entry to change names the record:
//! unknown or hidden is `NOT_FOUND`. Results are nullable: a refused mutation answers `null`
//! with its error and writes nothing.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::NaiveDate;

use super::{
    VolunteerHours,
    write::{self, HoursValues, ImportRow},
};
use crate::{
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    visits::write::FieldError,
    vocabulary::HoursKind,
    writes::{caller, in_transaction},
};

/// One entry of volunteer time, as recorded; also one row of `importVolunteerHours`.
#[derive(InputObject)]
pub struct VolunteerHoursRow {
    /// A mother of the project, in it on `workedOn`; leave out for the group's own hours.
    pub mother_id: Option<ID>,
    /// ACTIVITY only for activity that is *not* a recorded visit: a visit's duration already
    /// counts as activity hours in `stats.volunteerHours`.
    pub kind: HoursKind,
    /// Not in the future, not before 2007.
    pub worked_on: NaiveDate,
    /// 1 to 1440.
    pub minutes: i32,
}

/// Volunteer time given to a project that is not a recorded visit.
#[derive(InputObject)]
pub struct RecordVolunteerHoursInput {
    /// The project the time was given to.
    pub project_id: ID,
    #[graphql(flatten)]
    pub hours: VolunteerHoursRow,
}

/// A correction: only the fields given change; `motherId: null` makes them the group's.
#[derive(InputObject)]
pub struct CorrectVolunteerHoursInput {
    /// The hours entry to correct.
    pub id: ID,
    /// Another mother of the project; `null` makes the hours the group's.
    pub mother_id: MaybeUndefined<ID>,
    /// What the time was given to (not visits: they count by their own duration).
    pub kind: Option<HoursKind>,
    /// The day the time was given: not in the future.
    pub worked_on: Option<NaiveDate>,
    /// How long, in minutes.
    pub minutes: Option<i32>,
}

/// Many hours entries of one project at once.
#[derive(InputObject)]
pub struct ImportVolunteerHoursInput {
    /// The project the hours were given to.
    pub project_id: ID,
    /// 1 to 1000 rows, written all together or not at all.
    pub hours: Vec<VolunteerHoursRow>,
}

/// What an import wrote.
#[derive(SimpleObject)]
pub struct ImportedVolunteerHours {
    /// How many entries were written (every row).
    pub count: i32,
    /// The new entries' ids, in the order of the rows.
    pub ids: Vec<ID>,
}

impl VolunteerHoursRow {
    /// The row's values, or the id in it that does not decode (relative field name).
    fn decode(self) -> ImportRow {
        let mother_id = self
            .mother_id
            .map(|id| ids::decode_as(&id, Kind::Mother, "motherId"))
            .transpose()
            .map_err(|err| vec![FieldError::from_api("motherId", err)])?;
        Ok(HoursValues {
            mother_id,
            kind: self.kind.into(),
            worked_on: self.worked_on,
            minutes: self.minutes,
        })
    }
}

/// The decoding problem of a single input as the API's error, under `input.`.
fn single(row: ImportRow) -> ApiResult<HoursValues> {
    row.map_err(|problems| match problems.into_iter().next() {
        Some(p) => ApiError::validation(format!("input.{}", p.field), p.message),
        None => ApiError::validation("input", "is invalid"),
    })
}

#[derive(Default)]
pub struct HoursMutation;

#[Object]
impl HoursMutation {
    /// Records volunteer time given to a project (`mothers:write`, the project's operator):
    /// training, meetings, other time, and ACTIVITY that is not a recorded visit — visits
    /// count as activity hours by their own duration, once.
    async fn record_volunteer_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The mother, the day, what the time was given to and how long.")]
        input: RecordVolunteerHoursInput,
    ) -> async_graphql::Result<Option<VolunteerHours>> {
        let (principal, actor) = caller(ctx)?;
        let project = ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?;
        let values = single(input.hours.decode())?;
        let entry = in_transaction(ctx, async |txn| {
            write::record_hours(txn, principal, &actor, project, values).await
        });
        Ok(Some(VolunteerHours(entry.await?)))
    }

    /// Corrects an entry; the result must be a valid entry as a whole.
    async fn correct_volunteer_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The hours entry and the fields to correct; fields left out stay as they are."
        )]
        input: CorrectVolunteerHoursInput,
    ) -> async_graphql::Result<Option<VolunteerHours>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&input.id, Kind::VolunteerHours, "input.id")?;
        let mother = match input.mother_id {
            MaybeUndefined::Value(m) => {
                MaybeUndefined::Value(ids::decode_as(&m, Kind::Mother, "input.motherId")?)
            }
            MaybeUndefined::Null => MaybeUndefined::Null,
            MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        };
        let change = |v: &mut HoursValues| {
            mother.update_to(&mut v.mother_id);
            if let Some(kind) = input.kind {
                v.kind = kind.into();
            }
            if let Some(day) = input.worked_on {
                v.worked_on = day;
            }
            if let Some(minutes) = input.minutes {
                v.minutes = minutes;
            }
        };
        let entry = in_transaction(ctx, async |txn| {
            write::correct_hours(txn, principal, &actor, id, change).await
        });
        Ok(Some(VolunteerHours(entry.await?)))
    }

    /// Deletes an entry (a duplicate or a slip). Answers the deleted id.
    async fn delete_volunteer_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the hours entry to delete.")] id: ID,
    ) -> async_graphql::Result<Option<ID>> {
        let (principal, actor) = caller(ctx)?;
        let entry = ids::decode_as(&id, Kind::VolunteerHours, "id")?;
        in_transaction(ctx, async |txn| {
            write::delete_hours(txn, principal, &actor, entry).await
        })
        .await?;
        Ok(Some(id))
    }

    /// Imports up to 1000 entries into one project, all or nothing. Bad rows are reported
    /// together: `BAD_USER_INPUT` with `extensions.rows` = `[{index, field, message}]`.
    async fn import_volunteer_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The hours entries to record in one transaction (all or none).")]
        input: ImportVolunteerHoursInput,
    ) -> async_graphql::Result<Option<ImportedVolunteerHours>> {
        let (principal, actor) = caller(ctx)?;
        let project = ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?;
        let rows: Vec<ImportRow> = input
            .hours
            .into_iter()
            .map(VolunteerHoursRow::decode)
            .collect();
        let entries = in_transaction(ctx, async |txn| {
            write::import_hours(txn, principal, &actor, project, rows).await
        })
        .await?;
        Ok(Some(ImportedVolunteerHours {
            count: i32::try_from(entries.len()).unwrap_or(i32::MAX),
            ids: entries
                .iter()
                .map(|e| Kind::VolunteerHours.id(e.id))
                .collect(),
        }))
    }
}
