//! `stats.evaluation`: what the survey answers say about the programme's four goals, per
//! goal, item, year, project, municipality, round (its moment) and corps.
//!
//! Each cell gives the respondents (distinct pseudonyms), the answers, the mean of the raw
//! values (when the cell's answers share one scale: LIKERT_5 1-5, YES_NO the share of yes),
//! a *score* from 0 to 1 over LIKERT_5 and YES_NO answers (Likert (v-1)/4, yes 1, no 0: goals
//! mix scales), the distribution of raw values, and the *change* for the same respondents:
//! an answer given in a round after the course started (COURSE_END, ONE_YEAR_AFTER) pairs
//! with the same respondent's COURSE_START answer to the same item code (her pseudonym is
//! per questionnaire key, so this works without her id), and the cell gives the paired
//! respondents and the mean differences. CHOICE answers count in the distribution only;
//! FREE_TEXT answers never leave as figures.
//!
//! Disclosure control is the statistics' own ([`super::disclosure`], [`super::perturbation`]),
//! called, not copied: outside the secretariat a cell of fewer than `--stats-min-cell`
//! respondents is hidden with its secondary partners (every measure `null`), the change is
//! hidden likewise on the table of paired respondents, a distribution's small buckets are
//! hidden as a one-dimensional table of their own, counts carry cell-key noise (keyed by the
//! respondents' pseudonyms) and periods are whole months (the `stats` filter). Means of the
//! published cells are exact: each is over at least `--stats-min-cell` people.
//!
//! The period filter applies to the round's `opened_at`; rows are the rounds of the projects
//! of the caller's statistics area (rule 6), read in one statement and grouped here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Datelike, NaiveTime, Utc};
use entity::{
    enums::{Corps as DbCorps, ItemScale, SurveyGoal as DbGoal, SurveyMoment as DbMoment},
    project, questionnaire_item, survey_answer, survey_response, survey_round,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait,
    sea_query::{Expr, ExprTrait, Query},
};
use uuid::Uuid;

use super::{
    Stats,
    disclosure::{self, Cell, Suppression},
};
use crate::{
    context::RequestContext,
    error::{ApiError, ApiResult},
    ids::Kind,
    loaders::load_by_id,
    organisations::{Municipality, municipality_by_code},
    projects::Project,
    vocabulary::{Corps, SurveyGoal, SurveyMoment},
};

/// The name the evaluation's counts are perturbed under.
const FIGURE: &str = "evaluation";

/// What `stats.evaluation` is grouped by.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[graphql(name = "EvaluationDimension")]
pub enum EvaluationDimension {
    /// The goal an item measures.
    Goal,
    /// The item, by its code (stable across questionnaire versions).
    Item,
    /// The year the round opened.
    Year,
    /// The round's project.
    Project,
    /// The project's municipality.
    Municipality,
    /// The round, by its moment (COURSE_START, COURSE_END, ONE_YEAR_AFTER).
    Round,
    /// The respondent's corps (neighbourhood mother or father).
    Corps,
}

/// One numeric answer with where it sits.
#[derive(Debug, Clone)]
struct Row {
    value: i32,
    scale: ItemScale,
    respondent: String,
    moment: DbMoment,
    opened_at: DateTime<Utc>,
    project: Uuid,
    municipality: i32,
    goal: DbGoal,
    code: String,
    corps: DbCorps,
}

impl Row {
    /// The 0..1 score of a LIKERT_5 or YES_NO answer.
    fn score(&self) -> Option<f64> {
        match self.scale {
            ItemScale::Likert5 => Some(f64::from(self.value - 1) / 4.0),
            ItemScale::YesNo => Some(f64::from(self.value)),
            _ => None,
        }
    }

    fn key(&self, dimensions: &[EvaluationDimension]) -> Vec<String> {
        dimensions
            .iter()
            .map(|d| match d {
                EvaluationDimension::Goal => format!("{:?}", self.goal),
                EvaluationDimension::Item => self.code.clone(),
                EvaluationDimension::Year => format!("{:06}", self.opened_at.year()),
                EvaluationDimension::Project => self.project.to_string(),
                EvaluationDimension::Municipality => format!("{:06}", self.municipality),
                EvaluationDimension::Round => format!("{:?}", self.moment),
                EvaluationDimension::Corps => format!("{:?}", self.corps),
            })
            .collect()
    }
}

