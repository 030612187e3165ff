//! Surveys: what the programme's evaluations measure (issue 17). Versioned questionnaires
//! whose items measure the four goals (knowledge, network, clarity on education and work,
//! passing knowledge on), rounds given to a project's cohort at a moment, and responses.
//!
//! Invariants: reading goes through rule 8 of `auth::access` (questionnaires for every
//! `surveys:read` holder, rounds under their project's row rule, free-text answers for the
//! secretariat and the project's operator, audited as notes); responses never name the
//! mother (a pseudonym pairs her rounds); numeric answers leave the server only as figures
//! (`stats.evaluation`, disclosure-controlled). Writing is in [`write`] and [`mutation`].

mod mutation;
pub mod write;

pub use mutation::SurveyMutation;

use std::{collections::HashMap, sync::Arc};

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{
    course, project, questionnaire, questionnaire_item, survey_answer, survey_response,
    survey_round,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::{
    auth::Principal,
    auth::access,
    child_of,
    context::{BatchLoad, RequestContext},
    courses::Course,
    db::Db,
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    loaders::{Keyed, load_by_id, load_children},
    projects::Project,
    vocabulary::{ItemScale, QuestionnaireStatus, SurveyGoal, SurveyMoment},
};

child_of!(ItemsOfQuestionnaire: questionnaire_item by QuestionnaireId ordered by Position);
child_of!(TextsOfQuestionnaire: questionnaire_text by QuestionnaireId ordered by Language);

impl Keyed for questionnaire::Entity {
    fn id_column() -> Self::Column {
        questionnaire::Column::Id
    }
}

impl Keyed for survey_round::Entity {
    fn id_column() -> Self::Column {
        survey_round::Column::Id
    }
}

/// The most rows a survey list returns; questionnaires and a project's rounds are few.
pub const MAX_LIST: u64 = 500;

/// A text in one language.
#[derive(SimpleObject, Clone)]
pub struct LocalizedText {
    /// ISO 639 code, e.g. `da`, `en`, `ar`.
    pub language: String,
    /// The text.
    pub text: String,
}

/// The text in `language`, else Danish, else any.
fn pick(texts: &[LocalizedText], language: &str) -> Option<String> {
    texts
        .iter()
        .find(|t| t.language == language)
        .or_else(|| texts.iter().find(|t| t.language == "da"))
        .or_else(|| texts.first())
        .map(|t| t.text.clone())
}

async fn texts_of(
    ctx: &Context<'_>,
    questionnaire: Uuid,
    item: Option<Uuid>,
) -> ApiResult<Vec<LocalizedText>> {
    Ok(load_children::<TextsOfQuestionnaire>(ctx, questionnaire)
        .await?
        .into_iter()
        .filter(|t| t.item_id == item)
        .map(|t| LocalizedText {
            language: t.language,
            text: t.text,
        })
        .collect())
}

pub struct Questionnaire(pub questionnaire::Model);

/// One version of a questionnaire (`surveys:read`); a published version never changes.
#[Object]
impl Questionnaire {
    /// The version's global id.
    pub async fn id(&self) -> ID {
        Kind::Questionnaire.id(self.0.id)
    }
    /// The questionnaire's stable key, shared by its versions (e.g. `goals`).
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// 1 for the first version of the key, then one more per new version.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// DRAFT (changes in place) or PUBLISHED (never changes).
    async fn status(&self) -> QuestionnaireStatus {
        self.0.status.into()
    }
    /// When it was published; `null` for a draft.
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }
    /// The title in `language` (falling back to Danish).
    async fn title(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = "da", desc = "An ISO 639 code.")] language: String,
    ) -> async_graphql::Result<Option<String>> {
        Ok(pick(&texts_of(ctx, self.0.id, None).await?, &language))
    }
    /// The title in every language it is written in.
    async fn texts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LocalizedText>> {
        Ok(texts_of(ctx, self.0.id, None).await?)
    }
    /// The items, in order.
    async fn items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<QuestionnaireItem>> {
        Ok(load_children::<ItemsOfQuestionnaire>(ctx, self.0.id)
            .await?
            .into_iter()
            .map(QuestionnaireItem)
            .collect())
    }
}

