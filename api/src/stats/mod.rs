//! Statistics: the figures partners' dashboards and the secretariat's reports to funders need
//! (mothers trained, visits, women reached, referrals and their response times, volunteer
//! hours, stale referrals), filtered and grouped, never rows.
//!
//! Invariants: every figure is one SQL statement that groups in the database ([`sql`]), over
//! the rows of the caller's area (`principal.stats()`, rule 5 of `auth::access`); callers
//! outside the secretariat get them through disclosure control ([`disclosure`]): a cell
//! counting fewer than `--stats-min-cell` people or items is `null` and marked suppressed,
//! with enough other cells that it cannot be recomputed from the totals; their periods are
//! whole months and every figure carries cell-key noise ([`perturbation`]), so that two
//! published figures cannot be subtracted to recover a suppressed one.
//!
//! Definitions (each figure filtered by its own natural date):
//! - `mothersTrained`: mothers certified on a *basic* course (theme courses certify too, but
//!   train no new mother), by certification date; a mother counts once per cell;
//! - `visits`: visits, by visit date; with TOPIC a visit counts under each of its topics, so
//!   topic cells overlap and need not add up to the total;
//! - `womenReached`: the women a visit met — its attendee count for a group event, one
//!   otherwise; visits are anonymous, so a woman met twice counts twice;
//! - `referrals`: referrals that were requested (drafts never sent do not count), by request
//!   date; a pool referral's municipality is its pool's until a project claims it;
//!   LANGUAGE is the participant's preferred language;
//! - `referralResponseTimes`: hours from request to acceptance and to completion, as count,
//!   median and 90th percentile (nearest rank);
//! - `volunteerHours`: hours given, by work date: the recorded hours entries (training,
//!   meetings, other, and activity that is not a visit) plus the duration of every visit, as
//!   ACTIVITY on its day. Each minute has one source (a visit is never also an entry), so
//!   nothing counts twice and the figure agrees with the visits; KIND splits it. Suppressed
//!   when fewer mothers than the threshold gave the time (visits' and entries' mothers
//!   together, the group's own hours naming none), so no single mother's hours show; the
//!   noise's key sum covers both kinds of rows.
//!
//! Values are `Float` throughout so hours and counts share one cell type; counts are whole.

pub mod disclosure;
pub mod evaluation;
pub mod perturbation;
mod sql;

use std::collections::HashSet;

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{Datelike, Days, NaiveDate};
use entity::{project, referral};
use sea_orm::{
    ActiveEnum, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryResult,
    sea_query::Expr,
};
use uuid::Uuid;

use self::disclosure::{Cell, Suppression};
use self::perturbation::CellKeys;
use self::sql::Filter;
use crate::{
    auth::access::StatsScope,
    context::RequestContext,
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    loaders::load_by_id,
    organisations::{Municipality, municipality_by_code},
    pagination::{ListConnection, Ordering, PageArgs, connection},
    projects::Project,
    referrals::{Referral, policy, stale_condition},
    vocabulary::{
        HoursKind, ReferralOutcome, ReferralStatus, ServiceCategory, VisitChannel, VisitTopic,
    },
};

/// Disclosure control settings, schema data: the threshold (`--stats-min-cell`) and the
/// installation's cell keys (`perturbation`).
#[derive(Debug, Clone, Copy)]
pub struct StatsPolicy {
    /// Cells counting fewer than this are suppressed for callers outside the secretariat.
    pub min_cell: u16,
    pub cell_keys: CellKeys,
}

impl StatsPolicy {
    /// The usual threshold of official statistics for small counts.
    pub const DEFAULT_MIN_CELL: u16 = 5;

    /// The policy with `min_cell` and the installation's secret (written on first start).
    pub async fn load(db: &impl ConnectionTrait, min_cell: u16) -> Result<Self, sea_orm::DbErr> {
        Ok(Self {
            min_cell,
            cell_keys: CellKeys::load(db).await?,
        })
    }
}

