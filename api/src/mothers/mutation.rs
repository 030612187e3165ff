//! The mother mutations (`mothers:write`): thin resolvers that check the input's shape with
//! the shared helpers of [`super::write`] and run one data function in one transaction.
//!
//! `input.projectId` is a reference (malformed or of the wrong type: `BAD_USER_INPUT`); the
//! `id` of the mother to change names the record (unknown or hidden: `NOT_FOUND`). Results
//! are nullable: a refused mutation answers `null` with its error and writes nothing.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::NaiveDate;

use super::{
    Mother,
    write::{self, MAX_NAME_CHARS, MAX_PHONE_CHARS, MotherChange, NewMother},
};
use crate::{
    error::ApiResult,
    ids::{self, Kind},
    vocabulary::MotherStatus,
    writes::{
        caller, changing_token_rows, in_transaction, optional_text, past_date, required_name,
    },
};

/// A new neighbourhood mother in a project.
#[derive(InputObject)]
pub struct RegisterMotherInput {
    /// Her project.
    pub project_id: ID,
    /// 1 to 100 characters.
    pub first_name: String,
    /// 1 to 100 characters.
    pub last_name: String,
    /// Her phone number, shared only with the organisations running her project.
    pub phone: Option<String>,
    /// Her e-mail address, shared only with the organisations running her project.
    pub email: Option<String>,
    /// ISO 639 codes, e.g. `["ar", "da"]`.
    pub languages: Vec<String>,
    /// Not in the future.
    pub joined_on: NaiveDate,
    /// MOTHER when left out; FATHER registers a neighbourhood father (the project must run
    /// that corps).
    pub corps: Option<crate::vocabulary::Corps>,
}

/// Only the fields given change; `null` clears `phone` or `email`; `languages` replaces all.
#[derive(InputObject)]
pub struct UpdateMotherInput {
    /// The mother to change (`Mother.id`).
    pub id: ID,
    /// Her first name.
    pub first_name: Option<String>,
    /// Her last name.
    pub last_name: Option<String>,
    /// Her phone number; `null` clears it.
    pub phone: MaybeUndefined<String>,
    /// Her e-mail address; `null` clears it.
    pub email: MaybeUndefined<String>,
    /// ISO 639 codes of the languages she speaks; replaces all.
    pub languages: Option<Vec<String>>,
}

/// A change of a mother's status (e.g. ACTIVE to INACTIVE, or LEFT).
#[derive(InputObject)]
pub struct ChangeMotherStatusInput {
    /// The mother to change (`Mother.id`).
    pub id: ID,
    /// Her new status.
    pub status: MotherStatus,
    /// When the change took effect (LEFT: her last day); not in the future.
    pub on: NaiveDate,
}

/// A `MaybeUndefined` optional text as a change: absent leaves it, `null` clears it.
fn text_change(
    value: MaybeUndefined<String>,
    check: impl FnOnce(Option<&str>) -> ApiResult<Option<String>>,
) -> ApiResult<Option<Option<String>>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(text) => check(Some(&text)).map(Some),
    }
}

#[derive(Default)]
pub struct MotherMutation;

#[Object]
impl MotherMutation {
    /// Registers a mother in a project, IN_TRAINING.
    async fn register_mother(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new mother: her project, name, languages and dates.")]
        input: RegisterMotherInput,
    ) -> async_graphql::Result<Option<Mother>> {
        let (principal, actor) = caller(ctx)?;
        let project = ids::decode_as(&input.project_id, Kind::Project, "input.projectId")?;
        let new = NewMother {
            first_name: required_name(&input.first_name, "input.firstName", MAX_NAME_CHARS)?,
            last_name: required_name(&input.last_name, "input.lastName", MAX_NAME_CHARS)?,
            phone: optional_text(input.phone.as_deref(), "input.phone", MAX_PHONE_CHARS)?,
            email: write::optional_email(input.email.as_deref(), "input.email")?,
            languages: write::languages(&input.languages, "input.languages")?,
            joined_on: past_date(input.joined_on, "input.joinedOn")?,
            corps: input
                .corps
                .unwrap_or(crate::vocabulary::Corps::Mother)
                .into(),
        };
        let mother = in_transaction(ctx, async |txn| {
            write::register(txn, principal, &actor, project, new).await
        });
        Ok(Some(Mother(mother.await?)))
    }

    /// Changes a mother's names, contact details or languages.
    async fn update_mother(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The mother and the fields to change; fields left out stay as they are.")]
        input: UpdateMotherInput,
    ) -> async_graphql::Result<Option<Mother>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&input.id, Kind::Mother, "input.id")?;
        let name = |text: Option<String>, field| {
            text.map(|t| required_name(&t, field, MAX_NAME_CHARS))
                .transpose()
        };
        let change = MotherChange {
            first_name: name(input.first_name, "input.firstName")?,
            last_name: name(input.last_name, "input.lastName")?,
            phone: text_change(input.phone, |t| {
                optional_text(t, "input.phone", MAX_PHONE_CHARS)
            })?,
            email: text_change(input.email, |t| write::optional_email(t, "input.email"))?,
            languages: input
                .languages
                .map(|l| write::languages(&l, "input.languages"))
                .transpose()?,
        };
        let mother = in_transaction(ctx, async |txn| {
            write::update(txn, principal, &actor, id, change).await
        });
        Ok(Some(Mother(mother.await?)))
    }

    /// Moves a mother to another status. LEFT records `on` as her last day; CERTIFIED needs a
    /// completed course (`INVALID_TRANSITION` otherwise, as for her current status).
    async fn change_mother_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The mother, her new status and the day it took effect.")]
        input: ChangeMotherStatusInput,
    ) -> async_graphql::Result<Option<Mother>> {
        let (principal, actor) = caller(ctx)?;
        let id = ids::decode_as(&input.id, Kind::Mother, "input.id")?;
        let on = past_date(input.on, "input.on")?;
        let status = input.status.into();
        let mother = changing_token_rows(ctx, async |txn| {
            write::change_status(txn, principal, &actor, id, status, on).await
        });
        Ok(Some(Mother(mother.await?)))
    }
}
