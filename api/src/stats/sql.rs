//! The SQL of the statistics: one statement per figure, grouped in the database.
//!
//! Every figure is `cells UNION ALL total`: the cells grouped by the requested dimensions and
//! the grand total over the same rows, in one round trip. The total is computed, not summed,
//! because some dimensions overlap (a visit with two topics counts under both) and some counts
//! are distinct (a mother trained counts once). Response times rank durations with window
//! functions (nearest-rank median and 90th percentile). Only standard SQL runs on both
//! backends, except date parts and durations: `strftime`/`julianday` on SQLite,
//! `EXTRACT` on PostgreSQL (timestamps taken at UTC), chosen per backend so that both give the
//! same numbers (ISO weeks and ISO week-years on both).

use chrono::{Datelike, NaiveDate, NaiveTime};
use entity::{
    course, enrolment,
    enums::{CourseKind, EnrolmentStatus, HoursKind, ReferralStatus},
    mother, mother_language, participant, project, referral, visit, visit_month, visit_topic,
    visit_topic_month, volunteer_hours,
};
use sea_orm::{
    ActiveEnum, ColumnTrait, Condition, DbBackend, EntityName, EntityTrait, QueryFilter,
    QuerySelect, QueryTrait,
    sea_query::{
        Alias, CaseStatement, Expr, ExprTrait, Func, Order, OverStatement, Query, SelectStatement,
        UnionType, WindowStatement,
    },
};
use uuid::Uuid;

use super::{Dimension, Figure};
use crate::auth::access::StatsScope;

/// The filter of a `stats(filter:)` request, decoded.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub projects: Option<Vec<Uuid>>,
    pub municipalities: Option<Vec<i32>>,
    pub organisations: Option<Vec<Uuid>>,
}

/// Column aliases of a figure's result rows.
pub const IS_TOTAL: &str = "is_total";
pub const COUNT: &str = "n";
pub const VALUE: &str = "v";
/// The sum of the counted rows' record keys (`stats::perturbation`).
pub const KEY: &str = "k";

/// A row's record key in SQL: the low 24 bits of its UUID `id`, equal to
/// `perturbation::record_key` (a 16-byte blob on SQLite, whose `hex` is the UUID's digits;
/// `uuid` on PostgreSQL).
pub fn record_key(backend: DbBackend, id: Expr) -> Expr {
    const SQLITE: &str = "((instr('0123456789ABCDEF', substr(hex($1), 27, 1)) - 1) * 1048576 \
        + (instr('0123456789ABCDEF', substr(hex($1), 28, 1)) - 1) * 65536 \
        + (instr('0123456789ABCDEF', substr(hex($1), 29, 1)) - 1) * 4096 \
        + (instr('0123456789ABCDEF', substr(hex($1), 30, 1)) - 1) * 256 \
        + (instr('0123456789ABCDEF', substr(hex($1), 31, 1)) - 1) * 16 \
        + (instr('0123456789ABCDEF', substr(hex($1), 32, 1)) - 1))";
    match backend {
        DbBackend::Sqlite => custom(
            backend,
            SQLITE,
            std::array::from_fn::<_, 6, _>(|_| id.clone()),
        ),
        _ => custom(
            backend,
            "('x' || right(replace(CAST($1 AS TEXT), '-', ''), 6))::bit(24)::int",
            [id],
        ),
    }
}

/// `SUM(record_key(id))` over a group, 0 for none.
fn key_sum(backend: DbBackend, id: Expr) -> Expr {
    Func::coalesce([Func::sum(record_key(backend, id)).into(), Expr::cust("0")]).into()
}

/// The alias of the `i`-th grouping column.
pub fn dim(i: usize) -> String {
    format!("d{i}")
}

/// The alias of the tally table a figure counted from the monthly tallies reads.
const TALLY: &str = "tally";

fn tally_col(column: &'static str) -> Expr {
    Expr::col((Alias::new(TALLY), Alias::new(column)))
}

/// The alias of the volunteer time `volunteerHours` counts: recorded hours and visits.
const TIME: &str = "volunteer_time";

fn time_col(column: &'static str) -> Expr {
    Expr::col((Alias::new(TIME), Alias::new(column)))
}

/// Where a figure is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The rows themselves: every figure, any period, any grouping.
    Rows,
    /// The monthly tallies of visits (`visit_month`, `visit_topic_month`), which hold the same
    /// numbers as the visits (kept so in each visit's transaction): a municipality's year is
    /// a few thousand tally rows instead of hundreds of thousands of visits.
    MonthlyTallies,
}

