//! The visit mutations (`visits:write`): thin resolvers that decode ids and enums into
//! [`VisitValues`] and run one data function of [`super::write`] in one transaction.
//!
//! An id inside `input` is a reference: malformed, of the wrong type or outside the project
//! is `BAD_USER_INPUT` naming the field. The `id` of the visit to change names the record:
//! unknown or hidden is `NOT_FOUND`. Results are nullable: a refused mutation answers `null`
//! with its error and writes nothing.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::NaiveDate;

use super::{
    Visit,
    write::{self, FieldError, ImportRow, VisitValues},
};
use crate::{
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    vocabulary::{ContactOrigin, NextStep, VisitChannel, VisitTopic},
    writes::{caller, in_transaction},
};

/// One visit's values, as recorded; also one row of `importVisits`.
#[derive(InputObject)]
pub struct VisitRow {
    /// A mother of the visit's project.
    pub mother_id: ID,
    /// The form the visit took.
    pub channel: VisitChannel,
    /// Not in the future, not before 2007.
    pub visited_on: NaiveDate,
    /// 1 to 1440.
    pub duration_minutes: i32,
    /// 1 to 10 distinct topics.
    pub topics: Vec<VisitTopic>,
    /// How the contact came about.
    pub contact_origin: ContactOrigin,
    /// The next step agreed.
    pub next_step: NextStep,
    /// Required for GROUP_EVENT (1 to 10000), left out otherwise.
    pub attendee_count: Option<i32>,
    /// Leave out for an anonymous visit (the default); otherwise a participant of the project.
    pub participant_id: Option<ID>,
    /// Free text, at most 4000 characters; shown only to the project's operator.
    pub notes: Option<String>,
}

/// One visit of a project.
#[derive(InputObject)]
pub struct RecordVisitInput {
    /// The project the visit belongs to.
    pub project_id: ID,
    #[graphql(flatten)]
    pub visit: VisitRow,
}

/// A correction: only the fields given change. `topics` replaces every topic; `null` clears
/// `attendeeCount`, `participantId` or `notes`.
#[derive(InputObject)]
pub struct CorrectVisitInput {
    /// The visit to correct.
    pub id: ID,
    /// Another mother of the visit's project.
    pub mother_id: Option<ID>,
    /// The form the visit took.
    pub channel: Option<VisitChannel>,
    /// The day of the visit: not in the future, not before 2007.
    pub visited_on: Option<NaiveDate>,
    /// How long it took: 1 to 1440 minutes.
    pub duration_minutes: Option<i32>,
    /// 1 to 10 distinct topics; replaces every topic.
    pub topics: Option<Vec<VisitTopic>>,
    /// How the contact came about.
    pub contact_origin: Option<ContactOrigin>,
    /// The next step agreed.
    pub next_step: Option<NextStep>,
    /// For a GROUP_EVENT, 1 to 10000; `null` clears it.
    pub attendee_count: MaybeUndefined<i32>,
    /// A participant of the project to link the visit to; `null` makes it anonymous again.
    pub participant_id: MaybeUndefined<ID>,
    /// Free text, at most 4000 characters, shown only to the project's operator; `null` clears
    /// it.
    pub notes: MaybeUndefined<String>,
}

/// Many visits of one project at once (e.g. from a paper form or a spreadsheet).
#[derive(InputObject)]
pub struct ImportVisitsInput {
    /// The project the visits belong to.
    pub project_id: ID,
    /// 1 to 1000 rows, written all together or not at all.
    pub visits: Vec<VisitRow>,
}

/// What an import wrote.
#[derive(SimpleObject)]
pub struct ImportedVisits {
    /// How many visits were written (every row).
    pub count: i32,
    /// The new visits' ids, in the order of the rows.
    pub visit_ids: Vec<ID>,
}

/// Decodes an optional reference id, naming `field` on failure.
fn optional_id(id: Option<&ID>, kind: Kind, field: &str) -> Result<Option<uuid::Uuid>, FieldError> {
    id.map(|id| ids::decode_as(id, kind, field))
        .transpose()
        .map_err(|err| FieldError::from_api(field, err))
}

impl VisitRow {
    /// The row's values, or every id in it that does not decode (relative field names).
    fn decode(self) -> ImportRow {
        let mother = ids::decode_as(&self.mother_id, Kind::Mother, "motherId")
            .map_err(|err| FieldError::from_api("motherId", err));
        let participant = optional_id(
            self.participant_id.as_ref(),
            Kind::Participant,
            "participantId",
        );
        let (mother_id, participant_id) = match (mother, participant) {
            (Ok(m), Ok(p)) => (m, p),
            (m, p) => return Err([m.err(), p.err()].into_iter().flatten().collect()),
        };
        Ok(VisitValues {
            mother_id,
            channel: self.channel.into(),
            visited_on: self.visited_on,
            duration_minutes: self.duration_minutes,
            topics: self.topics.into_iter().map(Into::into).collect(),
            contact_origin: self.contact_origin.into(),
            next_step: self.next_step.into(),
            attendee_count: self.attendee_count,
            participant_id,
            notes: self.notes,
        })
    }
}

