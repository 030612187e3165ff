//! Writing surveys: questionnaires (the secretariat's), rounds (a project's operator) and
//! responses (the operator for its mothers, or a mother herself), as data functions that run
//! in the caller's transaction. The demo data writes through these same functions.
//!
//! Invariants every write keeps (the GraphQL layer only decodes):
//! - authorization first, through rule 8 of `auth::access` (`may_write_questionnaires`,
//!   `may_run_rounds`, `may_record_response`), before any value is looked at;
//! - a published questionnaire never changes: editing one is `CONFLICT` (a change is a new
//!   version of its key, [`create_questionnaire`]); publishing twice is `INVALID_TRANSITION`;
//! - a questionnaire has texts in Danish and English (more languages are welcome) for itself
//!   and every item; item codes are unique within it; a CHOICE item lists 2 to 20 choices,
//!   other scales none;
//! - a round gives a *published* questionnaire to a project (optionally one of its courses);
//!   it takes responses until closed, and closes once;
//! - a response names its respondent by a pseudonym ([`CellKeys::pseudonym`] of the mother's
//!   id under the questionnaire key), never her id; she is a mother of the round's project
//!   (enrolled on its course, when the round names one); one response per mother and round
//!   (`CONFLICT`); every answer is of an item of the questionnaire, once, within its scale
//!   (`BAD_USER_INPUT` naming `input.answers.<i>`); a refused response writes nothing;
//! - every write has its audit event (ids only: no answer, no free text).

use std::collections::{BTreeMap, HashSet};

use entity::{
    enrolment,
    enums::{AuditAction, ItemScale, QuestionnaireStatus, SurveyGoal, SurveyMoment},
    mother, questionnaire, questionnaire_item, questionnaire_text, survey_answer, survey_response,
    survey_round,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::{
    audit::{self, Actor, Event},
    auth::Principal,
    error::{ApiError, ApiResult},
    stats::perturbation::CellKeys,
    writes::{language_code, required_text},
};

/// The languages every questionnaire and item must have a text in.
pub const REQUIRED_LANGUAGES: [&str; 2] = ["da", "en"];
/// The most items one questionnaire holds.
pub const MAX_ITEMS: usize = 100;
/// The longest text of a questionnaire or an item, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;
/// The longest free-text answer, in characters.
pub const MAX_ANSWER_CHARS: usize = 2000;
/// A CHOICE item's number of choices.
pub const CHOICES: std::ops::RangeInclusive<usize> = 2..=20;

const QUESTIONNAIRE_ENTITY: &str = "questionnaire";
const ROUND_ENTITY: &str = "survey_round";
const RESPONSE_ENTITY: &str = "survey_response";

/// A text in one language, decoded but not yet checked.
#[derive(Debug, Clone)]
pub struct Text {
    pub language: String,
    pub text: String,
}

/// An item of a new questionnaire version.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub code: String,
    pub goal: SurveyGoal,
    pub scale: ItemScale,
    pub choices: Vec<String>,
    pub texts: Vec<Text>,
}

/// A questionnaire version's content: its title texts and its items, in order.
#[derive(Debug, Clone)]
pub struct QuestionnaireContent {
    pub texts: Vec<Text>,
    pub items: Vec<NewItem>,
}

/// One answer of a response, decoded but not yet checked.
#[derive(Debug, Clone)]
pub struct NewAnswer {
    pub item_id: Uuid,
    pub value: Option<i32>,
    pub text: Option<String>,
}

/// A stable code: 1 to 64 of `a-z`, `0-9`, `-` and `_`.
pub fn code(value: &str, field: &str) -> ApiResult<String> {
    let valid = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(value.to_owned())
    } else {
        Err(ApiError::validation(
            field,
            "must be 1 to 64 characters of a-z, 0-9, - and _",
        ))
    }
}

/// Checks texts: valid, distinct language codes including Danish and English, texts of 1 to
/// [`MAX_TEXT_CHARS`] characters. Returns them cleaned.
fn texts(texts: &[Text], field: &str) -> ApiResult<Vec<Text>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(texts.len());
    for (i, t) in texts.iter().enumerate() {
        let language = language_code(&t.language, &format!("{field}.{i}.language"))?;
        if !seen.insert(language.clone()) {
            return Err(ApiError::validation(
                format!("{field}.{i}.language"),
                format!("{language:?} is given twice"),
            ));
        }
        let text = required_text(&t.text, &format!("{field}.{i}.text"), MAX_TEXT_CHARS)?;
        out.push(Text { language, text });
    }
    for required in REQUIRED_LANGUAGES {
        if !seen.contains(required) {
            return Err(ApiError::validation(
                field,
                format!("needs a text in {required:?} (Danish and English at least)"),
            ));
        }
    }
    Ok(out)
}

