//! The evaluation surveys of the demo (issue 17), written through the real write path
//! (`surveys::write`): the secretariat's questionnaire `goals` (Danish, English and an Arabic
//! title: more languages are data), published; for the basic courses of 2011 onwards a
//! COURSE_START round answered by everyone enrolled and a COURSE_END round answered by those
//! who finished, each opened by the project's operator and closed.
//!
//! The story the figures tell follows the evaluations of 2010 and 2012: mothers end the
//! course knowing much more of children's health, schools and the system, feeling far more
//! part of a network (pride and self-confidence: the largest change), passing knowledge on
//! to other women, and somewhat clearer on education and work (the smallest change). Those
//! who leave the course answer only the start, so pairs are fewer than start respondents.
//!
//! Rounds are dated by their course (opened on its first and last module day) after they are
//! written, so that YEAR groups them as the courses ran; everything else is as recorded.

use chrono::{Datelike, Duration, NaiveTime};
use entity::{
    course, enrolment,
    enums::{CourseKind, EnrolmentStatus, ItemScale, SurveyGoal, SurveyMoment},
    organisation, project, questionnaire_item, survey_round,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::rng::Rng;
use crate::{
    audit::Actor,
    auth::{OrganisationRef, Principal, ScopeSet},
    error::{ApiError, ApiResult},
    stats::perturbation::CellKeys,
    surveys::write::{self, NewAnswer, NewItem, QuestionnaireContent, Text},
};

/// Courses starting in this year or later get rounds: the evaluation period and after.
const FIRST_YEAR: i32 = 2011;
/// Request id the demo's survey writes carry in the audit trail.
const REQUEST_ID: &str = "demo-surveys";

/// What the surveys step wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    pub rounds: usize,
    pub responses: usize,
}

fn t(da: &str, en: &str) -> Vec<Text> {
    vec![
        Text {
            language: "da".into(),
            text: da.into(),
        },
        Text {
            language: "en".into(),
            text: en.into(),
        },
    ]
}

/// The questionnaire: one or two items per goal, and a free-text item.
pub fn goals() -> QuestionnaireContent {
    let item = |code: &str, goal, scale, choices: &[&str], da: &str, en: &str| NewItem {
        code: code.into(),
        goal,
        scale,
        choices: choices.iter().map(|c| (*c).to_owned()).collect(),
        texts: t(da, en),
    };
    let mut texts = t(
        "Bydelsmødrenes mål: før og efter grunduddannelsen",
        "The neighbourhood mothers' goals: before and after the basic course",
    );
    texts.push(Text {
        language: "ar".into(),
        text: "أهداف أمهات الحي".into(),
    });
    QuestionnaireContent {
        texts,
        items: vec![
            item(
                "knows-children",
                SurveyGoal::Knowledge,
                ItemScale::Likert5,
                &[],
                "Jeg ved meget om børns trivsel, sundhed og skole i Danmark",
                "I know a lot about children's well-being, health and school in Denmark",
            ),
            item(
                "knows-system",
                SurveyGoal::Knowledge,
                ItemScale::Likert5,
                &[],
                "Jeg ved, hvor i kommunen man kan få hjælp",
                "I know where in the municipality to get help",
            ),
            item(
                "network",
                SurveyGoal::Network,
                ItemScale::Likert5,
                &[],
                "Jeg føler mig som en del af et netværk",
                "I feel part of a network",
            ),
            item(
                "proud",
                SurveyGoal::Network,
                ItemScale::Likert5,
                &[],
                "Jeg er stolt af det, jeg kan",
                "I am proud of what I can do",
            ),
            item(
                "clear-on-work",
                SurveyGoal::EducationWork,
                ItemScale::YesNo,
                &[],
                "Jeg ved, hvad jeg vil med uddannelse eller arbejde",
                "I know what I want in education or work",
            ),
            item(
                "next-step",
                SurveyGoal::EducationWork,
                ItemScale::Choice,
                &["job", "education", "language-school", "not-yet"],
                "Hvad er dit næste skridt?",
                "What is your next step?",
            ),
            item(
                "passes-on",
                SurveyGoal::PassingOn,
                ItemScale::Likert5,
                &[],
                "Jeg giver min viden videre til andre kvinder",
                "I pass my knowledge on to other women",
            ),
            item(
                "what-changed",
                SurveyGoal::Network,
                ItemScale::FreeText,
                &[],
                "Hvad har forandret sig for dig?",
                "What has changed for you?",
            ),
        ],
    }
}

