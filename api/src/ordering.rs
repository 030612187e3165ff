//! Response keys in the order of the selection set, as the GraphQL spec requires ("Serialized
//! Map Ordering"). async-graphql 7 resolves an object's fields concurrently and inserts each
//! into the object as it *completes*, so a field that waits on a loader lands after the
//! scalars selected behind it (`{ organisation { .. } id }` came back as `{ id, organisation }`).
//!
//! The schema's extension keeps the request's parsed document and, once the operation has run, puts
//! every object of `data` back into the order in which its selection set (fragments expanded,
//! first occurrence of a response key wins) names the keys. Keys the selection does not name
//! stay behind the named ones. Type conditions are not evaluated: a key selected only in a
//! fragment for another type is absent from the object anyway.
//!
//! The serialised body keeps this order because serde_json is built with `preserve_order`
//! (see the workspace `Cargo.toml`).

use std::sync::{Mutex, PoisonError};

use async_graphql::{
    Name, Positioned, Value,
    indexmap::IndexMap,
    parser::types::{
        DocumentOperations, ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
    },
};
use std::collections::HashMap;

/// The document of one request, kept from parsing until its operation has run (by the
/// schema's extension, [`crate::execution`]).
#[derive(Default)]
pub(crate) struct Document(Mutex<Option<ExecutableDocument>>);

impl Document {
    pub(crate) fn keep(&self, document: &ExecutableDocument) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(document.clone());
    }

    /// Puts every object of `data` in the order of the kept document's operation
    /// `operation_name` (the only one when unnamed); without a document, leaves it.
    pub(crate) fn order(&self, data: &mut Value, operation_name: Option<&str>) {
        let document = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(document) = document else {
            return;
        };
        let operation = match &document.operations {
            DocumentOperations::Single(operation) => Some(operation),
            DocumentOperations::Multiple(operations) => match operation_name {
                Some(name) => operations.get(name),
                None if operations.len() == 1 => operations.values().next(),
                None => None,
            },
        };
        if let Some(operation) = operation {
            let mut root = Key::new("", vec![&operation.node.selection_set.node]);
            order(data, &mut root, &document.fragments);
        }
    }
}

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// A response key and the selection sets that select it (a key selected by several fields
/// merges their sub-selections, as in execution), with the plan of its value's keys built the
/// first time a value under it is an object: the items of a list share one plan, so the
/// selection is walked once per position in the query, not once per object in the response.
struct Key<'a> {
    name: &'a str,
    sets: Vec<&'a SelectionSet>,
    plan: Option<Vec<Key<'a>>>,
}

impl<'a> Key<'a> {
    fn new(name: &'a str, sets: Vec<&'a SelectionSet>) -> Self {
        Key {
            name,
            sets,
            plan: None,
        }
    }

    /// The keys this key's selection sets select, in order.
    fn plan(&mut self, fragments: &'a Fragments) -> &mut Vec<Key<'a>> {
        let sets = &self.sets;
        self.plan.get_or_insert_with(|| {
            let mut keys: IndexMap<&str, Vec<&SelectionSet>> = IndexMap::new();
            let mut visited = Vec::new();
            for set in sets {
                collect(set, fragments, &mut visited, &mut keys);
            }
            keys.into_iter()
                .map(|(name, sets)| Key::new(name, sets))
                .collect()
        })
    }
}

/// Orders `value` (an object, a list of them, or a leaf) by the selection sets of `key`.
fn order<'a>(value: &mut Value, key: &mut Key<'a>, fragments: &'a Fragments) {
    match value {
        Value::List(items) => {
            for item in items {
                order(item, key, fragments);
            }
        }
        Value::Object(object) => order_object(object, key.plan(fragments), fragments),
        _ => {}
    }
}

/// Puts `object`'s keys in the order of `plan`. An object already in that order (most are:
/// only fields that waited on a loader land out of place) is left as it is and only its
/// values are visited.
fn order_object<'a>(
    object: &mut IndexMap<Name, Value>,
    plan: &mut [Key<'a>],
    fragments: &'a Fragments,
) {
    let in_order = object.len() == plan.len()
        && object
            .keys()
            .zip(plan.iter())
            .all(|(name, key)| name.as_str() == key.name);
    if in_order {
        for (child, key) in object.values_mut().zip(plan.iter_mut()) {
            order(child, key, fragments);
        }
        return;
    }
    let mut unordered = std::mem::take(object);
    for key in plan.iter_mut() {
        if let Some((name, mut child)) = unordered.swap_remove_entry(key.name) {
            order(&mut child, key, fragments);
            object.insert(name, child);
        }
    }
    object.extend(unordered);
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
        let mut root = Key::new("", vec![&operation.node.selection_set.node]);
        order(&mut value, &mut root, &document.fragments);
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
    fn items_of_a_list_share_a_plan_but_each_is_put_in_order() {
        let keys = ordered(
            "{ xs { a b } }",
            serde_json::json!({ "xs": [{ "a": 1, "b": 2 }, { "b": 3, "a": 4 }, { "a": 5 }] }),
        );
        assert_eq!(keys, ["xs", "a", "b", "a", "b", "a"]);
    }

    #[test]
    fn unselected_keys_stay_behind() {
        let keys = ordered("{ b a }", serde_json::json!({ "c": 1, "a": 2, "b": 3 }));
        assert_eq!(keys, ["b", "a", "c"]);
    }
}