/// Checks a questionnaire's content completely, naming fields under `input.`.
fn check_content(content: &QuestionnaireContent) -> ApiResult<QuestionnaireContent> {
    let title = texts(&content.texts, "input.texts")?;
    if content.items.is_empty() || content.items.len() > MAX_ITEMS {
        return Err(ApiError::validation(
            "input.items",
            format!("must hold 1 to {MAX_ITEMS} items"),
        ));
    }
    let mut codes = HashSet::new();
    let mut items = Vec::with_capacity(content.items.len());
    for (i, item) in content.items.iter().enumerate() {
        let at = |f: &str| format!("input.items.{i}.{f}");
        let item_code = code(&item.code, &at("code"))?;
        if !codes.insert(item_code.clone()) {
            return Err(ApiError::validation(
                at("code"),
                format!("{item_code:?} is given twice"),
            ));
        }
        let choices = match item.scale {
            ItemScale::Choice => {
                if !CHOICES.contains(&item.choices.len()) {
                    return Err(ApiError::validation(
                        at("choices"),
                        "a CHOICE item lists 2 to 20 choices",
                    ));
                }
                let mut seen = HashSet::new();
                let mut out = Vec::new();
                for (c, choice) in item.choices.iter().enumerate() {
                    let choice = code(choice, &format!("input.items.{i}.choices.{c}"))?;
                    if !seen.insert(choice.clone()) {
                        return Err(ApiError::validation(
                            format!("input.items.{i}.choices.{c}"),
                            "is given twice",
                        ));
                    }
                    out.push(choice);
                }
                out
            }
            _ if !item.choices.is_empty() => {
                return Err(ApiError::validation(
                    at("choices"),
                    "only a CHOICE item lists choices",
                ));
            }
            _ => Vec::new(),
        };
        items.push(NewItem {
            code: item_code,
            goal: item.goal,
            scale: item.scale,
            choices,
            texts: texts(&item.texts, &at("texts"))?,
        });
    }
    Ok(QuestionnaireContent {
        texts: title,
        items,
    })
}