/// What a statistics table is grouped by. YEAR with WEEK is the ISO week-year, so that
/// (year, week) names one ISO week.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[graphql(name = "StatsDimension")]
pub enum Dimension {
    /// The calendar year of the figure's date (the ISO week-year together with WEEK).
    Year,
    /// The month of the figure's date, 1 to 12.
    Month,
    /// The ISO week of the figure's date, 1 to 53; for the secretariat only (others get whole months).
    Week,
    /// The project a row belongs to (every figure).
    Project,
    /// The municipality of the project, or of a pool referral's pool until claimed (every
    /// figure).
    Municipality,
    /// A visit's topic (`visits`, `womenReached`); a visit counts under each of its topics.
    Topic,
    /// A visit's channel (`visits`, `womenReached`).
    Channel,
    /// The service a referral asks for (`referrals`, `referralResponseTimes`).
    ServiceCategory,
    /// A referral's status now (`referrals`, `referralResponseTimes`).
    Status,
    /// A completed referral's outcome (`referrals`, `referralResponseTimes`).
    Outcome,
    /// A language, as an ISO 639 code: the participant's preferred one (`referrals`,
    /// `referralResponseTimes`), each of the mother's (`mothersTrained`).
    Language,
    /// What volunteer time was given to (`volunteerHours` only); visits are ACTIVITY.
    Kind,
    /// The corps of the volunteer a row names: the mother trained, the visit's or the hours'
    /// mother, the referral's mother (every figure; `null` for rows naming none: the group's
    /// own hours, a referral without a mother).
    Corps,
}

/// The figures, each one SQL statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Figure {
    MothersTrained,
    Visits,
    WomenReached,
    Referrals,
    ResponseTimes,
    VolunteerHours,
}

impl Figure {
    fn name(self) -> &'static str {
        match self {
            Figure::MothersTrained => "mothersTrained",
            Figure::Visits => "visits",
            Figure::WomenReached => "womenReached",
            Figure::Referrals => "referrals",
            Figure::ResponseTimes => "referralResponseTimes",
            Figure::VolunteerHours => "volunteerHours",
        }
    }

    /// The grouping expressions of `group_by`; a repeated or inapplicable dimension is
    /// BAD_USER_INPUT naming it.
    fn dimensions(
        self,
        source: sql::Source,
        backend: sea_orm::DbBackend,
        group_by: &[Dimension],
    ) -> ApiResult<Vec<(Dimension, Expr)>> {
        let mut seen = HashSet::new();
        group_by
            .iter()
            .map(|d| {
                if !seen.insert(*d) {
                    return Err(ApiError::validation(
                        "groupBy",
                        format!("{} is given twice", dimension_name(*d)),
                    ));
                }
                let expr = self
                    .dimension(source, backend, *d, group_by)
                    .ok_or_else(|| {
                        ApiError::validation(
                            "groupBy",
                            format!("{} does not apply to {}", dimension_name(*d), self.name()),
                        )
                    })?;
                Ok((*d, expr))
            })
            .collect()
    }
}

fn dimension_name(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Year => "YEAR",
        Dimension::Month => "MONTH",
        Dimension::Week => "WEEK",
        Dimension::Project => "PROJECT",
        Dimension::Municipality => "MUNICIPALITY",
        Dimension::Topic => "TOPIC",
        Dimension::Channel => "CHANNEL",
        Dimension::ServiceCategory => "SERVICE_CATEGORY",
        Dimension::Status => "STATUS",
        Dimension::Outcome => "OUTCOME",
        Dimension::Language => "LANGUAGE",
        Dimension::Kind => "KIND",
        Dimension::Corps => "CORPS",
    }
}

/// Restricts every figure; an empty list matches nothing. Periods are inclusive days.
#[derive(InputObject, Default)]
pub struct StatsFilter {
    /// First day counted (on the figure's natural date).
    pub from: Option<NaiveDate>,
    /// Last day counted.
    pub to: Option<NaiveDate>,
    /// Only these projects (within the caller's area).
    pub project_ids: Option<Vec<ID>>,
    /// Only projects in these municipalities (official codes, e.g. 101).
    pub municipality_codes: Option<Vec<i32>>,
    /// Projects operated by these organisations (referrals also: sent or received by them).
    /// Narrows within the caller's area; meant for the secretariat.
    pub organisation_ids: Option<Vec<ID>>,
}

impl StatsFilter {
    /// Outside the secretariat a period is whole months: `from` moves back to the first of
    /// its month and `to` on to the last of its, so that no two periods differ by less than
    /// a month (the cells that differencing could isolate are at least a month wide).
    fn whole_months(mut self) -> Self {
        self.from = self
            .from
            .map(|from| from - Days::new(u64::from(from.day0())));
        self.to = self.to.map(last_of_month);
        self
    }

    fn decode(self) -> ApiResult<Filter> {
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(ApiError::validation(
                "filter.to",
                "must not be before `from`",
            ));
        }
        let decode_all = |ids: Option<Vec<ID>>, kind: Kind, field: &str| {
            ids.map(|ids| {
                ids.iter()
                    .map(|id| ids::decode_as(id, kind, field))
                    .collect::<ApiResult<Vec<Uuid>>>()
            })
            .transpose()
        };
        Ok(Filter {
            from: self.from,
            to: self.to,
            projects: decode_all(self.project_ids, Kind::Project, "filter.projectIds")?,
            municipalities: self.municipality_codes,
            organisations: decode_all(
                self.organisation_ids,
                Kind::Organisation,
                "filter.organisationIds",
            )?,
        })
    }
}

