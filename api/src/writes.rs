//! What every write resolver shares: who is writing (the principal and the actor its audit
//! events name), running one data function in one transaction, and the common input checks
//! (trimmed texts, dates that must have happened, organisations an input refers to).
//!
//! The checks answer `BAD_USER_INPUT` naming the field they were given; authorization is not
//! here (it is `Principal::may_write_in_project`, called by the data functions).

use std::sync::Arc;

use async_graphql::Context;
use chrono::NaiveDate;
use entity::organisation;
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait};
use uuid::Uuid;

use crate::{
    audit::Actor,
    auth::{Principal, TokenCache},
    context::RequestContext,
    error::{ApiError, ApiResult},
    events::{EventBus, Outbox},
};

/// The caller of a mutation and the actor its audit events name.
pub fn caller<'c>(ctx: &'c Context<'_>) -> ApiResult<(&'c Principal, Actor)> {
    let principal = ctx.principal()?;
    Ok((principal, principal.actor(ctx.request_id())))
}

/// Runs `work` in one transaction on the request's database: the change and its audit
/// events commit together or not at all. Then the referral events it wrote reach the
/// in-process bus, if it committed (see [`crate::events`]).
pub async fn in_transaction<T>(
    ctx: &Context<'_>,
    work: impl AsyncFnOnce(&DatabaseTransaction) -> ApiResult<T>,
) -> ApiResult<T> {
    let outcome = crate::db::transaction(ctx.db()?, work).await;
    if let Some(outbox) = ctx.data_opt::<Outbox>() {
        outbox.settle(ctx.data_opt::<EventBus>(), outcome.is_ok());
    }
    outcome
}

/// Runs a change that can make cached token rows wrong (a revocation, a deletion) in one
/// transaction, then clears this replica's token cache whatever the outcome, so the very next
/// request here reads the rows again. Other replicas hear the change from its announcement.
pub async fn changing_token_rows<T>(
    ctx: &Context<'_>,
    work: impl AsyncFnOnce(&DatabaseTransaction) -> ApiResult<T>,
) -> ApiResult<T> {
    let outcome = in_transaction(ctx, work).await;
    if let Some(cache) = ctx.data_opt::<Arc<TokenCache>>() {
        cache.clear();
    }
    outcome
}

/// Characters that change how the text around them is displayed without being seen: the
/// bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069; the
/// "Trojan Source" characters), which make a caseworker read a different text than the one
/// stored.
fn reorders_text(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that are invisible or turn the direction of a name: zero-width spaces and
/// joiners, word joiners and invisible operators, direction marks, the byte-order mark, the
/// Mongolian vowel separator and the soft hyphen. Two names that look identical on screen must
/// be the same name.
fn hides_in_names(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{180E}' | '\u{00AD}'
    )
}

/// Control characters other than tab and line breaks.
fn is_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Refuses text a reader would not see as it is stored: control characters and bidirectional
/// overrides everywhere, and invisible characters too when `name` (a person's, project's or
/// course's name, a pseudonym).
pub fn displayable(value: &str, field: &str, name: bool) -> ApiResult<()> {
    if let Some(c) = value
        .chars()
        .find(|&c| is_control(c) || reorders_text(c) || (name && hides_in_names(c)))
    {
        return Err(ApiError::validation(
            field,
            format!(
                "must not contain the invisible or text-reordering character U+{:04X}",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

/// A name (of a person, project or course): a [`required_text`] without invisible characters.
pub fn required_name(value: &str, field: &str, max: usize) -> ApiResult<String> {
    let value = required_text(value, field, max)?;
    displayable(&value, field, true)?;
    Ok(value)
}

/// An optional name: an [`optional_text`] without invisible characters.
pub fn optional_name(value: Option<&str>, field: &str, max: usize) -> ApiResult<Option<String>> {
    let value = optional_text(value, field, max)?;
    if let Some(value) = &value {
        displayable(value, field, true)?;
    }
    Ok(value)
}

/// A required text: trimmed, 1 to `max` characters, nothing a reader would not see (see
/// [`displayable`]).
pub fn required_text(value: &str, field: &str, max: usize) -> ApiResult<String> {
    displayable(value, field, false)?;
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::validation(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// An optional text: trimmed; empty means none.
pub fn optional_text(value: Option<&str>, field: &str, max: usize) -> ApiResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => required_text(value, field, max).map(Some),
    }
}

/// An ISO 639 language code: 2 or 3 lower-case ASCII letters (e.g. `ar`, `som`).
pub fn language_code(code: &str, field: &str) -> ApiResult<String> {
    let valid = (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase());
    if valid {
        Ok(code.to_owned())
    } else {
        Err(ApiError::validation(
            field,
            format!(
                "{code:?} is not an ISO 639 language code (2 or 3 lower-case letters, e.g. \"ar\" or \"som\")"
            ),
        ))
    }
}

/// A date that must have happened: not in the future (UTC).
pub fn past_date(date: NaiveDate, field: &str) -> ApiResult<NaiveDate> {
    if date > crate::db::now().date_naive() {
        return Err(ApiError::validation(field, "is in the future"));
    }
    Ok(date)
}

/// The organisation an input field refers to. Organisations are not secret (every token may
/// list them), so an unknown id is bad input naming the field, not `NOT_FOUND`.
pub async fn referenced_organisation(
    db: &impl ConnectionTrait,
    id: Uuid,
    field: &str,
) -> ApiResult<organisation::Model> {
    organisation::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::validation(field, "no organisation has this id"))
}
