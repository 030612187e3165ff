//! What every request's inputs must satisfy before anything runs, whatever field they go to:
//! no text holds a NUL character (PostgreSQL cannot store one, SQLite would), no list holds
//! more than [`MAX_LIST_ITEMS`] values (a filter's values become SQL parameters, and both
//! databases cap those), and every directive is one the server knows, used once per place
//! (async-graphql's own validation does not look at `__typename`).
//!
//! Invariants: the checks run on the document's literals and on the variables alike, before the
//! cost limits and before execution, and refuse with `BAD_USER_INPUT` naming where the value
//! was (`filter.status`, `input.note`: an argument or variable and the path inside it); nothing a refused request asked for has run.

use async_graphql::{
    Name, Positioned, Value, Variables,
    parser::types::{Directive, ExecutableDocument, Selection, SelectionSet},
};

use crate::error::{ApiError, ApiResult};

/// The most values one list in a request may hold. It is also the largest bulk import
/// (`visits::write::MAX_IMPORT_ROWS`) and far below the SQL parameter limits of SQLite (32,766)
/// and PostgreSQL (65,535).
pub const MAX_LIST_ITEMS: usize = 1000;

/// The executable directives this server answers; every other name is refused.
const KNOWN_DIRECTIVES: [&str; 2] = ["skip", "include"];

/// Checks the document's literals and directives and the request's variables.
pub fn check(document: &ExecutableDocument, variables: &Variables) -> ApiResult<()> {
    for (name, value) in variables.iter() {
        value_ok(value, name.as_str())?;
    }
    for (_, operation) in document.operations.iter() {
        directives_ok(&operation.node.directives)?;
        selection_set_ok(&operation.node.selection_set.node)?;
    }
    for fragment in document.fragments.values() {
        directives_ok(&fragment.node.directives)?;
        selection_set_ok(&fragment.node.selection_set.node)?;
    }
    Ok(())
}

/// A document's literal with its variables read as `null` (they are checked as variables). A
/// macro because the literal's type (async-graphql-value's `Value`) is not re-exported.
macro_rules! constant {
    ($literal:expr) => {
        $literal
            .clone()
            .into_const_with(|_| Ok::<Value, ()>(Value::Null))
            .unwrap_or_default()
    };
}

fn selection_set_ok(set: &SelectionSet) -> ApiResult<()> {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                directives_ok(&field.directives)?;
                for (name, value) in &field.arguments {
                    value_ok(&constant!(value.node), name.node.as_str())?;
                }
                selection_set_ok(&field.selection_set.node)?;
            }
            Selection::FragmentSpread(spread) => directives_ok(&spread.node.directives)?,
            Selection::InlineFragment(inline) => {
                directives_ok(&inline.node.directives)?;
                selection_set_ok(&inline.node.selection_set.node)?;
            }
        }
    }
    Ok(())
}

fn directives_ok(directives: &[Positioned<Directive>]) -> ApiResult<()> {
    for (i, directive) in directives.iter().enumerate() {
        let name = directive.node.name.node.as_str();
        if !KNOWN_DIRECTIVES.contains(&name) {
            return Err(ApiError::validation(
                "query",
                format!("unknown directive @{name}; this server knows @skip and @include"),
            ));
        }
        for (argument, value) in &directive.node.arguments {
            value_ok(&constant!(value.node), argument.node.as_str())?;
        }
        if directives[..i]
            .iter()
            .any(|earlier| earlier.node.name.node == directive.node.name.node)
        {
            return Err(ApiError::validation(
                "query",
                format!("the directive @{name} is used twice in one place"),
            ));
        }
    }
    Ok(())
}

/// A variable's value or a document's literal (its variables read as `null` here: they are
/// checked with the variables themselves), at `path`.
fn value_ok(value: &Value, path: &str) -> ApiResult<()> {
    match value {
        Value::String(text) => text_ok(text, path),
        Value::List(items) => {
            list_ok(items.len(), path)?;
            items.iter().try_for_each(|item| value_ok(item, path))
        }
        Value::Object(fields) => fields
            .iter()
            .try_for_each(|(name, v)| value_ok(v, &child(path, name))),
        _ => Ok(()),
    }
}

fn child(path: &str, name: &Name) -> String {
    format!("{path}.{name}")
}

fn text_ok(text: &str, path: &str) -> ApiResult<()> {
    if text.contains('\0') {
        return Err(ApiError::validation(
            path,
            "must not contain a NUL character (U+0000)",
        ));
    }
    Ok(())
}

fn list_ok(len: usize, path: &str) -> ApiResult<()> {
    if len > MAX_LIST_ITEMS {
        return Err(ApiError::validation(
            path,
            format!("holds {len} values; a list holds at most {MAX_LIST_ITEMS}"),
        ));
    }
    Ok(())
}

/// The values of a list filter without repeats, in their first order: `[A, A, B]` asks for what
/// `[A, B]` asks for, and the query then carries each value once.
pub fn distinct<T: PartialEq>(values: Vec<T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(values.len().min(MAX_LIST_ITEMS));
    for value in values {
        if !kept.contains(&value) {
            kept.push(value);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(query: &str, variables: serde_json::Value) -> ApiResult<()> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        check(&document, &Variables::from_json(variables))
    }

    fn field_of(result: ApiResult<()>) -> String {
        match result {
            Err(ApiError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn nul_is_refused_in_literals_and_variables() {
        let literal = "{ referrals(filter: { projectId: \"a\\u0000b\" }) { totalCount } }";
        assert_eq!(
            field_of(checked(literal, serde_json::json!({}))),
            "filter.projectId"
        );
        let variables = serde_json::json!({"input": {"note": "x\u{0}"}});
        assert_eq!(
            field_of(checked(
                "mutation($input: X) { a(input: $input) }",
                variables
            )),
            "input.note"
        );
        assert!(checked("{ a(b: \"ok\") }", serde_json::json!({"v": "fine"})).is_ok());
    }

    #[test]
    fn long_lists_are_refused() {
        let many = vec!["REQUESTED"; MAX_LIST_ITEMS + 1];
        assert_eq!(
            field_of(checked("{ a }", serde_json::json!({ "s": many }))),
            "s"
        );
        let fits = vec!["REQUESTED"; MAX_LIST_ITEMS];
        assert!(checked("{ a }", serde_json::json!({ "s": fits })).is_ok());
    }

    #[test]
    fn unknown_and_repeated_directives_are_refused() {
        assert!(checked("{ __typename @evil }", serde_json::json!({})).is_err());
        assert!(
            checked(
                "{ __typename @skip(if: false) @skip(if: false) }",
                serde_json::json!({})
            )
            .is_err()
        );
        assert!(
            checked(
                "{ ...F } fragment F on Query @evil { a }",
                serde_json::json!({})
            )
            .is_err()
        );
        assert!(
            checked(
                "{ a @skip(if: false) @include(if: true) }",
                serde_json::json!({})
            )
            .is_ok()
        );
    }

    #[test]
    fn distinct_keeps_the_first_of_each() {
        assert_eq!(distinct(vec![2, 1, 2, 3, 1]), vec![2, 1, 3]);
    }
}