#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Figures of the caller's area (`stats:read`); exact for the secretariat, under
    /// disclosure control for everyone else: whole months, small cells suppressed, every
    /// figure perturbed by its cell key (see the README's "Statistics").
    async fn stats(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The rows every figure counts: period, projects, municipality; left out: everything the token may see (its area)."
        )]
        filter: Option<StatsFilter>,
    ) -> async_graphql::Result<Option<Stats>> {
        let scope = ctx.principal()?.stats()?;
        let policy = *ctx
            .data::<StatsPolicy>()
            .map_err(|_| ApiError::internal("the statistics policy is not configured"))?;
        let mut filter = filter.unwrap_or_default();
        if !scope.exact() {
            filter = filter.whole_months();
        }
        Ok(Some(Stats {
            scope,
            filter: filter.decode()?,
            min_cell: u64::from(policy.min_cell),
            cell_keys: policy.cell_keys,
        }))
    }
}

/// The last day of `day`'s month.
fn last_of_month(day: NaiveDate) -> NaiveDate {
    let first = day - Days::new(u64::from(day.day0()));
    first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

pub struct Stats {
    scope: StatsScope,
    filter: Filter,
    min_cell: u64,
    cell_keys: CellKeys,
}

/// The figures of the caller's area under the filter: one table per figure (`stats:read`).
/// Exact for the secretariat; under disclosure control for every other caller.
#[Object]
impl Stats {
    /// The first day the figures count: the filter's `from`, moved back to the first of its
    /// month outside the secretariat.
    async fn from(&self) -> Option<NaiveDate> {
        self.filter.from
    }

    /// The last day the figures count: the filter's `to`, moved on to the last of its month
    /// outside the secretariat.
    async fn to(&self) -> Option<NaiveDate> {
        self.filter.to
    }

    /// Whether the figures carry cell-key noise (everyone but the secretariat): each within
    /// 2 of the exact count, the same every time for the same rows.
    async fn perturbed(&self) -> bool {
        !self.scope.exact()
    }

    /// Mothers certified on a basic course.
    async fn mothers_trained(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The dimensions to split the figure by, one cell per combination that occurs; left out, one cell with the total. A dimension given twice or one that does not apply to this figure is `BAD_USER_INPUT`; WEEK is for the secretariat only."
        )]
        group_by: Option<Vec<Dimension>>,
    ) -> async_graphql::Result<Option<StatsTable>> {
        Ok(Some(
            self.table(ctx, Figure::MothersTrained, group_by).await?,
        ))
    }

    /// Visits made (TOPIC cells overlap: a visit counts under each topic).
    async fn visits(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The dimensions to split the figure by, one cell per combination that occurs; left out, one cell with the total. A dimension given twice or one that does not apply to this figure is `BAD_USER_INPUT`; WEEK is for the secretariat only."
        )]
        group_by: Option<Vec<Dimension>>,
    ) -> async_graphql::Result<Option<StatsTable>> {
        Ok(Some(self.table(ctx, Figure::Visits, group_by).await?))
    }

    /// Women met on visits: a group event's attendees, one for any other visit.
    async fn women_reached(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The dimensions to split the figure by, one cell per combination that occurs; left out, one cell with the total. A dimension given twice or one that does not apply to this figure is `BAD_USER_INPUT`; WEEK is for the secretariat only."
        )]
        group_by: Option<Vec<Dimension>>,
    ) -> async_graphql::Result<Option<StatsTable>> {
        Ok(Some(self.table(ctx, Figure::WomenReached, group_by).await?))
    }

    /// Referrals requested.
    async fn referrals(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The dimensions to split the figure by, one cell per combination that occurs; left out, one cell with the total. A dimension given twice or one that does not apply to this figure is `BAD_USER_INPUT`; WEEK is for the secretariat only."
        )]
        group_by: Option<Vec<Dimension>>,
    ) -> async_graphql::Result<Option<StatsTable>> {
        Ok(Some(self.table(ctx, Figure::Referrals, group_by).await?))
    }

    /// Hours from request to acceptance and to completion.
    async fn referral_response_times(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The dimensions to split the figure by, one cell per combination that occurs; left out, one cell with the total. A dimension given twice or one that does not apply to this figure is `BAD_USER_INPUT`; WEEK is for the secretariat only."
        )]
        group_by: Option<Vec<Dimension>>,
    ) -> async_graphql::Result<Option<ResponseTimeTable>> {
        Ok(Some(self.response_times(ctx, group_by).await?))
    }

    /// Volunteer hours: the recorded entries plus every visit's duration as ACTIVITY (each
    /// minute counted once; group by KIND for activity, training, meetings and other).
    async fn volunteer_hours(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The dimensions to split the figure by, one cell per combination that occurs; left out, one cell with the total. A dimension given twice or one that does not apply to this figure is `BAD_USER_INPUT`; WEEK is for the secretariat only."
        )]
        group_by: Option<Vec<Dimension>>,
    ) -> async_graphql::Result<Option<StatsTable>> {
        Ok(Some(
            self.table(ctx, Figure::VolunteerHours, group_by).await?,
        ))
    }

    /// What the survey answers say about the programme's four goals: respondents, mean,
    /// score, distribution and the paired change since COURSE_START, under the same
    /// disclosure control as every figure (see `stats::evaluation`).
    async fn evaluation(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The dimensions to split the figure by, one cell per combination that occurs; left out, one cell with the total. A dimension given twice is `BAD_USER_INPUT`."
        )]
        group_by: Option<Vec<evaluation::EvaluationDimension>>,
    ) -> async_graphql::Result<Option<evaluation::EvaluationTable>> {
        Ok(Some(self.evaluation_table(ctx, group_by).await?))
    }

    /// Requested referrals waiting for the caller's answer longer than the agreed response
    /// time (the secretariat: everyone's).
    async fn stale_referrals(&self) -> StaleReferrals {
        StaleReferrals {
            scope: self.scope,
            filter: self.filter.clone(),
        }
    }
}