/// A Likert answer around `mean` (1-5).
fn likert(rng: &mut Rng, mean: f64) -> i32 {
    let jitter = rng.range(-1, 1) as f64 * 0.8;
    (mean + jitter).round().clamp(1.0, 5.0) as i32
}

/// What one respondent answers at the start or end: the evaluations' story.
fn answers(rng: &mut Rng, items: &[questionnaire_item::Model], end: bool) -> Vec<NewAnswer> {
    items
        .iter()
        .filter_map(|item| {
            let value = match (item.code.as_str(), end) {
                ("knows-children", false) => Some(likert(rng, 2.6)),
                ("knows-children", true) => Some(likert(rng, 4.2)),
                ("knows-system", false) => Some(likert(rng, 2.2)),
                ("knows-system", true) => Some(likert(rng, 4.0)),
                ("network", false) => Some(likert(rng, 2.0)),
                ("network", true) => Some(likert(rng, 4.3)),
                ("proud", false) => Some(likert(rng, 2.5)),
                ("proud", true) => Some(likert(rng, 4.5)),
                ("clear-on-work", false) => Some(i32::from(rng.chance(0.3))),
                ("clear-on-work", true) => Some(i32::from(rng.chance(0.5))),
                ("next-step", false) => Some(rng.range(1, 3) as i32),
                ("next-step", true) => Some(rng.range(0, 3) as i32),
                ("passes-on", false) => Some(likert(rng, 2.3)),
                ("passes-on", true) => Some(likert(rng, 4.1)),
                _ => None,
            };
            let text = match (item.scale, end) {
                (ItemScale::FreeText, true) if rng.chance(0.4) => Some(
                    rng.pick(&[
                        "Jeg har fået mod på at tale med skolen",
                        "Jeg kender mange flere kvinder nu",
                        "Jeg er stolt, når andre spørger mig til råds",
                        "Jeg vil gerne tage en uddannelse",
                    ])
                    .copied()
                    .unwrap_or_default()
                    .to_owned(),
                ),
                _ => None,
            };
            (value.is_some() || text.is_some()).then_some(NewAnswer {
                item_id: item.id,
                value,
                text,
            })
        })
        .collect()
}

async fn principal_of(db: &impl ConnectionTrait, organisation_id: Uuid) -> ApiResult<Principal> {
    let organisation = organisation::Entity::find_by_id(organisation_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::internal("a demo organisation is missing"))?;
    let scopes = ScopeSet::parse("surveys:admin")?;
    Ok(Principal::new(
        Uuid::nil(),
        Uuid::nil(),
        OrganisationRef {
            id: organisation.id,
            kind: organisation.kind,
            municipality_code: organisation.municipality_code,
        },
        scopes,
    ))
}

fn actor(organisation_id: Uuid) -> Actor {
    Actor {
        client_id: None,
        organisation_id: Some(organisation_id),
        request_id: Some(REQUEST_ID.to_owned()),
        ..Actor::default()
    }
}

