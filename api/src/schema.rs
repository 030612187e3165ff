//! The GraphQL schema: the query, mutation and subscription roots merged from the domain
//! areas, and the per-request context every resolver reads (principal, database, loaders,
//! keys). Its cost limits live in `limits` and are checked before execution. It is an Apollo
//! Federation v2 subgraph (`_service`, `_entities`; see `federation`), and the SDL it exports
//! is the federation SDL.

use std::sync::Arc;

use async_graphql::{Context, MergedObject, MergedSubscription, SDLExportOptions, Schema};
use sea_orm::DatabaseConnection;

use crate::db::Db;

use crate::{
    audit::AuditQuery,
    auth::{Principal, TokenKeys},
    courses::{CourseMutation, CourseQuery},
    directory::{DirectoryMutation, DirectoryQuery},
    error::{ApiError, ApiResult},
    events::EventBus,
    federation::FederationQuery,
    hours::HoursMutation,
    loaders::{BatchLoad, Batcher, Loaders},
    mothers::{MotherMutation, MotherQuery},
    node::NodeQuery,
    organisations::OrganisationQuery,
    participants::{ParticipantMutation, ParticipantQuery},
    projects::{ProjectMutation, ProjectQuery},
    referrals::{ReferralMutation, ReferralPolicy, ReferralQuery, ReferralSubscription},
    server::RequestIdValue,
    stats::{StatsPolicy, StatsQuery},
    tokens::{IssuerMutation, IssuerQuery, TokenMutation, TokenQuery},
    visits::{VisitMutation, VisitQuery},
    vocabularies::VocabularyQuery,
    webhooks::{WebhookMutation, WebhookPolicy, WebhookQuery},
};

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
    IssuerQuery,
    AuditQuery,
    WebhookQuery,
    VocabularyQuery,
    DirectoryQuery,
    FederationQuery,
);

/// The mutation root: one object per domain area that changes data.
#[derive(MergedObject, Default)]
pub struct Mutation(
    TokenMutation,
    IssuerMutation,
    ProjectMutation,
    VisitMutation,
    MotherMutation,
    HoursMutation,
    CourseMutation,
    ParticipantMutation,
    ReferralMutation,
    WebhookMutation,
    DirectoryMutation,
);

/// The subscription root (over graphql-ws, see `websocket`).
#[derive(MergedSubscription, Default)]
pub struct Subscription(ReferralSubscription);

pub type BydelSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema with the shared database handle, the token keys (`issueToken` signs
/// with them), the referral policy (when a referral is stale), the statistics policy
/// (disclosure control's threshold), the webhook policy (which endpoint URLs registration
/// accepts) and the event bus (writes announce on it, subscriptions listen; with it the
/// replica's token cache, which token mutations clear). Per-request data
/// (principal, loaders, request id, read log, event outbox) is attached to each request by the
/// HTTP layer.
pub fn build(
    db: DatabaseConnection,
    keys: Arc<TokenKeys>,
    referrals: ReferralPolicy,
    stats: StatsPolicy,
    webhooks: WebhookPolicy,
    events: EventBus,
) -> BydelSchema {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .data(crate::db::Db::Pool(db.clone()))
    .data(db)
    .data(keys)
    .data(referrals)
    .data(stats)
    .data(webhooks)
    .data(events.tokens().clone())
    .data(events)
    // Listed by `vocabularies` before any field returns it (volunteer hours).
    .register_output_type::<crate::vocabulary::HoursKind>()
    .extension(crate::limits::ResponseBudget)
    .extension(crate::propagation::NullPropagation)
    .enable_federation()
    .finish()
}

/// The federation v2 subgraph SDL that `bydel schema` writes to `schema.graphql`: what a
/// supergraph composes (`_service { sdl }` answers the same schema, unsorted).
pub fn sdl() -> String {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .register_output_type::<crate::vocabulary::HoursKind>()
    .enable_federation()
    .finish()
    .sdl_with_options(
        SDLExportOptions::new()
            .federation()
            .sorted_fields()
            .sorted_enum_items(),
    )
}

/// What a resolver needs from the request, with errors in the API's own terms.
pub trait RequestContext {
    fn principal(&self) -> ApiResult<&Principal>;
    /// The request's database: the pool, or the transaction the whole request runs in.
    fn db(&self) -> ApiResult<&Db>;
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

    fn db(&self) -> ApiResult<&Db> {
        self.data_opt::<Db>()
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