impl Stats {
    #[tracing::instrument(skip_all, fields(figure = figure.name()))]
    async fn table(
        &self,
        ctx: &Context<'_>,
        figure: Figure,
        group_by: Option<Vec<Dimension>>,
    ) -> ApiResult<StatsTable> {
        let db = ctx.db()?;
        let backend = db.get_database_backend();
        let group_by = self.grouping(group_by)?;
        let source = sql::Source::of(figure, &self.filter, &group_by);
        let dimensions = figure.dimensions(source, backend, &group_by)?;
        let statement = figure.statement(source, backend, &self.scope, &self.filter, &dimensions);
        let rows = db.query_all(&statement).await?;
        let kinds: Vec<Dimension> = dimensions.iter().map(|(d, _)| *d).collect();
        let scale = match figure {
            Figure::VolunteerHours => 1.0 / 60.0,
            _ => 1.0,
        };
        let mut total = Measure::default();
        let mut cells: Vec<(Coordinates, Measure)> = Vec::new();
        for row in &rows {
            let measure = Measure {
                count: read_i64(row, sql::COUNT)?.max(0) as u64,
                value: read_i64(row, sql::VALUE)? as f64 * scale,
                key_sum: read_i64(row, sql::KEY)?,
            };
            if is_total(row)? {
                total = measure;
            } else {
                cells.push((Coordinates::read(row, &kinds)?, measure));
            }
        }
        cells.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        if kinds.is_empty() {
            cells = vec![(Coordinates::default(), total)];
        }
        let hidden = self.protect(&cells, total.count);
        let published = |m: Measure| self.publish(figure, m);
        Ok(StatsTable {
            suppressed_cells: hidden.hidden_cells() as i32,
            total: StatsValue::new(published(total), hidden.total),
            cells: cells
                .into_iter()
                .zip(hidden.cells)
                .map(|((at, m), hidden)| StatsCell {
                    at,
                    value: StatsValue::new(published(m), hidden),
                })
                .collect(),
        })
    }

    /// The requested dimensions; WEEK only for the secretariat, whose periods are days.
    fn grouping(&self, group_by: Option<Vec<Dimension>>) -> ApiResult<Vec<Dimension>> {
        let group_by = group_by.unwrap_or_default();
        if !self.scope.exact() && group_by.contains(&Dimension::Week) {
            return Err(ApiError::validation(
                "groupBy",
                "WEEK is for the secretariat: other callers' figures are by whole months",
            ));
        }
        Ok(group_by)
    }

    /// The value a caller is given: exact for the secretariat; otherwise the count plus its
    /// cell-key noise, and hours scaled by as much as their mothers' count moved, so that one
    /// mother's hours drown in the noise of the whole.
    fn publish(&self, figure: Figure, measure: Measure) -> f64 {
        if self.scope.exact() {
            return measure.value;
        }
        let noisy = self
            .cell_keys
            .perturb(figure.name(), measure.count, measure.key_sum);
        match figure {
            Figure::VolunteerHours if measure.count == 0 => measure.value,
            Figure::VolunteerHours => {
                let hours = measure.value * noisy as f64 / measure.count as f64;
                (hours * 10.0).round() / 10.0
            }
            _ => noisy as f64,
        }
    }