/// A respondent's record key for the noise: the low 24 bits of her pseudonym.
fn respondent_key(respondent: &str) -> i64 {
    respondent
        .get(respondent.len().saturating_sub(6)..)
        .and_then(|hex| i64::from_str_radix(hex, 16).ok())
        .unwrap_or(0)
}

/// What a cell (or the total) accumulates.
#[derive(Debug, Clone, Default)]
struct Acc {
    respondents: BTreeSet<String>,
    answers: u64,
    raw_sum: i64,
    scales: BTreeSet<&'static str>,
    score_sum: f64,
    scored: u64,
    distribution: BTreeMap<i32, u64>,
    paired: BTreeSet<String>,
    change_raw_sum: i64,
    change_score_sum: f64,
    changes: u64,
    change_scored: u64,
}

fn scale_name(scale: ItemScale) -> &'static str {
    match scale {
        ItemScale::Likert5 => "likert_5",
        ItemScale::YesNo => "yes_no",
        ItemScale::Choice => "choice",
        ItemScale::FreeText => "free_text",
    }
}

impl Acc {
    fn add(&mut self, row: &Row, start: Option<&Row>) {
        self.respondents.insert(row.respondent.clone());
        self.answers += 1;
        self.raw_sum += i64::from(row.value);
        self.scales.insert(scale_name(row.scale));
        if let Some(score) = row.score() {
            self.score_sum += score;
            self.scored += 1;
        }
        *self.distribution.entry(row.value).or_default() += 1;
        if let Some(start) = start {
            self.paired.insert(row.respondent.clone());
            self.changes += 1;
            self.change_raw_sum += i64::from(row.value - start.value);
            if let (Some(end), Some(begin)) = (row.score(), start.score()) {
                self.change_score_sum += end - begin;
                self.change_scored += 1;
            }
        }
    }

    fn one_numeric_scale(&self) -> bool {
        self.scales.len() == 1 && !self.scales.contains("choice")
    }

    fn key_sum(set: &BTreeSet<String>) -> i64 {
        set.iter().map(|r| respondent_key(r)).sum()
    }
}

/// The rows of the caller's area under the filter: numeric answers of its projects' rounds.
async fn rows(db: &impl ConnectionTrait, stats: &Stats) -> ApiResult<Vec<Row>> {
    let mut query = Query::select();
    query
        .column((survey_answer::Entity, survey_answer::Column::Value))
        .column((
            questionnaire_item::Entity,
            questionnaire_item::Column::Scale,
        ))
        .column((questionnaire_item::Entity, questionnaire_item::Column::Goal))
        .column((questionnaire_item::Entity, questionnaire_item::Column::Code))
        .column((survey_response::Entity, survey_response::Column::Respondent))
        .column((survey_response::Entity, survey_response::Column::Corps))
        .column((survey_round::Entity, survey_round::Column::Moment))
        .column((survey_round::Entity, survey_round::Column::OpenedAt))
        .column((survey_round::Entity, survey_round::Column::ProjectId))
        .column((project::Entity, project::Column::MunicipalityCode))
        .from(survey_answer::Entity)
        .inner_join(
            survey_response::Entity,
            Expr::col((survey_response::Entity, survey_response::Column::Id))
                .equals((survey_answer::Entity, survey_answer::Column::ResponseId)),
        )
        .inner_join(
            survey_round::Entity,
            Expr::col((survey_round::Entity, survey_round::Column::Id))
                .equals((survey_response::Entity, survey_response::Column::RoundId)),
        )
        .inner_join(
            questionnaire_item::Entity,
            Expr::col((questionnaire_item::Entity, questionnaire_item::Column::Id))
                .equals((survey_answer::Entity, survey_answer::Column::ItemId)),
        )
        .inner_join(
            project::Entity,
            Expr::col((project::Entity, project::Column::Id))
                .equals((survey_round::Entity, survey_round::Column::ProjectId)),
        )
        .and_where(survey_answer::Column::Value.is_not_null());
    if let Some(visible) = stats.scope.projects() {
        query.cond_where(visible);
    }
    query.cond_where(super::sql::project_filter(&stats.filter));
    let mut period = Condition::all();
    let opened = Expr::col((survey_round::Entity, survey_round::Column::OpenedAt));
    if let Some(from) = stats.filter.from {
        period = period.add(opened.clone().gte(from.and_time(NaiveTime::MIN).and_utc()));
    }
    if let Some(next) = stats.filter.to.and_then(|to| to.succ_opt()) {
        period = period.add(opened.lt(next.and_time(NaiveTime::MIN).and_utc()));
    }
    query.cond_where(period);
    let mut out = Vec::new();
    for row in db.query_all(&query).await? {
        let scale: ItemScale = enum_of(row.try_get("", "scale")?)?;
        if scale == ItemScale::FreeText {
            continue;
        }
        out.push(Row {
            value: row.try_get("", "value")?,
            scale,
            respondent: row.try_get("", "respondent")?,
            moment: enum_of(row.try_get("", "moment")?)?,
            opened_at: row.try_get("", "opened_at")?,
            project: row.try_get("", "project_id")?,
            municipality: row.try_get("", "municipality_code")?,
            goal: enum_of(row.try_get("", "goal")?)?,
            code: row.try_get("", "code")?,
            corps: enum_of(row.try_get("", "corps")?)?,
        });
    }
    Ok(out)
}

