//! What the evaluations measure (issue 17): questionnaires for the programme's four goals,
//! rounds given to a project's cohort, and the responses, pseudonymous by design; and the
//! corps of neighbourhood fathers beside the mothers.
//!
//! - `questionnaire`: one version of a questionnaire (`key`, `version`); a `published` version
//!   never changes (the application refuses), a change is a new version.
//! - `questionnaire_item`: its items in order, each tagged with the goal it measures and its
//!   scale; `code` is stable across versions, so items pair across rounds; `choices` lists a
//!   CHOICE item's choice codes, one a line.
//! - `questionnaire_text`: the texts, per language (an ISO 639 code: more languages are rows,
//!   not code), of the questionnaire itself (`item_id` empty) or of one item.
//! - `survey_round`: a questionnaire given to a project's cohort (optionally one course) at a
//!   moment; open until `closed_at`.
//! - `survey_response`: one respondent's answers in a round. `respondent` is a pseudonym (an
//!   HMAC of the mother's id and the questionnaire key under the installation's statistics
//!   secret), never the mother's id: the same mother has the same pseudonym in every round of
//!   a questionnaire, which pairs her start and end answers, and one response per round.
//!   `corps` is the respondent's corps at the time, for the figures.
//! - `survey_answer`: a numeric value (LIKERT_5 1-5, YES_NO 0/1, CHOICE the choice's index
//!   from 0) or a free text (personal data, read under the rules of notes).
//! - `project.corps` (mothers, fathers or both) and `mother.corps` (mother or father): a
//!   project may run a corps of neighbourhood fathers; the API keeps the name `Mother`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::{NewTable, drop_tables};

#[derive(DeriveMigrationName)]
pub struct Migration;

const GOALS: [&str; 4] = ["knowledge", "network", "education_work", "passing_on"];
const SCALES: [&str; 4] = ["likert_5", "yes_no", "choice", "free_text"];
const MOMENTS: [&str; 3] = ["course_start", "course_end", "one_year_after"];
const CORPS: [&str; 2] = ["mother", "father"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        NewTable::new("questionnaire")
            .id()
            .col(string_len("key", 64))
            .col(integer("version"))
            .one_of("status", &["draft", "published"])
            .col(timestamp_with_time_zone_null("published_at"))
            .timestamps()
            .unique_index(&["key", "version"])
            .create(manager)
            .await?;
        NewTable::new("questionnaire_item")
            .id()
            .uuid_fk(
                uuid("questionnaire_id"),
                "questionnaire",
                ForeignKeyAction::Cascade,
            )
            .col(integer("position"))
            .col(string_len("code", 64))
            .one_of("goal", &GOALS)
            .one_of("scale", &SCALES)
            .col(text_null("choices"))
            .unique_index(&["questionnaire_id", "position"])
            .unique_index(&["questionnaire_id", "code"])
            .create(manager)
            .await?;
        NewTable::new("questionnaire_text")
            .id()
            .uuid_fk(
                uuid("questionnaire_id"),
                "questionnaire",
                ForeignKeyAction::Cascade,
            )
            .uuid_fk(
                uuid_null("item_id"),
                "questionnaire_item",
                ForeignKeyAction::Cascade,
            )
            .col(string_len("language", 8))
            .col(text("text"))
            .index(&["questionnaire_id"])
            .create(manager)
            .await?;
        NewTable::new("survey_round")
            .id()
            .uuid_fk(
                uuid("questionnaire_id"),
                "questionnaire",
                ForeignKeyAction::Restrict,
            )
            .uuid_fk(uuid("project_id"), "project", ForeignKeyAction::Restrict)
            .uuid_fk(uuid_null("course_id"), "course", ForeignKeyAction::Restrict)
            .one_of("moment", &MOMENTS)
            .col(timestamp_with_time_zone("opened_at"))
            .col(timestamp_with_time_zone_null("closed_at"))
            .timestamps()
            .index(&["project_id"])
            .index(&["questionnaire_id"])
            .create(manager)
            .await?;
        NewTable::new("survey_response")
            .id()
            .uuid_fk(uuid("round_id"), "survey_round", ForeignKeyAction::Cascade)
            .col(string_len("respondent", 64))
            .one_of("corps", &CORPS)
            .uuid_fk(
                uuid("recorded_by_organisation_id"),
                "organisation",
                ForeignKeyAction::Restrict,
            )
            .created_at()
            .unique_index(&["round_id", "respondent"])
            .create(manager)
            .await?;
        NewTable::new("survey_answer")
            .id()
            .uuid_fk(
                uuid("response_id"),
                "survey_response",
                ForeignKeyAction::Cascade,
            )
            .uuid_fk(
                uuid("item_id"),
                "questionnaire_item",
                ForeignKeyAction::Restrict,
            )
            .col(integer_null("value"))
            .col(text_null("text"))
            .unique_index(&["response_id", "item_id"])
            .create(manager)
            .await?;
        // SQLite adds one column per statement and no CHECK to an existing table: the
        // application keeps the values to the vocabulary, as it does for every enum.
        manager
            .alter_table(
                Table::alter()
                    .table("project")
                    .add_column(string_len("corps", 32).default("mothers"))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("mother")
                    .add_column(string_len("corps", 32).default("mother"))
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["mother", "project"] {
            manager
                .alter_table(Table::alter().table(table).drop_column("corps").take())
                .await?;
        }
        drop_tables(
            manager,
            &[
                "survey_answer",
                "survey_response",
                "survey_round",
                "questionnaire_text",
                "questionnaire_item",
                "questionnaire",
            ],
        )
        .await
    }
}