/// Dates a round as its course ran and closes it there.
async fn date_round(
    db: &impl ConnectionTrait,
    round: survey_round::Model,
    on: chrono::NaiveDate,
) -> ApiResult<()> {
    let at = on
        .and_time(NaiveTime::from_hms_opt(10, 0, 0).unwrap_or(NaiveTime::MIN))
        .and_utc();
    let mut row = round.into_active_model();
    row.opened_at = Set(at);
    row.closed_at = Set(Some(at + Duration::days(14)));
    row.created_at = Set(at);
    row.updated_at = Set(at + Duration::days(14));
    row.update(db).await?;
    Ok(())
}

/// Writes the questionnaire, the rounds and the responses.
pub async fn write(db: &impl ConnectionTrait, secretariat_id: Uuid) -> ApiResult<Written> {
    let keys = CellKeys::load(db).await?;
    let secretariat = principal_of(db, secretariat_id).await?;
    let q = write::create_questionnaire(db, &secretariat, &actor(secretariat_id), "goals", goals())
        .await?;
    let q = write::publish_questionnaire(db, &secretariat, &actor(secretariat_id), q.id).await?;
    let items = questionnaire_item::Entity::find()
        .filter(questionnaire_item::Column::QuestionnaireId.eq(q.id))
        .order_by_asc(questionnaire_item::Column::Position)
        .all(db)
        .await?;
    let courses = course::Entity::find()
        .filter(course::Column::Kind.eq(CourseKind::Basic))
        .order_by_asc(course::Column::StartsOn)
        .order_by_asc(course::Column::Id)
        .all(db)
        .await?;
    let mut rng = Rng::stream("surveys");
    let mut written = Written::default();
    for course in courses.iter().filter(|c| c.starts_on.year() >= FIRST_YEAR) {
        let Some(project) = project::Entity::find_by_id(course.project_id)
            .one(db)
            .await?
        else {
            continue;
        };
        let operator = principal_of(db, project.operator_organisation_id).await?;
        let by = actor(project.operator_organisation_id);
        let enrolled = enrolment::Entity::find()
            .filter(enrolment::Column::CourseId.eq(course.id))
            .order_by_asc(enrolment::Column::Id)
            .all(db)
            .await?;
        if enrolled.is_empty() {
            continue;
        }
        let ends_on = course
            .ends_on
            .unwrap_or(course.starts_on + Duration::weeks(15));
        let finished = ends_on <= super::clock::TODAY;
        let moments: &[SurveyMoment] = if finished {
            &[SurveyMoment::CourseStart, SurveyMoment::CourseEnd]
        } else {
            &[SurveyMoment::CourseStart]
        };
        for moment in moments {
            let end = *moment == SurveyMoment::CourseEnd;
            let round = write::open_round(
                db,
                &operator,
                &by,
                q.id,
                project.id,
                Some(course.id),
                *moment,
            )
            .await?;
            for e in &enrolled {
                if end && e.status != EnrolmentStatus::Completed {
                    continue;
                }
                // Not everyone answers: about nine in ten at the start, most who finish at
                // the end.
                if !rng.chance(if end { 0.85 } else { 0.9 }) {
                    continue;
                }
                let answers = answers(&mut rng, &items, end);
                let recorded = write::record_response(
                    db,
                    &operator,
                    &by,
                    &keys,
                    round.id,
                    e.mother_id,
                    answers,
                )
                .await;
                match recorded {
                    Ok(_) => written.responses += 1,
                    // A mother who has since moved project answers no more here; the check
                    // runs before anything is written, so the transaction goes on.
                    Err(ApiError::Validation { .. }) => {}
                    Err(other) => return Err(other),
                }
            }
            date_round(db, round, if end { ends_on } else { course.starts_on }).await?;
            written.rounds += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_questionnaire_passes_the_real_checks_in_shape() {
        let q = goals();
        assert_eq!(q.items.len(), 8);
        for goal in [
            SurveyGoal::Knowledge,
            SurveyGoal::Network,
            SurveyGoal::EducationWork,
            SurveyGoal::PassingOn,
        ] {
            assert!(q.items.iter().any(|i| i.goal == goal), "{goal:?}");
        }
    }
}