fn enum_of<E: sea_orm::ActiveEnum<Value = String>>(text: String) -> ApiResult<E> {
    E::try_from_value(&text).map_err(|_| ApiError::internal("an unknown stored survey value"))
}

/// The COURSE_START answer each later answer pairs with: the same respondent, the same item
/// code, the latest start round before it.
fn starts(rows: &[Row]) -> HashMap<(String, String), Row> {
    let mut out: HashMap<(String, String), Row> = HashMap::new();
    for row in rows.iter().filter(|r| r.moment == DbMoment::CourseStart) {
        let key = (row.respondent.clone(), row.code.clone());
        match out.get(&key) {
            Some(kept) if kept.opened_at >= row.opened_at => {}
            _ => {
                out.insert(key, row.clone());
            }
        }
    }
    out
}

/// Builds the table of `dimensions` from `rows`, with disclosure control unless `exact`.
fn table(
    rows: &[Row],
    dimensions: &[EvaluationDimension],
    protection: Option<(u64, &super::perturbation::CellKeys)>,
) -> EvaluationTable {
    let starts = starts(rows);
    let mut cells: BTreeMap<Vec<String>, (Row, Acc)> = BTreeMap::new();
    let mut total = Acc::default();
    for row in rows {
        let start = (row.moment != DbMoment::CourseStart)
            .then(|| starts.get(&(row.respondent.clone(), row.code.clone())))
            .flatten()
            .filter(|s| s.opened_at <= row.opened_at);
        total.add(row, start);
        cells
            .entry(row.key(dimensions))
            .or_insert_with(|| (row.clone(), Acc::default()))
            .1
            .add(row, start);
    }
    if dimensions.is_empty() {
        cells.clear();
    }
    let keyed: Vec<(Vec<String>, Row, Acc)> =
        cells.into_iter().map(|(k, (r, a))| (k, r, a)).collect();
    let (hidden, paired_hidden) = match protection {
        None => (
            Suppression::none(keyed.len()),
            Suppression::none(keyed.len()),
        ),
        Some((min_cell, _)) => {
            let by = |count: fn(&Acc) -> u64| {
                keyed
                    .iter()
                    .map(|(k, _, a)| Cell {
                        key: k.clone(),
                        count: count(a),
                        value: count(a) as f64,
                    })
                    .collect::<Vec<_>>()
            };
            (
                disclosure::suppress(
                    &by(|a| a.respondents.len() as u64),
                    total.respondents.len() as u64,
                    min_cell,
                ),
                disclosure::suppress(
                    &by(|a| a.paired.len() as u64),
                    total.paired.len() as u64,
                    min_cell,
                ),
            )
        }
    };
    let values = |acc: &Acc, hidden: bool, paired_hidden: bool| {
        EvaluationValues::of(acc, hidden, hidden || paired_hidden, protection)
    };
    let suppressed_cells = hidden.hidden_cells() as i32;
    let total_values = values(&total, hidden.total, paired_hidden.total);
    let cells = keyed
        .iter()
        .enumerate()
        .map(|(i, (_, row, acc))| EvaluationCell {
            at: Coordinates::of(row, dimensions),
            values: values(acc, hidden.cells[i], paired_hidden.cells[i]),
        })
        .collect();
    EvaluationTable {
        cells,
        total: total_values,
        suppressed_cells,
    }
}

