//! Response keys in the order of the selection set, as the GraphQL spec requires ("Serialized
//! Map Ordering"). async-graphql 7 resolves an object's fields concurrently and inserts each
//! into the object as it *completes*, so a field that waits on a loader lands after the
//! scalars selected behind it (`{ organisation { .. } id }` came back as `{ id, organisation }`).
//!
//! The extension keeps the request's parsed document and, once the operation has run, puts
//! every object of `data` back into the order in which its selection set (fragments expanded,
//! first occurrence of a response key wins) names the keys. Keys the selection does not name
//! stay behind the named ones. Type conditions are not evaluated: a key selected only in a
//! fragment for another type is absent from the object anyway.
//!
//! The serialised body keeps this order because serde_json is built with `preserve_order`
//! (see the workspace `Cargo.toml`).

use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::{
    Name, Positioned, Response, ServerResult, Value, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery},
    indexmap::IndexMap,
    parser::types::{
        DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
    },
};
use std::collections::HashMap;

/// The schema extension; see the module documentation.
pub struct SelectionOrder;

impl ExtensionFactory for SelectionOrder {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Document::default())
    }
}

/// The document of one request, kept from parsing until its operation has run.
#[derive(Default)]
struct Document(Mutex<Option<ExecutableDocument>>);

#[async_graphql::async_trait::async_trait]
impl Extension for Document {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(document.clone());
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        let document = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(document) = document {
            let operation = match &document.operations {
                DocumentOperations::Single(operation) => Some(operation),
                DocumentOperations::Multiple(operations) => match operation_name {
                    Some(name) => operations.get(name),
                    None if operations.len() == 1 => operations.values().next(),
                    None => None,
                },
            };
            if let Some(operation) = operation {
                let root = [&operation.node.selection_set.node];
                order(&mut response.data, &root, &document.fragments);
            }
        }
        response
    }
}

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// Orders `value` (an object, a list of them, or a leaf) by the selection sets that selected
/// it: a response key selected by several fields merges their sub-selections, as in execution.
fn order(value: &mut Value, sets: &[&SelectionSet], fragments: &Fragments) {
    match value {
        Value::List(items) => {
            for item in items {
                order(item, sets, fragments);
            }
        }
        Value::Object(object) => {
            let mut keys: IndexMap<&str, Vec<&SelectionSet>> = IndexMap::new();
            let mut visited = Vec::new();
            for set in sets {
                collect(set, fragments, &mut visited, &mut keys);
            }
            let mut unordered = std::mem::take(object);
            for (key, selected) in keys {
                if let Some((name, mut child)) = unordered.swap_remove_entry(key) {
                    order(&mut child, &selected, fragments);
                    object.insert(name, child);
                }
            }
            object.extend(unordered);
        }
        _ => {}
    }
}

/// The response keys `set` selects, in order, each with the sub-selections of its fields.
fn collect<'a>(
    set: &'a SelectionSet,
    fragments: &'a Fragments,
    visited: &mut Vec<&'a str>,
    keys: &mut IndexMap<&'a str, Vec<&'a SelectionSet>>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => keys
                .entry(field.node.response_key().node.as_str())
                .or_default()
                .push(&field.node.selection_set.node),
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if visited.contains(&name) {
                    continue;
                }
                visited.push(name);
                if let Some(fragment) = fragments.get(name) {
                    collect(&fragment.node.selection_set.node, fragments, visited, keys);
                }
            }
            Selection::InlineFragment(inline) => {
                collect(&inline.node.selection_set.node, fragments, visited, keys);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(query: &str, data: serde_json::Value) -> Vec<String> {
        let document = async_graphql::parser::parse_query(query).expect("parses");
        let DocumentOperations::Single(operation) = &document.operations else {
            panic!("one operation");
        };
        let mut value = Value::from_json(data).expect("a value");
        order(
            &mut value,
            &[&operation.node.selection_set.node],
            &document.fragments,
        );
        serde_json::to_string(&value)
            .expect("serialises")
            .split(['{', ',', '}'])
            .filter_map(|part| part.split(':').next())
            .filter(|key| key.starts_with('"'))
            .map(|key| key.trim_matches('"').to_owned())
            .collect()
    }

    #[test]
    fn keys_follow_fields_aliases_and_fragments() {
        let keys = ordered(
            "{ b: x { z ...F y } a { n } } fragment F on T { w ... on T { v } z }",
            serde_json::json!({
                "a": [{ "n": 1 }],
                "b": { "y": 1, "v": 2, "w": 3, "z": 4 },
            }),
        );
        assert_eq!(keys, ["b", "z", "w", "v", "y", "a", "n"]);
    }

    #[test]
    fn unselected_keys_stay_behind() {
        let keys = ordered("{ b a }", serde_json::json!({ "c": 1, "a": 2, "b": 3 }));
        assert_eq!(keys, ["b", "a", "c"]);
    }
}
