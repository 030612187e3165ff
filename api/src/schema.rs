//! The GraphQL schema: the query and mutation roots merged from the domain areas, its limits,
//! and the per-request context every resolver reads (principal, database, loaders, keys).

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, MergedObject, SDLExportOptions, Schema};
use sea_orm::DatabaseConnection;

use crate::{
    audit::AuditQuery,
    auth::{Principal, TokenKeys},
    courses::{CourseMutation, CourseQuery},
    error::{ApiError, ApiResult},
    loaders::{BatchLoad, Batcher, Loaders},
    mothers::{MotherMutation, MotherQuery},
    node::NodeQuery,
    organisations::OrganisationQuery,
    participants::{ParticipantMutation, ParticipantQuery},
    projects::{ProjectMutation, ProjectQuery},
    referrals::{ReferralMutation, ReferralPolicy, ReferralQuery},
    server::RequestIdValue,
    stats::{StatsPolicy, StatsQuery},
    tokens::{TokenMutation, TokenQuery},
    visits::{VisitMutation, VisitQuery},
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
    StatsQuery,
    TokenQuery,
    AuditQuery,
);

/// The mutation root: one object per domain area that changes data.
#[derive(MergedObject, Default)]
pub struct Mutation(
    TokenMutation,
    ProjectMutation,
    VisitMutation,
    MotherMutation,
    CourseMutation,
    ParticipantMutation,
    ReferralMutation,
);

pub type BydelSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema with the shared database handle, the token keys (`issueToken` signs
/// with them), the referral policy (when a referral is stale) and the statistics policy
/// (disclosure control's threshold). Per-request data
/// (principal, loaders, request id, read log) is attached to each request by the HTTP layer.
pub fn build(
    db: DatabaseConnection,
    keys: Arc<TokenKeys>,
    referrals: ReferralPolicy,
    stats: StatsPolicy,
) -> BydelSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(db)
        .data(keys)
        .data(referrals)
        .data(stats)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The SDL that `bydel schema` writes to `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .finish()
        .sdl_with_options(SDLExportOptions::new().sorted_fields().sorted_enum_items())
}

/// What a resolver needs from the request, with errors in the API's own terms.
pub trait RequestContext {
    fn principal(&self) -> ApiResult<&Principal>;
    fn db(&self) -> ApiResult<&DatabaseConnection>;
    fn loader<L: BatchLoad>(&self) -> ApiResult<Arc<Batcher<L>>>;
    fn keys(&self) -> ApiResult<&TokenKeys>;
    /// The `X-Request-Id` of the request, for audit events.
    fn request_id(&self) -> Option<String>;
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

    fn keys(&self) -> ApiResult<&TokenKeys> {
        self.data_opt::<Arc<TokenKeys>>()
            .map(Arc::as_ref)
            .ok_or_else(|| ApiError::internal("schema built without token keys"))
    }

    fn request_id(&self) -> Option<String> {
        self.data_opt::<RequestIdValue>().map(|id| id.0.clone())
    }
}