impl Source {
    /// The tallies answer visits and women reached over whole months (a period from a first
    /// to a last day of a month, either end open) grouped by what they carry; anything else
    /// is counted from the rows.
    pub fn of(figure: Figure, filter: &Filter, group_by: &[Dimension]) -> Self {
        let counts_visits = matches!(figure, Figure::Visits | Figure::WomenReached);
        let whole_months = filter.from.is_none_or(|from| from.day() == 1)
            && filter
                .to
                .is_none_or(|to| to.succ_opt().is_some_and(|next| next.day() == 1));
        let carried = group_by.iter().all(|d| {
            matches!(
                d,
                Dimension::Year
                    | Dimension::Month
                    | Dimension::Project
                    | Dimension::Municipality
                    | Dimension::Channel
                    | Dimension::Topic
            )
        });
        if counts_visits && whole_months && carried {
            Self::MonthlyTallies
        } else {
            Self::Rows
        }
    }
}

/// What a date dimension extracts.
#[derive(Debug, Clone, Copy)]
enum Part {
    Year,
    IsoYear,
    Month,
    IsoWeek,
}

/// A figure's natural date: a DATE column, or a UTC timestamp.
#[derive(Debug, Clone, Copy)]
enum DateColumn {
    Date(Expr2),
    Timestamp(Expr2),
}

/// A column reference that can be turned into an expression more than once.
#[derive(Debug, Clone, Copy)]
struct Expr2(fn() -> Expr);

impl DateColumn {
    fn expr(self) -> Expr {
        match self {
            Self::Date(e) | Self::Timestamp(e) => (e.0)(),
        }
    }

    fn part(self, backend: DbBackend, part: Part) -> Expr {
        let sqlite = |format: &'static str| match format {
            "%Y" => "CAST(strftime('%Y', $1) AS INTEGER)",
            "%G" => "CAST(strftime('%G', $1) AS INTEGER)",
            "%m" => "CAST(strftime('%m', $1) AS INTEGER)",
            _ => "CAST(strftime('%V', $1) AS INTEGER)",
        };
        let template = match (backend, part, self) {
            (DbBackend::Sqlite, Part::Year, _) => sqlite("%Y"),
            (DbBackend::Sqlite, Part::IsoYear, _) => sqlite("%G"),
            (DbBackend::Sqlite, Part::Month, _) => sqlite("%m"),
            (DbBackend::Sqlite, Part::IsoWeek, _) => sqlite("%V"),
            (_, Part::Year, Self::Date(_)) => "CAST(EXTRACT(YEAR FROM $1) AS INTEGER)",
            (_, Part::IsoYear, Self::Date(_)) => "CAST(EXTRACT(ISOYEAR FROM $1) AS INTEGER)",
            (_, Part::Month, Self::Date(_)) => "CAST(EXTRACT(MONTH FROM $1) AS INTEGER)",
            (_, Part::IsoWeek, Self::Date(_)) => "CAST(EXTRACT(WEEK FROM $1) AS INTEGER)",
            (_, Part::Year, Self::Timestamp(_)) => {
                "CAST(EXTRACT(YEAR FROM ($1 AT TIME ZONE 'UTC')) AS INTEGER)"
            }
            (_, Part::IsoYear, Self::Timestamp(_)) => {
                "CAST(EXTRACT(ISOYEAR FROM ($1 AT TIME ZONE 'UTC')) AS INTEGER)"
            }
            (_, Part::Month, Self::Timestamp(_)) => {
                "CAST(EXTRACT(MONTH FROM ($1 AT TIME ZONE 'UTC')) AS INTEGER)"
            }
            (_, Part::IsoWeek, Self::Timestamp(_)) => {
                "CAST(EXTRACT(WEEK FROM ($1 AT TIME ZONE 'UTC')) AS INTEGER)"
            }
        };
        custom(backend, template, [self.expr()])
    }

    /// `from`..=`to`, inclusive whole days (UTC for timestamps).
    fn period(self, filter: &Filter) -> Condition {
        let mut condition = Condition::all();
        match self {
            Self::Date(_) => {
                if let Some(from) = filter.from {
                    condition = condition.add(self.expr().gte(from));
                }
                if let Some(to) = filter.to {
                    condition = condition.add(self.expr().lte(to));
                }
            }
            Self::Timestamp(_) => {
                if let Some(from) = filter.from {
                    condition =
                        condition.add(self.expr().gte(from.and_time(NaiveTime::MIN).and_utc()));
                }
                if let Some(next) = filter.to.and_then(|to| to.succ_opt()) {
                    condition =
                        condition.add(self.expr().lt(next.and_time(NaiveTime::MIN).and_utc()));
                }
            }
        }
        condition
    }
}

