//! The survey mutations: thin resolvers that decode ids and enums and run one data function
//! of [`super::write`] in one transaction. Results are nullable: a refused mutation answers
//! `null` with its error and writes nothing.
//!
//! An id inside `input` is a reference: malformed or of the wrong type is `BAD_USER_INPUT`
//! naming the field; the record a mutation acts on (a questionnaire, a round) unknown or
//! hidden is `NOT_FOUND`.

use async_graphql::{Context, ID, InputObject, Object};

use super::{
    Questionnaire, SurveyResponse, SurveyRound,
    write::{self, NewAnswer, NewItem, QuestionnaireContent, Text},
};
use crate::{
    error::{ApiError, ApiResult},
    ids::{self, Kind},
    stats::StatsPolicy,
    vocabulary::{ItemScale, SurveyGoal, SurveyMoment},
    writes::{caller, in_transaction},
};

/// A text in one language.
#[derive(InputObject)]
pub struct LocalizedTextInput {
    /// ISO 639 code (2 or 3 lower-case letters).
    pub language: String,
    /// 1 to 1000 characters.
    pub text: String,
}

/// An item of a questionnaire.
#[derive(InputObject)]
pub struct QuestionnaireItemInput {
    /// Stable across versions (1 to 64 of a-z, 0-9, - and _), unique in the questionnaire.
    pub code: String,
    /// The goal the item measures.
    pub goal: SurveyGoal,
    /// How it is answered.
    pub scale: ItemScale,
    /// A CHOICE item's 2 to 20 choice codes; none for other scales.
    #[graphql(default)]
    pub choices: Vec<String>,
    /// The question, in Danish and English at least.
    pub texts: Vec<LocalizedTextInput>,
}

/// A new version of a questionnaire.
#[derive(InputObject)]
pub struct CreateQuestionnaireInput {
    /// The questionnaire's key (1 to 64 of a-z, 0-9, - and _): a new key starts at version 1,
    /// a known one gets its next version.
    pub key: String,
    /// The title, in Danish and English at least.
    pub texts: Vec<LocalizedTextInput>,
    /// 1 to 100 items, in order.
    pub items: Vec<QuestionnaireItemInput>,
}

/// New content for a draft version.
#[derive(InputObject)]
pub struct UpdateQuestionnaireInput {
    /// The draft version to change; a published one is `CONFLICT`.
    pub id: ID,
    /// The title, in Danish and English at least.
    pub texts: Vec<LocalizedTextInput>,
    /// 1 to 100 items, in order.
    pub items: Vec<QuestionnaireItemInput>,
}

/// A round: a published questionnaire given to a project's cohort at a moment.
#[derive(InputObject)]
pub struct OpenSurveyRoundInput {
    /// A published questionnaire version.
    pub questionnaire_id: ID,
    /// A project the caller operates.
    pub project_id: ID,
    /// One course of the project whose cohort answers; left out, the whole project.
    pub course_id: Option<ID>,
    /// When in the volunteers' path the round is given.
    pub moment: SurveyMoment,
}

/// One answer: `value` for LIKERT_5 (1-5), YES_NO (0 no, 1 yes) and CHOICE (the index from
/// 0); `text` for FREE_TEXT.
#[derive(InputObject)]
pub struct SurveyAnswerInput {
    /// An item of the round's questionnaire.
    pub item_id: ID,
    /// The answer to a LIKERT_5, YES_NO or CHOICE item.
    pub value: Option<i32>,
    /// At most 2000 characters: personal data, read under the rules of notes.
    pub text: Option<String>,
}

/// A mother's answers in a round.
#[derive(InputObject)]
pub struct RecordSurveyResponseInput {
    /// An open round.
    pub round_id: ID,
    /// A mother of the round's project (on its course, when it names one); with a token bound
    /// to a mother, herself. She is never stored with the response: a pseudonym pairs her
    /// rounds.
    pub mother_id: ID,
    /// At least one answer, each item once; items left out are unanswered.
    pub answers: Vec<SurveyAnswerInput>,
}

fn texts(input: Vec<LocalizedTextInput>) -> Vec<Text> {
    input
        .into_iter()
        .map(|t| Text {
            language: t.language,
            text: t.text,
        })
        .collect()
}

fn content(
    title: Vec<LocalizedTextInput>,
    items: Vec<QuestionnaireItemInput>,
) -> QuestionnaireContent {
    QuestionnaireContent {
        texts: texts(title),
        items: items
            .into_iter()
            .map(|i| NewItem {
                code: i.code,
                goal: i.goal.into(),
                scale: i.scale.into(),
                choices: i.choices,
                texts: texts(i.texts),
            })
            .collect(),
    }
}