/// Writes the items and texts of `questionnaire_id` (which has none).
async fn insert_content(
    db: &impl ConnectionTrait,
    questionnaire_id: Uuid,
    content: &QuestionnaireContent,
) -> ApiResult<()> {
    let mut texts = Vec::new();
    let mut items = Vec::new();
    let text_row = |item_id: Option<Uuid>, t: &Text| questionnaire_text::ActiveModel {
        id: Set(Uuid::now_v7()),
        questionnaire_id: Set(questionnaire_id),
        item_id: Set(item_id),
        language: Set(t.language.clone()),
        text: Set(t.text.clone()),
    };
    texts.extend(content.texts.iter().map(|t| text_row(None, t)));
    for (position, item) in content.items.iter().enumerate() {
        let id = Uuid::now_v7();
        items.push(questionnaire_item::ActiveModel {
            id: Set(id),
            questionnaire_id: Set(questionnaire_id),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            code: Set(item.code.clone()),
            goal: Set(item.goal),
            scale: Set(item.scale),
            choices: Set((!item.choices.is_empty()).then(|| item.choices.join("\n"))),
        });
        texts.extend(item.texts.iter().map(|t| text_row(Some(id), t)));
    }
    // At most 100 items x 7 columns and a few hundred texts x 5: within both backends' limits.
    questionnaire_item::Entity::insert_many(items)
        .exec_without_returning(db)
        .await?;
    for chunk in texts.chunks(500) {
        questionnaire_text::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A new DRAFT version of the questionnaire `key`: version 1 for a new key, otherwise one
/// after the latest. `CONFLICT` while the key has a draft (change that one instead).
#[tracing::instrument(skip_all)]
pub async fn create_questionnaire(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    key: &str,
    content: QuestionnaireContent,
) -> ApiResult<questionnaire::Model> {
    principal.may_write_questionnaires()?;
    let key = code(key, "input.key")?;
    let content = check_content(&content)?;
    let latest = questionnaire::Entity::find()
        .filter(questionnaire::Column::Key.eq(key.as_str()))
        .order_by_desc(questionnaire::Column::Version)
        .one(db)
        .await?;
    if let Some(latest) = &latest
        && latest.status == QuestionnaireStatus::Draft
    {
        return Err(ApiError::Conflict(format!(
            "version {} of {key:?} is still a draft: change it with updateQuestionnaire, or \
             publish it first",
            latest.version
        )));
    }
    let now = crate::db::now();
    let row = questionnaire::ActiveModel {
        id: Set(Uuid::now_v7()),
        key: Set(key),
        version: Set(latest.map_or(1, |l| l.version + 1)),
        status: Set(QuestionnaireStatus::Draft),
        published_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    insert_content(db, row.id, &content).await?;
    audit::record(
        db,
        actor,
        [Event::new(
            AuditAction::Create,
            QUESTIONNAIRE_ENTITY,
            row.id,
        )],
    )
    .await?;
    Ok(row)
}

async fn questionnaire_by_id(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> ApiResult<questionnaire::Model> {
    questionnaire::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("questionnaire".into()))
}

/// Replaces the content of a DRAFT version. A published version never changes: `CONFLICT`
/// (create a new version of its key instead).
#[tracing::instrument(skip_all)]
pub async fn update_questionnaire(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
    content: QuestionnaireContent,
) -> ApiResult<questionnaire::Model> {
    principal.may_write_questionnaires()?;
    let found = questionnaire_by_id(db, id).await?;
    if found.status == QuestionnaireStatus::Published {
        return Err(ApiError::Conflict(format!(
            "version {} of {:?} is published and never changes: create a new version with \
             createQuestionnaire",
            found.version, found.key
        )));
    }
    let content = check_content(&content)?;
    questionnaire_text::Entity::delete_many()
        .filter(questionnaire_text::Column::QuestionnaireId.eq(id))
        .exec(db)
        .await?;
    questionnaire_item::Entity::delete_many()
        .filter(questionnaire_item::Column::QuestionnaireId.eq(id))
        .exec(db)
        .await?;
    insert_content(db, id, &content).await?;
    let mut row = found.into_active_model();
    row.updated_at = Set(crate::db::now());
    let row = row.update(db).await?;
    audit::record(
        db,
        actor,
        [Event::new(AuditAction::Update, QUESTIONNAIRE_ENTITY, id)],
    )
    .await?;
    Ok(row)
}

/// Publishes a DRAFT version: from now on it never changes and rounds may use it.
#[tracing::instrument(skip_all)]
pub async fn publish_questionnaire(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    id: Uuid,
) -> ApiResult<questionnaire::Model> {
    principal.may_write_questionnaires()?;
    let found = questionnaire_by_id(db, id).await?;
    if found.status == QuestionnaireStatus::Published {
        return Err(ApiError::InvalidTransition(format!(
            "version {} of {:?} is published already",
            found.version, found.key
        )));
    }
    let now = crate::db::now();
    let mut row = found.into_active_model();
    row.status = Set(QuestionnaireStatus::Published);
    row.published_at = Set(Some(now));
    row.updated_at = Set(now);
    let row = row.update(db).await?;
    audit::record(
        db,
        actor,
        [Event::new(AuditAction::Transition, QUESTIONNAIRE_ENTITY, id).detail("published")],
    )
    .await?;
    Ok(row)
}

/// A new round of a published questionnaire in `project_id`, optionally for one of its
/// courses, open from now on.
#[tracing::instrument(skip_all)]
pub async fn open_round(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    questionnaire_id: Uuid,
    project_id: Uuid,
    course_id: Option<Uuid>,
    moment: SurveyMoment,
) -> ApiResult<survey_round::Model> {
    principal.may_run_rounds(db, project_id).await?;
    let published = questionnaire::Entity::find_by_id(questionnaire_id)
        .one(db)
        .await?
        .is_some_and(|q| q.status == QuestionnaireStatus::Published);
    if !published {
        return Err(ApiError::validation(
            "input.questionnaireId",
            "is not a published questionnaire (publish the draft first)",
        ));
    }
    if let Some(course_id) = course_id {
        let of_project = entity::course::Entity::find_by_id(course_id)
            .one(db)
            .await?
            .is_some_and(|c| c.project_id == project_id);
        if !of_project {
            return Err(ApiError::validation(
                "input.courseId",
                "is not a course of the project",
            ));
        }
    }
    let now = crate::db::now();
    let round = survey_round::ActiveModel {
        id: Set(Uuid::now_v7()),
        questionnaire_id: Set(questionnaire_id),
        project_id: Set(project_id),
        course_id: Set(course_id),
        moment: Set(moment),
        opened_at: Set(now),
        closed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    audit::record(
        db,
        actor,
        [Event::new(AuditAction::Create, ROUND_ENTITY, round.id)],
    )
    .await?;
    Ok(round)
}

/// A round the caller sees (rule 2), or `NOT_FOUND`.
async fn visible_round(
    db: &impl ConnectionTrait,
    principal: &Principal,
    round_id: Uuid,
) -> ApiResult<survey_round::Model> {
    survey_round::Entity::find_by_id(round_id)
        .filter(principal.row_filter::<survey_round::Entity>())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound("survey round".into()))
}

/// Closes an open round: it takes no more responses. Closing twice is `INVALID_TRANSITION`.
#[tracing::instrument(skip_all)]
pub async fn close_round(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    round_id: Uuid,
) -> ApiResult<survey_round::Model> {
    let round = visible_round(db, principal, round_id).await?;
    principal.may_run_rounds(db, round.project_id).await?;
    if round.closed_at.is_some() {
        return Err(ApiError::InvalidTransition(
            "the round is closed already".into(),
        ));
    }
    let now = crate::db::now();
    let mut row = round.into_active_model();
    row.closed_at = Set(Some(now));
    row.updated_at = Set(now);
    let round = row.update(db).await?;
    audit::record(
        db,
        actor,
        [Event::new(AuditAction::Transition, ROUND_ENTITY, round_id).detail("closed")],
    )
    .await?;
    Ok(round)
}

/// The problem of one answer with its item, if any (field relative to the answer).
fn answer_problem(
    item: &questionnaire_item::Model,
    answer: &NewAnswer,
) -> Option<(String, String)> {
    let problem = |field: &str, message: String| Some((field.to_owned(), message));
    match item.scale {
        ItemScale::FreeText => {
            if answer.value.is_some() {
                return problem("value", "a FREE_TEXT item is answered with `text`".into());
            }
            match answer.text.as_deref().map(str::trim) {
                None | Some("") => problem("text", "a FREE_TEXT item needs a text".into()),
                Some(text) if text.chars().count() > MAX_ANSWER_CHARS => problem(
                    "text",
                    format!("is longer than {MAX_ANSWER_CHARS} characters"),
                ),
                Some(text) => crate::writes::displayable(text, "text", false)
                    .err()
                    .map(|e| ("text".to_owned(), e.to_string())),
            }
        }
        scale => {
            if answer.text.is_some() {
                return problem(
                    "text",
                    "only a FREE_TEXT item is answered with a text".into(),
                );
            }
            let Some(value) = answer.value else {
                return problem("value", "this item is answered with a `value`".into());
            };
            let range = match scale {
                ItemScale::Likert5 => 1..=5,
                ItemScale::YesNo => 0..=1,
                _ => {
                    let choices = item.choices.as_deref().map_or(0, |c| c.lines().count());
                    0..=i32::try_from(choices).unwrap_or(i32::MAX) - 1
                }
            };
            (!range.contains(&value)).then(|| {
                (
                    "value".to_owned(),
                    format!(
                        "{value} is outside the item's scale ({} to {})",
                        range.start(),
                        range.end()
                    ),
                )
            })
        }
    }
}

/// Records `mother_id`'s answers in `round_id`: one response under her pseudonym, with its
/// answers, all or nothing. See the module's invariants for every refusal.
#[tracing::instrument(skip_all)]
pub async fn record_response(
    db: &impl ConnectionTrait,
    principal: &Principal,
    actor: &Actor,
    keys: &CellKeys,
    round_id: Uuid,
    mother_id: Uuid,
    answers: Vec<NewAnswer>,
) -> ApiResult<survey_response::Model> {
    let round = visible_round(db, principal, round_id).await?;
    principal
        .may_record_response(db, round.project_id, mother_id)
        .await?;
    if round.closed_at.is_some() {
        return Err(ApiError::Conflict(
            "the round is closed and takes no more responses".into(),
        ));
    }
    let her = mother::Entity::find_by_id(mother_id)
        .one(db)
        .await?
        .filter(|m| m.project_id == round.project_id)
        .ok_or_else(|| {
            ApiError::validation("input.motherId", "is not a mother of the round's project")
        })?;
    if let Some(course_id) = round.course_id {
        let enrolled = enrolment::Entity::find()
            .filter(enrolment::Column::CourseId.eq(course_id))
            .filter(enrolment::Column::MotherId.eq(mother_id))
            .one(db)
            .await?;
        if enrolled.is_none() {
            return Err(ApiError::validation(
                "input.motherId",
                "is not enrolled on the round's course",
            ));
        }
    }
    let questionnaire = questionnaire_by_id(db, round.questionnaire_id).await?;
    let items: BTreeMap<Uuid, questionnaire_item::Model> = questionnaire_item::Entity::find()
        .filter(questionnaire_item::Column::QuestionnaireId.eq(questionnaire.id))
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    if answers.is_empty() {
        return Err(ApiError::validation(
            "input.answers",
            "must hold at least one answer",
        ));
    }
    let mut answered = HashSet::new();
    for (i, answer) in answers.iter().enumerate() {
        let Some(item) = items.get(&answer.item_id) else {
            return Err(ApiError::validation(
                format!("input.answers.{i}.itemId"),
                "is not an item of the round's questionnaire",
            ));
        };
        if !answered.insert(answer.item_id) {
            return Err(ApiError::validation(
                format!("input.answers.{i}.itemId"),
                "is answered twice",
            ));
        }
        if let Some((field, message)) = answer_problem(item, answer) {
            return Err(ApiError::validation(
                format!("input.answers.{i}.{field}"),
                message,
            ));
        }
    }
    let respondent = keys.pseudonym(&questionnaire.key, mother_id);
    let twice = survey_response::Entity::find()
        .filter(survey_response::Column::RoundId.eq(round_id))
        .filter(survey_response::Column::Respondent.eq(respondent.as_str()))
        .one(db)
        .await?;
    if twice.is_some() {
        return Err(ApiError::Conflict(
            "this mother has answered this round already".into(),
        ));
    }
    let response = survey_response::ActiveModel {
        id: Set(Uuid::now_v7()),
        round_id: Set(round_id),
        respondent: Set(respondent),
        corps: Set(her.corps),
        recorded_by_organisation_id: Set(principal.organisation.id),
        created_at: Set(crate::db::now()),
    }
    .insert(db)
    .await?;
    let rows: Vec<survey_answer::ActiveModel> = answers
        .into_iter()
        .map(|a| survey_answer::ActiveModel {
            id: Set(Uuid::now_v7()),
            response_id: Set(response.id),
            item_id: Set(a.item_id),
            value: Set(a.value),
            text: Set(a.text.map(|t| t.trim().to_owned())),
        })
        .collect();
    survey_answer::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    audit::record(
        db,
        actor,
        [Event::new(
            AuditAction::Create,
            RESPONSE_ENTITY,
            response.id,
        )],
    )
    .await?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(scale: ItemScale, choices: Option<&str>) -> questionnaire_item::Model {
        questionnaire_item::Model {
            id: Uuid::nil(),
            questionnaire_id: Uuid::nil(),
            position: 0,
            code: "q".into(),
            goal: SurveyGoal::Network,
            scale,
            choices: choices.map(str::to_owned),
        }
    }

    fn value(v: i32) -> NewAnswer {
        NewAnswer {
            item_id: Uuid::nil(),
            value: Some(v),
            text: None,
        }
    }

    #[test]
    fn answers_stay_within_their_scale() {
        let likert = item(ItemScale::Likert5, None);
        assert!(answer_problem(&likert, &value(1)).is_none());
        assert!(answer_problem(&likert, &value(5)).is_none());
        assert!(answer_problem(&likert, &value(0)).is_some());
        assert!(answer_problem(&likert, &value(6)).is_some());
        let yes_no = item(ItemScale::YesNo, None);
        assert!(answer_problem(&yes_no, &value(1)).is_none());
        assert!(answer_problem(&yes_no, &value(2)).is_some());
        let choice = item(ItemScale::Choice, Some("a\nb\nc"));
        assert!(answer_problem(&choice, &value(2)).is_none());
        assert!(answer_problem(&choice, &value(3)).is_some());
        assert!(answer_problem(&choice, &value(-1)).is_some());
        let free = item(ItemScale::FreeText, None);
        assert!(answer_problem(&free, &value(1)).is_some());
        let text = NewAnswer {
            item_id: Uuid::nil(),
            value: None,
            text: Some("Jeg kender flere nu".into()),
        };
        assert!(answer_problem(&free, &text).is_none());
        assert!(answer_problem(&likert, &text).is_some());
    }
}