/// Seconds from `start` to `end` (both UTC timestamps), as an integer; NULL if either is.
fn seconds_between(backend: DbBackend, end: Expr, start: Expr) -> Expr {
    let template = match backend {
        DbBackend::Sqlite => "CAST(ROUND((julianday($1) - julianday($2)) * 86400) AS INTEGER)",
        _ => "CAST(EXTRACT(EPOCH FROM ($1 - $2)) AS BIGINT)",
    };
    custom(backend, template, [end, start])
}

/// A backend-specific expression around `exprs`. Templates name them `$1`, `$2`, ... in order
/// of appearance; sea-query's SQLite writer substitutes `?` instead.
fn custom<const N: usize>(backend: DbBackend, template: &'static str, exprs: [Expr; N]) -> Expr {
    let template = match backend {
        DbBackend::Sqlite => {
            (1..=N).fold(template.to_owned(), |t, i| t.replace(&format!("${i}"), "?"))
        }
        _ => template.to_owned(),
    };
    Expr::cust_with_exprs(template, exprs)
}

fn col<E: EntityTrait, C: sea_orm::ColumnTrait>(entity: E, column: C) -> Expr {
    Expr::col((entity, column))
}

/// The date parts of `dimensions`: with WEEK, YEAR is the ISO week-year so that (year, week)
/// names one week.
fn date_dimension(
    date: DateColumn,
    backend: DbBackend,
    dimension: Dimension,
    all: &[Dimension],
) -> Option<Expr> {
    let iso = all.contains(&Dimension::Week);
    Some(match dimension {
        Dimension::Year if iso => date.part(backend, Part::IsoYear),
        Dimension::Year => date.part(backend, Part::Year),
        Dimension::Month => date.part(backend, Part::Month),
        Dimension::Week => date.part(backend, Part::IsoWeek),
        _ => return None,
    })
}

impl Figure {
    fn date(self, source: Source) -> DateColumn {
        if source == Source::MonthlyTallies {
            return DateColumn::Date(Expr2(|| tally_col("month")));
        }
        match self {
            Figure::MothersTrained => DateColumn::Date(Expr2(|| {
                col(enrolment::Entity, enrolment::Column::CertifiedOn)
            })),
            Figure::Visits | Figure::WomenReached => {
                DateColumn::Date(Expr2(|| col(visit::Entity, visit::Column::VisitedOn)))
            }
            Figure::Referrals | Figure::ResponseTimes => DateColumn::Timestamp(Expr2(|| {
                col(referral::Entity, referral::Column::RequestedAt)
            })),
            Figure::VolunteerHours => DateColumn::Date(Expr2(|| time_col("worked_on"))),
        }
    }

