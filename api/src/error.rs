//! The one error type of the API crate and its single mapping to GraphQL error codes.
//!
//! Every resolver returns [`ApiResult`]; async-graphql's blanket `From<Display>` is switched off
//! (feature `custom-error-conversion`), so a database error cannot reach a client by accident:
//! it becomes `INTERNAL` with a generic message, and the detail goes to the log with the request id.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// What went wrong, in the terms a partner developer can act on.
///
/// `Clone` because DataLoader errors are shared between every field waiting on one batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// Several records of one batch are invalid (a bulk import): each with its index in the
    /// batch, so a script can fix every bad row in one round. Code `BAD_USER_INPUT`; the rows
    /// travel in `extensions.rows` as `{index, field, message}`.
    #[error("{} of the rows are invalid; nothing was written (see extensions.rows)", .0.len())]
    InvalidRows(Vec<RowError>),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidTransition(String),
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// An operation beyond the cost limits (depth, complexity, aliases), refused before it ran.
    #[error("{0}")]
    TooComplex(String),
    /// A response beyond the configured size; the caller should page.
    #[error("{0}")]
    ResponseTooLarge(String),
    /// The request ran out of time and was stopped.
    #[error("{0}")]
    Timeout(String),
    /// An automatic persisted query's hash the server does not know; the message is Apollo's,
    /// which older Apollo clients match on, so they re-send the document.
    #[error("PersistedQueryNotFound")]
    PersistedQueryNotFound,
    /// A document that is not a registered operation, on a server that runs only those.
    #[error("{0}")]
    PersistedQueryRequired(String),
    /// Detail for the log only; the client sees "internal error".
    #[error("internal error")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// One problem of one row of a batch: the row's index (from 0), the field's path, the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub index: usize,
    pub field: String,
    pub message: String,
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error with a validation's `field` renamed: shared parsers name a bare field
    /// (`ttl`), while a GraphQL input names its path (`input.ttl`).
    pub fn at(self, field: &str) -> Self {
        match self {
            Self::Validation { message, .. } => Self::validation(field, message),
            other => other,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    /// The `extensions.code` of DESIGN.md's API conventions.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Validation { .. } | Self::InvalidRows(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::InvalidTransition(_) => "INVALID_TRANSITION",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::TooComplex(_) => "QUERY_TOO_COMPLEX",
            Self::ResponseTooLarge(_) => "RESPONSE_TOO_LARGE",
            Self::Timeout(_) => "TIMEOUT",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::PersistedQueryRequired(_) => "PERSISTED_QUERY_REQUIRED",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

/// A CHECK or RESTRICT violation, which sea-orm does not classify: PostgreSQL 23514 / SQLite 275
/// for CHECK (with the constraint's name), SQLite 1811 for ON DELETE RESTRICT.
fn unclassified_violation(err: &DbErr) -> Option<ApiError> {
    let (DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx))) =
        err
    else {
        return None;
    };
    let db = sqlx.as_database_error()?;
    match db.code()?.as_ref() {
        "23514" | "275" => {
            let name = db
                .constraint()
                .map(str::to_owned)
                .or_else(|| {
                    db.message()
                        .split("CHECK constraint failed: ")
                        .nth(1)
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            Some(ApiError::validation(
                "input",
                format!("the values break the rule {name:?}"),
            ))
        }
        "1811" => Some(ApiError::Conflict(
            "the record is still referenced by other records".into(),
        )),
        _ => None,
    }
}

impl From<DbErr> for ApiError {
    /// Constraint violations are the caller's doing and say so; anything else is internal.
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Self::Conflict("a record with the same unique value already exists".into())
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => Self::validation(
                "input",
                "a referenced record does not exist, or the record is still referenced",
            ),
            _ => unclassified_violation(&err).unwrap_or_else(|| Self::Internal(err.to_string())),
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        if let ApiError::Internal(detail) = &err {
            tracing::error!(error = %detail, "internal error");
        }
        err.extend()
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::Validation { field, .. } => ext.set("field", field.as_str()),
                Self::RateLimited { retry_after_secs } => {
                    ext.set("retryAfterSeconds", *retry_after_secs)
                }
                Self::InvalidRows(rows) => ext.set(
                    "rows",
                    async_graphql::Value::List(rows.iter().map(row_value).collect()),
                ),
                _ => {}
            }
        })
    }
}

/// `{index, field, message}` for `extensions.rows`.
fn row_value(row: &RowError) -> async_graphql::Value {
    let mut object = async_graphql::indexmap::IndexMap::new();
    object.insert(
        async_graphql::Name::new("index"),
        async_graphql::Value::from(row.index as u64),
    );
    object.insert(
        async_graphql::Name::new("field"),
        async_graphql::Value::from(row.field.as_str()),
    );
    object.insert(
        async_graphql::Name::new("message"),
        async_graphql::Value::from(row.message.as_str()),
    );
    async_graphql::Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_never_reaches_the_message() {
        let err: async_graphql::Error = ApiError::internal("SELECT secret FROM x").into();
        assert_eq!(err.message, "internal error");
    }

    #[test]
    fn every_variant_has_its_design_code() {
        let cases = [
            (ApiError::Unauthenticated("x".into()), "UNAUTHENTICATED"),
            (ApiError::forbidden("x"), "FORBIDDEN"),
            (ApiError::NotFound("x".into()), "NOT_FOUND"),
            (ApiError::validation("f", "m"), "BAD_USER_INPUT"),
            (ApiError::InvalidRows(Vec::new()), "BAD_USER_INPUT"),
            (ApiError::Conflict("x".into()), "CONFLICT"),
            (
                ApiError::InvalidTransition("x".into()),
                "INVALID_TRANSITION",
            ),
            (
                ApiError::RateLimited {
                    retry_after_secs: 1,
                },
                "RATE_LIMITED",
            ),
            (ApiError::TooComplex("x".into()), "QUERY_TOO_COMPLEX"),
            (ApiError::ResponseTooLarge("x".into()), "RESPONSE_TOO_LARGE"),
            (ApiError::Timeout("x".into()), "TIMEOUT"),
            (
                ApiError::PersistedQueryNotFound,
                "PERSISTED_QUERY_NOT_FOUND",
            ),
            (
                ApiError::PersistedQueryRequired("x".into()),
                "PERSISTED_QUERY_REQUIRED",
            ),
            (ApiError::internal("x"), "INTERNAL"),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
        }
    }
}