impl Stats {
    /// `stats.evaluation`: the survey figures of the caller's area.
    #[tracing::instrument(skip_all, fields(figure = FIGURE))]
    pub(super) async fn evaluation_table(
        &self,
        ctx: &Context<'_>,
        group_by: Option<Vec<EvaluationDimension>>,
    ) -> ApiResult<EvaluationTable> {
        let group_by = group_by.unwrap_or_default();
        let mut seen = BTreeSet::new();
        for d in &group_by {
            if !seen.insert(format!("{d:?}")) {
                return Err(ApiError::validation(
                    "groupBy",
                    format!("{d:?} is given twice"),
                ));
            }
        }
        let rows = rows(ctx.db()?, self).await?;
        let protection = (!self.scope.exact()).then_some((self.min_cell, &self.cell_keys));
        Ok(table(&rows, &group_by, protection))
    }
}

/// Where an evaluation cell sits; only the requested dimensions are set.
#[derive(Debug, Clone, Default)]
struct Coordinates {
    goal: Option<DbGoal>,
    item: Option<String>,
    year: Option<i32>,
    project: Option<Uuid>,
    municipality: Option<i32>,
    round: Option<DbMoment>,
    corps: Option<DbCorps>,
}

impl Coordinates {
    fn of(row: &Row, dimensions: &[EvaluationDimension]) -> Self {
        let mut at = Self::default();
        for d in dimensions {
            match d {
                EvaluationDimension::Goal => at.goal = Some(row.goal),
                EvaluationDimension::Item => at.item = Some(row.code.clone()),
                EvaluationDimension::Year => at.year = Some(row.opened_at.year()),
                EvaluationDimension::Project => at.project = Some(row.project),
                EvaluationDimension::Municipality => at.municipality = Some(row.municipality),
                EvaluationDimension::Round => at.round = Some(row.moment),
                EvaluationDimension::Corps => at.corps = Some(row.corps),
            }
        }
        at
    }
}

/// The figures of one cell of `stats.evaluation`.
pub struct EvaluationCell {
    at: Coordinates,
    values: EvaluationValues,
}

/// One cell of `stats.evaluation`: where it sits (the requested dimensions) and its figures.
#[Object]
impl EvaluationCell {
    /// The goal (GOAL).
    async fn goal(&self) -> Option<SurveyGoal> {
        self.at.goal.map(Into::into)
    }
    /// The item's code.
    async fn item_code(&self) -> Option<&str> {
        self.at.item.as_deref()
    }
    /// The year the round opened (YEAR).
    async fn year(&self) -> Option<i32> {
        self.at.year
    }
    /// The project's id (PROJECT).
    async fn project_id(&self) -> Option<ID> {
        self.at.project.map(|id| Kind::Project.id(id))
    }
    /// The project (PROJECT).
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        let Some(id) = self.at.project else {
            return Ok(None);
        };
        Ok(load_by_id::<project::Entity>(ctx, id).await?.map(Project))
    }
    /// The project's municipality code (MUNICIPALITY).
    async fn municipality_code(&self) -> Option<i32> {
        self.at.municipality
    }
    /// The project's municipality (MUNICIPALITY).
    async fn municipality(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Municipality>> {
        Ok(municipality_by_code(ctx, self.at.municipality).await?)
    }
    /// The round's moment.
    async fn round(&self) -> Option<SurveyMoment> {
        self.at.round.map(Into::into)
    }
    /// The respondents' corps (CORPS).
    async fn corps(&self) -> Option<Corps> {
        self.at.corps.map(Into::into)
    }
    /// The cell's figures.
    async fn values(&self) -> &EvaluationValues {
        &self.values
    }
}

/// A table of `stats.evaluation`.
pub struct EvaluationTable {
    cells: Vec<EvaluationCell>,
    total: EvaluationValues,
    suppressed_cells: i32,
}

/// A table of `stats.evaluation`: cells, total and how many cells are hidden.
#[Object]
impl EvaluationTable {
    /// One cell per combination of the dimensions that occurs, in a stable order.
    async fn cells(&self) -> &[EvaluationCell] {
        &self.cells
    }
    /// Over every row, computed (not summed).
    async fn total(&self) -> &EvaluationValues {
        &self.total
    }
    /// How many cells are hidden (primary and secondary suppression).
    async fn suppressed_cells(&self) -> i32 {
        self.suppressed_cells
    }
}