    /// The expression a dimension groups by, or `None` when it does not apply to the figure.
    pub fn dimension(
        self,
        source: Source,
        backend: DbBackend,
        dimension: Dimension,
        all: &[Dimension],
    ) -> Option<Expr> {
        if let Some(date) = date_dimension(self.date(source), backend, dimension, all) {
            return Some(date);
        }
        let project_municipality = || col(project::Entity, project::Column::MunicipalityCode);
        if source == Source::MonthlyTallies {
            return match dimension {
                Dimension::Project => Some(tally_col("project_id")),
                Dimension::Municipality => Some(project_municipality()),
                Dimension::Channel => Some(tally_col("channel")),
                Dimension::Topic => Some(tally_col("topic")),
                _ => None,
            };
        }
        // The corps of the mother (or father) a row names, joined by `rows` (issue 17).
        if dimension == Dimension::Corps {
            return Some(col(mother::Entity, mother::Column::Corps));
        }
        match (self, dimension) {
            (Figure::MothersTrained, Dimension::Project) => {
                Some(col(course::Entity, course::Column::ProjectId))
            }
            (Figure::MothersTrained, Dimension::Language) => Some(col(
                mother_language::Entity,
                mother_language::Column::Language,
            )),
            (Figure::Visits | Figure::WomenReached, Dimension::Project) => {
                Some(col(visit::Entity, visit::Column::ProjectId))
            }
            (Figure::Visits | Figure::WomenReached, Dimension::Channel) => {
                Some(col(visit::Entity, visit::Column::Channel))
            }
            (Figure::Visits | Figure::WomenReached, Dimension::Topic) => {
                Some(col(visit_topic::Entity, visit_topic::Column::Topic))
            }
            (Figure::VolunteerHours, Dimension::Project) => Some(time_col("project_id")),
            (Figure::VolunteerHours, Dimension::Kind) => Some(time_col("kind")),
            (
                Figure::MothersTrained
                | Figure::Visits
                | Figure::WomenReached
                | Figure::VolunteerHours,
                Dimension::Municipality,
            ) => Some(project_municipality()),
            (Figure::Referrals | Figure::ResponseTimes, dimension) => match dimension {
                Dimension::Project => Some(col(referral::Entity, referral::Column::ProjectId)),
                // A pool referral belongs to its pool's municipality until a project claims it.
                Dimension::Municipality => Some(
                    Func::coalesce([
                        project_municipality(),
                        col(referral::Entity, referral::Column::PoolMunicipalityCode),
                    ])
                    .into(),
                ),
                Dimension::ServiceCategory => {
                    Some(col(referral::Entity, referral::Column::ServiceCategory))
                }
                Dimension::Status => Some(col(referral::Entity, referral::Column::Status)),
                Dimension::Outcome => Some(col(referral::Entity, referral::Column::Outcome)),
                Dimension::Language => Some(col(
                    participant::Entity,
                    participant::Column::PreferredLanguage,
                )),
                _ => None,
            },
            _ => None,
        }
    }

    /// The rows the figure counts: FROM, the joins `dimensions` need, scope and filter.
    fn rows(
        self,
        source: Source,
        scope: &StatsScope,
        filter: &Filter,
        dimensions: &[Dimension],
    ) -> SelectStatement {
        let mut query = match self {
            _ if source == Source::MonthlyTallies => monthly_tallies(dimensions),
            Figure::MothersTrained => mothers_trained(dimensions),
            Figure::Visits | Figure::WomenReached => visits(dimensions),
            Figure::VolunteerHours => volunteer_time(filter),
            Figure::Referrals | Figure::ResponseTimes => {
                return referral_rows(scope, filter, dimensions, self.date(Source::Rows));
            }
        };
        if dimensions.contains(&Dimension::Corps) {
            join_corps(&mut query, self.mother_column());
        }
        if let Some(visible) = scope.projects() {
            query.cond_where(visible);
        }
        query.cond_where(project_filter(filter));
        query.cond_where(self.date(source).period(filter));
        query
    }

    /// The sum of the record keys of a group's rows: what its noise is derived from.
    fn key_sum(self, source: Source, backend: DbBackend) -> Expr {
        let id = match self {
            _ if source == Source::MonthlyTallies => {
                // SUM of a BIGINT is NUMERIC on PostgreSQL; the sums fit a BIGINT.
                let sum = custom(backend, "CAST(SUM($1) AS BIGINT)", [tally_col("key_sum")]);
                return Func::coalesce([sum, Expr::cust("0")]).into();
            }
            Figure::MothersTrained => col(enrolment::Entity, enrolment::Column::Id),
            Figure::Visits | Figure::WomenReached => col(visit::Entity, visit::Column::Id),
            Figure::Referrals | Figure::ResponseTimes => {
                col(referral::Entity, referral::Column::Id)
            }
            Figure::VolunteerHours => time_col("id"),
        };
        key_sum(backend, id)
    }

    /// (count, value) of a group: the count decides suppression, the value is published.
    fn measures(self, source: Source) -> (Expr, Expr) {
        if source == Source::MonthlyTallies {
            let summed: Expr = match self {
                Figure::WomenReached => Func::sum(tally_col("women")).into(),
                _ => Func::sum(tally_col("visits")).into(),
            };
            return (summed.clone(), summed);
        }
        match self {
            Figure::MothersTrained => {
                let mothers: Expr =
                    Func::count_distinct(col(enrolment::Entity, enrolment::Column::MotherId))
                        .into();
                (mothers.clone(), mothers)
            }
            Figure::Visits | Figure::Referrals | Figure::ResponseTimes => {
                let rows: Expr = Expr::cust("COUNT(*)");
                (rows.clone(), rows)
            }
            Figure::WomenReached => {
                let women: Expr = Func::sum(Expr::from(Func::coalesce([
                    col(visit::Entity, visit::Column::AttendeeCount),
                    Expr::cust("1"),
                ])))
                .into();
                (women.clone(), women)
            }
            Figure::VolunteerHours => (
                Func::count_distinct(time_col("mother_id")).into(),
                Func::sum(time_col("minutes")).into(),
            ),
        }
    }