/// The first decoding problem of a single input as the API's error, under `input.`.
fn single(row: ImportRow) -> ApiResult<VisitValues> {
    row.map_err(|problems| match problems.into_iter().next() {
        Some(p) => ApiError::validation(format!("input.{}", p.field), p.message),
        None => ApiError::validation("input", "is invalid"),
    })
}

#[derive(Default)]
pub struct VisitMutation;

#[Object]
impl VisitMutation {
    /// Records a visit (anonymous unless `participantId` is given).
    async fn record_visit(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The visit: mother, date, channel, duration, topics, how the contact came about, next step."
        )]
        input: RecordVisitInput,
    ) -> async_graphql::Result<Option<Visit>> {
        let (principal, actor) = caller(ctx)?;
        let project = ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?;
        let values = single(input.visit.decode())?;
        let visit = in_transaction(ctx, async |txn| {
            write::record_visit(txn, principal, &actor, project, values).await
        });
        Ok(Some(Visit(visit.await?)))
    }

    /// Corrects a visit; the result must be a valid visit as a whole.
    async fn correct_visit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The visit and the fields to correct; fields left out stay as they are.")]
        input: CorrectVisitInput,
    ) -> async_graphql::Result<Option<Visit>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&input.id, Kind::Visit, "input.id")?;
        let mother = input
            .mother_id
            .map(|m| ids::decode_as(&m, Kind::Mother, "input.motherId"))
            .transpose()?;
        let participant = match input.participant_id {
            MaybeUndefined::Value(p) => MaybeUndefined::Value(ids::decode_as(
                &p,
                Kind::Participant,
                "input.participantId",
            )?),
            MaybeUndefined::Null => MaybeUndefined::Null,
            MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        };
        let change = |v: &mut VisitValues| {
            if let Some(m) = mother {
                v.mother_id = m;
            }
            if let Some(c) = input.channel {
                v.channel = c.into();
            }
            if let Some(d) = input.visited_on {
                v.visited_on = d;
            }
            if let Some(d) = input.duration_minutes {
                v.duration_minutes = d;
            }
            if let Some(t) = input.topics {
                v.topics = t.into_iter().map(Into::into).collect();
            }
            if let Some(o) = input.contact_origin {
                v.contact_origin = o.into();
            }
            if let Some(n) = input.next_step {
                v.next_step = n.into();
            }
            input.attendee_count.update_to(&mut v.attendee_count);
            participant.update_to(&mut v.participant_id);
            input.notes.update_to(&mut v.notes);
        };
        let visit = in_transaction(ctx, async |txn| {
            write::correct_visit(txn, principal, &actor, id, change).await
        });
        Ok(Some(Visit(visit.await?)))
    }

    /// Deletes a visit within 7 days of its recording (later: `INVALID_TRANSITION`; once a
    /// referral came out of it: `CONFLICT`). Answers the deleted id.
    async fn delete_visit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The id of the visit to delete.")] id: ID,
    ) -> async_graphql::Result<Option<ID>> {
        let (principal, actor) = caller(ctx)?;
        let visit = ids::decode_as(&id, Kind::Visit, "id")?;
        in_transaction(ctx, async |txn| {
            write::delete_visit(txn, principal, &actor, visit).await
        })
        .await?;
        Ok(Some(id))
    }

    /// Imports up to 1000 visits into one project, all or nothing. Bad rows are reported
    /// together: `BAD_USER_INPUT` with `extensions.rows` = `[{index, field, message}]`.
    async fn import_visits(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The visits to record in one transaction (all or none), with a key per row for idempotent retries."
        )]
        input: ImportVisitsInput,
    ) -> async_graphql::Result<Option<ImportedVisits>> {
        let (principal, actor) = caller(ctx)?;
        let project = ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?;
        let rows: Vec<ImportRow> = input.visits.into_iter().map(VisitRow::decode).collect();
        let visits = in_transaction(ctx, async |txn| {
            write::import_visits(txn, principal, &actor, project, rows).await
        })
        .await?;
        Ok(Some(ImportedVisits {
            count: i32::try_from(visits.len()).unwrap_or(i32::MAX),
            visit_ids: visits.iter().map(|v| Kind::Visit.id(v.id)).collect(),
        }))
    }
}