fn policy(ctx: &Context<'_>) -> ApiResult<StatsPolicy> {
    ctx.data::<StatsPolicy>()
        .copied()
        .map_err(|_| ApiError::internal("the statistics policy is not configured"))
}

#[derive(Default)]
pub struct SurveyMutation;

#[Object]
impl SurveyMutation {
    /// Writes a new DRAFT version of a questionnaire (`surveys:admin`, the secretariat).
    async fn create_questionnaire(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key, the title and the items.")] input: CreateQuestionnaireInput,
    ) -> async_graphql::Result<Option<Questionnaire>> {
        let (principal, actor) = caller(ctx)?;
        let key = input.key;
        let content = content(input.texts, input.items);
        let created = in_transaction(ctx, async |txn| {
            write::create_questionnaire(txn, principal, &actor, &key, content).await
        });
        Ok(Some(Questionnaire(created.await?)))
    }

    /// Replaces the content of a DRAFT version (`surveys:admin`); a published version never
    /// changes (`CONFLICT`: create a new version instead).
    async fn update_questionnaire(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The draft and its new title and items.")] input: UpdateQuestionnaireInput,
    ) -> async_graphql::Result<Option<Questionnaire>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&input.id, Kind::Questionnaire, "input.id")?;
        let content = content(input.texts, input.items);
        let updated = in_transaction(ctx, async |txn| {
            write::update_questionnaire(txn, principal, &actor, id, content).await
        });
        Ok(Some(Questionnaire(updated.await?)))
    }

    /// Publishes a DRAFT version (`surveys:admin`): from now on it never changes.
    async fn publish_questionnaire(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The draft version to publish.")] id: ID,
    ) -> async_graphql::Result<Option<Questionnaire>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&id, Kind::Questionnaire, "id")?;
        let published = in_transaction(ctx, async |txn| {
            write::publish_questionnaire(txn, principal, &actor, id).await
        });
        Ok(Some(Questionnaire(published.await?)))
    }

    /// Opens a round in a project (`surveys:write`, the project's operator or the
    /// secretariat).
    async fn open_survey_round(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The questionnaire, the project, optionally its course, the moment.")]
        input: OpenSurveyRoundInput,
    ) -> async_graphql::Result<Option<SurveyRound>> {
        let (principal, actor) = caller(ctx)?;
        let questionnaire = ids::decode_as(
            &input.questionnaire_id,
            Kind::Questionnaire,
            "input.questionnaireId",
        )?;
        let project = ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?;
        let course = input
            .course_id
            .map(|id| ids::decode_as(&id, Kind::Course, "input.courseId"))
            .transpose()?;
        let moment = input.moment.into();
        let round = in_transaction(ctx, async |txn| {
            write::open_round(
                txn,
                principal,
                &actor,
                questionnaire,
                project,
                course,
                moment,
            )
            .await
        });
        Ok(Some(SurveyRound(round.await?)))
    }

    /// Closes a round (`surveys:write`): it takes no more responses.
    async fn close_survey_round(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round to close.")] id: ID,
    ) -> async_graphql::Result<Option<SurveyRound>> {
        let (principal, actor) = caller(ctx)?;
        let round = ids::decode_as(&id, Kind::SurveyRound, "id")?;
        let closed = in_transaction(ctx, async |txn| {
            write::close_round(txn, principal, &actor, round).await
        });
        Ok(Some(SurveyRound(closed.await?)))
    }

    /// Records a mother's answers in an open round (`surveys:write`): the project's operator
    /// for its mothers, or the mother herself with a token bound to her.
    async fn record_survey_response(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The round, the mother and her answers.")]
        input: RecordSurveyResponseInput,
    ) -> async_graphql::Result<Option<SurveyResponse>> {
        let (principal, actor) = caller(ctx)?;
        let round = ids::decode_as(&input.round_id, Kind::SurveyRound, "input.roundId")?;
        let mother = ids::decode_as(&input.mother_id, Kind::Mother, "input.motherId")?;
        let answers = input
            .answers
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                Ok(NewAnswer {
                    item_id: ids::decode_as(
                        &a.item_id,
                        Kind::QuestionnaireItem,
                        &format!("input.answers.{i}.itemId"),
                    )?,
                    value: a.value,
                    text: a.text,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let keys = policy(ctx)?.cell_keys;
        let response = in_transaction(ctx, async |txn| {
            write::record_response(txn, principal, &actor, &keys, round, mother, answers).await
        });
        Ok(Some(SurveyResponse(response.await?)))
    }
}