    /// One statement: the cells grouped by `dimensions` (when there are any), then the total.
    /// Result columns: `is_total`, `d0..`, `n` (count), `v` (value), `k` (key sum).
    pub fn statement(
        self,
        source: Source,
        backend: DbBackend,
        scope: &StatsScope,
        filter: &Filter,
        dimensions: &[(Dimension, Expr)],
    ) -> SelectStatement {
        let kinds: Vec<Dimension> = dimensions.iter().map(|(d, _)| *d).collect();
        let (count, value) = self.measures(source);
        let key = self.key_sum(source, backend);
        let mut total = self.rows(source, scope, filter, &[]);
        total.expr_as(Expr::cust("1"), Alias::new(IS_TOTAL));
        for i in 0..dimensions.len() {
            total.expr_as(Expr::cust("NULL"), Alias::new(dim(i)));
        }
        total
            .expr_as(count.clone(), Alias::new(COUNT))
            .expr_as(value.clone(), Alias::new(VALUE))
            .expr_as(key.clone(), Alias::new(KEY));
        if dimensions.is_empty() {
            return total;
        }
        let mut cells = self.rows(source, scope, filter, &kinds);
        cells.expr_as(Expr::cust("0"), Alias::new(IS_TOTAL));
        for (i, (_, expr)) in dimensions.iter().enumerate() {
            cells.expr_as(expr.clone(), Alias::new(dim(i)));
            cells.add_group_by([expr.clone()]);
        }
        if source == Source::MonthlyTallies {
            // Deletions can leave tallies at zero; rows never make an empty group.
            cells.and_having(Func::sum(tally_col("visits")).gt(0));
        }
        cells
            .expr_as(count, Alias::new(COUNT))
            .expr_as(value, Alias::new(VALUE))
            .expr_as(key, Alias::new(KEY));
        cells.union(UnionType::All, total);
        cells
    }
}

fn mothers_trained(dimensions: &[Dimension]) -> SelectStatement {
    let mut query = Query::select()
        .from(enrolment::Entity)
        .inner_join(
            course::Entity,
            col(course::Entity, course::Column::Id)
                .equals((enrolment::Entity, enrolment::Column::CourseId)),
        )
        .inner_join(
            project::Entity,
            col(project::Entity, project::Column::Id)
                .equals((course::Entity, course::Column::ProjectId)),
        )
        // Trained = certified on a basic course; theme courses certify too but train no one.
        .and_where(col(course::Entity, course::Column::Kind).eq(CourseKind::Basic))
        .and_where(col(enrolment::Entity, enrolment::Column::Status).eq(EnrolmentStatus::Completed))
        .and_where(col(enrolment::Entity, enrolment::Column::CertifiedOn).is_not_null())
        .to_owned();
    if dimensions.contains(&Dimension::Language) {
        query.inner_join(
            mother_language::Entity,
            col(mother_language::Entity, mother_language::Column::MotherId)
                .equals((enrolment::Entity, enrolment::Column::MotherId)),
        );
    }
    query
}

/// The tallies of visits per month (`visit_month`), or per month and topic when grouped by
/// topic (`visit_topic_month`), as `tally`, with their project.
fn monthly_tallies(dimensions: &[Dimension]) -> SelectStatement {
    let table = if dimensions.contains(&Dimension::Topic) {
        visit_topic_month::Entity.table_name()
    } else {
        visit_month::Entity.table_name()
    };
    Query::select()
        .from_as(Alias::new(table), Alias::new(TALLY))
        .inner_join(
            project::Entity,
            col(project::Entity, project::Column::Id)
                .equals((Alias::new(TALLY), Alias::new("project_id"))),
        )
        .to_owned()
}

