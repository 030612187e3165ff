//! The schema's one extension: what an operation does beyond async-graphql's own execution,
//! in the order it nests — the selection order of `data` ([`crate::ordering`], outermost, so it
//! orders what the others settled), the response budget ([`crate::limits::FieldBudget`]), null
//! propagation ([`crate::propagation`]) and the per-request state of federation's `_entities`
//! ([`crate::federation::Batches`]).
//!
//! One extension, not one per concern: async-graphql runs every field and list item through
//! the whole chain of extensions, each link a boxed future, so four extensions cost four
//! allocations and four virtual polls per position (a third of the inbox's allocations).

use std::sync::Arc;

use async_graphql::{
    Request, Response, ServerResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
        NextPrepareRequest, NextResolve, ResolveInfo,
    },
    parser::types::ExecutableDocument,
};

use crate::{
    federation::Batches,
    limits::{FieldBudget, budget_spent},
    ordering::Document,
    propagation::Failures,
};

/// The schema extension; see the module documentation.
pub struct Execution;

impl ExtensionFactory for Execution {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Operation::default())
    }
}

/// One request's state: its parsed document and the failures waiting for their parents.
#[derive(Default)]
struct Operation {
    document: Document,
    failures: Failures,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Operation {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        next.run(ctx, request.data(Batches::default())).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        self.document.keep(&document);
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        self.failures.settle_root(&mut response);
        let mut response = budget_spent(ctx, response);
        self.document.order(&mut response.data, operation_name);
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let budget = FieldBudget::start(ctx, &info).await?;
        let return_type = info.return_type;
        let nullable = !return_type.ends_with('!');
        let node = info.path_node;
        let resolved = next.run(ctx, info).await;
        let value = self.failures.settle_field(node, nullable, resolved)?;
        if let Some(budget) = budget {
            budget.finish(ctx, return_type, &value);
        }
        Ok(value)
    }
}