    /// Response times as published: the count perturbed like every count (the median and
    /// percentile are ranks, which no difference of two tables recovers).
    fn publish_durations(&self, durations: Durations) -> Durations {
        if self.scope.exact() {
            return durations;
        }
        let count = self.cell_keys.perturb(
            Figure::ResponseTimes.name(),
            durations.count,
            durations.key_sum,
        );
        Durations { count, ..durations }
    }

    /// Which cells to hide: none for the secretariat.
    fn protect(&self, cells: &[(Coordinates, Measure)], total: u64) -> Suppression {
        if self.scope.exact() {
            return Suppression::none(cells.len());
        }
        let cells: Vec<Cell<Key>> = cells
            .iter()
            .map(|(at, m)| Cell {
                key: at.key.clone(),
                count: m.count,
                value: m.value,
            })
            .collect();
        disclosure::suppress(&cells, total, self.min_cell)
    }

    #[tracing::instrument(skip_all, fields(figure = "referralResponseTimes"))]
    async fn response_times(
        &self,
        ctx: &Context<'_>,
        group_by: Option<Vec<Dimension>>,
    ) -> ApiResult<ResponseTimeTable> {
        let db = ctx.db()?;
        let backend = db.get_database_backend();
        let dimensions = Figure::ResponseTimes.dimensions(
            sql::Source::Rows,
            backend,
            &self.grouping(group_by)?,
        )?;
        let statement = sql::response_times(backend, &self.scope, &self.filter, &dimensions);
        let rows = db.query_all(&statement).await?;
        let kinds: Vec<Dimension> = dimensions.iter().map(|(d, _)| *d).collect();
        let mut total = [Durations::default(); 2];
        let mut cells: Vec<(Coordinates, [Durations; 2])> = Vec::new();
        for row in &rows {
            let mut measures = [Durations::default(); 2];
            for (m, name) in measures.iter_mut().zip(sql::MEASURES) {
                *m = Durations::read(row, name)?;
            }
            if is_total(row)? {
                total = measures;
            } else {
                cells.push((Coordinates::read(row, &kinds)?, measures));
            }
        }
        cells.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        if kinds.is_empty() {
            cells = vec![(Coordinates::default(), total)];
        }
        // Each measure is protected as its own table of counts.
        let hidden: Vec<Suppression> = (0..2)
            .map(|m| {
                let counts: Vec<(Coordinates, Measure)> = cells
                    .iter()
                    .map(|(at, d)| (at.clone(), d[m].as_measure()))
                    .collect();
                self.protect(&counts, total[m].count)
            })
            .collect();
        let time = |durations: Durations, suppressed: bool| ResponseTime {
            durations: self.publish_durations(durations),
            suppressed,
        };
        let suppressed_cells = (0..cells.len())
            .filter(|i| hidden.iter().any(|h| h.cells[*i]))
            .count();
        Ok(ResponseTimeTable {
            suppressed_cells: suppressed_cells as i32,
            total: ResponseTimes {
                to_acceptance: time(total[0], hidden[0].total),
                to_completion: time(total[1], hidden[1].total),
            },
            cells: cells
                .into_iter()
                .enumerate()
                .map(|(i, (at, d))| ResponseTimeCell {
                    at,
                    times: ResponseTimes {
                        to_acceptance: time(d[0], hidden[0].cells[i]),
                        to_completion: time(d[1], hidden[1].cells[i]),
                    },
                })
                .collect(),
        })
    }
}

fn is_total(row: &QueryResult) -> ApiResult<bool> {
    let flag: i32 = row.try_get_by(sql::IS_TOTAL)?;
    Ok(flag == 1)
}

/// An aggregate that may be NULL (a SUM over no rows) read as 0.
fn read_i64(row: &QueryResult, column: &str) -> ApiResult<i64> {
    Ok(row.try_get_by::<Option<i64>, _>(column)?.unwrap_or(0))
}

#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    count: u64,
    value: f64,
    /// The sum of the counted rows' record keys.
    key_sum: i64,
}

/// One part of a cell's key, for ordering cells and for the disclosure rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    Null,
    Int(i32),
    Id(Uuid),
    Text(String),
}

/// Where a cell sits; only the requested dimensions are set.
#[derive(Debug, Clone, Default)]
struct Coordinates {
    key: Vec<Key>,
    year: Option<i32>,
    month: Option<i32>,
    week: Option<i32>,
    project: Option<Uuid>,
    municipality: Option<i32>,
    topic: Option<VisitTopic>,
    channel: Option<VisitChannel>,
    service_category: Option<ServiceCategory>,
    status: Option<ReferralStatus>,
    outcome: Option<ReferralOutcome>,
    language: Option<String>,
    kind: Option<HoursKind>,
    corps: Option<crate::vocabulary::Corps>,
}