/// The volunteer time of the period as `volunteer_time` (id, project_id, mother_id, kind,
/// worked_on, minutes), with its project: the recorded hours, and every visit as ACTIVITY of
/// its duration on its day. One source per minute: a visit is never also an hours entry
/// (recorded ACTIVITY is only activity that is not a visit), so the sum counts each once.
/// The ids are both kinds of rows' own, so the key sum covers both. The period is applied
/// inside each branch too, where the date indexes of both tables serve it.
fn volunteer_time(filter: &Filter) -> SelectStatement {
    let hours = |c: volunteer_hours::Column| col(volunteer_hours::Entity, c);
    let visit = |c: visit::Column| col(visit::Entity, c);
    let recorded_on = DateColumn::Date(Expr2(|| {
        col(volunteer_hours::Entity, volunteer_hours::Column::WorkedOn)
    }));
    let visited_on = DateColumn::Date(Expr2(|| col(visit::Entity, visit::Column::VisitedOn)));
    let mut recorded = Query::select()
        .expr_as(hours(volunteer_hours::Column::Id), Alias::new("id"))
        .expr_as(
            hours(volunteer_hours::Column::ProjectId),
            Alias::new("project_id"),
        )
        .expr_as(
            hours(volunteer_hours::Column::MotherId),
            Alias::new("mother_id"),
        )
        .expr_as(hours(volunteer_hours::Column::Kind), Alias::new("kind"))
        .expr_as(
            hours(volunteer_hours::Column::WorkedOn),
            Alias::new("worked_on"),
        )
        .expr_as(
            hours(volunteer_hours::Column::Minutes),
            Alias::new("minutes"),
        )
        .from(volunteer_hours::Entity)
        .cond_where(recorded_on.period(filter))
        .to_owned();
    let visits = Query::select()
        .expr_as(visit(visit::Column::Id), Alias::new("id"))
        .expr_as(visit(visit::Column::ProjectId), Alias::new("project_id"))
        .expr_as(visit(visit::Column::MotherId), Alias::new("mother_id"))
        .expr_as(
            Expr::val(HoursKind::Activity.to_value()),
            Alias::new("kind"),
        )
        .expr_as(visit(visit::Column::VisitedOn), Alias::new("worked_on"))
        .expr_as(visit(visit::Column::DurationMinutes), Alias::new("minutes"))
        .from(visit::Entity)
        .cond_where(visited_on.period(filter))
        .to_owned();
    recorded.union(UnionType::All, visits);
    Query::select()
        .from_subquery(recorded, Alias::new(TIME))
        .inner_join(
            project::Entity,
            col(project::Entity, project::Column::Id)
                .equals((Alias::new(TIME), Alias::new("project_id"))),
        )
        .to_owned()
}

fn visits(dimensions: &[Dimension]) -> SelectStatement {
    let mut query = Query::select()
        .from(visit::Entity)
        .inner_join(
            project::Entity,
            col(project::Entity, project::Column::Id)
                .equals((visit::Entity, visit::Column::ProjectId)),
        )
        .to_owned();
    if dimensions.contains(&Dimension::Topic) {
        query.inner_join(
            visit_topic::Entity,
            col(visit_topic::Entity, visit_topic::Column::VisitId)
                .equals((visit::Entity, visit::Column::Id)),
        );
    }
    query
}

/// Joins the mother `mother_id` names, for CORPS: a left join, so rows naming no mother (the
/// group's own hours, a referral without one) count under a `null` corps.
fn join_corps(query: &mut SelectStatement, mother_id: Expr) {
    query.left_join(
        mother::Entity,
        col(mother::Entity, mother::Column::Id).eq(mother_id),
    );
}

impl Figure {
    /// The column naming the mother of a figure's row (CORPS).
    fn mother_column(self) -> Expr {
        match self {
            Figure::MothersTrained => col(enrolment::Entity, enrolment::Column::MotherId),
            Figure::Visits | Figure::WomenReached => col(visit::Entity, visit::Column::MotherId),
            Figure::VolunteerHours => time_col("mother_id"),
            Figure::Referrals | Figure::ResponseTimes => {
                col(referral::Entity, referral::Column::MotherId)
            }
        }
    }
}