pub struct QuestionnaireItem(pub questionnaire_item::Model);

/// An item of a questionnaire: the goal it measures and how it is answered.
#[Object]
impl QuestionnaireItem {
    /// The item's id, as `recordSurveyResponse` names it.
    async fn id(&self) -> ID {
        Kind::QuestionnaireItem.id(self.0.id)
    }
    /// From 0.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// Stable across versions: items of two versions with one code pair in the figures.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// The goal the item measures.
    async fn goal(&self) -> SurveyGoal {
        self.0.goal.into()
    }
    /// How it is answered.
    async fn scale(&self) -> ItemScale {
        self.0.scale.into()
    }
    /// A CHOICE item's choice codes; an answer's `value` is the index from 0.
    async fn choices(&self) -> Vec<String> {
        self.0
            .choices
            .as_deref()
            .map(|c| c.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }
    /// The question in `language` (falling back to Danish).
    async fn text(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = "da", desc = "An ISO 639 code.")] language: String,
    ) -> async_graphql::Result<Option<String>> {
        let texts = texts_of(ctx, self.0.questionnaire_id, Some(self.0.id)).await?;
        Ok(pick(&texts, &language))
    }
    /// The question in every language it is written in.
    async fn texts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<LocalizedText>> {
        Ok(texts_of(ctx, self.0.questionnaire_id, Some(self.0.id)).await?)
    }
}

pub struct SurveyRound(pub survey_round::Model);

/// A free-text answer: personal data, for the secretariat and the project's operator.
#[derive(SimpleObject)]
pub struct SurveyFreeTextAnswer {
    /// The item's code.
    pub item_code: String,
    /// The respondent's words.
    pub text: String,
}

