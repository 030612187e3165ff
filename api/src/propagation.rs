//! Null propagation as the GraphQL spec defines it ("Handling Execution Errors"), which
//! async-graphql 7 does not do: it leaves a failed field out of its object, turns an object
//! whose every field failed into `null` even where the schema says it cannot be (`events:
//! [null]` for `[ReferralEvent!]`), and leaves an object in place when one of its non-null
//! fields failed.
//!
//! Invariants, for every position (a field or a list item) of a response:
//! - a failed nullable field is present as `null`, next to its siblings;
//! - a failed non-null field or list item makes its parent `null`, and so on upwards to the
//!   nearest nullable position (the whole `data` when there is none);
//! - nothing is added to `errors`: each failure is reported once, where it happened.
//!
//! The schema's extension sees every position as it completes (a parent after its children) and keeps
//! only the failures whose parent has not completed yet, so a response without errors costs one
//! atomic load per position.

use std::{
    collections::HashMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
};

use async_graphql::{Name, Response, ServerResult, Value};
use async_graphql::{QueryPathNode, QueryPathSegment};

/// A position that failed, waiting for its parent to complete.
#[derive(Debug)]
struct Failed {
    /// Its response key (a field's alias or name) or list index.
    key: String,
    nullable: bool,
}

/// The failures of one request, by the path of their parent (`""` for the root), kept by the
/// schema's extension ([`crate::execution`]) for as long as the request runs.
#[derive(Default)]
pub(crate) struct Failures {
    waiting: AtomicUsize,
    by_parent: Mutex<HashMap<String, Vec<Failed>>>,
}

impl Failures {
    fn record(&self, node: &QueryPathNode<'_>, nullable: bool) {
        let parent = node.parent.map(ToString::to_string).unwrap_or_default();
        let key = match node.segment {
            QueryPathSegment::Name(name) => name.to_owned(),
            QueryPathSegment::Index(index) => index.to_string(),
        };
        let mut by_parent = self
            .by_parent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        by_parent
            .entry(parent)
            .or_default()
            .push(Failed { key, nullable });
        self.waiting.fetch_add(1, Ordering::Release);
    }

    /// The failed children of the position at `path` (formatted only when some failure waits),
    /// taken out.
    fn children_of(&self, path: impl FnOnce() -> String) -> Option<Vec<Failed>> {
        if self.waiting.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut by_parent = self
            .by_parent
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let children = by_parent.remove(&path())?;
        self.waiting.fetch_sub(children.len(), Ordering::Release);
        Some(children)
    }
}

/// A position's value given its failed children: `None` when a non-null child failed (the
/// position itself is then null), else the value with every failed child present as `null`.
fn settle(value: Value, children: &[Failed]) -> Option<Value> {
    if children.iter().any(|child| !child.nullable) {
        return None;
    }
    let mut object = match value {
        Value::Object(object) => object,
        // Every field failed: async-graphql made the object `null`.
        Value::Null => Default::default(),
        other => return Some(other),
    };
    for child in children {
        object.entry(Name::new(&child.key)).or_insert(Value::Null);
    }
    Some(Value::Object(object))
}

impl Failures {
    /// A position's outcome once it has resolved, given the failures of its children: a
    /// failure is recorded for its parent and passed on; a value becomes `null` when a
    /// non-null child failed, else keeps every failed child as `null`.
    pub(crate) fn settle_field(
        &self,
        node: &QueryPathNode<'_>,
        nullable: bool,
        resolved: ServerResult<Option<Value>>,
    ) -> ServerResult<Option<Value>> {
        let children = self.children_of(|| node.to_string());
        let value = match resolved {
            Err(err) => {
                self.record(node, nullable);
                return Err(err);
            }
            Ok(value) => value,
        };
        let Some(children) = children else {
            return Ok(value);
        };
        match settle(value.unwrap_or_default(), &children) {
            Some(value) => Ok(Some(value)),
            None => {
                if !nullable {
                    self.record(node, false);
                }
                Ok(Some(Value::Null))
            }
        }
    }

    /// Settles the root fields' failures into `response.data` once the operation has run.
    pub(crate) fn settle_root(&self, response: &mut Response) {
        if let Some(roots) = self.children_of(String::new)
            && response.data != Value::Null
        {
            response.data = settle(std::mem::take(&mut response.data), &roots).unwrap_or_default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(key: &str, nullable: bool) -> Failed {
        Failed {
            key: key.into(),
            nullable,
        }
    }

    #[test]
    fn a_failed_nullable_field_is_null_beside_its_siblings() {
        let value = Value::from_json(serde_json::json!({"id": "1"})).unwrap();
        let settled = settle(value, &[failed("note", true)]).unwrap();
        assert_eq!(
            settled.into_json().unwrap(),
            serde_json::json!({"id": "1", "note": null})
        );
    }

    #[test]
    fn an_object_whose_every_field_failed_is_an_object_of_nulls() {
        let settled = settle(Value::Null, &[failed("note", true)]).unwrap();
        assert_eq!(
            settled.into_json().unwrap(),
            serde_json::json!({"note": null})
        );
    }

    #[test]
    fn a_failed_non_null_child_nulls_its_parent() {
        let value = Value::from_json(serde_json::json!({"id": "1"})).unwrap();
        assert!(settle(value, &[failed("note", true), failed("status", false)]).is_none());
    }
}