/// The measures of a cell; every one `null` when the cell is suppressed.
#[derive(Clone)]
pub struct EvaluationValues {
    suppressed: bool,
    respondents: Option<i32>,
    answers: Option<i32>,
    mean: Option<f64>,
    score: Option<f64>,
    distribution: Option<Vec<EvaluationBucket>>,
    change: EvaluationChange,
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn count(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl EvaluationValues {
    fn of(
        acc: &Acc,
        hidden: bool,
        change_hidden: bool,
        protection: Option<(u64, &super::perturbation::CellKeys)>,
    ) -> Self {
        let publish = |n: u64, key_sum: i64| match protection {
            None => n,
            Some((_, keys)) => keys.perturb(FIGURE, n, key_sum),
        };
        let change = if change_hidden || acc.changes == 0 {
            EvaluationChange {
                suppressed: change_hidden && !acc.paired.is_empty(),
                paired_respondents: (!change_hidden).then_some(0),
                mean_change: None,
                score_change: None,
            }
        } else {
            EvaluationChange {
                suppressed: false,
                paired_respondents: Some(count(publish(
                    acc.paired.len() as u64,
                    Acc::key_sum(&acc.paired),
                ))),
                mean_change: acc
                    .one_numeric_scale()
                    .then(|| round3(acc.change_raw_sum as f64 / acc.changes as f64)),
                score_change: (acc.change_scored > 0)
                    .then(|| round3(acc.change_score_sum / acc.change_scored as f64)),
            }
        };
        if hidden {
            return Self {
                suppressed: true,
                respondents: None,
                answers: None,
                mean: None,
                score: None,
                distribution: None,
                change,
            };
        }
        let key_sum = Acc::key_sum(&acc.respondents);
        let distribution = Self::buckets(acc, key_sum, protection);
        Self {
            suppressed: false,
            respondents: Some(count(publish(acc.respondents.len() as u64, key_sum))),
            answers: Some(count(publish(acc.answers, key_sum))),
            mean: (acc.one_numeric_scale() && acc.answers > 0)
                .then(|| round3(acc.raw_sum as f64 / acc.answers as f64)),
            score: (acc.scored > 0).then(|| round3(acc.score_sum / acc.scored as f64)),
            distribution,
            change,
        }
    }

    /// The raw values' distribution, when the cell's answers share one scale; small buckets
    /// hidden as a one-dimensional table of their own.
    fn buckets(
        acc: &Acc,
        key_sum: i64,
        protection: Option<(u64, &super::perturbation::CellKeys)>,
    ) -> Option<Vec<EvaluationBucket>> {
        if acc.scales.len() != 1 {
            return None;
        }
        let buckets: Vec<Cell<i32>> = acc
            .distribution
            .iter()
            .map(|(value, n)| Cell {
                key: vec![*value],
                count: *n,
                value: *n as f64,
            })
            .collect();
        let hidden = match protection {
            None => Suppression::none(buckets.len()),
            Some((min_cell, _)) => disclosure::suppress(&buckets, acc.answers, min_cell),
        };
        if hidden.total {
            return None;
        }
        Some(
            buckets
                .iter()
                .zip(hidden.cells)
                .map(|(b, hidden)| EvaluationBucket {
                    value: b.key[0],
                    count: (!hidden).then(|| {
                        count(match protection {
                            None => b.count,
                            Some((_, keys)) => {
                                keys.perturb(FIGURE, b.count, key_sum + i64::from(b.key[0]))
                            }
                        })
                    }),
                    suppressed: hidden,
                })
                .collect(),
        )
    }
}

/// The figures of a cell; every measure `null` when the cell is suppressed.
#[Object]
impl EvaluationValues {
    /// Whether the cell is hidden by disclosure control (every measure is then `null`).
    async fn suppressed(&self) -> bool {
        self.suppressed
    }
    /// Distinct respondents.
    async fn respondents(&self) -> Option<i32> {
        self.respondents
    }
    /// Numeric answers (a respondent answers several items of a goal).
    async fn answers(&self) -> Option<i32> {
        self.answers
    }
    /// The mean raw value (LIKERT_5 1-5; YES_NO the share of yes), when the cell's answers
    /// share one numeric scale; `null` otherwise.
    async fn mean(&self) -> Option<f64> {
        self.mean
    }
    /// The mean score from 0 to 1 over LIKERT_5 ((v-1)/4) and YES_NO answers.
    async fn score(&self) -> Option<f64> {
        self.score
    }
    /// How many answers gave each raw value, when the cell's answers share one scale.
    async fn distribution(&self) -> Option<&[EvaluationBucket]> {
        self.distribution.as_deref()
    }
    /// The change since COURSE_START for the same respondents and items.
    async fn change(&self) -> &EvaluationChange {
        &self.change
    }
}

/// How many answers gave one raw value.
#[derive(Clone)]
pub struct EvaluationBucket {
    value: i32,
    count: Option<i32>,
    suppressed: bool,
}

/// How many answers of a cell gave one raw value.
#[Object]
impl EvaluationBucket {
    /// The raw value (LIKERT_5 1-5, YES_NO 0/1, CHOICE the index).
    async fn value(&self) -> i32 {
        self.value
    }
    /// `null` when suppressed.
    async fn count(&self) -> Option<i32> {
        self.count
    }
    /// Whether the count is hidden by disclosure control.
    async fn suppressed(&self) -> bool {
        self.suppressed
    }
}

/// The paired change: answers after the course started minus the same respondent's
/// COURSE_START answer to the same item.
#[derive(Clone)]
pub struct EvaluationChange {
    suppressed: bool,
    paired_respondents: Option<i32>,
    mean_change: Option<f64>,
    score_change: Option<f64>,
}

/// The change since COURSE_START for the same respondents and items.
#[Object]
impl EvaluationChange {
    /// Whether the change is hidden by disclosure control.
    async fn suppressed(&self) -> bool {
        self.suppressed
    }
    /// Respondents with both a COURSE_START answer and a later one (0: no pairs).
    async fn paired_respondents(&self) -> Option<i32> {
        self.paired_respondents
    }
    /// The mean difference of raw values (later minus start), when one numeric scale.
    async fn mean_change(&self) -> Option<f64> {
        self.mean_change
    }
    /// The mean difference of scores (0 to 1 scale).
    async fn score_change(&self) -> Option<f64> {
        self.score_change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(respondent: &str, moment: DbMoment, value: i32, project: Uuid) -> Row {
        Row {
            value,
            scale: ItemScale::Likert5,
            respondent: respondent.into(),
            moment,
            opened_at: match moment {
                DbMoment::CourseStart => "2024-01-10T10:00:00Z",
                _ => "2024-06-10T10:00:00Z",
            }
            .parse()
            .unwrap(),
            project,
            municipality: 101,
            goal: DbGoal::Network,
            code: "network".into(),
            corps: DbCorps::Mother,
        }
    }

    #[test]
    fn the_change_pairs_the_same_respondents() {
        let p = Uuid::nil();
        let mut rows = Vec::new();
        for (i, (before, after)) in [(2, 4), (3, 4), (1, 3)].into_iter().enumerate() {
            let who = format!("r{i:06}");
            rows.push(row(&who, DbMoment::CourseStart, before, p));
            rows.push(row(&who, DbMoment::CourseEnd, after, p));
        }
        // One who answered only at the end does not pair.
        rows.push(row("lonely", DbMoment::CourseEnd, 5, p));
        let t = table(&rows, &[EvaluationDimension::Round], None);
        assert_eq!(t.cells.len(), 2);
        let end = &t.cells[0];
        assert_eq!(end.at.round, Some(DbMoment::CourseEnd));
        assert_eq!(end.values.respondents, Some(4));
        assert_eq!(end.values.change.paired_respondents, Some(3));
        assert_eq!(end.values.change.mean_change, Some(round3(5.0 / 3.0)));
        assert_eq!(t.total.respondents, Some(4));
    }

    #[test]
    fn small_cells_are_hidden_with_a_partner() {
        let keys = super::super::perturbation::CellKeys::new([7; 32]);
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut rows = Vec::new();
        for i in 0..3 {
            rows.push(row(&format!("a{i:06}"), DbMoment::CourseStart, 3, a));
        }
        for i in 0..8 {
            rows.push(row(&format!("b{i:06}"), DbMoment::CourseStart, 3, b));
        }
        let t = table(&rows, &[EvaluationDimension::Project], Some((5, &keys)));
        assert_eq!(t.suppressed_cells, 2, "the small cell and its partner");
        assert!(t.cells.iter().all(|c| c.values.respondents.is_none()));
        assert!(!t.total.suppressed);
        let exact = table(&rows, &[EvaluationDimension::Project], None);
        assert_eq!(exact.suppressed_cells, 0);
        assert_eq!(exact.cells[0].values.respondents, Some(3));
    }
}