impl Coordinates {
    fn read(row: &QueryResult, dimensions: &[Dimension]) -> ApiResult<Self> {
        let mut at = Coordinates::default();
        for (i, dimension) in dimensions.iter().enumerate() {
            let column = sql::dim(i);
            let int = || row.try_get_by::<Option<i32>, _>(column.as_str());
            let text = || row.try_get_by::<Option<String>, _>(column.as_str());
            let key = match dimension {
                Dimension::Year => int_key(&mut at.year, int()?),
                Dimension::Month => int_key(&mut at.month, int()?),
                Dimension::Week => int_key(&mut at.week, int()?),
                Dimension::Municipality => int_key(&mut at.municipality, int()?),
                Dimension::Project => {
                    at.project = row.try_get_by::<Option<Uuid>, _>(column.as_str())?;
                    at.project.map_or(Key::Null, Key::Id)
                }
                Dimension::Language => {
                    at.language = text()?;
                    at.language.clone().map_or(Key::Null, Key::Text)
                }
                Dimension::Topic => {
                    enum_key::<entity::enums::VisitTopic, _>(&mut at.topic, text()?)?
                }
                Dimension::Channel => {
                    enum_key::<entity::enums::VisitChannel, _>(&mut at.channel, text()?)?
                }
                Dimension::ServiceCategory => enum_key::<entity::enums::ServiceCategory, _>(
                    &mut at.service_category,
                    text()?,
                )?,
                Dimension::Status => {
                    enum_key::<entity::enums::ReferralStatus, _>(&mut at.status, text()?)?
                }
                Dimension::Outcome => {
                    enum_key::<entity::enums::ReferralOutcome, _>(&mut at.outcome, text()?)?
                }
                Dimension::Kind => enum_key::<entity::enums::HoursKind, _>(&mut at.kind, text()?)?,
                Dimension::Corps => enum_key::<entity::enums::Corps, _>(&mut at.corps, text()?)?,
            };
            at.key.push(key);
        }
        Ok(at)
    }
}

fn int_key(slot: &mut Option<i32>, value: Option<i32>) -> Key {
    *slot = value;
    value.map_or(Key::Null, Key::Int)
}

/// Reads a stored enum value into its GraphQL twin; the stored text is the key.
fn enum_key<E, G>(slot: &mut Option<G>, text: Option<String>) -> ApiResult<Key>
where
    E: ActiveEnum<Value = String>,
    G: From<E>,
{
    let Some(text) = text else {
        return Ok(Key::Null);
    };
    let value = E::try_from_value(&text)
        .map_err(|_| ApiError::internal(format!("unknown stored value {text:?}")))?;
    *slot = Some(value.into());
    Ok(Key::Text(text))
}

/// A published number, or `null` with `suppressed: true`.
#[derive(Debug, Clone, Copy)]
pub struct StatsValue {
    value: f64,
    suppressed: bool,
}

impl StatsValue {
    fn new(value: f64, suppressed: bool) -> Self {
        Self { value, suppressed }
    }
}

/// One value of a figure, with whether disclosure control suppressed it.
#[Object]
impl StatsValue {
    /// `null` when suppressed. Counts are whole numbers; hours have fractions.
    async fn value(&self) -> Option<f64> {
        (!self.suppressed).then_some(self.value)
    }
    /// Hidden by disclosure control (too small, or would give a small cell away).
    async fn suppressed(&self) -> bool {
        self.suppressed
    }
}

/// A figure grouped by the requested dimensions; without `groupBy` one cell, the total.
pub struct StatsTable {
    cells: Vec<StatsCell>,
    total: StatsValue,
    suppressed_cells: i32,
}

/// A figure grouped by the requested dimensions; without `groupBy` one cell, the total.
#[Object]
impl StatsTable {
    /// Non-empty cells only, ordered by their dimensions.
    async fn cells(&self) -> &[StatsCell] {
        &self.cells
    }
    /// Over everything the filter keeps (computed, not summed: overlapping cells count once).
    async fn total(&self) -> StatsValue {
        self.total
    }
    /// How many cells are suppressed.
    async fn suppressed_cells(&self) -> i32 {
        self.suppressed_cells
    }
}

pub struct StatsCell {
    at: Coordinates,
    value: StatsValue,
}

pub struct ResponseTimeCell {
    at: Coordinates,
    times: ResponseTimes,
}