/// Requested referrals (a draft never sent is no referral yet), scoped and filtered; the
/// project and participant are joined only for the dimensions that need them.
fn referral_rows(
    scope: &StatsScope,
    filter: &Filter,
    dimensions: &[Dimension],
    date: DateColumn,
) -> SelectStatement {
    let mut query = Query::select().from(referral::Entity).to_owned();
    if dimensions.contains(&Dimension::Municipality) {
        query.left_join(
            project::Entity,
            col(project::Entity, project::Column::Id)
                .equals((referral::Entity, referral::Column::ProjectId)),
        );
    }
    if dimensions.contains(&Dimension::Language) {
        query.left_join(
            participant::Entity,
            col(participant::Entity, participant::Column::Id)
                .equals((referral::Entity, referral::Column::ParticipantId)),
        );
    }
    if dimensions.contains(&Dimension::Corps) {
        join_corps(
            &mut query,
            col(referral::Entity, referral::Column::MotherId),
        );
    }
    query.and_where(col(referral::Entity, referral::Column::RequestedAt).is_not_null());
    query.cond_where(referral_filter(scope.referrals(), filter));
    query.cond_where(date.period(filter));
    query
}

/// The referral conditions of a scope and a filter, as subqueries (no join needed), shared by
/// the referral figures and the stale referrals.
pub fn referral_filter(scope: Option<Condition>, filter: &Filter) -> Condition {
    let mut condition = Condition::all();
    if let Some(scope) = scope {
        condition = condition.add(scope);
    }
    if let Some(projects) = &filter.projects {
        condition = condition.add(referral::Column::ProjectId.is_in(projects.iter().copied()));
    }
    if let Some(codes) = &filter.municipalities {
        let in_area = project::Entity::find()
            .select_only()
            .column(project::Column::Id)
            .filter(project::Column::MunicipalityCode.is_in(codes.iter().copied()))
            .into_query();
        condition = condition.add(
            Condition::any()
                .add(referral::Column::ProjectId.in_subquery(in_area))
                .add(
                    Condition::all()
                        .add(referral::Column::ProjectId.is_null())
                        .add(referral::Column::PoolMunicipalityCode.is_in(codes.iter().copied())),
                ),
        );
    }
    if let Some(orgs) = &filter.organisations {
        let operated = project::Entity::find()
            .select_only()
            .column(project::Column::Id)
            .filter(project::Column::OperatorOrganisationId.is_in(orgs.iter().copied()))
            .into_query();
        condition = condition.add(
            Condition::any()
                .add(referral::Column::ProjectId.in_subquery(operated))
                .add(referral::Column::RequesterOrganisationId.is_in(orgs.iter().copied()))
                .add(referral::Column::ReceiverOrganisationId.is_in(orgs.iter().copied())),
        );
    }
    condition
}

/// The project-owned figures' filter, on the joined `project` row.
pub(super) fn project_filter(filter: &Filter) -> Condition {
    let mut condition = Condition::all();
    if let Some(projects) = &filter.projects {
        condition = condition.add(project::Column::Id.is_in(projects.iter().copied()));
    }
    if let Some(codes) = &filter.municipalities {
        condition = condition.add(project::Column::MunicipalityCode.is_in(codes.iter().copied()));
    }
    if let Some(orgs) = &filter.organisations {
        condition =
            condition.add(project::Column::OperatorOrganisationId.is_in(orgs.iter().copied()));
    }
    condition
}

/// `requested_at` period of the stale referrals, with the same rule as the figures.
pub fn requested_period(filter: &Filter) -> Condition {
    Figure::Referrals.date(Source::Rows).period(filter)
}

/// Result columns of the response-time statement, per measure (`acc`: requested to accepted,
/// `done`: requested to completed): count, median and 90th percentile in seconds.
pub const MEASURES: [&str; 2] = ["acc", "done"];

pub fn measure_column(measure: &str, what: &str) -> String {
    format!("{measure}_{what}")
}

