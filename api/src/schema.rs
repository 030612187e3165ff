//! The GraphQL schema: the query root merged from the domain areas, its limits, and the
//! per-request context every resolver reads (principal, database, loaders).

use std::sync::Arc;

use async_graphql::{
    Context, EmptyMutation, EmptySubscription, MergedObject, SDLExportOptions, Schema,
};
use sea_orm::DatabaseConnection;

use crate::{
    auth::Principal,
    courses::CourseQuery,
    error::{ApiError, ApiResult},
    loaders::{BatchLoad, Batcher, Loaders},
    mothers::MotherQuery,
    node::NodeQuery,
    organisations::OrganisationQuery,
    participants::ParticipantQuery,
    projects::ProjectQuery,
    referrals::ReferralQuery,
    visits::VisitQuery,
};

/// Nesting deeper than this is refused before any database work.
pub const MAX_DEPTH: usize = 12;
/// Upper bound on the summed field complexity of one operation.
pub const MAX_COMPLEXITY: usize = 5_000;

#[derive(MergedObject, Default)]
pub struct Query(
    NodeQuery,
    OrganisationQuery,
    ProjectQuery,
    MotherQuery,
    CourseQuery,
    ParticipantQuery,
    VisitQuery,
    ReferralQuery,
);

pub type BydelSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Builds the schema with the shared database handle. Per-request data (principal, loaders,
/// request id) is attached to each request by the HTTP layer.
pub fn build(db: DatabaseConnection) -> BydelSchema {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .data(db)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The SDL that `bydel schema` writes to `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .finish()
        .sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_enum_items())
}

/// What a resolver needs from the request, with errors in the API's own terms.
pub trait RequestContext {
    fn principal(&self) -> ApiResult<&Principal>;
    fn db(&self) -> ApiResult<&DatabaseConnection>;
    fn loader<L: BatchLoad>(&self) -> ApiResult<Arc<Batcher<L>>>;
}

impl RequestContext for Context<'_> {
    fn principal(&self) -> ApiResult<&Principal> {
        self.data_opt::<Arc<Principal>>()
            .map(Arc::as_ref)
            .ok_or_else(|| ApiError::Unauthenticated("a bearer token is required".into()))
    }

    fn db(&self) -> ApiResult<&DatabaseConnection> {
        self.data_opt::<DatabaseConnection>()
            .ok_or_else(|| ApiError::internal("schema built without a database"))
    }

    fn loader<L: BatchLoad>(&self) -> ApiResult<Arc<Batcher<L>>> {
        self.data_opt::<Loaders>()
            .map(Loaders::get::<L>)
            .ok_or_else(|| ApiError::internal("request without loaders"))
    }
}