/// The dimension fields every cell type shares, followed by the type's own fields.
macro_rules! cell_object {
    ($(#[$meta:meta])* $cell:ident { $($own:tt)* }) => {
        $(#[$meta])*
        #[Object]
        impl $cell {
            /// Calendar year; the ISO week-year when grouped by WEEK too.
            async fn year(&self) -> Option<i32> {
                self.at.year
            }
            /// Month, 1 to 12; `null` unless grouped by MONTH.
            async fn month(&self) -> Option<i32> {
                self.at.month
            }
            /// ISO 8601 week number.
            async fn week(&self) -> Option<i32> {
                self.at.week
            }
            /// The project's id; readable with `stats:read` alone.
            async fn project_id(&self) -> Option<ID> {
                self.at.project.map(|id| Kind::Project.id(id))
            }
            /// The project itself, under the projects' own rules (`projects:read`).
            async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
                let Some(id) = self.at.project else { return Ok(None) };
                Ok(load_by_id::<project::Entity>(ctx, id).await?.map(Project))
            }
            /// The official Danish municipality code (101 København); `null` unless grouped by
            /// MUNICIPALITY.
            async fn municipality_code(&self) -> Option<i32> {
                self.at.municipality
            }
            /// The municipality of `municipalityCode`, with its name and region.
            async fn municipality(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Municipality>> {
                Ok(municipality_by_code(ctx, self.at.municipality).await?)
            }
            /// The visits' topic; `null` unless grouped by TOPIC.
            async fn topic(&self) -> Option<VisitTopic> {
                self.at.topic
            }
            /// The visits' channel; `null` unless grouped by CHANNEL.
            async fn channel(&self) -> Option<VisitChannel> {
                self.at.channel
            }
            /// The service the referrals ask for; `null` unless grouped by SERVICE_CATEGORY.
            async fn service_category(&self) -> Option<ServiceCategory> {
                self.at.service_category
            }
            /// The referrals' status now; `null` unless grouped by STATUS.
            async fn status(&self) -> Option<ReferralStatus> {
                self.at.status
            }
            /// The completed referrals' outcome; `null` unless grouped by OUTCOME (and for
            /// referrals without one).
            async fn outcome(&self) -> Option<ReferralOutcome> {
                self.at.outcome
            }
            /// Language code (a mother's spoken language; a participant's preferred one).
            async fn language(&self) -> Option<&str> {
                self.at.language.as_deref()
            }
            /// What the volunteer time was given to; visits are ACTIVITY.
            async fn kind(&self) -> Option<HoursKind> {
                self.at.kind
            }
            /// The volunteers' corps; `null` unless grouped by CORPS (and for rows naming no
            /// volunteer).
            async fn corps(&self) -> Option<crate::vocabulary::Corps> {
                self.at.corps
            }
            $($own)*
        }
    };
}

cell_object! {
    /// One cell of a figure's table: the dimensions it is grouped by (the others are `null`)
    /// and its value.
    StatsCell {
        /// The count (or hours) of this cell; `null` when suppressed.
        async fn value(&self) -> Option<f64> {
            (!self.value.suppressed).then_some(self.value.value)
        }
        /// Hidden by disclosure control (too small, or would give a small cell away).
        async fn suppressed(&self) -> bool {
            self.value.suppressed
        }
    }
}

cell_object! {
    /// One cell of the response-time table: the dimensions it is grouped by (the others are
    /// `null`) and the two durations.
    ResponseTimeCell {
        /// Hours from request to acceptance (or a pool referral's claim).
        async fn to_acceptance(&self) -> ResponseTime {
            self.times.to_acceptance
        }
        /// Hours from request to completion, for completed referrals.
        async fn to_completion(&self) -> ResponseTime {
            self.times.to_completion
        }
    }
}

/// Counts and ranked durations of one measure, as read from the database (seconds).
#[derive(Debug, Clone, Copy, Default)]
struct Durations {
    count: u64,
    median: Option<i64>,
    p90: Option<i64>,
    key_sum: i64,
}

impl Durations {
    fn read(row: &QueryResult, measure: &str) -> ApiResult<Self> {
        let get = |what: &str| {
            row.try_get_by::<Option<i64>, _>(sql::measure_column(measure, what).as_str())
        };
        Ok(Self {
            count: get("n")?.unwrap_or(0).max(0) as u64,
            median: get("p50")?,
            p90: get("p90")?,
            key_sum: get(sql::KEY)?.unwrap_or(0),
        })
    }

    fn as_measure(&self) -> Measure {
        Measure {
            count: self.count,
            value: self.count as f64,
            key_sum: self.key_sum,
        }
    }
}

/// How fast referrals were answered: how many, and the median and 90th percentile in hours
/// (nearest rank). All `null` when suppressed: fewer than the threshold, or hidden to protect
/// another cell.
#[derive(Debug, Clone, Copy)]
pub struct ResponseTime {
    durations: Durations,
    suppressed: bool,
}

/// How fast referrals were answered: how many, and the median and 90th percentile in hours
/// (nearest rank). All `null` when suppressed: fewer than the threshold, or hidden to protect
/// another cell.
#[Object]
impl ResponseTime {
    /// How many referrals the durations are of; `null` when suppressed.
    async fn count(&self) -> Option<i32> {
        (!self.suppressed).then_some(self.durations.count as i32)
    }
    /// The median, in hours; `null` when suppressed or none.
    async fn median_hours(&self) -> Option<f64> {
        self.hours(self.durations.median)
    }
    /// The 90th percentile (nearest rank), in hours; `null` when suppressed or none.
    async fn percentile90_hours(&self) -> Option<f64> {
        self.hours(self.durations.p90)
    }
    /// Hidden by disclosure control (too few, or would give a small cell away).
    async fn suppressed(&self) -> bool {
        self.suppressed
    }
}

impl ResponseTime {
    fn hours(&self, seconds: Option<i64>) -> Option<f64> {
        seconds
            .filter(|_| !self.suppressed)
            .map(|s| s as f64 / 3600.0)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ResponseTimes {
    to_acceptance: ResponseTime,
    to_completion: ResponseTime,
}

/// Both response times of a set of referrals.
#[Object]
impl ResponseTimes {
    /// From request to acceptance (or a pool referral's claim).
    async fn to_acceptance(&self) -> ResponseTime {
        self.to_acceptance
    }
    /// From request to completion, for completed referrals.
    async fn to_completion(&self) -> ResponseTime {
        self.to_completion
    }
}

/// Response times grouped by the requested dimensions. A cell counts as suppressed when
/// either of its measures is.
pub struct ResponseTimeTable {
    cells: Vec<ResponseTimeCell>,
    total: ResponseTimes,
    suppressed_cells: i32,
}

/// Response times grouped by the requested dimensions. A cell counts as suppressed when either
/// of its measures is.
#[Object]
impl ResponseTimeTable {
    /// Non-empty cells only, ordered by their dimensions.
    async fn cells(&self) -> &[ResponseTimeCell] {
        &self.cells
    }
    /// Over everything the filter keeps.
    async fn total(&self) -> ResponseTimes {
        self.total
    }
    /// How many cells are suppressed.
    async fn suppressed_cells(&self) -> i32 {
        self.suppressed_cells
    }
}

/// Requested referrals unanswered beyond the response time (`--referral-response-days`),
/// addressed to the caller. The count is the caller's own work queue and is exact.
pub struct StaleReferrals {
    scope: StatsScope,
    filter: Filter,
}

/// Requested referrals unanswered beyond the response time (`--referral-response-days`),
/// addressed to the caller.
#[Object]
impl StaleReferrals {
    /// How many; exact (the caller's own work queue); `null` with an error without
    /// `referrals:read`.
    async fn count(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i32>> {
        let cutoff = policy(ctx)?.cutoff(crate::db::now());
        let awaiting = self.scope.awaiting_answer();
        let scope = match (self.scope.referrals(), awaiting) {
            (Some(a), Some(b)) => Some(sea_orm::Condition::all().add(a).add(b)),
            (a, b) => a.or(b),
        };
        let count = referral::Entity::find()
            .filter(sql::referral_filter(scope, &self.filter))
            .filter(sql::requested_period(&self.filter))
            .filter(stale_condition(cutoff))
            .count(ctx.db()?)
            .await
            .map_err(ApiError::from)?;
        Ok(Some(count as i32))
    }

    /// The stale referrals themselves, oldest request first; needs `referrals:read`.
    async fn referrals(
        &self,
        ctx: &Context<'_>,
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
    ) -> async_graphql::Result<Option<ListConnection<Referral>>> {
        let cutoff = policy(ctx)?.cutoff(crate::db::now());
        let mut query = ctx.principal()?.read::<referral::Entity>()?;
        if let Some(awaiting) = self.scope.awaiting_answer() {
            query = query.filter(awaiting);
        }
        let query = query
            .filter(sql::referral_filter(None, &self.filter))
            .filter(sql::requested_period(&self.filter))
            .filter(stale_condition(cutoff));
        let ordering = Ordering::ascending(
            "requested_at",
            referral::Column::RequestedAt,
            referral::Column::Id,
        );
        let args = PageArgs::new(first, after, last, before);
        Ok(Some(
            connection(ctx.db()?, query, ordering, args, Referral).await?,
        ))
    }
}