/// Response times in one statement: durations per referral, ranked per cell and overall with
/// window functions, then the nearest-rank median (rank ⌈n/2⌉) and 90th percentile
/// (rank ⌈9n/10⌉) picked per cell and for the total. Columns: `is_total`, `d0..`, and per
/// measure `<m>_n`, `<m>_p50`, `<m>_p90` and `<m>_k` (the key sum of the rows it counts).
pub fn response_times(
    backend: DbBackend,
    scope: &StatsScope,
    filter: &Filter,
    dimensions: &[(Dimension, Expr)],
) -> SelectStatement {
    let kinds: Vec<Dimension> = dimensions.iter().map(|(d, _)| *d).collect();
    let requested = || col(referral::Entity, referral::Column::RequestedAt);
    let mut durations = referral_rows(
        scope,
        filter,
        &kinds,
        Figure::ResponseTimes.date(Source::Rows),
    );
    for (i, (_, expr)) in dimensions.iter().enumerate() {
        durations.expr_as(expr.clone(), Alias::new(dim(i)));
    }
    durations.expr_as(
        seconds_between(
            backend,
            col(referral::Entity, referral::Column::AcceptedAt),
            requested(),
        ),
        Alias::new("acc"),
    );
    durations.expr_as(
        CaseStatement::new()
            .case(
                col(referral::Entity, referral::Column::Status).eq(ReferralStatus::Completed),
                seconds_between(
                    backend,
                    col(referral::Entity, referral::Column::ClosedAt),
                    requested(),
                ),
            )
            .finally(Expr::cust("NULL")),
        Alias::new("done"),
    );

    durations.expr_as(
        record_key(backend, col(referral::Entity, referral::Column::Id)),
        Alias::new(KEY),
    );

    let dims: Vec<Expr> = (0..dimensions.len())
        .map(|i| Expr::col(Alias::new(dim(i))))
        .collect();
    let mut ranked = Query::select();
    ranked.from_subquery(durations, Alias::new("d"));
    ranked.column(Alias::new(KEY));
    for i in 0..dimensions.len() {
        ranked.column(Alias::new(dim(i)));
    }
    for measure in MEASURES {
        let value = || Expr::col(Alias::new(measure));
        ranked.column(Alias::new(measure));
        for (scope, partition) in [("cell", dims.clone()), ("all", Vec::new())] {
            let mut by_rank = window(&partition);
            by_rank.add_partition_by(value().is_null());
            by_rank.order_by_expr(value(), Order::Asc);
            ranked.expr_window_as(
                Expr::cust("ROW_NUMBER()"),
                by_rank,
                Alias::new(format!("{measure}_rank_{scope}")),
            );
            ranked.expr_window_as(
                Func::count(value()),
                window(&partition),
                Alias::new(format!("{measure}_n_{scope}")),
            );
        }
    }

    let pick = |measure: &str, scope: &str, numerator: i64, add: i64, denominator: i64| -> Expr {
        let rank = Expr::col(Alias::new(format!("{measure}_rank_{scope}")));
        let n = Expr::col(Alias::new(format!("{measure}_n_{scope}")));
        let wanted = n.mul(numerator).add(add).div(denominator);
        let at_rank: Expr = CaseStatement::new()
            .case(rank.eq(wanted), Expr::col(Alias::new(measure)))
            .finally(Expr::cust("NULL"))
            .into();
        Func::max(at_rank).into()
    };
    let summary = |scope: &str, is_total: &str| {
        let mut query = Query::select();
        query.from_subquery(ranked.clone(), Alias::new("r"));
        query.expr_as(Expr::cust(is_total.to_owned()), Alias::new(IS_TOTAL));
        for (i, d) in dims.iter().enumerate() {
            let d = if scope == "all" {
                Expr::cust("NULL")
            } else {
                d.clone()
            };
            query.expr_as(d, Alias::new(dim(i)));
        }
        for measure in MEASURES {
            let n = Expr::col(Alias::new(format!("{measure}_n_{scope}")));
            query.expr_as(Func::max(n), Alias::new(measure_column(measure, "n")));
            let counted_key: Expr = CaseStatement::new()
                .case(
                    Expr::col(Alias::new(measure)).is_not_null(),
                    Expr::col(Alias::new(KEY)),
                )
                .finally(Expr::cust("0"))
                .into();
            query.expr_as(
                Func::sum(counted_key),
                Alias::new(measure_column(measure, KEY)),
            );
            query.expr_as(
                pick(measure, scope, 1, 1, 2),
                Alias::new(measure_column(measure, "p50")),
            );
            query.expr_as(
                pick(measure, scope, 9, 9, 10),
                Alias::new(measure_column(measure, "p90")),
            );
        }
        query
    };
    let total = summary("all", "1");
    if dimensions.is_empty() {
        return total;
    }
    let mut cells = summary("cell", "0");
    for d in &dims {
        cells.add_group_by([d.clone()]);
    }
    cells.union(UnionType::All, total);
    cells
}

fn window(partition: &[Expr]) -> WindowStatement {
    let mut window = WindowStatement::new();
    for expr in partition {
        window.add_partition_by(expr.clone());
    }
    window
}