/// A questionnaire given to a project's cohort at a moment (`surveys:read`).
#[Object]
impl SurveyRound {
    /// The round's global id.
    pub async fn id(&self) -> ID {
        Kind::SurveyRound.id(self.0.id)
    }
    /// When in the volunteers' path it is given.
    async fn moment(&self) -> SurveyMoment {
        self.0.moment.into()
    }
    /// When it opened.
    async fn opened_at(&self) -> DateTime<Utc> {
        self.0.opened_at
    }
    /// `null` while it takes responses.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
    /// The questionnaire version it gives.
    async fn questionnaire(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Questionnaire>> {
        Ok(
            load_by_id::<questionnaire::Entity>(ctx, self.0.questionnaire_id)
                .await?
                .map(Questionnaire),
        )
    }
    /// The project whose cohort answers.
    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Project>> {
        Ok(load_by_id::<project::Entity>(ctx, self.0.project_id)
            .await?
            .map(Project))
    }
    /// The course whose cohort answers; `null` for the whole project (or when hidden).
    async fn course(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Course>> {
        let Some(id) = self.0.course_id else {
            return Ok(None);
        };
        Ok(load_by_id::<course::Entity>(ctx, id).await?.map(Course))
    }
    /// How many responses the round holds.
    async fn response_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let count = ctx
            .loader::<ResponseCounts>()?
            .load_one(self.0.id)
            .await?
            .unwrap_or(0);
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }
    /// The round's free-text answers, without their respondents: personal data for the
    /// secretariat and the project's operator only (rule 8), each read audited as notes.
    async fn free_text_answers(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<Vec<SurveyFreeTextAnswer>>> {
        let db = ctx.db()?;
        let responses = survey_response::Entity::find()
            .select_only()
            .column(survey_response::Column::Id)
            .filter(survey_response::Column::RoundId.eq(self.0.id));
        let answers = survey_answer::Entity::find()
            .filter(
                survey_answer::Column::ResponseId
                    .in_subquery(sea_orm::QueryTrait::into_query(responses)),
            )
            .filter(survey_answer::Column::Text.is_not_null())
            .order_by_asc(survey_answer::Column::Id)
            .all(db)
            .await
            .map_err(ApiError::from)?;
        let codes: std::collections::HashMap<Uuid, String> =
            load_children::<ItemsOfQuestionnaire>(ctx, self.0.questionnaire_id)
                .await?
                .into_iter()
                .map(|i| (i.id, i.code))
                .collect();
        let rows: Vec<(Uuid, String, Option<String>)> = answers
            .into_iter()
            .map(|a| {
                let code = codes.get(&a.item_id).cloned().unwrap_or_default();
                (a.id, code, a.text)
            })
            .collect();
        let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
        access::survey_free_text(ctx, &self.0, &ids).await?;
        Ok(Some(
            rows.into_iter()
                .filter_map(|(_, item_code, text)| {
                    text.map(|text| SurveyFreeTextAnswer { item_code, text })
                })
                .collect(),
        ))
    }
}

pub struct SurveyResponse(pub survey_response::Model);

/// A recorded response: the round and when; never the respondent.
#[Object]
impl SurveyResponse {
    /// The response's global id.
    pub async fn id(&self) -> ID {
        Kind::SurveyResponse.id(self.0.id)
    }
    /// The round it answers.
    async fn round_id(&self) -> ID {
        Kind::SurveyRound.id(self.0.round_id)
    }
    /// When it was recorded.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(Default)]
pub struct SurveyQuery;

#[Object]
impl SurveyQuery {
    /// Questionnaire versions (`surveys:read`), by key and version; optionally of one key.
    async fn questionnaires(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the versions of this key.")] key: Option<String>,
    ) -> async_graphql::Result<Vec<Questionnaire>> {
        let mut query = ctx.principal()?.read::<questionnaire::Entity>()?;
        if let Some(key) = key {
            query = query.filter(questionnaire::Column::Key.eq(key));
        }
        Ok(query
            .order_by_asc(questionnaire::Column::Key)
            .order_by_asc(questionnaire::Column::Version)
            .limit(MAX_LIST)
            .all(ctx.db()?)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(Questionnaire)
            .collect())
    }

    /// The survey rounds the caller sees (`surveys:read`), oldest first; optionally of one
    /// project.
    async fn survey_rounds(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only the rounds of this project.")] project_id: Option<ID>,
    ) -> async_graphql::Result<Vec<SurveyRound>> {
        let mut query = ctx.principal()?.read::<survey_round::Entity>()?;
        if let Some(id) = project_id {
            let project = ids::decode_as(&id, Kind::Project, "projectId")?;
            query = query.filter(survey_round::Column::ProjectId.eq(project));
        }
        Ok(query
            .order_by_asc(survey_round::Column::OpenedAt)
            .order_by_asc(survey_round::Column::Id)
            .limit(MAX_LIST)
            .all(ctx.db()?)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(SurveyRound)
            .collect())
    }
}

/// How many responses each round holds, for a page of rounds in one grouped query. The rounds
/// asked for are already visible to the caller; a count names no one.
pub struct ResponseCounts(Db);

impl BatchLoad for ResponseCounts {
    type Key = Uuid;
    type Value = u64;

    fn new(db: Db, _: Arc<Principal>) -> Self {
        Self(db)
    }

    async fn load(&self, rounds: Vec<Uuid>) -> ApiResult<HashMap<Uuid, u64>> {
        let rows: Vec<(Uuid, i64)> = survey_response::Entity::find()
            .select_only()
            .column(survey_response::Column::RoundId)
            .column_as(survey_response::Column::Id.count(), "responses")
            .filter(survey_response::Column::RoundId.is_in(rounds))
            .group_by(survey_response::Column::RoundId)
            .into_tuple()
            .all(&self.0)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(round, n)| (round, u64::try_from(n).unwrap_or(0)))
            .collect())
    }
}
